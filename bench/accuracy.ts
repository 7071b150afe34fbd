/**
 * Accuracy table: padim eval over several backbones, dims and protocols, on MVTec AD
 * bottle (../shared, when present) and on generated data (always), written as JSON and as
 * a Markdown table for BENCHMARKS.md.
 *
 *   node dist/bench/accuracy.js [--only bottle|synthetic] [--match REGEX] [--json out.json] [--md out.md]
 *
 * --match measures only the rows whose "set: name" matches; with --json, the file's earlier
 * rows are kept (a row measured again replaces its old result), so a table can be measured
 * in parts on a shared machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readCategory } from '../src/eval/dataset';
import { evaluate, type EvaluationReport } from '../src/eval/evaluate';
import { fitModel } from '../src/padim/fit';
import type { FitOptions } from '../src/options';
import { parseSize } from '../src/input';
import { Scorer } from '../src/padim/scorer';
import { writeSyntheticDataset, type SyntheticDatasetOptions } from '../src/synthetic';

const SHARED = path.resolve(__dirname, '../../../shared');
const model = (f: string) => path.join(SHARED, 'models', f);
const R50 = model('resnet50v2-stage1to3-fp32.onnx');
const MNV2 = model('mobilenetv2-fp32.onnx');
const MNV2_INT8 = model('mobilenetv2-12-int8.onnx');
const SQUEEZE = model('squeezenet1.1-fp32.onnx');
const SQUASH = parseSize('256x256');
/** alternative stages, to choose the presets' layers by measurement */
const R50_SUMS: [string, string, string] = ['stage1_sum', 'stage2_sum', 'stage3_sum'];
const MNV2_BLOCK10: [string, string, string] = ['block3', 'block6', 'block10'];
/** MobileNetV2's preset layers before issue 7 (the rows measured with them keep them) */
const MNV2_BLOCK13: [string, string, string] = ['block3', 'block6', 'block13'];

interface Row {
  set: string;
  name: string;
  options: FitOptions;
  /** use only the first N training images (tiny-set rows) */
  trainCount?: number;
}

/** The rows measured before size auto existed (explicit 256x256 then the default). */
function bottleRows(): Row[] {
  const set = 'bottle';
  return [
    { set, name: 'ResNet50v2 d=100', options: { backbone: R50, dims: 100, size: SQUASH } },
    { set, name: 'ResNet50v2 d=550', options: { backbone: R50, dims: 550, size: SQUASH } },
    { set, name: 'ResNet50v2 d=550, size auto (default)', options: { backbone: R50, dims: 550 } },
    {
      set,
      name: 'ResNet50v2 d=100, layers stage1-3_sum',
      options: { backbone: R50, dims: 100, layers: R50_SUMS },
    },
    {
      set,
      name: 'ResNet50v2 d=100, paper protocol 256/224',
      options: { backbone: R50, dims: 100, size: parseSize('256', '224') },
    },
    {
      set,
      name: 'ResNet50v2 d=100 semi-orthogonal',
      options: { backbone: R50, dims: 100, reduction: 'semi-orthogonal', size: SQUASH },
    },
    {
      set,
      name: 'MobileNetV2 all 152, layers block3,6,13',
      options: { backbone: MNV2, layers: MNV2_BLOCK13, dims: 152, size: SQUASH },
    },
    {
      set,
      name: 'MobileNetV2 d=100, layers block3,6,13',
      options: { backbone: MNV2, layers: MNV2_BLOCK13, dims: 100, size: SQUASH },
    },
    {
      set,
      name: 'MobileNetV2 d=100, layers block3,6,10',
      options: { backbone: MNV2, dims: 100, layers: MNV2_BLOCK10 },
    },
    { set, name: 'MobileNetV2 int8 d=100 (224x224, fixed)', options: { backbone: MNV2_INT8, dims: 100 } },
    { set, name: 'MobileNetV2 int8 all 152 (224x224, fixed)', options: { backbone: MNV2_INT8, dims: 152 } },
    { set, name: 'SqueezeNet d=100', options: { backbone: SQUEEZE, dims: 100, size: SQUASH } },
    { set, name: 'SqueezeNet d=300', options: { backbone: SQUEEZE, dims: 300 } },
    { set, name: 'builtin:filterbank (all 60)', options: { backbone: 'builtin:filterbank', size: SQUASH } },
    { set, name: 'builtin:filterbank d=30', options: { dims: 30 } },
    {
      set,
      name: 'builtin:filterbank d=30 semi-orthogonal',
      options: { dims: 30, reduction: 'semi-orthogonal' },
    },
  ];
}

/**
 * Generated sets. `strip` and `commutator` are the long, thin, greyscale parts of issue 7
 * (1250x500 and 500x1250, aspect 1:2.5) with 1 px hairline cracks, 2-4 px flecks and 1-3 px
 * scratches; `woven` is a square colour texture with the default defects.
 */
interface GeneratedSet {
  name: string;
  options: SyntheticDatasetOptions;
  long: boolean;
}

const GENERATED: GeneratedSet[] = [
  {
    name: 'strip 1250x500 grey',
    long: true,
    options: {
      texture: 'brushed',
      width: 1250,
      height: 500,
      channels: 1,
      defects: ['crack', 'fleck', 'scratch'],
      trainCount: 30,
      testGoodCount: 10,
      testDefectCount: 8,
      seed: 7,
    },
  },
  {
    name: 'commutator 500x1250 grey',
    long: true,
    options: {
      texture: 'tiles',
      width: 500,
      height: 1250,
      channels: 1,
      defects: ['crack', 'fleck'],
      trainCount: 30,
      testGoodCount: 10,
      testDefectCount: 8,
      seed: 8,
    },
  },
  {
    name: 'woven 256x256 colour',
    long: false,
    options: { texture: 'woven', trainCount: 30, testGoodCount: 10, testDefectCount: 6, seed: 9 },
  },
];

function generatedRows(g: GeneratedSet): Row[] {
  const row = (name: string, options: FitOptions, trainCount?: number): Row => ({
    set: g.name,
    name,
    options,
    ...(trainCount ? { trainCount } : {}),
  });
  const rows: Row[] = [
    row('builtin:filterbank (all 60), squashed 256x256', { size: SQUASH }),
    row('builtin:filterbank (all 60), size auto', {}),
    row('builtin:filterbank d=30, size auto', { dims: 30 }),
    row('builtin:filterbank d=30 semi-orthogonal, size auto', { dims: 30, reduction: 'semi-orthogonal' }),
    row('ResNet50v2 d=100, squashed 256x256', { backbone: R50, dims: 100, size: SQUASH }),
    row('ResNet50v2 d=100, size auto', { backbone: R50, dims: 100 }),
    row('ResNet50v2 d=100 semi-orthogonal, size auto', {
      backbone: R50,
      dims: 100,
      reduction: 'semi-orthogonal',
    }),
    row('ResNet50v2 d=100, layers stage1-3_sum, size auto', { backbone: R50, dims: 100, layers: R50_SUMS }),
    row('ResNet50v2 d=300, size auto', { backbone: R50, dims: 300 }),
    row('ResNet50v2 d=300, size auto, eps only', { backbone: R50, dims: 300, shrinkage: 'off' }),
    row('MobileNetV2 d=100, layers block3,6,13, squashed 256x256', {
      backbone: MNV2,
      layers: MNV2_BLOCK13,
      dims: 100,
      size: SQUASH,
    }),
    row('MobileNetV2 d=100, layers block3,6,13, size auto', {
      backbone: MNV2,
      layers: MNV2_BLOCK13,
      dims: 100,
    }),
    row('MobileNetV2 d=100, layers block3,6,10, size auto', {
      backbone: MNV2,
      dims: 100,
      layers: MNV2_BLOCK10,
    }),
    row('MobileNetV2 all 152, layers block3,6,13, size auto', {
      backbone: MNV2,
      layers: MNV2_BLOCK13,
      dims: 152,
    }),
    row('MobileNetV2 all 152, layers block3,6,13, size auto, eps only', {
      backbone: MNV2,
      layers: MNV2_BLOCK13,
      dims: 152,
      shrinkage: 'off',
    }),
    row('MobileNetV2 int8 d=100 (224x224, fixed)', { backbone: MNV2_INT8, dims: 100 }),
    row('SqueezeNet d=100, squashed 256x256', { backbone: SQUEEZE, dims: 100, size: SQUASH }),
    row('SqueezeNet d=100, size auto', { backbone: SQUEEZE, dims: 100 }),
    row('SqueezeNet d=300, size auto', { backbone: SQUEEZE, dims: 300 }),
    row('builtin:filterbank (all 60), size auto, 5 training images (shrunk)', {}, 5),
    row('builtin:filterbank (all 60), size auto, 5 training images, eps only', { shrinkage: 'off' }, 5),
  ];
  // the square set: no second d for the large networks, no tiny-set rows, squashed only where the
  // table shows that squashed and auto are the same size
  return g.long
    ? rows
    : rows.filter((r) => !/d=300|int8|5 training|all 152|(MobileNetV2|SqueezeNet).*squashed/.test(r.name));
}

async function evalRow(dataDir: string, row: Row): Promise<EvaluationReport> {
  const data = readCategory(dataDir);
  const train = row.trainCount ? data.train.slice(0, row.trainCount) : data.train;
  const t0 = performance.now();
  const fitted = await fitModel(train, {
    seed: 0,
    log: (m) => console.log(`  ${m}`),
    ...row.options,
  });
  const fitMs = performance.now() - t0;
  const scorer = await Scorer.open(fitted);
  try {
    return await evaluate(scorer, data, { fitMs });
  } finally {
    await scorer.dispose();
  }
}

interface Result {
  set: string;
  name: string;
  report: EvaluationReport;
}

/** Earlier results, so that rows can be measured a few at a time (--match) into one file. */
function readPrevious(file: string | undefined): Result[] {
  if (!file || !fs.existsSync(file)) return [];
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { results: Result[] }).results;
}

/** Image AUROC of each defect type alone against the good images, e.g. "crack 0.91, fleck 1.00". */
function perDefect(r: EvaluationReport): string {
  return Object.entries(r.perDefectType)
    .map(([kind, v]) => `${kind} ${v.imageAUROC.toFixed(2)}`)
    .join(', ');
}

function markdown(results: Result[]): string[] {
  return [
    '| data | model | input | image AUROC | pixel AUROC | AUPRO | image AUROC per defect type | fit (s) | score (ms/image) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      ({ set, name, report: r }) =>
        `| ${set} | ${name} | ${r.model.size} | ${r.imageAUROC.toFixed(3)} | ${r.pixelAUROC.toFixed(3)} | ${r.AUPRO.toFixed(3)} | ` +
        `${perDefect(r)} | ${((r.timings.fitMs ?? 0) / 1000).toFixed(1)} | ${r.timings.scoreMsPerImage.toFixed(0)} |`,
    ),
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      match: { type: 'string' },
      json: { type: 'string' },
      md: { type: 'string' },
    },
  });
  const match = values.match ? new RegExp(values.match, 'i') : undefined;
  const wanted = (row: Row) =>
    (!match || match.test(`${row.set}: ${row.name}`)) &&
    Object.values(row.options).every(
      (v) => typeof v !== 'string' || !v.endsWith('.onnx') || fs.existsSync(v),
    );
  const results = readPrevious(values.json);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-accuracy-'));
  const rows: { dir: string; row: Row }[] = [];
  if (values.only !== 'synthetic') {
    const bottle = path.join(SHARED, 'data/mvtec/bottle');
    if (fs.existsSync(bottle))
      rows.push(
        ...bottleRows()
          .filter(wanted)
          .map((row) => ({ dir: bottle, row })),
      );
    else console.log('skipped bottle: ../shared is absent');
  }
  try {
    if (values.only !== 'bottle') {
      for (const g of GENERATED) {
        const selected = generatedRows(g).filter(wanted);
        if (selected.length === 0) continue;
        const dir = path.join(tmp, g.options.texture);
        await writeSyntheticDataset(dir, g.options);
        rows.push(...selected.map((row) => ({ dir, row })));
      }
    }
    for (const { dir, row } of rows) {
      const report = await evalRow(dir, row);
      const at = results.findIndex((r) => r.set === row.set && r.name === row.name);
      if (at >= 0) results[at] = { set: row.set, name: row.name, report };
      else results.push({ set: row.set, name: row.name, report });
      console.log(
        `${row.set.padEnd(26)} ${row.name.padEnd(50)} ${report.model.size.padEnd(16)} image ${report.imageAUROC.toFixed(3)}  pixel ${report.pixelAUROC.toFixed(3)}  ` +
          `AUPRO ${report.AUPRO.toFixed(3)}  fit ${((report.timings.fitMs ?? 0) / 1000).toFixed(1)} s  score ${report.timings.scoreMsPerImage.toFixed(0)} ms/img`,
      );
      // written after every row, so a long run that is stopped keeps what it measured
      if (values.json)
        fs.writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // the table in the order the rows are defined here, whatever order they were measured in
  const order = [...bottleRows(), ...GENERATED.flatMap(generatedRows)].map((r) => `${r.set}: ${r.name}`);
  const rank = (r: Result) => {
    const i = order.indexOf(`${r.set}: ${r.name}`);
    return i < 0 ? order.length : i;
  };
  results.sort((a, b) => rank(a) - rank(b));
  if (values.json)
    fs.writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
  const md = markdown(results);
  console.log(`\n${md.join('\n')}`);
  if (values.md) fs.writeFileSync(values.md, md.join('\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
