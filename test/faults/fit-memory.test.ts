/**
 * Memory of a fit does not grow with the number of images: the accumulator holds running sums
 * per cell, never the images or their embeddings. Two fits in child processes
 * (fit-rss-child.ts) on 200 and 2,000 generated 64x64 images, in the same run; the peak
 * resident set (VmHWM) of the larger must stay within 50% (and 100 MiB) of the smaller. A ratio of two
 * runs on the same machine, not an absolute figure, so a busy or small machine does not matter.
 *
 * Why so loose: the first few hundred images warm up libvips and the allocator (measured here,
 * from a shell: 200 images 154 to 173 MiB, 2,000 images 202 to 204 MiB, 4,000 images 208 MiB;
 * +2.5 MiB per 1,000 after the warm-up). What it would catch: keeping the 1,800 extra images
 * decoded (48 KiB of floats each: +84 MiB over the warm-up, a ratio above 1.8) or their
 * embeddings (256 cells x the backbone's channels).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { writeNoisyImages } from './fault-kit';

const CHILD = path.join(__dirname, 'fit-rss-child.js');
const SMALL = 200;
const LARGE = 2000;

function fitInChild(dir: string, count: number): Promise<{ images: number; maxRssKiB: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=256', CHILD, dir, String(count)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!))
        : reject(new Error(`fit child ${code}: ${err}`)),
    );
  });
}

describe('faults: fit memory stays flat with the number of images (issue 14)', function () {
  this.timeout(600_000);
  let dir: string;
  before(async () => {
    dir = tempDir('padim-fit-rss-');
    await writeNoisyImages(dir, LARGE);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`peak RSS fitting ${LARGE} images is within 50% of fitting ${SMALL}`, async () => {
    const small = await fitInChild(dir, SMALL);
    const large = await fitInChild(dir, LARGE);
    assert.equal(small.images, SMALL);
    assert.equal(large.images, LARGE);
    const mib = (r: { maxRssKiB: number }) => r.maxRssKiB / 1024;
    const ratio = large.maxRssKiB / small.maxRssKiB;
    console.log(
      `      peak RSS: ${SMALL} images ${mib(small).toFixed(0)} MiB (${small.ms} ms), ` +
        `${LARGE} images ${mib(large).toFixed(0)} MiB (${large.ms} ms), ratio ${ratio.toFixed(3)} (times: shared machine)`,
    );
    if (process.env.PADIM_FIT_RSS_REPORT)
      fs.writeFileSync(
        process.env.PADIM_FIT_RSS_REPORT,
        `${JSON.stringify({ small: { count: SMALL, ...small }, large: { count: LARGE, ...large }, ratio }, null, 2)}\n`,
      );
    assert.ok(ratio < 1.5, `ratio ${ratio.toFixed(3)}`);
    assert.ok(mib(large) - mib(small) < 100, `grew ${(mib(large) - mib(small)).toFixed(0)} MiB`);
  });
});
