/**
 * Backbone time per image, every backbone obtainable here, measured interleaved in one process
 * so that load from other jobs on a shared machine falls on all of them alike: each round runs
 * every backbone once on the same image-sized input; the median over rounds, and the ratio to
 * builtin:filterbank's median in the same run. The backbone forward pass only (preprocessing and
 * the Mahalanobis distance are in `padim eval`'s timings).
 *
 *   node dist/bench/backbone-speed.js [--shared DIR] [--rounds N] [--threads N] [--json out.json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { openBackbone, type Backbone } from '../src/backbone/backbone';
import { median } from '../src/math/median';
import { importFile } from '../src/backbone/registry/store';

interface Case {
  name: string;
  spec: string;
  width: number;
  height: number;
  layers?: [string, string, string];
}

const CASES: Case[] = [
  { name: 'builtin:filterbank 256x256', spec: 'builtin:filterbank', width: 256, height: 256 },
  {
    name: 'mobilenetv2-12-int8 (registry, dynamic) 256x256',
    spec: 'mobilenetv2-12-int8',
    width: 256,
    height: 256,
  },
  {
    name: 'mobilenetv2-12-int8 (registry, dynamic) 640x256',
    spec: 'mobilenetv2-12-int8',
    width: 640,
    height: 256,
  },
  { name: 'mobilenetv2-int8 preset (fixed) 224x224', spec: 'mobilenetv2-int8', width: 224, height: 224 },
  { name: 'mobilenetv2 fp32 256x256', spec: 'mobilenetv2', width: 256, height: 256 },
  { name: 'resnet50v2 256x256', spec: 'resnet50v2', width: 256, height: 256 },
  { name: 'squeezenet 256x256', spec: 'squeezenet', width: 256, height: 256 },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      shared: { type: 'string', default: path.resolve(__dirname, '../../../shared') },
      rounds: { type: 'string', default: '15' },
      threads: { type: 'string', default: '2' },
      json: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const threads = Number(values.threads);
  const shared = values.shared as string;
  // a models directory as a user has it: the int8 file imported (prepared), the presets' files
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-speed-'));
  for (const f of fs.readdirSync(path.join(shared, 'models')).filter((n) => n.endsWith('.onnx')))
    fs.symlinkSync(path.join(shared, 'models', f), path.join(dir, f));
  fs.rmSync(path.join(dir, 'mobilenetv2-12-int8.onnx'));
  await importFile(dir, path.join(shared, 'models', 'mobilenetv2-12-int8.onnx'));

  const opened: { c: Case; bb: Backbone; input: Float32Array; ms: number[] }[] = [];
  for (const c of CASES) {
    const bb = await openBackbone(c.spec, { modelsDir: dir, threads });
    const input = new Float32Array(3 * c.width * c.height).map((_, i) => ((i * 37) % 101) / 101);
    await bb.run(input, 1, c.height, c.width); // warm-up
    opened.push({ c, bb, input, ms: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const o of opened) {
      const t = performance.now();
      await o.bb.run(o.input, 1, o.c.height, o.c.width);
      o.ms.push(performance.now() - t);
    }
  }
  const base = median(opened[0].ms);
  const rows = opened.map((o) => ({
    backbone: o.c.name,
    medianMs: median(o.ms),
    ratioToFilterbank: median(o.ms) / base,
    ms: o.ms,
  }));
  for (const o of opened) await o.bb.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`| backbone | median ms / image (${rounds} rounds, ${threads} threads) | x filterbank |`);
  console.log('|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.backbone} | ${r.medianMs.toFixed(1)} | ${r.ratioToFilterbank.toFixed(2)} |`);
  if (values.json)
    fs.writeFileSync(
      values.json,
      JSON.stringify({ date: new Date().toISOString(), rounds, threads, rows }, null, 2) + '\n',
    );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
