/**
 * The message texts nodes show in these tests: the key, with the substitutions where the en-US
 * catalogue puts them.
 *
 * Node-RED's test helper hands nodes a `RED._` that returns the key and drops the substitutions
 * (`t('status.queue', { queued: 2, capacity: 2 })` would show as `padim-score.status.queue`), so
 * a test could not see the values a message carries. Here the en-US template is filled in, and
 * its leading words (the text before the first placeholder, without the separator that joins it
 * to the value) are replaced by the key: 'queue __queued__/__capacity__' shows as
 * 'padim-score.status.queue 2/2'. Tests keep asserting which message was shown, not its English
 * wording, and see the values too. A text without substitutions is its key, as before.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NodeAPI } from '../../nodes/lib/red';

const LOCALES = path.resolve(__dirname, '../../../locales/en-US');
const PLACEHOLDER = /__(\w+)__/g;
/** what joins a message's words to its first value: spaces, ':', '·', '(' and the like */
const SEPARATOR = /[\s:·(,;-]*$/u;

const catalogues = new Map<string, unknown>();

/** The en-US template of `padim-x.a.b`, or undefined when there is none. */
function template(key: string): string | undefined {
  const [namespace, ...parts] = key.split('.');
  if (!catalogues.has(namespace)) {
    const file = path.join(LOCALES, `${namespace}.json`);
    catalogues.set(namespace, fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {});
  }
  let node: unknown = catalogues.get(namespace);
  for (const part of [namespace, ...parts]) node = (node as Record<string, unknown> | undefined)?.[part];
  return typeof node === 'string' ? node : undefined;
}

/** `RED._` for the nodes under test: see the module comment. */
export function keyedMessage(key: string, substitutions?: Record<string, unknown>): string {
  const text = substitutions ? template(key) : undefined;
  if (text === undefined) return key;
  const first = text.search(PLACEHOLDER);
  const words = (first < 0 ? text : text.slice(0, first)).replace(SEPARATOR, '');
  const keyed = words ? key + text.slice(words.length) : text;
  return keyed.replace(PLACEHOLDER, (whole, name: string) =>
    name in substitutions! ? String(substitutions![name]) : whole,
  );
}

/** A node module's register function, given a RED whose `_` is keyedMessage. */
export function withKeyedMessages<F extends (RED: NodeAPI) => unknown>(register: F): F {
  return ((RED: NodeAPI) => register(Object.create(RED, { _: { value: keyedMessage } }) as NodeAPI)) as F;
}
