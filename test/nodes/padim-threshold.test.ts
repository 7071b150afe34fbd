/**
 * padim-threshold: OK and NG outputs, the three comparisons, debounce, hysteresis, the alarm
 * (checked against the shipped schema), counts in the status, and errors to Catch.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { assertValidAlarm } from '../../src/node-support/alarm';
import { assertValidResult } from '../../src/result/result';
import { tempDir } from '../helpers';
import { ALL_NODES, SMALL_MODEL, collect, fitSmallModel, helper, recordStatus, waitFor } from './fixtures';

type Msg = Record<string, unknown>;

describe('padim-threshold node', function () {
  afterEach(() => helper.unload());

  /** Loads a threshold node, sends the scores, returns what came out of each output. */
  async function run(settings: Msg, messages: Msg[]) {
    await helper.load(ALL_NODES, [
      { id: 't1', type: 'padim-threshold', wires: [['ok'], ['ng']], ...settings },
      { id: 'ok', type: 'helper' },
      { id: 'ng', type: 'helper' },
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const seen: { port: string; msg: Msg }[] = [];
    for (const port of ['ok', 'ng', 'caught'])
      helper.getNode(port).on('input', (msg: Msg) => seen.push({ port, msg }));
    const t1 = helper.getNode('t1');
    const statuses = recordStatus(t1 as never);
    for (const m of messages) t1.receive(m);
    await waitFor(
      () => seen.length === messages.filter((m) => m.topic !== 'reset').length,
      5000,
      'all messages',
    );
    return { seen, statuses };
  }

  const score = (s: number, threshold = 10, extra: Msg = {}) => ({
    payload: { score: s, normalizedScore: s / threshold, threshold },
    ...extra,
  });

  it("splits OK and NG on the model's threshold, with a decision and a valid alarm", async () => {
    const map = { data: Float32Array.from([0, 5, 11, 12]), width: 2, height: 2 };
    const { seen, statuses } = await run({ station: 'st-7', line: 'L1' }, [
      score(4),
      score(12, 10, { anomalyMap: map, filename: '/cam/0042.png', padim: { modelId: 'abcdef012345' } }),
    ]);
    assert.deepEqual(
      seen.map((s) => s.port),
      ['ok', 'ng'],
    );
    assert.equal(seen[0].msg.alarm, undefined);
    assert.deepEqual(seen[1].msg.decision, {
      ok: false,
      mode: 'model',
      value: 12,
      threshold: 10,
      scoreThreshold: 10,
      consecutiveNg: 1,
      defectArea: 0.5,
    });
    const alarm = seen[1].msg.alarm as Msg;
    assertValidAlarm(alarm);
    assert.equal(alarm.station, 'st-7');
    assert.equal(alarm.line, 'L1');
    assert.equal(alarm.image, '/cam/0042.png');
    assert.equal(alarm.defectArea, 0.5);
    assert.equal(alarm.modelId, 'abcdef012345');
    // every image, OK or NG, carries a result for a "last result" topic
    const [okResult, ngResult] = seen.map((s) => s.msg.result as Msg);
    assertValidResult(okResult);
    assertValidResult(ngResult);
    assert.equal(okResult.decision, 'OK');
    assert.equal(okResult.alarm, false);
    assert.equal(okResult.consecutiveNg, 0);
    assert.equal(ngResult.decision, 'NG');
    assert.equal(ngResult.alarm, true);
    assert.equal(ngResult.image, '/cam/0042.png');
    assert.equal(ngResult.modelId, 'abcdef012345');
    assert.equal(ngResult.timestamp, alarm.timestamp);
    assert.equal(statuses.at(-1)?.text, 'padim-threshold.status.countsAlarms 1 · NG 1 · alarms 1');
    assert.equal(statuses.at(-1)?.fill, 'red');
  });

  it('fixed and normalised comparisons', async () => {
    const fixed = await run({ mode: 'fixed', threshold: '20' }, [score(15), score(25)]);
    assert.deepEqual(
      fixed.seen.map((s) => s.port),
      ['ok', 'ng'],
    );
    await helper.unload();
    const norm = await run({ mode: 'normalized', limit: '1.5' }, [score(14), score(16)]);
    assert.deepEqual(
      norm.seen.map((s) => s.port),
      ['ok', 'ng'],
    );
    assert.equal((norm.seen[1].msg.decision as Msg).scoreThreshold, 15);
  });

  it("false-alarm rate: the threshold the model's calibration gives for the rate, and done(err) without one", async () => {
    // 100 held-out scores 1..100: 20 of them lie above 80, so the 20% threshold is 80
    const calibration = { method: 'held-out', scores: Array.from({ length: 100 }, (_, i) => i + 1) };
    const padim = { modelId: 'abcdef012345', calibration };
    const { seen } = await run({ mode: 'rate', rate: '20' }, [
      score(79, 10, { padim }),
      score(82, 10, { padim }),
      score(82),
    ]);
    assert.deepEqual(
      seen.map((s) => s.port),
      ['ok', 'ng', 'caught'],
    );
    const decision = seen[1].msg.decision as Msg;
    assert.equal(decision.mode, 'rate');
    assert.ok(
      Math.abs((decision.scoreThreshold as number) - 80) < 1e-9,
      `threshold ${decision.scoreThreshold}`,
    );
    assert.match(String((seen[2].msg.error as Msg).message), /calibration is missing/);
  });

  it('debounce raises the alarm from the N-th NG in a row; hysteresis holds NG near the threshold', async () => {
    const { seen } = await run({ mode: 'fixed', threshold: 10, debounce: 2, hysteresis: 20 }, [
      score(11),
      score(9), // still NG: needs < 8 after an NG
      score(7),
      score(11),
      { topic: 'reset' },
      score(11),
    ]);
    assert.deepEqual(
      seen.map((s) => s.port),
      ['ng', 'ng', 'ok', 'ng', 'ng'],
    );
    assert.deepEqual(
      seen.map((s) => s.msg.alarm !== undefined),
      [false, true, false, false, false],
    );
  });

  it('minimum area and per-region thresholds: a hot pixel is OK, a faint stain on the seal is NG and named', async () => {
    const labels = new Uint8Array(400);
    for (let i = 0; i < 400; i++) labels[i] = i % 20 < 10 ? 1 : 2;
    const hotPixel = new Float32Array(400);
    hotPixel[45] = 50;
    const stain = new Float32Array(400);
    for (let y = 5; y < 11; y++) for (let x = 12; x < 20; x++) stain[y * 20 + x] = 3;
    const message = (data: Float32Array, body: number, seal: number) => ({
      payload: {
        score: Math.max(body, seal),
        normalizedScore: Math.max(body, seal) / 5,
        threshold: 5,
        regions: [
          { name: 'body', score: body, pixels: 200 },
          { name: 'seal', score: seal, pixels: 200 },
        ],
      },
      anomalyMap: { data, width: 20, height: 20, regionLabels: labels },
    });
    const { seen } = await run({ minArea: '20', regionThresholds: 'seal=2.5' }, [
      message(hotPixel, 50, 0),
      message(stain, 0, 3),
      { payload: { score: 1, threshold: 5, regions: 'bad' } },
    ]);
    assert.deepEqual(
      seen.map((s) => s.port),
      ['ok', 'ng', 'caught'],
    );
    const ng = seen[1].msg;
    assert.equal((ng.decision as Msg).region, 'seal');
    assert.equal(((ng.decision as Msg).regionVerdict as Msg).areaPixels, 48);
    assert.equal((ng.alarm as Msg).region, 'seal');
    assertValidAlarm(ng.alarm);
    assert.match(String((seen[2].msg.error as Msg).message), /msg.payload.regions must be a list/);
  });

  it('refuses a malformed minimum area or region threshold setting', async () => {
    const { seen } = await run({ minArea: 'big' }, [score(1)]);
    assert.match(String((seen[0].msg.error as Msg).message), /minimum area 'big'/);
  });

  it('refuses a payload that is not a score, and invalid settings, via Catch', async () => {
    const { seen } = await run({}, [{ payload: 'hello' }]);
    assert.equal(seen[0].port, 'caught');
    assert.match(String((seen[0].msg.error as Msg).message), /notAScore/);
    await helper.unload();
    const bad = await run({ mode: 'fixed', threshold: '' }, [score(1)]);
    assert.match(String((bad.seen[0].msg.error as Msg).message), /fixed threshold must be a number above 0/);
  });
});

describe('padim-threshold histogram endpoint', function () {
  afterEach(() => helper.unload());

  it("bins the model's held-out scores and the live ones, reads the rate, and checks its parameters", async () => {
    const file = path.join(tempDir('padim-threshold-hist-'), 'm.padim');
    const { model, dataset } = await fitSmallModel(file);
    const scores = model.header.calibration!.scores;
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: file, ...SMALL_MODEL },
      { id: 's1', type: 'padim-score', model: 'm1', wires: [['t1']] },
      { id: 't1', type: 'padim-threshold', wires: [['out'], ['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const images = dataset.test.slice(0, 3).map((s) => s.file);
    const out = collect(helper.getNode('out'), images.length);
    for (const f of images) helper.getNode('s1').receive({ payload: f });
    await out;
    const t = scores[Math.floor(scores.length / 2)];
    const res = await helper
      .request()
      .get(`/padim-threshold/t1/histogram?model=m1&scale=score&threshold=${t}`)
      .expect(200);
    const view = res.body as {
      calibration: { count: number; counts: number[] };
      live: { count: number; counts: number[] };
      falseAlarm: { above: number; count: number };
    };
    assert.equal(view.calibration.count, scores.length);
    assert.equal(
      view.calibration.counts.reduce((a, b) => a + b, 0),
      scores.length,
    );
    assert.equal(view.live.count, images.length);
    assert.equal(view.falseAlarm.above, scores.filter((s) => s >= t).length);
    const model1 = await helper
      .request()
      .get('/padim-threshold/t1/histogram?model=m1&scale=normalized&threshold=model')
      .expect(200);
    assert.equal(
      (model1.body as { falseAlarm: { above: number } }).falseAlarm.above,
      scores.filter((s) => s >= model.header.threshold).length,
    );
    await helper.request().get('/padim-threshold/t1/histogram?model=m1&scale=sideways').expect(400);
    await helper.request().get('/padim-threshold/t1/histogram?model=..%2Fx&scale=score').expect(400);
    await helper
      .request()
      .get('/padim-threshold/t1/histogram?model=m1&scale=score&threshold=abc')
      .expect(400);
  });
});
