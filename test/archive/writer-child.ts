/**
 * Child process for the archive's kill -9 test: writes decisions (every third one NG, with an
 * image and a heatmap) into an archive folder as fast as it can, forever, and prints
 * "written N" every 50 records so the parent knows how far it got before it kills it.
 *
 *   node writer-child.js <dir> <budget bytes>
 */
import { DecisionArchive } from '../../src/archive';
import { testDecision } from './records';

async function main(): Promise<void> {
  const [dir, budget] = process.argv.slice(2);
  const archive = await DecisionArchive.open(dir, { budgetBytes: Number(budget) });
  for (let i = 0; ; i++) {
    const { result, files } = testDecision(i);
    await archive.write(result, files);
    if ((i + 1) % 50 === 0) process.stdout.write(`written ${i + 1}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`writer-child: ${(err as Error).stack}\n`);
  process.exit(1);
});
