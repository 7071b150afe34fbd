/**
 * Alignment benchmark (issue 12): padim eval with --align off / translate / rigid on MVTec AD
 * bottle (../shared, when present) and on generated parts placed with random shifts (up to 10%
 * of the image) and turns (up to 5 degrees), plus the time alignment itself takes per image
 * (median over the test images, measured in the same run) and the recovered motions' errors.
 *
 *   node dist/bench/alignment.js [--only bottle|placed] [--json bench/results/alignment.json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Aligner } from '../src/alignment/aligner';
import type { AlignMode } from '../src/alignment/reference';
import { median } from '../src/math/median';
import { readCategory } from '../src/eval/dataset';
import { evaluate, type EvaluationReport } from '../src/eval/evaluate';
import { caughtAtFalseAlarmRate, type BinaryLabel } from '../src/eval/metrics';
import { fitModel } from '../src/padim/fit';
import type { FitOptions } from '../src/options';
import { prepareImage } from '../src/image';
import { Scorer } from '../src/padim/scorer';
import { writePlacedDataset, type Placement } from '../src/synthetic';

const SHARED = process.env.PADIM_SHARED ?? path.resolve(__dirname, '../../../shared');
const R50 = path.join(SHARED, 'models', 'resnet50v2-stage1to3-fp32.onnx');
const MODES: AlignMode[] = ['off', 'translate', 'rigid'];

interface Row {
  set: string;
  backbone: string;
  options: FitOptions;
}

interface Result extends Row {
  align: AlignMode;
  report: Omit<EvaluationReport, 'perDefectType'>;
  /** share of defective test images scored above every good one / above all but 5% of them */
  caughtAt0: number;
  caughtAt5: number;
  alignMsPerImage?: number;
  unaligned?: number;
  motionError?: { shiftPxMedian: number; shiftPxMax: number; angleDegMedian: number; angleDegMax: number };
}

/** Share of defects caught at the threshold that lets `fpr` of the good images through as false alarms. */
function caught(good: number[], bad: number[], fpr: number): number {
  const labels: BinaryLabel[] = [...good.map((): BinaryLabel => 0), ...bad.map((): BinaryLabel => 1)];
  return caughtAtFalseAlarmRate([...good, ...bad], labels, fpr).caught;
}

async function run(
  dir: string,
  row: Row,
  align: AlignMode,
  truth?: Record<string, Placement>,
): Promise<Result> {
  const data = readCategory(dir);
  const t0 = performance.now();
  const model = await fitModel(data.train, {
    seed: 0,
    ...row.options,
    align,
    log: (m) => console.log(`  ${m}`),
  });
  const fitMs = performance.now() - t0;
  const scorer = await Scorer.open(model);
  const good: number[] = [];
  const bad: number[] = [];
  const shiftErr: number[] = [];
  const angleErr: number[] = [];
  let unaligned = 0;
  let report: EvaluationReport;
  try {
    report = await evaluate(scorer, data, {
      fitMs,
      onResult: (r, t) => {
        (t.label === 'good' ? good : bad).push(r.score);
        if (r.alignment && !r.alignment.applied) unaligned++;
        const rel = path.relative(dir, t.file);
        if (r.alignment?.applied && truth?.[rel]) {
          // the reference is itself a placed part: the motion from it to this image is the turn
          // by the difference of angles and the shift t_i - R(dangle) t_ref (warp.ts's R)
          const ref = truth[path.relative(dir, data.train[model.header.alignment?.referenceIndex ?? 0])];
          const want = truth[rel];
          const da = want.angleDeg - ref.angleDeg;
          const a = (da * Math.PI) / 180;
          const tx = want.dx - (Math.cos(a) * ref.dx + Math.sin(a) * ref.dy);
          const ty = want.dy - (-Math.sin(a) * ref.dx + Math.cos(a) * ref.dy);
          shiftErr.push(Math.hypot(r.alignment.dx - tx, r.alignment.dy - ty));
          if (align === 'rigid') angleErr.push(Math.abs(r.alignment.angleDeg - da));
        }
      },
    });
  } finally {
    await scorer.dispose();
  }
  let alignMsPerImage: number | undefined;
  if (model.header.alignment) {
    const aligner = new Aligner(model.header.alignment);
    const times: number[] = [];
    for (const t of data.test) {
      const p = await prepareImage(t.file, {
        size: model.header.input.size,
        normalisation: model.header.input.normalisation,
      });
      const a = performance.now();
      aligner.align(p);
      times.push(performance.now() - a);
    }
    alignMsPerImage = median(times);
  }
  const { perDefectType: _p, ...rest } = report;
  return {
    ...row,
    align,
    report: rest,
    caughtAt0: caught(good, bad, 0),
    caughtAt5: caught(good, bad, 0.05),
    ...(alignMsPerImage !== undefined ? { alignMsPerImage, unaligned } : {}),
    ...(shiftErr.length > 0
      ? {
          motionError: {
            shiftPxMedian: median(shiftErr),
            shiftPxMax: Math.max(...shiftErr),
            angleDegMedian: angleErr.length ? median(angleErr) : 0,
            angleDegMax: angleErr.length ? Math.max(...angleErr) : 0,
          },
        }
      : {}),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, json: { type: 'string' } } });
  const results: Result[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-align-'));
  const jobs: { dir: string; row: Row; truth?: Record<string, Placement> }[] = [];
  try {
    if (values.only !== 'placed') {
      const bottle = path.join(SHARED, 'data/mvtec/bottle');
      if (fs.existsSync(bottle) && fs.existsSync(R50))
        jobs.push({
          dir: bottle,
          row: { set: 'bottle', backbone: 'ResNet50v2 d=100', options: { backbone: R50, dims: 100 } },
        });
      else console.log('skipped bottle: ../shared is absent');
    }
    if (values.only !== 'bottle') {
      const dir = path.join(tmp, 'placed');
      const truth = await writePlacedDataset(dir, {
        trainCount: 30,
        testGoodCount: 10,
        testDefectCount: 8,
        seed: 1,
      });
      jobs.push({ dir, truth, row: { set: 'placed 256 grey', backbone: 'builtin:filterbank', options: {} } });
      if (fs.existsSync(R50))
        jobs.push({
          dir,
          truth,
          row: {
            set: 'placed 256 grey',
            backbone: 'ResNet50v2 d=100',
            options: { backbone: R50, dims: 100 },
          },
        });
    }
    for (const { dir, row, truth } of jobs) {
      for (const align of MODES) {
        const r = await run(dir, row, align, truth);
        results.push(r);
        console.log(
          `${row.set.padEnd(16)} ${row.backbone.padEnd(20)} ${align.padEnd(9)} image ${r.report.imageAUROC.toFixed(3)} pixel ${r.report.pixelAUROC.toFixed(3)} AUPRO ${r.report.AUPRO.toFixed(3)} ` +
            `caught@0% ${(100 * r.caughtAt0).toFixed(0)}% @5% ${(100 * r.caughtAt5).toFixed(0)}% score ${r.report.timings.scoreMsPerImage.toFixed(0)} ms/img` +
            (r.alignMsPerImage !== undefined
              ? ` align ${r.alignMsPerImage.toFixed(1)} ms/img unaligned ${r.unaligned}`
              : '') +
            (r.motionError
              ? ` shift err med ${r.motionError.shiftPxMedian.toFixed(2)} max ${r.motionError.shiftPxMax.toFixed(2)} px, angle err med ${r.motionError.angleDegMedian.toFixed(2)} max ${r.motionError.angleDegMax.toFixed(2)}`
              : ''),
        );
        if (values.json)
          fs.writeFileSync(
            values.json,
            JSON.stringify(
              { date: new Date().toISOString(), machine: `${os.cpus().length} cores, shared`, results },
              null,
              2,
            ),
          );
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
