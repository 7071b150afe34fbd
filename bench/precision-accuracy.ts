/**
 * Accuracy of the compact precision storages (precision-storage/) against float32: the same fit
 * (same images, seed, options) stored three ways, evaluated on the same test set: image AUROC,
 * pixel AUROC, AUPRO, defects caught at 1% false alarms, and each test image's score relative
 * to the float32 model's (max and median). MVTec AD bottle from ../shared when present, and a
 * generated set always.
 *
 *   node dist/bench/precision-accuracy.js [--dims 100] [--only bottle|generated] [--json out.json]
 *
 * The calibration's second backbone pass is skipped (heldOutImages 0): it sets the suggested
 * threshold, not the figures measured here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readCategory } from '../src/eval/dataset';
import { evaluate } from '../src/eval/evaluate';
import { fitModel } from '../src/padim/fit';
import type { PrecisionStorage } from '../src/model/precision-storage';
import { Scorer } from '../src/padim/scorer';
import { writeSyntheticDataset } from '../src/synthetic';

const SHARED = path.resolve(__dirname, '../../../shared');
const R50 = path.join(SHARED, 'models', 'resnet50v2-stage1to3-fp32.onnx');

interface Measured {
  imageAUROC: number;
  pixelAUROC: number;
  AUPRO: number;
  caughtAt1Percent: number;
  scores: number[];
  fitMs: number;
}

async function measure(
  dataDir: string,
  backbone: string | undefined,
  dims: number,
  storage: PrecisionStorage,
) {
  const ds = readCategory(dataDir);
  const t = performance.now();
  const model = await fitModel(ds.train, {
    ...(backbone ? { backbone } : {}),
    dims,
    seed: 0,
    heldOutImages: 0,
    updatable: false,
    precisionStorage: storage,
  });
  const fitMs = performance.now() - t;
  const scorer = await Scorer.open(model, { batchSize: 8 });
  try {
    const scores: number[] = [];
    const report = await evaluate(scorer, ds, { onResult: (r) => void scores.push(r.score) });
    const at1 = report.atFalseAlarmRate.find((p) => p.rate === 0.01);
    return {
      imageAUROC: report.imageAUROC,
      pixelAUROC: report.pixelAUROC,
      AUPRO: report.AUPRO,
      caughtAt1Percent: at1?.caught ?? NaN,
      scores,
      fitMs,
    } satisfies Measured;
  } finally {
    await scorer.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dims: { type: 'string', default: '100' },
      only: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const dims = Number(values.dims);
  const sets: { name: string; dir: string; backbone?: string }[] = [];
  const bottle = path.join(SHARED, 'data/mvtec/bottle');
  if (values.only !== 'generated') {
    if (fs.existsSync(bottle) && fs.existsSync(R50))
      sets.push({ name: 'bottle', dir: bottle, backbone: R50 });
    else console.log(`skipped bottle: no ${bottle} or ${R50}`);
  }
  let tmp: string | undefined;
  if (values.only !== 'bottle') {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-precision-'));
    await writeSyntheticDataset(tmp, {
      texture: 'woven',
      seed: 11,
      trainCount: 40,
      testGoodCount: 12,
      testDefectCount: 12,
    });
    // the generated set runs on the built-in backbone, whose D limits d
    sets.push({ name: 'generated', dir: tmp });
  }
  const results: Record<string, unknown>[] = [];
  try {
    for (const set of sets) {
      const d = set.backbone ? dims : Math.min(dims, 48);
      const byStorage: Partial<Record<PrecisionStorage, Measured>> = {};
      for (const storage of ['float32', 'float16', 'int8'] as const) {
        const m = await measure(set.dir, set.backbone, d, storage);
        byStorage[storage] = m;
        const ref = byStorage.float32!;
        const rel = m.scores.map((s, i) => Math.abs(s - ref.scores[i]) / ref.scores[i]).sort((a, b) => a - b);
        const row = {
          set: set.name,
          dims: d,
          storage,
          imageAUROC: m.imageAUROC,
          pixelAUROC: m.pixelAUROC,
          AUPRO: m.AUPRO,
          caughtAt1Percent: m.caughtAt1Percent,
          scoreRelErrorMax: rel[rel.length - 1],
          scoreRelErrorMedian: rel[rel.length >> 1],
          fitMs: m.fitMs,
        };
        results.push(row);
        console.log(
          `${set.name} d=${d} ${storage}: image AUROC ${m.imageAUROC.toFixed(4)}, pixel AUROC ${m.pixelAUROC.toFixed(4)}, ` +
            `AUPRO ${m.AUPRO.toFixed(4)}, caught at 1% false alarms ${(m.caughtAt1Percent * 100).toFixed(1)}%, ` +
            `score rel. error vs float32 max ${row.scoreRelErrorMax.toExponential(2)} median ${row.scoreRelErrorMedian.toExponential(2)}`,
        );
      }
    }
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (values.json) {
    fs.writeFileSync(values.json, JSON.stringify({ machine: { cores: os.cpus().length }, results }, null, 2));
    console.log(`wrote ${values.json}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
