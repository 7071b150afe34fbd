/**
 * Streaming per-cell Gaussian fit.
 *
 * Memory must not grow with the number of training images (the failure of reference
 * implementations that keep every embedding), so we keep only sums. Values are centred on
 * a fixed per-cell shift (the first group's mean) before they are summed: the sums of
 * products S2 then stay small and well scaled, so they are accumulated in float32 by
 * onnxruntime (a batched MatMul plus an Add per group of images, no per-element work in
 * JavaScript), and the final `S2 - S1 S1^T / n` does not cancel catastrophically because
 * the shift is close to the mean. The linear sums S1 are float64. The tests compare this
 * with a two-pass float64 computation, with data far from zero and batches of one image.
 *
 * A fitted model keeps its mean and co-moment (sum of (x-mean)(x-mean)^T), so more good
 * images can be merged in later (Chan et al.'s pairwise update) without refitting.
 */
import { BatchedLinalg, type CompactChunk, type InverseMethod } from '../linalg/batched-linalg';
import type { CompactStorage } from '../model/precision-storage';
import { shrinkInPlace } from './covariance-shrinkage';
import { chunkLength, defaultChunkCells, type GaussianArrays } from '../model/model';
import { expandUpper, packedSize } from '../model/packed-triangle';

/** Everything needed to continue accumulating on top of an existing fit. */
export interface PriorStatistics {
  count: number;
  /** [cells, dims] float64 */
  mean: Float64Array;
  /** packed upper-triangle co-moments per chunk, as in GaussianArrays.comoment */
  comoment: Float32Array[];
  chunkCells: number;
}

interface ChunkSums {
  /** per-cell shift, [n, d] float32 */
  shift: Float32Array;
  /** sum of (x - shift), [n, d] float64 */
  s1: Float64Array;
  /** sum of (x - shift)(x - shift)^T, [n, d, d] float32 (see the file comment) */
  s2: Float32Array;
}

export type InversePrecision = 'float64' | 'float32' | 'auto';

/** Largest d that 'auto' inverts in float64. */
export const AUTO_FLOAT64_MAX_DIMS = 256;

export interface FinaliseOptions {
  /** added to every covariance diagonal; PaDiM uses 0.01 */
  eps: number;
  /** keep the co-moments so the model can be updated later */
  keepComoment: boolean;
  /**
   * Arithmetic of the inversion: float64, or float32 (after scaling to unit diagonal), about
   * twice as fast and less accurate on badly conditioned cells. 'auto' (default) takes
   * float64 up to AUTO_FLOAT64_MAX_DIMS and float32 above, where inversion dominates the fit.
   */
  inversePrecision?: InversePrecision;
  /**
   * Algorithm of the inversion: 'lu' (default), ORT's contrib Inverse; 'cholesky', blocked
   * Cholesky whose heavy part is batched MatMuls (block-inverse.ts)
   */
  inverseMethod?: InverseMethod;
  /**
   * also compute the compact factor of each precision in this storage (precision-storage/;
   * by the Cholesky inversion, whatever inverseMethod says)
   */
  factor?: CompactStorage;
  /** called after each chunk is inverted, with (chunksDone, chunksTotal) */
  onProgress?: (done: number, total: number) => void;
  /**
   * shrink each cell's covariance toward a multiple of the identity (covariance-shrinkage.ts)
   * before eps is added and it is inverted; the stored co-moments stay the raw ones
   */
  shrink?: boolean;
}

/**
 * Embeddings wait in a group before they are added: each addition reads and writes every
 * cell's d x d sums, so larger groups mean far less memory traffic. A group is added once it
 * holds a quarter of the sums' size or this many bytes, whichever is less: memory then stays
 * in proportion to the model, never to the number of training images.
 */
export const DEFAULT_GROUP_BYTES = 512 * 1024 * 1024;

/** The extent of a fit: the grid cells fitted, d, and optionally how many cells a chunk holds. */
export interface AccumulatorShape {
  cells: number;
  dims: number;
  /** cells per chunk of the sums; default defaultChunkCells(cells, dims), or the prior's */
  chunkCells?: number;
}

export class GaussianAccumulator {
  readonly cells: number;
  readonly dims: number;
  readonly chunkCells: number;
  private readonly chunks: (ChunkSums | null)[];
  private count = 0;
  private pending: Float32Array[] = [];
  /** bytes of pending embeddings that trigger their addition */
  groupBytes = DEFAULT_GROUP_BYTES;

  constructor(
    shape: AccumulatorShape,
    private readonly linalg: BatchedLinalg,
    private readonly prior?: PriorStatistics,
  ) {
    const { cells, dims, chunkCells } = shape;
    this.cells = cells;
    this.dims = dims;
    if (prior && prior.mean.length !== cells * dims) {
      throw new Error(`prior statistics are for ${prior.mean.length / dims} cells, not ${cells}`);
    }
    this.chunkCells = prior?.chunkCells ?? chunkCells ?? defaultChunkCells(cells, dims);
    this.chunks = new Array(Math.ceil(cells / this.chunkCells)).fill(null);
  }

  /** Images accumulated so far (not counting a prior fit). */
  get imageCount(): number {
    return this.count + this.pending.length;
  }

  /** Adds embeddings, each [cells, dims] float32 (cell-major); they may wait in a group. */
  async add(embeddings: Float32Array[]): Promise<void> {
    for (const e of embeddings) {
      if (e.length !== this.cells * this.dims) {
        throw new Error(`embedding has ${e.length} values, expected ${this.cells} x ${this.dims}`);
      }
    }
    this.pending.push(...embeddings);
    const bytes = this.pending.length * this.cells * this.dims * 4;
    const sumsBytes = this.cells * this.dims * this.dims * 4;
    if (bytes >= Math.min(this.groupBytes, sumsBytes / 4)) await this.flush();
  }

  /** Adds the pending group to the sums. */
  private async flush(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) return;
    for (let k = 0; k < this.chunks.length; k++) {
      await this.addToChunk(k, group);
    }
    this.count += group.length;
  }

  private initialShift(k: number, n: number, embeddings: Float32Array[]): Float32Array {
    const d = this.dims;
    const base = k * this.chunkCells * d;
    if (this.prior) return Float32Array.from(this.prior.mean.subarray(base, base + n * d));
    const shift = new Float32Array(n * d);
    for (const e of embeddings) for (let i = 0; i < n * d; i++) shift[i] += e[base + i];
    for (let i = 0; i < n * d; i++) shift[i] /= embeddings.length;
    return shift;
  }

  private async addToChunk(k: number, embeddings: Float32Array[]): Promise<void> {
    const d = this.dims;
    const b = embeddings.length;
    const n = chunkLength(this, k);
    const base = k * this.chunkCells * d;
    let sums = this.chunks[k];
    if (!sums) {
      sums = {
        shift: this.initialShift(k, n, embeddings),
        s1: new Float64Array(n * d),
        s2: new Float32Array(n * d * d),
      };
      this.chunks[k] = sums;
    }
    // X [n, b, d]: centred values of this chunk's cells for every image of the batch
    const x = new Float32Array(n * b * d);
    for (let c = 0; c < n; c++) {
      for (let j = 0; j < b; j++) {
        const src = embeddings[j];
        const o = (c * b + j) * d;
        const s = base + c * d;
        for (let i = 0; i < d; i++) {
          const v = src[s + i] - sums.shift[c * d + i];
          x[o + i] = v;
          sums.s1[c * d + i] += v;
        }
      }
    }
    await this.linalg.accumulate(sums.s2, { data: x, cells: n, batch: b, dims: d });
  }

  /**
   * Turns the sums into the model's arrays: mean, inverse covariance, co-moment. Chunk
   * sums are released as soon as their chunk is done, so peak memory stays near one copy
   * of the accumulators plus the results.
   */
  async finalise(
    opts: FinaliseOptions,
  ): Promise<GaussianArrays & { count: number; shrinkage?: Float64Array }> {
    await this.flush();
    const total = this.count + (this.prior?.count ?? 0);
    if (total < 2) throw new Error(`need at least 2 images to estimate a covariance, got ${total}`);
    if (this.chunks.some((c) => c === null) && this.count > 0)
      throw new Error('internal: missing chunk sums');
    const d = this.dims;
    const mean = new Float64Array(this.cells * d);
    const precision: Float32Array[] = [];
    const comoment: Float32Array[] = [];
    const factor: CompactChunk[] = [];
    const shrinkage = new Float64Array(opts.shrink ? this.cells : 0);
    opts.onProgress?.(0, this.chunks.length);
    for (let k = 0; k < this.chunks.length; k++) {
      const n = chunkLength(this, k);
      const inversion = {
        cells: n,
        dims: d,
        images: total,
        eps: opts.eps,
        inverseType: this.inverseType(opts.inversePrecision),
        method: opts.inverseMethod,
        factor: opts.factor,
      };
      let result;
      if (this.prior) {
        // merge with the prior fit in float64 here, then invert the merged co-moment
        const { chunkMean, chunkComoment } = this.mergedStatistics(k, n);
        mean.set(chunkMean, k * this.chunkCells * d);
        const full = new Float32Array(n * d * d);
        expandUpper(chunkComoment, n, d, full);
        if (opts.shrink)
          shrinkage.set(shrinkInPlace({ data: full, cells: n, dims: d }, total), k * this.chunkCells);
        result = await this.linalg.precision({
          ...inversion,
          s2: full,
          s1: new Float32Array(n * d),
        });
        // the raw merged co-moment is what is stored (the next update merges statistics, not shrunk ones)
        if (opts.shrink) result.comoment = Float32Array.from(chunkComoment);
      } else {
        const sums = this.chunks[k] as ChunkSums;
        for (let i = 0; i < n * d; i++)
          mean[k * this.chunkCells * d + i] = sums.shift[i] + sums.s1[i] / total;
        if (opts.shrink) {
          // the co-moment is formed here so it can be shrunk; the raw one is what is stored
          const raw = comomentInPlace(sums, n, d, total);
          shrinkage.set(shrinkInPlace({ data: sums.s2, cells: n, dims: d }, total), k * this.chunkCells);
          result = await this.linalg.precision({ ...inversion, s2: sums.s2, s1: new Float32Array(n * d) });
          result.comoment = raw;
        } else {
          const s1 = Float32Array.from(sums.s1);
          result = await this.linalg.precision({ ...inversion, s2: sums.s2, s1 });
        }
      }
      this.chunks[k] = null; // release the float64 sums of this chunk
      precision.push(result.precision);
      if (result.factor) factor.push(result.factor);
      if (opts.keepComoment) comoment.push(result.comoment);
      opts.onProgress?.(k + 1, this.chunks.length);
    }
    return {
      cells: this.cells,
      dims: d,
      chunkCells: this.chunkCells,
      mean,
      precision,
      comoment: opts.keepComoment ? comoment : undefined,
      ...(opts.factor
        ? {
            factor: {
              storage: opts.factor,
              chunks: factor.map((f) => f.values),
              ...(opts.factor === 'int8'
                ? { rowScales: factor.map((f) => f.rowScales as Float32Array) }
                : {}),
            },
          }
        : {}),
      count: total,
      ...(opts.shrink ? { shrinkage } : {}),
    };
  }

  private inverseType(precision: InversePrecision = 'auto'): 'float32' | 'float64' {
    if (precision === 'auto') return this.dims <= AUTO_FLOAT64_MAX_DIMS ? 'float64' : 'float32';
    return precision;
  }

  /** Mean and co-moment (float64, packed) of chunk k, merged with the prior fit. */
  private mergedStatistics(k: number, n: number): { chunkMean: Float64Array; chunkComoment: Float64Array } {
    const d = this.dims;
    const p = packedSize(d);
    const base = k * this.chunkCells * d;
    const sums = this.chunks[k];
    const nb = this.count;
    const chunkMean = new Float64Array(n * d);
    const chunkComoment = new Float64Array(n * p);
    // new images: mean = shift + s1/nb; co-moment = s2 - s1 s1^T / nb
    if (sums && nb > 0) {
      for (let c = 0; c < n; c++) {
        const m = c * d;
        for (let i = 0; i < d; i++) chunkMean[m + i] = sums.shift[m + i] + sums.s1[m + i] / nb;
        let q = c * p;
        for (let i = 0; i < d; i++) {
          const si = sums.s1[m + i] / nb;
          const row = (c * d + i) * d;
          for (let j = i; j < d; j++, q++) chunkComoment[q] = sums.s2[row + j] - si * sums.s1[m + j];
        }
      }
    }
    // Chan et al.: merge (na, meanA, M2A) with (nb, meanB, M2B)
    const prior = this.prior as PriorStatistics;
    const na = prior.count;
    const nTotal = na + nb;
    const priorComoment = prior.comoment[k];
    for (let c = 0; c < n; c++) {
      const m = c * d;
      const delta = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        const meanA = prior.mean[base + m + i];
        delta[i] = nb > 0 ? chunkMean[m + i] - meanA : 0;
        chunkMean[m + i] = meanA + (delta[i] * nb) / nTotal;
      }
      const w = (na * nb) / nTotal;
      let q = c * p;
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++, q++) chunkComoment[q] += priorComoment[q] + w * delta[i] * delta[j];
      }
    }
    return { chunkMean, chunkComoment };
  }
}

/**
 * Turns a chunk's sums into co-moments, M2 = S2 - S1 S1^T / n, written over S2 (float64
 * arithmetic); returns them packed, as the model stores them.
 */
function comomentInPlace(sums: ChunkSums, cells: number, d: number, n: number): Float32Array {
  const packed = new Float32Array(cells * packedSize(d));
  let q = 0;
  for (let c = 0; c < cells; c++) {
    const o = c * d * d;
    for (let i = 0; i < d; i++) {
      const si = sums.s1[c * d + i] / n;
      for (let j = 0; j < d; j++) {
        const v = sums.s2[o + i * d + j] - si * sums.s1[c * d + j];
        sums.s2[o + i * d + j] = v;
        if (j >= i) packed[q++] = v;
      }
    }
  }
  return packed;
}
