/**
 * The package's published message schemas (schemas/*.schema.json), compiled once each. Messages
 * are checked before they leave a node, so a wrong field is caught here and not in the consumer
 * (an MQTT subscriber, a PLC gateway, a database).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../files/package-root';
import Ajv, { type ValidateFunction } from 'ajv';

/** The schema files ship in the package's schemas/ folder. */
export const SCHEMA_DIR = path.join(PACKAGE_ROOT, 'schemas');

const compiled = new Map<string, ValidateFunction>();

/** Throws a readable error when `value` does not follow schemas/`file`. */
export function assertFollowsSchema(file: string, value: unknown, what: string): void {
  let check = compiled.get(file);
  if (!check) {
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as object;
    check = new Ajv({ allErrors: true }).compile(schema);
    compiled.set(file, check);
  }
  if (!check(value)) {
    const problems = (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new Error(`the ${what} does not follow schemas/${file}: ${problems}`);
  }
}
