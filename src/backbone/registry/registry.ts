/**
 * The registry of published backbones (registry/backbones.json, checked against
 * schemas/backbones.schema.json): what `padim models pull` may fetch and how each file becomes
 * a PaDiM backbone. Data, not code, so a new entry needs no release of the logic.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../../files/package-root';
import Ajv from 'ajv';

export interface RegistryEntry {
  name: string;
  description: string;
  /** file name in the models directory (also the name on a mirror) */
  file: string;
  url: string;
  /** exact size of the published file, bytes */
  bytes: number;
  /** hex SHA-256; null where no published checksum was found (then pull is refused) */
  sha256: string | null;
  checksumFrom: string;
  licence: string;
  source: string;
  /** 'discover', or the three stage tensor names */
  stages: 'discover' | [string, string, string];
}

export const REGISTRY_FILE = path.join(PACKAGE_ROOT, 'registry', 'backbones.json');
const SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schemas', 'backbones.schema.json');

/** Reads and validates a registry file; throws naming every problem. */
export function readRegistry(file = REGISTRY_FILE): RegistryEntry[] {
  const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as object;
  const check = new Ajv({ allErrors: true }).compile(schema);
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`backbone registry ${file} is not readable JSON: ${(err as Error).message}`);
  }
  if (!check(data)) {
    const problems = (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new Error(`backbone registry ${file} does not follow schemas/backbones.schema.json: ${problems}`);
  }
  const entries = (data as { backbones: RegistryEntry[] }).backbones;
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new Error(`backbone registry ${file}: name '${e.name}' appears twice`);
    names.add(e.name);
  }
  return entries;
}

let cached: RegistryEntry[] | undefined;

/** The package's registry, read once. */
export function registry(): RegistryEntry[] {
  cached ??= readRegistry();
  return cached;
}

export function findEntry(name: string): RegistryEntry | undefined {
  return registry().find((e) => e.name === name);
}

/**
 * Order of `--backbone auto`: the best installed one is used. The paper's networks first
 * (WR50 > R18 in the paper; not downloadable on the machine the benchmarks ran on). Then the
 * int8 MobileNetV2 at blocks 3/6/10 before the float MobileNetV2 files, whose stages are found
 * by discovery (block 13): on bottle the float network at block 13 scored below the int8 one at
 * block 10 (image AUROC 0.995 vs 0.999, AUPRO 0.944 vs 0.953) and is about 3x slower. See
 * BENCHMARKS.md, "Backbones a user can get".
 */
export const AUTO_ORDER: readonly string[] = [
  'wide_resnet50_2',
  'resnet18',
  'efficientnet_b0',
  'mobilenetv2-12-int8',
  'mobilenetv2-7',
  'mobilenetv2-12',
];
