/**
 * `padim archive find DIR --image NAME [--json]`: the decisions a padim-archive node kept about
 * a part (src/archive/), oldest first, with the files kept with them.
 */
import { findDecisions } from '../archive';
import { parse, UsageError } from './args';

export const ARCHIVE_HELP = `Usage: padim archive find DIR --image NAME [--json]

  Lists the decisions kept in the archive folder DIR (a padim-archive node's) about the image
  NAME: its file name (part-0042.png) or its full path as recorded. Oldest first.
  --image NAME        the image to look for
  --json              one JSON object per decision: the result (schemas/result.schema.json)
                      and the absolute paths of the image and heatmap kept with it`;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export async function cmdArchive(argv: string[], io: Io): Promise<number | void> {
  const { values: v, positionals } = parse(
    argv,
    { image: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  const [sub, dir] = positionals;
  if (v.help || !sub) return io.out(ARCHIVE_HELP);
  if (sub !== 'find') throw new UsageError(`unknown archive command '${sub}'`);
  if (!dir) throw new UsageError('give the archive folder');
  const image = v.image as string | undefined;
  if (!image) throw new UsageError('--image is required');
  const { found, scan } = await findDecisions(dir, image);
  if (scan.skipped > 0) io.err(`padim: warning: ${scan.skipped} damaged line(s) in ${dir} skipped`);
  for (const f of found) {
    const r = f.result;
    if (v.json)
      io.out(JSON.stringify({ result: r, image: f.paths.image ?? null, heatmap: f.paths.heatmap ?? null }));
    else
      io.out(
        `${r.timestamp}  ${r.decision}  score ${r.score}  threshold ${r.threshold}  model ${r.modelId ?? '-'}  ${r.image}${f.paths.image ? `\n    image   ${f.paths.image}` : ''}${f.paths.heatmap ? `\n    heatmap ${f.paths.heatmap}` : ''}`,
      );
  }
  if (found.length === 0) {
    io.err(`padim: no decision about ${image} in ${dir} (${scan.records} decisions read)`);
    return 1;
  }
}
