/**
 * `padim models history FILE [--json]` and `padim models rollback FILE [--to ID]`: the earlier
 * versions a fit or update kept of a model file (src/model/history/), and putting one back.
 */
import { DEFAULT_KEEP_VERSIONS, listModelVersions, rollbackModel, type ModelVersion } from '../model/history';
import { intOption, UsageError, type ParsedValues } from './args';

export const VERSIONS_HELP = `  history FILE         the model file's current version and the earlier ones kept in
                       FILE.history/ (id, time, training images, suggested threshold); --json
  rollback FILE        put an earlier version back (default the previous one; --to ID picks
                       one by its id or first digits); the replaced model is kept in turn
  --keep-versions N    with rollback: earlier versions kept (default ${DEFAULT_KEEP_VERSIONS})`;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

function row(mark: string, v: ModelVersion, when: string): string {
  return `${mark} ${v.id}  ${when.padEnd(24)}  ${String(v.nTrain).padStart(6)}  ${v.threshold.toPrecision(5).padStart(10)}  ${(v.bytes / 1e6).toFixed(1).padStart(8)} MB`;
}

export async function cmdModelHistory(file: string | undefined, v: ParsedValues, io: Io): Promise<void> {
  if (!file) throw new UsageError('give the model file');
  const { current, currentError, versions } = await listModelVersions(file);
  if (v.json) {
    io.out(
      JSON.stringify(
        { current: current ?? null, ...(currentError ? { currentError } : {}), versions },
        null,
        2,
      ),
    );
    return;
  }
  // the current model's time is when it was fitted (or updated); an earlier one's, when it was replaced
  io.out(`  id            ${'time'.padEnd(24)}  images   threshold      size`);
  if (current) io.out(row('*', current, current.updatedAt ?? current.createdAt));
  else io.err(`padim: the current model ${file} cannot be read: ${currentError}`);
  for (const ver of versions) io.out(row(' ', ver, ver.replacedAt));
  if (versions.length === 0) io.out(`(no earlier versions of ${file})`);
  else io.out('* current (time: fitted or updated); the others: time they were replaced, newest first');
}

export async function cmdModelRollback(file: string | undefined, v: ParsedValues, io: Io): Promise<void> {
  if (!file) throw new UsageError('give the model file');
  const keep = intOption(v['keep-versions'] as string | undefined, 'keep-versions', 0);
  const r = await rollbackModel(file, v.to as string | undefined, {
    keep,
    log: (m) => io.err(`padim: warning: ${m}`),
  });
  io.out(
    `${file} rolled back to ${r.to.id} (fitted ${r.to.createdAt}, ${r.to.nTrain} images, threshold ${r.to.threshold.toPrecision(5)})${r.from ? `; ${r.from} kept as a version` : ''}`,
  );
}
