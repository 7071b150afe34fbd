/**
 * A model's regions at work: the Gaussians exist for the inside cells only, so embeddings are
 * gathered to those cells before the head and the distances scattered back to the full grid
 * after it (zero outside); the anomaly map is zeroed outside the regions, and each region gets
 * its own score.
 */
import type { ScoreMap } from '../types';
import { unionMask, type InputMasks } from './raster';
import { recordMasks, type RoiRecord } from './record';

/** A region's share of one result: its maximum, the pixels it covers. */
export interface RegionScore {
  name: string;
  /** maximum of the anomaly map inside the region (score units) */
  score: number;
  /** pixels of the region at the model input size */
  pixels: number;
}

export class Roi {
  readonly masks: InputMasks;
  readonly union: Uint8Array;
  readonly cells: Int32Array;

  constructor(readonly record: RoiRecord) {
    this.masks = recordMasks(record);
    this.union = unionMask(this.masks);
    this.cells = Int32Array.from(record.cells);
  }

  /** A [cells, d] embedding of the full grid reduced to the inside cells. */
  gather(embedding: Float32Array, d: number): Float32Array {
    const out = new Float32Array(this.cells.length * d);
    this.cells.forEach((c, i) => out.set(embedding.subarray(c * d, (c + 1) * d), i * d));
    return out;
  }

  /** Inside-cell distances placed on the full grid (`total` cells), zero outside. */
  scatter(values: Float32Array, total: number): Float32Array {
    const out = new Float32Array(total);
    this.cells.forEach((c, i) => (out[c] = values[i]));
    return out;
  }

  /** Zeroes a map at the input size outside the regions; returns the maximum left. */
  applyToMap(map: ScoreMap): number {
    this.checkSize(map);
    let max = 0;
    for (let i = 0; i < map.data.length; i++) {
      if (!this.union[i]) map.data[i] = 0;
      else if (map.data[i] > max) max = map.data[i];
    }
    return max;
  }

  /** Each region's maximum of a map at the input size (in the reference frame). */
  regionScores(map: ScoreMap): RegionScore[] {
    this.checkSize(map);
    return this.masks.regions.map(({ name, mask }) => {
      let score = 0;
      let pixels = 0;
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i]) continue;
        pixels++;
        if (map.data[i] > score) score = map.data[i];
      }
      return { name, score, pixels };
    });
  }

  /**
   * Which region each pixel belongs to (0 outside, k + 1 for region k; the first wins where
   * regions overlap), each mask first taken through `toFrame` (to an image's own frame when aligned).
   */
  labels(toFrame: (m: ScoreMap) => ScoreMap = (m) => m): Uint8Array {
    const { width, height } = this.masks;
    const out = new Uint8Array(width * height);
    this.masks.regions.forEach(({ mask }, k) => {
      const moved = toFrame(maskAsMap(mask, width, height)).data;
      for (let i = 0; i < out.length; i++) if (out[i] === 0 && moved[i] >= 0.5) out[i] = k + 1;
    });
    return out;
  }

  private checkSize(map: ScoreMap): void {
    if (map.width !== this.masks.width || map.height !== this.masks.height)
      throw new RangeError(
        `a ${map.width}x${map.height} map does not match the regions' ${this.masks.width}x${this.masks.height}`,
      );
  }
}

/** The mask as a map (1 inside), e.g. to be warped back to an image's own frame. */
export function maskAsMap(mask: Uint8Array, width: number, height: number): ScoreMap {
  return { data: Float32Array.from(mask), width, height };
}

/** Pixels on the edge of a region (inside, with a 4-neighbour outside or on the border): 1. */
export function outlineOf(mask: ScoreMap): Uint8Array {
  const { width: w, height: h, data } = mask;
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && data[y * w + x] >= 0.5;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (inside(x, y) && (!inside(x - 1, y) || !inside(x + 1, y) || !inside(x, y - 1) || !inside(x, y + 1)))
        out[y * w + x] = 1;
  return out;
}
