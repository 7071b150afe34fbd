/**
 * Area under the per-region overlap (PRO) curve, up to a false positive rate limit.
 *
 * PRO(t) is the mean over ground-truth defect regions of the fraction of each region's
 * pixels scoring >= t, so a small defect weighs as much as a large one (pixel AUROC is
 * dominated by large defects). FPR(t) is the fraction of good pixels scoring >= t. The
 * curve PRO vs FPR is integrated from FPR 0 to `maxFpr` with the trapezoid rule over the
 * distinct thresholds, the last segment cut at exactly `maxFpr` by linear interpolation,
 * and the area is divided by `maxFpr` so a perfect detector scores 1.
 */

/**
 * Incremental AUPRO. Walk the pixels from the highest score down: call `hitRegion` for every
 * defect pixel of the current tie group, then `endGroup` with the group's good-pixel count.
 * Stop once `finished` is true (the sweep passed `maxFpr`) and read `result()`.
 */
export class ProAreaSweep {
  /** 1 / size of each region, indexed by region id - 1. */
  private readonly inverseSizes: Float64Array;
  private readonly regionCount: number;
  private readonly goodPixels: number;
  private readonly maxFpr: number;
  /**
   * Sum over regions of their covered fraction, with a Neumaier compensation term, because
   * millions of small increments would otherwise drift in the last digits.
   */
  private coveredSum = 0;
  private coveredCompensation = 0;
  private falsePositives = 0;
  private previousFpr = 0;
  private previousPro = 0;
  private area = 0;
  private done = false;

  /**
   * @param regionSizes pixel count of each defect region; region id r (1-based) is at r - 1.
   * @param goodPixels number of good pixels across the whole evaluation (the FPR denominator).
   * @param maxFpr upper integration limit, in (0, 1]; 0.3 is the customary value.
   */
  constructor(regionSizes: ArrayLike<number>, goodPixels: number, maxFpr: number) {
    if (!(maxFpr > 0 && maxFpr <= 1)) throw new RangeError(`maxFpr must be in (0, 1], got ${maxFpr}`);
    if (regionSizes.length === 0) throw new Error('AUPRO is undefined: there are no defect regions');
    if (!(goodPixels > 0)) throw new Error('AUPRO is undefined: there are no good pixels');
    this.regionCount = regionSizes.length;
    this.inverseSizes = new Float64Array(this.regionCount);
    for (let r = 0; r < this.regionCount; r++) this.inverseSizes[r] = 1 / regionSizes[r];
    this.goodPixels = goodPixels;
    this.maxFpr = maxFpr;
  }

  /** True once the curve has reached `maxFpr`; later groups cannot change the result. */
  get finished(): boolean {
    return this.done;
  }

  /** Counts one pixel of region `regionId` (1-based) as detected at the current threshold. */
  hitRegion(regionId: number): void {
    const x = this.inverseSizes[regionId - 1];
    const t = this.coveredSum + x;
    this.coveredCompensation +=
      Math.abs(this.coveredSum) >= Math.abs(x) ? this.coveredSum - t + x : x - t + this.coveredSum;
    this.coveredSum = t;
  }

  /** Closes the current tie group, which held `goodPixels` good pixels, adding its segment. */
  endGroup(goodPixels: number): void {
    if (this.done) return;
    this.falsePositives += goodPixels;
    const fpr = this.falsePositives / this.goodPixels;
    const pro = (this.coveredSum + this.coveredCompensation) / this.regionCount;
    if (fpr >= this.maxFpr) {
      // previousFpr < maxFpr <= fpr, so the segment has width and the division is safe.
      const proAtLimit =
        this.previousPro +
        ((pro - this.previousPro) * (this.maxFpr - this.previousFpr)) / (fpr - this.previousFpr);
      this.area += ((this.maxFpr - this.previousFpr) * (this.previousPro + proAtLimit)) / 2;
      this.done = true;
      return;
    }
    // A group with no good pixels is a vertical step: zero width, zero area, new PRO.
    this.area += ((fpr - this.previousFpr) * (this.previousPro + pro)) / 2;
    this.previousFpr = fpr;
    this.previousPro = pro;
  }

  /** The normalised area in [0, 1]. Throws if the sweep stopped before reaching `maxFpr`. */
  result(): number {
    if (!this.done) throw new Error('AUPRO sweep ended before reaching maxFpr');
    return this.area / this.maxFpr;
  }
}
