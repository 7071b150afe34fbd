/**
 * The threshold node's "false-alarm rate" comparison: the score threshold a target rate gives
 * under the model's calibration (threshold/), which padim-score passes along in
 * msg.padim.calibration. Computed once per model (msg.padim.modelId), so moving the rate needs
 * no refit and costs nothing per image.
 */
import type { Calibration } from '../model/model';
import { thresholdForFalseAlarmRate } from '../threshold';
import { SupportError } from './errors';

export class RateThreshold {
  private cached?: { modelId: unknown; calibration: unknown; threshold: number };

  /** `rate`: the target false-alarm rate, 0..1 (exclusive) */
  constructor(readonly rate: number) {
    if (!(rate > 0 && rate < 1)) throw new SupportError('rate.range', { percent: rate * 100 });
  }

  /** The score threshold for msg.padim (a padim-score message's); throws without calibration. */
  thresholdFor(padim: unknown): number {
    const p = (typeof padim === 'object' && padim !== null ? padim : {}) as {
      modelId?: unknown;
      calibration?: unknown;
    };
    const c = this.cached;
    if (c && c.modelId === p.modelId && c.calibration === p.calibration) return c.threshold;
    if (typeof p.calibration !== 'object' || p.calibration === null)
      throw new SupportError('rate.noCalibration', {});
    const threshold = thresholdForFalseAlarmRate(p.calibration as Calibration, this.rate);
    this.cached = { modelId: p.modelId, calibration: p.calibration, threshold };
    return threshold;
  }
}
