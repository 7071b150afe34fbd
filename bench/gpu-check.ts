/**
 * GPU check: the CPU and a GPU provider side by side, in one run, on a machine with no model
 * files and no network (a generated backbone and generated images):
 *   backbone ms/image (batch 1 and 8), distance head ms/image at each d (batch 1 and 8; on the
 *   GPU both the device head, which holds the model in GPU memory, and the streaming head,
 *   which sends the inverse covariances with every call), fit time, and the scores of the GPU
 *   pipeline against the CPU's (PASS within 1e-4 relative).
 * Without a GPU (or when the provider cannot start) it says so, and checks the device head's
 * code path on the CPU provider instead.
 *
 *   node dist/bench/gpu-check.js [--gpu webgpu|cuda|tensorrt] [--dims 100,550] [--size 256]
 *     [--train 16] [--runs 5] [--quick] [--require-gpu] [--json FILE] [--backbone FILE.onnx]
 *
 * bench/gpu-check.sh runs it with the bundled Node.js and Vulkan loader (bench/make-gpu-bundle.sh).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { openBackbone } from '../src/backbone/backbone';
import { median } from '../src/math/median';
import { writeGeneratedBackbone } from '../src/bench/generated-backbone';
import { embedBatch, extractFeatures } from '../src/padim/extractor';
import { fitModel } from '../src/padim/fit';
import { DEFAULT_ARRANGEMENT, DeviceHead, type HeadArrangement, type HeadChoice } from '../src/head';
import { listImageFiles } from '../src/image/image-files';
import type { PadimModel } from '../src/model/model';
import { buildModel, DataType, valueInfo } from '../src/onnx';
import { batchToTensor, prepareImage } from '../src/image';
import { Scorer } from '../src/padim/scorer';
import { writeSyntheticDataset } from '../src/synthetic';
import { IMAGENET_NORMALISATION, PROVIDERS, type ProviderName, type SizeProtocol } from '../src/types';

const TOLERANCE = 1e-4;
const BATCH = 8;

interface Args {
  gpu: ProviderName;
  dims: number[];
  size: number;
  train: number;
  runs: number;
  requireGpu: boolean;
  json?: string;
  backbone?: string;
  threads?: number;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      gpu: { type: 'string', default: 'webgpu' },
      dims: { type: 'string' },
      size: { type: 'string' },
      train: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'require-gpu': { type: 'boolean', default: false },
      json: { type: 'string' },
      backbone: { type: 'string' },
      threads: { type: 'string' },
    },
  });
  const gpu = values.gpu as ProviderName;
  if (!PROVIDERS.includes(gpu) || gpu === 'cpu')
    throw new Error(`--gpu must be webgpu, cuda or tensorrt, got ${gpu}`);
  const quick = values.quick;
  const int = (v: string | undefined, fallback: number, name: string) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  return {
    gpu,
    dims: (values.dims ?? (quick ? '100' : '100,550')).split(',').map((s) => int(s, 0, 'dims')),
    size: int(values.size, quick ? 128 : 256, 'size'),
    train: int(values.train, quick ? 8 : 16, 'train'),
    runs: int(values.runs, quick ? 3 : 5, 'runs'),
    requireGpu: values['require-gpu'],
    json: values.json,
    backbone: values.backbone,
    threads: values.threads === undefined ? undefined : int(values.threads, 0, 'threads'),
  };
}

/** The readable part of an onnxruntime error: its first line, from 'Failed ...' where there is one. */
function essence(message: string): string {
  const line = message.split('\n')[0];
  const failed = line.indexOf('Failed');
  return (failed >= 0 ? line.slice(failed) : line).slice(0, 300);
}

/** Whether the provider starts and runs a one-node graph; the reason when it does not. */
async function probe(provider: ProviderName): Promise<{ available: boolean; reason?: string }> {
  const bytes = buildModel({
    name: 'probe',
    nodes: [{ op: 'Relu', inputs: ['X'], outputs: ['Y'] }],
    inputs: [valueInfo('X', DataType.FLOAT, [2])],
    outputs: [valueInfo('Y', DataType.FLOAT, [2])],
  });
  try {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: [provider] });
    const out = await s.run({ X: new ort.Tensor('float32', Float32Array.of(-1, 2), [2]) });
    await s.release();
    const y = out.Y.data as Float32Array;
    if (y[0] !== 0 || y[1] !== 2)
      return { available: false, reason: `wrong result ${Array.from(y).join(',')}` };
    return { available: true };
  } catch (err) {
    return {
      available: false,
      reason: essence(err instanceof Error ? err.message : String(err)),
    };
  }
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t };
}

/** Median ms per image of `runs` calls after one warm-up. */
async function perImage(runs: number, images: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) ms.push((await timed(f)).ms / images);
  return median(ms);
}

async function backboneTimes(
  file: string,
  provider: ProviderName,
  tensors: Map<number, Float32Array>,
  a: Args,
) {
  const bb = await openBackbone(file, { provider, strict: true, threads: a.threads });
  try {
    const out: Record<string, number> = {};
    for (const [b, t] of tensors)
      out[`batch${b}`] = await perImage(a.runs, b, () => bb.run(t, b, a.size, a.size));
    return out;
  } finally {
    await bb.dispose();
  }
}

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++)
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-12));
  return worst;
}

interface Variant {
  label: string;
  provider: ProviderName;
  head: HeadChoice;
}

interface Reference {
  scores: number[];
  grids: Float32Array[];
  /** the CPU backbone's embeddings of the test batch, fed to every head for the head-only check */
  embeddings: Float32Array[];
  distances: Float32Array[];
}

/** Opens a scorer for the variant; times its head; compares its scores with the reference. */
/** Runs a step that may fail on the GPU: the error is printed and `fallback` returned. */
async function attempt<T, F>(what: string, f: () => Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await f();
  } catch (err) {
    console.log(`${what}: FAILED: ${essence(err instanceof Error ? err.message : String(err))}`);
    return fallback;
  }
}

/** RSS and JavaScript ArrayBuffer memory (MB), after a collection when node runs with --expose-gc. */
function memory(): { rssMB: number; arrayBuffersMB: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rssMB: m.rss / 1e6, arrayBuffersMB: m.arrayBuffers / 1e6 };
}

async function runVariant(model: PadimModel, v: Variant, test: string[], a: Args, ref?: Reference) {
  const before = memory();
  const opened = await timed(() =>
    Scorer.open(model, {
      provider: v.provider,
      strict: true,
      head: v.head,
      threads: a.threads,
      batchSize: BATCH,
    }),
  );
  const scorer = opened.value;
  const after = memory();
  // what opening the scorer kept: the device head's copy of the model (native memory on the
  // CPU provider, device memory on a GPU), and no JavaScript copy (arrayBuffers)
  const opening = {
    rssMB: after.rssMB - before.rssMB,
    arrayBuffersMB: after.arrayBuffersMB - before.arrayBuffersMB,
  };
  try {
    const h = model.header;
    const protocol = { size: h.input.size, normalisation: h.input.normalisation };
    const embeddings = await embedBatch(
      scorer.embedder,
      await extractFeatures(scorer.backbone, test, protocol),
    );
    const head = {
      batch1: await perImage(a.runs, 1, () => scorer.distances(embeddings.slice(0, 1))),
      batch8: await perImage(a.runs, BATCH, () => scorer.distances(embeddings)),
    };
    const results = await scorer.scoreBatch(test);
    const scores = results.map((r) => r.score);
    const grids = results.map((r) => r.grid.data);
    const row = {
      label: v.label,
      provider: scorer.backbone.provider,
      head: scorer.deviceHead ? 'device' : 'stream',
      openSeconds: opened.ms / 1000,
      opening,
      headMsPerImage: head,
    };
    if (!ref) {
      const distances = await scorer.distances(embeddings);
      return { row, ref: { scores, grids, embeddings, distances } };
    }
    const headOnly = await scorer.distances(ref.embeddings);
    const compare = {
      scoresMaxRelative: maxRelative(scores, ref.scores),
      // cells relative to each image's largest distance (a cell near 0 has no relative precision)
      gridsMaxRelative: Math.max(...grids.map((g, j) => maxAbs(g, ref.grids[j]) / maxOf(ref.grids[j]))),
      headOnlyMaxRelative: Math.max(
        ...headOnly.map((g, j) => maxAbs(g, ref.distances[j]) / maxOf(ref.distances[j])),
      ),
    };
    const pass = compare.scoresMaxRelative <= TOLERANCE && compare.gridsMaxRelative <= TOLERANCE;
    return { row: { ...row, compare, pass }, ref };
  } finally {
    await scorer.dispose();
  }
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxOf(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m || 1;
}

/** Whether every node of the device head's graph runs on the provider (none left to the CPU). */
async function headPlacement(provider: ProviderName): Promise<string> {
  const d = 8;
  const precision = new Float32Array(2 * d * d);
  for (let c = 0; c < 2; c++) for (let i = 0; i < d; i++) precision[c * d * d + i * d + i] = 1;
  const g = { cells: 2, dims: d, chunkCells: 2, mean: new Float64Array(2 * d), precision: [precision] };
  try {
    const head = await DeviceHead.build(g, new Float32Array(2 * d), { provider, cpuFallback: false });
    const [grid] = await head.distances([new Float32Array(2 * d).fill(1)]);
    await head.dispose();
    const want = Math.sqrt(d);
    return Math.abs(grid[0] - want) < 1e-5 * want ? 'every node on the provider' : `wrong result ${grid[0]}`;
  } catch (err) {
    return `not every node on the provider (${essence(err instanceof Error ? err.message : String(err))})`;
  }
}

/** Image scores (on the CPU) of a model fitted on the GPU against the CPU-fitted one's. */
async function compareFits(
  gpuFitted: PadimModel,
  cpuFitted: PadimModel,
  test: string[],
  a: Args,
): Promise<number> {
  const scores = async (m: PadimModel) => {
    const s = await Scorer.open(m, { head: 'stream', threads: a.threads });
    try {
      return (await s.scoreBatch(test)).map((r) => r.score);
    } finally {
      await s.dispose();
    }
  };
  return maxRelative(await scores(gpuFitted), await scores(cpuFitted));
}

/** The device head in the arrangement the scorer does not use, on the GPU: which is faster there. */
async function otherArrangement(
  model: PadimModel,
  provider: ProviderName,
  embeddings: Float32Array[],
  a: Args,
) {
  const arrangement: HeadArrangement =
    DEFAULT_ARRANGEMENT === 'precision-left' ? 'precision-right' : 'precision-left';
  const head = await DeviceHead.build(model.gaussian, Float32Array.from(model.gaussian.mean), {
    provider,
    arrangement,
    threads: a.threads,
  });
  try {
    return {
      arrangement,
      batch1: await perImage(a.runs, 1, () => head.distances(embeddings.slice(0, 1))),
      batch8: await perImage(a.runs, BATCH, () => head.distances(embeddings)),
    };
  } finally {
    await head.dispose();
  }
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined ? '-' : v.toFixed(digits));

async function main(): Promise<number> {
  const a = parse();
  const say = (line: string) => console.log(line);
  const machine = {
    node: process.version,
    execPath: process.execPath,
    onnxruntime: ort.env.versions.common,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: os.totalmem() / 2 ** 30,
    backends: ort.listSupportedBackends().map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`),
  };
  say(
    `machine: ${machine.cpus} x ${machine.cpu}, ${machine.memoryGiB.toFixed(0)} GiB; node ${machine.node}, onnxruntime ${machine.onnxruntime}`,
  );
  say(`onnxruntime backends: ${machine.backends.join(', ')}`);
  const gpu = await probe(a.gpu);
  say(gpu.available ? `${a.gpu}: available` : `${a.gpu}: unavailable (${gpu.reason})`);
  const placement = gpu.available ? await headPlacement(a.gpu) : undefined;
  if (placement) say(`device head graph on ${a.gpu}: ${placement}`);
  if (!gpu.available && a.requireGpu) {
    say(`RESULT: FAIL (--require-gpu: ${a.gpu} did not start)`);
    return 2;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-gpu-check-'));
  try {
    const backbone = a.backbone ?? writeGeneratedBackbone(path.join(dir, 'generated.onnx'));
    await writeSyntheticDataset(path.join(dir, 'data'), {
      texture: 'woven',
      width: a.size,
      trainCount: a.train,
      testGoodCount: BATCH - 2,
      testDefectCount: 1,
      defects: ['scratch', 'spot'],
      seed: 5,
    });
    const train = listImageFiles(path.join(dir, 'data/train/good'));
    const test = listImageFiles(path.join(dir, 'data/test'), { recursive: true }).slice(0, BATCH);
    const size: SizeProtocol = { kind: 'resize', width: a.size, height: a.size };
    say(
      `data: ${train.length} generated training images, ${test.length} test images, ${a.size}x${a.size}; backbone ${a.backbone ?? 'generated (D=1792, strides 4/8/16)'}; ${a.runs} runs, medians`,
    );

    const prepared = await Promise.all(
      test.map((f) => prepareImage(f, { size, normalisation: IMAGENET_NORMALISATION })),
    );
    const tensors = new Map([
      [1, batchToTensor(prepared.slice(0, 1))],
      [BATCH, batchToTensor(prepared)],
    ]);
    const providers: ProviderName[] = gpu.available ? ['cpu', a.gpu] : ['cpu'];
    const backboneMs: Record<string, Record<string, number>> = {};
    for (const p of providers) {
      backboneMs[p] = await attempt(`backbone on ${p}`, () => backboneTimes(backbone, p, tensors, a), {});
      say(
        `backbone on ${p}: batch 1 ${fmt(backboneMs[p].batch1)}, batch ${BATCH} ${fmt(backboneMs[p][`batch${BATCH}`])} ms/image`,
      );
    }

    const perDims: DimsReport[] = [];
    for (const dims of a.dims) {
      const fitOpts = { backbone, dims, size, threads: a.threads, heldOutImages: 0, updatable: false };
      const cpuFit = await timed(() => fitModel(train, { ...fitOpts, provider: 'cpu' }));
      const model = cpuFit.value;
      const fitSeconds: Record<string, number> = { cpu: cpuFit.ms / 1000 };
      let gpuFitScoresMaxRelative: number | undefined;
      if (gpu.available) {
        await attempt(
          `d=${dims} fit on ${a.gpu}`,
          async () => {
            const gpuFit = await timed(() => fitModel(train, { ...fitOpts, provider: a.gpu, strict: true }));
            fitSeconds[a.gpu] = gpuFit.ms / 1000;
            gpuFitScoresMaxRelative = await compareFits(gpuFit.value, model, test, a);
          },
          undefined,
        );
      }
      const variants: Variant[] = [{ label: 'cpu, streaming head', provider: 'cpu', head: 'stream' }];
      if (gpu.available) {
        variants.push({ label: `${a.gpu}, device head`, provider: a.gpu, head: 'device' });
        variants.push({ label: `${a.gpu}, streaming head`, provider: a.gpu, head: 'stream' });
      } else {
        variants.push({ label: 'cpu, device head (code path check)', provider: 'cpu', head: 'device' });
      }
      const rows: Row[] = [];
      let ref: Reference | undefined;
      for (const v of variants) {
        // the reference (first) must work; a failing GPU variant is a FAIL row, and the check goes on
        const r = ref
          ? await attempt(`d=${dims} ${v.label}`, () => runVariant(model, v, test, a, ref), undefined)
          : await runVariant(model, v, test, a);
        const row: Row = r?.row ?? {
          label: v.label,
          provider: v.provider,
          error: 'failed (see above)',
          pass: false,
        };
        ref = r?.ref ?? ref;
        rows.push(row);
        say(`d=${dims}${rowLine(row)}`);
      }
      const reference = ref as Reference;
      const other = gpu.available
        ? await attempt(
            `d=${dims} other arrangement`,
            () => otherArrangement(model, a.gpu, reference.embeddings, a),
            undefined,
          )
        : undefined;
      perDims.push({
        dims,
        cells: model.gaussian.cells,
        precisionGB: (model.gaussian.cells * dims * dims * 4) / 1e9,
        fitSeconds,
        gpuFitScoresMaxRelative,
        rows,
        otherArrangement: other,
      });
    }

    const report = {
      machine,
      gpu: { provider: a.gpu, ...gpu, ...(placement ? { headPlacement: placement } : {}) },
      args: a,
      backboneMsPerImage: backboneMs,
      dims: perDims,
    };
    for (const l of table(backboneMs, perDims, providers)) say(l);
    const compared = perDims.flatMap((p) => p.rows.filter((r) => r.pass !== undefined));
    const allPass = compared.every((r) => r.pass);
    const verdict = `${allPass ? 'PASS' : 'FAIL'} (${compared.length} pipelines compared with the CPU's, tolerance ${TOLERANCE} relative)`;
    say(`RESULT: ${verdict}${gpu.available ? '' : `; GPU not measured: ${a.gpu} unavailable`}`);
    if (a.json) {
      fs.mkdirSync(path.dirname(path.resolve(a.json)), { recursive: true });
      fs.writeFileSync(a.json, JSON.stringify({ ...report, result: verdict }, null, 2));
    }
    return allPass ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  label: string;
  provider: ProviderName;
  head?: string;
  openSeconds?: number;
  opening?: { rssMB: number; arrayBuffersMB: number };
  headMsPerImage?: { batch1: number; batch8: number };
  error?: string;
  compare?: { scoresMaxRelative: number; gridsMaxRelative: number; headOnlyMaxRelative: number };
  pass?: boolean;
}

interface DimsReport {
  dims: number;
  cells: number;
  precisionGB: number;
  fitSeconds: Record<string, number>;
  gpuFitScoresMaxRelative?: number;
  rows: Row[];
  otherArrangement?: { arrangement: string; batch1: number; batch8: number };
}

function headLine(label: string, ms: { batch1: number; batch8: number }): string {
  return `  head ms/image ${label.padEnd(38)} batch 1 ${fmt(ms.batch1).padStart(9)}   batch ${BATCH} ${fmt(ms.batch8).padStart(9)}`;
}

function rowLine(r: Row): string {
  if (!r.headMsPerImage || !r.opening) return `  head ms/image ${r.label.padEnd(38)} ${r.error ?? ''}: FAIL`;
  const c = r.compare;
  const check = c
    ? `   vs cpu: scores ${c.scoresMaxRelative.toExponential(1)}, grids ${c.gridsMaxRelative.toExponential(1)}, head alone ${c.headOnlyMaxRelative.toExponential(1)}: ${r.pass ? 'PASS' : 'FAIL'}`
    : '   (reference)';
  return `${headLine(r.label, r.headMsPerImage)}   open ${fmt(r.openSeconds, 1)} s (+${fmt(r.opening.rssMB, 0)} MB RSS, +${fmt(r.opening.arrayBuffersMB, 0)} MB JS buffers), head ${r.head} on ${r.provider}${check}`;
}

/** CPU and GPU side by side. */
function table(
  backboneMs: Record<string, Record<string, number>>,
  dims: DimsReport[],
  providers: ProviderName[],
): string[] {
  const cols = (f: (p: ProviderName) => string) => providers.map((p) => f(p).padEnd(12)).join('');
  const out = [`${''.padEnd(44)}${cols((p) => p)}`];
  for (const b of [1, BATCH])
    out.push(`${`backbone ms/image, batch ${b}`.padEnd(44)}${cols((p) => fmt(backboneMs[p][`batch${b}`]))}`);
  for (const d of dims) {
    out.push(`d=${d.dims}: ${d.cells} cells, ${d.precisionGB.toFixed(2)} GB of inverse covariances`);
    out.push(`${'  fit (s)'.padEnd(44)}${cols((p) => fmt(d.fitSeconds[p], 1))}`);
    if (d.gpuFitScoresMaxRelative !== undefined)
      out.push(
        `  model fitted on the GPU, scores vs the CPU-fitted model's: max relative ${d.gpuFitScoresMaxRelative.toExponential(1)} (information)`,
      );
    for (const r of d.rows) out.push(rowLine(r));
    const o = d.otherArrangement;
    if (o) out.push(headLine(`${providers[1]}, device head, ${o.arrangement}`, o));
  }
  return out;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`gpu-check: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    console.log('RESULT: FAIL (error)');
    process.exit(1);
  },
);
