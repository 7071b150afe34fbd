/** The median of a list of numbers, the one definition every statistic and benchmark uses. */

/**
 * The middle value of `values` (the mean of the two middle ones for an even count); NaN for an
 * empty list. The input is not reordered.
 */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
