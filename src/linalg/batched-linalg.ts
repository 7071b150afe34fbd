/**
 * The heavy linear algebra of PaDiM, as small ONNX graphs run by onnxruntime. Every
 * operation works on a block of grid cells at once ([cells, ...] leading dimension), so
 * onnxruntime's multi-threaded batched MatMul does the work, on CPU or a GPU provider.
 *
 * - mahalanobis: X [C, B, d], mu [C, 1, d], P [C, d, d] -> sqrt(max(0, (x-mu)^T P (x-mu)))  [C, B]
 * - project:     X [N, D] @ W [D, d]         -> [N, d]
 * - sandwich:    W [C, d, m], P [C, d, d]    -> W^T P W          [C, m, m]
 * - accumulate:  S2 [C, d, d], X [C, B, d]   -> S2 + X^T X
 * - precision:   sums of a fit -> (covariance + eps I)^-1 and the co-moments, see precisionGraph
 *                (inversion by ORT's contrib op com.microsoft.Inverse, LU with partial pivoting:
 *                ONNX has no standard inverse)
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { compactFactor, type CompactStorage } from '../model/precision-storage';

/** One chunk's compact factor (precision-storage/). */
export interface CompactChunk {
  values: Uint16Array | Int8Array;
  rowScales?: Float32Array;
}
import {
  buildModel,
  DataType,
  floatTensor,
  int64Tensor,
  valueInfo,
  type DataTypeCode,
  type NodeSpec,
} from '../onnx';
import type { ProviderName } from '../types';
import type { CellBatch, CellMatrices, Matrix } from './shapes';
import {
  choleskyInverse,
  choleskyJoinGraph,
  choleskySplitGraph,
  gramGraph,
  type CholeskySessions,
  type RealType,
} from './block-inverse';

/**
 * How covariances are inverted: 'lu', ORT's contrib Inverse (LU with partial pivoting, one
 * matrix at a time); 'cholesky', blocked Cholesky with batched MatMuls (block-inverse.ts).
 */
export type InverseMethod = 'lu' | 'cholesky';

export interface LinalgOptions {
  threads?: number;
  provider?: ProviderName;
}

/**
 * sqrt(max(0, (x-mu)^T P (x-mu))) per cell and image. Two arrangements of the same product,
 * because onnxruntime's matrix product copies ("packs") its right-hand operand: for one image
 * D P reads P once, as fast as memory allows; for a batch, P D^T packs only the small D^T and
 * streams P as the left operand, about twice as fast per image at d=550.
 */
function mahalanobisGraph(precisionOnLeft: boolean): Uint8Array {
  const product: NodeSpec[] = precisionOnLeft
    ? [
        { op: 'Transpose', inputs: ['D'], outputs: ['Dt'], attributes: { perm: [0, 2, 1] } },
        { op: 'MatMul', inputs: ['P', 'Dt'], outputs: ['PD'] },
        { op: 'Mul', inputs: ['PD', 'Dt'], outputs: ['Q'] },
        { op: 'ReduceSum', inputs: ['Q', 'axis1'], outputs: ['S'], attributes: { keepdims: 0 } },
      ]
    : [
        { op: 'MatMul', inputs: ['D', 'P'], outputs: ['DP'] },
        { op: 'Mul', inputs: ['DP', 'D'], outputs: ['Q'] },
        { op: 'ReduceSum', inputs: ['Q', 'lastAxis'], outputs: ['S'], attributes: { keepdims: 0 } },
      ];
  return buildModel({
    name: 'mahalanobis',
    nodes: [
      { op: 'Sub', inputs: ['X', 'MU'], outputs: ['D'] },
      ...product,
      // rounding can make a tiny quadratic form negative: clamp before the square root
      { op: 'Relu', inputs: ['S'], outputs: ['S0'] },
      { op: 'Sqrt', inputs: ['S0'], outputs: ['M'] },
    ],
    initializers: [precisionOnLeft ? int64Tensor('axis1', [1], [1]) : int64Tensor('lastAxis', [1], [-1])],
    inputs: [
      valueInfo('X', DataType.FLOAT, ['C', 'B', 'd']),
      valueInfo('MU', DataType.FLOAT, ['C', 1, 'd']),
      valueInfo('P', DataType.FLOAT, ['C', 'd', 'd']),
    ],
    outputs: [valueInfo('M', DataType.FLOAT, ['C', 'B'])],
  });
}

/**
 * Distances from a compact factor (precision-storage/): sqrt(|W (x - mu)|^2) per cell and
 * image, W [C, d, d] lower triangular in float16 or int8 (with row scales RS [C, d]). For
 * int8, x - mu is quantised per cell and image to int8 (scale: its largest magnitude / 127)
 * and multiplied by onnxruntime's integer product as stored (exact int32 sums). float16 is
 * widened to float32 one chunk at a time inside the graph (a transient of one chunk, never
 * the model), then multiplied in float32.
 */
function factorDistanceGraph(storage: CompactStorage): Uint8Array {
  const common: NodeSpec[] = [{ op: 'Sub', inputs: ['X', 'MU'], outputs: ['D'] }];
  const tail: NodeSpec[] = [
    { op: 'Mul', inputs: ['Y', 'Y'], outputs: ['Q'] },
    { op: 'ReduceSum', inputs: ['Q', 'axis1'], outputs: ['S'], attributes: { keepdims: 0 } },
    { op: 'Sqrt', inputs: ['S'], outputs: ['M'] },
  ];
  const half = storage === 'float16';
  const product: NodeSpec[] = half
    ? [
        // onnxruntime's CPU float16 MatMul is several times slower than widening one chunk
        // of W and using the float32 product (measured: bench/precision-head.ts)
        { op: 'Transpose', inputs: ['D'], outputs: ['Dt'], attributes: { perm: [0, 2, 1] } },
        { op: 'Cast', inputs: ['W'], outputs: ['W32'], attributes: { to: DataType.FLOAT } },
        { op: 'MatMul', inputs: ['W32', 'Dt'], outputs: ['Y'] },
      ]
    : [
        { op: 'Abs', inputs: ['D'], outputs: ['absD'] },
        { op: 'ReduceMax', inputs: ['absD'], outputs: ['maxD'], attributes: { axes: [2], keepdims: 1 } },
        // an all-zero difference must not divide by zero
        { op: 'Max', inputs: ['maxD', 'tiny'], outputs: ['maxD0'] },
        { op: 'Div', inputs: ['maxD0', 'levels'], outputs: ['scaleD'] },
        { op: 'Div', inputs: ['D', 'scaleD'], outputs: ['Dn'] },
        { op: 'Round', inputs: ['Dn'], outputs: ['Dr'] },
        { op: 'Cast', inputs: ['Dr'], outputs: ['Dq'], attributes: { to: DataType.INT8 } },
        { op: 'Transpose', inputs: ['Dq'], outputs: ['Dqt'], attributes: { perm: [0, 2, 1] } },
        { op: 'MatMulInteger', inputs: ['W', 'Dqt'], outputs: ['Yi'] },
        { op: 'Cast', inputs: ['Yi'], outputs: ['Yf'], attributes: { to: DataType.FLOAT } },
        { op: 'Unsqueeze', inputs: ['RS', 'axis2'], outputs: ['RScol'] },
        { op: 'Transpose', inputs: ['scaleD'], outputs: ['scaleDrow'], attributes: { perm: [0, 2, 1] } },
        { op: 'Mul', inputs: ['RScol', 'scaleDrow'], outputs: ['scales'] },
        { op: 'Mul', inputs: ['Yf', 'scales'], outputs: ['Y'] },
      ];
  return buildModel({
    name: `factor-distance-${storage}`,
    nodes: [...common, ...product, ...tail],
    initializers: [
      int64Tensor('axis1', [1], [1]),
      ...(half
        ? []
        : [
            int64Tensor('axis2', [1], [2]),
            floatTensor('tiny', [], [1e-30]),
            floatTensor('levels', [], [127]),
          ]),
    ],
    inputs: [
      valueInfo('X', DataType.FLOAT, ['C', 'B', 'd']),
      valueInfo('MU', DataType.FLOAT, ['C', 1, 'd']),
      valueInfo('W', half ? DataType.FLOAT16 : DataType.INT8, ['C', 'd', 'd']),
      ...(half ? [] : [valueInfo('RS', DataType.FLOAT, ['C', 'd'])]),
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

/** S2 + X^T X per cell (float32: the values are centred on a per-cell shift, see gaussian.ts). */
function accumulateGraph(): Uint8Array {
  return buildModel({
    name: 'accumulate',
    nodes: [
      { op: 'Transpose', inputs: ['X'], outputs: ['Xt'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['Xt', 'X'], outputs: ['G'] },
      { op: 'Add', inputs: ['S2', 'G'], outputs: ['S2out'] },
    ],
    inputs: [
      valueInfo('S2', DataType.FLOAT, ['C', 'd', 'd']),
      valueInfo('X', DataType.FLOAT, ['C', 'B', 'd']),
    ],
    outputs: [valueInfo('S2out', DataType.FLOAT, ['C', 'd', 'd'])],
  });
}

/**
 * From the sums of a fit to what scoring needs, per cell (S2 and S1 are sums of centred
 * values, so the subtraction below does not cancel badly):
 *   M2 = S2 - S1 S1^T / n                         co-moment (output as packed upper triangles,
 *                                                  p = d(d+1)/2; S1 comes divided by sqrt(n))
 *   A  = M2 / (n-1) + eps I                        regularised covariance
 *   P  = D (D A D)^-1 D,  D = diag(A)^-1/2         inverse; the scaling to unit diagonal keeps
 *                                                  the inversion accurate when channel variances
 *                                                  differ by orders of magnitude
 * P is symmetrised ((P + P^T) / 2: LU inversion is not exactly symmetric). Everything is
 * float32 except the inversion itself, which runs in float64 or float32 (`inverseType`).
 */
function precisionGraph(inverseType: DataTypeCode): Uint8Array {
  const wide = inverseType === DataType.DOUBLE;
  const inverse: NodeSpec[] = wide
    ? [
        { op: 'Cast', inputs: ['aScaled'], outputs: ['aScaled64'], attributes: { to: DataType.DOUBLE } },
        { op: 'Inverse', domain: 'com.microsoft', inputs: ['aScaled64'], outputs: ['inv64'] },
        { op: 'Cast', inputs: ['inv64'], outputs: ['inv'], attributes: { to: DataType.FLOAT } },
      ]
    : [{ op: 'Inverse', domain: 'com.microsoft', inputs: ['aScaled'], outputs: ['inv'] }];
  return buildModel({
    name: 'precision',
    nodes: [
      { op: 'Unsqueeze', inputs: ['S1', 'axis2'], outputs: ['S1col'] },
      { op: 'Unsqueeze', inputs: ['S1', 'axis1'], outputs: ['S1row'] },
      { op: 'MatMul', inputs: ['S1col', 'S1row'], outputs: ['correction'] },
      { op: 'Sub', inputs: ['S2', 'correction'], outputs: ['m2'] },
      { op: 'Reshape', inputs: ['m2', 'flat'], outputs: ['m2Flat'] },
      { op: 'Gather', inputs: ['m2Flat', 'UPPER'], outputs: ['COMOMENT'], attributes: { axis: 1 } },
      { op: 'Mul', inputs: ['m2', 'INV_N1'], outputs: ['cov'] },
      { op: 'Add', inputs: ['cov', 'EPS_I'], outputs: ['a'] },
      { op: 'Reshape', inputs: ['a', 'flat'], outputs: ['aFlat'] },
      { op: 'Gather', inputs: ['aFlat', 'DIAG'], outputs: ['diag'], attributes: { axis: 1 } },
      { op: 'Sqrt', inputs: ['diag'], outputs: ['sd'] },
      { op: 'Reciprocal', inputs: ['sd'], outputs: ['scale'] },
      { op: 'Unsqueeze', inputs: ['scale', 'axis2'], outputs: ['scaleCol'] },
      { op: 'Unsqueeze', inputs: ['scale', 'axis1'], outputs: ['scaleRow'] },
      { op: 'Mul', inputs: ['scaleCol', 'scaleRow'], outputs: ['scales'] },
      { op: 'Mul', inputs: ['a', 'scales'], outputs: ['aScaled'] },
      ...inverse,
      // halve before adding the transpose: (P + P^T) / 2 with one multiplication fewer
      { op: 'Mul', inputs: ['scales', 'half'], outputs: ['halfScales'] },
      { op: 'Mul', inputs: ['inv', 'halfScales'], outputs: ['pHalf'] },
      { op: 'Transpose', inputs: ['pHalf'], outputs: ['pHalfT'], attributes: { perm: [0, 2, 1] } },
      { op: 'Add', inputs: ['pHalf', 'pHalfT'], outputs: ['PRECISION'] },
    ],
    initializers: [
      int64Tensor('flat', [2], [0, -1]),
      int64Tensor('axis1', [1], [1]),
      int64Tensor('axis2', [1], [2]),
      floatTensor('half', [], [0.5]),
    ],
    inputs: [
      valueInfo('S2', DataType.FLOAT, ['C', 'd', 'd']),
      // S1 / sqrt(n), so that its outer product is the correction term directly
      valueInfo('S1', DataType.FLOAT, ['C', 'd']),
      valueInfo('INV_N1', DataType.FLOAT, [1]),
      valueInfo('EPS_I', DataType.FLOAT, ['d', 'd']),
      valueInfo('DIAG', DataType.INT64, ['d']),
      valueInfo('UPPER', DataType.INT64, ['p']),
    ],
    outputs: [
      valueInfo('PRECISION', DataType.FLOAT, ['C', 'd', 'd']),
      valueInfo('COMOMENT', DataType.FLOAT, ['C', 'p']),
    ],
    extraOpsets: { 'com.microsoft': 1 },
  });
}

/**
 * The first steps of precisionGraph without the inversion, for the blocked Cholesky path
 * (block-inverse.ts): the scaled matrix D A D (written over S2), the scale D and the co-moments.
 */
function scaledCovarianceGraph(): Uint8Array {
  const full = onnx.ModelProto.decode(precisionGraph(DataType.FLOAT));
  const graph = full.graph as onnx.IGraphProto;
  const keep = graph.node!.slice(
    0,
    graph.node!.findIndex((n) => n.opType === 'Inverse'),
  );
  graph.node = keep;
  graph.output = [
    valueInfo('aScaled', DataType.FLOAT, ['C', 'd', 'd']),
    valueInfo('scale', DataType.FLOAT, ['C', 'd']),
    valueInfo('COMOMENT', DataType.FLOAT, ['C', 'p']),
  ];
  graph.initializer = graph.initializer!.filter((t) => t.name !== 'half');
  return onnx.ModelProto.encode(full).finish();
}

type HeadName =
  | 'mahalanobis'
  | 'mahalanobisBatch'
  | 'project'
  | 'sandwich'
  | 'accumulate'
  | 'precision32'
  | 'precision64'
  | 'scaledCovariance'
  | 'choleskySplit32'
  | 'choleskySplit64'
  | 'choleskyJoin32'
  | 'choleskyJoin64'
  | 'gram32'
  | 'gram64'
  | 'factorFloat16'
  | 'factorInt8';

const GRAPHS: Record<HeadName, () => Uint8Array> = {
  mahalanobis: () => mahalanobisGraph(false),
  mahalanobisBatch: () => mahalanobisGraph(true),
  project: projectGraph,
  sandwich: sandwichGraph,
  accumulate: accumulateGraph,
  precision32: () => precisionGraph(DataType.FLOAT),
  precision64: () => precisionGraph(DataType.DOUBLE),
  scaledCovariance: scaledCovarianceGraph,
  choleskySplit32: () => choleskySplitGraph('float32'),
  choleskySplit64: () => choleskySplitGraph('float64'),
  choleskyJoin32: () => choleskyJoinGraph('float32'),
  choleskyJoin64: () => choleskyJoinGraph('float64'),
  gram32: () => gramGraph('float32'),
  gram64: () => gramGraph('float64'),
  factorFloat16: () => factorDistanceGraph('float16'),
  factorInt8: () => factorDistanceGraph('int8'),
};

/** Heads with the contrib Inverse op run on CPU whatever the provider. */
const CPU_ONLY: ReadonlySet<HeadName> = new Set(['precision32', 'precision64', 'scaledCovariance']);

/**
 * What precision() inverts: the sums of a fit over `images` images, for one chunk of cells.
 * To invert a known co-moment, pass it as s2 with s1 = 0.
 */
export interface PrecisionRequest {
  /** sum of (x - shift)(x - shift)^T per cell, [cells, dims, dims]; overwritten by the inverse */
  s2: Float32Array;
  /** sum of (x - shift) per cell, [cells, dims] */
  s1: Float32Array;
  cells: number;
  dims: number;
  /** images the sums are over (n: the covariance divides by n - 1) */
  images: number;
  /** added to every covariance diagonal */
  eps: number;
  /** arithmetic of the inversion */
  inverseType: RealType;
  /** default 'lu'; a `factor` implies 'cholesky' */
  method?: InverseMethod;
  /** also return the compact factor of each inverse in this storage */
  factor?: CompactStorage;
}

export interface PrecisionResult {
  /** inverse covariances [cells, dims, dims]: the request's s2 array */
  precision: Float32Array;
  /** co-moments, packed upper triangles [cells, dims (dims + 1) / 2] */
  comoment: Float32Array;
  /** present when the request asked for a factor */
  factor?: CompactChunk;
}

/**
 * Lazily created onnxruntime sessions for the heads. One instance per model user; call
 * `dispose()` to release the native sessions.
 */
export class BatchedLinalg {
  private readonly sessions = new Map<HeadName, Promise<ort.InferenceSession>>();
  private readonly upper = new Map<number, ort.Tensor>();

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
      // PADIM_ORT_PROFILE=<prefix> writes onnxruntime's per-operator trace, for performance work
      if (process.env.PADIM_ORT_PROFILE) {
        opts.enableProfiling = true;
        opts.profileFilePrefix = `${process.env.PADIM_ORT_PROFILE}-${name}`;
      }
      s = ort.InferenceSession.create(GRAPHS[name](), opts);
      this.sessions.set(name, s);
    }
    return s;
  }

  /** Mahalanobis distance per cell and image: x [C, B, d], mu [C, d], precision [C, d, d]; result [C, B]. */
  async mahalanobis(x: CellBatch, mu: Float32Array, precision: Float32Array): Promise<Float32Array> {
    const { cells, batch, dims } = x;
    const s = await this.session(batch === 1 ? 'mahalanobis' : 'mahalanobisBatch');
    const out = await s.run({
      X: new ort.Tensor('float32', x.data, [cells, batch, dims]),
      MU: new ort.Tensor('float32', mu, [cells, 1, dims]),
      P: new ort.Tensor('float32', precision, [cells, dims, dims]),
    });
    return out.M.data as Float32Array;
  }

  /**
   * Mahalanobis distance per cell and image from a compact factor (precision-storage/):
   * x [C, B, d], mu [C, d], the factor's values [C, d, d] as stored and, for int8, its row
   * scales [C, d]; result [C, B].
   */
  async factorDistances(
    x: CellBatch,
    mu: Float32Array,
    factor: CompactChunk & { storage: CompactStorage },
  ): Promise<Float32Array> {
    const { cells, batch, dims } = x;
    const { storage, values: w, rowScales } = factor;
    const s = await this.session(storage === 'float16' ? 'factorFloat16' : 'factorInt8');
    const feeds: Record<string, ort.Tensor> = {
      X: new ort.Tensor('float32', x.data, [cells, batch, dims]),
      MU: new ort.Tensor('float32', mu, [cells, 1, dims]),
      W:
        storage === 'float16'
          ? new ort.Tensor('float16', w as Uint16Array, [cells, dims, dims])
          : new ort.Tensor('int8', w as Int8Array, [cells, dims, dims]),
    };
    if (storage === 'int8') {
      if (!rowScales) throw new Error('internal: an int8 factor needs its row scales');
      feeds.RS = new ort.Tensor('float32', rowScales, [cells, dims]);
    }
    const out = await s.run(feeds);
    return out.M.data as Float32Array;
  }

  /** Row-major product X [N, D] @ W [D, d]: result [N, d] (x.rows x w.cols). */
  async project(x: Matrix, w: Matrix): Promise<Float32Array> {
    if (x.cols !== w.rows) throw new RangeError(`project: X has ${x.cols} columns but W has ${w.rows} rows`);
    const s = await this.session('project');
    const out = await s.run({
      X: new ort.Tensor('float32', x.data, [x.rows, x.cols]),
      W: new ort.Tensor('float32', w.data, [w.rows, w.cols]),
    });
    return out.Y.data as Float32Array;
  }

  /** Row-major positions of the upper triangle of a d x d matrix (the packed layout). */
  private upperIndices(d: number): ort.Tensor {
    let t = this.upper.get(d);
    if (!t) {
      const idx = new BigInt64Array((d * (d + 1)) / 2);
      let q = 0;
      for (let i = 0; i < d; i++) for (let j = i; j < d; j++) idx[q++] = BigInt(i * d + j);
      t = new ort.Tensor('int64', idx, [idx.length]);
      this.upper.set(d, t);
    }
    return t;
  }

  /**
   * s2 += X^T X per cell, in place: X is [C, B, d], s2 [C, d, d]. Writing the sum back into
   * s2 (a pre-allocated output) avoids a new multi-gigabyte allocation per group of images.
   */
  async accumulate(s2: Float32Array, x: CellBatch): Promise<void> {
    const { cells, batch, dims } = x;
    const s = await this.session('accumulate');
    const sums = new ort.Tensor('float32', s2, [cells, dims, dims]);
    await s.run({ S2: sums, X: new ort.Tensor('float32', x.data, [cells, batch, dims]) }, { S2out: sums });
  }

  /**
   * Inverse covariances (full [C, d, d]) and co-moments (packed, [C, p]) from the sums of n
   * images (see precisionGraph and PrecisionRequest). The inverse is written over s2
   * (consumed by the graph's first steps, long before the last writes the output), so no
   * second d x d buffer per cell is ever allocated: this is what keeps a large fit's peak
   * memory near the model's own size.
   */
  async precision(req: PrecisionRequest): Promise<PrecisionResult> {
    if (req.method === 'cholesky' || req.factor) return this.precisionByCholesky(req);
    const { s2, cells, dims } = req;
    const s = await this.session(req.inverseType === 'float64' ? 'precision64' : 'precision32');
    const feeds = this.precisionFeeds(req);
    const precision = new ort.Tensor('float32', s2, [cells, dims, dims]);
    const out = await s.run(feeds, { PRECISION: precision, COMOMENT: null });
    return { precision: s2, comoment: out.COMOMENT.data as Float32Array };
  }

  /**
   * precision() by blocked Cholesky: the scaled matrix from the graph, inverted in the given
   * arithmetic (block-inverse.ts), scaled back; written over s2 as by the LU path.
   */
  private async precisionByCholesky(req: PrecisionRequest): Promise<PrecisionResult> {
    const { s2, cells, dims, factor } = req;
    const prep = await this.session('scaledCovariance');
    const out = await prep.run(this.precisionFeeds(req), {
      aScaled: new ort.Tensor('float32', s2, [cells, dims, dims]),
      scale: null,
      COMOMENT: null,
    });
    const bits = req.inverseType === 'float64' ? 64 : 32;
    const sessions: CholeskySessions = {
      split: await this.session(bits === 64 ? 'choleskySplit64' : 'choleskySplit32'),
      join: await this.session(bits === 64 ? 'choleskyJoin64' : 'choleskyJoin32'),
      gram: await this.session(bits === 64 ? 'gram64' : 'gram32'),
    };
    const scaled = bits === 64 ? Float64Array.from(s2) : s2;
    const w = await choleskyInverse({ data: scaled, cells, dims }, sessions);
    const scale = out.scale.data as Float32Array;
    for (let c = 0; c < cells; c++) {
      for (let i = 0; i < dims; i++) {
        const row = (c * dims + i) * dims;
        const si = scale[c * dims + i];
        for (let j = 0; j < dims; j++) s2[row + j] = scaled[row + j] * si * scale[c * dims + j];
      }
    }
    const comoment = out.COMOMENT.data as Float32Array;
    if (!factor) return { precision: s2, comoment };
    // P = S Ws^T Ws S for the scaled problem: the factor of P is Ws S (columns scaled)
    for (let c = 0; c < cells; c++) {
      for (let i = 0; i < dims; i++) {
        const row = (c * dims + i) * dims;
        for (let j = 0; j <= i; j++) w[row + j] *= scale[c * dims + j];
      }
    }
    return { precision: s2, comoment, factor: compactFactor({ data: w, cells, dims }, factor) };
  }

  private precisionFeeds(req: PrecisionRequest): Record<string, ort.Tensor> {
    const { s2, s1, images: n, eps, cells, dims } = req;
    const epsI = new Float32Array(dims * dims);
    for (let i = 0; i < dims; i++) epsI[i * dims + i] = eps;
    const s1Scaled = s1.map((v) => v / Math.sqrt(n));
    const feeds = {
      S2: new ort.Tensor('float32', s2, [cells, dims, dims]),
      S1: new ort.Tensor('float32', s1Scaled, [cells, dims]),
      INV_N1: new ort.Tensor('float32', Float32Array.of(1 / (n - 1)), [1]),
      EPS_I: new ort.Tensor('float32', epsI, [dims, dims]),
      DIAG: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: dims }, (_, i) => BigInt(i * dims + i)),
        [dims],
      ),
      UPPER: this.upperIndices(dims),
    };
    return feeds;
  }

  /** W^T P W per cell: W is [C, d, m] (w.rows = d, w.cols = m), P [C, d, d]; result [C, m, m]. */
  async sandwich(w: CellMatrices, precision: Float32Array): Promise<Float32Array> {
    const { cells, rows: dims, cols: m } = w;
    const s = await this.session('sandwich');
    const out = await s.run({
      W: new ort.Tensor('float32', w.data, [cells, dims, m]),
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
