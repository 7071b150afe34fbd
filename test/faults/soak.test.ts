/**
 * Soak: images scored continuously through score -> threshold -> heatmap for a fixed time, a
 * fault injected every FAULT_EVERY images (bad images, bad messages, missing files) and a full
 * redeploy every REDEPLOY_EVERY images. Zero crashes, a correct result for every good image, an
 * error for every fault, no handle left behind, no unhandled rejection.
 *
 * PADIM_SOAK_SECONDS (default 20) sets the length; with PADIM_FAULTS_REPORT=<dir> the counts
 * are written to <dir>/soak.json.
 */
import assert from 'node:assert/strict';
import { ALL_NODES, SMALL_MODEL, garbageCollector, helper } from '../nodes/fixtures';
import {
  CATCH_NODES,
  Outcomes,
  badImages,
  faultModel,
  reportCounts,
  removeHelperSpies,
  unhandledRejectionsDuring,
} from './fault-kit';

type Msg = Record<string, unknown>;

const SECONDS = Number(process.env.PADIM_SOAK_SECONDS ?? 20);
const FAULT_EVERY = 5;
const REDEPLOY_EVERY = 250;
/**
 * JavaScript heap and Buffer memory may grow this much over the soak (after garbage collection):
 * measured +6 to +10 MB over 20 s; a leak of the images (2000+ of 6 kB) or of the results with
 * their maps would pass it. The resident set is reported, not bounded: libvips' operation cache
 * and the allocator's pools keep memory that is not a leak.
 */
const HEAP_BOUND_MB = 24;

/**
 * Memory after garbage collection, twice with a pause between: Buffer memory is given back by
 * a background sweep after the collection, so one collection alone can read it high.
 */
async function settledMemory(gc: (() => void) | undefined): Promise<NodeJS.MemoryUsage> {
  gc?.();
  await new Promise((r) => setTimeout(r, 300));
  gc?.();
  return process.memoryUsage();
}

function memoryGrowthMB(before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage) {
  const mb = (k: keyof NodeJS.MemoryUsage) => Math.round((after[k] - before[k]) / 1e5) / 10;
  return { rssGrowthMB: mb('rss'), heapGrowthMB: mb('heapUsed'), buffersGrowthMB: mb('arrayBuffers') };
}

describe(`faults: soak (${SECONDS} s, a fault every ${FAULT_EVERY} images)`, function () {
  let modelPath: string;
  let good: Buffer;
  let defect: Buffer;
  /** faults: where to send them, and the message */
  let faults: { target: string; msg: Msg }[];

  before(async () => {
    ({ modelPath, good, defect } = await faultModel());
    const bad = (await badImages()).filter((b) => b.refused && Buffer.isBuffer(b.input));
    faults = [
      ...bad.map((b) => ({ target: 's1', msg: { payload: b.input } })),
      { target: 's1', msg: { payload: '/no/such/image.png' } },
      { target: 's1', msg: { payload: { not: 'an image' } } },
      { target: 't1', msg: { payload: 'not a score' } },
      { target: 'h1', msg: { payload: { score: 1 }, anomalyMap: { data: [1, 2], width: 5, height: 5 } } },
    ];
  });
  afterEach(() => helper.unload());

  const flow = () => [
    { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['t1']] },
    { id: 't1', type: 'padim-threshold', wires: [['h1'], ['h1']] },
    { id: 'h1', type: 'padim-heatmap', previewWidth: 32, wires: [['out']] },
    { id: 'out', type: 'helper' },
    ...CATCH_NODES,
  ];

  it('zero crashes, a result for every good image, an error for every fault, nothing leaked', async function () {
    this.timeout((SECONDS + 120) * 1000);
    const gc = garbageCollector();
    const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'Immediate').length;
    await helper.load(ALL_NODES, flow());
    // memory measures the nodes, not the test helper's spies
    removeHelperSpies();
    let outcomes = new Outcomes(helper.getNode('out'), helper.getNode('caught'));
    // reference scores of the two images, from the same model
    const reference = new Map<Buffer, number>();
    for (const [k, img] of [good, defect].entries()) {
      helper.getNode('s1').receive({ faultId: -1 - k, payload: img });
      await outcomes.settle([-1 - k]);
      reference.set(img, (outcomes.results.get(-1 - k)!.payload as { score: number }).score);
    }
    const memBefore = await settledMemory(gc);
    const handlesBefore = handles();
    const counts = { images: 0, faults: 0, redeploys: 0, results: 0, errors: 0, wrong: 0, lost: 0 };
    const end = Date.now() + SECONDS * 1000;
    let id = 0;
    const rejections = await unhandledRejectionsDuring(async () => {
      while (Date.now() < end) {
        const img = counts.images % 2 ? defect : good;
        const sent: { id: number; expect: 'result' | 'error'; image?: Buffer }[] = [];
        helper.getNode('s1').receive({ faultId: id, payload: img });
        sent.push({ id: id++, expect: 'result', image: img });
        counts.images++;
        if (counts.images % FAULT_EVERY === 0) {
          const f = faults[counts.faults++ % faults.length];
          helper.getNode(f.target).receive({ ...f.msg, faultId: id });
          sent.push({ id: id++, expect: 'error' });
        }
        const lost = await outcomes.settle(
          sent.map((s) => s.id),
          30_000,
        );
        counts.lost += lost.length;
        for (const s of sent) {
          const result = outcomes.results.get(s.id);
          if (result) counts.results++;
          if (outcomes.errors.has(s.id)) counts.errors++;
          const right =
            s.expect === 'error'
              ? outcomes.errors.has(s.id)
              : result && (result.payload as { score: number }).score === reference.get(s.image!);
          if (!right && !lost.includes(s.id)) counts.wrong++;
        }
        if (counts.images % REDEPLOY_EVERY === 0) {
          await helper.setFlows(flow(), 'full');
          outcomes = new Outcomes(helper.getNode('out'), helper.getNode('caught'));
          counts.redeploys++;
        }
      }
    });
    await helper.unload();
    const memAfter = await settledMemory(gc);
    const summary = {
      seconds: SECONDS,
      ...counts,
      crashes: 0,
      ...memoryGrowthMB(memBefore, memAfter),
      handlesLeft: handles() - handlesBefore,
    };
    reportCounts('soak', summary);
    assert.deepEqual(rejections, [], 'no unhandled promise rejection');
    assert.equal(counts.lost, 0, 'every input has an outcome');
    assert.equal(counts.wrong, 0, 'every good image scored as the reference, every fault an error');
    assert.ok(summary.handlesLeft <= 0, `${summary.handlesLeft} handles left behind`);
    if (gc) {
      const grown = summary.heapGrowthMB + summary.buffersGrowthMB;
      assert.ok(grown < HEAP_BOUND_MB, `heap and buffers grew ${grown} MB`);
    }
    assert.ok(counts.images > 50 && counts.faults > 10, 'the soak ran');
  });
});
