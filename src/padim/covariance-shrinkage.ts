/**
 * Guard for small training sets: shrinking each cell's covariance toward a multiple of the
 * identity when there are few images for the chosen d.
 *
 * With N images a cell's sample covariance has rank at most N - 1. PaDiM's eps (0.01 on the
 * diagonal) then decides alone how far every direction the few images did not span is
 * trusted: distances along them are scaled by 1/eps, the model is ill-conditioned and scores
 * of new good parts are dominated by noise. PaDiM's own setting, about 200 images at d=100
 * or d=550 (N/d from 0.4 to 2), works with eps alone; far below that it does not.
 *
 * The shrinkage is the Oracle Approximating Shrinkage of Chen, Wiesel, Eldar and Hero (2010),
 * the refinement of Ledoit-Wolf for Gaussian data. Its intensity rho comes from the sample
 * covariance S alone (tr S and tr S^2), which is what the streaming fit has at the end; the
 * Ledoit-Wolf intensity would need fourth moments of every image, which the fit does not keep:
 *   rho = min(1, ((1 - 2/d) tr(S^2) + tr(S)^2) / ((N + 1 - 2/d) (tr(S^2) - tr(S)^2 / d)))
 *   S'  = (1 - rho) S + rho (tr S / d) I
 * Each cell gets its own rho, so its smallest eigenvalue is at least rho tr(S)/d: the model is
 * well-conditioned whatever N is, and the more images, the smaller rho.
 */

import type { CellSquares } from '../linalg/shapes';

/** Fewer than this many images per dimension (N - 1 < d / 4) trigger the shrinkage. */
export const MIN_IMAGES_PER_DIM = 0.25;

/** How much data a covariance is estimated from: N images of d-dimensional vectors. */
export interface SampleSize {
  images: number;
  dims: number;
}

/** True when N images are too few for a stable d x d covariance (see the file comment). */
export function needsShrinkage({ images, dims }: SampleSize): boolean {
  return images - 1 < dims * MIN_IMAGES_PER_DIM;
}

/** The warning a fit gives when it shrinks. */
export function shrinkageWarning({ images, dims }: SampleSize, meanIntensity: number): string {
  return (
    `${images} training images are few for d=${dims} (a stable covariance needs at least ` +
    `${Math.ceil(dims * MIN_IMAGES_PER_DIM) + 1}): covariances shrunk toward the identity (OAS, mean intensity ` +
    `${meanIntensity.toFixed(2)}); add good images or lower d for a sharper model`
  );
}

/** The two traces OAS reads from a co-moment M (or covariance: rho is scale-free). */
export interface Traces {
  /** tr M */
  trace: number;
  /** tr(M^2) */
  traceOfSquare: number;
}

/** OAS intensity for a co-moment with the given traces, from `size.images` images. */
export function oasIntensity({ trace: tr, traceOfSquare: tr2 }: Traces, size: SampleSize): number {
  const d = size.dims;
  const denominator = (size.images + 1 - 2 / d) * (tr2 - (tr * tr) / d);
  // all eigenvalues equal (or a zero matrix): already a multiple of the identity
  if (!(denominator > 0)) return 1;
  return Math.min(1, ((1 - 2 / d) * tr2 + tr * tr) / denominator);
}

/**
 * Shrinks full symmetric co-moments ([cells, dims, dims], any positive scale) in place; returns
 * the intensity of each cell.
 */
export function shrinkInPlace(comoments: CellSquares, images: number): Float64Array {
  const { data: m, cells, dims: d } = comoments;
  const rho = new Float64Array(cells);
  for (let c = 0; c < cells; c++) {
    const o = c * d * d;
    let tr = 0;
    let tr2 = 0;
    for (let i = 0; i < d; i++) {
      tr += m[o + i * d + i];
      for (let j = 0; j < d; j++) tr2 += m[o + i * d + j] ** 2;
    }
    const r = oasIntensity({ trace: tr, traceOfSquare: tr2 }, { images, dims: d });
    rho[c] = r;
    const target = (r * tr) / d;
    for (let k = 0; k < d * d; k++) m[o + k] *= 1 - r;
    for (let i = 0; i < d; i++) m[o + i * d + i] += target;
  }
  return rho;
}
