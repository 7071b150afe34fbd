/**
 * On real data (needs ../shared): MVTec AD bottle with the shared ResNet50v2 backbone.
 * The full evaluation lives in the benchmark scripts; this checks the ranking holds.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { readCategory } from '../src/eval/dataset';
import { evaluate } from '../src/eval/evaluate';
import { fitModel } from '../src/padim/fit';
import { Scorer } from '../src/padim/scorer';
import { requireShared } from './helpers';

describe('MVTec AD bottle with ResNet50v2 (../shared)', function () {
  this.timeout(600_000);

  it('fits on train/good and ranks defective test images above good ones', async function () {
    const shared = requireShared(this, 'the bottle evaluation');
    const data = readCategory(path.join(shared, 'data/mvtec/bottle'));
    const model = await fitModel(data.train, {
      backbone: path.join(shared, 'models/resnet50v2-stage1to3-fp32.onnx'),
      dims: 100,
      seed: 0,
    });
    assert.deepEqual(model.header.grid, { height: 64, width: 64 });
    assert.equal(model.header.embedding.totalChannels, 1792);
    const scorer = await Scorer.open(model);
    try {
      const report = await evaluate(scorer, data);
      console.log(
        `      bottle d=100: image AUROC ${report.imageAUROC.toFixed(3)}, pixel AUROC ${report.pixelAUROC.toFixed(3)}, ` +
          `AUPRO ${report.AUPRO.toFixed(3)}`,
      );
      assert.ok(report.imageAUROC >= 0.97, `image AUROC ${report.imageAUROC}`);
      assert.ok(report.pixelAUROC >= 0.97, `pixel AUROC ${report.pixelAUROC}`);
    } finally {
      await scorer.dispose();
    }
  });
});
