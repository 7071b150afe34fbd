import assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseModelSettings } from '../../src/node-support/model-settings';

describe('model settings', () => {
  it('defaults to the built-in backbone, size auto and the CPU; paths from the base directory', () => {
    const s = parseModelSettings({ path: 'models/a.padim' }, '/data/nr');
    assert.equal(s.path, path.resolve('/data/nr', 'models/a.padim'));
    assert.equal(s.fit.backbone, 'auto');
    assert.deepEqual(s.fit.size, { kind: 'auto', short: 256 });
    assert.equal(s.fit.dims, undefined);
    assert.equal(s.fit.provider, 'cpu');
    assert.deepEqual(s.scorer, { provider: 'cpu', threads: undefined });
  });

  it('parses layers, dims, size with crop, provider and threads', () => {
    const s = parseModelSettings(
      {
        path: '/m.padim',
        backbone: 'nets/r18.onnx',
        layers: 'a, b,c',
        dims: '50',
        size: '256',
        crop: '224',
        provider: 'webgpu',
        threads: 2,
      },
      '/base',
    );
    assert.equal(s.fit.backbone, path.resolve('/base', 'nets/r18.onnx'));
    assert.deepEqual(s.fit.layers, ['a', 'b', 'c']);
    assert.equal(s.fit.dims, 50);
    assert.deepEqual(s.fit.size, { kind: 'resize-crop', resize: 256, width: 224, height: 224 });
    assert.deepEqual(s.scorer, { provider: 'webgpu', threads: 2 });
  });

  it('takes auto with a short side, and keeps the explicit 256x256 of flows made before auto', () => {
    assert.deepEqual(parseModelSettings({ path: 'a', size: 'auto:320' }, '/').fit.size, {
      kind: 'auto',
      short: 320,
    });
    assert.deepEqual(parseModelSettings({ path: 'a', size: '256x256' }, '/').fit.size, {
      kind: 'resize',
      width: 256,
      height: 256,
    });
    assert.throws(
      () => parseModelSettings({ path: 'a', size: 'auto', crop: '224' }, '/'),
      /cannot be combined/,
    );
  });

  it('says which field is wrong', () => {
    assert.throws(() => parseModelSettings({ path: ' ' }, '/'), /model file path is empty/);
    assert.throws(() => parseModelSettings({ path: 'a', layers: 'x,y' }, '/'), /three tensor names/);
    assert.throws(() => parseModelSettings({ path: 'a', provider: 'tpu' }, '/'), /provider must be one of/);
    assert.throws(() => parseModelSettings({ path: 'a', dims: '0' }, '/'), /dims must be/);
    assert.throws(() => parseModelSettings({ path: 'a', size: 'big' }, '/'), /not a size.*or auto/);
  });
});
