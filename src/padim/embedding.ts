/**
 * From three backbone stages to one vector per grid cell.
 *
 * Stages 2 and 3 are coarser than stage 1; each of their cells is repeated over the
 * stage-1 cells it covers (nearest-neighbour upsampling: source index = floor(dst * in / out),
 * as PyTorch's `interpolate(mode='nearest')`), the stages are concatenated channel-wise
 * (D channels), and D is reduced to d by keeping chosen channels or by a projection.
 * The result is cell-major, [cells, d], because every later step works per cell.
 */
import { BatchedLinalg } from '../linalg/batched-linalg';
import type { Reduction } from '../model/model';
import { gaussianSample, sampleWithoutReplacement, seededRng } from '../math/random';
import type { FeatureMap } from '../types';
import type { Extent } from '../linalg/shapes';

/** Where concatenated channel k comes from. */
interface ChannelSource {
  stage: number;
  channel: number;
}

function channelSources(stageChannels: readonly number[], channels: readonly number[]): ChannelSource[] {
  const starts: number[] = [];
  let total = 0;
  for (const c of stageChannels) {
    starts.push(total);
    total += c;
  }
  return channels.map((k) => {
    if (k < 0 || k >= total) throw new RangeError(`channel ${k} is outside 0..${total - 1}`);
    let stage = stageChannels.length - 1;
    while (starts[stage] > k) stage--;
    return { stage, channel: k - starts[stage] };
  });
}

/** For each output row (or column), the source row (column) of a stage of size `inSize`. */
function nearestIndex(outSize: number, inSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) idx[i] = Math.min(inSize - 1, Math.floor((i * inSize) / outSize));
  return idx;
}

/**
 * Gathers the given concatenated channels onto the grid of stage 1: result [cells, channels.length].
 */
export function gatherChannels(stages: FeatureMap[], channels: readonly number[]): Float32Array {
  const grid = { height: stages[0].height, width: stages[0].width };
  const sources = channelSources(
    stages.map((s) => s.channels),
    channels,
  );
  const d = channels.length;
  const cells = grid.height * grid.width;
  const out = new Float32Array(cells * d);
  const rowIdx = stages.map((s) => nearestIndex(grid.height, s.height));
  const colIdx = stages.map((s) => nearestIndex(grid.width, s.width));
  for (let k = 0; k < d; k++) {
    const { stage, channel } = sources[k];
    const fm = stages[stage];
    const plane = channel * fm.height * fm.width;
    const rows = rowIdx[stage];
    const cols = colIdx[stage];
    for (let y = 0; y < grid.height; y++) {
      const srcRow = plane + rows[y] * fm.width;
      const dstRow = y * grid.width;
      for (let x = 0; x < grid.width; x++) out[(dstRow + x) * d + k] = fm.data[srcRow + cols[x]];
    }
  }
  return out;
}

/** A reduction's sizes: the D concatenated channels of the stages, and the d kept of them. */
export interface ChannelCounts {
  totalChannels: number;
  dims: number;
}

/** The seeded random channel subset of the paper. */
export function randomChannels({ totalChannels, dims }: ChannelCounts, seed: number): number[] {
  return sampleWithoutReplacement(totalChannels, dims, seededRng(seed));
}

/**
 * A D x d matrix with orthonormal columns (W^T W = I), from a seeded Gaussian matrix by
 * modified Gram-Schmidt in float64 (Kim et al. 2021, semi-orthogonal embedding).
 */
export function semiOrthogonalMatrix({ totalChannels, dims }: ChannelCounts, seed: number): Float32Array {
  if (dims > totalChannels) throw new RangeError(`cannot project ${totalChannels} channels to ${dims}`);
  const rng = seededRng(seed);
  // columns stored contiguously for the orthogonalisation
  const cols: Float64Array[] = [];
  for (let j = 0; j < dims; j++) {
    const v = new Float64Array(totalChannels);
    for (let i = 0; i < totalChannels; i++) v[i] = gaussianSample(rng);
    for (const u of cols) {
      let dot = 0;
      for (let i = 0; i < totalChannels; i++) dot += u[i] * v[i];
      for (let i = 0; i < totalChannels; i++) v[i] -= dot * u[i];
    }
    let norm = 0;
    for (let i = 0; i < totalChannels; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < totalChannels; i++) v[i] /= norm;
    cols.push(v);
  }
  const w = new Float32Array(totalChannels * dims);
  for (let j = 0; j < dims; j++) for (let i = 0; i < totalChannels; i++) w[i * dims + j] = cols[j][i];
  return w;
}

/** What an Embedder reduces by: as a model stores it (header.embedding and model.projection). */
export interface EmbedderSpec {
  /** D, the channels of the three stages together */
  totalChannels: number;
  reduction: Reduction;
  /** the semi-orthogonal reduction's [D, d] matrix, row-major */
  projection?: Float32Array;
}

/** Turns stage features into [cells, d] embeddings under a model's reduction. */
export class Embedder {
  readonly totalChannels: number;
  readonly reduction: Reduction;
  /** d, the length of each cell's embedding */
  readonly dims: number;
  private readonly projection?: Float32Array;
  private readonly allChannels: number[];
  /** Per stage, the rows of the projection for its channels, transposed: [d, stage channels]. */
  private stageProjections?: Float32Array[];

  constructor(
    spec: EmbedderSpec,
    private readonly linalg: BatchedLinalg,
  ) {
    const { totalChannels, reduction, projection } = spec;
    this.totalChannels = totalChannels;
    this.reduction = reduction;
    this.projection = projection;
    this.dims = reduction.kind === 'random' ? reduction.indices.length : totalChannels;
    this.allChannels = Array.from({ length: totalChannels }, (_, i) => i);
    if (reduction.kind === 'semi-orthogonal') {
      if (!projection || projection.length % totalChannels !== 0) {
        throw new Error('semi-orthogonal reduction needs its projection matrix');
      }
      this.dims = projection.length / totalChannels;
    }
  }

  async embed(stages: FeatureMap[]): Promise<Float32Array> {
    const total = stages.reduce((s, f) => s + f.channels, 0);
    if (total !== this.totalChannels) {
      throw new Error(`backbone gave ${total} channels; the model was fitted on ${this.totalChannels}`);
    }
    switch (this.reduction.kind) {
      case 'random':
        return gatherChannels(stages, this.reduction.indices);
      case 'all':
        return gatherChannels(stages, this.allChannels);
      case 'semi-orthogonal':
        return this.projectStages(stages);
    }
  }

  /**
   * x W for the concatenated, upsampled features x of every cell, computed stage by stage at each
   * stage's own resolution: x W = sum over stages of x_s W_s, and nearest upsampling only copies
   * cells, so projecting before upsampling gives the same numbers. It spares building the
   * [cells, D] matrix (73 MB per 640x256 image for ResNet50v2) and does 1/4 (stage 2) and 1/16
   * (stage 3) of the multiply-adds of those stages. The feature maps are channel-major [C, HW], so
   * W_s^T [d, C] @ F_s [C, HW] uses them as they are.
   */
  private async projectStages(stages: FeatureMap[]): Promise<Float32Array> {
    const d = this.dims;
    const perStage = (this.stageProjections ??= this.splitProjection(stages.map((s) => s.channels)));
    const grid = { height: stages[0].height, width: stages[0].width };
    const out = new Float32Array(grid.height * grid.width * d);
    for (let s = 0; s < stages.length; s++) {
      const fm = stages[s];
      const hw = fm.height * fm.width;
      // [d, hw]: row k is output dimension k over the stage's cells
      const y = await this.linalg.project(
        { data: perStage[s], rows: d, cols: fm.channels },
        { data: fm.data.subarray(0, fm.channels * hw), rows: fm.channels, cols: hw },
      );
      addUpsampled(out, grid, y, fm, d);
    }
    return out;
  }

  private splitProjection(stageChannels: readonly number[]): Float32Array[] {
    const w = this.projection as Float32Array; // [D, d] row-major
    const d = this.dims;
    let start = 0;
    return stageChannels.map((c) => {
      const t = new Float32Array(d * c);
      for (let i = 0; i < c; i++) for (let k = 0; k < d; k++) t[k * c + i] = w[(start + i) * d + k];
      start += c;
      return t;
    });
  }
}

/** out[cell, k] += y[k, source cell of `cell` in the stage]: nearest upsampling onto the grid. */
function addUpsampled(out: Float32Array, grid: Extent, y: Float32Array, stage: Extent, d: number): void {
  const rows = nearestIndex(grid.height, stage.height);
  const cols = nearestIndex(grid.width, stage.width);
  const hw = stage.height * stage.width;
  for (let yy = 0; yy < grid.height; yy++) {
    const srcRow = rows[yy] * stage.width;
    for (let x = 0; x < grid.width; x++) {
      const src = srcRow + cols[x];
      const dst = (yy * grid.width + x) * d;
      for (let k = 0; k < d; k++) out[dst + k] += y[k * hw + src];
    }
  }
}
