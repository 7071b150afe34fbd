/**
 * The editor in a real browser: start the run command (`npm start`'s scripts/start-demo.js),
 * open the editor in headless Chromium, import example 2 from the Import menu's examples,
 * deploy it, and find the live heatmap preview drawn under its heatmap node. A screenshot is
 * saved to test-artifacts/. Skips, saying so, when Chromium is not installed.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { editorSession, ROOT, screenshot as saveScreenshot } from '../support/editor-browser';

const MODULE = '@padim-inspect/node-red-padim';

describe('editor in headless Chromium', function () {
  this.timeout(180_000);
  const session = editorSession('padim-browser-', 'editor-failure.png');

  const screenshot = (name: string) => saveScreenshot(session.page(), name);

  it('imports the inspect example from the Import menu, deploys it, and shows the heatmap preview', async () => {
    const p = session.page();
    await p.goto(session.demo().url);
    // the palette lists our nodes once the editor has loaded them
    await p.waitForSelector('.red-ui-palette-node[data-palette-type="padim-heatmap"]', { timeout: 60_000 });

    // menu > Import > Examples > this module > example 2 > Import
    await p.click('#red-ui-header-button-sidemenu');
    await p.click('#menu-item-import');
    await p.click('a[href="#red-ui-clipboard-dialog-import-tab-examples"]');
    const examples = p.locator('#red-ui-clipboard-dialog-import-tab-examples');
    await examples.locator('.red-ui-treeList-label', { hasText: MODULE }).first().click();
    await examples
      .locator('.red-ui-treeList-label', { hasText: '2-inspect-a-folder-with-heatmaps' })
      .first()
      .click();
    await p.click('#red-ui-clipboard-dialog-ok');

    // the example brings its own tab (the demo flow has heatmap nodes too): show that tab
    const heatmapId = await p.evaluate(async () => {
      const RED = (globalThis as unknown as { RED: any }).RED;
      for (let i = 0; i < 300; i++) {
        let tab: any;
        RED.nodes.eachWorkspace((w: any) => {
          if (w.label === 'PaDiM 2: inspect') tab = w;
        });
        const node = tab && RED.nodes.filterNodes({ type: 'padim-heatmap', z: tab.id })[0];
        if (node) {
          RED.workspaces.show(tab.id);
          return node.id as string;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the imported example did not appear');
    });
    // dropped nodes may still follow the mouse: a click on the canvas places them
    await p.mouse.click(800, 600);

    await p.click('#red-ui-header-button-deploy');
    // deploy accepted: the button goes back to its disabled (nothing to deploy) state
    await p.waitForSelector('#red-ui-header-button-deploy.disabled', { timeout: 30_000 });

    // (node ids may contain dots: an attribute selector, not #id)
    const preview = `[id="padim-heatmap-preview-${heatmapId}"]`;
    await p.waitForSelector(preview, { state: 'attached', timeout: 90_000 });
    const href = await p.getAttribute(preview, 'href');
    assert.match(href ?? '', /^data:image\/jpeg;base64,/);
    const box = await p.locator(preview).boundingBox();
    assert.ok(box && box.width > 50 && box.height > 50, `preview drawn: ${JSON.stringify(box)}`);
    // it sits under the node
    const nodeBox = await p.locator(`g[id="${heatmapId}"] > rect.red-ui-flow-node`).first().boundingBox();
    assert.ok(nodeBox && box!.y >= nodeBox.y + nodeBox.height - 1, 'preview below the node body');
    await p.waitForTimeout(2500); // let the import/deploy notifications fade for the picture
    const file = await screenshot('editor-heatmap-preview.png');
    console.log(`      screenshot: ${path.relative(ROOT, file)}`);
  });
});
