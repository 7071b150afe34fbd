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

  it('does not expose the synthetic test and demo data (src/synthetic is its own entry point)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require(path.resolve(__dirname, '../src/index.js'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const synthetic = require(path.resolve(__dirname, '../src/synthetic/index.js'));
    for (const name of [
      'writeSyntheticDataset',
      'generateTexture',
      'addDefect',
      'TEXTURE_KINDS',
      'DEFECT_KINDS',
    ]) {
      assert.equal(api[name], undefined, name);
      assert.notEqual(synthetic[name], undefined, name);
    }
  });
});
