/**
 * Accuracy table: padim eval over several backbones, dims and protocols, on MVTec AD
 * bottle (../shared, when present) and on generated data (always), written as JSON and as
 * a Markdown table for BENCHMARKS.md.
 *
 *   node dist/bench/accuracy.js [--only bottle|synthetic] [--json out.json] [--md out.md]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readCategory } from '../src/dataset';
import { evaluate, type EvaluationReport } from '../src/evaluate';
import { fitModel } from '../src/fit';
import type { FitOptions } from '../src/options';
import { parseSize } from '../src/preprocess';
import { Scorer } from '../src/scorer';
import { TEXTURE_KINDS, writeSyntheticDataset } from '../src/synthetic';

const SHARED = path.resolve(__dirname, '../../../shared');
const model = (f: string) => path.join(SHARED, 'models', f);

interface Row {
  set: string;
  name: string;
  options: FitOptions;
}

function bottleRows(): Row[] {
  const r50 = model('resnet50v2-stage1to3-fp32.onnx');
  return [
    { set: 'bottle', name: 'ResNet50v2 d=100', options: { backbone: r50, dims: 100 } },
    { set: 'bottle', name: 'ResNet50v2 d=550', options: { backbone: r50, dims: 550 } },
    {
      set: 'bottle',
      name: 'ResNet50v2 d=100, paper protocol 256/224',
      options: { backbone: r50, dims: 100, size: parseSize('256', '224') },
    },
    {
      set: 'bottle',
      name: 'ResNet50v2 d=100 semi-orthogonal',
      options: { backbone: r50, dims: 100, reduction: 'semi-orthogonal' },
    },
    {
      set: 'bottle',
      name: 'MobileNetV2 all 152',
      options: { backbone: model('mobilenetv2-fp32.onnx'), dims: 152 },
    },
    {
      set: 'bottle',
      name: 'MobileNetV2 d=100',
      options: { backbone: model('mobilenetv2-fp32.onnx'), dims: 100 },
    },
    {
      set: 'bottle',
      name: 'SqueezeNet d=100',
      options: { backbone: model('squeezenet1.1-fp32.onnx'), dims: 100 },
    },
    { set: 'bottle', name: 'builtin:filterbank (all 60)', options: { backbone: 'builtin:filterbank' } },
  ];
}

async function evalRow(dataDir: string, row: Row): Promise<EvaluationReport> {
  const data = readCategory(dataDir);
  const t0 = performance.now();
  const fitted = await fitModel(data.train, { seed: 0, ...row.options });
  const fitMs = performance.now() - t0;
  const scorer = await Scorer.open(fitted);
  try {
    return await evaluate(scorer, data, { fitMs });
  } finally {
    await scorer.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, json: { type: 'string' }, md: { type: 'string' } },
  });
  const results: { set: string; name: string; report: EvaluationReport }[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-accuracy-'));
  const rows: { dir: string; row: Row }[] = [];
  if (values.only !== 'synthetic') {
    const bottle = path.join(SHARED, 'data/mvtec/bottle');
    if (fs.existsSync(bottle)) rows.push(...bottleRows().map((row) => ({ dir: bottle, row })));
    else console.log('skipped bottle: ../shared is absent');
  }
  if (values.only !== 'bottle') {
    for (const texture of TEXTURE_KINDS) {
      const dir = path.join(tmp, texture);
      await writeSyntheticDataset(dir, { texture, seed: 1 });
      rows.push({
        dir,
        row: { set: `synthetic ${texture}`, name: 'builtin:filterbank (all 60)', options: {} },
      });
      const r50 = model('resnet50v2-stage1to3-fp32.onnx');
      if (fs.existsSync(r50)) {
        rows.push({
          dir,
          row: {
            set: `synthetic ${texture}`,
            name: 'ResNet50v2 d=100',
            options: { backbone: r50, dims: 100 },
          },
        });
      }
    }
  }
  try {
    for (const { dir, row } of rows) {
      const report = await evalRow(dir, row);
      results.push({ set: row.set, name: row.name, report });
      console.log(
        `${row.set.padEnd(20)} ${row.name.padEnd(42)} image ${report.imageAUROC.toFixed(3)}  pixel ${report.pixelAUROC.toFixed(3)}  ` +
          `AUPRO ${report.AUPRO.toFixed(3)}  fit ${((report.timings.fitMs ?? 0) / 1000).toFixed(1)} s  score ${report.timings.scoreMsPerImage.toFixed(0)} ms/img`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const md = [
    '| data | model | image AUROC | pixel AUROC | AUPRO | fit (s) | score (ms/image) |',
    '|---|---|---|---|---|---|---|',
    ...results.map(
      ({ set, name, report: r }) =>
        `| ${set} | ${name} | ${r.imageAUROC.toFixed(3)} | ${r.pixelAUROC.toFixed(3)} | ${r.AUPRO.toFixed(3)} | ` +
        `${((r.timings.fitMs ?? 0) / 1000).toFixed(1)} | ${r.timings.scoreMsPerImage.toFixed(0)} |`,
    ),
  ];
  console.log(`\n${md.join('\n')}`);
  if (values.json)
    fs.writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
  if (values.md) fs.writeFileSync(values.md, md.join('\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
