/**
 * Honest scores for the training images, to suggest a threshold.
 *
 * A training image scored by a model fitted on it looks more normal than a new good image
 * (its own embedding shaped every cell's Gaussian; with d close to N the in-sample
 * distances are far smaller). Thresholds set from in-sample scores flag good parts as NG.
 * So the last K training images are scored against the model fitted WITHOUT them, obtained
 * from the full model without a second inversion:
 *
 *   A_full = M2_full/(N-1) + eps I = A_rest + W W^T,   W = [u_1 .. u_K, v] / sqrt(N-1)
 *
 * where u_h = x_h - mean_K (the held-out images around their own mean) and
 * v = sqrt((N-K) K / N) (mean_K - mean_rest) (Chan's merge term), and
 * A_rest = M2_rest/(N-1) + eps I is the covariance of the other N-K images (divided by N-1
 * instead of N-K-1: slightly smaller, so the held-out distances err on the high side). By
 * Woodbury, with P = A_full^-1 and G = W^T P W (a small (K+1) x (K+1) matrix per cell):
 *
 *   r^T A_rest^-1 r = a^T G (I - G)^-1 a   for r = W a,
 *
 * and every held-out residual r_h = x_h - mean_rest = u_h + (mean_K - mean_rest) lies in
 * the span of W. The cost is that of scoring K images once.
 *
 * A shrunk model (covariance-shrinkage.ts) has A_full = (1 - rho) M2/(N-1) + ...: there W is
 * scaled by sqrt(1 - rho) per cell (`keptFraction`), and a by the inverse, so W a is unchanged.
 * rho and the identity target are kept from the full fit (the held-out fit's would differ a
 * little): an approximation, good enough for a suggested threshold.
 */
import { BatchedLinalg } from '../linalg/batched-linalg';
import type { Matrix } from '../linalg/shapes';
import { chunkLength, type GaussianArrays } from '../model/model';

/**
 * Solves M Y = B in place for r right-hand sides (M is n x n, B n x r, row-major; Y overwrites
 * B, M is destroyed): Gaussian elimination with partial pivoting, fine for the small systems here.
 */
function solveInPlace(system: Matrix<Float64Array>, rightHandSides: Matrix<Float64Array>): void {
  const { data: mat, rows: n } = system;
  const { data: rhs, cols: r } = rightHandSides;
  const swapRows = (a: Float64Array, width: number, i: number, j: number) => {
    for (let c = 0; c < width; c++)
      [a[i * width + c], a[j * width + c]] = [a[j * width + c], a[i * width + c]];
  };
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) {
      if (Math.abs(mat[row * n + col]) > Math.abs(mat[pivot * n + col])) pivot = row;
    }
    if (pivot !== col) {
      swapRows(mat, n, col, pivot);
      swapRows(rhs, r, col, pivot);
    }
    const diag = mat[col * n + col];
    for (let row = col + 1; row < n; row++) {
      const f = mat[row * n + col] / diag;
      if (f === 0) continue;
      for (let c = col; c < n; c++) mat[row * n + c] -= f * mat[col * n + c];
      for (let c = 0; c < r; c++) rhs[row * r + c] -= f * rhs[col * r + c];
    }
  }
  for (let row = n - 1; row >= 0; row--) {
    for (let c = 0; c < r; c++) {
      let s = rhs[row * r + c];
      for (let j = row + 1; j < n; j++) s -= mat[row * n + j] * rhs[j * r + c];
      rhs[row * r + c] = s / mat[row * n + row];
    }
  }
}

/**
 * Per-cell Mahalanobis distances of the held-out images (the last K of the N training
 * images, given as their embeddings [cells, d]) under the model fitted on the other N-K.
 */
export async function heldOutDistances(
  gaussian: GaussianArrays,
  nTotal: number,
  heldOut: Float32Array[],
  linalg: BatchedLinalg,
  keptFraction?: Float64Array,
): Promise<Float32Array[]> {
  const k = heldOut.length;
  const n = nTotal;
  if (k < 1 || n - k < 2) throw new Error(`cannot hold out ${k} of ${n} images`);
  const d = gaussian.dims;
  const m = k + 1;
  const mergeWeight = Math.sqrt(((n - k) * k) / n);
  const scale = 1 / Math.sqrt(n - 1);
  const out = heldOut.map(() => new Float32Array(gaussian.cells));
  for (let chunk = 0; chunk < gaussian.precision.length; chunk++) {
    const cells = chunkLength(gaussian, chunk);
    const first = chunk * gaussian.chunkCells;
    const w = new Float32Array(cells * d * m);
    for (let c = 0; c < cells; c++) {
      const base = (first + c) * d;
      for (let i = 0; i < d; i++) {
        let meanK = 0;
        for (const x of heldOut) meanK += x[base + i];
        meanK /= k;
        const meanRest = (n * gaussian.mean[base + i] - k * meanK) / (n - k);
        const row = (c * d + i) * m;
        for (let h = 0; h < k; h++) w[row + h] = (heldOut[h][base + i] - meanK) * scale;
        w[row + k] = mergeWeight * (meanK - meanRest) * scale;
      }
    }
    const g = await linalg.sandwich({ data: w, cells, rows: d, cols: m }, gaussian.precision[chunk]);
    // the coefficient vectors a_h = sqrt(N-1) (e_h + e_K / mergeWeight), so W a_h = x_h - mean_rest,
    // as the columns of an m x k matrix
    const a = new Float64Array(m * k);
    const iMinusG = new Float64Array(m * m);
    const y = new Float64Array(m * k);
    for (let c = 0; c < cells; c++) {
      // With shrinkage the data's share of the covariance is f^2 = 1 - rho: the columns of W
      // count f times and a_h 1/f times. Both are left out of W and a and f^2 kept on G alone,
      // (I - f^2 G) y = a, q = (G a) . y: the same q, and finite where rho = 1 (f = 0: a cell
      // with no variance, or OAS clipped), where 1/f would make it NaN.
      const f2 = keptFraction ? keptFraction[first + c] : 1;
      for (let h = 0; h < k; h++) {
        a[h * k + h] = 1 / scale;
        a[k * k + h] = 1 / (scale * mergeWeight);
      }
      const gc = g.subarray(c * m * m, (c + 1) * m * m);
      for (let i = 0; i < m * m; i++) iMinusG[i] = (i % (m + 1) === 0 ? 1 : 0) - f2 * gc[i];
      y.set(a);
      solveInPlace({ data: iMinusG, rows: m, cols: m }, { data: y, rows: m, cols: k });
      // q_h = (G a_h) . y_h, and G a_h only needs rows h and K of G (a_h has two non-zeros)
      for (let h = 0; h < k; h++) {
        let q = 0;
        for (let i = 0; i < m; i++)
          q += (gc[i * m + h] * a[h * k + h] + gc[i * m + k] * a[k * k + h]) * y[i * k + h];
        out[h][first + c] = Math.sqrt(Math.max(0, q));
      }
    }
  }
  return out;
}

/**
 * Leave-one-out: every training image scored by the model fitted on the other N - 1, in
 * closed form from its in-sample quadratic form q = r^T P r (r = x - mean, P = A^-1 of the
 * full model), so a second pass over the images costs what scoring them costs.
 *
 * Removing x from N images moves the mean to mean_rest = mean - r/(N-1), so the held-out
 * residual is s = x - mean_rest = c r with c = N/(N-1), and Chan's downdate takes
 * c r r^T off the co-moment: M2_rest = M2 - c r r^T. With the covariance of the other images
 * divided by N-1 (as heldOutDistances does) and eps, the OAS target and rho kept from the
 * full fit, the held-out covariance is a rank-one downdate of the full one,
 *
 *   A_rest = A - g r r^T,   g = f^2 c / (N-1) = f^2 N / (N-1)^2   (f^2 = 1 - rho, 1 unshrunk)
 *
 * and Sherman-Morrison gives  s^T A_rest^-1 s = c^2 q / (1 - g q)  exactly.
 *
 * The refit with the unbiased divisor N-2, M2_rest/(N-2) + eps I, is not a rank-one change of
 * A (eps does not scale with the data): it lies between A_rest and (N-1)/(N-2) A_rest in the
 * positive semi-definite order, so its squared distance is within a factor (N-2)/(N-1) below
 * this one (the held-out distances err on the high side by at most 1 - sqrt((N-2)/(N-1)),
 * 0.24% at N = 209). With shrinkage a true refit would also recompute rho and the target
 * from N-1 images; kept fixed here (test/calibration.test.ts measures the difference).
 */
export function leaveOneOutInPlace(
  distances: Float32Array,
  nTotal: number,
  keptFraction?: Float64Array,
): void {
  const n = nTotal;
  if (n < 2) throw new Error(`leave-one-out needs at least 2 images, got ${n}`);
  const c2 = (n / (n - 1)) ** 2;
  const g1 = n / (n - 1) ** 2;
  for (let i = 0; i < distances.length; i++) {
    const q = distances[i] * distances[i];
    const g = g1 * (keptFraction ? keptFraction[i] : 1);
    // 1 - g q > 0 in exact arithmetic (eps > 0); guard rounding near a leverage of one
    const denominator = Math.max(1e-6, 1 - g * q);
    distances[i] = Math.sqrt((c2 * q) / denominator);
  }
}
