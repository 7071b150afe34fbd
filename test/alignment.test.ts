import assert from 'node:assert/strict';
import { Aligner } from '../src/alignment';
import { fft1d } from '../src/alignment/fft';
import { phaseCorrelate } from '../src/alignment/phase-correlation';
import { placedPart } from '../src/synthetic-placed';
import { prepareImage } from '../src/preprocess';
import { IMAGENET_NORMALISATION, type PreparedImage } from '../src/types';

const SIZE = { kind: 'resize', width: 256, height: 256 } as const;

async function prepared(seed: number, placement?: { dx: number; dy: number; angleDeg: number }) {
  const part = placedPart(seed, {}, undefined, placement);
  const p = await prepareImage(part.image, { size: SIZE, normalisation: IMAGENET_NORMALISATION });
  return { p, placement: part.placement };
}

describe('alignment', () => {
  it('FFT of a delta is flat and the inverse gives the input back', () => {
    const re = new Float64Array(16);
    const im = new Float64Array(16);
    re[3] = 1;
    fft1d(re, im);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(Math.hypot(re[i], im[i]) - 1) < 1e-12);
    fft1d(re, im, true);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(re[i] / 16 - (i === 3 ? 1 : 0)) < 1e-12);
  });

  it('phase correlation finds an integer shift of a random image', () => {
    const w = 64;
    const a = new Float64Array(w * w);
    let s = 1;
    for (let i = 0; i < a.length; i++) a[i] = (s = (s * 16807) % 2147483647) / 2147483647;
    const b = new Float64Array(w * w);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) b[y * w + x] = a[((y - 5 + w) % w) * w + ((x - 9 + w) % w)];
    const r = phaseCorrelate({ data: a, width: w, height: w }, { data: b, width: w, height: w });
    assert.ok(Math.abs(r.dx - 9) < 0.3 && Math.abs(r.dy - 5) < 0.3, JSON.stringify(r));
    assert.ok(r.confidence > 5);
  });

  it('recovers shifts and turns of generated parts', async () => {
    const ref = await prepared(100, { dx: 0, dy: 0, angleDeg: 0 });
    const aligner = new Aligner(Aligner.record(ref.p, 'rigid', 0));
    for (let seed = 1; seed <= 12; seed++) {
      const { p, placement } = await prepared(seed);
      const e = aligner.estimate(p as PreparedImage);
      console.log([placement.dx - e.motion.dx, placement.dy - e.motion.dy, placement.angleDeg - e.motion.angleDeg, e.confidence, e.rotationConfidence].map((v) => (v as number).toFixed(2)).join(" "));
    }
  });
});
