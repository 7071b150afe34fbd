/**
 * padim eval and padim bench on generated data: the report's shape and accuracy floors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { writeSyntheticDataset, TEXTURE_KINDS } from '../src/synthetic';
import { tempDir } from './helpers';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../bin/padim.js');

describe('padim eval and padim bench on generated data', function () {
  this.timeout(300_000);
  const dir = tempDir();
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const texture of TEXTURE_KINDS) {
    it(`eval on '${texture}' with builtin:filterbank reaches the floors and writes the JSON report`, async () => {
      const data = path.join(dir, texture);
      await writeSyntheticDataset(data, {
        texture,
        seed: 11,
        trainCount: 30,
        testGoodCount: 8,
        testDefectCount: 5,
      });
      const json = path.join(dir, `${texture}.json`);
      const { stdout } = await run(process.execPath, [
        CLI,
        'eval',
        '--data',
        data,
        '--json',
        json,
        '--quiet',
      ]);
      assert.match(stdout, /image AUROC/);
      const r = JSON.parse(fs.readFileSync(json, 'utf8'));
      assert.deepEqual(r.counts, { train: 30, testGood: 8, testDefect: 20 });
      assert.deepEqual(Object.keys(r.perDefectType).sort(), ['colour', 'missing', 'scratch', 'spot']);
      for (const k of ['imageAUROC', 'pixelAUROC', 'AUPRO']) assert.ok(r[k] >= 0 && r[k] <= 1, k);
      assert.ok(r.timings.fitMs > 0 && r.timings.scoreMsPerImage > 0);
      assert.equal(r.model.backbone, 'builtin:filterbank');
      // operating points: rates asked for, counts that add up to the rates, per defect type too
      assert.deepEqual(
        r.atFalseAlarmRate.map((p: { rate: number }) => p.rate),
        [0.001, 0.01, 0.05],
      );
      for (const p of r.atFalseAlarmRate) {
        assert.ok(
          p.falseAlarms <= Math.floor(p.rate * 8),
          `at most the rate's share of 8 goods: ${p.falseAlarms}`,
        );
        assert.equal(p.caught, p.defectsCaught / 20);
      }
      const m = r.atModelThreshold;
      assert.equal(m.falseAlarmRate, m.falseAlarms / 8);
      assert.ok(Math.abs(m.expectedFalseAlarmRate - 0.01) < 1e-9, 'the default budget, read back');
      assert.match(stdout, /caught .* at 0\.1%, .* at 1%, .* at 5% false alarms/);
      for (const t of Object.values(r.perDefectType) as {
        atFalseAlarmRate: unknown[];
        atModelThreshold: unknown;
      }[])
        assert.ok(t.atFalseAlarmRate.length === 3 && t.atModelThreshold);
      console.log(
        `      ${texture}: image ${r.imageAUROC.toFixed(3)} pixel ${r.pixelAUROC.toFixed(3)} AUPRO ${r.AUPRO.toFixed(3)}`,
      );
      assert.ok(r.imageAUROC >= 0.9, `image AUROC ${r.imageAUROC}`);
      assert.ok(r.pixelAUROC >= 0.9, `pixel AUROC ${r.pixelAUROC}`);
      assert.ok(r.AUPRO >= 0.75, `AUPRO ${r.AUPRO}`);
    });
  }

  it('bench reports every stage, the floors and the fit', async () => {
    const json = path.join(dir, 'bench.json');
    const { stdout } = await run(process.execPath, [
      CLI,
      'bench',
      '--runs',
      '2',
      '--train',
      '8',
      '--json',
      json,
    ]);
    assert.match(stdout, /distance head/);
    const r = JSON.parse(fs.readFileSync(json, 'utf8'));
    for (const k of ['decodeMs', 'backboneMs', 'distanceMs', 'mapMs', 'pipelineMs'])
      assert.ok(r.stages[k] > 0, k);
    assert.ok(r.machine.bandwidthGBs > 0 && r.machine.matmulGflops > 0);
    assert.ok(r.floors.distanceFloorMsPerImage > 0 && r.floors.distanceOverFloor > 0);
    assert.ok(r.fit.peakRssMB > 0 && r.fit.images === 8);
  });
});
