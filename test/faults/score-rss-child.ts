/**
 * Child process for the score memory test: runs `padim score --json` in this process on the
 * first `count` images of a folder, counts the result lines it would print, and writes its peak
 * resident set (VmHWM on Linux, KiB: test/support/peak-rss.ts) as one JSON line to stdout.
 *
 *   node --max-old-space-size=N score-rss-child.js <model> <folder> <count>
 */
import { main } from '../../src/cli/main';
import { listImageFiles } from '../../src/image/image-files';
import { peakRssKiB } from '../support/peak-rss';

async function run(): Promise<void> {
  const [model, folder, count] = process.argv.slice(2);
  const files = listImageFiles(folder).slice(0, Number(count));
  let results = 0;
  let errors = 0;
  const io = {
    out: (line: string) => {
      if (line.startsWith('{')) results++;
    },
    err: () => {
      errors++;
    },
  };
  const code = await main(['score', '--model', model, '--json', '--quiet', ...files], io);
  const line = { code, results, errors, maxRssKiB: peakRssKiB() };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

run().catch((err) => {
  process.stderr.write(`score-rss-child: ${(err as Error).stack}\n`);
  process.exit(2);
});
