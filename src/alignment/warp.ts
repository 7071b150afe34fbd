/**
 * Rigid transforms of images: a rotation by `angle` about the image centre followed by a shift,
 * and bilinear resampling of planar images through such a transform.
 *
 * Convention used everywhere in alignment: the observed image is the reference turned by
 * `angleDeg` (counter-clockwise as seen on screen, y down) about the centre and then moved
 * by (dx, dy) pixels: observed(T(p)) = reference(p) with T(p) = R(angle)(p - c) + c + t.
 */

/** A rigid motion in pixels of one frame (the model input). */
export interface RigidMotion {
  dx: number;
  dy: number;
  /** degrees, counter-clockwise on screen */
  angleDeg: number;
}

/** 2x3 affine matrix [a, b, tx, c, d, ty]: x' = a x + b y + tx, y' = c x + d y + ty. */
export type Affine = [number, number, number, number, number, number];

export const IDENTITY_MOTION: RigidMotion = { dx: 0, dy: 0, angleDeg: 0 };

/**
 * T: reference pixel -> observed pixel. On screen (y down) a counter-clockwise turn by theta is
 * x' = cos x + sin y, y' = -sin x + cos y about the centre.
 */
export function motionToAffine(m: RigidMotion, width: number, height: number): Affine {
  const t = (m.angleDeg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  return [cos, sin, cx + m.dx - cos * cx - sin * cy, -sin, cos, cy + m.dy + sin * cx - cos * cy];
}

/** The inverse of an affine map. */
export function invertAffine(m: Affine): Affine {
  const [a, b, tx, c, d, ty] = m;
  const det = a * d - b * c;
  if (!(Math.abs(det) > 1e-12)) throw new RangeError('singular transform');
  const ia = d / det;
  const ib = -b / det;
  const ic = -c / det;
  const id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/** Where out-of-frame samples come from: the nearest edge pixel, or a constant. */
export type EdgeMode = { kind: 'clamp' } | { kind: 'constant'; value: number };

/**
 * Resamples `planes` planar images (planes x height x width, float) so that
 * out(p) = src(map(p)), bilinear. `map` takes output pixel centres to source coordinates.
 */
export function warpPlanes(
  src: Float32Array | Float64Array,
  width: number,
  height: number,
  planes: number,
  map: Affine,
  edge: EdgeMode,
): Float32Array {
  const out = new Float32Array(width * height * planes);
  const [a, b, tx, c, d, ty] = map;
  const plane = width * height;
  const constant = edge.kind === 'constant';
  const fill = constant ? edge.value : 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sx = a * x + b * y + tx;
      let sy = c * x + d * y + ty;
      const o = y * width + x;
      if (constant && (sx < -0.5 || sy < -0.5 || sx > width - 0.5 || sy > height - 0.5)) {
        for (let p = 0; p < planes; p++) out[p * plane + o] = fill;
        continue;
      }
      sx = Math.min(width - 1, Math.max(0, sx));
      sy = Math.min(height - 1, Math.max(0, sy));
      const x0 = Math.min(width - 2, Math.floor(sx));
      const y0 = Math.min(height - 2, Math.floor(sy));
      const fx = width > 1 ? sx - x0 : 0;
      const fy = height > 1 ? sy - y0 : 0;
      const x1 = width > 1 ? x0 + 1 : x0;
      const y1 = height > 1 ? y0 + 1 : y0;
      const i00 = Math.max(0, y0) * width + Math.max(0, x0);
      const i01 = Math.max(0, y0) * width + x1;
      const i10 = y1 * width + Math.max(0, x0);
      const i11 = y1 * width + x1;
      for (let p = 0; p < planes; p++) {
        const s = p * plane;
        const top = src[s + i00] + (src[s + i01] - src[s + i00]) * fx;
        const bottom = src[s + i10] + (src[s + i11] - src[s + i10]) * fx;
        out[s + o] = top + (bottom - top) * fy;
      }
    }
  }
  return out;
}
