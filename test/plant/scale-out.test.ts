/**
 * Scale-out over a broker: three score workers (real Node-RED processes running example 6) on
 * a shared subscription of a real Mosquitto. 300 images are each scored exactly once; a model
 * update announced by a retained message reaches every worker; and when one worker is killed
 * mid-run the others take over, with the loss (what the killed worker held) bounded and reported.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers';
import { SMALL_MODEL } from '../nodes/fixtures';
import { writeSmallModel, type SmallModel } from '../support/example-flows';
import { Mosquitto, requireMosquitto } from '../support/mosquitto';
import { Cameras, ResultCollector, ScoreWorker } from '../support/score-workers';

const IMAGES = 300;
const CAMERAS = ['cam-1', 'cam-2', 'cam-3', 'cam-4'];

describe('scale-out: score workers on an MQTT shared subscription', function () {
  this.timeout(240_000);
  let broker: Mosquitto;
  let dir: string;
  let model: SmallModel;
  let images: Buffer[];
  let cameras: Cameras;
  let results: ResultCollector;
  const workers: ScoreWorker[] = [];

  before(async function () {
    const exe = requireMosquitto(this);
    broker = await Mosquitto.start(exe);
    dir = tempDir('padim-scale-out-');
    model = await writeSmallModel(path.join(dir, 'shared', 'line1.padim'));
    images = [...model.good, ...model.defect].map((f) => fs.readFileSync(f));
    const started = await Promise.all(
      ['w1', 'w2', 'w3'].map((name) =>
        ScoreWorker.start({ name, brokerPort: broker.port, modelPath: model.path, model: SMALL_MODEL }),
      ),
    );
    workers.push(...started);
    cameras = await Cameras.start(broker.url);
    results = await ResultCollector.start(broker.url);
    // 'Connected to broker' comes before the subscription: probe until all three answer
    const end = Date.now() + 30_000;
    for (let i = 0; new Set(results.results.map((r) => r.worker)).size < 3; i++) {
      if (Date.now() > end) throw new Error('not every worker answered within 30 s');
      await cameras.publish('cam-1', `probe-${i}`, images[0]);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await cameras?.close();
    await results?.close();
    await broker?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Publishes the images round the cameras, `perSecond` at most; calls `at(i)` before image i. */
  async function publish(
    prefix: string,
    perSecond: number,
    at: (i: number) => Promise<void> = async () => {},
  ) {
    const start = Date.now();
    for (let i = 0; i < IMAGES; i++) {
      await at(i);
      const due = start + (i * 1000) / perSecond;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      await cameras.publish(CAMERAS[i % CAMERAS.length], `${prefix}-${i}`, images[i % images.length]);
    }
  }

  it('300 images: every image scored exactly once, the load spread over the three workers', async () => {
    await publish('a', 150);
    await results.settle('a-', IMAGES, 10_000);
    const counts = results.counts('a-');
    const duplicates = [...counts.values()].filter((c) => c > 1).length;
    assert.equal(duplicates, 0, 'no image scored twice');
    assert.equal(counts.size, IMAGES, `all ${IMAGES} scored (${IMAGES - counts.size} lost)`);
    const byWorker = new Map<string, number>();
    for (const r of results.results.filter((x) => x.imageId.startsWith('a-')))
      byWorker.set(r.worker, (byWorker.get(r.worker) ?? 0) + 1);
    assert.deepEqual([...byWorker.keys()].sort(), ['w1', 'w2', 'w3']);
    // the broker deals round the group: each worker gets about a third
    for (const [w, n] of byWorker) assert.ok(n >= IMAGES / 6, `${w} scored ${n}`);
    console.log(`      (images per worker: ${[...byWorker].map(([w, n]) => `${w} ${n}`).join(', ')})`);
  });

  it('a model update announced by a retained message reaches every worker', async () => {
    // a new version of the model at the shared path (fitted on part of the data: another id)
    const { id } = await writeSmallModel(model.path, 6);
    await cameras.announceModel(id);
    // every worker answers with the new id (a few images each, so all three are asked)
    await new Promise((r) => setTimeout(r, 1000));
    const before = results.results.length;
    for (let i = 0; i < 12; i++) await cameras.publish('cam-1', `m-${i}`, images[0]);
    await results.settle('m-', 12, 10_000);
    const after = results.results.slice(before);
    assert.equal(after.length, 12);
    assert.deepEqual(new Set(after.map((r) => r.modelId)), new Set([id]));
    assert.equal(new Set(after.map((r) => r.worker)).size, 3);
  });

  it('one worker killed mid-run: the others take over; the loss is bounded and reported', async () => {
    const killed = workers[1];
    await publish('k', 150, async (i) => {
      if (i === IMAGES / 2) await killed.stop('SIGKILL');
    });
    await results.settle('k-', IMAGES, 10_000);
    const counts = results.counts('k-');
    const duplicates = [...counts.values()].filter((c) => c > 1).length;
    const lost = [...Array(IMAGES).keys()].filter((i) => !counts.has(`k-${i}`));
    const scoredAfterKill = results.results.filter(
      (r) => r.imageId.startsWith('k-') && Number(r.imageId.slice(2)) >= IMAGES / 2,
    );
    console.log(
      `      (killed ${killed.name} at image ${IMAGES / 2}: ${counts.size} of ${IMAGES} scored, ` +
        `${lost.length} lost [${lost.join(', ')}], ${duplicates} duplicates)`,
    );
    assert.equal(duplicates, 0);
    // the images after the kill all went to the two others
    assert.ok(scoredAfterKill.every((r) => r.worker !== killed.name));
    // what was lost had been handed to the killed worker just before it died: at 150 images/s
    // its queue and the messages in flight to it, a few; never more than a second's worth
    assert.ok(lost.length <= 50, `${lost.length} lost`);
    assert.ok(
      lost.every((i) => i < IMAGES / 2 + 5),
      'only images from before the kill (and the moment of it) are lost',
    );
    workers.splice(1, 1);
  });
});
