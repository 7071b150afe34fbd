/**
 * The models directory: downloaded registry files, imported files, and beside each the prepared
 * backbone (`<stem>.padim.onnx`: pruned after its three stages, dynamic input) with a small
 * `<stem>.padim.json` saying what it was made from. Backbone names resolve here.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../files/atomic-write';
import { modelsDirectory } from '../presets';
import { discoverStages, prepareBackbone, type StageCandidate } from '../stage-discovery';
import { download } from './download';
import { AUTO_ORDER, findEntry, registry, type RegistryEntry } from './registry';

/** What a prepared backbone was made from (the `.padim.json` beside it). */
export interface PreparedInfo {
  name: string;
  source: string;
  sourceBytes: number;
  sourceMtimeMs: number;
  sourceSha256: string;
  stages: [string, string, string];
  dynamic: boolean;
  /** channels and stride of each stage as measured */
  stageShapes: { channels: number; stride: number }[];
}

export interface InstalledState {
  entry?: RegistryEntry;
  name: string;
  /** the downloaded or imported file, where present */
  file?: string;
  /** the prepared backbone, where made */
  prepared?: string;
}

export function modelsDir(option?: string): string {
  return modelsDirectory(option).dir;
}

const stem = (file: string) => file.replace(/\.onnx$/, '');
const preparedPath = (dir: string, file: string) => path.join(dir, `${stem(file)}.padim.onnx`);
const infoPath = (dir: string, file: string) => path.join(dir, `${stem(file)}.padim.json`);

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function readInfo(file: string): PreparedInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PreparedInfo;
  } catch {
    return undefined;
  }
}

/** Registry entries with their state in `dir`, then imported backbones not in the registry. */
export function listInstalled(dir: string): InstalledState[] {
  const exists = (p: string) => fs.existsSync(p);
  const states: InstalledState[] = registry().map((entry) => {
    const file = path.join(dir, entry.file);
    const prepared = preparedPath(dir, entry.file);
    return {
      entry,
      name: entry.name,
      file: exists(file) ? file : undefined,
      prepared: exists(prepared) ? prepared : undefined,
    };
  });
  const known = new Set(registry().map((e) => stem(e.file)));
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return states;
  }
  for (const n of names.filter((f) => f.endsWith('.padim.json')).sort()) {
    const s = n.slice(0, -'.padim.json'.length);
    if (known.has(s)) continue;
    const info = readInfo(path.join(dir, n));
    const prepared = path.join(dir, `${s}.padim.onnx`);
    if (info && exists(prepared))
      states.push({ name: info.name, file: path.join(dir, info.source), prepared });
  }
  return states;
}

/** Prepares (or reuses) the backbone made from `file`; its stages found unless given. */
export async function ensurePrepared(
  dir: string,
  name: string,
  file: string,
  given?: [string, string, string],
): Promise<{ path: string; info: PreparedInfo }> {
  const base = path.basename(file);
  const out = preparedPath(dir, base);
  const stat = fs.statSync(file);
  const old = readInfo(infoPath(dir, base));
  // a registry entry whose stages changed since the file was prepared is prepared again
  const sameStages = !given || (old !== undefined && given.every((g, k) => old.stages[k] === g));
  if (
    old &&
    sameStages &&
    fs.existsSync(out) &&
    old.sourceBytes === stat.size &&
    old.sourceMtimeMs === stat.mtimeMs
  ) {
    return { path: out, info: old };
  }
  const bytes = fs.readFileSync(file);
  const found = await discoverStages(bytes);
  const byName = new Map(found.candidates.map((c) => [c.name, c]));
  const stages: StageCandidate[] = given
    ? given.map(
        (g) =>
          byName.get(g) ?? {
            name: g,
            opType: '',
            channels: 0,
            height: 0,
            width: 0,
            stride: 0,
            residual: false,
          },
      )
    : found.stages;
  const pruned = await prepareBackbone(
    bytes,
    stages.map((s) => s.name),
  );
  const info: PreparedInfo = {
    name,
    source: base,
    sourceBytes: stat.size,
    sourceMtimeMs: stat.mtimeMs,
    sourceSha256: createHash('sha256').update(bytes).digest('hex'),
    stages: stages.map((s) => s.name) as [string, string, string],
    dynamic: pruned.dynamic,
    stageShapes: stages.map((s) => ({ channels: s.channels, stride: s.stride })),
  };
  await writeFileAtomic(out, Buffer.from(pruned.bytes));
  await writeFileAtomic(infoPath(dir, base), JSON.stringify(info, null, 2) + '\n');
  return { path: out, info };
}

export interface PullOptions {
  mirror?: string;
  env?: NodeJS.ProcessEnv;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  ca?: string | Buffer;
  onProgress?: (received: number, total: number) => void;
}

/** The URL a pull fetches: the registry's, or the same file name on a mirror. */
export function pullUrl(entry: RegistryEntry, opts: PullOptions = {}): string {
  const mirror = opts.mirror ?? opts.env?.PADIM_MODELS_MIRROR ?? process.env.PADIM_MODELS_MIRROR;
  return mirror ? `${mirror.replace(/\/+$/, '')}/${entry.file}` : entry.url;
}

function knownEntry(name: string): RegistryEntry {
  const entry = findEntry(name);
  if (!entry) {
    throw new Error(
      `unknown backbone '${name}'; known: ${registry()
        .map((e) => e.name)
        .join(', ')} ('padim models list')`,
    );
  }
  return entry;
}

/** Downloads a registry backbone into `dir` (checked) and prepares it. */
export async function pull(dir: string, name: string, opts: PullOptions = {}): Promise<InstalledState> {
  const entry = knownEntry(name);
  if (!entry.sha256) {
    throw new Error(
      `backbone '${name}' has no published SHA-256 in the registry (${entry.checksumFrom}); refusing to download a file that cannot be checked`,
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, entry.file);
  if (!fs.existsSync(file)) {
    await download(pullUrl(entry, opts), file, { ...opts, sha256: entry.sha256, bytes: entry.bytes });
  }
  const prepared = await ensurePrepared(
    dir,
    entry.name,
    file,
    entry.stages === 'discover' ? undefined : entry.stages,
  );
  return { entry, name, file, prepared: prepared.path };
}

/**
 * Copies a file brought by hand into `dir`. A file matching a registry entry's checksum is
 * installed as that entry; `as` names a registry entry (then the checksum must match) or a new
 * local backbone. A file named like a registry file but with another checksum is refused.
 */
export async function importFile(dir: string, source: string, as?: string): Promise<InstalledState> {
  if (!fs.statSync(source).isFile()) throw new Error(`${source} is not a file`);
  const sha = await sha256File(source);
  const bySha = registry().find((e) => e.sha256 === sha);
  const entry = as ? findEntry(as) : (bySha ?? registry().find((e) => e.file === path.basename(source)));
  if (entry && entry.sha256 !== sha) {
    throw new Error(
      `${source} is not the published ${entry.name}: SHA-256 ${sha}, expected ${entry.sha256 ?? '(none published)'}; nothing was imported`,
    );
  }
  if (!entry && !as) {
    throw new Error(
      `${source} matches no registry backbone; give it a name with --as NAME to import it as your own`,
    );
  }
  if (as && !entry && !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(as)) {
    throw new Error(`--as '${as}': use lower-case letters, digits, '.', '_' and '-'`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const name = entry?.name ?? (as as string);
  const target = path.join(dir, entry?.file ?? `${name}.onnx`);
  const temp = `${target}.partial`;
  fs.copyFileSync(source, temp);
  fs.renameSync(temp, target);
  const prepared = await ensurePrepared(
    dir,
    name,
    target,
    entry && entry.stages !== 'discover' ? entry.stages : undefined,
  );
  return { entry, name, file: target, prepared: prepared.path };
}

export interface VerifyResult {
  name: string;
  file: string;
  ok: boolean;
  reason?: string;
}

/** Re-hashes every installed file against the registry (or against what it was prepared from). */
export async function verify(dir: string): Promise<VerifyResult[]> {
  const out: VerifyResult[] = [];
  for (const s of listInstalled(dir)) {
    if (!s.file || !fs.existsSync(s.file)) continue;
    const sha = await sha256File(s.file);
    const expected = s.entry?.sha256 ?? readInfo(infoPath(dir, path.basename(s.file)))?.sourceSha256;
    out.push(
      expected === sha
        ? { name: s.name, file: s.file, ok: true }
        : {
            name: s.name,
            file: s.file,
            ok: false,
            reason: `SHA-256 ${sha}, expected ${expected ?? 'unknown'}`,
          },
    );
  }
  return out;
}

/**
 * The prepared backbone for a name, preparing it from an installed file if needed; undefined
 * when the name is neither in the registry nor imported.
 */
export async function resolveInstalled(
  dir: string,
  name: string,
): Promise<{ path: string; installed: boolean } | undefined> {
  const entry = findEntry(name);
  if (entry) {
    const file = path.join(dir, entry.file);
    if (!fs.existsSync(file)) return { path: file, installed: false };
    const prepared = await ensurePrepared(
      dir,
      name,
      file,
      entry.stages === 'discover' ? undefined : entry.stages,
    );
    return { path: prepared.path, installed: true };
  }
  const local = listInstalled(dir).find((s) => !s.entry && s.name === name);
  return local?.prepared ? { path: local.prepared, installed: true } : undefined;
}

/** The best installed registry backbone for `--backbone auto`, if any. */
export function bestInstalled(dir: string): string | undefined {
  return AUTO_ORDER.find((name) => {
    const entry = findEntry(name);
    return entry !== undefined && fs.existsSync(path.join(dir, entry.file));
  });
}
