/**
 * The heavy linear algebra of PaDiM, as small ONNX graphs run by onnxruntime. Every
 * operation works on a block of grid cells at once ([cells, ...] leading dimension), so
 * onnxruntime's multi-threaded batched MatMul does the work, on CPU or a GPU provider.
 *
 * - mahalanobis: X [C, B, d], mu [C, 1, d], P [C, d, d] -> sqrt(max(0, (x-mu)^T P (x-mu)))  [C, B]
 * - project:     X [N, D] @ W [D, d]         -> [N, d]
 * - sandwich:    W [C, d, m], P [C, d, d]    -> W^T P W          [C, m, m]
 * - accumulate:  S2 [C, p] float64, X [C, B, d] -> S2 + upper triangle of X^T X  (p = d(d+1)/2)
 * - precision:   sums of a fit -> (covariance + eps I)^-1 and the co-moments, see precisionGraph
 *                (inversion by ORT's contrib op com.microsoft.Inverse, LU with partial pivoting:
 *                ONNX has no standard inverse)
 *
 * Symmetric matrices are kept as packed upper triangles (row i holds columns i..d-1); the
 * graphs move between packed and full layouts with Gather and index tensors made here.
 */
import * as ort from 'onnxruntime-node';
import { buildModel, DataType, floatTensor, int64Tensor, valueInfo, type DataTypeCode } from './onnx-builder';
import type { ProviderName } from './types';

export interface LinalgOptions {
  threads?: number;
  provider?: ProviderName;
}

function mahalanobisGraph(): Uint8Array {
  return buildModel({
    name: 'mahalanobis',
    nodes: [
      { op: 'Sub', inputs: ['X', 'MU'], outputs: ['D'] },
      { op: 'MatMul', inputs: ['D', 'P'], outputs: ['DP'] },
      { op: 'Mul', inputs: ['DP', 'D'], outputs: ['Q'] },
      { op: 'ReduceSum', inputs: ['Q', 'lastAxis'], outputs: ['S'], attributes: { keepdims: 0 } },
      // rounding can make a tiny quadratic form negative: clamp before the square root
      { op: 'Relu', inputs: ['S'], outputs: ['S0'] },
      { op: 'Sqrt', inputs: ['S0'], outputs: ['M'] },
    ],
    initializers: [int64Tensor('lastAxis', [1], [-1])],
    inputs: [
      valueInfo('X', DataType.FLOAT, ['C', 'B', 'd']),
      valueInfo('MU', DataType.FLOAT, ['C', 1, 'd']),
      valueInfo('P', DataType.FLOAT, ['C', 'd', 'd']),
    ],
    outputs: [valueInfo('M', DataType.FLOAT, ['C', 'B'])],
  });
}

function projectGraph(): Uint8Array {
  return buildModel({
    name: 'project',
    nodes: [{ op: 'MatMul', inputs: ['X', 'W'], outputs: ['Y'] }],
    inputs: [valueInfo('X', DataType.FLOAT, ['N', 'D']), valueInfo('W', DataType.FLOAT, ['D', 'd'])],
    outputs: [valueInfo('Y', DataType.FLOAT, ['N', 'd'])],
  });
}

function sandwichGraph(): Uint8Array {
  return buildModel({
    name: 'sandwich',
    nodes: [
      { op: 'Transpose', inputs: ['W'], outputs: ['Wt'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['Wt', 'P'], outputs: ['WtP'] },
      { op: 'MatMul', inputs: ['WtP', 'W'], outputs: ['G'] },
    ],
    inputs: [
      valueInfo('W', DataType.FLOAT, ['C', 'd', 'm']),
      valueInfo('P', DataType.FLOAT, ['C', 'd', 'd']),
    ],
    outputs: [valueInfo('G', DataType.FLOAT, ['C', 'm', 'm'])],
  });
}

/** S2 + packed upper triangle of X^T X, accumulated in float64. */
function accumulateGraph(): Uint8Array {
  return buildModel({
    name: 'accumulate',
    nodes: [
      { op: 'Transpose', inputs: ['X'], outputs: ['Xt'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['Xt', 'X'], outputs: ['G'] },
      { op: 'Reshape', inputs: ['G', 'flat'], outputs: ['Gf'] },
      { op: 'Gather', inputs: ['Gf', 'UPPER'], outputs: ['Gp'], attributes: { axis: 1 } },
      { op: 'Cast', inputs: ['Gp'], outputs: ['Gd'], attributes: { to: DataType.DOUBLE } },
      { op: 'Add', inputs: ['S2', 'Gd'], outputs: ['S2out'] },
    ],
    initializers: [int64Tensor('flat', [2], [0, -1])],
    inputs: [
      valueInfo('S2', DataType.DOUBLE, ['C', 'p']),
      valueInfo('X', DataType.FLOAT, ['C', 'B', 'd']),
      valueInfo('UPPER', DataType.INT64, ['p']),
    ],
    outputs: [valueInfo('S2out', DataType.DOUBLE, ['C', 'p'])],
  });
}

/**
 * From the sums of a fit to what scoring needs, per cell:
 *   M2 = S2 - S1 S1^T / n                         co-moment (output, packed, float32)
 *   A  = M2 / (n-1) + eps I                        regularised covariance
 *   P  = D (D A D)^-1 D,  D = diag(A)^-1/2         inverse; the scaling to unit diagonal keeps
 *                                                  the inversion accurate when channel variances
 *                                                  differ by orders of magnitude
 * P is symmetrised ((P + P^T) / 2: LU inversion is not exactly symmetric) and returned full,
 * float32. The inversion runs in float64 or float32 (`inverseType`).
 */
function precisionGraph(inverseType: DataTypeCode): Uint8Array {
  const wide = inverseType === DataType.DOUBLE;
  const t = (name: string) => (wide ? name : `${name}_32`);
  const cast = (name: string) => ({
    op: 'Cast',
    inputs: [name],
    outputs: [`${name}_32`],
    attributes: { to: DataType.FLOAT },
  });
  return buildModel({
    name: 'precision',
    nodes: [
      { op: 'Unsqueeze', inputs: ['S1', 'axis2'], outputs: ['S1col'] },
      { op: 'Unsqueeze', inputs: ['S1', 'axis1'], outputs: ['S1row'] },
      { op: 'MatMul', inputs: ['S1col', 'S1row'], outputs: ['outer'] },
      { op: 'Reshape', inputs: ['outer', 'flat'], outputs: ['outerFlat'] },
      { op: 'Gather', inputs: ['outerFlat', 'UPPER'], outputs: ['outerPacked'], attributes: { axis: 1 } },
      { op: 'Mul', inputs: ['outerPacked', 'INV_N'], outputs: ['correction'] },
      { op: 'Sub', inputs: ['S2', 'correction'], outputs: ['M2'] },
      { op: 'Cast', inputs: ['M2'], outputs: ['COMOMENT'], attributes: { to: DataType.FLOAT } },
      { op: 'Gather', inputs: ['M2', 'FULL'], outputs: ['M2full'], attributes: { axis: 1 } },
      { op: 'Mul', inputs: ['M2full', 'INV_N1'], outputs: ['covFlat'] },
      { op: 'Add', inputs: ['covFlat', 'EPS_I'], outputs: ['aFlat'] },
      { op: 'Gather', inputs: ['aFlat', 'DIAG'], outputs: ['diag'], attributes: { axis: 1 } },
      { op: 'Sqrt', inputs: ['diag'], outputs: ['sd'] },
      { op: 'Reciprocal', inputs: ['sd'], outputs: ['scale'] },
      { op: 'Unsqueeze', inputs: ['scale', 'axis2'], outputs: ['scaleCol'] },
      { op: 'Unsqueeze', inputs: ['scale', 'axis1'], outputs: ['scaleRow'] },
      { op: 'Mul', inputs: ['scaleCol', 'scaleRow'], outputs: ['scales'] },
      { op: 'Reshape', inputs: ['aFlat', 'SHAPE'], outputs: ['a'] },
      { op: 'Mul', inputs: ['a', 'scales'], outputs: ['aScaled'] },
      ...(wide ? [] : [cast('aScaled'), cast('scales')]),
      { op: 'Inverse', domain: 'com.microsoft', inputs: [t('aScaled')], outputs: ['inv'] },
      { op: 'Mul', inputs: ['inv', t('scales')], outputs: ['p'] },
      { op: 'Transpose', inputs: ['p'], outputs: ['pT'], attributes: { perm: [0, 2, 1] } },
      { op: 'Add', inputs: ['p', 'pT'], outputs: ['p2'] },
      { op: 'Mul', inputs: ['p2', wide ? 'half' : 'half_32'], outputs: wide ? ['pSym'] : ['PRECISION'] },
      ...(wide
        ? [{ op: 'Cast', inputs: ['pSym'], outputs: ['PRECISION'], attributes: { to: DataType.FLOAT } }]
        : []),
    ],
    initializers: [
      int64Tensor('flat', [2], [0, -1]),
      int64Tensor('axis1', [1], [1]),
      int64Tensor('axis2', [1], [2]),
      wide
        ? { name: 'half', dataType: DataType.DOUBLE, dims: [], doubleData: [0.5] }
        : floatTensor('half_32', [], [0.5]),
    ],
    inputs: [
      valueInfo('S2', DataType.DOUBLE, ['C', 'p']),
      valueInfo('S1', DataType.DOUBLE, ['C', 'd']),
      valueInfo('INV_N', DataType.DOUBLE, [1]),
      valueInfo('INV_N1', DataType.DOUBLE, [1]),
      valueInfo('EPS_I', DataType.DOUBLE, ['dd']),
      valueInfo('UPPER', DataType.INT64, ['p']),
      valueInfo('FULL', DataType.INT64, ['dd']),
      valueInfo('DIAG', DataType.INT64, ['d']),
      valueInfo('SHAPE', DataType.INT64, [3]),
    ],
    outputs: [
      valueInfo('PRECISION', DataType.FLOAT, ['C', 'd', 'd']),
      valueInfo('COMOMENT', DataType.FLOAT, ['C', 'p']),
    ],
    extraOpsets: { 'com.microsoft': 1 },
  });
}

/** Index tensors that move a d x d symmetric matrix between full and packed layouts. */
interface PackingIndices {
  /** full row-major position of each packed entry, [p] */
  upper: ort.Tensor;
  /** packed position of each full entry (i, j) -> (min, max), [d*d] */
  full: ort.Tensor;
  /** full position of each diagonal entry, [d] */
  diag: ort.Tensor;
  shape: ort.Tensor;
}

function packingIndices(d: number): PackingIndices {
  const p = (d * (d + 1)) / 2;
  const upper = new BigInt64Array(p);
  const packedAt = new Int32Array(d * d);
  let q = 0;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++, q++) {
      upper[q] = BigInt(i * d + j);
      packedAt[i * d + j] = q;
      packedAt[j * d + i] = q;
    }
  }
  return {
    upper: new ort.Tensor('int64', upper, [p]),
    full: new ort.Tensor(
      'int64',
      BigInt64Array.from(packedAt, (v) => BigInt(v)),
      [d * d],
    ),
    diag: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: d }, (_, i) => BigInt(i * d + i)),
      [d],
    ),
    shape: new ort.Tensor('int64', BigInt64Array.from([0n, BigInt(d), BigInt(d)]), [3]),
  };
}

type HeadName = 'mahalanobis' | 'project' | 'sandwich' | 'accumulate' | 'precision32' | 'precision64';

const GRAPHS: Record<HeadName, () => Uint8Array> = {
  mahalanobis: mahalanobisGraph,
  project: projectGraph,
  sandwich: sandwichGraph,
  accumulate: accumulateGraph,
  precision32: () => precisionGraph(DataType.FLOAT),
  precision64: () => precisionGraph(DataType.DOUBLE),
};

/** Heads with the contrib Inverse op run on CPU whatever the provider. */
const CPU_ONLY: ReadonlySet<HeadName> = new Set(['precision32', 'precision64']);

/**
 * Lazily created onnxruntime sessions for the heads. One instance per model user; call
 * `dispose()` to release the native sessions.
 */
export class BatchedLinalg {
  private readonly sessions = new Map<HeadName, Promise<ort.InferenceSession>>();
  private readonly indices = new Map<number, PackingIndices>();

  constructor(private readonly options: LinalgOptions = {}) {}

  private session(name: HeadName): Promise<ort.InferenceSession> {
    let s = this.sessions.get(name);
    if (!s) {
      const opts: ort.InferenceSession.SessionOptions = {
        executionProviders: [this.options.provider && !CPU_ONLY.has(name) ? this.options.provider : 'cpu'],
        graphOptimizationLevel: 'all',
        // large, varying intermediates: give memory back rather than keep an arena at its peak
        enableCpuMemArena: false,
      };
      if (this.options.threads) opts.intraOpNumThreads = this.options.threads;
      s = ort.InferenceSession.create(GRAPHS[name](), opts);
      this.sessions.set(name, s);
    }
    return s;
  }

  /** Mahalanobis distance per cell and image: result [C, B]. */
  async mahalanobis(
    x: Float32Array,
    mu: Float32Array,
    precision: Float32Array,
    cells: number,
    batch: number,
    dims: number,
  ): Promise<Float32Array> {
    const s = await this.session('mahalanobis');
    const out = await s.run({
      X: new ort.Tensor('float32', x, [cells, batch, dims]),
      MU: new ort.Tensor('float32', mu, [cells, 1, dims]),
      P: new ort.Tensor('float32', precision, [cells, dims, dims]),
    });
    return out.M.data as Float32Array;
  }

  /** Row-major product X [n, D] @ W [D, d]. */
  async project(x: Float32Array, n: number, w: Float32Array, bigD: number, d: number): Promise<Float32Array> {
    const s = await this.session('project');
    const out = await s.run({
      X: new ort.Tensor('float32', x, [n, bigD]),
      W: new ort.Tensor('float32', w, [bigD, d]),
    });
    return out.Y.data as Float32Array;
  }

  private packing(d: number): PackingIndices {
    let idx = this.indices.get(d);
    if (!idx) {
      idx = packingIndices(d);
      this.indices.set(d, idx);
    }
    return idx;
  }

  /** s2 + packed upper triangle of X^T X per cell: X is [C, B, d], s2 [C, p] float64. */
  async accumulate(
    s2: Float64Array,
    x: Float32Array,
    cells: number,
    batch: number,
    dims: number,
  ): Promise<Float64Array> {
    const s = await this.session('accumulate');
    const out = await s.run({
      S2: new ort.Tensor('float64', s2, [cells, s2.length / cells]),
      X: new ort.Tensor('float32', x, [cells, batch, dims]),
      UPPER: this.packing(dims).upper,
    });
    return out.S2out.data as Float64Array;
  }

  /**
   * Inverse covariances and co-moments from the sums of n images (see precisionGraph):
   * s2 [C, p] and s1 [C, d] float64. To invert a known co-moment, pass it as s2 with s1 = 0.
   */
  async precision(
    s2: Float64Array,
    s1: Float64Array,
    n: number,
    eps: number,
    cells: number,
    dims: number,
    inverseType: 'float32' | 'float64',
  ): Promise<{ precision: Float32Array; comoment: Float32Array }> {
    const s = await this.session(inverseType === 'float64' ? 'precision64' : 'precision32');
    const idx = this.packing(dims);
    const epsI = new Float64Array(dims * dims);
    for (let i = 0; i < dims; i++) epsI[i * dims + i] = eps;
    const out = await s.run({
      S2: new ort.Tensor('float64', s2, [cells, s2.length / cells]),
      S1: new ort.Tensor('float64', s1, [cells, dims]),
      INV_N: new ort.Tensor('float64', Float64Array.of(1 / n), [1]),
      INV_N1: new ort.Tensor('float64', Float64Array.of(1 / (n - 1)), [1]),
      EPS_I: new ort.Tensor('float64', epsI, [dims * dims]),
      UPPER: idx.upper,
      FULL: idx.full,
      DIAG: idx.diag,
      SHAPE: idx.shape,
    });
    return { precision: out.PRECISION.data as Float32Array, comoment: out.COMOMENT.data as Float32Array };
  }

  /** W^T P W per cell: W is [C, d, m], P [C, d, d]; result [C, m, m]. */
  async sandwich(
    w: Float32Array,
    precision: Float32Array,
    cells: number,
    dims: number,
    m: number,
  ): Promise<Float32Array> {
    const s = await this.session('sandwich');
    const out = await s.run({
      W: new ort.Tensor('float32', w, [cells, dims, m]),
      P: new ort.Tensor('float32', precision, [cells, dims, dims]),
    });
    return out.G.data as Float32Array;
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const p of all) {
      try {
        await (await p).release();
      } catch {
        // a session that failed to start has nothing to release
      }
    }
  }
}
