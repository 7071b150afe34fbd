/**
 * The index of a model's earlier versions: `MODEL.history/index.json`, newest first. Read as a
 * hostile file: size-limited, every field checked, file names restricted to `<id>.padim` in the
 * history folder (an edited index cannot point a rollback at another file).
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../../files/atomic-write';
import { readRegularFile } from '../../files/regular-file';

/** One earlier version of a model file. */
export interface ModelVersion {
  /** the model id (first 12 hex digits of the SHA-256 of its header, as padim-score reports it) */
  id: string;
  /** file name in the history folder */
  file: string;
  /** when this version stopped being the current model (ISO 8601) */
  replacedAt: string;
  /** when it was fitted, and last updated */
  createdAt: string;
  updatedAt?: string;
  /** training images */
  nTrain: number;
  /** suggested threshold on the image score */
  threshold: number;
  /** file size in bytes, and its SHA-256 (checked before a rollback) */
  bytes: number;
  sha256: string;
}

export const INDEX_FILE = 'index.json';
const FORMAT = 'padim-model-history';
const MAX_INDEX_BYTES = 1 << 20;
const ID = /^[0-9a-f]{12}$/;

/** The history index exists but cannot be used; the model file itself is not affected. */
export class HistoryIndexError extends Error {
  override name = 'HistoryIndexError';
  readonly code = 'HISTORY_DAMAGED';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`the model history index ${file} is damaged (${reason}); the current model is not affected`);
  }
}

export function historyDir(modelPath: string): string {
  return `${modelPath}.history`;
}

export const versionFileName = (id: string) => `${id}.padim`;

function checkVersion(v: unknown, i: number): ModelVersion {
  const e = v as Partial<ModelVersion> | null;
  const bad = (field: string) => new Error(`entry ${i}: ${field}`);
  if (typeof e !== 'object' || e === null) throw bad('not an object');
  if (typeof e.id !== 'string' || !ID.test(e.id)) throw bad('id is not 12 hex digits');
  if (e.file !== versionFileName(e.id)) throw bad(`file must be ${versionFileName(e.id)}`);
  for (const f of ['replacedAt', 'createdAt'] as const)
    if (typeof e[f] !== 'string') throw bad(`${f} missing`);
  if (e.updatedAt !== undefined && typeof e.updatedAt !== 'string') throw bad('updatedAt is not text');
  if (!Number.isInteger(e.nTrain) || (e.nTrain as number) < 0) throw bad('nTrain');
  if (!Number.isFinite(e.threshold)) throw bad('threshold');
  if (!Number.isSafeInteger(e.bytes) || (e.bytes as number) < 0) throw bad('bytes');
  if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) throw bad('sha256');
  return e as ModelVersion;
}

/**
 * The earlier versions of `modelPath`, newest first; [] when it has no history yet.
 * Throws HistoryIndexError when the index is there but unusable.
 */
export async function readVersions(modelPath: string): Promise<ModelVersion[]> {
  const file = path.join(historyDir(modelPath), INDEX_FILE);
  let text: string;
  try {
    text = (await readRegularFile(file, MAX_INDEX_BYTES, 'model history index')).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new HistoryIndexError(file, (err as Error).message);
  }
  try {
    const parsed = JSON.parse(text) as { format?: unknown; versions?: unknown };
    if (parsed?.format !== FORMAT) throw new Error(`not a ${FORMAT} file`);
    if (!Array.isArray(parsed.versions)) throw new Error('no list of versions');
    const versions = parsed.versions.map(checkVersion);
    if (new Set(versions.map((v) => v.id)).size !== versions.length) throw new Error('an id twice');
    return versions;
  } catch (err) {
    throw new HistoryIndexError(file, (err as Error).message);
  }
}

/** Replaces the index atomically. */
export async function writeVersions(modelPath: string, versions: readonly ModelVersion[]): Promise<void> {
  const file = path.join(historyDir(modelPath), INDEX_FILE);
  await writeFileAtomic(file, `${JSON.stringify({ format: FORMAT, versions }, null, 2)}\n`);
}
