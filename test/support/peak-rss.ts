/**
 * This process's peak resident set in KiB, for child processes that report their own memory.
 *
 * Linux: VmHWM from /proc/self/status, the high-water mark of this process image's memory.
 * Not process.resourceUsage().maxRSS there: Linux carries ru_maxrss over fork and exec, so a
 * child of a 600 MiB test runner would report 600 MiB whatever it did itself. Elsewhere
 * maxRSS is the best there is.
 */
import * as fs from 'node:fs';

export function peakRssKiB(): number {
  if (process.platform === 'linux') {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  }
  return process.resourceUsage().maxRSS;
}
