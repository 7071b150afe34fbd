/**
 * Inversion of symmetric positive definite matrices by a recursive Cholesky factorisation,
 * with the heavy part as batched MatMuls over cells in onnxruntime.
 *
 * ONNX has no inverse; ORT's contrib `com.microsoft.Inverse` is an LU with partial pivoting,
 * one matrix at a time, several times below the machine's MatMul rate at d=550. A covariance
 * plus eps I is SPD: it needs no pivoting. Recursion on halves (cut at a multiple of
 * BLOCK_DIMS), computing W = L^-1 for A = L L^T:
 *
 *   W11 = factor(A11)                                   (recursion)
 *   L21 = A21 W11^T,  S = A22 - L21 L21^T               (split graph: batched MatMuls)
 *   W22 = factor(S)                                     (recursion)
 *   W = [W11 0; W21 W22],  W21 = -W22 L21 W11           (join graph)
 *
 * with the leaves (at most BLOCK_DIMS) factored in float64 JavaScript, and at the end
 * A^-1 = W^T W, a Gram product in one batched MatMul. About d^3 multiply-adds in all, like
 * LU inversion, but at the MatMul rate. Forward error is about cond(A) times the unit
 * roundoff, as for LU; inverting by Schur complements instead (A^-1 from A11^-1 and S^-1)
 * loses about cond(A) more digits, which was tried and measured first. The MatMuls run in
 * the arithmetic chosen (float32 or float64), the leaves always in float64.
 */
import * as ort from 'onnxruntime-node';
import { buildModel, DataType, int64Tensor, valueInfo } from '../onnx';
import type { CellSquares } from './shapes';

/** Largest leaf: the JavaScript part is about cells * d * BLOCK_DIMS^2 / 2 multiply-adds. */
export const BLOCK_DIMS = 32;

export type RealType = 'float32' | 'float64';
type Real = Float32Array | Float64Array;

function code(type: RealType): typeof DataType.FLOAT | typeof DataType.DOUBLE {
  return type === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
}

/**
 * The split step on A [C, n, n] with W11 = L11^-1 [C, h, h] known: L21 = A21 W11^T and the
 * Schur complement S = A22 - L21 L21^T, both [C, n-h, .]. H is [h, h] (int64), where to cut.
 */
export function choleskySplitGraph(type: RealType): Uint8Array {
  const t = code(type);
  return buildModel({
    name: 'cholesky-split',
    nodes: [
      { op: 'Slice', inputs: ['A', 'lowStart', 'lowEnd', 'axes'], outputs: ['A21'] },
      { op: 'Slice', inputs: ['A', 'H', 'end', 'axes'], outputs: ['A22'] },
      { op: 'Transpose', inputs: ['W11'], outputs: ['W11t'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['A21', 'W11t'], outputs: ['L21'] },
      { op: 'Transpose', inputs: ['L21'], outputs: ['L21t'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['L21', 'L21t'], outputs: ['G'] },
      { op: 'Sub', inputs: ['A22', 'G'], outputs: ['S'] },
    ],
    initializers: [
      int64Tensor('axes', [2], [1, 2]),
      int64Tensor('end', [2], [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]),
    ],
    inputs: [
      valueInfo('A', t, ['C', 'n', 'n']),
      valueInfo('W11', t, ['C', 'h', 'h']),
      valueInfo('H', DataType.INT64, [2]),
      // [h, 0] and [n, h]: the lower left block
      valueInfo('lowStart', DataType.INT64, [2]),
      valueInfo('lowEnd', DataType.INT64, [2]),
    ],
    outputs: [valueInfo('L21', t, ['C', 'r', 'h']), valueInfo('S', t, ['C', 'r', 'r'])],
  });
}

/** The join step: W = [W11 0; W21 W22] = L^-1 from the halves', W21 = -W22 L21 W11. */
export function choleskyJoinGraph(type: RealType): Uint8Array {
  const t = code(type);
  return buildModel({
    name: 'cholesky-join',
    nodes: [
      { op: 'MatMul', inputs: ['L21', 'W11'], outputs: ['LW'] },
      { op: 'MatMul', inputs: ['W22', 'LW'], outputs: ['nW21'] },
      { op: 'Neg', inputs: ['nW21'], outputs: ['W21'] },
      { op: 'Transpose', inputs: ['W21'], outputs: ['W21t'], attributes: { perm: [0, 2, 1] } },
      // zeros of the upper right block's shape
      { op: 'Mul', inputs: ['W21t', 'zero'], outputs: ['Z'] },
      { op: 'Concat', inputs: ['W11', 'Z'], outputs: ['Wtop'], attributes: { axis: 2 } },
      { op: 'Concat', inputs: ['W21', 'W22'], outputs: ['Wbottom'], attributes: { axis: 2 } },
      { op: 'Concat', inputs: ['Wtop', 'Wbottom'], outputs: ['W'], attributes: { axis: 1 } },
    ],
    initializers: [
      type === 'float64'
        ? { name: 'zero', dataType: DataType.DOUBLE, dims: [], doubleData: [0] }
        : { name: 'zero', dataType: DataType.FLOAT, dims: [], floatData: [0] },
    ],
    inputs: [
      valueInfo('W11', t, ['C', 'h', 'h']),
      valueInfo('W22', t, ['C', 'r', 'r']),
      valueInfo('L21', t, ['C', 'r', 'h']),
    ],
    outputs: [valueInfo('W', t, ['C', 'n', 'n'])],
  });
}

/** P = W^T W: the inverse of A = L L^T from W = L^-1 (a Gram product: no cancellation). */
export function gramGraph(type: RealType): Uint8Array {
  const t = code(type);
  return buildModel({
    name: 'gram',
    nodes: [
      { op: 'Transpose', inputs: ['W'], outputs: ['Wt'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['Wt', 'W'], outputs: ['P'] },
    ],
    inputs: [valueInfo('W', t, ['C', 'n', 'n'])],
    outputs: [valueInfo('P', t, ['C', 'n', 'n'])],
  });
}

/**
 * Cholesky factor and its inverse of one b x b block (float64, in place in `l`, `w`: both
 * row-major b x b, lower triangles written, upper left zero). Throws where the block is not
 * positive definite: the caller's covariance was not SPD in the arithmetic used.
 */
export function choleskyBlock(a: Float64Array, b: number, l: Float64Array, w: Float64Array): void {
  l.fill(0);
  w.fill(0);
  for (let j = 0; j < b; j++) {
    let s = a[j * b + j];
    for (let k = 0; k < j; k++) s -= l[j * b + k] * l[j * b + k];
    if (!(s > 0)) throw new Error(`matrix is not positive definite (pivot ${j}: ${s})`);
    const ljj = Math.sqrt(s);
    l[j * b + j] = ljj;
    for (let i = j + 1; i < b; i++) {
      let v = a[i * b + j];
      for (let k = 0; k < j; k++) v -= l[i * b + k] * l[j * b + k];
      l[i * b + j] = v / ljj;
    }
  }
  // W = L^-1, column by column (forward substitution on unit vectors)
  for (let j = 0; j < b; j++) {
    w[j * b + j] = 1 / l[j * b + j];
    for (let i = j + 1; i < b; i++) {
      let v = 0;
      for (let k = j; k < i; k++) v -= l[i * b + k] * w[k * b + j];
      w[i * b + j] = v / l[i * b + i];
    }
  }
}

export interface CholeskySessions {
  split: ort.InferenceSession;
  join: ort.InferenceSession;
  gram: ort.InferenceSession;
}

type Make = (n: number) => Real;

/** The leaves: Cholesky and its inverse per cell, in float64. */
function leaf(a: CellSquares<Real>, make: Make): Real {
  const { data, cells, dims: n } = a;
  const w = make(cells * n * n);
  const block = new Float64Array(n * n);
  const lkk = new Float64Array(n * n);
  const wkk = new Float64Array(n * n);
  for (let c = 0; c < cells; c++) {
    const base = c * n * n;
    for (let i = 0; i < n * n; i++) block[i] = data[base + i];
    try {
      choleskyBlock(block, n, lkk, wkk);
    } catch (err) {
      throw new Error(`cell ${c} of the chunk: ${(err as Error).message}`);
    }
    w.set(wkk, base);
  }
  return w;
}

/** The top left h x h block of each of the cells' n x n matrices, dense. */
function topLeft(a: CellSquares<Real>, h: number, make: Make): CellSquares<Real> {
  const { data, cells, dims: n } = a;
  const out = make(cells * h * h);
  for (let c = 0; c < cells; c++)
    for (let i = 0; i < h; i++)
      out.set(data.subarray(c * n * n + i * n, c * n * n + i * n + h), (c * h + i) * h);
  return { data: out, cells, dims: h };
}

/** W = L^-1 for A = L L^T, each of the cells' n x n matrices, by recursion on halves. */
async function inverseFactor(a: CellSquares<Real>, sessions: CholeskySessions, block: number): Promise<Real> {
  const { data, cells, dims: n } = a;
  const make: Make = (k) => (data instanceof Float64Array ? new Float64Array(k) : new Float32Array(k));
  const blocks = Math.ceil(n / block);
  if (blocks <= 1) return leaf(a, make);
  const type: RealType = data instanceof Float64Array ? 'float64' : 'float32';
  const h = Math.ceil(blocks / 2) * block;
  const w11 = await inverseFactor(topLeft(a, h, make), sessions, block);
  const int64 = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [2]);
  const split = await sessions.split.run({
    A: new ort.Tensor(type, data, [cells, n, n]),
    W11: new ort.Tensor(type, w11, [cells, h, h]),
    H: int64([h, h]),
    lowStart: int64([h, 0]),
    lowEnd: int64([n, h]),
  });
  const r = n - h;
  const w22 = await inverseFactor({ data: split.S.data as Real, cells, dims: r }, sessions, block);
  const joined = await sessions.join.run({
    W11: new ort.Tensor(type, w11, [cells, h, h]),
    W22: new ort.Tensor(type, w22, [cells, r, r]),
    L21: split.L21,
  });
  return joined.W.data as Real;
}

/**
 * The inverse of each SPD matrix of `a` ([cells, dims, dims], either arithmetic), written over
 * `a.data`; returns the factor W = L^-1 (lower triangular, P = W^T W), which compact storage
 * keeps: recursive Cholesky on halves (block boundaries at multiples of `block`), each level's
 * products batched over the cells in onnxruntime, the leaves in float64 JavaScript, then
 * A^-1 = W^T W in one batched MatMul.
 */
export async function choleskyInverse(
  a: CellSquares<Real>,
  sessions: CholeskySessions,
  block = BLOCK_DIMS,
): Promise<Real> {
  const type: RealType = a.data instanceof Float64Array ? 'float64' : 'float32';
  const w = await inverseFactor(a, sessions, block);
  const dims = [a.cells, a.dims, a.dims];
  await sessions.gram.run({ W: new ort.Tensor(type, w, dims) }, { P: new ort.Tensor(type, a.data, dims) });
  return w;
}
