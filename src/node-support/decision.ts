/**
 * OK/NG decisions on a stream of image scores, with debounce and hysteresis.
 *
 * - The threshold is a fixed score, the model's suggested threshold (carried by every score
 *   result), or a limit on the normalised score (score / model threshold, 1 = the suggestion).
 * - Hysteresis: once an image is NG, the next one stays NG until its value falls below
 *   threshold x (1 - hysteresis). A part sitting near the threshold then does not flip the
 *   decision back and forth on noise.
 * - Debounce: an alarm is raised only from the N-th NG image in a row, so a single glitch (a
 *   reflection, a hand in the picture) does not stop the line.
 */
import { SupportError } from './errors';

export type ThresholdMode = 'fixed' | 'model' | 'normalized';
export const THRESHOLD_MODES: readonly ThresholdMode[] = ['fixed', 'model', 'normalized'];

export interface DeciderOptions {
  mode: ThresholdMode;
  /** the threshold for 'fixed' (score units); the limit on the normalised score for 'normalized' */
  value?: number;
  /** NG images in a row before an alarm; default 1 (every NG image is an alarm) */
  debounce?: number;
  /** fraction of the threshold, 0 <= h < 1; default 0 */
  hysteresis?: number;
}

/** The part of a score result the decision reads (padim-score's msg.payload). */
export interface ScoreLike {
  score: number;
  normalizedScore?: number;
  threshold?: number;
}

export interface Decision {
  ok: boolean;
  /** the number compared: the score, or the normalised score in 'normalized' mode */
  value: number;
  /** the threshold the value was compared with (after hysteresis) */
  threshold: number;
  /** the same threshold in score units: what anomaly-map pixels are compared with */
  scoreThreshold: number;
  /** NG images in a row, this one included (0 when OK) */
  consecutiveNg: number;
  /** true when this NG image completes (or continues) a run of `debounce` NG images */
  alarm: boolean;
}

function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new SupportError('decision.notANumber', { name, value: String(v) });
  return v;
}

export class Decider {
  private readonly mode: ThresholdMode;
  private readonly value: number;
  private readonly debounce: number;
  private readonly hysteresis: number;
  private consecutive = 0;
  counts = { ok: 0, ng: 0, alarms: 0 };

  constructor(opts: DeciderOptions) {
    if (!THRESHOLD_MODES.includes(opts.mode)) {
      throw new SupportError('decision.mode', { modes: THRESHOLD_MODES.join(', '), mode: String(opts.mode) });
    }
    this.mode = opts.mode;
    this.value = opts.mode === 'model' ? 0 : (opts.value ?? (opts.mode === 'normalized' ? 1 : NaN));
    if (opts.mode !== 'model' && !(this.value > 0)) {
      throw new SupportError('decision.value', { mode: opts.mode, value: String(opts.value) });
    }
    this.debounce = opts.debounce ?? 1;
    if (!Number.isInteger(this.debounce) || this.debounce < 1) {
      throw new SupportError('decision.debounce', { value: String(opts.debounce) });
    }
    this.hysteresis = opts.hysteresis ?? 0;
    if (!(this.hysteresis >= 0 && this.hysteresis < 1)) {
      throw new SupportError('decision.hysteresis', { value: String(opts.hysteresis) });
    }
  }

  /**
   * `isNg`, when given, decides instead of `value >= threshold` (region rules, region-decision.ts):
   * it gets the threshold in score units and the hysteresis factor (1, or 1 - hysteresis after NG).
   */
  decide(result: ScoreLike, isNg?: (scoreThreshold: number, factor: number) => boolean): Decision {
    const score = finite('score', result.score);
    let value: number;
    let base: number;
    let toScore: number; // multiplies a threshold on `value` into score units
    switch (this.mode) {
      case 'fixed':
        value = score;
        base = this.value;
        toScore = 1;
        break;
      case 'model':
        value = score;
        base = finite("the model's threshold (msg.payload.threshold)", result.threshold);
        toScore = 1;
        break;
      case 'normalized':
        value = finite('normalizedScore', result.normalizedScore);
        base = this.value;
        toScore = result.threshold ?? score / value;
        break;
    }
    const factor = this.consecutive > 0 ? 1 - this.hysteresis : 1;
    const threshold = base * factor;
    const ok = isNg ? !isNg(threshold * toScore, factor) : value < threshold;
    this.consecutive = ok ? 0 : this.consecutive + 1;
    const alarm = !ok && this.consecutive >= this.debounce;
    if (ok) this.counts.ok++;
    else this.counts.ng++;
    if (alarm) this.counts.alarms++;
    return {
      ok,
      value,
      threshold,
      scoreThreshold: threshold * toScore,
      consecutiveNg: this.consecutive,
      alarm,
    };
  }

  /** Forgets the run of NG images and the counts. */
  reset(): void {
    this.consecutive = 0;
    this.counts = { ok: 0, ng: 0, alarms: 0 };
  }
}
