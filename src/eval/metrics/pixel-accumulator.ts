/**
 * Streaming pixel-level evaluation: pixel AUROC, AUPRO and the F1-optimal pixel threshold
 * over any number of images, exactly, without keeping the anomaly maps.
 *
 * Exactness needs every pixel's score and its ground truth, but nothing more: each pixel is
 * stored as a float32 score (as a uint32 sort key) and an int32 region id (0 = good pixel,
 * r >= 1 = defect region r, numbered globally across images), 8 bytes per pixel in chunked
 * typed arrays. All figures are then read from one radix sort of that store, walking the tie
 * groups from the highest score down; the sort is kept until the next `add`.
 */
import { checkSize, labelComponents } from './components';
import { type F1Result, F1Sweep } from './f1';
import { DEFAULT_CHUNK_BITS, KeyRegionStore } from './key-region-store';
import { ProAreaSweep } from './pro';
import { RocAreaSweep, requireBothClasses } from './roc';
import { floatFromKey, isNaNBits, keyFromBits } from './sort-key';

export interface PixelMetricsOptions {
  /**
   * log2 of the storage chunk size in pixels (default 20, i.e. 8 MiB chunks). Only tests
   * need to change it, to exercise chunk boundaries with small images.
   */
  chunkBits?: number;
}

export class PixelMetricsAccumulator {
  private readonly store: KeyRegionStore;
  /** Pixel count of region r at index r - 1; grows by doubling. */
  private regionSizes = new Int32Array(64);
  private regions = 0;
  private defectPixels = 0;
  private images = 0;

  constructor(options: PixelMetricsOptions = {}) {
    this.store = new KeyRegionStore(options.chunkBits ?? DEFAULT_CHUNK_BITS);
  }

  /** Images added so far. */
  get imageCount(): number {
    return this.images;
  }

  /** Pixels added so far, good and defect. */
  get pixelCount(): number {
    return this.store.length;
  }

  /** Pixels with mask 1 so far. */
  get defectPixelCount(): number {
    return this.defectPixels;
  }

  /** Pixels with mask 0 so far. */
  get goodPixelCount(): number {
    return this.store.length - this.defectPixels;
  }

  /** Connected defect regions so far (8-connectivity, counted per image). */
  get regionCount(): number {
    return this.regions;
  }

  /**
   * Adds one image. Good images (all-zero mask) count too: their pixels are false positives
   * when they score high, exactly like good pixels around a defect.
   * @param map anomaly scores, row-major width x height; higher = more anomalous; no NaN.
   * @param mask ground truth, same layout: 1 (any nonzero) = defect, 0 = good.
   */
  add(map: Float32Array, mask: Uint8Array, width: number, height: number): void {
    checkSize(map.length, width, height);
    checkSize(mask.length, width, height);
    // The raw float bits give the sort key without a float round trip per pixel.
    const bits = new Uint32Array(map.buffer, map.byteOffset, map.length);
    const keys = new Uint32Array(map.length);
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i];
      if (isNaNBits(b)) throw new RangeError(`anomaly map value ${i} is NaN`);
      keys[i] = keyFromBits(b);
    }
    const { labels, count } = labelComponents(mask, width, height);
    // Offset this image's labels 1..count to global ids after the regions seen so far.
    const offset = this.regions;
    this.growRegionSizes(offset + count);
    for (let i = 0; i < labels.length; i++) {
      const local = labels[i];
      if (local === 0) continue;
      labels[i] = local + offset;
      this.regionSizes[offset + local - 1]++;
      this.defectPixels++;
    }
    this.store.append(keys, labels);
    this.regions += count;
    this.images++;
  }

  /** Exact pixel AUROC over every pixel added; tied pixels count 1/2. */
  pixelAUROC(): number {
    requireBothClasses(this.defectPixels, this.goodPixelCount);
    const roc = new RocAreaSweep();
    this.sweep((_score, positives, negatives) => {
      roc.group(positives, negatives);
      return false;
    });
    return roc.result();
  }

  /**
   * Exact normalised area under the PRO curve for FPR in [0, maxFpr].
   * @param maxFpr integration limit in (0, 1]; 0.3 is the MVTec AD convention.
   */
  aupro(maxFpr = 0.3): number {
    const pro = new ProAreaSweep(this.regionSizes.subarray(0, this.regions), this.goodPixelCount, maxFpr);
    this.sweep(
      (_score, _positives, negatives) => {
        pro.endGroup(negatives);
        return pro.finished;
      },
      (region) => pro.hitRegion(region),
    );
    return pro.result();
  }

  /** The pixel threshold with the best F1 (predict defect when score >= threshold). */
  bestPixelF1(): F1Result {
    const f1 = new F1Sweep(this.defectPixels);
    this.sweep((score, positives, negatives) => {
      f1.group(score, positives, negatives);
      return false;
    });
    return f1.result();
  }

  /**
   * Walks the pixels from the highest score down in tie groups. `onDefect` sees each defect
   * pixel's region id before its group closes; `onGroup` returns true to stop early.
   */
  private sweep(
    onGroup: (score: number, positives: number, negatives: number) => boolean,
    onDefect?: (region: number) => void,
  ): void {
    this.store.sort();
    let groupKey = -1; // no key is negative, so the first pixel opens a group
    let positives = 0;
    let negatives = 0;
    for (let c = this.store.chunkCount - 1; c >= 0; c--) {
      const { keys, regions } = this.store.chunk(c);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        if (key !== groupKey) {
          if (groupKey >= 0 && onGroup(floatFromKey(groupKey), positives, negatives)) return;
          groupKey = key;
          positives = 0;
          negatives = 0;
        }
        const region = regions[i];
        if (region === 0) {
          negatives++;
        } else {
          positives++;
          if (onDefect !== undefined) onDefect(region);
        }
      }
    }
    if (groupKey >= 0) onGroup(floatFromKey(groupKey), positives, negatives);
  }

  private growRegionSizes(needed: number): void {
    if (needed <= this.regionSizes.length) return;
    let capacity = this.regionSizes.length;
    while (capacity < needed) capacity *= 2;
    const grown = new Int32Array(capacity);
    grown.set(this.regionSizes);
    this.regionSizes = grown;
  }
}
