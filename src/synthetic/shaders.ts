/**
 * Texture shaders. Each kind builds a shader (x, y) -> RGB floats from a per-sample RNG (the
 * sample-to-sample variation a camera would see); textures.ts adds lighting gain, sensor noise
 * and quantisation.
 */
import type { Rng } from '../math/random';
import type { TextureKind } from './kinds';
import { fbm, valueNoise } from './noise';
import { hashUnit, uniform } from './randomness';
import { clamp, mix } from './scalar';

/** Red, green, blue as floats on the 8-bit scale (not yet rounded or clamped). */
export type Rgb = [number, number, number];
type Shader = (x: number, y: number, out: Rgb) => void;

/** One sample's look: its shader plus the lighting and sensor noise textures.ts applies. */
export interface SampleVariation {
  shader: Shader;
  /** global brightness factor (lighting / exposure drift) */
  gain: number;
  /** per-pixel sensor noise standard deviation, in 8-bit levels */
  noise: number;
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

/** The shader maker of every texture kind. */
export const SHADERS: Record<TextureKind, (rng: Rng) => SampleVariation> = {
  woven: wovenShader,
  brushed: brushedShader,
  grain: grainShader,
  tiles: tilesShader,
};
