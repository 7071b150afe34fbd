/**
 * The editor keeps no list of its own where the core has one: the padim-model dialog's
 * execution-provider and alignment choices are the core's PROVIDERS and ALIGN_MODES (HTML
 * options, so that the saved value is shown before any request returns: this test keeps them
 * equal), and its backbone names come from the catalogue endpoint, so no backbone name is
 * written in the dialog's code.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALIGN_MODES } from '../../src/alignment/reference';
import { AUTO_BACKBONE, BUILTIN_FILTERBANK, PRESETS } from '../../src/backbone/presets';
import { DEFAULTS } from '../../src/options';
import { registry } from '../../src/backbone/registry/registry';
import { DEFAULT_PROVIDER, PROVIDERS } from '../../src/types';

const ROOT = path.resolve(__dirname, '../../..');
const html = fs.readFileSync(path.join(ROOT, 'nodes', 'padim-model.html'), 'utf8');

/** The `value`s of the options of the <select> with this id, in order. */
function selectValues(id: string): string[] {
  const select = new RegExp(`<select id="${id}"[^>]*>([\\s\\S]*?)</select>`).exec(html);
  assert.ok(select, `no <select id="${id}"> in padim-model.html`);
  return [...select[1].matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
}

/** The editor-side script (the first <script>, registerType), without the templates. */
function dialogScript(): string {
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(script, 'no editor script in padim-model.html');
  return script[1];
}

describe('editor lists come from the core', () => {
  it("the provider and alignment choices are the core's lists, in order, with the core's defaults", () => {
    assert.deepEqual(selectValues('node-config-input-provider'), [...PROVIDERS]);
    assert.deepEqual(selectValues('node-config-input-align'), [...ALIGN_MODES]);
    const script = dialogScript();
    assert.match(script, new RegExp(`provider: \\{ value: '${DEFAULT_PROVIDER}' \\}`));
    assert.match(script, new RegExp(`align: \\{ value: '${DEFAULTS.align}'`));
  });

  it('the dialog script names no backbone: they come from GET padim-models/backbones', () => {
    const script = dialogScript();
    assert.match(script, /padim-models\/backbones/);
    const names = [BUILTIN_FILTERBANK, ...Object.keys(PRESETS), ...registry().map((e) => e.name)];
    for (const name of names)
      assert.ok(
        !script.includes(`'${name}'`) && !script.includes(`"${name}"`),
        `padim-model.html writes backbone '${name}' itself`,
      );
    // 'auto' stays as the field's default value in `defaults`, the saved-flow contract
    assert.match(script, new RegExp(`backbone: \\{ value: '${AUTO_BACKBONE}'`));
  });
});
