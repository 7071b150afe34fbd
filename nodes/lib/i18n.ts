/**
 * The message catalogue of one node: `t('errors.policy', { policy })` looks up
 * `<node>.errors.policy` in locales/<lang>/<node>.json and fills in `__policy__`.
 *
 * Values go in as substitutions, never glued to the translated text, so each catalogue puts them
 * where its language wants them (Japanese puts the value before the verb).
 */
import type { NodeAPI } from './red';

/** A value a message may carry: shown as text. */
export type Substitution = string | number | boolean;

/** Looks up a key of one node's catalogue, with `__name__` placeholders filled in. */
export type Translate = (key: string, substitutions?: Record<string, Substitution>) => string;

/** The catalogue of the node whose locales file is `<namespace>.json` (e.g. 'padim-score'). */
export function translator(RED: NodeAPI, namespace: string): Translate {
  return (key, substitutions) => {
    const filled: Record<string, string> | undefined = substitutions
      ? Object.fromEntries(Object.entries(substitutions).map(([name, value]) => [name, String(value)]))
      : undefined;
    return RED._(`${namespace}.${key}`, filled);
  };
}
