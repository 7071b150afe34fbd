/**
 * Child process for the memory-capped model file tests: loads each file of a list and prints
 * one JSON line per file (loaded, and whether its arrays equal the reference model's; or the
 * error, with its class, code and message; or what was thrown if it was not an Error), then
 * a last line with the process's peak resident set (VmHWM on Linux, KiB: test/support/peak-rss.ts).
 *
 *   node --max-old-space-size=N model-load-child.js <reference model> <list.json>
 *
 * A crash, an abort for memory or a hang shows as the child dying or never printing its last
 * line, which the parent reports.
 */
import * as fs from 'node:fs';
import { loadModel } from '../../src/model/model-file';
import { peakRssKiB } from '../support/peak-rss';
import type { PadimModel } from '../../src/model/model';

const bytesOf = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Same arrays, bit for bit (headers may differ: a rewritten threshold is still a model). */
function sameArrays(a: PadimModel, b: PadimModel): boolean {
  const ga = a.gaussian;
  const gb = b.gaussian;
  if (ga.cells !== gb.cells || ga.dims !== gb.dims || !bytesOf(ga.mean).equals(bytesOf(gb.mean)))
    return false;
  const pa = Buffer.concat(ga.precision.map(bytesOf));
  const pb = Buffer.concat(gb.precision.map(bytesOf));
  if (!pa.equals(pb)) return false;
  if (!!a.projection !== !!b.projection) return false;
  return !a.projection || bytesOf(a.projection).equals(bytesOf(b.projection!));
}

async function main(): Promise<void> {
  const [referencePath, listPath] = process.argv.slice(2);
  const reference = await loadModel(referencePath);
  const files = JSON.parse(fs.readFileSync(listPath, 'utf8')) as string[];
  for (const file of files) {
    let line: Record<string, unknown>;
    try {
      const model = await loadModel(file);
      line = { file, outcome: 'loaded', identical: sameArrays(model, reference) };
    } catch (err) {
      line =
        err instanceof Error
          ? {
              file,
              outcome: 'error',
              name: err.name,
              code: (err as { code?: unknown }).code,
              message: err.message,
            }
          : { file, outcome: 'non-error', thrown: String(err) };
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  process.stdout.write(`${JSON.stringify({ maxRssKiB: peakRssKiB() })}\n`);
}

main().catch((err) => {
  process.stderr.write(`model-load-child: ${(err as Error).stack}\n`);
  process.exit(2);
});
