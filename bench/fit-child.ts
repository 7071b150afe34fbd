/**
 * One fit in its own process, so its peak memory (maxRSS) is measured alone.
 * Usage: node dist/bench/fit-child.js <json options>; prints one JSON line.
 *   { "data": dir, "backbone": spec, "dims": n, "limit": n, "out": file?, "batch": n, "inverse": "auto", "inversion": "lu",
 *     "storage": "float32", "compact": false }
 */
import * as path from 'node:path';
import { readCategory } from '../src/eval/dataset';
import { fitModel } from '../src/padim/fit';
import { saveModel } from '../src/model/model-file';
import { storageBytesPerCell, type PrecisionStorage } from '../src/model/precision-storage';

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]) as {
    data: string;
    backbone: string;
    dims: number;
    limit?: number;
    out?: string;
    batch?: number;
    inverse?: 'auto' | 'float64' | 'float32';
    inversion?: 'lu' | 'cholesky';
    storage?: PrecisionStorage;
    compact?: boolean;
    threads?: number;
  };
  const train = readCategory(path.resolve(o.data), { requireMasks: false }).train.slice(0, o.limit);
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  let phase = '';
  let phaseStart = t0;
  let decodeMs = 0;
  let backboneMs = 0;
  const model = await fitModel(train, {
    backbone: o.backbone,
    dims: o.dims,
    batchSize: o.batch,
    threads: o.threads,
    inversePrecision: o.inverse,
    inverseMethod: o.inversion,
    precisionStorage: o.storage,
    // --compact: no update statistics, the saved model is what scoring needs
    updatable: !o.compact,
    onProgress: (p) => {
      decodeMs = p.decodeMs ?? decodeMs;
      backboneMs = p.backboneMs ?? backboneMs;
      if (p.phase !== phase) {
        const t = performance.now();
        if (phase) phases[phase] = t - phaseStart;
        phase = p.phase;
        phaseStart = t;
      }
    },
  });
  const fitMs = performance.now() - t0;
  phases[phase] = performance.now() - phaseStart;
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  if (o.out) await saveModel(o.out, model);
  const g = model.gaussian;
  // what scoring reads in memory: the float32 inverses or the compact factor
  const precisionBytes = g.cells * storageBytesPerCell(o.storage ?? 'float32', g.dims).memory;
  // the PaDiM head alone: the fit without decoding and the backbone
  const headMs = fitMs - decodeMs - backboneMs;
  const result = {
    images: train.length,
    dims: o.dims,
    fitMs,
    headMs,
    decodeMs,
    backboneMs,
    phases,
    maxRssMB,
    precisionBytes,
  };
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
