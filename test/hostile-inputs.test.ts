/**
 * Issue 14: crafted model headers, device files and FIFOs, frozen cameras, looping links, one bad
 * file among many, clashing heatmap names. Each test fails before its fix.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { main } from '../src/cli/main';
import { fitModel } from '../src/padim/fit';
import { heatmapNames } from '../src/render/heatmap-names';
import { listImageFiles } from '../src/image/image-files';
import { loadModel, saveModel } from '../src/model/model-file';
import { prepareImage } from '../src/image';
import { IMAGENET_NORMALISATION } from '../src/types';
import { tempDir } from './helpers';

const OPTS = {
  size: { kind: 'resize' as const, width: 32, height: 32 },
  normalisation: IMAGENET_NORMALISATION,
};

/** A 32x32 PNG of seeded noise (varied good parts). */
async function noisePng(file: string, seed: number): Promise<void> {
  const data = Buffer.alloc(32 * 32 * 3);
  let s = seed * 9301 + 49297;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = 96 + (s % 64);
  }
  await sharp(data, { raw: { width: 32, height: 32, channels: 3 } })
    .png()
    .toFile(file);
}

/**
 * Rewrites a model file's header with `edit` and recomputes its checksum, keeping the layout: the
 * new JSON is padded with spaces to the old length (edits must not make it longer).
 */
function rewriteHeader(file: string, edit: (h: Record<string, any>) => void): void {
  const bytes = fs.readFileSync(file);
  const length = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + length).toString('utf8'));
  edit(header);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  assert.ok(json.length <= length, 'the edit made the header longer');
  const padded = Buffer.concat([json, Buffer.alloc(length - json.length, 0x20)]);
  padded.copy(bytes, 12);
  createHash('sha256')
    .update(padded)
    .digest()
    .copy(bytes, bytes.length - 32);
  fs.writeFileSync(file, bytes);
}

describe('hostile and careless inputs (issue 14)', function () {
  this.timeout(300_000);
  let dir: string;
  let train: string[];
  let modelFile: string;

  before(async () => {
    dir = tempDir('padim-hostile-');
    train = [];
    for (let i = 0; i < 8; i++) {
      const f = path.join(dir, `good-${i}.png`);
      await noisePng(f, i + 1);
      train.push(f);
    }
    modelFile = path.join(dir, 'm.padim');
    await saveModel(modelFile, await fitModel(train, { size: OPTS.size, dims: 8 }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('crafted model headers with a valid checksum are refused before anything is allocated', () => {
    const cases: [string, (h: Record<string, any>) => void, RegExp][] = [
      ['threshold as text', (h) => (h.threshold = 'x'), /threshold x must be a positive number/],
      ['negative threshold', (h) => (h.threshold = -1), /threshold -1 must be a positive number/],
      [
        'a held-out score as text',
        (h) => (h.calibration.scores[0] = 'x'),
        /calibration.scores\[0\] must be a number >= 0, in ascending order/,
      ],
      [
        'a false-alarm budget of -1%',
        (h) => {
          h.createdAt = '';
          h.calibration.budget = -0.01;
        },
        /calibration.budget must be a rate above 0 and below 1/,
      ],
      [
        'huge channel count',
        (h) => {
          h.createdAt = '';
          h.embedding.totalChannels = 2e9;
        },
        /totalChannels 2000000000 is not the sum/,
      ],
      [
        'huge input size for the grid',
        (h) => {
          h.createdAt = '';
          h.input.size = { kind: 'resize', width: 16384, height: 16384 };
        },
        /does not fit the .* grid/,
      ],
      [
        'arrays larger than the file',
        (h) => {
          h.createdAt = '';
          h.grid = { height: 4000, width: 4000 };
          h.input.size = { kind: 'resize', width: 16000, height: 16000 };
        },
        /declares \d+ bytes of arrays, more than the file/,
      ],
    ];
    for (const [name, edit, message] of cases) {
      it(name, async () => {
        const file = path.join(dir, `crafted-${name.replace(/\W+/g, '-')}.padim`);
        fs.copyFileSync(modelFile, file);
        rewriteHeader(file, edit);
        await assert.rejects(loadModel(file), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'CORRUPT');
          assert.match(err.message, message);
          return true;
        });
      });
    }

    it('a stored backbone path that is a device file is not read', async () => {
      const file = path.join(dir, 'crafted-backbone.padim');
      fs.copyFileSync(modelFile, file);
      rewriteHeader(file, (h) => {
        h.createdAt = '';
        h.backbone.path = '/dev/zero';
      });
      const lines: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
      const code = await main(['score', '--model', file, '-q', train[0]], io);
      assert.equal(code, 1);
      assert.match(lines.join('\n'), /backbone file \/dev\/zero is a device file, not a regular file/);
    });
  });

  describe('only regular files are read as images', () => {
    it('/dev/zero is refused without being read', async () => {
      await assert.rejects(prepareImage('/dev/zero', OPTS), /is a device file, not a regular file/);
    });
    it('a FIFO is refused at once instead of blocking a thread', async function () {
      const fifo = path.join(dir, 'pipe.png');
      try {
        execFileSync('mkfifo', [fifo]);
      } catch {
        this.skip();
      }
      await assert.rejects(prepareImage(fifo, OPTS), /is a FIFO \(named pipe\), not a regular file/);
    });
  });

  it('vector images are refused as bytes and as files alike', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32"/></svg>',
    );
    await assert.rejects(prepareImage(svg, OPTS), /vector images \(SVG\) are not accepted/);
    const file = path.join(dir, 'v.svg');
    fs.writeFileSync(file, svg);
    await assert.rejects(prepareImage(file, OPTS), /vector images \(SVG\) are not accepted/);
  });

  it('ten identical frames (a frozen camera) are refused with a message that says why', async () => {
    const frames = Array.from({ length: 10 }, () => train[0]);
    await assert.rejects(fitModel(frames, { size: OPTS.size, dims: 8 }), /do not vary.*frozen/);
  });

  it('a looping link in a folder is skipped with a warning; the other images are listed', () => {
    const folder = path.join(dir, 'loop');
    fs.mkdirSync(folder);
    fs.copyFileSync(train[0], path.join(folder, 'a.png'));
    fs.symlinkSync('loop.png', path.join(folder, 'loop.png'));
    fs.copyFileSync(train[1], path.join(folder, 'z.png'));
    const warnings: string[] = [];
    const files = listImageFiles(folder, { warn: (m) => warnings.push(m) });
    assert.deepEqual(
      files.map((f) => path.basename(f)),
      ['a.png', 'z.png'],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /loop\.png: the link loops/);
  });

  it('padim score scores every file: one line per failure, JSON error objects, exit 1', async () => {
    const truncated = path.join(dir, 'truncated.png');
    fs.writeFileSync(truncated, fs.readFileSync(train[2]).subarray(0, 60));
    const out: string[] = [];
    const err: string[] = [];
    const files = [train[0], truncated, '/dev/zero', train[1]];
    const code = await main(['score', '--model', modelFile, '--json', '--batch', '4', ...files], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    assert.equal(code, 1);
    const rows = out.map((l) => JSON.parse(l) as { file: string; score?: number; error?: string });
    assert.deepEqual(
      rows.map((r) => r.file),
      files,
    );
    assert.equal(typeof rows[0].score, 'number');
    assert.equal(typeof rows[3].score, 'number');
    assert.match(rows[1].error ?? '', /truncated or corrupt/);
    assert.match(rows[2].error ?? '', /device file/);
    assert.match(err.join('\n'), /2 of 4 images could not be scored/);
  });

  it('heatmaps of a/x.png, b/x.png and a/x.jpg get different names', () => {
    const names = heatmapNames(['/d/a/x.png', '/d/b/x.png', '/d/a/x.jpg', '/d/a/y.png']);
    assert.deepEqual(names, ['a/x.png.png', 'b/x.png', 'a/x.jpg.png', 'a/y.png']);
    assert.deepEqual(heatmapNames(['/d/x.png', '/d/y.jpg']), ['x.png', 'y.png']);
  });
});
