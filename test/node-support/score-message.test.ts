/**
 * putScoreResult: the fields a score message carries, the flow's own fields kept, the optional
 * ones only when the result has them, and the time waited in the queue.
 */
import assert from 'node:assert/strict';
import type { ModelInfo } from '../../src/model/model-info';
import type { ScoreResult } from '../../src/padim/scorer';
import { putScoreResult } from '../../src/node-support/score-message';

const info: ModelInfo = {
  path: '/models/line1.padim',
  id: 'abcdef012345',
  threshold: 4,
  nTrain: 10,
  backbone: 'builtin:filterbank',
  createdAt: '2026-01-01T00:00:00Z',
};

function result(extra: Partial<ScoreResult> = {}): ScoreResult {
  const map = { data: new Float32Array(4), width: 2, height: 2 };
  return {
    score: 6,
    normalizedScore: 1.5,
    threshold: 4,
    map,
    grid: map,
    geometry: { originalWidth: 4, originalHeight: 4, left: 0, top: 0, scaleX: 2, scaleY: 2 },
    timings: { decodeMs: 1, backboneMs: 2, distanceMs: 3, mapMs: 4, totalMs: 10 },
    ...extra,
  };
}

describe('putScoreResult', () => {
  it('writes payload, anomalyMap, padim and image onto the same message, keeping the flow fields', () => {
    const msg: Record<string, unknown> = { topic: 'line1', payload: 'x.png', n: 3 };
    const image = { input: '/data/x.png', filename: 'x.png' };
    const out = putScoreResult(msg, { image, arrived: Date.now() - 50 }, result(), { info });
    assert.equal(out, msg);
    assert.equal(out.topic, 'line1');
    assert.equal(out.n, 3);
    assert.equal(out.image, '/data/x.png');
    assert.equal(out.filename, 'x.png');
    assert.deepEqual(out.payload, { score: 6, normalizedScore: 1.5, threshold: 4 });
    const map = out.anomalyMap as Record<string, unknown>;
    assert.deepEqual(Object.keys(map).sort(), ['data', 'geometry', 'height', 'width']);
    const padim = out.padim as Record<string, unknown>;
    assert.deepEqual(Object.keys(padim).sort(), ['modelId', 'modelPath', 'queueMs', 'timings']);
    assert.equal(padim.modelId, 'abcdef012345');
    // 50 ms since arrival, 10 of them scoring
    assert.ok((padim.queueMs as number) >= 40 && (padim.queueMs as number) < 1000, `${padim.queueMs}`);
  });

  it('keeps a filename the flow set, and carries regions, labels, warnings and calibration when there', () => {
    const regions = [{ name: 'a', score: 6, threshold: 4 }] as unknown as ScoreResult['regions'];
    const r = result({ regions, regionLabels: new Uint8Array(4), warnings: ['aspect'] });
    const calibration = { method: 'held-out', scores: [1, 2] } as never;
    const out = putScoreResult(
      { filename: 'flow.png' },
      { image: { input: Buffer.alloc(1), filename: 'f.png' }, arrived: Date.now() },
      r,
      {
        info,
        calibration,
      },
    );
    assert.equal(out.filename, 'flow.png');
    assert.equal((out.payload as { regions: unknown }).regions, regions);
    assert.ok((out.anomalyMap as { regionLabels: unknown }).regionLabels instanceof Uint8Array);
    const padim = out.padim as Record<string, unknown>;
    assert.deepEqual(padim.warnings, ['aspect']);
    assert.equal(padim.calibration, calibration);
    assert.equal(padim.queueMs, 0, 'never negative');
  });
});
