/**
 * Shared input handling for metrics over (score, label) arrays: label validation and the
 * walk over distinct scores from the highest down, which every threshold metric here uses.
 */

/** A binary ground-truth label: `true`/1 = positive (anomalous), `false`/0 = negative (good). */
export type BinaryLabel = boolean | number;

/**
 * Visits one distinct score at a time.
 * @param score the threshold; "predict positive when score >= threshold" includes this group.
 * @param positives how many positive items have exactly this score (>= 0).
 * @param negatives how many negative items have exactly this score (>= 0).
 */
export type ScoreGroupVisitor = (score: number, positives: number, negatives: number) => void;

/**
 * Reads a label strictly. Anything other than a boolean or 0/1 is rejected, because a stray
 * value (a score passed as a label, a 255 mask value) would otherwise silently skew a metric.
 */
export function isPositiveLabel(label: BinaryLabel, index: number): boolean {
  if (label === true || label === 1) return true;
  if (label === false || label === 0) return false;
  throw new RangeError(`label ${index} is ${String(label)}; expected true/false or 1/0`);
}

/** Throws unless the two arrays pair up one-to-one. */
export function checkSameLength(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  }
}

/** Counts both classes, validating every label. */
export function countClasses(labels: ArrayLike<BinaryLabel>): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (isPositiveLabel(labels[i], i)) positives++;
  return { positives, negatives: labels.length - positives };
}

/**
 * Indices of `scores` ordered from the highest score to the lowest. NaN is rejected: it has
 * no place in an ordering, and a NaN anomaly score always means an upstream bug.
 */
export function rankDescending(scores: ArrayLike<number>): Uint32Array {
  const values = Float64Array.from(scores);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) throw new RangeError(`score ${i} is NaN`);
  }
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // Order among equal scores does not matter: callers only ever see whole tie groups.
  order.sort((a, b) => values[b] - values[a]);
  return order;
}

/**
 * Calls `visit` once per distinct score, highest first, with the class counts at that score.
 * Equal scores always form one group, so every metric built on this treats ties as a single
 * threshold step (a tied positive/negative pair is neither ranked above nor below).
 */
export function forEachScoreGroup(
  scores: ArrayLike<number>,
  labels: ArrayLike<BinaryLabel>,
  visit: ScoreGroupVisitor,
): void {
  checkSameLength(scores, labels);
  const order = rankDescending(scores);
  let i = 0;
  while (i < order.length) {
    const score = scores[order[i]];
    let positives = 0;
    let negatives = 0;
    // -0 === 0, so signed zeros share a group as they share a value.
    while (i < order.length && scores[order[i]] === score) {
      if (isPositiveLabel(labels[order[i]], order[i])) positives++;
      else negatives++;
      i++;
    }
    visit(score, positives, negatives);
  }
}
