/**
 * Child process for the fit memory test: fits on the first `count` images of a folder with the
 * node tests' small settings at 64x64 and prints its peak resident set
 * (VmHWM on Linux, KiB: test/support/peak-rss.ts) and the fit's wall time as one JSON line.
 *
 *   node --max-old-space-size=N fit-rss-child.js <folder> <count>
 */
import { fitModel } from '../../src/padim/fit';
import { listImageFiles } from '../../src/image/image-files';
import { parseModelSettings } from '../../src/node-support/model-settings';
import { peakRssKiB } from '../support/peak-rss';

/** test/nodes/fixtures.ts's SMALL_MODEL at 64x64 (not imported: fixtures loads Node-RED, which would be measured too) */
const SETTINGS = {
  size: '64x64',
  dims: '16',
  threads: '1',
  backbone: 'builtin:filterbank',
  path: 'unused.padim',
};

async function main(): Promise<void> {
  const [folder, count] = process.argv.slice(2);
  const files = listImageFiles(folder).slice(0, Number(count));
  const { fit } = parseModelSettings(SETTINGS, folder);
  const started = performance.now();
  const model = await fitModel(files, fit);
  const ms = performance.now() - started;
  const line = { images: model.header.nTrain, maxRssKiB: peakRssKiB(), ms: Math.round(ms) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

main().catch((err) => {
  process.stderr.write(`fit-rss-child: ${(err as Error).stack}\n`);
  process.exit(2);
});
