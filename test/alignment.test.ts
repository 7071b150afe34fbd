/**
 * Alignment (src/alignment/): FFT and phase correlation on known inputs, recovered shifts and
 * turns of generated parts against the truth, unalignable images, maps brought back to the
 * image's frame, the model-file record (kept, old files load, hostile ones refused), and
 * accuracy with and without alignment on parts that move.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Aligner, alignmentRecordProblem, mapToObserved } from '../src/alignment';
import { turnCandidates } from '../src/alignment/aligner';
import { fft1d } from '../src/alignment/fft';
import { phaseCorrelate } from '../src/alignment/phase-correlation';
import { readCategory } from '../src/eval/dataset';
import { evaluate } from '../src/eval/evaluate';
import { fitModel } from '../src/padim/fit';
import { loadModel, readModelHeader, saveModel } from '../src/model/model-file';
import { prepareImage } from '../src/image';
import { Scorer } from '../src/padim/scorer';
import { placedPart, writePlacedDataset, type Placement } from '../src/synthetic';
import { IMAGENET_NORMALISATION, type PreparedImage } from '../src/types';
import { tempDir } from './helpers';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../bin/padim.js');
const SIZE = { kind: 'resize', width: 256, height: 256 } as const;
const CENTRED: Placement = { dx: 0, dy: 0, angleDeg: 0 };

function prepare(image: PreparedImage | Parameters<typeof prepareImage>[0]): Promise<PreparedImage> {
  return prepareImage(image as Parameters<typeof prepareImage>[0], {
    size: SIZE,
    normalisation: IMAGENET_NORMALISATION,
  });
}

async function referenceAligner(mode: 'translate' | 'rigid'): Promise<Aligner> {
  return new Aligner(Aligner.record(await prepare(placedPart(100, {}, undefined, CENTRED).image), mode, 0));
}

describe('alignment', function () {
  this.timeout(300_000);

  it('FFT of a delta is flat and the inverse gives the input back', () => {
    const re = new Float64Array(16);
    const im = new Float64Array(16);
    re[3] = 1;
    fft1d(re, im);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(Math.hypot(re[i], im[i]) - 1) < 1e-12);
    fft1d(re, im, true);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(re[i] / 16 - (i === 3 ? 1 : 0)) < 1e-12);
    assert.throws(() => fft1d(new Float64Array(12), new Float64Array(12)), /power of two/);
  });

  it('phase correlation finds a wrapped integer shift of a random image with a high confidence', () => {
    const w = 64;
    const a = new Float64Array(w * w);
    let s = 1;
    for (let i = 0; i < a.length; i++) a[i] = (s = (s * 16807) % 2147483647) / 2147483647;
    const b = new Float64Array(w * w);
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++) b[y * w + x] = a[((y + 5) % w) * w + ((x - 9 + w) % w)];
    const r = phaseCorrelate({ data: a, width: w, height: w }, { data: b, width: w, height: w }, 0);
    assert.ok(Math.abs(r.dx - 9) < 0.3 && Math.abs(r.dy + 5) < 0.3, JSON.stringify(r));
    assert.ok(r.confidence > 5, `confidence ${r.confidence}`);
  });

  it('turn candidates cover the quarter and half turn ambiguities within the limit', () => {
    assert.deepEqual(
      turnCandidates(-86.9, 30).map((a) => Math.round(a * 10) / 10),
      [0, 3.1],
    );
    assert.deepEqual(turnCandidates(2, 30), [0, 2]);
    assert.deepEqual(turnCandidates(60, 30), [0, -30].slice(0, 2));
  });

  it('recovers shifts (up to 10% of the image) and turns (up to 5 degrees) of 16 generated parts', async () => {
    const rigid = await referenceAligner('rigid');
    const translate = await referenceAligner('translate');
    const shiftErr: number[] = [];
    const angleErr: number[] = [];
    for (let seed = 1; seed <= 16; seed++) {
      const part = placedPart(seed);
      const p = await prepare(part.image);
      const e = rigid.estimate(p);
      shiftErr.push(Math.hypot(e.motion.dx - part.placement.dx, e.motion.dy - part.placement.dy));
      angleErr.push(Math.abs(e.motion.angleDeg - part.placement.angleDeg));
      assert.ok(e.confidence >= 3, `seed ${seed}: confidence ${e.confidence}`);
      // without a turn the shift alone is found too on parts placed without one
      const moved = placedPart(seed, {}, undefined, { ...part.placement, angleDeg: 0 });
      const t = translate.estimate(await prepare(moved.image));
      assert.ok(
        Math.hypot(t.motion.dx - part.placement.dx, t.motion.dy - part.placement.dy) < 1.5,
        `seed ${seed}: translate ${JSON.stringify(t.motion)} against ${JSON.stringify(part.placement)}`,
      );
    }
    const max = (v: number[]) => Math.max(...v);
    console.log(
      `      shift error max ${max(shiftErr).toFixed(2)} px of 256, turn error max ${max(angleErr).toFixed(2)} deg`,
    );
    assert.ok(max(shiftErr) < 2, `shift errors ${shiftErr.map((v) => v.toFixed(2))}`);
    assert.ok(max(angleErr) < 1.5, `turn errors ${angleErr.map((v) => v.toFixed(2))}`);
  });

  it('an image that does not match, or moved too far, is left unaligned with a warning', async () => {
    const aligner = await referenceAligner('rigid');
    const noise = new Uint8Array(256 * 256);
    let s = 7;
    for (let i = 0; i < noise.length; i++) noise[i] = (s = (s * 16807) % 2147483647) % 256;
    const n = aligner.align(await prepare({ data: noise, width: 256, height: 256, channels: 1 }));
    assert.equal(n.outcome.applied, false);
    assert.match(n.outcome.warning ?? '', /not aligned: match confidence/);
    assert.equal(n.back, undefined);
    const strict = new Aligner({ ...aligner.record, maxShift: 0.02 }, 'translate');
    const far = strict.align(
      await prepare(placedPart(3, {}, undefined, { dx: 20, dy: -15, angleDeg: 0 }).image),
    );
    assert.equal(far.outcome.applied, false);
    assert.match(far.outcome.warning ?? '', /beyond 2% of the image/);
    // a thumbnail of another size is an error, not a wrong answer
    const other = await prepareImage(placedPart(3).image, {
      size: { kind: 'resize', width: 128, height: 256 },
      normalisation: IMAGENET_NORMALISATION,
    });
    assert.throws(() => aligner.align(other), /does not match the reference/);
  });

  it('brings an aligned map back to the image frame: a mark on the part lands where the part is', async () => {
    const aligner = await referenceAligner('rigid');
    const placement = { dx: 18, dy: -12, angleDeg: 4 };
    const a = aligner.align(await prepare(placedPart(5, {}, undefined, placement).image));
    assert.ok(a.outcome.applied);
    // a map that is hot at the reference's centre + (30, 0): after warping back it must be hot at
    // the same point of the moved part, T(p) = R(p - c) + c + t
    const map = new Float32Array(256 * 256);
    const c = 127.5;
    const px = c + 30;
    const py = c;
    for (let y = 0; y < 256; y++)
      for (let x = 0; x < 256; x++) if (Math.hypot(x - px, y - py) < 4) map[y * 256 + x] = 1;
    const back = mapToObserved({ data: map, width: 256, height: 256 }, a.back);
    let sx = 0;
    let sy = 0;
    let sum = 0;
    for (let y = 0; y < 256; y++)
      for (let x = 0; x < 256; x++) {
        const v = back.data[y * 256 + x];
        sx += v * x;
        sy += v * y;
        sum += v;
      }
    const t = (placement.angleDeg * Math.PI) / 180;
    const ex = Math.cos(t) * 30 + c + placement.dx;
    const ey = -Math.sin(t) * 30 + c + placement.dy;
    assert.ok(
      Math.hypot(sx / sum - ex, sy / sum - ey) < 2,
      `mark at ${sx / sum},${sy / sum}, expected ${ex},${ey}`,
    );
  });

  it('checks the stored record: sizes bounded and types checked', async () => {
    const good = (await referenceAligner('rigid')).record;
    assert.equal(alignmentRecordProblem(good), undefined);
    assert.match(alignmentRecordProblem(null) ?? '', /must be an object/);
    assert.match(alignmentRecordProblem({ ...good, mode: 'affine' }) ?? '', /mode/);
    assert.match(
      alignmentRecordProblem({ ...good, reference: { ...good.reference, width: 100000 } }) ?? '',
      /1\.\.128/,
    );
    assert.match(
      alignmentRecordProblem({ ...good, reference: { ...good.reference, data: 'AAAA' } }) ?? '',
      /base64 of/,
    );
    assert.match(alignmentRecordProblem({ ...good, maxShift: Number.NaN }) ?? '', /maxShift/);
    assert.match(alignmentRecordProblem({ ...good, minConfidence: '3' }) ?? '', /minConfidence/);
    assert.match(alignmentRecordProblem({ ...good, referenceIndex: -1 }) ?? '', /referenceIndex/);
  });

  describe('on parts that move (generated, seeded)', () => {
    const dir = tempDir('padim-align-');
    let truth: Record<string, Placement>;
    const reports: Record<string, { image: number; aupro: number }> = {};
    before(async () => {
      truth = await writePlacedDataset(dir, {
        trainCount: 24,
        testGoodCount: 8,
        testDefectCount: 6,
        seed: 2,
      });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const align of ['off', 'rigid'] as const) {
      it(`fits and evaluates with --align ${align}`, async () => {
        const data = readCategory(dir);
        const model = await fitModel(data.train, { align, size: SIZE });
        assert.equal(model.header.alignment?.mode, align === 'off' ? undefined : align);
        const file = path.join(dir, `${align}.padim`);
        await saveModel(file, model);
        const loaded = await loadModel(file);
        assert.deepEqual(loaded.header.alignment, model.header.alignment);
        const scorer = await Scorer.open(loaded);
        try {
          const r = await evaluate(scorer, data, {
            onResult: (res) => assert.equal(res.alignment === undefined, align === 'off'),
          });
          reports[align] = { image: r.imageAUROC, aupro: r.AUPRO };
          console.log(
            `      align ${align}: image AUROC ${r.imageAUROC.toFixed(3)}, AUPRO ${r.AUPRO.toFixed(3)}`,
          );
        } finally {
          await scorer.dispose();
        }
      });
    }

    it('alignment wins clearly: image AUROC and AUPRO', () => {
      assert.ok(reports.rigid.image >= 0.95, `rigid image AUROC ${reports.rigid.image}`);
      assert.ok(reports.rigid.image >= reports.off.image + 0.2, JSON.stringify(reports));
      assert.ok(reports.rigid.aupro > reports.off.aupro + 0.03, JSON.stringify(reports));
    });

    it('padim score --json carries the estimated motion and confidence; --align off drops it', async () => {
      const model = path.join(dir, 'rigid.padim');
      const image = path.join(dir, 'test/good/003.png');
      const { stdout } = await run(process.execPath, [CLI, 'score', '--model', model, '--json', image]);
      const line = JSON.parse(stdout.trim().split('\n').pop() as string);
      assert.equal(line.alignment.mode, 'rigid');
      assert.equal(line.alignment.applied, true);
      assert.ok(line.alignment.confidence >= 3);
      // the reference is itself placed: compare the motion between the two parts
      const header = await readModelHeader(model);
      const ref = truth[`train/good/${String(header.alignment?.referenceIndex).padStart(3, '0')}.png`];
      const want = truth['test/good/003.png'];
      assert.ok(
        Math.abs(line.alignment.angleDeg - (want.angleDeg - ref.angleDeg)) < 1,
        JSON.stringify({ line, ref, want }),
      );
      const off = await run(process.execPath, [
        CLI,
        'score',
        '--model',
        model,
        '--json',
        '--align',
        'off',
        image,
      ]);
      assert.equal(JSON.parse(off.stdout.trim()).alignment, undefined);
      const offModel = path.join(dir, 'off.padim');
      await assert.rejects(
        run(process.execPath, [CLI, 'score', '--model', offModel, '--json', '--align', 'rigid', image]),
        /fitted without alignment/,
      );
    });

    it('a model file with a damaged alignment record is refused clearly; one without it loads', async () => {
      const model = await loadModel(path.join(dir, 'rigid.padim'));
      const record = model.header.alignment as NonNullable<typeof model.header.alignment>;
      // a consistent file (checksums right) whose record is hostile: the loader's own check refuses it
      const bad = path.join(dir, 'bad.padim');
      await saveModel(bad, { ...model, header: { ...model.header, alignment: { ...record, maxShift: 5 } } });
      await assert.rejects(loadModel(bad), /corrupt: alignment\.maxShift must be a number in 0\.\.1/);
      const huge = { ...record, reference: { ...record.reference, width: 4096 } };
      await saveModel(bad, { ...model, header: { ...model.header, alignment: huge } });
      await assert.rejects(loadModel(bad), /alignment\.reference width\/height must be integers 1\.\.128/);
      const plain = await loadModel(path.join(dir, 'off.padim'));
      assert.equal(plain.header.alignment, undefined);
    });
  });
});
