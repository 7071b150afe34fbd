/**
 * `padim models list|pull NAME|import FILE [--as NAME]|verify|inspect FILE`: published
 * backbones (registry/backbones.json) in the models directory.
 */
import * as fs from 'node:fs';
import { listInstalled, importFile, modelsDir, pull, verify } from '../backbone/registry/store';
import { discoverStages } from '../backbone/stage-discovery';
import { cmdModelHistory, cmdModelRollback, VERSIONS_HELP } from './model-versions';
import { parse, UsageError } from './args';

export const MODELS_HELP = `Usage: padim models <list|pull NAME|import FILE [--as NAME]|verify|inspect FILE> [options]

  list                 known backbones: installed or not, size, licence, source
  pull NAME            download NAME (checked by SHA-256, resumed if interrupted) and prepare it
  import FILE          install a file brought by hand (its SHA-256 must match the registry's,
                       or give --as NAME to import any ONNX classifier as your own backbone)
  verify               re-check the SHA-256 of every installed file
  inspect FILE         list the tensors that can serve as stages (name, op, channels, stride)
${VERSIONS_HELP}
  --dir DIR            models directory (default $PADIM_MODELS_DIR, else ~/.padim/models)
  --mirror URL         fetch from an internal HTTP server holding the same file names
                       (default $PADIM_MODELS_MIRROR); HTTPS_PROXY/HTTP_PROXY/NO_PROXY are honoured`;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function byteProgress(quiet: boolean): ((received: number, total: number) => void) | undefined {
  const stream = process.stderr;
  if (quiet || !stream.isTTY) return undefined;
  const start = performance.now();
  return (received, total) => {
    const s = (performance.now() - start) / 1000;
    const rate = s > 0.2 ? received / s : 0;
    const eta = rate > 0 ? `${Math.round((total - received) / rate)}s` : '?';
    const filled = Math.round((received / total) * 24);
    stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] ${mb(received)}/${mb(total)}  ${mb(rate)}/s  ETA ${eta}\x1b[K`,
    );
    if (received === total) stream.write('\n');
  };
}

export async function cmdModels(argv: string[], io: Io): Promise<void> {
  const { values: v, positionals } = parse(
    argv,
    {
      dir: { type: 'string' },
      mirror: { type: 'string' },
      as: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
      json: { type: 'boolean' },
      to: { type: 'string' },
      'keep-versions': { type: 'string' },
    },
    true,
  );
  const [sub, arg] = positionals;
  if (v.help || !sub) return io.out(MODELS_HELP);
  if (sub === 'history') return cmdModelHistory(arg, v, io);
  if (sub === 'rollback') return cmdModelRollback(arg, v, io);
  const dir = modelsDir(v.dir as string | undefined);
  if (sub === 'list') {
    io.out(`models directory ${dir}`);
    for (const s of listInstalled(dir)) {
      const state = s.prepared ? 'installed' : s.file ? 'downloaded' : 'missing';
      const e = s.entry;
      io.out(
        `${s.name.padEnd(22)} ${state.padEnd(10)} ${e ? mb(e.bytes).padStart(9) : ''.padStart(9)}  ${e ? `${e.licence}; ${e.source}` : 'imported'}${e && !e.sha256 ? ' (no published checksum: pull refused)' : ''}`,
      );
    }
    return;
  }
  if (sub === 'pull') {
    if (!arg) throw new UsageError('give the backbone to pull (padim models list shows them)');
    const s = await pull(dir, arg, {
      mirror: v.mirror as string | undefined,
      onProgress: byteProgress(Boolean(v.quiet)),
    });
    return io.out(`${s.name} installed: ${s.prepared}`);
  }
  if (sub === 'import') {
    if (!arg) throw new UsageError('give the file to import');
    const s = await importFile(dir, arg, v.as as string | undefined);
    return io.out(`${s.name} imported: ${s.prepared}`);
  }
  if (sub === 'verify') {
    const results = await verify(dir);
    for (const r of results)
      io.out(`${r.ok ? 'ok  ' : 'BAD '} ${r.name} ${r.file}${r.reason ? `: ${r.reason}` : ''}`);
    if (results.some((r) => !r.ok))
      throw new Error('some files do not match their checksum: pull or import them again');
    if (results.length === 0) io.out(`nothing installed in ${dir}`);
    return;
  }
  if (sub === 'inspect') {
    if (!arg) throw new UsageError('give an .onnx file');
    const found = await discoverStages(fs.readFileSync(arg));
    const chosen = new Set(found.stages.map((s) => s.name));
    io.out(`candidates at ${found.probe.width}x${found.probe.height} (* = chosen stage; R = residual sum)`);
    for (const c of found.candidates) {
      io.out(
        `${chosen.has(c.name) ? '*' : ' '} ${c.name.padEnd(32)} ${c.opType.padEnd(14)} ${String(c.channels).padStart(5)} ch  /${c.stride}${c.residual ? ' R' : ''}`,
      );
    }
    return io.out(`--layers ${found.stages.map((s) => s.name).join(',')}`);
  }
  throw new UsageError(`unknown models command '${sub}'`);
}
