/**
 * `padim score` over many images and onto a full disk (issue 14, defects 6 and 7):
 *
 * - memory: results are printed as they come, never kept, so the peak resident set (VmHWM) of
 *   scoring 2,000 small images stays within 100 MiB of scoring 200, both in child processes of
 *   the same run (score-rss-child.ts); keeping every result (map, grid, 64x64 floats each) or
 *   every decoded image would add well over that;
 * - a full disk under `--heatmaps`: a small tmpfs mounted where the test runs as root (skipped
 *   with a message elsewhere). Every image is scored or reported on its own line, exit 1, no
 *   stack trace, and what is left in the folder is whole heatmaps only (no temporary files).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { fitModel } from '../../src/padim/fit';
import { listImageFiles } from '../../src/image/image-files';
import { saveModel } from '../../src/model/model-file';
import { parseModelSettings } from '../../src/node-support/model-settings';
import { tempDir } from '../helpers';
import { writeNoisyImages } from './fault-kit';

const ROOT = path.resolve(__dirname, '../../..');
const PADIM = path.join(ROOT, 'bin/padim.js');
const CHILD = path.join(__dirname, 'score-rss-child.js');
const SMALL = 200;
const LARGE = 2000;

interface ChildReport {
  code: number;
  results: number;
  errors: number;
  maxRssKiB: number;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function scoreInChild(model: string, dir: string, count: number): Promise<ChildReport> {
  const r = await run(['--max-old-space-size=256', CHILD, model, dir, String(count)]);
  if (r.code !== 0) throw new Error(`score child ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildReport;
}

describe('faults: padim score over many images and onto a full disk (issue 14)', function () {
  this.timeout(600_000);
  let dir: string;
  let images: string;
  let model: string;

  before(async () => {
    dir = tempDir('padim-score-limits-');
    images = path.join(dir, 'images');
    fs.mkdirSync(images);
    await writeNoisyImages(images, LARGE);
    model = path.join(dir, 'model.padim');
    const settings = { size: '64x64', dims: '16', threads: '1', backbone: 'builtin:filterbank', path: model };
    const { fit } = parseModelSettings(settings, dir);
    await saveModel(model, await fitModel(listImageFiles(images).slice(0, 20), fit));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`peak RSS scoring ${LARGE} images is within 100 MiB of scoring ${SMALL}`, async () => {
    const small = await scoreInChild(model, images, SMALL);
    const large = await scoreInChild(model, images, LARGE);
    assert.deepEqual([small.code, small.results, small.errors], [0, SMALL, 0]);
    assert.deepEqual([large.code, large.results, large.errors], [0, LARGE, 0]);
    const mib = (r: ChildReport) => r.maxRssKiB / 1024;
    const growth = mib(large) - mib(small);
    console.log(
      `      peak RSS: ${SMALL} images ${mib(small).toFixed(0)} MiB, ${LARGE} images ${mib(large).toFixed(0)} MiB (+${growth.toFixed(0)} MiB)`,
    );
    assert.ok(growth < 100, `grew by ${growth.toFixed(0)} MiB`);
  });

  it('a full tmpfs under --heatmaps: every image reported, exit 1, only whole heatmaps left', async function () {
    const out = path.join(dir, 'heatmaps');
    fs.mkdirSync(out);
    const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
    // room for a few heatmaps of 64x64 images, not for twenty
    const mounted =
      isRoot && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', out]).status === 0;
    if (!mounted) {
      console.log('      (skipped: mounting a tmpfs needs root on Linux)');
      this.skip();
    }
    try {
      const files = listImageFiles(images).slice(0, 20);
      const r = await run([PADIM, 'score', '--model', model, '--heatmaps', out, '--quiet', ...files]);
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.doesNotMatch(r.stderr, /internal error|Unhandled/i);
      const failed = r.stderr.split('\n').filter((l) => /^padim score: .*\.png: .*ENOSPC/.test(l));
      const scored = r.stdout
        .split('\n')
        .filter((l) => files.some((f) => l.startsWith(`${path.basename(f)} `)));
      assert.ok(failed.length > 0, `some heatmaps cannot be written:\n${r.stderr}`);
      assert.equal(scored.length + failed.length, files.length, `${r.stdout}\n${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`padim score: ${failed.length} of ${files.length} images could not be scored`),
      );
      const left = fs.readdirSync(out);
      assert.equal(left.length, scored.length, `left: ${left.join(', ')}`);
      for (const name of left) {
        assert.match(name, /^\d{4}\.png$/, 'no temporary files');
        const meta = await sharp(path.join(out, name)).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 64]);
      }
    } finally {
      spawnSync('umount', [out]);
    }
  });
});
