/**
 * The upper tail of the held-out training scores: an exponential law over the top
 * exceedances (a generalised Pareto tail with shape 0).
 *
 * Why exponential: an image score is the maximum of a smoothed map over thousands of cells,
 * and maxima of many light-tailed (chi-like) distances fall in the Gumbel domain of
 * attraction, whose excesses over a high level are exponential. A free Pareto shape would
 * also fit heavy and bounded tails, but with the 10-30 exceedances a training set gives its
 * estimate has a standard error near 0.25, so a 1% threshold would move by more than the
 * tail's own width from one fit to the next; the exponential has one parameter, its
 * maximum-likelihood estimate is the mean excess, and its confidence interval is exact
 * (2k mean / scale is chi-square with 2k degrees of freedom).
 */

/** The fitted tail, stored in the model header (calibration.tail). */
export interface TailFit {
  kind: 'exponential';
  /** u: the score the tail starts at (an order statistic of the held-out scores) */
  start: number;
  /** beta: mean excess over u of the scores above it (score units) */
  scale: number;
  /** k: held-out scores above u; P(score > u) is estimated as k / N */
  exceedances: number;
}

/** Top exceedances the tail is fitted on: 10% of the scores, at least 10, at most N - 1. */
export function tailExceedances(n: number): number {
  return Math.min(n - 1, Math.max(10, Math.ceil(0.1 * n)));
}

/** Fits the exponential tail to ascending scores; undefined for fewer than 2 scores. */
export function fitTail(ascending: readonly number[]): TailFit | undefined {
  const n = ascending.length;
  if (n < 2) return undefined;
  const k = tailExceedances(n);
  const start = ascending[n - 1 - k];
  let excess = 0;
  for (let j = n - k; j < n; j++) excess += ascending[j] - start;
  // equal scores have no spread: a scale far below the scores' size keeps the law defined
  const floor = 1e-9 * Math.max(1e-30, Math.abs(start));
  return { kind: 'exponential', start, scale: Math.max(floor, excess / k), exceedances: k };
}
