/**
 * Issue 13 benchmark: the decision archive's write throughput and the model history's cost.
 *
 * Archive: records per second written by DecisionArchive (medians of --runs runs after one
 * warm-up round), for
 * decisions only and for every third decision NG with a 50 kB image and a 20 kB heatmap, with a
 * budget small enough that old segments are dropped during the run. Baseline in the same run:
 * the same JSON lines appended to one file with one write() each and no budget (the floor of
 * "one write per record"), so the ratio holds when the shared machine's speed drifts.
 *
 * History: per fit, the bytes MODEL.history/ grows by (the replaced model's file, a hard link to
 * it, plus its index entry) and the time saveModelVersion takes against a plain saveModel.
 *
 *   node dist/bench/archive.js [--runs 5] [--records 5000] [--json bench/results/archive.json]
 */
import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DecisionArchive, treeBytes, type ArchiveFile } from '../src/archive';
import { median } from '../src/math/median';
import { readCategory } from '../src/eval/dataset';
import { fitModel } from '../src/padim/fit';
import { saveModel } from '../src/model/model-file';
import { historyBytes, historyDir, readVersions, saveModelVersion } from '../src/model/history';
import { buildResult, type InspectionResult } from '../src/result/result';
import { writeSyntheticDataset } from '../src/synthetic';

const { values: args } = parseArgs({
  options: { runs: { type: 'string' }, records: { type: 'string' }, json: { type: 'string' } },
});
const RUNS = Number(args.runs ?? 5);
const RECORDS = Number(args.records ?? 5000);

function decision(i: number): InspectionResult {
  const ng = i % 3 === 0;
  return buildResult({
    station: 'st-1',
    line: 'L1',
    image: `/data/cam1/2026-12-02/part-${String(i).padStart(7, '0')}.png`,
    ok: !ng,
    score: ng ? 21.5 : 7.25,
    threshold: 12.5,
    normalizedScore: ng ? 1.72 : 0.58,
    defectArea: ng ? 0.013 : 0,
    consecutiveNg: ng ? 1 : 0,
    alarm: ng,
    modelId: '0123456789ab',
  });
}

const image = Buffer.alloc(50_000, 1);
const heatmap = Buffer.alloc(20_000, 2);
const filesFor = (i: number, withFiles: boolean): ArchiveFile[] =>
  withFiles && i % 3 === 0
    ? [
        { kind: 'image', data: image, ext: '.png' },
        { kind: 'heatmap', data: heatmap, ext: '.png' },
      ]
    : [];

/** Records/s of the archive, and the most bytes the folder held (checked after every 100). */
async function archiveRun(dir: string, withFiles: boolean, budget: number) {
  const archive = await DecisionArchive.open(dir, { budgetBytes: budget });
  const results = Array.from({ length: RECORDS }, (_, i) => decision(i));
  let peak = 0;
  let checkMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    await archive.write(results[i], filesFor(i, withFiles));
    if (i % 100 === 99) {
      // measuring the folder is not part of the timing
      const c0 = performance.now();
      peak = Math.max(peak, await treeBytes(dir));
      checkMs += performance.now() - c0;
    }
  }
  const ms = performance.now() - t0 - checkMs;
  await archive.close();
  if (peak > budget) throw new Error(`the archive held ${peak} bytes, above its budget of ${budget}`);
  return { recordsPerSecond: (RECORDS / ms) * 1000, peakBytes: peak };
}

/** The floor: the same lines appended with one write() each to one file. */
async function baselineRun(file: string) {
  const fh = await fsp.open(file, 'a');
  const lines = Array.from({ length: RECORDS }, (_, i) =>
    Buffer.from(`${JSON.stringify({ result: decision(i), files: {} })}\n`),
  );
  const t0 = performance.now();
  for (const line of lines) await fh.write(line, 0, line.length, null);
  const ms = performance.now() - t0;
  await fh.close();
  return (RECORDS / ms) * 1000;
}

async function archiveBench(root: string) {
  const runs: Record<string, number[]> = { appendFloor: [], decisionsOnly: [], withNgFiles: [] };
  const budgets = { decisionsOnly: 200_000, withNgFiles: 20_000_000 };
  let peaks = { decisionsOnly: 0, withNgFiles: 0 };
  // one warm-up round, not counted (JIT, the page cache, the schema compiled)
  await baselineRun(path.join(root, 'warm.jsonl'));
  await archiveRun(path.join(root, 'warm-d'), false, budgets.decisionsOnly);
  await archiveRun(path.join(root, 'warm-f'), true, budgets.withNgFiles);
  for (let r = 0; r < RUNS; r++) {
    runs.appendFloor.push(await baselineRun(path.join(root, `floor-${r}.jsonl`)));
    const d = await archiveRun(path.join(root, `d-${r}`), false, budgets.decisionsOnly);
    runs.decisionsOnly.push(d.recordsPerSecond);
    const f = await archiveRun(path.join(root, `f-${r}`), true, budgets.withNgFiles);
    runs.withNgFiles.push(f.recordsPerSecond);
    peaks = {
      decisionsOnly: Math.max(peaks.decisionsOnly, d.peakBytes),
      withNgFiles: Math.max(peaks.withNgFiles, f.peakBytes),
    };
  }
  const med = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, Math.round(median(v))]));
  return {
    records: RECORDS,
    runs: RUNS,
    budgets,
    peakBytes: peaks,
    recordsPerSecondMedian: med,
    ratioToAppendFloor: {
      decisionsOnly: +(med.decisionsOnly / med.appendFloor).toFixed(3),
      withNgFiles: +(med.withNgFiles / med.appendFloor).toFixed(3),
    },
    recordsPerSecondAllRuns: runs,
  };
}

async function historyBench(root: string) {
  const data = path.join(root, 'data');
  await writeSyntheticDataset(data, {
    texture: 'woven',
    width: 256,
    trainCount: 12,
    testGoodCount: 1,
    testDefectCount: 1,
    seed: 3,
  });
  const train = readCategory(data).train;
  const opts = { backbone: 'builtin:filterbank', threads: 1 };
  // FITS different models: each fit on one image fewer
  const FITS = RUNS + 1;
  const models = [];
  for (let i = 0; i < FITS; i++) models.push(await fitModel(train.slice(0, train.length - i), opts));
  const plain = path.join(root, 'plain.padim');
  const kept = path.join(root, 'kept.padim');
  const plainMs: number[] = [];
  const keptMs: number[] = [];
  const grows: number[] = [];
  let linked = 0;
  for (let i = 0; i < FITS; i++) {
    let t0 = performance.now();
    await saveModel(plain, models[i]);
    plainMs.push(performance.now() - t0);
    const before = await historyBytes(kept);
    const replacedIno = fs.existsSync(kept) ? fs.statSync(kept).ino : undefined;
    t0 = performance.now();
    await saveModelVersion(kept, models[i], { keep: FITS });
    keptMs.push(performance.now() - t0);
    if (i > 0) {
      grows.push((await historyBytes(kept)) - before);
      const [newest] = await readVersions(kept);
      if (fs.statSync(path.join(historyDir(kept), newest.file)).ino === replacedIno) linked++;
    }
  }
  // the first save has nothing to keep: timings of the saves that replaced a model
  const modelBytes = fs.statSync(kept).size;
  const indexBytes = fs.statSync(path.join(historyDir(kept), 'index.json')).size;
  return {
    model: { backbone: opts.backbone, inputSize: models[0].header.input.size, bytes: modelBytes },
    fits: FITS - 1,
    historyBytesPerFitMedian: median(grows),
    historyBytesPerFit: grows,
    indexBytesAfter: indexBytes,
    keptAsHardLink: `${linked}/${FITS - 1}`,
    saveMsMedian: {
      saveModel: +median(plainMs.slice(1)).toFixed(1),
      saveModelVersion: +median(keptMs.slice(1)).toFixed(1),
    },
    ratioVersionToPlainSave: +(median(keptMs.slice(1)) / median(plainMs.slice(1))).toFixed(3),
  };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-bench-archive-'));
  try {
    const archive = await archiveBench(root);
    console.log('archive', JSON.stringify(archive, null, 2));
    const history = await historyBench(root);
    console.log('history', JSON.stringify(history, null, 2));
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        note: 'shared with other jobs: times are noisy, ratios are same-run',
      },
      archive,
      history,
    };
    if (args.json) fs.writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
