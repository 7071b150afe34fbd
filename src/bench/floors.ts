/**
 * This machine's floors, measured in the same process as the benchmark, so that reported
 * times can be given as ratios that hold when the machine's speed drifts:
 * - memory bandwidth: bytes moved per second by a large typed-array copy;
 * - matrix-product rate: float32 multiply-adds per second of a large onnxruntime MatMul.
 */
import * as ort from 'onnxruntime-node';
import { median } from '../math/median';
import { buildModel, DataType, valueInfo } from '../onnx';

/** GB/s of reading + writing a buffer much larger than the caches (counted as 2 x bytes). */
export function measureBandwidth(megabytes = 512, runs = 5): number {
  const n = (megabytes * 1024 * 1024) / 8;
  const src = new Float64Array(n).fill(1);
  const dst = new Float64Array(n).fill(0); // touch the pages before timing
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    dst.set(src);
    const s = (performance.now() - t) / 1000;
    rates.push((2 * src.byteLength) / s / 1e9);
  }
  return median(rates);
}

/** GFLOP/s (2 flops per multiply-add) of an n x n float32 MatMul through onnxruntime. */
export async function measureMatmul(n = 1024, runs = 5, threads?: number): Promise<number> {
  const bytes = buildModel({
    name: 'matmul',
    nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }],
    inputs: [valueInfo('A', DataType.FLOAT, [n, n]), valueInfo('B', DataType.FLOAT, [n, n])],
    outputs: [valueInfo('C', DataType.FLOAT, [n, n])],
  });
  const session = await ort.InferenceSession.create(bytes, threads ? { intraOpNumThreads: threads } : {});
  const a = new ort.Tensor('float32', new Float32Array(n * n).fill(0.5), [n, n]);
  const b = new ort.Tensor('float32', new Float32Array(n * n).fill(0.25), [n, n]);
  await session.run({ A: a, B: b });
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await session.run({ A: a, B: b });
    rates.push((2 * n * n * n) / ((performance.now() - t) / 1000) / 1e9);
  }
  await session.release();
  return median(rates);
}
