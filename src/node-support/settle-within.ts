/**
 * Waiting for work with a bound: what a node's close does with the work still in flight, so a
 * stuck backend cannot hold up a deploy.
 */

/**
 * Resolves true once `work` has settled (fulfilled or rejected: the work reports its own
 * failure), or false after `ms` milliseconds if it has not. Never rejects; the timer is cleared
 * as soon as the work settles, so nothing keeps the process alive.
 */
export function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    work.then(settled, settled);
  });
}
