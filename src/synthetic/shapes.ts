/**
 * The shapes defects are drawn as: irregular blobs (stains, holes, discolouration) and polylines
 * (scratches, cracks), each visited pixel by pixel with an anti-aliased coverage.
 */
import type { Rng } from '../math/random';
import type { Canvas } from './canvas';
import { uniform } from './randomness';
import { clamp } from './scalar';

/** Irregular closed blob: radius varies with angle through a few random harmonics. */
export interface Blob {
  cx: number;
  cy: number;
  radius: number;
  harmonics: { k: number; amp: number; phase: number }[];
}

/** A blob of about `radius` pixels, `roughness` 0 = round, placed wholly inside the canvas. */
export function randomBlob(rng: Rng, c: Canvas, radius: number, roughness: number): Blob {
  const harmonics = [2, 3, 5].map((k) => ({
    k,
    amp: (roughness * uniform(rng, 0.3, 1)) / k ** 0.5,
    phase: uniform(rng, 0, 2 * Math.PI),
  }));
  // Keep the whole blob (radius can grow by the harmonics) inside the image.
  const reach = radius * (1 + roughness * 2) + 2;
  const cx = uniform(rng, Math.min(reach, c.width / 2), Math.max(c.width - reach, c.width / 2));
  const cy = uniform(rng, Math.min(reach, c.height / 2), Math.max(c.height - reach, c.height / 2));
  return { cx, cy, radius, harmonics };
}

/** Approximate signed distance to the blob edge, in pixels (negative inside). */
function blobDistance(b: Blob, x: number, y: number): number {
  const dx = x - b.cx;
  const dy = y - b.cy;
  const theta = Math.atan2(dy, dx);
  let r = 1;
  for (const h of b.harmonics) r += h.amp * Math.cos(h.k * theta + h.phase);
  return Math.hypot(dx, dy) - b.radius * r;
}

/** Calls `visit(x, y, alpha)` for every pixel the blob covers, with an edge `soft` px wide. */
export function paintBlob(
  c: Canvas,
  b: Blob,
  soft: number,
  visit: (x: number, y: number, alpha: number) => void,
): void {
  let maxR = 1;
  for (const h of b.harmonics) maxR += Math.abs(h.amp);
  const reach = b.radius * maxR + soft + 1;
  const x0 = Math.max(0, Math.floor(b.cx - reach));
  const x1 = Math.min(c.width - 1, Math.ceil(b.cx + reach));
  const y0 = Math.max(0, Math.floor(b.cy - reach));
  const y1 = Math.min(c.height - 1, Math.ceil(b.cy + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const alpha = clamp(0.5 - blobDistance(b, x, y) / soft, 0, 1);
      if (alpha > 0) visit(x, y, alpha);
    }
  }
}

/** Minimum distance from (x, y) to a polyline given as flat [x0, y0, x1, y1, ...]. */
function polylineDistance(pts: number[], x: number, y: number): number {
  let best = Infinity;
  for (let i = 0; i + 3 < pts.length; i += 2) {
    const ax = pts[i];
    const ay = pts[i + 1];
    const bx = pts[i + 2];
    const by = pts[i + 3];
    const vx = bx - ax;
    const vy = by - ay;
    const len2 = vx * vx + vy * vy;
    const t = len2 > 0 ? clamp(((x - ax) * vx + (y - ay) * vy) / len2, 0, 1) : 0;
    const d = Math.hypot(x - ax - t * vx, y - ay - t * vy);
    if (d < best) best = d;
  }
  return best;
}

/** Visits pixels near a polyline with the coverage `coverage(distance)` returns. */
export function paintPolyline(
  c: Canvas,
  pts: number[],
  reach: number,
  coverage: (d: number) => number,
  visit: (x: number, y: number, a: number) => void,
): void {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < pts.length; i += 2) {
    x0 = Math.min(x0, pts[i]);
    x1 = Math.max(x1, pts[i]);
    y0 = Math.min(y0, pts[i + 1]);
    y1 = Math.max(y1, pts[i + 1]);
  }
  const xa = Math.max(0, Math.floor(x0 - reach));
  const xb = Math.min(c.width - 1, Math.ceil(x1 + reach));
  const ya = Math.max(0, Math.floor(y0 - reach));
  const yb = Math.min(c.height - 1, Math.ceil(y1 + reach));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const a = coverage(polylineDistance(pts, x, y));
      if (a > 0) visit(x, y, a);
    }
  }
}

/** A random start point and direction such that a segment of `length` stays inside. */
export function randomSegment(rng: Rng, c: Canvas, length: number): { x: number; y: number; angle: number } {
  const angle = uniform(rng, 0, Math.PI);
  const hx = (Math.cos(angle) * length) / 2;
  const hy = (Math.sin(angle) * length) / 2;
  const mx = uniform(
    rng,
    Math.min(Math.abs(hx) + 2, c.width / 2),
    Math.max(c.width - Math.abs(hx) - 2, c.width / 2),
  );
  const my = uniform(
    rng,
    Math.min(Math.abs(hy) + 2, c.height / 2),
    Math.max(c.height - Math.abs(hy) - 2, c.height / 2),
  );
  return { x: mx - hx, y: my - hy, angle };
}
