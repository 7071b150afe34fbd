/**
 * One drawer per defect kind: each edits the canvas inside the region it draws from the seeded
 * PRNG, choosing dark or bright so the defect shows against the surface. Plus the last-resort
 * drawer addDefect falls back on when a defect lands where it barely shows.
 */
import type { Rng } from '../math/random';
import { blendPixel, meanLuma, pickDark, shortSide, type Canvas } from './canvas';
import type { DefectKind } from './kinds';
import { uniform } from './randomness';
import { clamp } from './scalar';
import { paintBlob, paintPolyline, randomBlob, randomSegment, type Blob } from './shapes';

/** Small blob of a different intensity: a stain, burn or fleck (radius 3-8% of short side). */
function drawSpot(c: Canvas, rng: Rng): void {
  const radius = Math.max(2, shortSide(c) * uniform(rng, 0.03, 0.08));
  const blob = randomBlob(rng, c, radius, 0.25);
  const dark = pickDark(
    rng,
    meanLuma(c, blob.cx - radius, blob.cy - radius, blob.cx + radius, blob.cy + radius),
  );
  const strength = uniform(rng, 0.5, 0.7);
  // Multiplicative toward black / toward white keeps a trace of the texture, like a real stain.
  const f = dark ? (v: number) => v * (1 - strength) : (v: number) => v + (255 - v) * strength;
  paintBlob(c, blob, Math.max(1, radius * 0.3), (x, y, a) => blendPixel(c, x, y, a, f));
}

/** A hole or chipped-out region: the texture is replaced by flat background. */
function drawMissing(c: Canvas, rng: Rng): void {
  const radius = Math.max(2, shortSide(c) * uniform(rng, 0.06, 0.11));
  const blob = randomBlob(rng, c, radius, 0.35);
  const luma = meanLuma(c, blob.cx - radius, blob.cy - radius, blob.cx + radius, blob.cy + radius);
  // Bright parts show a dark fixture behind the hole; dark parts show a lit backdrop.
  const fill = luma > 100 ? uniform(rng, 12, 30) : uniform(rng, 215, 240);
  paintBlob(c, blob, 1, (x, y, a) => blendPixel(c, x, y, a, () => fill));
}

/**
 * Discolouration: a region whose colour shifts while the texture stays (an additive
 * offset, so all texture contrast survives). On RGB the offset is a chroma shift with
 * no luma change; on grey there is no hue, so it becomes a brightness shift.
 */
function drawColour(c: Canvas, rng: Rng): void {
  const radius = Math.max(3, shortSide(c) * uniform(rng, 0.08, 0.14));
  const blob = randomBlob(rng, c, radius, 0.2);
  let offset: number[];
  if (c.colour === 3) {
    const phi = uniform(rng, 0, 2 * Math.PI);
    const magnitude = uniform(rng, 35, 50);
    // Unit vectors spanning the plane orthogonal to grey (1,1,1).
    const e1 = [2 / Math.sqrt(6), -1 / Math.sqrt(6), -1 / Math.sqrt(6)];
    const e2 = [0, 1 / Math.SQRT2, -1 / Math.SQRT2];
    offset = [0, 1, 2].map((i) => magnitude * (Math.cos(phi) * e1[i] + Math.sin(phi) * e2[i]));
  } else {
    const luma = meanLuma(c, blob.cx - radius, blob.cy - radius, blob.cx + radius, blob.cy + radius);
    offset = [(pickDark(rng, luma) ? -1 : 1) * uniform(rng, 35, 50)];
  }
  paintBlob(c, blob, Math.max(1, radius * 0.35), (x, y, a) =>
    blendPixel(c, x, y, a, (v, ch) => v + offset[ch]),
  );
}

/** Thin (1-3 px) dark or bright line, gently curved (a quadratic Bezier), random angle. */
function drawScratch(c: Canvas, rng: Rng): void {
  const length = Math.max(4, shortSide(c) * uniform(rng, 0.25, 0.5));
  const { x, y, angle } = randomSegment(rng, c, length);
  const ex = x + Math.cos(angle) * length;
  const ey = y + Math.sin(angle) * length;
  const bend = uniform(rng, -0.12, 0.12) * length;
  const qx = (x + ex) / 2 - Math.sin(angle) * bend;
  const qy = (y + ey) / 2 + Math.cos(angle) * bend;
  const pts: number[] = [];
  const steps = 24;
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    const u = 1 - t;
    pts.push(u * u * x + 2 * u * t * qx + t * t * ex, u * u * y + 2 * u * t * qy + t * t * ey);
  }
  const width = 1 + Math.floor(rng() * 3);
  const dark = pickDark(rng, meanLuma(c, Math.min(x, ex), Math.min(y, ey), Math.max(x, ex), Math.max(y, ey)));
  const strength = uniform(rng, 0.65, 0.8);
  const f = dark ? (v: number) => v * (1 - strength) : (v: number) => v + (255 - v) * strength;
  // Anti-aliased: full inside width/2, linear fall-off over the next half pixel either way.
  paintPolyline(
    c,
    pts,
    width,
    (d) => clamp(width / 2 + 0.5 - d, 0, 1),
    (px, py, a) => blendPixel(c, px, py, a, f),
  );
}

/** Hairline crack: a jagged 1 px dark random walk, no anti-aliasing so it stays 1 px. */
function drawCrack(c: Canvas, rng: Rng): void {
  const length = Math.max(4, shortSide(c) * uniform(rng, 0.2, 0.4));
  const start = randomSegment(rng, c, length);
  const segments = 14;
  const step = length / segments;
  const pts = [start.x, start.y];
  let angle = start.angle;
  let px = start.x;
  let py = start.y;
  for (let i = 0; i < segments; i++) {
    angle += uniform(rng, -0.5, 0.5);
    px = clamp(px + Math.cos(angle) * step, 1, c.width - 2);
    py = clamp(py + Math.sin(angle) * step, 1, c.height - 2);
    pts.push(px, py);
  }
  const f = (v: number) => v * 0.3;
  paintPolyline(
    c,
    pts,
    1,
    (d) => (d <= 0.5 ? 1 : 0),
    (x, y, a) => blendPixel(c, x, y, a, f),
  );
}

/**
 * Small spot: a fleck of paint, a pit or a speck of dirt, 2-4 px in radius whatever the image
 * size (a `spot` scales with the image). Dark or bright, whichever shows against the surface.
 */
function drawFleck(c: Canvas, rng: Rng): void {
  const radius = uniform(rng, 2, 4);
  const blob = randomBlob(rng, c, radius, 0.2);
  const dark = pickDark(rng, meanLuma(c, blob.cx - 4, blob.cy - 4, blob.cx + 4, blob.cy + 4));
  const strength = uniform(rng, 0.55, 0.75);
  const f = dark ? (v: number) => v * (1 - strength) : (v: number) => v + (255 - v) * strength;
  paintBlob(c, blob, 1, (x, y, a) => blendPixel(c, x, y, a, f));
}

/** The drawer of every defect kind. */
export const DRAWERS: Record<DefectKind, (c: Canvas, rng: Rng) => void> = {
  scratch: drawScratch,
  spot: drawSpot,
  missing: drawMissing,
  colour: drawColour,
  crack: drawCrack,
  fleck: drawFleck,
};

/** Whether `kind` names a defect a drawer exists for. */
export function isDefectKind(kind: string): kind is DefectKind {
  return kind in DRAWERS;
}

/** Last resort so the mask is never empty: invert a small disc hard (change >= 128). */
export function drawFallback(c: Canvas, rng: Rng): void {
  const radius = Math.max(1.5, shortSide(c) * 0.03);
  const blob: Blob = {
    cx: uniform(rng, 0, c.width - 1),
    cy: uniform(rng, 0, c.height - 1),
    radius,
    harmonics: [],
  };
  paintBlob(c, blob, 1, (x, y, a) => blendPixel(c, x, y, a >= 0.5 ? 1 : 0, (v) => (v >= 128 ? 0 : 255)));
}
