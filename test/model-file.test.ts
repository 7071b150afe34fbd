import { seededRng } from '../src/math/random';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../src/files/atomic-write';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, chunkLength, type PadimModel } from '../src/model/model';
import { packedSize } from '../src/model/packed-triangle';
import {
  ModelFileError,
  loadModel,
  readModelHeader,
  saveModel,
  type ModelFileErrorCode,
} from '../src/model/model-file';
import { IMAGENET_NORMALISATION } from '../src/types';
import { flipByte, inspectModelFile as inspect, patchHeader } from './model-file-damage';

/** Deterministic generator (mulberry32, src/math/random.ts) so failures reproduce. */
const rng = seededRng;

interface ModelOptions {
  height: number;
  width: number;
  dims: number;
  chunkCells: number;
  comoment?: boolean;
  projection?: boolean;
  seed?: number;
}

/** A random model with symmetric precision matrices (the file stores only one triangle). */
function randomModel(o: ModelOptions): PadimModel {
  const next = rng(o.seed ?? 1);
  const cells = o.height * o.width;
  const d = o.dims;
  const totalChannels = o.projection ? 3 * d : 4 * d;
  const mean = Float64Array.from({ length: cells * d }, () => next() * 20 - 10);
  const precision: Float32Array[] = [];
  const comoment: Float32Array[] = [];
  for (let k = 0; k * o.chunkCells < cells; k++) {
    const n = Math.min(o.chunkCells, cells - k * o.chunkCells);
    const full = new Float32Array(n * d * d);
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++) {
          const v = next() * 4 - 2;
          full[c * d * d + i * d + j] = v;
          full[c * d * d + j * d + i] = v;
        }
      }
    }
    precision.push(full);
    comoment.push(Float32Array.from({ length: n * packedSize(d) }, () => next() * 100));
  }
  const model: PadimModel = {
    header: {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      // non-ASCII on purpose: the header length field counts bytes, not characters
      backbone: {
        id: 'résnet18-ü',
        sha256: 'ab'.repeat(32),
        layers: ['l1', 'l2', 'l3'],
        // sane as the loader checks: the stages add up to the concatenated channels
        stageChannels: [d, d, totalChannels - 2 * d],
      },
      // stride 8: the grid is the stage-1 map of the input
      input: {
        size: { kind: 'resize', width: 8 * o.width, height: 8 * o.height },
        normalisation: IMAGENET_NORMALISATION,
      },
      embedding: {
        totalChannels,
        dims: d,
        reduction: o.projection
          ? { kind: 'semi-orthogonal', seed: 7 }
          : { kind: 'random', seed: 7, indices: Array.from({ length: d }, (_, i) => 2 * i) },
      },
      grid: { height: o.height, width: o.width },
      eps: 0.01,
      nTrain: 12,
      trainScores: { count: 12, min: 1, max: 9.5, mean: 4.25, std: 1.5, p50: 4, p90: 7, p95: 8, p99: 9.4 },
      threshold: 10.5,
      createdAt: '2024-01-02T03:04:05.678Z',
    },
    gaussian: { cells, dims: d, chunkCells: o.chunkCells, mean, precision },
  };
  if (o.comoment) model.gaussian.comoment = comoment;
  if (o.projection) model.projection = Float32Array.from({ length: totalChannels * d }, () => next() - 0.5);
  return model;
}

function bytes(a: Float32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** All chunks back to back, so models chunked differently can be compared bit for bit. */
function joined(chunks: Float32Array[] | undefined): Buffer | undefined {
  return chunks && Buffer.concat(chunks.map(bytes));
}

function assertSameModel(actual: PadimModel, expected: PadimModel): void {
  assert.deepStrictEqual(actual.header, expected.header);
  const [a, e] = [actual.gaussian, expected.gaussian];
  assert.equal(a.cells, e.cells);
  assert.equal(a.dims, e.dims);
  assert.ok(bytes(a.mean).equals(bytes(e.mean)), 'mean differs');
  assert.ok(joined(a.precision)!.equals(joined(e.precision)!), 'precision differs');
  assert.deepStrictEqual(joined(a.comoment), joined(e.comoment));
  assert.deepStrictEqual(
    actual.projection && bytes(actual.projection),
    expected.projection && bytes(expected.projection),
  );
}

/** Chunk shapes must follow the requested chunking. */
function assertChunking(m: PadimModel, chunkCells: number): void {
  const g = m.gaussian;
  assert.equal(g.chunkCells, chunkCells);
  assert.equal(g.precision.length, Math.ceil(g.cells / chunkCells));
  g.precision.forEach((c, k) => assert.equal(c.length, chunkLength(g, k) * g.dims * g.dims));
  g.comoment?.forEach((c, k) => assert.equal(c.length, chunkLength(g, k) * packedSize(g.dims)));
}

async function expectError(
  promise: Promise<unknown>,
  code: ModelFileErrorCode,
  message?: RegExp,
): Promise<ModelFileError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ModelFileError, `expected ModelFileError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('model file', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-model-file-'));
    file = path.join(dir, 'm.padim');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const leftovers = () => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

  describe('round trip', () => {
    for (const variant of [
      { comoment: false, projection: false },
      { comoment: true, projection: false },
      { comoment: false, projection: true },
      { comoment: true, projection: true },
    ]) {
      it(`is exact (comoment: ${variant.comoment}, projection: ${variant.projection})`, async () => {
        const model = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3, ...variant });
        await saveModel(file, model);
        const loaded = await loadModel(file, { chunkCells: 3 });
        assertChunking(loaded, 3);
        assertSameModel(loaded, model);
        assert.equal(loaded.gaussian.comoment !== undefined, variant.comoment);
        assert.equal(loaded.projection !== undefined, variant.projection);
        assert.deepStrictEqual(leftovers(), []);
      });
    }

    it('gives the same values with any chunkCells on load', async () => {
      const model = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3, comoment: true });
      await saveModel(file, model);
      for (const chunkCells of [1, 2, 4, 7, 100]) {
        const loaded = await loadModel(file, { chunkCells });
        assertChunking(loaded, Math.min(chunkCells, 7));
        assertSameModel(loaded, model);
      }
      const byDefault = await loadModel(file);
      assertChunking(byDefault, 7);
      assertSameModel(byDefault, model);
    });

    it('rejects an invalid chunkCells option', async () => {
      await saveModel(file, randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3 }));
      await assert.rejects(loadModel(file, { chunkCells: 0 }), RangeError);
    });

    it('overwrites an existing model', async () => {
      await saveModel(file, randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3, seed: 1 }));
      const second = randomModel({ height: 2, width: 3, dims: 4, chunkCells: 4, seed: 2, comoment: true });
      await saveModel(file, second);
      assertSameModel(await loadModel(file), second);
    });

    it('lays out the file as documented', async () => {
      const model = randomModel({
        height: 1,
        width: 7,
        dims: 5,
        chunkCells: 3,
        comoment: true,
        projection: true,
      });
      await saveModel(file, model);
      const { buf, headerLength, header } = inspect(file);
      assert.equal(buf.subarray(0, 8).toString('latin1'), 'PADIMMDL');
      assert.equal(header.formatVersion, MODEL_FORMAT_VERSION);
      const names = header.sections.map((s: { name: string }) => s.name);
      assert.deepStrictEqual(names, ['mean', 'precision', 'comoment', 'projection']);
      let end = 12 + headerLength;
      for (const s of header.sections) {
        assert.equal(s.offset % 64, 0);
        assert.ok(s.offset >= end && s.offset - end < 64);
        assert.ok(
          buf.subarray(end, s.offset).every((b) => b === 0),
          'padding is zero',
        );
        const body = buf.subarray(s.offset, s.offset + s.byteLength);
        assert.equal(createHash('sha256').update(body).digest('hex'), s.sha256);
        end = s.offset + s.byteLength;
      }
      assert.equal(header.sections[1].count, 7 * packedSize(5));
      assert.equal(header.sections[1].dtype, 'float32');
      assert.equal(buf.length, end + 40);
      assert.equal(buf.subarray(end, end + 8).toString('latin1'), 'PADIMEND');
      const headerHash = createHash('sha256')
        .update(buf.subarray(12, 12 + headerLength))
        .digest();
      assert.ok(buf.subarray(end + 8).equals(headerHash));
    });

    it('readModelHeader returns the header and the file size', async () => {
      const model = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3 });
      await saveModel(file, model);
      const { fileBytes, ...header } = await readModelHeader(file);
      assert.equal(fileBytes, fs.statSync(file).size);
      assert.deepStrictEqual(header, model.header);
    });

    it('refuses to save an inconsistent model or a header JSON cannot hold', async () => {
      const model = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3 });
      model.gaussian.precision[1] = new Float32Array(3);
      await assert.rejects(saveModel(file, model), /precision chunk 1/);
      const nan = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3 });
      nan.header.trainScores.std = NaN;
      await assert.rejects(saveModel(file, nan), /trainScores\.std/);
      assert.deepStrictEqual(fs.readdirSync(dir), []);
    });
  });

  describe('damaged files', () => {
    let model: PadimModel;
    beforeEach(async () => {
      model = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3, comoment: true, projection: true });
      await saveModel(file, model);
    });

    it('detects truncation anywhere', async () => {
      const full = fs.readFileSync(file);
      const { headerLength, header } = inspect(file);
      const precision = header.sections[1];
      const cuts = {
        empty: 0,
        'in the magic': 5,
        'in the length': 10,
        'in the header': 12 + Math.floor(headerLength / 2),
        'in the padding': 12 + headerLength + 1,
        'in a section': precision.offset + Math.floor(precision.byteLength / 2),
        'trailer removed': full.length - 40,
        'in the trailer': full.length - 10,
        'last byte': full.length - 1,
      };
      for (const [where, size] of Object.entries(cuts)) {
        fs.writeFileSync(file, full.subarray(0, size));
        const err = await expectError(
          loadModel(file),
          'TRUNCATED',
          new RegExp(`${escapeRe(file)} is truncated`),
        );
        assert.match(err.message, new RegExp(`found ${size}\\)`), where);
        await expectError(readModelHeader(file), 'TRUNCATED');
      }
      fs.writeFileSync(file, full.subarray(0, precision.offset + 5));
      await expectError(
        loadModel(file),
        'TRUNCATED',
        new RegExp(`expected ${full.length} bytes, found ${precision.offset + 5}`),
      );
    });

    it('detects a flipped byte in each section and names it', async () => {
      const full = fs.readFileSync(file);
      for (const s of inspect(file).header.sections) {
        fs.writeFileSync(file, full);
        flipByte(file, s.offset + s.byteLength - 3);
        const err = await expectError(
          loadModel(file),
          'CORRUPT',
          new RegExp(`section '${s.name}' checksum mismatch`),
        );
        assert.ok(err.message.includes(file));
        // verify: false skips the section hashes (and so loads the damaged data)
        await loadModel(file, { verify: false });
      }
    });

    it('detects a flipped byte anywhere in the header', async () => {
      const full = fs.readFileSync(file);
      const { headerLength } = inspect(file);
      for (const at of [12, 13, 12 + Math.floor(headerLength / 3), 12 + headerLength - 1, 8, 9]) {
        fs.writeFileSync(file, full);
        flipByte(file, at);
        await assert.rejects(loadModel(file), (err: unknown) => {
          assert.ok(err instanceof ModelFileError, String(err));
          // a damaged length field may look like a truncated file; everything else is corrupt
          assert.ok(['CORRUPT', 'TRUNCATED'].includes(err.code), `${at}: ${err.code}`);
          return true;
        });
      }
      for (const at of [12, 12 + Math.floor(headerLength / 2), 12 + headerLength - 1]) {
        fs.writeFileSync(file, full);
        flipByte(file, at);
        await expectError(readModelHeader(file), 'CORRUPT', /header checksum mismatch/);
      }
    });

    it('detects a damaged trailer and trailing garbage', async () => {
      const full = fs.readFileSync(file);
      flipByte(file, full.length - 1);
      await expectError(loadModel(file), 'CORRUPT', /header checksum mismatch/);
      fs.writeFileSync(file, full);
      flipByte(file, full.length - 40);
      await expectError(loadModel(file), 'CORRUPT', /end marker/);
      fs.writeFileSync(file, Buffer.concat([full, Buffer.from('extra')]));
      await expectError(loadModel(file), 'CORRUPT', /unexpected bytes/);
    });

    it('rejects files that are not models', async () => {
      const full = fs.readFileSync(file);
      flipByte(file, 0);
      await expectError(loadModel(file), 'NOT_A_MODEL', new RegExp(escapeRe(file)));
      fs.writeFileSync(file, 'this is just some text, not a model at all\n');
      await expectError(loadModel(file), 'NOT_A_MODEL');
      fs.writeFileSync(file, 'PAX');
      await expectError(readModelHeader(file), 'NOT_A_MODEL');
      fs.writeFileSync(file, full);
      patchHeader(file, `"format":"padim-model"`, `"format":"other-model"`);
      await expectError(loadModel(file), 'NOT_A_MODEL');
    });

    it('rejects another format version', async () => {
      patchHeader(file, `"formatVersion":1`, `"formatVersion":2`);
      await expectError(
        loadModel(file),
        'VERSION',
        new RegExp(`${escapeRe(file)} was written by format version 2; this version reads 1`),
      );
      await expectError(readModelHeader(file), 'VERSION');
    });

    it('checks the backbone and input the caller expects', async () => {
      const own = model.header.backbone.sha256;
      await loadModel(file, { expectBackboneSha256: own.toUpperCase() });
      const other = 'cd'.repeat(32);
      await expectError(
        loadModel(file, { expectBackboneSha256: other }),
        'BACKBONE_MISMATCH',
        new RegExp(`fitted with backbone résnet18-ü \\(sha256 ${own}\\), not the one given \\(${other}\\)`),
      );
      await loadModel(file, { expectInput: { size: model.header.input.size } });
      await loadModel(file, { expectInput: { normalisation: IMAGENET_NORMALISATION } });
      await expectError(
        loadModel(file, {
          expectInput: { size: { kind: 'resize-crop', resize: 256, width: 224, height: 224 } },
        }),
        'INPUT_MISMATCH',
        /resize-crop/,
      );
      // `auto` is a choice resolved at fit: it matches only a model fitted with auto and the same short side
      await expectError(
        loadModel(file, { expectInput: { size: { kind: 'auto', short: 256 } } }),
        'INPUT_MISMATCH',
        /fitted for input .*resize.*not auto:256 as configured/,
      );
      const auto = randomModel({ height: 8, width: 20, dims: 3, chunkCells: 40 });
      auto.header.input.auto = { short: 256, aspect: 2.5 };
      auto.header.input.size = { kind: 'resize', width: 640, height: 256 };
      await saveModel(file, auto);
      await loadModel(file, { expectInput: { size: { kind: 'auto', short: 256 } } });
      await expectError(
        loadModel(file, { expectInput: { size: { kind: 'auto', short: 320 } } }),
        'INPUT_MISMATCH',
        /fitted for input auto:256, not auto:320/,
      );
    });

    it('reports a missing file as ENOENT with its path', async () => {
      const missing = path.join(dir, 'nope.padim');
      await expectError(loadModel(missing), 'ENOENT', new RegExp(escapeRe(missing)));
      await expectError(readModelHeader(missing), 'ENOENT', new RegExp(escapeRe(missing)));
    });
  });

  describe('atomic save', () => {
    /** Make every FileHandle write/writeFile after the first `allowed` fail like a full disk. */
    async function withFailingWrites<T>(allowed: number, body: () => Promise<T>): Promise<T> {
      const probe = await fs.promises.open(__filename, 'r');
      const proto = Object.getPrototypeOf(probe);
      await probe.close();
      const originals = { write: proto.write, writeFile: proto.writeFile };
      let calls = 0;
      for (const [name, original] of Object.entries(originals)) {
        proto[name] = function (this: unknown, ...args: unknown[]) {
          if (++calls > allowed) {
            const err = Object.assign(new Error('ENOSPC: no space left on device (simulated)'), {
              code: 'ENOSPC',
            });
            return Promise.reject(err);
          }
          return original.apply(this, args);
        };
      }
      try {
        return await body();
      } finally {
        Object.assign(proto, originals);
      }
    }

    it('leaves the previous model intact when a write fails midway', async () => {
      const old = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3, seed: 1 });
      await saveModel(file, old);
      const before = fs.readFileSync(file);
      const next = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3, seed: 2, comoment: true });
      for (const allowed of [0, 1, 2, 4]) {
        await withFailingWrites(allowed, () => assert.rejects(saveModel(file, next), { code: 'ENOSPC' }));
        assert.ok(fs.readFileSync(file).equals(before), 'old model changed');
        assert.deepStrictEqual(leftovers(), []);
      }
      assertSameModel(await loadModel(file), old);
    });

    it('leaves the previous model intact when the model is invalid', async () => {
      await saveModel(file, randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3 }));
      const before = fs.readFileSync(file);
      const bad = randomModel({ height: 1, width: 7, dims: 5, chunkCells: 3, comoment: true });
      bad.gaussian.comoment!.pop();
      await assert.rejects(saveModel(file, bad), /comoment/);
      assert.ok(fs.readFileSync(file).equals(before));
      assert.deepStrictEqual(leftovers(), []);
    });

    it('writeFileAtomic replaces small files and cleans up after failures', async () => {
      const target = path.join(dir, 'report.json');
      await writeFileAtomic(target, '{"a":1}');
      await writeFileAtomic(target, Buffer.from('{"b":2}'));
      assert.equal(fs.readFileSync(target, 'utf8'), '{"b":2}');
      await withFailingWrites(0, () =>
        assert.rejects(writeFileAtomic(target, 'x'.repeat(1000)), { code: 'ENOSPC' }),
      );
      assert.equal(fs.readFileSync(target, 'utf8'), '{"b":2}');
      await assert.rejects(writeFileAtomic(path.join(dir, 'missing-dir', 'x.json'), 'x'), { code: 'ENOENT' });
      assert.deepStrictEqual(leftovers(), []);
    });
  });

  describe('large model', function () {
    this.timeout(300000);
    it('saves and loads 4096 cells x d=32', async () => {
      const model = randomModel({ height: 64, width: 64, dims: 32, chunkCells: 500, comoment: true });
      let t = Date.now();
      await saveModel(file, model);
      const saveMs = Date.now() - t;
      t = Date.now();
      const loaded = await loadModel(file, { chunkCells: 700 });
      const loadMs = Date.now() - t;
      const mb = (fs.statSync(file).size / 1e6).toFixed(1);
      console.log(`      ${mb} MB: save ${saveMs} ms, load ${loadMs} ms`);
      assertChunking(loaded, 700);
      assertSameModel(loaded, model);
    });
  });
});
