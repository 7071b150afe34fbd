/**
 * Example 7, the line dashboard, in real Node-RED with FlowFuse Dashboard 2 and a real headless
 * Chromium: the run command with --dashboard (examples 1 and 8: fit on the generated good images,
 * then inspect the test images in a loop) and the dashboard page at /dashboard/line. The last
 * part's heatmap, the counts, the trend chart and the NG gallery appear; "good part" updates the
 * model (its id changes, the score node switches to it, and that image scores lower with it);
 * "confirm defect" files the image with its record. A screenshot is kept in test-artifacts/.
 * Also compares the boxes the editor draws for example 8 with the layout test's estimate.
 * Skips, saying so, when Chromium or Dashboard 2 is not installed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { loadModel, readModelHeader } from '../../src/model/model-file';
import { modelInfo } from '../../src/model/model-info';
import { Scorer } from '../../src/padim/scorer';
import { editorSession, ROOT, screenshot, waitForModel } from '../support/editor-browser';
import { readExample } from '../support/example-flows';
import { nodeBox } from '../support/flow-layout';

const TAB = 'demo.padim.dash.tab';

function haveDashboard(): boolean {
  try {
    require.resolve('@flowfuse/node-red-dashboard/package.json', { paths: [ROOT] });
    return true;
  } catch {
    console.log('      (skipped: @flowfuse/node-red-dashboard is not installed; `npm install` adds it)');
    return false;
  }
}

/** The image's score with the model in `file` now. */
async function scoreWith(file: string, image: string): Promise<number> {
  const scorer = await Scorer.open(await loadModel(file));
  try {
    return (await scorer.scoreMany([image]))[0].score;
  } finally {
    await scorer.dispose();
  }
}

/** The id the score node reports for the model in `file` (a hash of the loaded header). */
async function modelId(file: string): Promise<string> {
  return modelInfo(file, (await loadModel(file)).header).id;
}

/** The first NG part in the gallery that is not `not`: its id and image file. */
async function galleryPart(p: Page, not?: string): Promise<{ id: string; image: string }> {
  const handle = await p.waitForFunction(
    (skip) => {
      const document = (globalThis as unknown as { document: any }).document;
      const el = [...document.querySelectorAll('.padim-part')].find((e: any) => e.dataset.part !== skip);
      return el && el.dataset.image ? { id: el.dataset.part, image: el.dataset.image } : false;
    },
    not,
    { timeout: 60_000 },
  );
  return (await handle.jsonValue()) as { id: string; image: string };
}

describe('line dashboard (example 8) in headless Chromium', function () {
  this.timeout(300_000);
  before(function () {
    if (!haveDashboard()) this.skip();
  });
  const session = editorSession('padim-line-dashboard-', 'line-dashboard-failure.png', ['--dashboard']);
  const dir = session.dir;
  const modelFile = path.join(dir, 'padim-demo', 'line1.padim');

  it('shows the last part, counts, trend and NG gallery; "good part" updates the model, "confirm defect" files the image', async () => {
    const p = session.page();
    await waitForModel(modelFile);
    const firstId = await modelId(modelFile);
    await p.goto(new URL('dashboard/line', session.demo().url).href);

    // the last part with its heatmap, from the model just fitted
    await p.waitForSelector('.padim-last-picture', { timeout: 60_000 });
    await p.waitForFunction(
      (id) => (globalThis as any).document.querySelector('.padim-model-id')?.textContent.includes(id),
      firstId,
      { timeout: 30_000 },
    );
    // counts that agree with each other (three widgets fed by one message), once the loop has
    // reached the good images (the test folder lists a defect kind first)
    const counts = (await (
      await p.waitForFunction(
        () => {
          const texts = [...(globalThis as any).document.querySelectorAll('.padim-count')].map(
            (e: any) => e.textContent as string,
          );
          const n = texts.map((t) => Number(/[\d.]+$/.exec(t.trim())?.[0] ?? NaN));
          const [ok, ng, percent] = n;
          const agree =
            n.length === 3 && ok > 0 && ng > 0 && Math.abs(percent - (100 * ng) / (ok + ng)) < 0.06;
          return agree ? { ok, ng, percent } : false;
        },
        undefined,
        { timeout: 60_000 },
      )
    ).jsonValue()) as { ok: number; ng: number; percent: number };
    assert.ok(counts.ok > 0 && counts.ng > 0, `OK and NG parts counted: ${JSON.stringify(counts)}`);
    // the trend chart has drawn (a blank canvas encodes to a short PNG)
    const chart = await p.waitForFunction(
      () => {
        const c = (globalThis as any).document.querySelector('.padim-trend canvas');
        return c && c.width > 100 ? c.toDataURL().length : false;
      },
      undefined,
      { timeout: 30_000 },
    );
    assert.ok(Number(await chart.jsonValue()) > 10_000, 'the trend chart shows data');
    // the NG gallery, each part with its picture and both buttons
    await p.waitForFunction(
      () => (globalThis as any).document.querySelectorAll('.padim-part').length >= 2,
      undefined,
      {
        timeout: 60_000,
      },
    );
    const parts = p.locator('.padim-part');
    assert.ok((await parts.first().locator('img').count()) === 1, 'a gallery part has its heatmap');
    assert.equal(await parts.first().locator('.padim-good').count(), 1);
    assert.equal(await parts.first().locator('.padim-defect').count(), 1);
    await p.setViewportSize({ width: 1600, height: 1400 }); // the whole page, gallery included
    const file = await screenshot(p, 'line-dashboard.png');
    console.log(`      screenshot: ${path.relative(ROOT, file)}`);

    // "good part": the image goes into the model (update, no refit)
    const good = await galleryPart(p);
    const before = await scoreWith(modelFile, good.image);
    const nTrain = (await readModelHeader(modelFile)).nTrain;
    await p.click(`.padim-part[data-part="${good.id}"] .padim-good`);
    let newId = firstId;
    const end = Date.now() + 120_000;
    while (newId === firstId) {
      if (Date.now() > end) throw new Error('the model was not updated within two minutes');
      await new Promise((r) => setTimeout(r, 300));
      newId = await modelId(modelFile).catch(() => firstId);
    }
    assert.equal((await readModelHeader(modelFile)).nTrain, nTrain + 1, 'one image added');
    const after = await scoreWith(modelFile, good.image);
    assert.ok(after < before, `the image marked good scores lower: ${before} -> ${after}`);
    console.log(
      `      good part ${path.basename(good.image)}: score ${before.toFixed(2)} -> ${after.toFixed(2)}`,
    );
    // the score node switched: the dashboard's last part now comes from the new model
    await p.waitForFunction(
      (id) => (globalThis as any).document.querySelector('.padim-model-id')?.textContent.includes(id),
      newId,
      { timeout: 60_000 },
    );
    await p.waitForFunction(
      (id) => !(globalThis as any).document.querySelector(`.padim-part[data-part="${id}"]`),
      good.id,
      { timeout: 30_000 },
    );

    // "confirm defect": the image and its record in the defect folder
    const defect = await galleryPart(p, good.id);
    await p.click(`.padim-part[data-part="${defect.id}"] .padim-defect`);
    const folder = path.join(dir, 'padim-demo', 'defects');
    const ext = path.extname(defect.image);
    const suffix = `-${path.basename(defect.image, ext)}`;
    const filed = await waitForFile(folder, (f) => f.endsWith(`${suffix}${ext}`));
    assert.deepEqual(fs.readFileSync(path.join(folder, filed)), fs.readFileSync(defect.image));
    const recordFile = await waitForFile(folder, (f) => f === filed.replace(ext, '.json'));
    const record = JSON.parse(fs.readFileSync(path.join(folder, recordFile), 'utf8'));
    assert.equal(record.verdict, 'defect');
    assert.equal(record.image, defect.image);
    assert.ok(Number.isFinite(record.score) && record.score >= record.threshold, 'an NG part');
  });

  it("the editor's boxes for example 8 are within the layout test's estimate", async () => {
    const p = session.page();
    await p.goto(session.demo().url);
    await p.waitForFunction((id) => Boolean((globalThis as any).RED?.nodes?.workspace(id)), TAB, {
      timeout: 60_000,
    });
    await p.evaluate((id) => (globalThis as any).RED.workspaces.show(id), TAB);
    const drawn = (await (
      await p.waitForFunction(
        (id) => {
          const nodes = (globalThis as any).RED.nodes.filterNodes({ z: id });
          return nodes.length && nodes.every((n: any) => n.w > 0)
            ? nodes.map((n: any) => ({ id: n.id, w: n.w, h: n.h }))
            : false;
        },
        TAB,
        { timeout: 30_000 },
      )
    ).jsonValue()) as { id: string; w: number; h: number }[];
    const example = new Map(readExample('8-line-dashboard.json').map((n) => [`demo.${n.id}`, n]));
    const report: string[] = [];
    for (const d of drawn) {
      const n = example.get(d.id);
      if (!n) continue;
      const box = nodeBox(n);
      const w = box.x1 - box.x0;
      report.push(`${box.label}: ${d.w} drawn, ${w} estimated`);
      assert.ok(d.w <= w, `${box.label}: the editor draws ${d.w}px, more than the ${w}px estimated`);
      assert.ok(w - d.w <= 40, `${box.label}: estimate ${w}px far above the ${d.w}px drawn`);
      assert.equal(d.h, box.y1 - box.y0, `${box.label}: height`);
    }
    assert.ok(report.length >= 10, `compared ${report.length} nodes`);
    // the whole flow in the screenshot
    await p.evaluate(() => {
      const RED = (globalThis as any).RED;
      RED.actions.invoke('core:zoom-out');
      RED.actions.invoke('core:zoom-out');
    });
    await screenshot(p, 'line-dashboard-editor.png');
    console.log(`      ${report.join('; ')}`);
  });
});

async function waitForFile(folder: string, match: (f: string) => boolean): Promise<string> {
  const end = Date.now() + 30_000;
  for (;;) {
    const found = fs.existsSync(folder) ? fs.readdirSync(folder).find(match) : undefined;
    if (found) return found;
    if (Date.now() > end) throw new Error(`nothing filed in ${folder} within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
