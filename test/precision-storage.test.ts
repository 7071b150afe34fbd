/**
 * Compact precision storage (precision-storage/): the float16 and int8 factors score like the
 * float32 inverse covariances, survive the model file, and a damaged or inconsistent compact
 * file is refused with a clear error.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCategory } from '../src/eval/dataset';
import { fitModel, updateModel } from '../src/padim/fit';
import { loadModel, saveModel } from '../src/model/model-file';
import type { PadimModel } from '../src/model/model';
import { fromFloat16, toFloat16, type PrecisionStorage } from '../src/model/precision-storage';
import { Scorer } from '../src/padim/scorer';
import { writeSyntheticDataset } from '../src/synthetic';
import { tempDir } from './helpers';

async function scores(model: PadimModel, files: string[]): Promise<number[]> {
  const scorer = await Scorer.open(model, { batchSize: 4 });
  try {
    // batches of 4 and one image alone: both arrangements of the distance product
    const batched = (await scorer.scoreMany(files)).map((r) => r.score);
    const [single] = await scorer.scoreBatch([files[0]]);
    assert.ok(Math.abs(single.score - batched[0]) <= 1e-4 * batched[0], 'single and batched scores differ');
    return batched;
  } finally {
    await scorer.dispose();
  }
}

function relativeErrors(got: number[], want: number[]): { max: number; median: number } {
  const e = got.map((v, i) => Math.abs(v - want[i]) / want[i]).sort((a, b) => a - b);
  return { max: e[e.length - 1], median: e[e.length >> 1] };
}

describe('compact precision storage', function () {
  const dir = tempDir();
  const data = path.join(dir, 'data');
  let train: string[];
  let test: string[];
  let reference: number[];
  const models: Partial<Record<PrecisionStorage, PadimModel>> = {};
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    await writeSyntheticDataset(data, {
      texture: 'woven',
      seed: 5,
      trainCount: 24,
      testGoodCount: 6,
      testDefectCount: 6,
    });
    const ds = readCategory(data);
    train = ds.train;
    test = ds.test.map((t) => t.file);
    for (const storage of ['float32', 'float16', 'int8'] as const)
      models[storage] = await fitModel(train, { batchSize: 8, precisionStorage: storage });
    reference = await scores(models.float32!, test);
  });

  it('float16 converts exactly where it can and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -24, 1 + 2 ** -10])
      assert.equal(fromFloat16(toFloat16(v)), v);
    assert.equal(fromFloat16(toFloat16(1 + 2 ** -11)), 1); // a tie: to the even neighbour
    assert.equal(fromFloat16(toFloat16(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
    assert.equal(fromFloat16(toFloat16(1e6)), Infinity);
    assert.ok(Math.abs(fromFloat16(toFloat16(0.1)) - 0.1) < 0.1 * 2 ** -11);
  });

  it('keeps only the factor, at 1/2 and 1/4 of the float32 bytes, with its storage in the header', () => {
    const bytes = (m: PadimModel) =>
      [...m.gaussian.precision, ...(m.gaussian.factor?.chunks ?? [])].reduce((s, a) => s + a.byteLength, 0);
    assert.equal(models.float32!.header.precisionStorage, undefined);
    for (const storage of ['float16', 'int8'] as const) {
      const m = models[storage]!;
      assert.equal(m.header.precisionStorage, storage);
      assert.equal(m.gaussian.precision.length, 0);
      assert.equal(bytes(m) / bytes(models.float32!), storage === 'float16' ? 0.5 : 0.25);
    }
  });

  it('scores like the float32 inverse covariances (float16 within 1e-3, int8 within 3e-2 relative)', async () => {
    for (const [storage, tolerance] of [
      ['float16', 1e-3],
      ['int8', 3e-2],
    ] as const) {
      const err = relativeErrors(await scores(models[storage]!, test), reference);
      assert.ok(err.max < tolerance, `${storage}: max relative score error ${err.max}`);
      // really a different arithmetic: not the float32 path under another name
      assert.ok(err.max > 0, `${storage}: identical to float32`);
    }
  });

  it('survives the model file (smaller), and the scores are the same after loading', async () => {
    const sizes: Record<string, number> = {};
    for (const storage of ['float32', 'float16', 'int8'] as const) {
      const file = path.join(dir, `${storage}.padim`);
      await saveModel(file, models[storage]!);
      sizes[storage] = fs.statSync(file).size;
      const loaded = await loadModel(file);
      assert.equal(loaded.header.precisionStorage, models[storage]!.header.precisionStorage);
      assert.deepEqual(
        await scores(loaded, test.slice(0, 4)),
        await scores(models[storage]!, test.slice(0, 4)),
      );
    }
    // the other sections (mean, co-moments) are the same: the difference is the operator's bytes
    const g = models.float32!.gaussian;
    const triangle = (g.cells * g.dims * (g.dims + 1)) / 2;
    const near = (a: number, b: number) => Math.abs(a - b) < 1024;
    assert.ok(near(sizes.float32 - sizes.float16, 2 * triangle), JSON.stringify(sizes));
    assert.ok(near(sizes.float32 - sizes.int8, 3 * triangle - 4 * g.cells * g.dims), JSON.stringify(sizes));
  });

  it('an update keeps the model storage unless told otherwise', async () => {
    const updated = await updateModel(models.int8!, train.slice(0, 4), { batchSize: 8 });
    assert.equal(updated.header.precisionStorage, 'int8');
    assert.equal(updated.header.nTrain, 28);
    const back = await updateModel(models.int8!, train.slice(0, 4), {
      batchSize: 8,
      precisionStorage: 'float32',
    });
    assert.equal(back.header.precisionStorage, undefined);
    assert.equal(back.gaussian.factor, undefined);
    assert.ok(back.gaussian.precision.length > 0);
  });

  it('refuses a compact file whose header and sections disagree, naming the problem', async () => {
    const file = path.join(dir, 'int8.padim');
    await saveModel(file, models.int8!);
    const bytes = fs.readFileSync(file);
    const length = bytes.readUInt32LE(8);
    const header = bytes.subarray(12, 12 + length).toString('utf8');
    const rewrite = async (edit: (h: string) => string) => {
      const changed = edit(header);
      assert.equal(changed.length, header.length, 'the edit must keep the header length');
      const out = Buffer.from(bytes);
      out.write(changed, 12, 'utf8');
      // a consistent checksum: the loader must catch the lie itself, not the damage
      const { createHash } = await import('node:crypto');
      createHash('sha256')
        .update(Buffer.from(changed, 'utf8'))
        .digest()
        .copy(out, out.length - 32);
      const bad = path.join(dir, 'bad.padim');
      fs.writeFileSync(bad, out);
      return loadModel(bad);
    };
    await assert.rejects(
      rewrite((h) => h.replace('"precisionStorage":"int8"', '"precisionStorage":"int4"')),
      /precisionStorage "int4" must be 'float16' or 'int8'/,
    );
    // the factor's dtype must be the header's storage
    await assert.rejects(
      rewrite((h) => h.replace('"name":"factor","dtype":"int8"', '"name":"factor","dtype":"int6"')),
      /section 'factor' has an invalid table entry/,
    );
    // a version-1 reader's view: a compact model says version 2; claiming 1 is refused
    await assert.rejects(
      rewrite((h) => h.replace('"formatVersion":2', '"formatVersion":1')),
      /written by format version 1; this version reads 1 \(float32 precision\) and 2 \(compact/,
    );
    await assert.rejects(
      rewrite((h) => h.replace('"name":"factorScale"', '"name":"comoment123"')),
      /unexpected section 'comoment123'/,
    );
  });
});
