/**
 * Regions brought to the model input's pixels: every input pixel is inside a region when the
 * point of the reference image its centre maps to is (so a resize or crop of the size protocol
 * moves the regions with the image).
 */
import type { InputGeometry } from '../types';
import { RoiError, type Point, type RegionSpec, type RoiSpec, type Shape } from './spec';

/** Masks at the input size, 1 = inside; one per inspected region, ignored regions taken out. */
export interface InputMasks {
  width: number;
  height: number;
  regions: { name: string; mask: Uint8Array }[];
}

/** Even-odd rule: is (x, y) inside the polygon? */
function inPolygon(points: Point[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inShape(s: Shape, x: number, y: number): boolean {
  if (s.kind === 'rect') return x >= s.x && x < s.x + s.width && y >= s.y && y < s.y + s.height;
  return inPolygon(s.points, x, y);
}

function regionMask(
  r: RegionSpec,
  spec: RoiSpec,
  g: InputGeometry,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let yi = 0; yi < height; yi++) {
    const y = g.top + (yi + 0.5) * g.scaleY;
    for (let xi = 0; xi < width; xi++) {
      const x = g.left + (xi + 0.5) * g.scaleX;
      let inside = false;
      if (r.mask) {
        const mx = Math.floor(x);
        const my = Math.floor(y);
        inside =
          mx >= 0 && my >= 0 && mx < spec.width && my < spec.height && r.mask[my * spec.width + mx] === 1;
      } else inside = (r.shapes ?? []).some((s) => inShape(s, x, y));
      out[yi * width + xi] = inside ? 1 : 0;
    }
  }
  return out;
}

const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);

/**
 * The regions at the input size. `g` is the reference image's geometry: its original size must
 * be the region file's, or the coordinates mean something else.
 */
export function rasterise(spec: RoiSpec, g: InputGeometry, width: number, height: number): InputMasks {
  if (spec.width !== g.originalWidth || spec.height !== g.originalHeight)
    throw new RoiError(
      `the regions are drawn on a ${spec.width}x${spec.height} image but the reference image is ` +
        `${g.originalWidth}x${g.originalHeight}: draw them on a training image of the same size`,
    );
  const ignored = new Uint8Array(width * height);
  for (const r of spec.regions.filter((r) => r.ignore)) {
    const m = regionMask(r, spec, g, width, height);
    for (let i = 0; i < m.length; i++) ignored[i] |= m[i];
  }
  const inspected = spec.regions.filter((r) => !r.ignore);
  // only ignored regions: the rest of the image is inspected
  const all: RegionSpec = {
    name: 'image',
    ignore: false,
    shapes: [{ kind: 'rect', x: -1e9, y: -1e9, width: 2e9, height: 2e9 }],
  };
  const regions = (inspected.length > 0 ? inspected : [all]).map((r) => {
    const mask = regionMask(r, spec, g, width, height);
    for (let i = 0; i < mask.length; i++) if (ignored[i]) mask[i] = 0;
    if (count(mask) === 0)
      throw new RoiError(
        `region '${r.name}' covers no pixel of the ${width}x${height} model input (outside the image, ` +
          `too thin, or all ignored): it is empty`,
      );
    return { name: r.name, mask };
  });
  return { width, height, regions };
}

/** Union of the regions' masks. */
export function unionMask(m: InputMasks): Uint8Array {
  const out = new Uint8Array(m.width * m.height);
  for (const r of m.regions) for (let i = 0; i < out.length; i++) out[i] |= r.mask[i];
  return out;
}

/**
 * Grid cells fitted and scored: those whose centre falls inside the union (ascending indices).
 * A cell's footprint on the input is (width / grid.width) x (height / grid.height) pixels.
 */
export function insideCells(
  union: Uint8Array,
  width: number,
  height: number,
  grid: { width: number; height: number },
): number[] {
  const cells: number[] = [];
  for (let r = 0; r < grid.height; r++) {
    const y = Math.min(height - 1, Math.floor(((r + 0.5) * height) / grid.height));
    for (let c = 0; c < grid.width; c++) {
      const x = Math.min(width - 1, Math.floor(((c + 0.5) * width) / grid.width));
      if (union[y * width + x]) cells.push(r * grid.width + c);
    }
  }
  if (cells.length === 0)
    throw new RoiError(
      `the regions cover no centre of the ${grid.width}x${grid.height} feature grid: make them larger than one cell ` +
        `(${(width / grid.width).toFixed(1)}x${(height / grid.height).toFixed(1)} input pixels)`,
    );
  return cells;
}
