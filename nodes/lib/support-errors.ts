/**
 * The errors of src/node-support (SupportError: a code and its values) in the user's language.
 *
 * Node-RED gives each node file its own catalogue, so the texts of these errors, which every
 * node can meet, are kept once, in padim-model's (`padim-model.support.<code>`), and looked up
 * under that node set's namespace (`<package name>/padim-model`, as Node-RED names it). Where that
 * catalogue lacks a text (an older translation, or no catalogues loaded) the English message
 * stands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../../src/files/package-root';
import { PATH_KINDS, isSupportError, type PathKind } from '../../src/node-support/errors';
import type { Substitution } from './i18n';
import type { NodeAPI } from './red';
import { asError } from './util';

/** Node-RED's namespace of the padim-model node set: `<module>/<set>`. */
const MODEL_NAMESPACE = `${
  (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string }).name
}/padim-model`;

/**
 * `padim-model.<key>` from padim-model's catalogue, whichever node asks; undefined when the
 * catalogue lacks it (Node-RED then answers with the key itself).
 */
export function sharedText(
  RED: NodeAPI,
  key: string,
  substitutions?: Record<string, Substitution>,
): string | undefined {
  const bare = `padim-model.${key}`;
  const full = `${MODEL_NAMESPACE}:${bare}`;
  const filled = substitutions
    ? Object.fromEntries(Object.entries(substitutions).map(([name, value]) => [name, String(value)]))
    : undefined;
  const text = RED._(full, filled);
  return text === full || text === bare ? undefined : text;
}

/** The kind of path an error names, translated (`image file`, `model folder`, ...). */
function pathKindText(RED: NodeAPI, what: unknown): string | undefined {
  const key = typeof what === 'string' ? PATH_KINDS[what as PathKind] : undefined;
  return key ? sharedText(RED, `support.pathKind.${key}`) : undefined;
}

/**
 * The error's text for the user: a SupportError in the catalogue's language, anything else
 * (the core's errors) with its own message.
 */
export function explainText(RED: NodeAPI, err: unknown): string {
  if (!isSupportError(err)) return asError(err).message;
  const data: Record<string, Substitution> = { ...err.data };
  if ('what' in data) data.what = pathKindText(RED, data.what) ?? data.what;
  return sharedText(RED, `support.${err.code}`, data) ?? err.message;
}

/** `err` as an Error for done() and node.error, its text explained (see explainText). */
export function explain(RED: NodeAPI, err: unknown): Error {
  if (!isSupportError(err)) return asError(err);
  const text = explainText(RED, err);
  if (text === err.message) return err;
  return new Error(text, { cause: err });
}
