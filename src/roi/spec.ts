/**
 * Regions of interest as a user writes them: a mask image (white = inspect) or JSON rectangles
 * and polygons, in the pixels of the reference image (a training image at its own size). Every
 * file is treated as hostile: sizes and counts are bounded and each mistake gets a message that
 * says what to fix.
 */

/** A region file that cannot be used. */
export class RoiError extends Error {
  override name = 'RoiError';
}

/** [x, y] in the reference image's pixels (x right, y down, 0,0 the top-left corner). */
export type Point = [number, number];

export type Shape =
  | { kind: 'rect'; x: number; y: number; width: number; height: number }
  | { kind: 'polygon'; points: Point[] };

/** One named region: shapes, or a mask at the file's size (1 = inside). */
export interface RegionSpec {
  name: string;
  /** true: taken out of every inspected region (a printed code, a label) */
  ignore: boolean;
  shapes?: Shape[];
  mask?: Uint8Array;
}

export interface RoiSpec {
  /** the reference image's size the coordinates are in */
  width: number;
  height: number;
  regions: RegionSpec[];
}

/** Bounds on what a file may hold. */
export const MAX_REGIONS = 64;
export const MAX_SHAPES = 256;
export const MAX_POLYGON_POINTS = 4096;
export const MAX_NAME_LENGTH = 100;
export const MAX_SIDE = 16384;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function side(v: unknown, what: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_SIDE)
    throw new RoiError(
      `${what} must be a whole number of pixels from 1 to ${MAX_SIDE}, got ${JSON.stringify(v)}`,
    );
  return v as number;
}

function coordinate(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 10 * MAX_SIDE)
    throw new RoiError(`${what} must be a finite number of pixels, got ${JSON.stringify(v)}`);
  return v;
}

function rectOf(v: unknown, what: string): Shape {
  if (!Array.isArray(v) || v.length !== 4)
    throw new RoiError(`${what} must be [x, y, width, height], got ${JSON.stringify(v)?.slice(0, 80)}`);
  const [x, y, width, height] = v.map((n, i) => coordinate(n, `${what}[${i}]`));
  if (!(width > 0 && height > 0))
    throw new RoiError(`${what} has no area (width ${width}, height ${height})`);
  return { kind: 'rect', x, y, width, height };
}

function polygonOf(v: unknown, what: string): Shape {
  if (!Array.isArray(v)) throw new RoiError(`${what} must be a list of [x, y] points`);
  if (v.length < 3) throw new RoiError(`${what} has ${v.length} points; a polygon needs at least 3`);
  if (v.length > MAX_POLYGON_POINTS)
    throw new RoiError(`${what} has ${v.length} points; at most ${MAX_POLYGON_POINTS} are accepted`);
  const points = v.map((p, i): Point => {
    if (!Array.isArray(p) || p.length !== 2) throw new RoiError(`${what} point ${i} must be [x, y]`);
    return [coordinate(p[0], `${what} point ${i} x`), coordinate(p[1], `${what} point ${i} y`)];
  });
  return { kind: 'polygon', points };
}

function listOf(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new RoiError(`${what} must be a list`);
  return v;
}

function regionOf(v: unknown, index: number, names: Set<string>): RegionSpec {
  const at = `regions[${index}]`;
  if (!isObject(v)) throw new RoiError(`${at} must be an object with a name and rect/rects/polygon/polygons`);
  const name = v.name === undefined ? `region${index + 1}` : v.name;
  if (typeof name !== 'string' || !name.trim() || name.length > MAX_NAME_LENGTH)
    throw new RoiError(`${at}.name must be a non-empty text of at most ${MAX_NAME_LENGTH} characters`);
  if (names.has(name)) throw new RoiError(`two regions are named '${name}'; give each its own name`);
  names.add(name);
  if (v.ignore !== undefined && typeof v.ignore !== 'boolean')
    throw new RoiError(`${at}.ignore must be true or false`);
  const label = `region '${name}'`;
  const shapes = [
    ...(v.rect !== undefined ? [rectOf(v.rect, `${label} rect`)] : []),
    ...listOf(v.rects, `${label} rects`).map((r, i) => rectOf(r, `${label} rects[${i}]`)),
    ...(v.polygon !== undefined ? [polygonOf(v.polygon, `${label} polygon`)] : []),
    ...listOf(v.polygons, `${label} polygons`).map((p, i) => polygonOf(p, `${label} polygons[${i}]`)),
  ];
  if (shapes.length === 0)
    throw new RoiError(`${label} has no rect, rects, polygon or polygons: it is empty`);
  if (shapes.length > MAX_SHAPES) throw new RoiError(`${label} has more than ${MAX_SHAPES} shapes`);
  return { name, ignore: v.ignore === true, shapes };
}

/**
 * Parses a JSON region file:
 * `{"width": W, "height": H, "regions": [{"name": "body", "rect": [x, y, w, h]},
 *   {"name": "code", "polygon": [[x, y], ...], "ignore": true}]}`.
 * Regions without `ignore` are inspected (all of the image when there are only ignored ones).
 */
export function parseRoiJson(text: string, source = 'the region file'): RoiSpec {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RoiError(`${source} is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(v)) throw new RoiError(`${source} must hold a JSON object with width, height and regions`);
  const width = side(v.width, `${source}: width`);
  const height = side(v.height, `${source}: height`);
  if (!Array.isArray(v.regions) || v.regions.length === 0)
    throw new RoiError(`${source}: regions must be a non-empty list`);
  if (v.regions.length > MAX_REGIONS)
    throw new RoiError(`${source}: at most ${MAX_REGIONS} regions are accepted`);
  const names = new Set<string>();
  const regions = v.regions.map((r, i) => regionOf(r, i, names));
  return { width, height, regions };
}

/** A mask image's pixels (grey, any bit depth scaled to 0..255) as one region: white (>= 128) is inspected. */
export function maskSpec(grey: Uint8Array, width: number, height: number, name = 'roi'): RoiSpec {
  const mask = new Uint8Array(width * height);
  let inside = 0;
  for (let i = 0; i < mask.length; i++) {
    mask[i] = grey[i] >= 128 ? 1 : 0;
    inside += mask[i];
  }
  if (inside === 0)
    throw new RoiError('the mask image is all black: it marks no pixel to inspect (white = inspect)');
  return { width, height, regions: [{ name, ignore: false, mask }] };
}
