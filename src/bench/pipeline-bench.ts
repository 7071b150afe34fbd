/**
 * `padim bench`: times each stage of the pipeline (decode + resize, backbone, distance head,
 * upsample + blur) and the whole, for one configuration, after a warm-up, as medians of
 * several runs, next to this machine's floors measured in the same process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeAnomalyMap } from '../padim/anomaly-map';
import { embedBatch, extractFeatures } from '../padim/extractor';
import { fitModel } from '../padim/fit';
import { describeSize } from '../input';
import { listImageFiles } from '../image/image-files';
import type { FitOptions } from '../options';
import { storageBytesPerCell } from '../model/precision-storage';
import { prepareImage } from '../image';
import { Scorer } from '../padim/scorer';
import { writeSyntheticDataset } from '../synthetic';
import { measureBandwidth, measureMatmul } from './floors';
import { median } from '../math/median';

export interface BenchOptions extends FitOptions {
  /** images scored together */
  scoreBatch?: number;
  runs?: number;
  /** training images (synthetic unless `data` is given) */
  trainImages?: number;
  /** a folder of images to use instead of generated ones (train = first N, score = rest) */
  data?: string;
  /** size of the generated images (default 256x256 colour; other sizes are generated grey, as long parts are) */
  imageSize?: { width: number; height: number };
  onLine?: (line: string) => void;
}

export interface BenchReport {
  config: {
    backbone: string;
    dims: number;
    totalChannels: number;
    size: string;
    grid: string;
    /** grid cells: memory and time of the head grow in proportion to them */
    cells: number;
    scoreBatch: number;
    provider: string;
    runs: number;
  };
  machine: { cores: number; cpu: string; bandwidthGBs: number; matmulGflops: number };
  fit: { images: number; seconds: number; peakRssMB: number };
  /** the fitted model's arrays in memory: means, inverse covariances and (updatable models) co-moments */
  modelMB: number;
  /** medians, milliseconds per image */
  stages: { decodeMs: number; backboneMs: number; distanceMs: number; mapMs: number; pipelineMs: number };
  /** the distance head's floor: reading every inverse covariance once per batch at the measured bandwidth */
  floors: {
    precisionMB: number;
    distanceFloorMsPerImage: number;
    distanceOverFloor: number;
    backboneGflopsEquivalent?: number;
  };
}

async function images(
  opts: BenchOptions,
  needed: number,
): Promise<{ train: string[]; test: string[]; cleanup: () => void }> {
  if (opts.data) {
    const files = listImageFiles(opts.data, { recursive: true });
    if (files.length < 2) throw new Error(`need at least 2 images in ${opts.data}`);
    const n = Math.min(opts.trainImages ?? 32, files.length - 1);
    return { train: files.slice(0, n), test: files.slice(n), cleanup: () => undefined };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-bench-'));
  const square = !opts.imageSize || opts.imageSize.width === opts.imageSize.height;
  await writeSyntheticDataset(dir, {
    ...(opts.imageSize ?? {}),
    channels: square ? 3 : 1,
    texture: square ? 'woven' : 'brushed',
    trainCount: opts.trainImages ?? 32,
    testGoodCount: needed,
    testDefectCount: 0,
    defects: [],
    seed: 7,
  });
  return {
    train: listImageFiles(path.join(dir, 'train/good')),
    test: listImageFiles(path.join(dir, 'test/good')),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const say = opts.onLine ?? (() => undefined);
  const runs = opts.runs ?? 5;
  const b = opts.scoreBatch ?? 1;
  const set = await images(opts, b);
  try {
    const t0 = performance.now();
    const model = await fitModel(set.train, opts);
    const fitSeconds = (performance.now() - t0) / 1000;
    const peakRssMB = process.resourceUsage().maxRSS / 1024;
    const h = model.header;
    // measured after the fit: their large buffers must not count in the fit's peak memory
    const bandwidthGBs = measureBandwidth();
    const matmulGflops = await measureMatmul(1024, 5, opts.threads);
    say(
      `machine: ${os.cpus().length} cores, memory bandwidth ${bandwidthGBs.toFixed(1)} GB/s, MatMul ${matmulGflops.toFixed(1)} GFLOP/s`,
    );
    const scorer = await Scorer.open(model, { ...opts, batchSize: b });
    const batch = Array.from({ length: b }, (_, i) => set.test[i % set.test.length]);
    const protocol = { size: h.input.size, normalisation: h.input.normalisation, maxPixels: opts.maxPixels };
    const t = {
      decode: [] as number[],
      backbone: [] as number[],
      distance: [] as number[],
      map: [] as number[],
      pipeline: [] as number[],
    };
    try {
      for (let r = 0; r <= runs; r++) {
        const ta = performance.now();
        await Promise.all(batch.map((f) => prepareImage(f, protocol)));
        const decode = performance.now() - ta;
        const extracted = await extractFeatures(scorer.backbone, batch, protocol);
        const tb = performance.now();
        const embeddings = await embedBatch(scorer.embedder, extracted);
        const grids = await scorer.distances(embeddings);
        const distance = performance.now() - tb;
        const tc = performance.now();
        for (const g of grids)
          makeAnomalyMap(
            { data: g, height: h.grid.height, width: h.grid.width },
            { height: extracted.prepared[0].height, width: extracted.prepared[0].width },
          );
        const map = performance.now() - tc;
        const td = performance.now();
        await scorer.scoreBatch(batch);
        const pipeline = performance.now() - td;
        if (r === 0) continue; // warm-up
        t.decode.push(decode / b);
        t.backbone.push(extracted.backboneMs / b);
        t.distance.push(distance / b);
        t.map.push(map / b);
        t.pipeline.push(pipeline / b);
      }
    } finally {
      await scorer.dispose();
    }
    const g = model.gaussian;
    // the bytes scoring reads: float32 inverses or a compact factor (precision-storage/)
    const precisionMB = (g.cells * storageBytesPerCell(h.precisionStorage ?? 'float32', g.dims).memory) / 1e6;
    const distanceFloorMsPerImage = (precisionMB / 1e3 / bandwidthGBs / b) * 1000;
    const stages = {
      decodeMs: median(t.decode),
      backboneMs: median(t.backbone),
      distanceMs: median(t.distance),
      mapMs: median(t.map),
      pipelineMs: median(t.pipeline),
    };
    const modelBytes =
      g.mean.byteLength +
      [
        ...g.precision,
        ...(g.comoment ?? []),
        ...(g.factor?.chunks ?? []),
        ...(g.factor?.rowScales ?? []),
      ].reduce((s, a) => s + a.byteLength, 0);
    return {
      config: {
        backbone: h.backbone.id,
        dims: h.embedding.dims,
        totalChannels: h.embedding.totalChannels,
        size: `${describeSize(h.input.size)}${h.input.auto ? ' (auto)' : ''}`,
        grid: `${h.grid.width}x${h.grid.height}`,
        cells: g.cells,
        scoreBatch: b,
        provider: scorer.backbone.provider,
        runs,
      },
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', bandwidthGBs, matmulGflops },
      fit: { images: set.train.length, seconds: fitSeconds, peakRssMB },
      modelMB: modelBytes / 1e6,
      stages,
      floors: {
        precisionMB,
        distanceFloorMsPerImage,
        distanceOverFloor: stages.distanceMs / distanceFloorMsPerImage,
      },
    };
  } finally {
    set.cleanup();
  }
}

/** The report as a small table. */
export function formatBench(r: BenchReport): string[] {
  const s = r.stages;
  const c = r.config;
  return [
    `config: ${c.backbone} d=${c.dims}/${c.totalChannels} ${c.size} grid ${c.grid} (${c.cells} cells), batch ${c.scoreBatch}, provider ${c.provider}, ${c.runs} runs (medians)`,
    `stage                ms/image`,
    `decode + resize      ${s.decodeMs.toFixed(2).padStart(8)}`,
    `backbone             ${s.backboneMs.toFixed(2).padStart(8)}`,
    `distance head        ${s.distanceMs.toFixed(2).padStart(8)}   floor ${r.floors.distanceFloorMsPerImage.toFixed(2)} (${r.floors.precisionMB.toFixed(0)} MB of inverse covariances at ${r.machine.bandwidthGBs.toFixed(1)} GB/s), ratio ${r.floors.distanceOverFloor.toFixed(2)}`,
    `upsample + blur      ${s.mapMs.toFixed(2).padStart(8)}`,
    `whole pipeline       ${s.pipelineMs.toFixed(2).padStart(8)}`,
    `fit: ${r.fit.images} images in ${r.fit.seconds.toFixed(1)} s, peak RSS ${r.fit.peakRssMB.toFixed(0)} MB, model ${r.modelMB.toFixed(0)} MB in memory`,
  ];
}
