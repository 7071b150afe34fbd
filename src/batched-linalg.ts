/**
 * The heavy linear algebra of PaDiM, as small ONNX graphs run by onnxruntime. Every
 * operation works on a block of grid cells at once ([cells, ...] leading dimension), so
 * onnxruntime's multi-threaded batched MatMul does the work, on CPU or a GPU provider.
 *
 * - gram:        X [C, B, d]                 -> X^T X            [C, d, d]
 * - mahalanobis: X [C, B, d], mu [C, 1, d], P [C, d, d] -> sqrt(max(0, (x-mu)^T P (x-mu)))  [C, B]
 * - inverse:     A [C, d, d] (float32 or float64)   -> A^-1      (ORT contrib op com.microsoft.Inverse,
 *                LU with partial pivoting; ONNX has no standard inverse)
 * - project:     X [N, D] @ W [D, d]         -> [N, d]
 * - sandwich:    W [C, d, m], P [C, d, d]    -> W^T P W          [C, m, m]
 */
import * as ort from 'onnxruntime-node';
import { buildModel, DataType, int64Tensor, valueInfo, type DataTypeCode } from './onnx-builder';
import type { ProviderName } from './types';

export interface LinalgOptions {
  threads?: number;
  provider?: ProviderName;
}

function gramGraph(): Uint8Array {
  return buildModel({
    name: 'gram',
    nodes: [
      { op: 'Transpose', inputs: ['X'], outputs: ['Xt'], attributes: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['Xt', 'X'], outputs: ['G'] },
    ],
    inputs: [valueInfo('X', DataType.FLOAT, ['C', 'B', 'd'])],
    outputs: [valueInfo('G', DataType.FLOAT, ['C', 'd', 'd'])],
  });
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

function inverseGraph(type: DataTypeCode): Uint8Array {
  return buildModel({
    name: 'inverse',
    nodes: [{ op: 'Inverse', domain: 'com.microsoft', inputs: ['A'], outputs: ['Ainv'] }],
    inputs: [valueInfo('A', type, ['C', 'd', 'd'])],
    outputs: [valueInfo('Ainv', type, ['C', 'd', 'd'])],
    extraOpsets: { 'com.microsoft': 1 },
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

type HeadName = 'gram' | 'mahalanobis' | 'inverse32' | 'inverse64' | 'project' | 'sandwich';

const GRAPHS: Record<HeadName, () => Uint8Array> = {
  gram: gramGraph,
  mahalanobis: mahalanobisGraph,
  inverse32: () => inverseGraph(DataType.FLOAT),
  inverse64: () => inverseGraph(DataType.DOUBLE),
  project: projectGraph,
  sandwich: sandwichGraph,
};

/**
 * Lazily created onnxruntime sessions for the heads. One instance per model user; call
 * `dispose()` to release the native sessions.
 */
export class BatchedLinalg {
  private readonly sessions = new Map<HeadName, Promise<ort.InferenceSession>>();

  constructor(private readonly options: LinalgOptions = {}) {}

  private session(name: HeadName): Promise<ort.InferenceSession> {
    let s = this.sessions.get(name);
    if (!s) {
      const opts: ort.InferenceSession.SessionOptions = {
        executionProviders: [
          this.options.provider && name !== 'inverse64' && name !== 'inverse32'
            ? this.options.provider
            : 'cpu',
        ],
        graphOptimizationLevel: 'all',
      };
      if (this.options.threads) opts.intraOpNumThreads = this.options.threads;
      s = ort.InferenceSession.create(GRAPHS[name](), opts);
      this.sessions.set(name, s);
    }
    return s;
  }

  /** X^T X per cell: X is [C, B, d], result [C, d, d] (full, symmetric). */
  async gram(x: Float32Array, cells: number, batch: number, dims: number): Promise<Float32Array> {
    const s = await this.session('gram');
    const out = await s.run({ X: new ort.Tensor('float32', x, [cells, batch, dims]) });
    return out.G.data as Float32Array;
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

  /** Inverse of each [d, d] matrix of A ([C, d, d]); the precision follows A's type. */
  async inverse<T extends Float32Array | Float64Array>(a: T, cells: number, dims: number): Promise<T> {
    const is64 = a instanceof Float64Array;
    const s = await this.session(is64 ? 'inverse64' : 'inverse32');
    const out = await s.run({ A: new ort.Tensor(is64 ? 'float64' : 'float32', a, [cells, dims, dims]) });
    return out.Ainv.data as T;
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
