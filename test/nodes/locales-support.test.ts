/**
 * The runtime texts of padim-model, padim-fit, padim-threshold, padim-archive and padim-review,
 * and of the src/node-support errors every node shows (kept in padim-model's catalogue), in
 * en-US and ja: every key the code uses exists in both languages, a key's placeholders are the
 * same in both and are the substitutions the code passes, the en-US text of a SupportError is
 * its English message, and a node shows one in Japanese under a Japanese catalogue.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PathPolicy } from '../../src/node-support/path-policy';
import {
  PATH_KINDS,
  SUPPORT_MESSAGES,
  SupportError,
  fillTemplate,
  placeholdersOf,
  type SupportCode,
} from '../../src/node-support/errors';
import type { NodeAPI } from '../../nodes/lib/red';
import { explain, explainText } from '../../nodes/lib/support-errors';

const ROOT = path.resolve(__dirname, '../../..');
const NODES = ['padim-model', 'padim-fit', 'padim-threshold', 'padim-archive', 'padim-review'];
const LANGS = ['en-US', 'ja'];

type Catalogue = Map<string, string>;

function flatten(obj: unknown, prefix: string, out: Catalogue): Catalogue {
  if (typeof obj === 'string') out.set(prefix, obj);
  else if (typeof obj === 'object' && obj !== null)
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

function catalogue(lang: string, node: string): Catalogue {
  const file = path.join(ROOT, 'locales', lang, `${node}.json`);
  return flatten(JSON.parse(fs.readFileSync(file, 'utf8')), '', new Map());
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

/** The property names of an object literal's text (`{ a, b: f(x, y) }`), at its top level. */
function propertyNames(literal: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let part = '';
  const flush = () => {
    const name = /^\s*(\w+)/.exec(part)?.[1];
    if (name) names.push(name);
    part = '';
  };
  for (const c of literal.slice(1, -1)) {
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (c === ',' && depth === 0) flush();
    else part += c;
  }
  flush();
  return names;
}

/** The object literal starting at `at` in `text` (its braces balanced). */
function literalAt(text: string, at: number): string {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(at, i + 1);
  }
  throw new Error(`unbalanced braces at ${at}`);
}

interface Use {
  key: string;
  /** the substitutions passed, or undefined when none are */
  names?: string[];
  where: string;
}

/** t('key', { ... }) and sharedText(RED, 'key', { ... }) calls of one source file. */
function usesIn(file: string, namespace: (call: string) => string | undefined): Use[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const uses: Use[] = [];
  for (const m of text.matchAll(/\b(t|sharedText)\(\s*(?:RED,\s*)?(['`])([\w.${}-]+)\2\s*(,\s*\{)?/g)) {
    const ns = namespace(m[1]);
    if (!ns) continue;
    const names = m[4] ? propertyNames(literalAt(text, (m.index ?? 0) + m[0].length - 1)) : undefined;
    uses.push({ key: `${ns}.${m[3]}`, names, where: `${file}: ${m[0]}` });
  }
  return uses;
}

/** Keys built at run time from a template (`status.${p.phase}`), as they can be. */
const BUILT: Record<string, string[]> = {
  'padim-fit.status.${p.phase}': ['embed', 'invert', 'calibrate'].map((p) => `padim-fit.status.${p}`),
  'padim-fit.status.${action}Done': ['fit', 'update'].map((a) => `padim-fit.status.${a}Done`),
  'padim-model.support.pathKind.${key}': Object.values(PATH_KINDS).map(
    (k) => `padim-model.support.pathKind.${k}`,
  ),
  'padim-model.support.${err.code}': Object.keys(SUPPORT_MESSAGES).map((c) => `padim-model.support.${c}`),
};

const allUses: Use[] = [
  ...NODES.flatMap((node) => usesIn(`nodes/${node}.ts`, (fn) => (fn === 't' ? node : 'padim-model'))),
  ...fs
    .readdirSync(path.join(ROOT, 'nodes/lib'))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => usesIn(`nodes/lib/${f}`, (fn) => (fn === 'sharedText' ? 'padim-model' : undefined))),
].flatMap((use) => (BUILT[use.key] ?? [use.key]).map((key) => ({ ...use, key })));

const catalogues = new Map(
  LANGS.map((lang) => [lang, new Map(NODES.map((node) => [node, catalogue(lang, node)]))]),
);
const textOf = (lang: string, key: string) => catalogues.get(lang)?.get(key.split('.')[0])?.get(key);

describe('runtime texts of model, fit, threshold, archive, review (en-US, ja)', () => {
  it('the five node files use keys, with and without substitutions', () => {
    for (const node of NODES)
      assert.ok(
        allUses.some((u) => u.key.startsWith(`${node}.`)),
        node,
      );
    assert.ok(allUses.filter((u) => u.names).length >= 15, 'substitutions are used');
  });

  it('every key used exists in both languages, with the substitutions the code passes', () => {
    for (const use of allUses) {
      for (const lang of LANGS) {
        const text = textOf(lang, use.key);
        assert.ok(text !== undefined, `${use.key} missing in ${lang} (${use.where})`);
        // the sub-tree of SupportError texts is checked below
        if (use.key.startsWith('padim-model.support.')) continue;
        assert.deepEqual(sorted(placeholdersOf(text)), sorted(use.names ?? []), `${lang} ${use.where}`);
      }
    }
  });

  it('both languages have the same keys and, key by key, the same placeholders', () => {
    for (const node of NODES) {
      const en = catalogues.get('en-US')?.get(node) as Catalogue;
      const ja = catalogues.get('ja')?.get(node) as Catalogue;
      assert.deepEqual(sorted(ja.keys()), sorted(en.keys()), node);
      for (const [key, text] of en)
        assert.deepEqual(sorted(placeholdersOf(ja.get(key) ?? '')), sorted(placeholdersOf(text)), key);
    }
  });

  it('every SupportError code has its text: en-US is the English message, ja has its placeholders', () => {
    for (const [code, template] of Object.entries(SUPPORT_MESSAGES)) {
      const key = `padim-model.support.${code}`;
      assert.equal(textOf('en-US', key), template, key);
      assert.deepEqual(
        sorted(placeholdersOf(textOf('ja', key) ?? '')),
        sorted(placeholdersOf(template)),
        key,
      );
      assert.notEqual(textOf('ja', key), template, `${key} is translated`);
    }
    for (const kind of Object.values(PATH_KINDS))
      for (const lang of LANGS)
        assert.ok(textOf(lang, `padim-model.support.pathKind.${kind}`), `${lang} path kind ${kind}`);
  });
});

/** RED._ as Node-RED answers it from the catalogues of one language, namespaced by node set. */
function runtimeIn(lang: string): NodeAPI {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string };
  const lookup = (key: string, substitutions?: Record<string, unknown>) => {
    const [ns, bare] = key.includes(':') ? key.split(':') : [undefined, key];
    // a node set's catalogue is registered as <package>/<set>
    if (ns !== undefined && ns !== `${pkg.name}/${bare.split('.')[0]}`) return bare;
    const text = textOf(lang, bare);
    return text === undefined ? bare : fillTemplate(text, substitutions ?? {});
  };
  return { _: lookup } as unknown as NodeAPI;
}

describe('node-support errors shown by a node', () => {
  const outside = (() => {
    try {
      new PathPolicy(['/data/images'], '/').check('/etc/passwd', 'image file');
    } catch (err) {
      return err;
    }
    throw new Error('not refused');
  })();

  it('in Japanese under the ja catalogue, the kind of path translated too', () => {
    const text = explainText(runtimeIn('ja'), outside);
    assert.match(text, /^画像ファイル \/etc\/passwd は Node-RED の設定の padimAllowedPaths/);
    assert.match(text, /\(\/data\/images\)/);
    const error = explain(runtimeIn('ja'), outside);
    assert.equal(error.message, text);
    assert.equal((error.cause as SupportError).code, 'path.outside');
  });

  it('in en-US exactly as the error says it, and as itself without a catalogue', () => {
    assert.equal(explainText(runtimeIn('en-US'), outside), (outside as Error).message);
    const bare = { _: (key: string) => key } as unknown as NodeAPI;
    const e = new SupportError('folder.missing', { path: '/x' });
    assert.equal(explain(bare, e), e, 'the English error itself');
    assert.equal(explainText(bare, new Error('from the core')), 'from the core');
  });

  it('each code renders its data in both languages', () => {
    for (const code of Object.keys(SUPPORT_MESSAGES) as SupportCode[]) {
      const data = Object.fromEntries(placeholdersOf(SUPPORT_MESSAGES[code]).map((n) => [n, `<${n}>`]));
      const error = new SupportError(code, data as never);
      for (const lang of LANGS) {
        const text = explainText(runtimeIn(lang), error);
        for (const name of Object.keys(data))
          assert.ok(text.includes(`<${name}>`), `${lang} ${code}: ${text}`);
        assert.doesNotMatch(text, /__\w+__/, `${lang} ${code}: ${text}`);
      }
    }
  });
});
