/**
 * The table of bench/backbones.sh's reports (bench/results/backbones-<set>-<name>.json) as
 * Markdown: image and pixel AUROC, AUPRO, defects caught at the test set's 1% false-alarm
 * point, fit time and score time per image (backbone part in brackets).
 *
 *   node dist/bench/backbones-table.js [bench/results]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvaluationReport } from '../src/eval/evaluate';

type Report = EvaluationReport & {
  model: { backbone: string; layers: string[]; dims: number; size: string };
};

const f3 = (x: number) => x.toFixed(3);

function row(set: string, name: string, r: Report): string {
  const at1 = r.atFalseAlarmRate.find((p) => p.rate === 0.01);
  const defects = r.counts.testDefect;
  const caught = at1 ? `${at1.defectsCaught}/${defects} (${at1.falseAlarms} false)` : '-';
  const t = r.timings;
  return [
    set,
    `\`${name}\``,
    `${r.model.backbone} [${r.model.layers.join(', ')}] d=${r.model.dims}`,
    r.model.size,
    f3(r.imageAUROC),
    f3(r.pixelAUROC),
    f3(r.AUPRO),
    caught,
    t.fitMs === undefined ? '-' : (t.fitMs / 1000).toFixed(1),
    `${t.scoreMsPerImage.toFixed(1)} (${t.backboneMsPerImage.toFixed(1)})`,
  ].join(' | ');
}

function main(): void {
  const dir = process.argv[2] ?? 'bench/results';
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^backbones-(bottle|strip)-.+\.json$/.test(f))
    .sort();
  console.log(
    '| set | run | backbone [stages] d | input | image AUROC | pixel AUROC | AUPRO | caught at 1% false alarms | fit s | score ms/image (backbone) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const f of files) {
    const m = /^backbones-(bottle|strip)-(.+)\.json$/.exec(f)!;
    const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Report;
    console.log(`| ${row(m[1], m[2], r)} |`);
  }
}

main();
