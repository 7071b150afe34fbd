/**
 * The PaDiM head alone on generated features (no backbone, no images): inversion by LU and by
 * blocked Cholesky against the MatMul floor, and scoring from the float32 inverse covariances
 * and from the compact factors (precision-storage/) against the bandwidth floor of the bytes
 * each stores, with the distances' relative error to a float64 LU reference. All in one
 * process, floors measured in the same run, so the ratios hold on a busy machine.
 *
 *   node dist/bench/precision-head.js [--dims 100,550] [--cells 256] [--train 64] [--runs 5] [--json out.json]
 *
 * Features come from a factor model (a few shared factors plus channel noise, as CNN features
 * are correlated): with fewer images than d the covariance is singular and eps I makes it
 * invertible, the conditioning a real fit on few images meets. Times scale with the cells;
 * `perGrid64` extrapolates to a 64x64 grid (4096 cells) linearly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { BatchedLinalg, type InverseMethod } from '../src/linalg/batched-linalg';
import { measureBandwidth, measureMatmul } from '../src/bench/floors';
import { median } from '../src/math/median';
import { GaussianAccumulator } from '../src/padim/gaussian';
import type { GaussianArrays, PadimModel } from '../src/model/model';
import { storageBytesPerCell, type PrecisionStorage } from '../src/model/precision-storage';
import { gaussianSample, seededRng } from '../src/math/random';
import { cellDistances } from '../src/padim/distance';

const GRID64_CELLS = 4096;

function factorModel(cells: number, d: number, seed: number) {
  const rng = seededRng(seed);
  const factors = 12;
  const load = Float32Array.from({ length: cells * factors * d }, () => gaussianSample(rng));
  return (shift = 0): Float32Array => {
    const e = new Float32Array(cells * d);
    for (let c = 0; c < cells; c++) {
      const z = Array.from({ length: factors }, () => gaussianSample(rng));
      for (let i = 0; i < d; i++) {
        let v = 5 + 0.3 * (1 + (i % 5)) * gaussianSample(rng) + shift * gaussianSample(rng);
        for (let k = 0; k < factors; k++) v += z[k] * load[(c * factors + k) * d + i];
        e[c * d + i] = v;
      }
    }
    return e;
  };
}

function relativeErrors(got: Float32Array[], want: Float32Array[]): { max: number; median: number } {
  const e: number[] = [];
  got.forEach((g, j) => g.forEach((v, c) => e.push(Math.abs(v - want[j][c]) / want[j][c])));
  e.sort((a, b) => a - b);
  return { max: e[e.length - 1], median: e[e.length >> 1] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dims: { type: 'string', default: '100,550' },
      cells: { type: 'string', default: '256' },
      train: { type: 'string', default: '64' },
      runs: { type: 'string', default: '5' },
      json: { type: 'string' },
    },
  });
  const cells = Number(values.cells);
  const runs = Number(values.runs);
  const nTrain = Number(values.train);
  const bandwidthGBs = measureBandwidth();
  const matmulGflops = await measureMatmul();
  const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', bandwidthGBs, matmulGflops };
  console.log(
    `machine: ${machine.cores} cores, bandwidth ${bandwidthGBs.toFixed(1)} GB/s, MatMul ${matmulGflops.toFixed(1)} GFLOP/s`,
  );
  const linalg = new BatchedLinalg();
  const report: Record<string, unknown>[] = [];
  try {
    for (const d of (values.dims as string).split(',').map(Number)) {
      const sample = factorModel(cells, d, d);
      const train = Array.from({ length: nTrain }, () => sample());
      // held-out images: half good, half with every channel shifted (anomalous cells)
      const probe = Array.from({ length: 8 }, (_, j) => sample(j % 2 ? 1 : 0));
      const fitWith = async (
        method: InverseMethod,
        type: 'float32' | 'float64',
        storage: PrecisionStorage,
      ) => {
        const acc = new GaussianAccumulator({ cells, dims: d }, linalg);
        await acc.add(train);
        const t = performance.now();
        const g = await acc.finalise({
          eps: 0.01,
          keepComoment: false,
          inversePrecision: type,
          inverseMethod: method,
          ...(storage === 'float32' ? {} : { factor: storage }),
        });
        const ms = performance.now() - t;
        const arrays: GaussianArrays = g.factor ? { ...g, precision: [] } : g;
        return { ms, model: { gaussian: arrays } as PadimModel };
      };
      const distancesOf = (m: PadimModel, images: Float32Array[]) =>
        cellDistances(m, linalg, images, Float32Array.from(m.gaussian.mean));
      const reference = (await fitWith('lu', 'float64', 'float32')).model;
      const want = await distancesOf(reference, probe);
      // the floor: cells * d^3 / 3 multiply-adds (Cholesky) at the measured MatMul rate
      const floorMs = ((((cells * d ** 3) / 3) * 2) / (matmulGflops * 1e9)) * 1000;
      const inversion: Record<string, unknown>[] = [];
      const autoType = d <= 256 ? 'float64' : 'float32';
      for (const [method, type] of [
        ['lu', 'float64'],
        ['lu', 'float32'],
        ['cholesky', 'float64'],
        ['cholesky', 'float32'],
      ] as const) {
        const times: number[] = [];
        let model: PadimModel | undefined;
        for (let r = 0; r < Math.max(1, Math.ceil(runs / 2)); r++) {
          const fitted = await fitWith(method, type, 'float32');
          times.push(fitted.ms);
          model = fitted.model;
        }
        const err = relativeErrors(await distancesOf(model!, probe), want);
        const ms = median(times);
        inversion.push({
          method,
          type,
          auto: type === autoType,
          ms,
          overFloor: ms / floorMs,
          distanceError: err,
        });
        console.log(
          `d=${d} inversion ${method}/${type}: ${ms.toFixed(0)} ms for ${cells} cells (floor ${floorMs.toFixed(0)} ms, x${(ms / floorMs).toFixed(1)}), ` +
            `distance rel. error vs LU float64: median ${err.median.toExponential(1)}, max ${err.max.toExponential(1)}`,
        );
      }
      const scoring: Record<string, unknown>[] = [];
      for (const storage of ['float32', 'float16', 'int8'] as const) {
        const { model } = await fitWith('cholesky', autoType, storage);
        const err = relativeErrors(await distancesOf(model, probe), want);
        const bytes = cells * storageBytesPerCell(storage, d).memory;
        const floorPerPass = (bytes / (bandwidthGBs * 1e9)) * 1000;
        const time = async (batch: number) => {
          const images = probe.slice(0, batch);
          await distancesOf(model, images);
          const t: number[] = [];
          for (let r = 0; r < runs; r++) {
            const s = performance.now();
            await distancesOf(model, images);
            t.push((performance.now() - s) / batch);
          }
          return median(t);
        };
        const single = await time(1);
        const batched = await time(8);
        const row = {
          storage,
          bytes,
          perGrid64MB: ((bytes / cells) * GRID64_CELLS) / 1e6,
          singleMs: single,
          floorMs: floorPerPass,
          singleOverFloor: single / floorPerPass,
          batch8MsPerImage: batched,
          distanceError: err,
        };
        scoring.push(row);
        console.log(
          `d=${d} scoring ${storage}: ${(bytes / 1e6).toFixed(1)} MB (${row.perGrid64MB.toFixed(0)} MB at 64x64), ` +
            `one image ${single.toFixed(2)} ms (floor ${floorPerPass.toFixed(2)}, x${row.singleOverFloor.toFixed(2)}), ` +
            `batch 8 ${batched.toFixed(2)} ms/image, distance rel. error median ${err.median.toExponential(1)}, max ${err.max.toExponential(1)}`,
        );
      }
      report.push({ dims: d, cells, train: nTrain, inversionFloorMs: floorMs, inversion, scoring });
    }
  } finally {
    await linalg.dispose();
  }
  if (values.json) {
    fs.writeFileSync(values.json, JSON.stringify({ machine, runs, results: report }, null, 2));
    console.log(`wrote ${values.json}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
