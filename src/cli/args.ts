/**
 * Command-line parsing helpers on top of node:util parseArgs: typed numbers, clear usage errors.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { StageNames } from '../backbone/backbone';
import { parseLayers } from '../backbone/layers';

/** A mistake in the command line: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Option values as parseArgs returns them. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function parse(argv: string[], options: Options, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intOption(value: string | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

export function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive number, got '${value}'`);
  return n;
}

export function choiceOption<T extends string>(
  value: string | undefined,
  name: string,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as T))
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${value}'`);
  return value as T;
}

export function layersOption(value: string | undefined): StageNames | undefined {
  if (value === undefined) return undefined;
  try {
    return parseLayers(value, '--layers');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function required(value: string | undefined, name: string): string {
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}
