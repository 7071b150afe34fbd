import assert from 'node:assert/strict';
import * as path from 'node:path';

describe('package entry point', () => {
  it('package.json main loads and exposes the core API', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('../../package.json') as { main: string };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require(path.resolve(__dirname, '../..', pkg.main));
    for (const name of [
      'fitModel',
      'updateModel',
      'Scorer',
      'loadModel',
      'saveModel',
      'evaluate',
      'renderHeatmap',
    ]) {
      assert.equal(typeof api[name], 'function', name);
    }
    assert.equal(typeof api.metrics.auroc, 'function');
  });
});
