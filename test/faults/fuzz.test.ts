/**
 * A seeded fuzzer over image bytes and message shapes, into real nodes in a running flow.
 *
 * Images: valid PNG, JPEG and BMP files with bits flipped, cut short, header fields
 * overwritten, bytes inserted or ranges zeroed, into padim-score. Messages: random shapes
 * (numbers, NaN, text, arrays, typed arrays, nested objects, odd maps) into padim-score,
 * padim-threshold, padim-heatmap and padim-image-source. For every case: no crash, a result or
 * an error (to Catch) within the time limit, and the model file on disk unchanged.
 *
 * PADIM_FUZZ_CASES (default 3000) and PADIM_FUZZ_SEED (default 6) change the run; with
 * PADIM_FAULTS_REPORT=<dir> the counts are written to <dir>/fuzz.json.
 */
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { seededRng, type Rng } from '../../src/math/random';
import { ALL_NODES, SMALL_MODEL, helper } from '../nodes/fixtures';
import {
  CATCH_NODES,
  Outcomes,
  encodeBmp,
  faultModel,
  reportCounts,
  sha256File,
  unhandledRejectionsDuring,
} from './fault-kit';

type Msg = Record<string, unknown>;

const CASES = Number(process.env.PADIM_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.PADIM_FUZZ_SEED ?? 6);
/** cases in flight at once: at most the score node's queue, so none is dropped */
const CHUNK = 32;

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)];

/** A damaged copy of `bytes`: one to three mutations. */
function mutate(rng: Rng, bytes: Buffer): Buffer {
  let b = Buffer.from(bytes);
  for (let m = 1 + int(rng, 3); m > 0; m--) {
    switch (int(rng, 7)) {
      case 0: // flip bits anywhere
        for (let k = 1 + int(rng, 8); k > 0; k--) b[int(rng, b.length)] ^= 1 << int(rng, 8);
        break;
      case 1: // cut short
        b = b.subarray(0, int(rng, b.length));
        break;
      case 2: // overwrite a header byte with a telling value
        if (b.length > 0)
          b[int(rng, Math.min(64, b.length))] = pick(rng, [0, 0xff, 0x7f, 0x80, int(rng, 256)]);
        break;
      case 3: // insert random bytes
        {
          const at = int(rng, b.length + 1);
          const extra = Buffer.from(Array.from({ length: 1 + int(rng, 64) }, () => int(rng, 256)));
          b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
        }
        break;
      case 4: // zero a range
        {
          const at = int(rng, b.length);
          b.fill(0, at, Math.min(b.length, at + 1 + int(rng, 256)));
        }
        break;
      case 5: // a PNG's declared size, CRC fixed so the header passes its check
        if (b.length > 33 && b.toString('latin1', 12, 16) === 'IHDR') {
          b.writeUInt32BE(pick(rng, [0, 1, 65535, 30000, 2 ** 31 - 1, int(rng, 5000)]), 16 + 4 * int(rng, 2));
          b.writeUInt32BE(zlib.crc32(b.subarray(12, 29)) >>> 0, 29);
        }
        break;
      case 6: // a BMP's width, height, bit depth or data offset
        if (b.length > 30 && b[0] === 0x42 && b[1] === 0x4d) {
          const field = pick(rng, [10, 18, 22, 28]);
          const value = pick(rng, [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 30000, int(rng, 70000)]);
          if (field === 28) b.writeUInt16LE(value & 0xffff, field);
          else b.writeInt32LE(value, field);
        }
        break;
    }
  }
  return b;
}

/** A random value of any shape a flow could put in a message. */
function randomValue(rng: Rng, depth = 0): unknown {
  switch (int(rng, depth > 2 ? 8 : 11)) {
    case 0:
      return pick(rng, [0, -1, 1e308, -0, NaN, Infinity, -Infinity, 0.5, 2 ** 53]);
    case 1:
      return pick(rng, [
        '',
        ' ',
        'x',
        'data:image/png;base64,AAAA',
        'iVBORw0KGgoAAAANSUhEUg==',
        '\u0000',
        'é'.repeat(100),
      ]);
    case 2:
      return rng() < 0.5;
    case 3:
      return null;
    case 4:
      return undefined;
    case 5:
      return Buffer.from(Array.from({ length: int(rng, 64) }, () => int(rng, 256)));
    case 6:
      return new Float32Array(int(rng, 32)).map(() => pick(rng, [NaN, Infinity, rng() * 10, -1]));
    case 7:
      return String.fromCharCode(...Array.from({ length: int(rng, 40) }, () => 32 + int(rng, 95)));
    case 8:
      return Array.from({ length: int(rng, 6) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Msg = {};
      for (let k = int(rng, 5); k > 0; k--)
        o[pick(rng, ['score', 'threshold', 'normalizedScore', 'data', 'width', 'height', 'x', 'geometry'])] =
          randomValue(rng, depth + 1);
      return o;
    }
  }
}

/** A message for `target`: random, but often close to what the node expects. */
function randomMessage(rng: Rng, target: string, image: Buffer): Msg {
  const msg: Msg = {};
  if (rng() < 0.3) msg.topic = pick(rng, ['reset', 'metrics', 'x', '', 42]);
  if (target === 'fz-t') {
    msg.payload =
      rng() < 0.6
        ? { score: randomValue(rng), normalizedScore: randomValue(rng), threshold: randomValue(rng) }
        : randomValue(rng);
    if (rng() < 0.5)
      msg.anomalyMap = { data: randomValue(rng), width: randomValue(rng), height: randomValue(rng) };
  } else if (target === 'fz-h') {
    const w = pick(rng, [0, 1, 2, 3, 8, -1, 1e6, NaN]);
    const h = pick(rng, [0, 1, 2, 3, 8, -4, 1e6, NaN]);
    const n = Number.isFinite(w * h) && w * h >= 0 && w * h < 1e4 ? w * h : int(rng, 16);
    msg.anomalyMap =
      rng() < 0.7
        ? {
            data: new Float32Array(n).map(() => pick(rng, [0, 1, NaN, Infinity, -Infinity, rng() * 100])),
            width: w,
            height: h,
          }
        : randomValue(rng);
    msg.payload = rng() < 0.5 ? image : randomValue(rng);
    if (rng() < 0.3) msg.image = randomValue(rng);
    if (rng() < 0.3) msg.decision = { ok: randomValue(rng), scoreThreshold: randomValue(rng) };
  } else {
    msg.payload = randomValue(rng);
  }
  return msg;
}

describe('faults: seeded fuzzer over image bytes and message shapes', function () {
  let modelPath: string;
  let bases: { name: string; bytes: Buffer }[];

  before(async () => {
    const m = await faultModel();
    modelPath = m.modelPath;
    const { data, info } = await sharp(m.good).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    bases = [
      { name: 'png', bytes: m.good },
      { name: 'jpeg', bytes: await sharp(m.good).jpeg().toBuffer() },
      { name: 'bmp', bytes: encodeBmp(data, info.width, info.height) },
    ];
    // images declaring more than 4 megapixels are refused before decoding (padimMaxPixels)
    helper.settings({ padimMaxPixels: 4e6 });
  });
  afterEach(() => helper.unload());
  after(() => helper.settings({ padimMaxPixels: undefined }));

  it(`${CASES} cases (seed ${SEED}): a result or an error for each, no crash, the model file unchanged`, async function () {
    this.timeout(300_000);
    const modelBefore = sha256File(modelPath);
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      { id: 'fz-s', type: 'padim-score', model: 'm1', queueSize: CHUNK * 2, batchSize: 4, wires: [['out']] },
      { id: 'fz-t', type: 'padim-threshold', wires: [['out'], ['out']] },
      { id: 'fz-h', type: 'padim-heatmap', preview: false, wires: [['out']] },
      { id: 'fz-src', type: 'padim-image-source', start: 'input', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...CATCH_NODES,
      // a message a node finishes without output (msg.topic "reset" to the threshold) is an outcome too
      {
        id: 'completer',
        type: 'complete',
        scope: ['fz-s', 'fz-t', 'fz-h', 'fz-src'],
        wires: [['completed']],
      },
      { id: 'completed', type: 'helper' },
    ]);
    const outcomes = new Outcomes(
      helper.getNode('out'),
      helper.getNode('caught'),
      helper.getNode('completed'),
    );
    const rng = seededRng(SEED);
    const counts = { cases: 0, images: 0, messages: 0, results: 0, errors: 0, lost: 0 };
    const started = Date.now();
    /** what was sent, by id, to say which cases got no outcome */
    const sent = new Map<number, string>();
    const describe = (target: string, msg: Msg) =>
      `${target} ${JSON.stringify(msg, (_k, v) => (Buffer.isBuffer(v) || ArrayBuffer.isView(v) ? `<${v.constructor.name} ${v.byteLength} bytes>` : v)).slice(0, 300)}`;
    const rejections = await unhandledRejectionsDuring(async () => {
      for (let first = 0; first < CASES; first += CHUNK) {
        const ids: number[] = [];
        for (let id = first; id < Math.min(CASES, first + CHUNK); id++) {
          ids.push(id);
          if (rng() < 0.6) {
            counts.images++;
            const base = pick(rng, bases);
            const msg = { faultId: id, payload: mutate(rng, base.bytes) };
            sent.set(id, describe(`fz-s (${base.name})`, msg));
            helper.getNode('fz-s').receive(msg);
          } else {
            counts.messages++;
            const target = pick(rng, ['fz-s', 'fz-t', 'fz-h', 'fz-src']);
            const msg = randomMessage(rng, target, bases[0].bytes);
            // a metrics request answers with counts, not a result for this case: still an outcome
            sent.set(id, describe(target, msg));
            helper.getNode(target).receive({ ...msg, faultId: id });
          }
        }
        const lost = await outcomes.settle(ids, 10_000);
        for (const id of lost) console.log(`      no outcome for case ${id}: ${sent.get(id)}`);
        counts.lost += lost.length;
      }
    });
    counts.cases = CASES;
    counts.results = outcomes.results.size;
    counts.errors = outcomes.errors.size;
    const finishedWithoutOutput = CASES - counts.lost - counts.results - counts.errors;
    const modelUnchanged = sha256File(modelPath) === modelBefore;
    const summary = {
      seed: SEED,
      ...counts,
      finishedWithoutOutput,
      // a crash ends the process: this line is never reached
      crashes: 0,
      modelUnchanged,
      seconds: (Date.now() - started) / 1000,
    };
    reportCounts('fuzz', summary);
    assert.deepEqual(rejections, [], 'no unhandled promise rejection');
    assert.equal(counts.lost, 0, 'every case has a result or an error');
    assert.ok(modelUnchanged, 'the model file is unchanged');
    assert.ok(counts.errors > CASES / 4 && counts.results > CASES / 20, 'the fuzzer reaches both outcomes');
  });
});
