/**
 * Overload: 1000 images arrive at once at a padim-score node. The queue holds at most its size
 * (memory bounded by the queue, not by the burst), every image is accounted for (scored,
 * dropped or rejected), and the drops show in the status and in the metrics message.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { ALL_NODES, SMALL_MODEL, garbageCollector, helper, recordStatus, waitFor } from '../nodes/fixtures';
import { CATCH_NODES, faultModel, removeHelperSpies } from './fault-kit';

type Msg = Record<string, unknown>;

const BURST = 1000;
const QUEUE = 16;
const BATCH = 4;
const MB = 1024 * 1024;

describe('faults: overload (a burst of 1000 images)', function () {
  let modelPath: string;
  /** a 256x256 noise PNG (about 200 kB): 1000 copies kept would be about 200 MB */
  let image: Buffer;
  const gc = garbageCollector();

  before(async () => {
    ({ modelPath } = await faultModel());
    const noise = Buffer.alloc(256 * 256 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    image = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
  });
  afterEach(() => helper.unload());

  const external = () => {
    gc?.();
    return process.memoryUsage().arrayBuffers;
  };

  for (const policy of ['drop-oldest', 'drop-newest', 'reject'] as const) {
    it(`${policy}: memory bounded by the queue, every image accounted for, drops in status and metrics`, async () => {
      await helper.load(ALL_NODES, [
        { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
        {
          id: 's1',
          type: 'padim-score',
          model: 'm1',
          queueSize: QUEUE,
          batchSize: BATCH,
          policy,
          wires: [['out']],
        },
        { id: 'out', type: 'helper' },
        // (with reject, Node-RED clones every rejected message, image included, for each Catch
        // node, and delivers the clones later: they would be measured, not the score node)
        ...(policy === 'reject' ? [] : CATCH_NODES),
      ]);
      // memory measures the node, not the test helper's spies (see removeHelperSpies)
      removeHelperSpies();
      const s1 = helper.getNode('s1');
      const error = s1.error as (e: unknown, m?: unknown) => void;
      s1.error = (e: unknown, m?: unknown) => {
        errors.push(e instanceof Error ? e.message : String(e));
        error.call(s1, e, m);
      };
      const statuses = recordStatus(s1 as unknown as { status: (s: object) => void });
      const results: Msg[] = [];
      const caught: Msg[] = [];
      const errors: string[] = [];
      helper.getNode('out').on('input', (m: Msg) => results.push(m));
      if (policy !== 'reject')
        helper
          .getNode('caught')
          .on('input', (m: Msg) => caught.push({ message: (m.error as Error).message }));
      // the model is loaded before the burst, as at deploy
      await waitFor(() => statuses.some((s) => s.fill === 'green'), 30_000, 'the model loaded');

      const before = external();
      // each image its own Buffer, sent and forgotten by the sender, all in one go; a weak
      // reference to each tells which images something still holds
      const sent: WeakRef<Buffer>[] = [];
      for (let i = 0; i < BURST; i++) {
        const payload = Buffer.from(image);
        sent.push(new WeakRef(payload));
        s1.receive({ payload, i });
      }
      // (weak references made in this turn keep their targets until it ends)
      await new Promise((r) => setTimeout(r, 0));
      const growth = (external() - before) / MB;
      const held = sent.filter((w) => w.deref() !== undefined).length;
      console.log(
        `      ${policy}: after the burst ${held} of ${BURST} images held, external memory ` +
          `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB (all kept: ${((BURST * image.length) / MB).toFixed(0)} MB)`,
      );
      // the queue and the batch being scored; memory in MB is printed, not bounded: in the full
      // suite other tests' buffers come and go at the same time
      if (gc) assert.ok(held <= QUEUE + 2 * BATCH, `${held} images still held, more than the queue holds`);

      // once the queue has drained (a status without a queue depth, after the burst), ask for the metrics
      const sentAt = statuses.length;
      await waitFor(
        () => statuses.slice(sentAt).some((st) => !st.text?.includes('padim-score.status.queue')),
        60_000,
        'the queue to drain',
      );
      // (results sent before the answer are delivered before it: all are in by then)
      s1.receive({ topic: 'metrics' });
      const answer = await waitFor(() => results.find((r) => r.topic === 'metrics'), 10_000, 'the metrics');
      const metrics = answer.payload as Msg;
      const scored = results.filter((r) => r.topic !== 'metrics');
      console.log(`      ${policy}: ${JSON.stringify(metrics)}`);
      assert.equal(metrics.scored, scored.length);
      const lost = (metrics.dropped as number) + (metrics.rejected as number);
      assert.equal((metrics.scored as number) + lost, BURST, 'scored + dropped + rejected = sent');
      assert.ok(lost >= BURST - QUEUE - 2 * BATCH, `most of the burst is given up (${lost})`);
      assert.ok((metrics.queued as number) === 0 && metrics.capacity === QUEUE);
      if (policy === 'reject') {
        assert.equal(metrics.rejected, lost);
        assert.equal(
          errors.length,
          lost,
          'each rejected image is an error (to Catch: test/nodes/padim-score.test.ts)',
        );
        assert.match(errors[0], /padim-score\.errors\.queueFull \(16\)/);
      } else {
        assert.equal(metrics.dropped, lost);
        assert.equal(caught.length, 0, 'dropped images are not errors');
      }
      const word = policy === 'reject' ? 'status.rejected' : 'status.dropped';
      assert.ok(
        statuses.some((s) => s.text?.includes(`${word} ${lost}`)),
        `the status shows ${lost} ${word}: ${statuses.at(-1)?.text}`,
      );
    });
  }
});
