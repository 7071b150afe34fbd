/**
 * The model's input size when the user asks for `auto`: keep the training images' aspect ratio,
 * short side `short` pixels, both sides rounded to the backbone's largest stride.
 *
 * Squashing a long, thin part (a 1250x500 strip) into 256x256 shrinks it 4.9x along its length
 * and 2x across: a 1 px hairline crack along the strip disappears. With `auto` the same strip
 * becomes 640x256 (grid 160x64 cells), each axis scaled by the same factor. Every image of a
 * model shares the one size decided at fit time and stored in the model header, so scoring
 * uses exactly it; an image of another aspect is still resized to it, but the score result
 * carries a warning (see Scorer).
 */
import type { Backbone } from '../backbone/backbone';
import { batches } from '../math/batches';
import { readImageSize } from '../image';
import { median } from '../math/median';
import type { ImageInput, SizeProtocol } from '../types';
import { describeSize, MAX_INPUT_SIDE, SizeSpecError, type AutoSize } from './size-text';

/**
 * Cap on the grid: 16384 cells is a 256x1024 input at stride 4 (4x the 64x64 grid of a
 * 256x256 input). Memory and time of the fit and of scoring grow in proportion to the cells
 * (at d=550 every cell holds a 1.2 MB inverse covariance: 16384 cells are 20 GB), so a very
 * long image is not allowed to make the model arbitrarily large: above the cap the short side
 * is reduced until the grid fits, with a warning. An explicit WxH size is not capped.
 */
export const DEFAULT_MAX_CELLS = 16384;

/** Relative aspect difference tolerated between images of one model (2%). */
export const ASPECT_TOLERANCE = 0.02;

/** What the header records about an auto size, so scoring can check the aspect of new images. */
export interface AutoSizeRecord {
  /** short side asked for */
  short: number;
  /** width / height of the training images (their median) */
  aspect: number;
}

/** Strides of the backbone: of stage 1 (one grid cell) and the largest of the three stages. */
export interface BackboneStrides {
  grid: number;
  max: number;
}

export interface ResolvedSize {
  size: Extract<SizeProtocol, { kind: 'resize' }>;
  record: AutoSizeRecord;
  warnings: string[];
}

function relativeDifference(a: number, b: number): number {
  return Math.abs(a - b) / b;
}

/** `v` rounded to the nearest multiple of `step`, at least one step. */
function roundTo(v: number, step: number): number {
  return Math.max(step, Math.round(v / step) * step);
}

/**
 * The input size for training images of the given sizes. Pure arithmetic (see the file
 * comment); `warnings` explains every departure from what was asked.
 */
export function resolveAutoSize(
  imageSizes: readonly { width: number; height: number }[],
  auto: AutoSize,
  strides: BackboneStrides,
): ResolvedSize {
  if (imageSizes.length === 0) throw new Error('auto size: no training images to take the aspect from');
  const warnings: string[] = [];
  const aspects = imageSizes.map((s) => s.width / s.height);
  const aspect = median(aspects);
  const outliers = aspects.filter((a) => relativeDifference(a, aspect) > ASPECT_TOLERANCE).length;
  if (outliers > 0) {
    warnings.push(
      `${outliers} of ${aspects.length} training images differ in aspect (width/height ${Math.min(...aspects).toFixed(3)}` +
        ` to ${Math.max(...aspects).toFixed(3)}); the model uses the median ${aspect.toFixed(3)} and resizes the others to it`,
    );
  }
  const place = (short: number) => {
    const long = short * Math.max(aspect, 1 / aspect);
    const [w, h] = aspect >= 1 ? [long, short] : [short, long];
    return { width: roundTo(w, strides.max), height: roundTo(h, strides.max) };
  };
  let size = place(auto.short);
  const maxCells = auto.maxCells ?? DEFAULT_MAX_CELLS;
  const cells = (s: { width: number; height: number }) =>
    Math.floor(s.width / strides.grid) * Math.floor(s.height / strides.grid);
  if (cells(size) > maxCells || Math.max(size.width, size.height) > MAX_INPUT_SIDE) {
    const wanted = size;
    let short = auto.short;
    while (
      short > strides.max &&
      (cells(size) > maxCells || Math.max(size.width, size.height) > MAX_INPUT_SIDE)
    ) {
      short -= strides.max;
      size = place(short);
    }
    if (cells(size) > maxCells || Math.max(size.width, size.height) > MAX_INPUT_SIDE) {
      // so long and thin that even the smallest short side does not fit
      throw new SizeSpecError(
        `the training images' aspect ${aspect.toFixed(2)} is too extreme for size auto: even ${size.width}x${size.height} ` +
          `is over the cap of ${maxCells} grid cells or ${MAX_INPUT_SIDE} pixels a side; give an explicit size (--size WxH), or cut the images into tiles`,
      );
    }
    warnings.push(
      `auto size ${wanted.width}x${wanted.height} would make ${cells(wanted)} grid cells, more than the cap of ` +
        `${maxCells}: using ${size.width}x${size.height} (${cells(size)} cells); give an explicit WxH size to go above the cap`,
    );
  }
  return { size: { kind: 'resize', ...size }, record: { short: auto.short, aspect }, warnings };
}

/**
 * The warning for an image whose aspect differs from the model's auto-size aspect by more than
 * {@link ASPECT_TOLERANCE}, or undefined when it matches.
 */
export function aspectMismatch(
  record: AutoSizeRecord | undefined,
  size: SizeProtocol,
  original: { width: number; height: number },
): string | undefined {
  if (!record) return undefined;
  const aspect = original.width / original.height;
  if (relativeDifference(aspect, record.aspect) <= ASPECT_TOLERANCE) return undefined;
  return (
    `image ${original.width}x${original.height} (aspect ${aspect.toFixed(3)}) differs from the model's aspect ` +
    `${record.aspect.toFixed(3)}: it was resized to the model's ${describeSize(size)}, which distorts it`
  );
}

/**
 * Measures the strides by running the backbone once on a blank 256x256 image: every
 * network's stage sizes follow from its own architecture, so nothing has to be declared.
 * A stride is the power of two nearest to input / stage width: networks without padding
 * (SqueezeNet gives 63 and 15 cells for 256 pixels) lose a cell or two at the border.
 */
export async function measureStrides(backbone: Backbone): Promise<BackboneStrides> {
  const side = 256;
  const stages = (await backbone.run(new Float32Array(3 * side * side), 1, side, side))[0];
  const strides = stages.map((s) => 2 ** Math.round(Math.log2(side / s.width)));
  return { grid: strides[0], max: Math.max(...strides) };
}

/**
 * Resolves `auto` for a fit: reads the training images' sizes (headers only where the format
 * allows) and measures the backbone's strides. A backbone with a fixed input size gets that size.
 */
export async function resolveFitSize(
  choice: AutoSize,
  images: readonly ImageInput[],
  backbone: Backbone,
  maxPixels?: number,
): Promise<ResolvedSize> {
  // a few at a time: a path is read whole to find its size, and a set may hold thousands
  const sizes: { width: number; height: number }[] = [];
  for (const group of batches(images, 8))
    sizes.push(...(await Promise.all(group.map((image) => readImageSize(image, maxPixels)))));
  const fixed = backbone.fixedInput;
  if (fixed) {
    const resolved = resolveAutoSize(sizes, { ...choice, maxCells: Infinity }, { grid: 1, max: 1 });
    return {
      size: { kind: 'resize', ...fixed },
      record: resolved.record,
      warnings: [
        ...resolved.warnings,
        `backbone ${backbone.id} takes only ${fixed.width}x${fixed.height} input: size auto uses that size`,
      ],
    };
  }
  return resolveAutoSize(sizes, choice, await measureStrides(backbone));
}
