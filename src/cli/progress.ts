/**
 * Progress for long work: a redrawn bar with rate and ETA on a terminal, plain lines
 * (at most every few seconds) when the output is a file or a pipe, as in CI logs.
 */
export interface ProgressReporter {
  update(label: string, done: number, total: number): void;
  end(): void;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): ProgressReporter {
  const tty = Boolean(stream.isTTY);
  let label = '';
  let started = 0;
  let lastLine = 0;
  let drawn = false;
  return {
    update(newLabel, done, total) {
      if (quiet) return;
      const t = performance.now();
      if (newLabel !== label) {
        if (drawn && tty) stream.write('\n');
        label = newLabel;
        started = t;
        lastLine = 0;
        drawn = false;
      }
      const elapsed = (t - started) / 1000;
      // the first update comes before any rate can be known
      const rate = elapsed > 0.05 ? done / elapsed : NaN;
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const rateText = Number.isFinite(rate) ? `${rate.toFixed(1)}/s` : '-/s';
      const text = `${label} ${done}/${total}  ${rateText}  ETA ${formatSeconds(eta)}`;
      if (tty) {
        const width = 24;
        const filled = total > 0 ? Math.round((done / total) * width) : 0;
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
        drawn = true;
      } else if (done === total || t - lastLine > 5000 || lastLine === 0) {
        stream.write(`${text}\n`);
        lastLine = t;
      }
    },
    end() {
      if (drawn && tty) stream.write('\n');
      drawn = false;
      label = '';
    },
  };
}
