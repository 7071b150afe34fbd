/**
 * Generated parts that move: a textured part with an asymmetric marking, placed on a plain
 * background with a random shift and turn, as parts sit on a conveyor. Defects are drawn on the
 * part before it is placed, so the exact mask moves with it. Deterministic: every draw comes from
 * the seeded PRNG (src/math/random.ts), so the same seed gives the same pixels everywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRng, type Rng } from '../math/random';
import type { RawImage } from '../types';
import { addDefect } from './defects';
import { maskToImage, writeImage } from './image-file';
import type { DefectKind, TextureKind } from './kinds';
import { uniform } from './randomness';
import { generateTexture } from './textures';

export interface Placement {
  /** shift of the part's centre from the image centre, pixels */
  dx: number;
  dy: number;
  /** turn, degrees counter-clockwise on screen */
  angleDeg: number;
}

export interface PlacedPartOptions {
  /** image side (square), default 256 */
  size?: number;
  /** largest shift as a fraction of the image side, default 0.1 */
  maxShift?: number;
  /** largest turn, degrees, default 5 */
  maxAngle?: number;
  texture?: TextureKind;
  /**
   * a printed code (a block of random dark bars) drawn on the part at this rectangle of part
   * pixels, different on every part, like a date code or serial number
   */
  code?: { x: number; y: number; width: number; height: number };
  /**
   * the same code on every part drawn with this seed (one batch of parts, one date code); absent:
   * a new code on every part
   */
  codeSeed?: number;
}

export interface PlacedPart {
  image: RawImage;
  /** 1 = defect pixel, in image coordinates (all zero for a good part) */
  mask: Uint8Array;
  placement: Placement;
}

const BACKGROUND = 40;

/** The part before placement: a texture with a dark round mark near one corner (so a turn is visible). */
function partTexture(side: number, seed: number, texture: TextureKind): RawImage & { data: Uint8Array } {
  const img = generateTexture(texture, side, side, seed, { channels: 1 }) as RawImage & { data: Uint8Array };
  const cx = side * 0.22;
  const cy = side * 0.25;
  const r = side * 0.08;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) img.data[y * side + x] = 15;
  // a bright bar along one edge: a second asymmetric feature
  for (let y = Math.round(side * 0.8); y < Math.round(side * 0.86); y++)
    for (let x = Math.round(side * 0.4); x < Math.round(side * 0.9); x++) img.data[y * side + x] = 235;
  return img;
}

function drawCode(
  img: RawImage & { data: Uint8Array },
  rect: NonNullable<PlacedPartOptions['code']>,
  rng: Rng,
) {
  const w = img.width;
  for (let y = rect.y; y < rect.y + rect.height; y++)
    for (let x = rect.x; x < rect.x + rect.width; x++) img.data[y * w + x] = 230;
  // bars of random widths: a code that differs on every part
  let x = rect.x + 2;
  while (x < rect.x + rect.width - 2) {
    const bar = 1 + Math.floor(rng() * 3);
    const gap = 1 + Math.floor(rng() * 3);
    if (rng() < 0.6)
      for (let y = rect.y + 2; y < rect.y + rect.height - 2; y++)
        for (let b = 0; b < bar && x + b < rect.x + rect.width - 2; b++) img.data[y * w + x + b] = 20;
    x += bar + gap;
  }
}

/**
 * One part on the background. `defect` draws that defect on the part first. The part is a
 * square of 60% of the image side, centred, then turned and shifted by `placement` (drawn from
 * the seed within the limits unless given).
 */
export function placedPart(
  seed: number,
  opts: PlacedPartOptions = {},
  defect?: DefectKind,
  placement?: Placement,
): PlacedPart {
  const size = opts.size ?? 256;
  const rng = seededRng(seed ^ 0x9a7e5);
  const maxShift = (opts.maxShift ?? 0.1) * size;
  const maxAngle = opts.maxAngle ?? 5;
  const place: Placement = placement ?? {
    dx: uniform(rng, -maxShift, maxShift),
    dy: uniform(rng, -maxShift, maxShift),
    angleDeg: uniform(rng, -maxAngle, maxAngle),
  };
  const side = Math.round(size * 0.6);
  let part = partTexture(side, 7 + (seed % 3), opts.texture ?? 'tiles');
  if (opts.code) drawCode(part, opts.code, opts.codeSeed === undefined ? rng : seededRng(opts.codeSeed));
  let partMask: Uint8Array = new Uint8Array(side * side);
  if (defect) {
    const d = addDefect(part, defect, seed * 31 + 5);
    part = d.image as RawImage & { data: Uint8Array };
    partMask = d.mask;
  }
  const data = new Uint8Array(size * size);
  const mask = new Uint8Array(size * size);
  const t = (place.angleDeg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const c = (size - 1) / 2;
  const pc = (side - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // inverse of the placement (see alignment/warp.ts for the turn's sign on screen)
      const ux = x - c - place.dx;
      const uy = y - c - place.dy;
      const px = cos * ux - sin * uy + pc;
      const py = sin * ux + cos * uy + pc;
      const noise = (rng() - 0.5) * 6;
      const o = y * size + x;
      if (px < 0 || py < 0 || px > side - 1 || py > side - 1) {
        data[o] = Math.round(BACKGROUND + noise);
        continue;
      }
      const x0 = Math.min(side - 2, Math.floor(px));
      const y0 = Math.min(side - 2, Math.floor(py));
      const fx = px - x0;
      const fy = py - y0;
      const p = part.data;
      const top = p[y0 * side + x0] * (1 - fx) + p[y0 * side + x0 + 1] * fx;
      const bottom = p[(y0 + 1) * side + x0] * (1 - fx) + p[(y0 + 1) * side + x0 + 1] * fx;
      data[o] = Math.max(0, Math.min(255, Math.round(top * (1 - fy) + bottom * fy + noise)));
      mask[o] = partMask[Math.round(py) * side + Math.round(px)];
    }
  }
  return { image: { data, width: size, height: size, channels: 1 }, mask, placement: place };
}

export interface PlacedDatasetOptions extends PlacedPartOptions {
  trainCount?: number;
  testGoodCount?: number;
  /** defective test images per kind */
  testDefectCount?: number;
  defects?: DefectKind[];
  seed?: number;
}

async function writeGrey(file: string, image: RawImage): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await writeImage(file, image, 'png');
}

/**
 * Writes placed parts in the MVTec AD layout (train/good, test/<good|defect>, ground_truth) and
 * returns the placement of every image, by relative path, for checking recovered motions.
 */
export async function writePlacedDataset(
  dir: string,
  opts: PlacedDatasetOptions = {},
): Promise<Record<string, Placement>> {
  const size = opts.size ?? 256;
  const seed = opts.seed ?? 0;
  const placements: Record<string, Placement> = {};
  const name = (i: number) => `${String(i).padStart(3, '0')}.png`;
  const write = async (rel: string, part: PlacedPart) => {
    placements[rel] = part.placement;
    await writeGrey(path.join(dir, rel), part.image);
  };
  for (let i = 0; i < (opts.trainCount ?? 20); i++)
    await write(`train/good/${name(i)}`, placedPart(seed * 1000 + i, opts));
  for (let i = 0; i < (opts.testGoodCount ?? 10); i++)
    await write(`test/good/${name(i)}`, placedPart(seed * 1000 + 300 + i, opts));
  for (const [k, defect] of (opts.defects ?? (['spot', 'scratch'] as DefectKind[])).entries()) {
    for (let i = 0; i < (opts.testDefectCount ?? 6); i++) {
      const part = placedPart(seed * 1000 + 500 + 50 * k + i, opts, defect);
      await write(`test/${defect}/${name(i)}`, part);
      await writeGrey(
        path.join(dir, `ground_truth/${defect}/${name(i).replace('.png', '_mask.png')}`),
        maskToImage(part.mask, size, size),
      );
    }
  }
  return placements;
}
