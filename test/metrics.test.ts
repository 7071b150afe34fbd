import assert from 'node:assert/strict';
import {
  PixelMetricsAccumulator,
  auroc,
  bestF1Threshold,
  binariseMask,
  labelComponents,
  resizeMaskNearest,
  rocCurve,
} from '../src/eval/metrics';

// ---------------------------------------------------------------------------------------
// Independent reference implementations: deliberately naive, sharing no code with src/.
// ---------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG giving uniform floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** AUROC by comparing every (positive, negative) pair: O(P * N). */
function naiveAuroc(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

/** Distinct values, highest first (a Set merges -0 and +0, as it should). */
function distinctDescending(values: ArrayLike<number>): number[] {
  return [...new Set(Array.from(values))].sort((a, b) => b - a);
}

/** Best F1 by recounting the confusion matrix at every distinct threshold. */
function naiveBestF1(scores: ArrayLike<number>, labels: ArrayLike<boolean>) {
  let best = { threshold: NaN, f1: -1, precision: NaN, recall: NaN };
  const positives = Array.from(labels).filter((l) => l).length;
  for (const t of distinctDescending(scores)) {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] >= t) {
        if (labels[i]) tp++;
        else fp++;
      }
    }
    const precision = tp / (tp + fp);
    const recall = tp / positives;
    const f1 = tp === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    if (f1 > best.f1 + 1e-12) best = { threshold: t, f1, precision, recall };
  }
  return best;
}

/**
 * 8-connected labels by repeated min-propagation until nothing changes, then renumbered in
 * raster order of first appearance (the numbering labelComponents documents).
 */
function naiveComponents(mask: Uint8Array, w: number, h: number): { labels: Int32Array; count: number } {
  const lab = new Int32Array(w * h);
  for (let i = 0; i < w * h; i++) lab[i] = mask[i] ? i + 1 : 0;
  let changed = true;
  while (changed) {
    changed = false;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!lab[i]) continue;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const nx = x + dx;
            const ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
            const j = ny * w + nx;
            if (lab[j] && lab[j] < lab[i]) {
              lab[i] = lab[j];
              changed = true;
            }
          }
        }
      }
    }
  }
  const renumber = new Map<number, number>();
  for (let i = 0; i < lab.length; i++) {
    if (lab[i] && !renumber.has(lab[i])) renumber.set(lab[i], renumber.size + 1);
  }
  return { labels: lab.map((l) => (l ? renumber.get(l)! : 0)), count: renumber.size };
}

interface TestImage {
  map: Float32Array;
  mask: Uint8Array;
  width: number;
  height: number;
}

/** Pools the images into flat pixel lists with global region ids (0 = good). */
function pool(images: TestImage[]) {
  const scores: number[] = [];
  const region: number[] = [];
  let offset = 0;
  for (const im of images) {
    const { labels, count } = naiveComponents(im.mask, im.width, im.height);
    for (let i = 0; i < im.map.length; i++) {
      scores.push(im.map[i]);
      region.push(labels[i] ? labels[i] + offset : 0);
    }
    offset += count;
  }
  return { scores, region, regionCount: offset, labels: region.map((r) => r > 0) };
}

/** AUPRO straight from the definition: every distinct threshold, recounted from scratch. */
function naiveAupro(images: TestImage[], maxFpr: number): number {
  const { scores, region, regionCount } = pool(images);
  const size = new Array(regionCount + 1).fill(0);
  for (const r of region) size[r]++;
  const good = size[0];
  const points: Array<[number, number]> = [[0, 0]];
  for (const t of distinctDescending(scores)) {
    let fp = 0;
    const hit = new Array(regionCount + 1).fill(0);
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] >= t) {
        if (region[i] === 0) fp++;
        else hit[region[i]]++;
      }
    }
    let pro = 0;
    for (let r = 1; r <= regionCount; r++) pro += hit[r] / size[r];
    points.push([fp / good, pro / regionCount]);
  }
  let area = 0;
  for (let k = 1; k < points.length; k++) {
    const [x0, y0] = points[k - 1];
    const [x1, y1] = points[k];
    if (x1 <= maxFpr) {
      area += ((x1 - x0) * (y0 + y1)) / 2;
    } else {
      const y = y0 + ((y1 - y0) * (maxFpr - x0)) / (x1 - x0);
      area += ((maxFpr - x0) * (y0 + y)) / 2;
      break;
    }
  }
  return area / maxFpr;
}

/**
 * Random images: blobby masks (noise plus rectangles, so regions touch diagonally) and
 * scores raised on defects. `levels` > 0 quantises scores to that many steps per unit,
 * giving heavy ties, negative values and -0. `keepEdgesGood` leaves the top and bottom rows
 * good so the images can be stacked without regions merging across the seam.
 */
function randomImages(
  seed: number,
  count: number,
  opts: { levels?: number; width?: number; keepEdgesGood?: boolean } = {},
): TestImage[] {
  const rng = mulberry32(seed);
  const images: TestImage[] = [];
  for (let n = 0; n < count; n++) {
    const width = opts.width ?? 3 + Math.floor(rng() * 11);
    const height = 3 + Math.floor(rng() * 9);
    const mask = new Uint8Array(width * height);
    const defective = rng() < 0.7;
    if (defective) {
      for (let i = 0; i < mask.length; i++) mask[i] = rng() < 0.12 ? 1 : 0;
      const rw = 1 + Math.floor(rng() * 3);
      const rh = 1 + Math.floor(rng() * 3);
      const rx = Math.floor(rng() * (width - rw + 1));
      const ry = Math.floor(rng() * (height - rh + 1));
      for (let y = ry; y < ry + rh; y++) for (let x = rx; x < rx + rw; x++) mask[y * width + x] = 1;
    }
    if (opts.keepEdgesGood) {
      mask.fill(0, 0, width);
      mask.fill(0, (height - 1) * width);
    }
    const map = new Float32Array(width * height);
    for (let i = 0; i < map.length; i++) {
      const s = rng() + (mask[i] ? 0.45 : 0) - 0.4;
      map[i] = opts.levels ? Math.round(s * opts.levels) / opts.levels : s;
    }
    images.push({ map, mask, width, height });
  }
  return images;
}

function accumulate(images: TestImage[], chunkBits?: number): PixelMetricsAccumulator {
  const acc = new PixelMetricsAccumulator({ chunkBits });
  for (const im of images) acc.add(im.map, im.mask, im.width, im.height);
  return acc;
}

function assertClose(actual: number, expected: number, tolerance = 1e-12, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} vs ${expected}`);
}

// ---------------------------------------------------------------------------------------

describe('metrics: image AUROC', () => {
  it('hand-computed case', () => {
    // Positives 0.35, 0.8; negatives 0.1, 0.4. Pairs: 0.35>0.1 yes, 0.35>0.4 no,
    // 0.8>0.1 yes, 0.8>0.4 yes -> 3 of 4 = 0.75.
    assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  });

  it('counts tied positive/negative pairs as 1/2', () => {
    // Positives 2, 3; negatives 1, 2. 2>1: 1, 2=2: 1/2, 3>1: 1, 3>2: 1 -> 3.5 / 4 = 0.875.
    assert.equal(auroc([1, 2, 2, 3], [false, true, false, true]), 0.875);
    // Everything tied: every pair is a tie -> 0.5.
    assert.equal(auroc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]), 0.5);
  });

  it('is 1 for perfect separation and 0 for perfectly reversed scores', () => {
    assert.equal(auroc([0, 1, 2, 3], [0, 0, 1, 1]), 1);
    assert.equal(auroc([3, 2, 1, 0], [0, 0, 1, 1]), 0);
  });

  it('throws a clear error on single-class input', () => {
    assert.throws(() => auroc([1, 2, 3], [1, 1, 1]), /no negative/);
    assert.throws(() => auroc([1, 2, 3], [false, false, false]), /no positive/);
    assert.throws(() => auroc([], []), /no positive/);
  });

  it('rejects bad input', () => {
    assert.throws(() => auroc([1, 2], [1]), /2 scores but 1 labels/);
    assert.throws(() => auroc([1, NaN], [1, 0]), /NaN/);
    assert.throws(() => auroc([1, 2], [1, 2]), /label 1 is 2/);
  });

  it('gives ROC points whose trapezoid area is the AUROC', () => {
    // Scores 3 (+), 2 (+, -), 1 (-): P = 2, N = 2.
    // t=inf: (0,0); t=3: TP 1 -> (0, 0.5); t=2: TP 2, FP 1 -> (0.5, 1); t=1: (1, 1).
    const curve = rocCurve([3, 2, 2, 1], [1, 1, 0, 0]);
    assert.deepEqual(curve, { thresholds: [Infinity, 3, 2, 1], fpr: [0, 0, 0.5, 1], tpr: [0, 0.5, 1, 1] });
    // Area: 0.5 * (0.5 + 1) / 2 + 0.5 * 1 = 0.875 (positive 2 ties negative 2).
    assert.equal(auroc([3, 2, 2, 1], [1, 1, 0, 0]), 0.875);
  });

  it('matches the O(n^2) pair count on random data, continuous and heavily tied', () => {
    const rng = mulberry32(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + Math.floor(rng() * 200);
      const levels = trial % 2 === 0 ? 0 : 1 + Math.floor(rng() * 6);
      const labels = Array.from({ length: n }, (_, i) => (i < 2 ? i === 0 : rng() < 0.4));
      const scores = labels.map((l) => {
        const s = rng() + (l ? 0.3 : 0);
        return levels ? Math.round(s * levels) / levels : s;
      });
      const expected = naiveAuroc(scores, labels);
      assertClose(auroc(scores, labels), expected, 1e-12, `trial ${trial}`);
      const c = rocCurve(scores, labels);
      let area = 0;
      for (let k = 1; k < c.fpr.length; k++)
        area += ((c.fpr[k] - c.fpr[k - 1]) * (c.tpr[k] + c.tpr[k - 1])) / 2;
      assertClose(area, expected, 1e-12, `curve trial ${trial}`);
    }
  });
});

describe('metrics: best F1 threshold', () => {
  it('hand-computed case', () => {
    // P = 3. F1 = 2TP / (TP + FP + P) at each threshold:
    // 0.9: TP1 FP0 -> 2/4 = 0.5;  0.8: TP1 FP1 -> 2/5;  0.7: TP2 FP1 -> 4/6;
    // 0.6: TP3 FP1 -> 6/7 (best); 0.5: TP3 FP2 -> 6/8.
    const r = bestF1Threshold([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 1, 0]);
    assert.equal(r.threshold, 0.6);
    assertClose(r.f1, 6 / 7);
    assert.equal(r.precision, 0.75);
    assert.equal(r.recall, 1);
  });

  it('treats tied scores as one threshold', () => {
    // 0.9 holds a positive and a negative: TP1 FP1 -> 2/(1+1+2) = 0.5; 0.2: TP2 FP1 -> 4/5.
    const r = bestF1Threshold([0.9, 0.9, 0.2], [true, false, true]);
    assert.deepEqual(r, { threshold: 0.2, f1: 0.8, precision: 2 / 3, recall: 1 });
  });

  it('keeps the highest threshold among equal F1 values', () => {
    // 0.9: TP1 FP0 -> 2/(1+0+2) = 2/3; 0.5: TP2 FP2 -> 4/(2+2+2) = 2/3: the tie keeps 0.9.
    assert.equal(bestF1Threshold([0.9, 0.5, 0.5, 0.5], [1, 1, 0, 0]).threshold, 0.9);
  });

  it('throws without positives', () => {
    assert.throws(() => bestF1Threshold([1, 2], [0, 0]), /no positive/);
  });

  it('matches a brute-force search on random data', () => {
    const rng = mulberry32(11);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + Math.floor(rng() * 150);
      const levels = trial % 2 === 0 ? 0 : 1 + Math.floor(rng() * 5);
      const labels = Array.from({ length: n }, (_, i) => i === 0 || rng() < 0.3);
      const scores = labels.map((l) => {
        const s = rng() + (l ? 0.25 : 0);
        return levels ? Math.round(s * levels) / levels : s;
      });
      const expected = naiveBestF1(scores, labels);
      const actual = bestF1Threshold(scores, labels);
      assert.equal(actual.threshold, expected.threshold, `trial ${trial}`);
      assertClose(actual.f1, expected.f1);
      assertClose(actual.precision, expected.precision);
      assertClose(actual.recall, expected.recall);
    }
  });
});

describe('metrics: connected components', () => {
  it('joins diagonal neighbours (8-connectivity)', () => {
    const { labels, count } = labelComponents(Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), 3, 3);
    assert.equal(count, 1);
    assert.deepEqual(Array.from(labels), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('separates components and numbers them in raster order', () => {
    // 1 0 0 1
    // 0 0 0 1
    // 1 1 0 0   -> top-left alone, right column pair, bottom-left pair (no touching corner).
    const mask = Uint8Array.from([1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0]);
    const { labels, count } = labelComponents(mask, 4, 3);
    assert.equal(count, 3);
    assert.deepEqual(Array.from(labels), [1, 0, 0, 2, 0, 0, 0, 2, 3, 3, 0, 0]);
  });

  it('labels a U shape (branches that meet late) as one region', () => {
    const { count } = labelComponents(Uint8Array.from([1, 0, 1, 1, 0, 1, 1, 1, 1]), 3, 3);
    assert.equal(count, 1);
  });

  it('handles empty, full and large masks without recursion', () => {
    assert.equal(labelComponents(new Uint8Array(6), 3, 2).count, 0);
    const big = new Uint8Array(2000 * 1000).fill(1);
    const { labels, count } = labelComponents(big, 2000, 1000);
    assert.equal(count, 1);
    assert.equal(labels[labels.length - 1], 1);
  });

  it('rejects a size that does not match', () => {
    assert.throws(() => labelComponents(new Uint8Array(5), 3, 2), /5 values/);
  });

  it('matches naive min-propagation labelling on random masks', () => {
    for (const im of randomImages(3, 60)) {
      const expected = naiveComponents(im.mask, im.width, im.height);
      const actual = labelComponents(im.mask, im.width, im.height);
      assert.equal(actual.count, expected.count);
      assert.deepEqual(actual.labels, expected.labels);
    }
  });
});

describe('metrics: masks', () => {
  it('binarises at half of full scale', () => {
    // 8-bit: half of 255 is 127.5, so 127 is good and 128 is defect.
    assert.deepEqual(Array.from(binariseMask(Uint8Array.from([0, 1, 127, 128, 255]), 255)), [0, 0, 0, 1, 1]);
    // 16-bit: half of 65535 is 32767.5.
    assert.deepEqual(Array.from(binariseMask(Uint16Array.from([32767, 32768, 65535]), 65535)), [0, 1, 1]);
    assert.deepEqual(Array.from(binariseMask(Uint8Array.from([0, 1]), 1)), [0, 1]);
    assert.throws(() => binariseMask(new Uint8Array(1), 0), /full scale/);
  });

  it('upscales by nearest neighbour', () => {
    // 2x2 -> 4x4: every source pixel becomes a 2x2 block.
    const up = resizeMaskNearest(Uint8Array.from([1, 0, 0, 1]), 2, 2, 4, 4);
    assert.deepEqual(Array.from(up), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
  });

  it('downscales by sampling under each output pixel centre', () => {
    // 4x1 -> 2x1: centres at source x = floor((x + 0.5) * 2) = 1 and 3.
    assert.deepEqual(Array.from(resizeMaskNearest(Uint8Array.from([0, 1, 0, 0]), 4, 1, 2, 1)), [1, 0]);
    // 3x1 -> 2x1: floor(0.5 * 1.5) = 0, floor(1.5 * 1.5) = 2.
    assert.deepEqual(Array.from(resizeMaskNearest(Uint8Array.from([1, 0, 0]), 3, 1, 2, 1)), [1, 0]);
    // Same size is the identity.
    const m = Uint8Array.from([1, 0, 1, 1, 0, 0]);
    assert.deepEqual(resizeMaskNearest(m, 3, 2, 3, 2), m);
  });
});

/**
 * Hand example for the pixel metrics. 13 pixels in two images:
 *   A (3x2): scores [0.8 0.95 0.5 / 0.6 0.6 0.1], mask [1 0 0 / 1 0 0]
 *            -> region R1 = the left column (0.8, 0.6), size 2; good 0.95, 0.5, 0.6, 0.1.
 *   B (7x1): scores [0.9 0.4 0.3 0.2 0.2 0.05 0], mask [0 0 0 1 0 0 0]
 *            -> region R2 = {0.2}, size 1; good 0.9, 0.4, 0.3, 0.2, 0.05, 0.
 * Good pixels: 10, so FPR moves in steps of 0.1. Regions: 2.
 */
function handImages(): TestImage[] {
  return [
    {
      map: Float32Array.from([0.8, 0.95, 0.5, 0.6, 0.6, 0.1]),
      mask: Uint8Array.from([1, 0, 0, 1, 0, 0]),
      width: 3,
      height: 2,
    },
    {
      map: Float32Array.from([0.9, 0.4, 0.3, 0.2, 0.2, 0.05, 0]),
      mask: Uint8Array.from([0, 0, 0, 1, 0, 0, 0]),
      width: 7,
      height: 1,
    },
  ];
}

describe('metrics: pixel accumulator', () => {
  it('hand-computed pixel AUROC', () => {
    // Positives 0.8, 0.6, 0.2 against the 10 good pixels:
    // 0.8 beats 8 (all but 0.95, 0.9); 0.6 beats 7 and ties 1 -> 7.5; 0.2 beats 3, ties 1 -> 3.5.
    // (8 + 7.5 + 3.5) / 30 = 19 / 30.
    const acc = accumulate(handImages());
    assert.equal(acc.pixelCount, 13);
    assert.equal(acc.defectPixelCount, 3);
    assert.equal(acc.goodPixelCount, 10);
    assert.equal(acc.regionCount, 2);
    assert.equal(acc.imageCount, 2);
    assertClose(acc.pixelAUROC(), 19 / 30);
  });

  it('hand-computed AUPRO, including the cut at maxFpr', () => {
    // Thresholds high to low, (FPR, PRO) with PRO = mean of (R1 covered / 2, R2 covered / 1):
    //   start (0, 0); 0.95 good -> (0.1, 0); 0.9 good -> (0.2, 0); 0.8 R1 -> (0.2, 0.25);
    //   0.6 R1 + good -> (0.3, 0.5); 0.5, 0.4, 0.3 good -> (0.4..0.6, 0.5);
    //   0.2 R2 + good -> (0.7, 1); 0.1, 0.05, 0 good -> (0.8..1, 1).
    const acc = accumulate(handImages());
    // maxFpr 0.25 falls inside the 0.6 step (0.2, 0.25) -> (0.3, 0.5): PRO(0.25) = 0.375.
    // Area = 0 (FPR 0..0.2) + 0.05 * (0.25 + 0.375) / 2 = 0.015625; / 0.25 = 0.0625.
    assertClose(acc.aupro(0.25), 0.0625);
    // maxFpr 0.3 lands on a point: 0.1 * (0.25 + 0.5) / 2 = 0.0375; / 0.3 = 0.125.
    assertClose(acc.aupro(0.3), 0.125);
    assertClose(acc.aupro(), 0.125);
    // Whole curve: 0.0375 + 0.3 * 0.5 (0.3..0.6) + 0.1 * (0.5 + 1) / 2 (0.6..0.7) + 0.3 * 1 = 0.5625.
    assertClose(acc.aupro(1), 0.5625);
  });

  it('hand-computed best pixel F1', () => {
    // P = 3: 0.8: TP1 FP2 -> 2/6; 0.6: TP2 FP3 -> 4/8 = 0.5 (best); 0.5: TP2 FP4 -> 4/9;
    // 0.2: TP3 FP7 -> 6/13; 0: TP3 FP10 -> 6/16.
    const r = accumulate(handImages()).bestPixelF1();
    assert.equal(r.threshold, Math.fround(0.6));
    assert.equal(r.f1, 0.5);
    assert.equal(r.precision, 0.4);
    assertClose(r.recall, 2 / 3);
  });

  it('is 1 for a perfect detector', () => {
    const acc = new PixelMetricsAccumulator();
    acc.add(Float32Array.from([1, 0, 0, 1]), Uint8Array.from([1, 0, 0, 1]), 2, 2);
    acc.add(Float32Array.from([0, 0]), Uint8Array.from([0, 0]), 2, 1);
    // Curve (0, 0) -> (0, 1) -> (1, 1): PRO is 1 at every FPR > 0.
    assert.equal(acc.aupro(), 1);
    assert.equal(acc.pixelAUROC(), 1);
    assert.equal(acc.regionCount, 1); // the two diagonal defect pixels are one region
  });

  it('counts a diagonal chain as one region in AUPRO', () => {
    // Diagonal pair (size 2) with scores 0.9 and 0.1, good pixels 0.5 and 0.5.
    // 8-connected: one region. 0.9 -> (0, 0.5); 0.5 -> (1, 0.5); 0.1 -> (1, 1).
    // Area to FPR 1 = 0.5. (Two 4-connected regions would also give 0.5 here, so check the count.)
    const acc = new PixelMetricsAccumulator();
    acc.add(Float32Array.from([0.9, 0.5, 0.5, 0.1]), Uint8Array.from([1, 0, 0, 1]), 2, 2);
    assert.equal(acc.regionCount, 1);
    assert.equal(acc.aupro(1), 0.5);
  });

  it('throws when a figure is undefined or the input is bad', () => {
    const good = new PixelMetricsAccumulator();
    good.add(Float32Array.from([1, 2]), Uint8Array.from([0, 0]), 2, 1);
    assert.throws(() => good.pixelAUROC(), /no positive/);
    assert.throws(() => good.aupro(), /no defect regions/);
    assert.throws(() => good.bestPixelF1(), /no positive/);
    const bad = new PixelMetricsAccumulator();
    bad.add(Float32Array.from([1, 2]), Uint8Array.from([1, 1]), 2, 1);
    assert.throws(() => bad.pixelAUROC(), /no negative/);
    assert.throws(() => bad.aupro(), /no good pixels/);
    const acc = accumulate(handImages());
    assert.throws(() => acc.aupro(0), /maxFpr/);
    assert.throws(() => acc.aupro(1.5), /maxFpr/);
    assert.throws(() => acc.add(Float32Array.from([NaN]), Uint8Array.from([0]), 1, 1), /NaN/);
    assert.throws(() => acc.add(new Float32Array(4), new Uint8Array(3), 2, 2), /3 values/);
    assert.equal(acc.pixelCount, 13); // failed adds leave the state alone
  });

  it('orders negative scores, -0 and infinities correctly', () => {
    // Scores -inf, -2, -0, 0, 3, inf with labels 0 0 1 0 1 1: -0 and 0 must tie.
    const map = Float32Array.from([-Infinity, -2, -0, 0, 3, Infinity]);
    const mask = Uint8Array.from([0, 1, 0, 1, 0, 1]); // alternating in 1 row: no two defects touch
    const acc = new PixelMetricsAccumulator();
    acc.add(map, mask, 6, 1);
    const labels = Array.from(mask, (m) => m === 1);
    assertClose(acc.pixelAUROC(), naiveAuroc(map, labels));
    assertClose(acc.aupro(0.5), naiveAupro([{ map, mask, width: 6, height: 1 }], 0.5));
  });

  for (const levels of [0, 3, 10]) {
    const kind = levels ? `scores quantised to 1/${levels} (many ties, -0)` : 'continuous scores';
    it(`matches brute force on random images, ${kind}`, () => {
      for (let trial = 0; trial < 8; trial++) {
        const images = randomImages(100 * levels + trial, 3 + trial, { levels });
        const { scores, labels } = pool(images);
        if (!labels.includes(true) || !labels.includes(false)) continue;
        for (const chunkBits of [undefined, 3]) {
          const acc = accumulate(images, chunkBits);
          assertClose(acc.pixelAUROC(), naiveAuroc(scores, labels), 1e-12, 'AUROC');
          for (const maxFpr of [0.05, 0.3, 1]) {
            assertClose(acc.aupro(maxFpr), naiveAupro(images, maxFpr), 1e-12, `AUPRO ${maxFpr}`);
          }
          const f1 = acc.bestPixelF1();
          const expected = naiveBestF1(scores, labels);
          assert.equal(f1.threshold, expected.threshold);
          assertClose(f1.f1, expected.f1);
          assertClose(f1.precision, expected.precision);
          assertClose(f1.recall, expected.recall);
        }
      }
    });
  }

  it('gives the same figures for images added one by one as for one stacked image', () => {
    const width = 9;
    const images = randomImages(42, 12, { levels: 4, width, keepEdgesGood: true });
    const height = images.reduce((h, im) => h + im.height, 0);
    const map = new Float32Array(width * height);
    const mask = new Uint8Array(width * height);
    let offset = 0;
    for (const im of images) {
      map.set(im.map, offset);
      mask.set(im.mask, offset);
      offset += im.map.length;
    }
    const stacked = new PixelMetricsAccumulator();
    stacked.add(map, mask, width, height);
    for (const chunkBits of [undefined, 2, 5]) {
      const separate = accumulate(images, chunkBits);
      assert.equal(separate.regionCount, stacked.regionCount);
      assert.equal(separate.pixelAUROC(), stacked.pixelAUROC());
      assert.equal(separate.aupro(), stacked.aupro());
      assert.equal(separate.aupro(0.07), stacked.aupro(0.07));
      assert.deepEqual(separate.bestPixelF1(), stacked.bestPixelF1());
    }
  });

  it('can keep adding after computing figures', () => {
    const [a, b] = handImages();
    const acc = new PixelMetricsAccumulator({ chunkBits: 2 });
    acc.add(a.map, a.mask, a.width, a.height);
    assert.ok(acc.pixelAUROC() > 0);
    acc.add(b.map, b.mask, b.width, b.height);
    assertClose(acc.pixelAUROC(), 19 / 30);
    assertClose(acc.aupro(0.25), 0.0625);
  });

  it('handles over a million pixels across storage chunks, agreeing with the array functions', function () {
    this.timeout(60000);
    const rng = mulberry32(5);
    const images: TestImage[] = [];
    for (let n = 0; n < 5; n++) {
      const width = 512;
      const height = 512;
      const mask = new Uint8Array(width * height);
      // A few rectangular defects per image.
      for (let d = 0; d < 3; d++) {
        const x0 = Math.floor(rng() * 450);
        const y0 = Math.floor(rng() * 450);
        for (let y = y0; y < y0 + 40; y++) mask.fill(1, y * width + x0, y * width + x0 + 20 + d * 10);
      }
      const map = new Float32Array(width * height);
      for (let i = 0; i < map.length; i++) map[i] = Math.round((rng() + (mask[i] ? 0.3 : 0)) * 1000) / 1000;
      images.push({ map, mask, width, height });
    }
    const acc = accumulate(images);
    assert.equal(acc.pixelCount, 5 * 512 * 512);
    const scores = new Float32Array(acc.pixelCount);
    const labels = new Uint8Array(acc.pixelCount);
    let o = 0;
    for (const im of images) {
      scores.set(im.map, o);
      labels.set(im.mask, o);
      o += im.map.length;
    }
    assertClose(acc.pixelAUROC(), auroc(scores, labels), 1e-12);
    assert.deepEqual(acc.bestPixelF1(), bestF1Threshold(scores, labels));
    const a = acc.aupro();
    assert.ok(a > 0 && a < 1);
  });
});
