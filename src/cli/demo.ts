/**
 * `padim demo`: the whole job on built-in defaults, with nothing to download. It generates
 * a synthetic inspection data set, fits the built-in filter-bank backbone on the good
 * images, scores the test set and reports accuracy, and writes a few heatmaps.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_FILTERBANK } from '../backbone/presets';
import { readCategory } from '../eval/dataset';
import { evaluate } from '../eval/evaluate';
import { fitModel } from '../padim/fit';
import { writeHeatmapFile } from '../render/heatmap';
import { saveModel } from '../model/model-file';
import { Scorer } from '../padim/scorer';
import { TEXTURE_KINDS, writeSyntheticDataset, type TextureKind } from '../synthetic';
import { choiceOption, parse, type Options, type ParsedValues } from './args';
import { createProgress } from './progress';

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export async function runDemo(
  argv: string[],
  io: Io,
  help: string,
  runtimeOptionSpec: Options,
  runtimeOptions: (v: ParsedValues, io: Io) => Record<string, unknown>,
): Promise<void> {
  const { values: v } = parse(argv, {
    ...runtimeOptionSpec,
    dir: { type: 'string' },
    texture: { type: 'string' },
    backbone: { type: 'string' },
  });
  if (v.help) return io.out(help);
  const dir = path.resolve((v.dir as string | undefined) ?? 'padim-demo');
  const texture =
    choiceOption(v.texture as string | undefined, 'texture', TEXTURE_KINDS) ?? ('woven' as TextureKind);
  const runtime = runtimeOptions(v, io);
  const progress = createProgress(process.stderr, Boolean(v.quiet));

  io.out(`1/4 generating a synthetic '${texture}' data set in ${path.join(dir, 'data')}`);
  const dataDir = path.join(dir, 'data');
  fs.rmSync(dataDir, { recursive: true, force: true });
  await writeSyntheticDataset(dataDir, { texture, seed: 1 });
  const data = readCategory(dataDir);

  io.out(`2/4 fitting on ${data.train.length} good images`);
  const t0 = performance.now();
  const model = await fitModel(data.train, {
    ...runtime,
    backbone: (v.backbone as string | undefined) ?? BUILTIN_FILTERBANK,
    onProgress: (p) => progress.update(p.phase, p.done, p.total),
  });
  const fitMs = performance.now() - t0;
  progress.end();
  const modelPath = path.join(dir, 'model.padim');
  await saveModel(modelPath, model);

  io.out(`3/4 scoring ${data.test.length} test images`);
  const heatmapDir = path.join(dir, 'heatmaps');
  fs.mkdirSync(heatmapDir, { recursive: true });
  const scorer = await Scorer.open(model, runtime);
  let report;
  try {
    report = await evaluate(scorer, data, {
      fitMs,
      onProgress: (done, total) => progress.update('scoring', done, total),
      onResult: async (r, t) => {
        // one heatmap per test folder is enough to look at
        if (!t.file.endsWith('000.png')) return;
        await writeHeatmapFile(t.file, r, path.join(heatmapDir, `${t.label}-${path.basename(t.file)}`));
      },
    });
  } finally {
    await scorer.dispose();
  }
  progress.end();

  io.out('4/4 results');
  io.out(`  image AUROC   ${report.imageAUROC.toFixed(3)}`);
  io.out(`  pixel AUROC   ${report.pixelAUROC.toFixed(3)}`);
  io.out(`  AUPRO         ${report.AUPRO.toFixed(3)}`);
  for (const [type, r] of Object.entries(report.perDefectType)) {
    io.out(`    ${type.padEnd(12)} image AUROC ${r.imageAUROC.toFixed(3)} (${r.count} images)`);
  }
  io.out(
    `  fit ${(fitMs / 1000).toFixed(1)} s; scoring ${report.timings.scoreMsPerImage.toFixed(1)} ms/image`,
  );
  io.out(`  model ${modelPath}, heatmaps in ${heatmapDir}`);
}
