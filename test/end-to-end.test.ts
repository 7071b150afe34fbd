/**
 * The whole method on generated data with the built-in backbone: fit, save, load, score,
 * update, and the command line's behaviour on bad input.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { readCategory } from '../src/eval/dataset';
import { evaluate, maskToInput, readMask } from '../src/eval/evaluate';
import { fitModel, updateModel } from '../src/padim/fit';
import { loadModel, saveModel } from '../src/model/model-file';
import { Scorer } from '../src/padim/scorer';
import { writeSyntheticDataset } from '../src/synthetic';
import { tempDir } from './helpers';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../bin/padim.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('end to end with builtin:filterbank on synthetic defects', function () {
  const dir = tempDir();
  const data = path.join(dir, 'data');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    await writeSyntheticDataset(data, {
      texture: 'woven',
      seed: 3,
      trainCount: 30,
      testGoodCount: 8,
      testDefectCount: 6,
    });
  });

  it('ranks defective images above good ones, and the heatmap peak lies on the defect', async () => {
    const ds = readCategory(data);
    const model = await fitModel(ds.train, { batchSize: 8 });
    assert.equal(model.header.nTrain, 30);
    assert.ok(model.header.threshold > 0);
    const scorer = await Scorer.open(model);
    let peaksInside = 0;
    let defects = 0;
    try {
      const report = await evaluate(scorer, ds, {
        onResult: async (r, t) => {
          if (!t.maskFile) return;
          defects++;
          const mask = maskToInput(await readMask(t.maskFile), r.geometry, r.map.width, r.map.height);
          let best = 0;
          for (let i = 1; i < r.map.data.length; i++) if (r.map.data[i] > r.map.data[best]) best = i;
          // allow the peak to sit within a few pixels of the mask (the map is blurred)
          const x = best % r.map.width;
          const y = Math.floor(best / r.map.width);
          let near = false;
          for (let dy = -4; dy <= 4 && !near; dy++) {
            for (let dx = -4; dx <= 4 && !near; dx++) {
              const xx = Math.min(r.map.width - 1, Math.max(0, x + dx));
              const yy = Math.min(r.map.height - 1, Math.max(0, y + dy));
              near = mask[yy * r.map.width + xx] === 1;
            }
          }
          if (near) peaksInside++;
        },
      });
      console.log(
        `      image AUROC ${report.imageAUROC.toFixed(3)}, pixel AUROC ${report.pixelAUROC.toFixed(3)}, ` +
          `AUPRO ${report.AUPRO.toFixed(3)}, peaks on defect ${peaksInside}/${defects}`,
      );
      assert.ok(report.imageAUROC >= 0.9, `image AUROC ${report.imageAUROC}`);
      assert.ok(report.pixelAUROC >= 0.9, `pixel AUROC ${report.pixelAUROC}`);
      assert.ok(peaksInside / defects >= 0.7, `heatmap peak on the defect for ${peaksInside}/${defects}`);
    } finally {
      await scorer.dispose();
    }
  });

  it('saves and loads a model that scores identically; update equals a fit on all images', async () => {
    const ds = readCategory(data);
    const file = path.join(dir, 'm.padim');
    const first = await fitModel(ds.train.slice(0, 20), { batchSize: 8 });
    await saveModel(file, first);
    const loaded = await loadModel(file);
    const probe = ds.test.slice(0, 3).map((t) => t.file);
    const s1 = await Scorer.open(first);
    const s2 = await Scorer.open(loaded);
    const [a, b] = [await s1.scoreBatch(probe), await s2.scoreBatch(probe)];
    await s1.dispose();
    await s2.dispose();
    for (let i = 0; i < probe.length; i++) assert.equal(a[i].score, b[i].score);

    const updated = await updateModel(loaded, ds.train.slice(20), { batchSize: 8 });
    const full = await fitModel(ds.train, { batchSize: 8 });
    assert.equal(updated.header.nTrain, 30);
    const s3 = await Scorer.open(updated);
    const s4 = await Scorer.open(full);
    const [c, d] = [await s3.scoreBatch(probe), await s4.scoreBatch(probe)];
    await s3.dispose();
    await s4.dispose();
    for (let i = 0; i < probe.length; i++) {
      assert.ok(Math.abs(c[i].score - d[i].score) < 1e-3 * d[i].score, `${c[i].score} vs ${d[i].score}`);
    }
  });

  it('the padim command fits, scores with heatmaps, and reports bad input clearly', async () => {
    const model = path.join(dir, 'cli.padim');
    const fit = await cli(['fit', '--train', path.join(data, 'train/good'), '--out', model, '--quiet']);
    assert.equal(fit.code, 0, fit.stderr);
    assert.match(fit.stdout, /fitted 30 images/);

    const heat = path.join(dir, 'heat');
    const score = await cli([
      'score',
      '--model',
      model,
      '--json',
      '--heatmaps',
      heat,
      path.join(data, 'test/spot'),
    ]);
    assert.equal(score.code, 0, score.stderr);
    const lines = score.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 6);
    for (const l of lines) assert.ok(l.score > 0 && l.timings.backboneMs >= 0);
    assert.equal(fs.readdirSync(heat).length, 6);

    // a text file, a zero-byte file, a missing model
    const text = path.join(dir, 'notes.png');
    fs.writeFileSync(text, 'this is not an image');
    const empty = path.join(dir, 'empty.png');
    fs.writeFileSync(empty, '');
    for (const [args, pattern] of [
      [['score', '--model', model, text], /not an image|unsupported/i],
      [['score', '--model', model, empty], /empty input/],
      [['score', '--model', path.join(dir, 'nope.padim'), text], /nope\.padim/],
      [['fit', '--train', path.join(dir, 'missing'), '--out', model], /no such file or folder/],
      [['fit', '--out', model], /--train is required/],
      [
        ['score', '--model', model, '--max-pixels', '1000', path.join(data, 'test/good/000.png')],
        /too large/,
      ],
      [
        ['score', '--model', model, '--provider', 'cuda', '--strict', path.join(data, 'test/good/000.png')],
        /cuda/,
      ],
      [['fit', '--train', path.join(data, 'train/good'), '--out', model, '--dims', '0'], /--dims must be/],
    ] as [string[], RegExp][]) {
      const r = await cli(args);
      assert.notEqual(r.code, 0, `expected failure for ${args.join(' ')}`);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    }
    // a provider that cannot start falls back to CPU with one warning
    const fallback = await cli([
      'score',
      '--model',
      model,
      '--provider',
      'cuda',
      path.join(data, 'test/good/000.png'),
    ]);
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.equal(fallback.stderr.match(/padim: .*cuda.*CPU/gi)?.length, 1, fallback.stderr);

    // a failed fit leaves the existing model untouched and no temporary files
    const before = fs.readFileSync(model);
    const bad = await cli(['fit', '--train', text, '--train', empty, '--out', model]);
    assert.notEqual(bad.code, 0);
    assert.deepEqual(fs.readFileSync(model), before);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
    );
  });
});
