/**
 * Regions-of-interest benchmark (issue 12): padim eval with and without a region on MVTec AD
 * bottle (a circle around the bottle, excluding the white background; ../shared, when present)
 * and on generated parts carrying a printed code that changes on every part (with and without
 * a region ignoring the code). Reports accuracy, defects caught at 1% false alarms, score time
 * per image and the model file's size, from one process (times on a shared machine are noisy).
 *
 *   node dist/bench/roi.js [--only bottle|code] [--json bench/results/roi.json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { readCategory } from '../src/eval/dataset';
import { evaluate, type EvaluationReport } from '../src/eval/evaluate';
import { fitModel } from '../src/padim/fit';
import { saveModel } from '../src/model/model-file';
import type { FitOptions } from '../src/options';
import { parseRoiJson, type RoiSpec } from '../src/roi';
import { Scorer } from '../src/padim/scorer';
import { placedPart, type DefectKind, type PlacedPartOptions } from '../src/synthetic';

const SHARED = process.env.PADIM_SHARED ?? path.resolve(__dirname, '../../../shared');
const R50 = path.join(SHARED, 'models', 'resnet50v2-stage1to3-fp32.onnx');

interface Result {
  set: string;
  backbone: string;
  roi: string;
  /** share of the grid's cells with a Gaussian */
  cellShare: number;
  modelBytes: number;
  fitMs: number;
  report: Omit<EvaluationReport, 'perDefectType'>;
}

/** A polygon of `n` points approximating a circle, as a region file would hold it. */
function circle(cx: number, cy: number, r: number, n = 64): [number, number][] {
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return [Math.round((cx + r * Math.cos(a)) * 10) / 10, Math.round((cy + r * Math.sin(a)) * 10) / 10];
  });
}

async function run(
  dir: string,
  set: string,
  backbone: string,
  roiName: string,
  opts: FitOptions,
  tmp: string,
): Promise<Result> {
  const data = readCategory(dir);
  const t0 = performance.now();
  const model = await fitModel(data.train, { seed: 0, ...opts, log: (m) => console.log(`  ${m}`) });
  const fitMs = performance.now() - t0;
  const file = path.join(tmp, `${set}-${roiName}.padim`.replace(/\W+/g, '-'));
  await saveModel(file, model);
  const modelBytes = fs.statSync(file).size;
  fs.rmSync(file);
  const scorer = await Scorer.open(model);
  let report: EvaluationReport;
  try {
    report = await evaluate(scorer, data, { fitMs });
  } finally {
    await scorer.dispose();
  }
  const { perDefectType: _p, ...rest } = report;
  const g = model.header.grid;
  return {
    set,
    backbone,
    roi: roiName,
    cellShare: model.gaussian.cells / (g.width * g.height),
    modelBytes,
    fitMs,
    report: rest,
  };
}

async function writeGrey(file: string, data: Uint8Array, size: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(data), { raw: { width: size, height: size, channels: 1 } })
    .png()
    .toFile(file);
}

/** The code test's parts: training parts of one batch (one code), test parts with new codes. */
const CODE = { x: 60, y: 20, width: 50, height: 24 };
const STILL = { dx: 0, dy: 0, angleDeg: 0 };
async function writeCodeSet(dir: string): Promise<void> {
  const opts: PlacedPartOptions = { code: CODE };
  const name = (i: number) => `${String(i).padStart(3, '0')}.png`;
  for (let i = 0; i < 30; i++)
    await writeGrey(
      path.join(dir, 'train/good', name(i)),
      placedPart(i, { ...opts, codeSeed: 1 }, undefined, STILL).image.data as Uint8Array,
      256,
    );
  for (let i = 0; i < 20; i++)
    await writeGrey(
      path.join(dir, 'test/good', name(i)),
      placedPart(300 + i, opts, undefined, STILL).image.data as Uint8Array,
      256,
    );
  for (const [k, defect] of (['spot', 'scratch'] as DefectKind[]).entries())
    for (let i = 0; i < 10; i++) {
      const part = placedPart(500 + 50 * k + i, opts, defect, STILL);
      await writeGrey(path.join(dir, `test/${defect}`, name(i)), part.image.data as Uint8Array, 256);
      await writeGrey(
        path.join(dir, `ground_truth/${defect}`, name(i).replace('.png', '_mask.png')),
        Uint8Array.from(part.mask, (v) => (v ? 255 : 0)),
        256,
      );
    }
}

function line(r: Result): string {
  const at1 = r.report.atFalseAlarmRate.find((p) => p.rate === 0.01);
  return (
    `${r.set.padEnd(12)} ${r.roi.padEnd(22)} cells ${(100 * r.cellShare).toFixed(0)}% image ${r.report.imageAUROC.toFixed(3)} ` +
    `pixel ${r.report.pixelAUROC.toFixed(3)} AUPRO ${r.report.AUPRO.toFixed(3)} caught@1% ${at1 ? (100 * at1.caught).toFixed(0) : '?'}% ` +
    `score ${r.report.timings.scoreMsPerImage.toFixed(0)} ms/img (distance ${r.report.timings.distanceMsPerImage.toFixed(1)}) ` +
    `model ${(r.modelBytes / 2 ** 20).toFixed(1)} MiB fit ${(r.fitMs / 1000).toFixed(0)} s`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, json: { type: 'string' } } });
  const results: Result[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-roi-'));
  const save = () =>
    values.json &&
    fs.writeFileSync(
      values.json,
      JSON.stringify(
        { date: new Date().toISOString(), machine: `${os.cpus().length} cores, shared`, results },
        null,
        2,
      ) + '\n',
    );
  const jobs: { dir: string; set: string; backbone: string; roiName: string; opts: FitOptions }[] = [];
  try {
    if (values.only !== 'code') {
      const bottle = path.join(SHARED, 'data/mvtec/bottle');
      if (fs.existsSync(bottle) && fs.existsSync(R50)) {
        const around: RoiSpec = parseRoiJson(
          JSON.stringify({
            width: 900,
            height: 900,
            regions: [{ name: 'bottle', polygon: circle(450, 450, 420) }],
          }),
        );
        const base = { backbone: R50, dims: 100 };
        jobs.push({ dir: bottle, set: 'bottle', backbone: 'ResNet50v2 d=100', roiName: 'none', opts: base });
        jobs.push({
          dir: bottle,
          set: 'bottle',
          backbone: 'ResNet50v2 d=100',
          roiName: 'circle r=420 of 900',
          opts: { ...base, roi: around },
        });
      } else console.log('skipped bottle: ../shared is absent');
    }
    if (values.only !== 'bottle') {
      const dir = path.join(tmp, 'code');
      await writeCodeSet(dir);
      const m = 32;
      const ignore = parseRoiJson(
        JSON.stringify({
          width: 256,
          height: 256,
          regions: [
            {
              name: 'code',
              ignore: true,
              rect: [51 + CODE.x - m, 51 + CODE.y - m, CODE.width + 2 * m, CODE.height + 2 * m],
            },
          ],
        }),
      );
      jobs.push({ dir, set: 'printed code', backbone: 'builtin:filterbank', roiName: 'none', opts: {} });
      jobs.push({
        dir,
        set: 'printed code',
        backbone: 'builtin:filterbank',
        roiName: 'code ignored (+32 px)',
        opts: { roi: ignore },
      });
    }
    for (const j of jobs) {
      const r = await run(
        j.dir,
        j.set,
        j.backbone,
        j.roiName,
        { size: { kind: 'auto', short: 256 }, ...j.opts },
        tmp,
      );
      results.push(r);
      console.log(line(r));
      save();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
