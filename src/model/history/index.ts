/**
 * Model versions: every fit and update keeps the model it replaces (a bounded number of them)
 * in `MODEL.history/`, each with its id, time, image count and suggested threshold, and a model
 * file can be rolled back to any of them.
 *
 * The current model is never put at risk: the version kept is a hard link to the current file
 * (a copy where links are not possible), made before the new model is written atomically over
 * it (saveModel writes a new file and renames it, so the link keeps the old bytes); a rollback
 * copies the chosen version over the model atomically too. The history never lists the current
 * model: rolling back to B from C keeps C as a version and takes B off the list, so a second
 * rollback goes back to C.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeAtomically } from '../../files/atomic-write';
import type { PadimModel } from '../model';
import { loadModel, readModelHeader, saveModel } from '../model-file';
import { sha256File } from '../../backbone/registry/store';
import { modelInfo } from '../model-info';
import {
  HistoryIndexError,
  INDEX_FILE,
  historyDir,
  readVersions,
  versionFileName,
  writeVersions,
  type ModelVersion,
} from './index-file';

export { HistoryIndexError, historyDir, readVersions, type ModelVersion } from './index-file';

/** Versions kept unless configured otherwise. */
export const DEFAULT_KEEP_VERSIONS = 5;

export interface HistoryOptions {
  /** earlier versions kept (the oldest beyond are deleted); 0 keeps none */
  keep?: number;
  /** warnings (a damaged index set aside) */
  log?: (message: string) => void;
}

function keepCount(opts: HistoryOptions): number {
  const keep = opts.keep ?? DEFAULT_KEEP_VERSIONS;
  if (!Number.isInteger(keep) || keep < 0)
    throw new RangeError(`the number of model versions to keep must be a whole number >= 0, got ${keep}`);
  return keep;
}

/** Hard link `from` at `to` (replacing `to`), or copy where the file system cannot link. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  const tmp = `${to}.tmp-${process.pid}`;
  await fsp.rm(tmp, { force: true });
  try {
    try {
      await fsp.link(from, tmp);
    } catch {
      await fsp.copyFile(from, tmp);
    }
    await fsp.rename(tmp, to);
  } catch (err) {
    // a copy cut short (a full disk) must not stay behind
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** The versions as listed, or a fresh list when the index is damaged (set aside, with a warning). */
async function versionsForWriting(modelPath: string, log: (m: string) => void): Promise<ModelVersion[]> {
  try {
    return await readVersions(modelPath);
  } catch (err) {
    if (!(err instanceof HistoryIndexError)) throw err;
    const aside = `${err.file}.damaged`;
    await fsp.rename(err.file, aside).catch(() => undefined);
    log(`${err.message}; it was moved to ${aside} and a new history started`);
    return [];
  }
}

/** Deletes the files of versions beyond `keep` and of `dropped`; returns the versions kept. */
async function prune(modelPath: string, versions: ModelVersion[], keep: number): Promise<ModelVersion[]> {
  const kept = versions.slice(0, keep);
  await writeVersions(modelPath, kept);
  for (const v of versions.slice(keep))
    await fsp.rm(path.join(historyDir(modelPath), v.file), { force: true }).catch(() => undefined);
  return kept;
}

/** The current model file as a version entry (reads its header and hashes it). */
async function describeCurrent(modelPath: string): Promise<ModelVersion> {
  const { fileBytes, ...header } = await readModelHeader(modelPath);
  // the id of the header as loaded (what padim-score reports), without the file size read beside it
  const { id } = modelInfo(modelPath, header);
  return {
    id,
    file: versionFileName(id),
    replacedAt: new Date().toISOString(),
    createdAt: header.createdAt,
    ...(header.updatedAt ? { updatedAt: header.updatedAt } : {}),
    nTrain: header.nTrain,
    threshold: header.threshold,
    bytes: fileBytes,
    sha256: await sha256File(modelPath),
  };
}

/** The current model as a version, or undefined when there is none or it cannot be read. */
async function currentVersion(
  modelPath: string,
  log: (m: string) => void,
): Promise<ModelVersion | undefined> {
  try {
    return await describeCurrent(modelPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log(
        `the model ${modelPath} being replaced cannot be read, so it is not kept as a version: ${(err as Error).message}`,
      );
    return undefined;
  }
}

/**
 * Puts `current` (the model at `modelPath`, about to be replaced) at the head of the versions.
 * `exclude` is left out of the list (a rollback's target, which becomes the current model).
 */
async function keepCurrent(
  modelPath: string,
  current: ModelVersion | undefined,
  log: (m: string) => void,
  exclude?: string,
): Promise<ModelVersion[]> {
  const dir = historyDir(modelPath);
  await fsp.mkdir(dir, { recursive: true });
  let versions = await versionsForWriting(modelPath, log);
  if (current) {
    await linkOrCopy(modelPath, path.join(dir, current.file));
    versions = [current, ...versions.filter((v) => v.id !== current.id)];
  }
  return versions.filter((v) => v.id !== exclude);
}

/**
 * Saves `model` at `modelPath` atomically (saveModel), keeping the model it replaces as a version.
 * The old file is linked into the history before the save (afterwards its name holds the new
 * model), but listed and pruned only once the new model is saved: a save that fails (a full
 * disk) leaves the model file and the history as they were.
 */
export async function saveModelVersion(
  modelPath: string,
  model: PadimModel,
  opts: HistoryOptions = {},
): Promise<void> {
  const keep = keepCount(opts);
  const log = opts.log ?? (() => {});
  const current = keep > 0 ? await currentVersion(modelPath, log) : undefined;
  // a first fit (no file yet) has nothing to keep and makes no history folder
  if (!current) return saveModel(modelPath, model);
  const dir = historyDir(modelPath);
  const kept = path.join(dir, current.file);
  const madeDir = !(await exists(dir));
  const linkedNow = !(await exists(kept));
  try {
    await fsp.mkdir(dir, { recursive: true });
    if (linkedNow) await linkOrCopy(modelPath, kept);
    await saveModel(modelPath, model);
  } catch (err) {
    if (linkedNow) await fsp.rm(kept, { force: true }).catch(() => undefined);
    if (madeDir) await fsp.rmdir(dir).catch(() => undefined);
    throw err;
  }
  try {
    const versions = await versionsForWriting(modelPath, log);
    await prune(modelPath, [current, ...versions.filter((v) => v.id !== current.id)], keep);
  } catch (err) {
    // the new model is saved and in use: a history that cannot be written is worth a warning only
    log(`${modelPath} was saved, but its history could not be updated: ${(err as Error).message}`);
  }
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}

export interface RollbackResult {
  /** the model now at modelPath, loaded and checked */
  model: PadimModel;
  /** the version rolled back to */
  to: ModelVersion;
  /** the id of the model it replaced (undefined when that file could not be read) */
  from?: string;
}

/** The version `to` names (an id or a unique prefix of one), or the newest other than `current`. */
function chooseVersion(
  all: readonly ModelVersion[],
  to: string | undefined,
  current: string | undefined,
  modelPath: string,
): ModelVersion {
  const versions = all.filter((v) => v.id !== current);
  if (versions.length === 0) throw new Error(`${modelPath} has no earlier version to roll back to`);
  if (to === undefined) return versions[0];
  const matches = versions.filter((v) => v.id.startsWith(to.trim().toLowerCase()));
  if (to.trim() === '' || matches.length === 0)
    throw new Error(`no version ${to} of ${modelPath}; versions: ${versions.map((v) => v.id).join(', ')}`);
  if (matches.length > 1)
    throw new Error(`${to} names several versions: ${matches.map((v) => v.id).join(', ')}`);
  return matches[0];
}

/**
 * Rolls `modelPath` back to an earlier version (`to`: an id or its prefix; default the newest
 * earlier version). The version's file is checked (SHA-256, then loaded in full) before anything
 * changes; the model it replaces is kept as a version. The model file ends byte-identical to the
 * version.
 */
export async function rollbackModel(
  modelPath: string,
  to?: string,
  opts: HistoryOptions = {},
): Promise<RollbackResult> {
  const keep = keepCount(opts);
  const log = opts.log ?? (() => {});
  const listed = await readVersions(modelPath);
  const current = await currentVersion(modelPath, log);
  const target = chooseVersion(listed, to, current?.id, modelPath);
  const file = path.join(historyDir(modelPath), target.file);
  const digest = await sha256File(file).catch((err: Error) => {
    throw new Error(`version ${target.id} of ${modelPath} cannot be read: ${err.message}`);
  });
  if (digest !== target.sha256)
    throw new Error(
      `version ${target.id} (${file}) is damaged: its SHA-256 does not match the history index`,
    );
  const model = await loadModel(file);
  const versions = await keepCurrent(modelPath, current, log, target.id);
  // copied, not linked: the model file must not share its bytes with a file the history prunes
  await writeAtomically(modelPath, async (fh) => {
    for await (const chunk of (await fsp.open(file)).createReadStream()) await fh.write(chunk as Buffer);
  });
  await prune(modelPath, versions, keep);
  await fsp.rm(file, { force: true });
  return { model, to: target, from: current?.id };
}

/** The current model (or undefined when unreadable, with the reason) and its earlier versions. */
export async function listModelVersions(modelPath: string): Promise<{
  current?: ModelVersion;
  currentError?: string;
  versions: ModelVersion[];
}> {
  const versions = await readVersions(modelPath);
  try {
    return { current: await describeCurrent(modelPath), versions };
  } catch (err) {
    return { currentError: (err as Error).message, versions };
  }
}

/** The history folder's bytes (versions and index), for the benchmark. */
export async function historyBytes(modelPath: string): Promise<number> {
  const dir = historyDir(modelPath);
  let sum = 0;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[]))
    sum += (await fsp.stat(path.join(dir, name))).size;
  return sum;
}

export { INDEX_FILE };
