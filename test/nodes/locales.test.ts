/**
 * Every message key a node uses (RED._ / t() in the runtime, this._ and data-i18n in the
 * editor) exists in both the English and the Japanese catalogue, and the catalogues have
 * the same keys: a missing key shows up in the editor as the raw key text.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NODE_TYPES } from './node-types';

const ROOT = path.resolve(__dirname, '../../..');

/** All dotted keys of a catalogue ('padim-score.status.ready', ...). */
function keys(obj: unknown, prefix = ''): string[] {
  if (typeof obj !== 'object' || obj === null) return [prefix];
  return Object.entries(obj).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

function catalogue(lang: string, type: string): Set<string> {
  return new Set(keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'locales', lang, `${type}.json`), 'utf8'))));
}

/** Keys used in the node's runtime (.ts) and editor (.html) code. */
function usedKeys(type: string): string[] {
  const ts = fs.readFileSync(path.join(ROOT, 'nodes', `${type}.ts`), 'utf8');
  const html = fs.readFileSync(path.join(ROOT, 'nodes', `${type}.html`), 'utf8');
  const used = new Set<string>();
  // runtime: t('status.ready') means `${type}.status.ready`; RED._('padim-x.y') is already full
  for (const m of ts.matchAll(/\bt\(\s*'([\w.-]+)'\s*[,)]/g)) used.add(`${type}.${m[1]}`);
  for (const m of ts.matchAll(/RED\._\(\s*'([\w.-]+)'/g)) used.add(m[1]);
  for (const m of html.matchAll(/(?:this|node)\._\(\s*(?:[^'()]*\?\s*)?'([\w.-]+)'/g)) used.add(m[1]);
  for (const m of html.matchAll(/'(padim-[\w-]+\.[\w.-]+)'/g)) used.add(m[1]);
  for (const m of html.matchAll(/data-i18n="(?:\[[\w]+\])?([\w.-]+)"/g))
    if (!m[1].startsWith('node-red:')) used.add(m[1]);
  return [...used].filter((k) => k.startsWith('padim-') && !k.endsWith('.svg'));
}

describe('message catalogues (en-US, ja)', () => {
  for (const type of NODE_TYPES) {
    it(`${type}: every key used exists in both languages`, () => {
      const en = catalogue('en-US', type);
      const ja = catalogue('ja', type);
      assert.deepEqual([...ja].sort(), [...en].sort(), 'same keys in en-US and ja');
      const used = usedKeys(type);
      assert.ok(used.length > 0);
      // keys built at run time
      if (type === 'padim-fit')
        used.push('padim-fit.status.fitDone', 'padim-fit.status.updateDone', 'padim-fit.status.embed');
      const missing = used.filter((k) => !en.has(k));
      assert.deepEqual(missing, [], `missing in locales/en-US/${type}.json`);
    });
  }
});
