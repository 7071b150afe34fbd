/**
 * The threshold node's edit dialog in a real headless Chromium: the run command fits the demo
 * model and inspects in a loop; the dialog of example 2's threshold node draws the model's
 * held-out good scores and the live ones, shows the false-alarm rate src/threshold computes
 * from the model file's stored scores (the fit's tail model), and a typed threshold moves the red line (and the rate with it).
 * A screenshot is kept in test-artifacts/. Skips, saying so, when Chromium is not installed.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { expectedFalseAlarmRate, formatRate } from '../../src/threshold';
import { editorSession, ROOT, screenshot, waitForModel } from '../support/editor-browser';

const THRESHOLD = 'demo.padim.inspect.threshold';

describe('threshold edit dialog in headless Chromium', function () {
  this.timeout(240_000);
  const session = editorSession('padim-threshold-dialog-');
  const dir = session.dir;

  /** The red line's x and the rate text, once the dialog has drawn a line other than `notX`. */
  async function lineAndRate(p: Page, notX?: string): Promise<{ x: string; text: string }> {
    const handle = await p.waitForFunction(
      (not) => {
        const document = (globalThis as unknown as { document: any }).document;
        const line = document.querySelector('#padim-threshold-histogram .padim-threshold-line');
        const x = line?.getAttribute('x1');
        const text = document.getElementById('padim-threshold-rate')?.textContent ?? '';
        return x && x !== not && /%/.test(text) ? { x, text } : false;
      },
      notX,
      { timeout: 30_000 },
    );
    return (await handle.jsonValue()) as { x: string; text: string };
  }

  it('draws the held-out and live scores, shows the rate, and a typed threshold moves the line', async () => {
    const p = session.page();
    await p.goto(session.demo().url);
    await p.waitForSelector('.red-ui-palette-node[data-palette-type="padim-threshold"]', { timeout: 60_000 });
    // the demo fits first, then inspects: wait for the model file and a few live scores
    const modelFile = path.join(dir, 'padim-demo', 'line1.padim');
    const header = await waitForModel(modelFile);
    const calibration = header.calibration!;
    assert.ok(calibration.scores.length >= 5, 'the fit stored its held-out scores');

    // the flows load into the editor after the palette
    await p.waitForFunction(
      (id) => Boolean((globalThis as unknown as { RED: any }).RED.nodes.node(id)),
      THRESHOLD,
      { timeout: 60_000 },
    );
    await p.evaluate((id) => {
      const RED = (globalThis as unknown as { RED: any }).RED;
      RED.workspaces.show(RED.nodes.node(id).z);
      RED.editor.edit(RED.nodes.node(id));
    }, THRESHOLD);
    await p.waitForSelector('#padim-threshold-histogram rect.padim-threshold-held-out', { timeout: 30_000 });
    const bars = await p.locator('#padim-threshold-histogram rect.padim-threshold-held-out').count();
    assert.ok(bars >= 2, `held-out histogram drawn (${bars} bars)`);
    // model mode: the line at the model's suggestion, the rate read from the stored scores
    const first = await lineAndRate(p);
    const expected = (t: number) => calibration.scores.filter((s) => s >= t).length;
    // the rate the dialog shows is src/threshold's (the one --false-alarm-rate fits to)
    const shown = (t: number) => `: ${formatRate(expectedFalseAlarmRate(calibration, t)).replace('%', '')} %`;
    assert.match(
      first.text,
      new RegExp(`\\b${expected(header.threshold)} of ${calibration.scores.length}\\b`),
    );
    assert.ok(first.text.includes(shown(header.threshold)), `rate at the suggestion: ${first.text}`);

    // a fixed threshold at the 25th percentile of the held-out scores: the line moves left, more alarms
    const low = calibration.scores[Math.floor(calibration.scores.length * 0.25)];
    await p.selectOption('#node-input-mode', 'fixed');
    await p.fill('#node-input-threshold', String(low));
    const moved = await lineAndRate(p, first.x);
    assert.ok(Number(moved.x) < Number(first.x), `line moved left: ${first.x} -> ${moved.x}`);
    assert.ok(moved.text.includes(shown(low)), `rate at ${low}: ${moved.text}`);

    // live scores arrive while the demo loops over the test images
    await p.waitForSelector('#padim-threshold-histogram rect.padim-threshold-live', { timeout: 60_000 });
    // normalised mode: the axis is score / model threshold, the limit 1 sits where the suggestion did
    await p.selectOption('#node-input-mode', 'normalized');
    await p.fill('#node-input-limit', '1');
    const normal = await lineAndRate(p, moved.x);
    assert.match(
      normal.text,
      new RegExp(`\\b${expected(header.threshold)} of ${calibration.scores.length}\\b`),
    );
    await p.selectOption('#node-input-mode', 'fixed');
    await p.fill('#node-input-threshold', String(low));
    await lineAndRate(p, normal.x);
    const file = await screenshot(p, 'threshold-dialog-histogram.png');
    console.log(`      screenshot: ${path.relative(ROOT, file)}`);
  });
});
