/**
 * From the coarse grid of Mahalanobis distances to the final anomaly map (PaDiM step 4):
 * bilinear upsampling to the network input size (half-pixel centres, like PyTorch
 * `interpolate(..., align_corners=False)`), Gaussian smoothing (sigma 4, 33 taps, like anomalib's
 * kornia blur with `reflect` borders), image score = max of the smoothed map. Also maps an
 * input-sized map back onto the original image's pixel grid.
 *
 * All maps are row-major float32, height x width. Loops work on precomputed index/weight tables
 * so that no per-pixel allocation or branching on borders happens in the hot paths.
 */
import type { Extent } from '../linalg/shapes';
import type { InputGeometry, ScoreMap } from '../types';

/** Gaussian sigma anomalib and the PaDiM paper use, in input pixels. */
export const DEFAULT_SIGMA = 4;

export interface AnomalyMapOptions {
  /** Gaussian sigma in input pixels; 0 skips smoothing. Default {@link DEFAULT_SIGMA}. */
  sigma?: number;
  /** Odd number of taps; default {@link defaultKernelSize}(sigma), 33 for sigma 4. */
  kernelSize?: number;
}

function checkDims(what: string, size: Extent, length?: number): void {
  const { height: h, width: w } = size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new RangeError(`${what}: dimensions must be positive integers, got ${h}x${w}`);
  }
  if (length !== undefined && length !== h * w) {
    throw new RangeError(`${what}: array has ${length} values, expected ${h}x${w} = ${h * w}`);
  }
}

/**
 * Per-output-index source taps for 1-D linear interpolation with half-pixel centres:
 * out[i] = in[i0[i]] * (1 - t[i]) + in[i1[i]] * t[i].
 */
interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  t: Float32Array;
}

/** One axis of a resize: samples in, samples out. */
interface AxisResize {
  inSize: number;
  outSize: number;
}

/**
 * PyTorch's align_corners=False rule: src = (dst + 0.5) * in/out - 0.5, negative src clamped to 0
 * and the upper neighbour clamped to in - 1, so borders repeat the edge value instead of extrapolating.
 */
function linearTaps({ inSize, outSize }: AxisResize): LinearTaps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const src = Math.max((d + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    t[d] = src - lo;
  }
  return { i0, i1, t };
}

/**
 * Bilinear resize of a gh x gw grid to outH x outW (PyTorch `mode='bilinear', align_corners=False`);
 * returns the resized map's data, row-major [out.height, out.width].
 * Separable: rows are interpolated horizontally first (gh x outW), then pairs of rows are blended.
 */
export function upsampleBilinear(input: ScoreMap, out: Extent): Float32Array {
  const { data: grid, height: gh, width: gw } = input;
  const { height: outH, width: outW } = out;
  checkDims('upsampleBilinear input', input, grid.length);
  checkDims('upsampleBilinear output', out);
  const xs = linearTaps({ inSize: gw, outSize: outW });
  const ys = linearTaps({ inSize: gh, outSize: outH });

  const rows = new Float32Array(gh * outW);
  for (let y = 0; y < gh; y++) {
    const src = y * gw;
    const dst = y * outW;
    for (let x = 0; x < outW; x++) {
      const a = grid[src + xs.i0[x]];
      const b = grid[src + xs.i1[x]];
      rows[dst + x] = a + (b - a) * xs.t[x];
    }
  }

  const result = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const r0 = ys.i0[y] * outW;
    const r1 = ys.i1[y] * outW;
    const wy = ys.t[y];
    const dst = y * outW;
    for (let x = 0; x < outW; x++) {
      const a = rows[r0 + x];
      result[dst + x] = a + (rows[r1 + x] - a) * wy;
    }
  }
  return result;
}

/** anomalib's rule (2 * int(4 * sigma + 0.5) + 1): the kernel reaches 4 sigma each side; 33 for sigma 4. */
export function defaultKernelSize(sigma: number): number {
  return 2 * Math.round(4 * sigma) + 1;
}

/** Sampled Gaussian exp(-x^2 / (2 sigma^2)) at x = -r..r (r = (size-1)/2), normalised to sum 1. */
export function gaussianKernel1d(sigma: number, size: number): Float32Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) {
    throw new RangeError(`gaussian sigma must be a finite number > 0, got ${sigma}`);
  }
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) {
    throw new RangeError(`gaussian kernel size must be a positive odd integer, got ${size}`);
  }
  const r = (size - 1) / 2;
  const k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - r;
    k[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    sum += k[i];
  }
  return Float32Array.from(k, (v) => v / sum);
}

/**
 * Index of source sample for a possibly out-of-range index `i` on an axis of length n, mirroring
 * WITHOUT repeating the edge sample: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ... This is PyTorch/kornia
 * `reflect` padding, numpy.pad 'reflect' and scipy.ndimage 'mirror' (NOT scipy's 'reflect', which
 * repeats the edge). Unlike PyTorch, a pad wider than the axis is allowed: the mirroring continues
 * periodically (period 2(n-1)), and a length-1 axis just repeats its only sample.
 */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

/** For j in 0..n+2r-1, the source index of padded position j (= reflectIndex(j - r, n)). */
function reflectTable(n: number, r: number): Int32Array {
  const table = new Int32Array(n + 2 * r);
  for (let j = 0; j < table.length; j++) table[j] = reflectIndex(j - r, n);
  return table;
}

/**
 * Separable Gaussian blur with `reflect` borders (see {@link reflectIndex}) and a normalised kernel,
 * matching kornia's `gaussian_blur2d(..., border_type='reflect')` as used by anomalib; returns the
 * blurred data, row-major [map.height, map.width].
 * Default kernelSize is {@link defaultKernelSize}(sigma): 33 taps for sigma 4.
 */
export function gaussianBlur(
  map: ScoreMap,
  sigma = DEFAULT_SIGMA,
  kernelSize = defaultKernelSize(sigma),
): Float32Array {
  const { height: h, width: w } = map;
  checkDims('gaussianBlur', map, map.data.length);
  // Taps as float64: the products are float64 anyway, and V8 runs these loops faster without conversions.
  const kernel = {
    taps: Float64Array.from(gaussianKernel1d(sigma, kernelSize)),
    radius: (kernelSize - 1) / 2,
  };
  const tmp = { data: new Float32Array(h * w), height: h, width: w };
  blurRows(map, tmp.data, kernel);
  const out = new Float32Array(h * w);
  blurColumns(tmp, out, kernel);
  return out;
}

/** A symmetric kernel's taps (2 radius + 1 of them), as float64. */
interface Kernel {
  taps: Float64Array;
  radius: number;
}

/**
 * Horizontal pass. Each row is copied once into a reflect-padded scratch row, so the tap loop has no
 * border tests; the kernel's symmetry halves the multiplications (k[r-j] = k[r+j]).
 */
function blurRows(map: ScoreMap, dst: Float32Array, kernel: Kernel): void {
  const { data: src, height: h, width: w } = map;
  const { taps: k, radius: r } = kernel;
  const table = reflectTable(w, r);
  const padded = new Float64Array(w + 2 * r);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let j = 0; j < padded.length; j++) padded[j] = src[row + table[j]];
    for (let x = 0; x < w; x++) {
      const c = x + r; // centre tap in padded coordinates
      let acc = k[r] * padded[c];
      for (let j = 1; j <= r; j++) acc += k[r + j] * (padded[c - j] + padded[c + j]);
      dst[row + x] = acc;
    }
  }
}

/**
 * Vertical pass, row-oriented so memory is read contiguously: each output row accumulates whole source
 * rows (chosen through the reflect table) scaled by one tap, in a float64 scratch row.
 */
function blurColumns(map: ScoreMap, dst: Float32Array, kernel: Kernel): void {
  const { data: src, height: h, width: w } = map;
  const { taps: k, radius: r } = kernel;
  const table = reflectTable(h, r);
  const acc = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    const c = y + r;
    const centre = table[c] * w;
    const kc = k[r];
    for (let x = 0; x < w; x++) acc[x] = kc * src[centre + x];
    for (let j = 1; j <= r; j++) {
      const above = table[c - j] * w;
      const below = table[c + j] * w;
      const kj = k[r + j];
      for (let x = 0; x < w; x++) acc[x] += kj * (src[above + x] + src[below + x]);
    }
    dst.set(acc, y * w); // set() converts float64 -> float32
  }
}

/** Largest value of a map (NaN if the map contains NaN, so bad distances are never hidden). */
function maxOf(data: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v > m) m = v;
    else if (v !== v) return NaN;
  }
  return m;
}

/**
 * The PaDiM anomaly map: the distance grid upsampled to `out` (the network input's size, in
 * pixels) and smoothed; the image score is the map's maximum. `opts.sigma: 0` returns the
 * unsmoothed upsampled map.
 */
export function makeAnomalyMap(
  grid: ScoreMap,
  out: Extent,
  opts: AnomalyMapOptions = {},
): { map: ScoreMap; score: number } {
  const sigma = opts.sigma ?? DEFAULT_SIGMA;
  const { height, width } = out;
  const up = { data: upsampleBilinear(grid, out), height, width };
  const data = sigma === 0 ? up.data : gaussianBlur(up, sigma, opts.kernelSize ?? defaultKernelSize(sigma));
  return { map: { data, width, height }, score: maxOf(data) };
}

/**
 * Taps for one axis of {@link mapToOriginal}. Original pixel X has its centre at X + 0.5; in input
 * coordinates that is u = (X + 0.5 - offset) / scale (input pixel x spans [x, x + 1)). Pixels whose
 * centre falls outside [0, inSize] were cropped away and get `inside = 0`; the rest interpolate
 * linearly between input pixel centres at u - 0.5, clamped to the edge samples as in
 * {@link upsampleBilinear}, so for the `resize` protocol this equals a PyTorch align_corners=False resize.
 */
function originalAxisTaps(
  { inSize, outSize }: AxisResize,
  offset: number,
  scale: number,
): LinearTaps & { inside: Uint8Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const inside = new Uint8Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const u = (d + 0.5 - offset) / scale;
    if (u < 0 || u > inSize) continue;
    inside[d] = 1;
    const src = Math.min(Math.max(u - 0.5, 0), inSize - 1);
    const lo = Math.floor(src);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    t[d] = src - lo;
  }
  return { i0, i1, t, inside };
}

/**
 * Resamples an input-sized map (e.g. the anomaly map) onto the original image's pixel grid
 * (originalWidth x originalHeight after EXIF orientation), bilinearly. Where the `resize-crop`
 * protocol cut parts of the original away, the result is `fill`.
 */
export function mapToOriginal(map: ScoreMap, geometry: InputGeometry, fill = 0): ScoreMap {
  checkDims('mapToOriginal map', map, map.data.length);
  const { originalWidth: ow, originalHeight: oh } = geometry;
  checkDims('mapToOriginal original', { height: oh, width: ow });
  if (!(geometry.scaleX > 0) || !(geometry.scaleY > 0)) {
    throw new RangeError(`mapToOriginal: scales must be > 0, got ${geometry.scaleX}, ${geometry.scaleY}`);
  }
  const xs = originalAxisTaps({ inSize: map.width, outSize: ow }, geometry.left, geometry.scaleX);
  const ys = originalAxisTaps({ inSize: map.height, outSize: oh }, geometry.top, geometry.scaleY);
  const src = map.data;
  const w = map.width;
  const out = new Float32Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    const dst = y * ow;
    if (!ys.inside[y]) {
      out.fill(fill, dst, dst + ow);
      continue;
    }
    const r0 = ys.i0[y] * w;
    const r1 = ys.i1[y] * w;
    const wy = ys.t[y];
    for (let x = 0; x < ow; x++) {
      if (!xs.inside[x]) {
        out[dst + x] = fill;
        continue;
      }
      const a0 = src[r0 + xs.i0[x]];
      const a = a0 + (src[r0 + xs.i1[x]] - a0) * xs.t[x];
      const b0 = src[r1 + xs.i0[x]];
      const b = b0 + (src[r1 + xs.i1[x]] - b0) * xs.t[x];
      out[dst + x] = a + (b - a) * wy;
    }
  }
  return { data: out, width: ow, height: oh };
}
