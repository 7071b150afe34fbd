/**
 * The distance head that keeps the model on the execution provider: each group of chunks
 * of grid cells is one onnxruntime session whose graph holds the chunks' means and inverse
 * covariances as initializers (graph.ts), so they are copied to the device once, when the
 * sessions are built, and an image costs compute plus the transfer of its embedding
 * (cells x d floats) instead of streaming every inverse covariance (5 GB at d=550) per call.
 *
 * The same sessions run on the CPU provider, which is how the code path is tested without a
 * GPU. On the CPU the initializers are a second copy of the inverse covariances, in
 * onnxruntime's native memory (the model's arrays stay as they are: the model is shared).
 */
import * as ort from 'onnxruntime-node';
import { chunkLength, type GaussianArrays } from '../model/model';
import type { ProviderName } from '../types';
import { chunkBatch, scatterDistances } from './chunk-batch';
import { chunkBytes, deviceHeadGraph, type HeadArrangement, type HeadChunk } from './graph';

/**
 * Initializer bytes per session: well below protobuf's 2 GiB cap on one ModelProto, and
 * small enough that the encoded graph (the one transient copy) adds little to the peak.
 */
export const DEFAULT_GROUP_BYTES = 256 * 1024 * 1024;

/**
 * D P: on the CPU provider it was the faster of the two for one image (the common case of an
 * inspection line) and the slower for batches of 8 (BENCHMARKS.md, "GPU check"); the GPU check
 * times the other arrangement on the GPU too.
 */
export const DEFAULT_ARRANGEMENT: HeadArrangement = 'precision-right';

export interface DeviceHeadOptions {
  provider: ProviderName;
  threads?: number;
  /** see HeadArrangement; default DEFAULT_ARRANGEMENT */
  arrangement?: HeadArrangement;
  /** initializer bytes per session; default DEFAULT_GROUP_BYTES */
  groupBytes?: number;
  /**
   * let nodes the provider cannot run fall back to the CPU inside the session (default true);
   * false makes building fail instead, which shows whether the whole head runs on the device
   */
  cpuFallback?: boolean;
}

/** A session and the model chunks (indices) it holds. */
interface Group {
  session: ort.InferenceSession;
  chunks: number[];
}

/** Consecutive chunks, each group at most `limit` bytes (a larger chunk is a group of its own). */
export function groupChunks(sizes: number[], limit: number): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  sizes.forEach((size, k) => {
    if (current.length > 0 && bytes + size > limit) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(k);
    bytes += size;
  });
  if (current.length > 0) groups.push(current);
  return groups;
}

function sessionOptions(opts: DeviceHeadOptions): ort.InferenceSession.SessionOptions {
  const s: ort.InferenceSession.SessionOptions = {
    // cpu second: a node the provider lacks runs on the cpu inside the same session
    executionProviders: opts.provider === 'cpu' ? ['cpu'] : [opts.provider, 'cpu'],
    graphOptimizationLevel: 'all',
    enableCpuMemArena: false,
  };
  if (opts.threads) s.intraOpNumThreads = opts.threads;
  if (opts.cpuFallback === false && opts.provider !== 'cpu')
    s.extra = { session: { disable_cpu_ep_fallback: '1' } };
  return s;
}

export class DeviceHead {
  private released = false;

  readonly cells: number;
  readonly dims: number;
  readonly chunkCells: number;

  private constructor(
    private readonly groups: Group[],
    layout: Pick<GaussianArrays, 'cells' | 'dims' | 'chunkCells'>,
    readonly provider: ProviderName,
  ) {
    this.cells = layout.cells;
    this.dims = layout.dims;
    this.chunkCells = layout.chunkCells;
  }

  /**
   * Builds the sessions, one group at a time (only one encoded graph exists at a time).
   * `mean` is the model's mean as float32, [cells, d]. Throws if a session cannot start;
   * sessions already built are released first.
   */
  static async build(g: GaussianArrays, mean: Float32Array, opts: DeviceHeadOptions): Promise<DeviceHead> {
    const d = g.dims;
    const chunks: HeadChunk[] = g.precision.map((precision, k) => {
      // a compact (16/8-bit) chunk cannot be an initializer of this float32 graph
      if (!(precision instanceof Float32Array)) throw new Error(`chunk ${k} is not float32`);
      const n = chunkLength(g, k);
      const first = k * g.chunkCells;
      return { cells: n, precision, mean: mean.subarray(first * d, (first + n) * d) };
    });
    const arrangement = opts.arrangement ?? DEFAULT_ARRANGEMENT;
    const groups: Group[] = [];
    try {
      for (const members of groupChunks(chunks.map(chunkBytes), opts.groupBytes ?? DEFAULT_GROUP_BYTES)) {
        const bytes = deviceHeadGraph(
          members.map((k) => chunks[k]),
          d,
          arrangement,
        );
        groups.push({
          session: await ort.InferenceSession.create(bytes, sessionOptions(opts)),
          chunks: members,
        });
      }
    } catch (err) {
      await Promise.all(groups.map((s) => s.session.release()));
      throw err;
    }
    return new DeviceHead(groups, g, opts.provider);
  }

  /** Sessions built (one per group of chunks). */
  get sessionCount(): number {
    return this.groups.length;
  }

  /** Per-cell distances for a batch of embeddings ([cells, d] each): one [cells] grid per image. */
  async distances(embeddings: Float32Array[]): Promise<Float32Array[]> {
    if (this.released) throw new Error('the device head was disposed');
    const d = this.dims;
    const b = embeddings.length;
    for (const e of embeddings) {
      if (e.length !== this.cells * d) {
        throw new Error(`embedding has ${e.length} values, expected ${this.cells} x ${d}`);
      }
    }
    const out = embeddings.map(() => new Float32Array(this.cells));
    for (const group of this.groups) {
      const feeds: Record<string, ort.Tensor> = {};
      group.chunks.forEach((k, i) => {
        const x = chunkBatch(embeddings, { first: k * this.chunkCells, cells: chunkLength(this, k) }, d);
        feeds[`X${i}`] = new ort.Tensor('float32', x.data, [x.cells, b, d]);
      });
      const result = await group.session.run(feeds);
      group.chunks.forEach((k, i) => {
        const range = { first: k * this.chunkCells, cells: chunkLength(this, k) };
        scatterDistances(out, result[`M${i}`].data as Float32Array, range);
      });
    }
    return out;
  }

  /** Releases the sessions (and with them the device copies). Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    for (const g of this.groups) await g.session.release();
  }
}
