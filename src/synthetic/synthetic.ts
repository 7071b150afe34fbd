/**
 * Deterministic synthetic "parts": textured images with drawn-in defects and exact masks.
 *
 * Why this exists: the tests, the offline demo and the small evaluation table all need
 * realistic-looking inspection data without downloading a data set. Everything here is a
 * pure function of a seed (no Math.random, no clock), so the same seed gives the same bytes
 * on every machine and every run.
 *
 * A "kind" fixes what the part looks like (period, orientation, colours); the seed only
 * draws the sample-to-sample variation a camera would see on a line (small shifts,
 * thread/tile jitter, sensor noise, lighting). A model therefore has to learn a
 * distribution, while every sample stays recognisably the same part.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { seededRng } from '../math/random';
import type { RawImage } from '../types';

export type TextureKind = 'woven' | 'brushed' | 'grain' | 'tiles';
export type DefectKind = 'scratch' | 'spot' | 'missing' | 'colour' | 'crack' | 'fleck';

/** Every texture kind. */
export const TEXTURE_KINDS: readonly TextureKind[] = ['woven', 'brushed', 'grain', 'tiles'];

/** The defect kinds a default data set contains (MVTec-like: 4 kinds). */
export const DEFECT_KINDS: readonly DefectKind[] = ['scratch', 'spot', 'missing', 'colour'];

/**
 * Defects that are available but not in the default data set: `crack` is a 1 px hairline and
 * `fleck` a spot 2-4 px in radius at any image size, much harder than the others, meant for
 * explicit "small defect" experiments (long parts photographed whole).
 */
export const EXTRA_DEFECT_KINDS: readonly DefectKind[] = ['crack', 'fleck'];

/** A pixel whose largest channel change is below this counts as unchanged (and is restored). */
export const MASK_CHANGE_THRESHOLD = 12;

// ---------------------------------------------------------------------------
// Randomness: a seeded PRNG for sequential draws, an integer hash for noise lattices.
// ---------------------------------------------------------------------------

/** Seeded uniform [0, 1) generator. */
type Rng = () => number;

/** mulberry32 (src/math/random.ts): tiny, fast, good enough for textures, identical in every JS engine. */
export const mulberry32: (seed: number) => Rng = seededRng;

/** Folds any finite number into 32 bits, so large or negative seeds still differ. */
function seedToUint32(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const t = Math.trunc(seed);
  return (t >>> 0) ^ Math.imul(Math.trunc(t / 4294967296) >>> 0, 0x9e3779b1);
}

/** Integer hash of up to three ints (a murmur3-style finaliser); used for lattice noise and seeds. */
function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a | 0, 0x27d4eb2d) ^ Math.imul(b | 0, 0x165667b1) ^ Math.imul(c | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash to [0, 1). */
function hashUnit(a: number, b: number, c: number): number {
  return hash3(a, b, c) / 4294967296;
}

/** Derives an independent seed for one stream (split, index) of a base seed. */
function deriveSeed(base: number, stream: number, index: number): number {
  return hash3(seedToUint32(base), stream + 0x51ed27, index + 0x1234567);
}

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Cheap approximately-normal draw (Irwin-Hall with 4 terms, unit variance). */
function normalish(rng: Rng): number {
  return (rng() + rng() + rng() + rng() - 2) * 1.7320508;
}

// ---------------------------------------------------------------------------
// Value noise: smooth, band-limited randomness for fibres, grain and mottling.
// ---------------------------------------------------------------------------

/** Quintic fade so noise has continuous slope across lattice cells (no grid artefacts). */
function fade(t: number): number {
  return t * t * t * (t * (t * 6 - 15) + 10);
}

/** 2D value noise in [0, 1), lattice spacing 1, lattice values hashed from `salt`. */
function valueNoise(x: number, y: number, salt: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const u = fade(x - ix);
  const v = fade(y - iy);
  const a = hashUnit(ix, iy, salt);
  const b = hashUnit(ix + 1, iy, salt);
  const c = hashUnit(ix, iy + 1, salt);
  const d = hashUnit(ix + 1, iy + 1, salt);
  const top = a + (b - a) * u;
  const bottom = c + (d - c) * u;
  return top + (bottom - top) * v;
}

/** Fractal sum of value noise octaves, roughly in [0, 1): large shapes plus finer detail. */
function fbm(x: number, y: number, salt: number, octaves: number): number {
  let sum = 0;
  let amplitude = 0.5;
  let norm = 0;
  let f = 1;
  for (let o = 0; o < octaves; o++) {
    sum += amplitude * valueNoise(x * f, y * f, salt + o * 1013);
    norm += amplitude;
    amplitude *= 0.5;
    f *= 2.03; // not exactly 2, so octave lattices do not line up
  }
  return sum / norm;
}

// ---------------------------------------------------------------------------
// Textures. Each kind builds a shader (x, y) -> RGB floats from a per-sample RNG;
// the shared renderer adds lighting gain, sensor noise and quantisation.
// ---------------------------------------------------------------------------

type Rgb = [number, number, number];
type Shader = (x: number, y: number, out: Rgb) => void;

interface SampleVariation {
  shader: Shader;
  /** global brightness factor (lighting / exposure drift) */
  gain: number;
  /** per-pixel sensor noise standard deviation, in 8-bit levels */
  noise: number;
}

function mix(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Plain-weave canvas: threads of fixed width alternate over/under. The weave phase is
 * free (fabric is not registered to the camera); per-thread tone and fibre noise vary.
 */
function wovenShader(rng: Rng): SampleVariation {
  const threadWidth = 6;
  const warp: Rgb = [168, 140, 104]; // vertical threads
  const weft: Rgb = [188, 162, 122]; // horizontal threads, a little lighter
  const dx = uniform(rng, 0, 2 * threadWidth);
  const dy = uniform(rng, 0, 2 * threadWidth);
  const salt = (rng() * 1e9) | 0;
  return {
    gain: uniform(rng, 0.95, 1.05),
    noise: 3,
    shader: (x, y, out) => {
      const tx = (x + dx) / threadWidth;
      const ty = (y + dy) / threadWidth;
      const i = Math.floor(tx);
      const j = Math.floor(ty);
      const fx = tx - i;
      const fy = ty - j;
      const warpOnTop = ((i + j) & 1) === 0;
      // Across a thread it is round (dark at the gaps); along it, it dips where it goes under.
      const across = warpOnTop ? fx : fy;
      const along = warpOnTop ? fy : fx;
      const thread = warpOnTop ? i : j;
      const shape = (0.5 + 0.5 * Math.sin(Math.PI * across)) * (0.82 + 0.18 * Math.sin(Math.PI * along));
      const threadTone = 0.93 + 0.14 * hashUnit(thread, warpOnTop ? 1 : 2, salt);
      // Fibres: noise stretched along the thread direction.
      const fibre = warpOnTop
        ? valueNoise(x * 0.9, y * 0.15, salt + 7)
        : valueNoise(x * 0.15, y * 0.9, salt + 9);
      const k = shape * threadTone * (0.9 + 0.2 * fibre);
      const c = warpOnTop ? warp : weft;
      out[0] = c[0] * k;
      out[1] = c[1] * k;
      out[2] = c[2] * k;
    },
  };
}

/**
 * Brushed metal: fine streaks along a fixed direction (~11 degrees), long along the
 * brushing direction and narrow across it, plus a broad sheen. The streak pattern itself
 * is new for every sample, as it would be on real sheet.
 */
function brushedShader(rng: Rng): SampleVariation {
  const angle = 0.2;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const base: Rgb = [150, 155, 163]; // cool grey steel
  const salt = (rng() * 1e9) | 0;
  const sheenPhase = uniform(rng, -0.4, 0.4);
  return {
    gain: uniform(rng, 0.96, 1.04),
    noise: 3,
    shader: (x, y, out) => {
      const u = x * cos + y * sin; // along the brushing
      const v = -x * sin + y * cos; // across it
      const streaks =
        0.5 * valueNoise(u / 90, v / 1.1, salt) +
        0.3 * valueNoise(u / 160, v / 3.5, salt + 1) +
        0.2 * valueNoise(u / 40, v / 0.7, salt + 2);
      const sheen = 1 + 0.07 * Math.sin(v / 70 + sheenPhase);
      const k = sheen * (0.78 + 0.44 * streaks);
      out[0] = base[0] * k;
      out[1] = base[1] * k;
      out[2] = base[2] * k;
    },
  };
}

/**
 * Wood grain: growth rings run horizontally and are bent by low-frequency fBm (a few
 * octaves of value noise); fine fibre noise and a slow colour drift sit on top.
 */
function grainShader(rng: Rng): SampleVariation {
  const light: Rgb = [212, 168, 118];
  const dark: Rgb = [150, 98, 60];
  const ringPeriod = 16;
  const salt = (rng() * 1e9) | 0;
  const ox = uniform(rng, 0, 1000);
  const oy = uniform(rng, 0, 1000);
  const ringPhase = rng();
  return {
    gain: uniform(rng, 0.95, 1.05),
    noise: 2.5,
    shader: (x, y, out) => {
      const warp = fbm((x + ox) / 110, (y + oy) / 55, salt, 4);
      const rings = y / ringPeriod + 3.2 * warp + ringPhase;
      const s = 0.5 + 0.5 * Math.sin(2 * Math.PI * rings);
      const late = s * s * s; // sharp dark latewood bands, wide light earlywood
      const fibre = valueNoise((x + ox) / 14, (y + oy) / 1.4, salt + 5);
      const drift = fbm((x + ox) / 260, (y + oy) / 260, salt + 11, 2);
      const t = clamp(0.75 * late + 0.2 * fibre + 0.3 * (drift - 0.5), 0, 1);
      out[0] = mix(light[0], dark[0], t);
      out[1] = mix(light[1], dark[1], t);
      out[2] = mix(light[2], dark[2], t);
    },
  };
}

/**
 * Ceramic tiles with grout: a fixtured part, so the grid moves only a few pixels between
 * samples; each tile gets its own slight tone, mottling and a bevel highlight/shadow.
 */
function tilesShader(rng: Rng): SampleVariation {
  const tile = 40;
  const grout = 4;
  const face: Rgb = [214, 208, 196];
  const groutColour: Rgb = [118, 112, 104];
  const dx = uniform(rng, -3, 3);
  const dy = uniform(rng, -3, 3);
  const salt = (rng() * 1e9) | 0;
  return {
    gain: uniform(rng, 0.96, 1.04),
    noise: 2.5,
    shader: (x, y, out) => {
      const tx = (x + dx + 1000 * tile) / tile;
      const ty = (y + dy + 1000 * tile) / tile;
      const i = Math.floor(tx);
      const j = Math.floor(ty);
      const px = (tx - i) * tile; // position inside the period, pixels
      const py = (ty - j) * tile;
      if (px < grout || py < grout) {
        const g = 0.92 + 0.16 * valueNoise(x / 2, y / 2, salt + 3);
        out[0] = groutColour[0] * g;
        out[1] = groutColour[1] * g;
        out[2] = groutColour[2] * g;
        return;
      }
      const tone = 0.95 + 0.08 * hashUnit(i, j, salt);
      const mottle = 0.94 + 0.12 * fbm(x / 9, y / 9, salt + 1, 3);
      // Bevel: lit from top-left, so top/left edges brighten and bottom/right edges darken.
      const bevel = 3;
      const fromLeft = px - grout;
      const fromTop = py - grout;
      const fromRight = tile - px;
      const fromBottom = tile - py;
      let shade = 1;
      if (fromLeft < bevel || fromTop < bevel) shade += 0.06;
      if (fromRight < bevel || fromBottom < bevel) shade -= 0.12;
      const k = tone * mottle * shade;
      out[0] = face[0] * k;
      out[1] = face[1] * k;
      out[2] = face[2] * k;
    },
  };
}

const SHADERS: Record<TextureKind, (rng: Rng) => SampleVariation> = {
  woven: wovenShader,
  brushed: brushedShader,
  grain: grainShader,
  tiles: tilesShader,
};

function checkSize(width: number, height: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 16384) {
      throw new RangeError(`${name} must be an integer in 1..16384, got ${v}`);
    }
  }
}

/**
 * One good sample of a texture kind: Uint8 pixels, interleaved, `channels` 3 (RGB,
 * default) or 1 (grey, ITU-R BT.601 luma of the RGB rendering).
 */
export function generateTexture(
  kind: TextureKind,
  width: number,
  height: number,
  seed: number,
  opts: { channels?: 1 | 3 } = {},
): RawImage {
  const make = SHADERS[kind];
  if (!make)
    throw new RangeError(`unknown texture kind '${kind}'; expected one of ${TEXTURE_KINDS.join(', ')}`);
  checkSize(width, height);
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${channels}`);

  const rng = mulberry32(seedToUint32(seed) ^ hash3(TEXTURE_KINDS.indexOf(kind), 77, 0));
  const { shader, gain, noise } = make(rng);
  const data = new Uint8Array(width * height * channels);
  const rgb: Rgb = [0, 0, 0];
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      shader(x, y, rgb);
      // One noise draw per pixel (luma-like sensor noise) keeps colour and grey consistent.
      const n = noise * normalish(rng);
      const r = rgb[0] * gain + n;
      const g = rgb[1] * gain + n;
      const b = rgb[2] * gain + n;
      if (channels === 3) {
        data[o++] = clamp(Math.round(r), 0, 255);
        data[o++] = clamp(Math.round(g), 0, 255);
        data[o++] = clamp(Math.round(b), 0, 255);
      } else {
        data[o++] = clamp(Math.round(0.299 * r + 0.587 * g + 0.114 * b), 0, 255);
      }
    }
  }
  return { data, width, height, channels };
}

// ---------------------------------------------------------------------------
// Defects. Each one edits a float copy of the image inside its region; `finalise` then
// keeps only pixels that changed by at least MASK_CHANGE_THRESHOLD, so the mask is
// exactly the set of changed pixels and everything outside it is byte-identical.
// ---------------------------------------------------------------------------

/** The image being edited: float working copy plus the facts every defect needs. */
interface Canvas {
  src: RawImage & { data: Uint8Array };
  work: Float32Array;
  width: number;
  height: number;
  /** colour channels to edit: 3 for RGB(A), 1 for grey(+alpha); alpha is never touched */
  colour: 1 | 3;
  stride: number;
}

function makeCanvas(image: RawImage): Canvas {
  if (!(image.data instanceof Uint8Array)) {
    throw new TypeError('addDefect needs 8-bit image data (Uint8Array)');
  }
  checkSize(image.width, image.height);
  if (image.data.length !== image.width * image.height * image.channels) {
    throw new RangeError('image data length does not match width x height x channels');
  }
  return {
    src: image as RawImage & { data: Uint8Array },
    work: Float32Array.from(image.data),
    width: image.width,
    height: image.height,
    colour: image.channels >= 3 ? 3 : 1,
    stride: image.channels,
  };
}

/** Mean luma in a box: decides whether a defect should be dark or bright to be seen. */
function meanLuma(c: Canvas, x0: number, y0: number, x1: number, y1: number): number {
  const xa = clamp(Math.floor(x0), 0, c.width - 1);
  const xb = clamp(Math.ceil(x1), 0, c.width - 1);
  const ya = clamp(Math.floor(y0), 0, c.height - 1);
  const yb = clamp(Math.ceil(y1), 0, c.height - 1);
  let sum = 0;
  let n = 0;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const p = (y * c.width + x) * c.stride;
      const d = c.src.data;
      sum += c.colour === 3 ? 0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2] : d[p];
      n++;
    }
  }
  return n ? sum / n : 128;
}

/** Dark on bright surfaces, bright on dark ones, either way on mid tones. */
function pickDark(rng: Rng, luma: number): boolean {
  if (luma > 165) return true;
  if (luma < 90) return false;
  return rng() < 0.6;
}

/** Blends the pixel at (x, y) towards `f(value, channel)` by `alpha` in [0, 1]. */
function blendPixel(
  c: Canvas,
  x: number,
  y: number,
  alpha: number,
  f: (v: number, ch: number) => number,
): void {
  if (alpha <= 0) return;
  const p = (y * c.width + x) * c.stride;
  for (let ch = 0; ch < c.colour; ch++) {
    const v = c.src.data[p + ch];
    c.work[p + ch] = v + (f(v, ch) - v) * alpha;
  }
}

/** Irregular closed blob: radius varies with angle through a few random harmonics. */
interface Blob {
  cx: number;
  cy: number;
  radius: number;
  harmonics: { k: number; amp: number; phase: number }[];
}

function randomBlob(rng: Rng, c: Canvas, radius: number, roughness: number): Blob {
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
function paintBlob(
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

function shortSide(c: Canvas): number {
  return Math.min(c.width, c.height);
}

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
function paintPolyline(
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
function randomSegment(rng: Rng, c: Canvas, length: number): { x: number; y: number; angle: number } {
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

const DRAWERS: Record<DefectKind, (c: Canvas, rng: Rng) => void> = {
  scratch: drawScratch,
  spot: drawSpot,
  missing: drawMissing,
  colour: drawColour,
  crack: drawCrack,
  fleck: drawFleck,
};

/**
 * Rounds the working copy into a new image, keeping the original byte wherever the change
 * is below the threshold; returns the image, the mask and how many pixels changed.
 */
function finalise(c: Canvas): { image: RawImage; mask: Uint8Array; count: number } {
  const src = c.src.data;
  const out = new Uint8Array(src);
  const mask = new Uint8Array(c.width * c.height);
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    const p = i * c.stride;
    let change = 0;
    for (let ch = 0; ch < c.colour; ch++) {
      change = Math.max(change, Math.abs(clamp(Math.round(c.work[p + ch]), 0, 255) - src[p + ch]));
    }
    if (change < MASK_CHANGE_THRESHOLD) continue;
    for (let ch = 0; ch < c.colour; ch++) out[p + ch] = clamp(Math.round(c.work[p + ch]), 0, 255);
    mask[i] = 1;
    count++;
  }
  return { image: { data: out, width: c.width, height: c.height, channels: c.src.channels }, mask, count };
}

/** Last resort so the mask is never empty: invert a small disc hard (change >= 128). */
function drawFallback(c: Canvas, rng: Rng): void {
  const radius = Math.max(1.5, shortSide(c) * 0.03);
  const blob: Blob = {
    cx: uniform(rng, 0, c.width - 1),
    cy: uniform(rng, 0, c.height - 1),
    radius,
    harmonics: [],
  };
  paintBlob(c, blob, 1, (x, y, a) => blendPixel(c, x, y, a >= 0.5 ? 1 : 0, (v) => (v >= 128 ? 0 : 255)));
}

/**
 * Draws one defect onto a copy of `image` (the input is not modified). Returns the new
 * image and the exact defect mask (1 = pixel changed by the defect, 0 = byte-identical).
 */
export function addDefect(
  image: RawImage,
  defect: DefectKind,
  seed: number,
): { image: RawImage; mask: Uint8Array } {
  const draw = DRAWERS[defect];
  if (!draw)
    throw new RangeError(
      `unknown defect kind '${defect}'; expected one of ${Object.keys(DRAWERS).join(', ')}`,
    );
  const rng = mulberry32(seedToUint32(seed) ^ 0x5eed0def);
  // A defect can, rarely, land where it barely shows (e.g. a bright scratch on white);
  // redraw elsewhere rather than return an invisible defect or an empty mask.
  const minPixels = defect === 'crack' ? 3 : 6;
  for (let attempt = 0; attempt < 8; attempt++) {
    const canvas = makeCanvas(image);
    draw(canvas, rng);
    const result = finalise(canvas);
    if (result.count >= minPixels) return { image: result.image, mask: result.mask };
  }
  const canvas = makeCanvas(image);
  drawFallback(canvas, rng);
  const result = finalise(canvas);
  return { image: result.image, mask: result.mask };
}

// ---------------------------------------------------------------------------
// Data set writer (MVTec AD layout).
// ---------------------------------------------------------------------------

export interface SyntheticDatasetOptions {
  texture: TextureKind;
  /** default 256 */
  width?: number;
  /** default: width */
  height?: number;
  /** good training images, default 40 */
  trainCount?: number;
  /** good test images, default 10 */
  testGoodCount?: number;
  /** test images per defect kind, default 8 */
  testDefectCount?: number;
  /** default DEFECT_KINDS */
  defects?: DefectKind[];
  /** default 0 */
  seed?: number;
  /** default 3 */
  channels?: 1 | 3;
  /** image file format; masks are always PNG. Default 'png' */
  format?: 'png' | 'jpg';
}

export interface SyntheticDatasetCounts {
  train: number;
  testGood: number;
  /** test images (and masks) per defect kind */
  testDefect: Partial<Record<DefectKind, number>>;
  /** all image files written (masks not included) */
  images: number;
  masks: number;
}

/** Seed streams: fixed numbers so a defect kind's images do not depend on which others are asked for. */
const STREAM_TRAIN = 1;
const STREAM_TEST_GOOD = 2;
const STREAM_DEFECT_BASE = 10;
const DEFECT_STREAM: Record<DefectKind, number> = {
  scratch: 0,
  spot: 1,
  missing: 2,
  colour: 3,
  crack: 4,
  fleck: 5,
};

function countOption(name: string, v: number | undefined, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

function fileName(index: number, ext: string): string {
  return `${String(index).padStart(3, '0')}.${ext}`;
}

async function writeImage(file: string, image: RawImage, format: 'png' | 'jpg'): Promise<void> {
  const data = image.data as Uint8Array;
  const raw = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  // Grey stays single-channel in the file; JPEG quality high so defects survive encoding.
  const typed = image.channels === 1 ? raw.toColourspace('b-w') : raw;
  await (format === 'png' ? typed.png() : typed.jpeg({ quality: 95 })).toFile(file);
}

function maskToImage(mask: Uint8Array, width: number, height: number): RawImage {
  const data = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) data[i] = mask[i] ? 255 : 0;
  return { data, width, height, channels: 1 };
}

/**
 * Writes a synthetic data set in the MVTec AD layout:
 * `train/good/000.png`, `test/good/000.png`, `test/<defect>/000.png` and
 * `ground_truth/<defect>/000_mask.png` (8-bit grey, 0/255, same size as the image).
 */
export async function writeSyntheticDataset(
  dir: string,
  opts: SyntheticDatasetOptions,
): Promise<{ dir: string; counts: SyntheticDatasetCounts }> {
  const { texture } = opts;
  if (!TEXTURE_KINDS.includes(texture)) {
    throw new RangeError(`unknown texture kind '${texture}'; expected one of ${TEXTURE_KINDS.join(', ')}`);
  }
  const width = opts.width ?? 256;
  const height = opts.height ?? width;
  checkSize(width, height);
  const trainCount = countOption('trainCount', opts.trainCount, 40);
  const testGoodCount = countOption('testGoodCount', opts.testGoodCount, 10);
  const testDefectCount = countOption('testDefectCount', opts.testDefectCount, 8);
  const defects = [...new Set(opts.defects ?? DEFECT_KINDS)];
  for (const d of defects) if (!(d in DRAWERS)) throw new RangeError(`unknown defect kind '${d}'`);
  const seed = opts.seed ?? 0;
  const channels = opts.channels ?? 3;
  const format = opts.format ?? 'png';
  if (format !== 'png' && format !== 'jpg')
    throw new RangeError(`format must be 'png' or 'jpg', got ${format}`);

  const root = path.resolve(dir);
  // Encoding runs on libuv threads; cap the queue so a large set does not hold every image.
  const pending: Promise<void>[] = [];
  const enqueue = async (file: string, image: RawImage, fmt: 'png' | 'jpg'): Promise<void> => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    pending.push(writeImage(file, image, fmt));
    if (pending.length >= 16) await Promise.all(pending.splice(0));
  };
  const good = (stream: number, i: number) =>
    generateTexture(texture, width, height, deriveSeed(seed, stream, i), { channels });

  for (let i = 0; i < trainCount; i++) {
    await enqueue(path.join(root, 'train', 'good', fileName(i, format)), good(STREAM_TRAIN, i), format);
  }
  for (let i = 0; i < testGoodCount; i++) {
    await enqueue(path.join(root, 'test', 'good', fileName(i, format)), good(STREAM_TEST_GOOD, i), format);
  }
  const testDefect: Partial<Record<DefectKind, number>> = {};
  for (const defect of defects) {
    const stream = STREAM_DEFECT_BASE + 2 * DEFECT_STREAM[defect];
    for (let i = 0; i < testDefectCount; i++) {
      const { image, mask } = addDefect(good(stream, i), defect, deriveSeed(seed, stream + 1, i));
      await enqueue(path.join(root, 'test', defect, fileName(i, format)), image, format);
      const maskFile = path.join(root, 'ground_truth', defect, `${String(i).padStart(3, '0')}_mask.png`);
      await enqueue(maskFile, maskToImage(mask, width, height), 'png');
    }
    testDefect[defect] = testDefectCount;
  }
  await Promise.all(pending);

  const defectTotal = defects.length * testDefectCount;
  return {
    dir: root,
    counts: {
      train: trainCount,
      testGood: testGoodCount,
      testDefect,
      images: trainCount + testGoodCount + defectTotal,
      masks: defectTotal,
    },
  };
}
