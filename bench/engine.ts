/**
 * Engine benchmark: fit time and peak memory, single-image and batched scoring, against this
 * machine's measured floors. Needs a data set in the MVTec layout and a backbone; defaults to
 * ../shared (MVTec AD bottle, ResNet50v2 stages 1-3).
 *
 *   node dist/bench/engine.js [--dims 100,550] [--runs 5] [--fit-runs 3] [--json out.json]
 *     [--precision-storage float32|float16|int8] [--inversion lu|cholesky] [--compact]
 *
 * With a compact storage, the floor is reading the stored factor's bytes (precision-storage/);
 * `modelFileGB` is the saved model (without update statistics with --compact).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { measureBandwidth, measureMatmul } from '../src/bench/floors';
import { median } from '../src/math/median';
import { readCategory } from '../src/eval/dataset';
import { loadModel } from '../src/model/model-file';
import { Scorer } from '../src/padim/scorer';

const SHARED = path.resolve(__dirname, '../../../shared');

function fitInChild(options: Record<string, unknown>) {
  const out = execFileSync(
    process.execPath,
    [path.join(__dirname, 'fit-child.js'), JSON.stringify(options)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out.trim().split('\n').pop() as string) as {
    images: number;
    fitMs: number;
    headMs: number;
    phases: Record<string, number>;
    maxRssMB: number;
    precisionBytes: number;
  };
}

async function scoringTimes(modelFile: string, images: string[], runs: number) {
  const model = await loadModel(modelFile);
  const scorer = await Scorer.open(model, { batchSize: 8 });
  try {
    await scorer.scoreBatch(images.slice(0, 1)); // warm-up
    const single: number[] = [];
    const decode: number[] = [];
    const backbone: number[] = [];
    const distance: number[] = [];
    const map: number[] = [];
    for (let r = 0; r < runs; r++) {
      const [res] = await scorer.scoreBatch([images[r % images.length]]);
      single.push(res.timings.totalMs);
      decode.push(res.timings.decodeMs);
      backbone.push(res.timings.backboneMs);
      distance.push(res.timings.distanceMs);
      map.push(res.timings.mapMs);
    }
    const batched: number[] = [];
    const batchedHead: number[] = [];
    for (let r = 0; r < Math.max(3, Math.ceil(runs / 2)); r++) {
      const t = performance.now();
      const results = await scorer.scoreBatch(images.slice(0, 8));
      batched.push((performance.now() - t) / 8);
      // the PaDiM head per image in the batch: embedding + Mahalanobis distances
      batchedHead.push(results[0].timings.distanceMs);
    }
    return {
      singleMs: median(single),
      decodeMs: median(decode),
      backboneMs: median(backbone),
      distanceMs: median(distance),
      mapMs: median(map),
      batched8MsPerImage: median(batched),
      batched8HeadMsPerImage: median(batchedHead),
    };
  } finally {
    await scorer.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: path.join(SHARED, 'data/mvtec/bottle') },
      backbone: { type: 'string', default: path.join(SHARED, 'models/resnet50v2-stage1to3-fp32.onnx') },
      dims: { type: 'string', default: '100,550' },
      runs: { type: 'string', default: '5' },
      'small-n': { type: 'string', default: '50' },
      'fit-runs': { type: 'string', default: '3' },
      'precision-storage': { type: 'string', default: 'float32' },
      inversion: { type: 'string', default: 'lu' },
      compact: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  if (!fs.existsSync(values.data as string)) {
    console.log(`skipped: no data at ${values.data} (the engine benchmark needs ../shared or --data)`);
    return;
  }
  const runs = Number(values.runs);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-bench-'));
  const data = readCategory(values.data as string, { requireMasks: false });
  const testImages = data.test.map((t) => t.file);
  const bandwidthGBs = measureBandwidth();
  const matmulGflops = await measureMatmul();
  const results: Record<string, unknown>[] = [];
  console.log(
    `machine: ${os.cpus().length} cores, bandwidth ${bandwidthGBs.toFixed(1)} GB/s, MatMul ${matmulGflops.toFixed(1)} GFLOP/s`,
  );
  try {
    for (const dims of (values.dims as string).split(',').map(Number)) {
      const modelFile = path.join(tmp, `d${dims}.padim`);
      const common = {
        data: values.data,
        backbone: values.backbone,
        dims,
        storage: values['precision-storage'],
        inversion: values.inversion,
        compact: values.compact,
      };
      // peak memory depends on when the garbage collector and the allocator run: take medians
      const repeat = Number(values['fit-runs']);
      const smallRuns = Array.from({ length: repeat }, () =>
        fitInChild({ ...common, limit: Number(values['small-n']) }),
      );
      const fullRuns = Array.from({ length: repeat }, (_, i) =>
        fitInChild({ ...common, out: i === repeat - 1 ? modelFile : undefined }),
      );
      const small = { ...smallRuns[0], maxRssMB: median(smallRuns.map((r) => r.maxRssMB)) };
      const full = {
        ...fullRuns[0],
        fitMs: median(fullRuns.map((r) => r.fitMs)),
        headMs: median(fullRuns.map((r) => r.headMs)),
        maxRssMB: median(fullRuns.map((r) => r.maxRssMB)),
      };
      const modelFileGB = fs.statSync(modelFile).size / 1e9;
      const scoring = await scoringTimes(modelFile, testImages, runs);
      fs.rmSync(modelFile, { force: true });
      // the floor of scoring a decoded image: the backbone, plus reading every inverse
      // covariance once at the measured bandwidth
      const floorMs = scoring.backboneMs + (full.precisionBytes / (bandwidthGBs * 1e9)) * 1000;
      const scoreMs = scoring.backboneMs + scoring.distanceMs + scoring.mapMs;
      const row = {
        dims,
        trainImages: full.images,
        fitSeconds: full.fitMs / 1000,
        fitHeadSeconds: full.headMs / 1000,
        fitPhasesSeconds: Object.fromEntries(Object.entries(full.phases).map(([k, v]) => [k, v / 1000])),
        peakRssGB: full.maxRssMB / 1024,
        peakRssSmallNGB: small.maxRssMB / 1024,
        smallN: small.images,
        rssGrowth: full.maxRssMB / small.maxRssMB,
        precisionStorage: values['precision-storage'],
        inversion: values.inversion,
        modelFileGB,
        precisionGB: full.precisionBytes / 1e9,
        peakOverPrecision: (full.maxRssMB * 1024 * 1024) / full.precisionBytes,
        ...scoring,
        floorMs,
        singleScoreMs: scoreMs,
        singleOverFloor: scoreMs / floorMs,
        headOverBackbone: scoring.distanceMs / scoring.backboneMs,
      };
      results.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const report = {
    date: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      bandwidthGBs,
      matmulGflops,
      memoryGB: os.totalmem() / 1e9,
    },
    data: values.data,
    backbone: values.backbone,
    results,
  };
  console.log(
    '\n| d | fit (s) | fit, head only (s) | peak RSS (GiB) | RSS N=50 -> all | inverse cov. (GB) | single image: decode / backbone / distance / map (ms) | ' +
      'score (ms) | floor (ms) | score/floor | batch 8, whole (ms/img) | batch 8, head (ms/img) | head/backbone |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results as Record<string, number>[]) {
    console.log(
      `| ${r.dims} | ${r.fitSeconds.toFixed(1)} | ${r.fitHeadSeconds.toFixed(1)} | ${r.peakRssGB.toFixed(2)} | ${r.rssGrowth.toFixed(2)}x | ${r.precisionGB.toFixed(2)} | ` +
        `${r.decodeMs.toFixed(0)} / ${r.backboneMs.toFixed(0)} / ${r.distanceMs.toFixed(0)} / ${r.mapMs.toFixed(0)} | ` +
        `${r.singleScoreMs.toFixed(0)} | ${r.floorMs.toFixed(0)} | ${r.singleOverFloor.toFixed(2)} | ${r.batched8MsPerImage.toFixed(0)} | ${r.batched8HeadMsPerImage.toFixed(0)} | ${r.headOverBackbone.toFixed(2)} |`,
    );
  }
  if (values.json) fs.writeFileSync(values.json as string, JSON.stringify(report, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
