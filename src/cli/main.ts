/**
 * The `padim` command line: fit, score, update, info, demo.
 * Every command prints help with --help; errors are one clear line and a non-zero exit code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALIGN_MODES } from '../alignment/reference';
import { writeFileAtomic } from '../files/atomic-write';
import { formatBench, runBench } from '../bench/pipeline-bench';
import { BUILTIN_FILTERBANK } from '../backbone/presets';
import { readCategory } from '../eval/dataset';
import { evaluate, type EvaluationReport, type RatePoint } from '../eval/evaluate';
import { fitModel, updateModel } from '../padim/fit';
import { writeHeatmapFile } from '../render/heatmap';
import { heatmapNames } from '../render/heatmap-names';
import { resolveImageArgs } from '../image/image-files';
import { loadModel, readModelHeader } from '../model/model-file';
import { DEFAULT_KEEP_VERSIONS, saveModelVersion } from '../model/history';
import type { ModelHeader } from '../model/model';
import { DEFAULTS, type FitOptions, type Progress } from '../options';
import { DEFAULT_AUTO_SHORT, DEFAULT_MAX_CELLS, describeSize, parseSize, parseSizeChoice } from '../input';
import { DEFAULT_MAX_PIXELS } from '../image';
import { PRECISION_STORAGES } from '../model/precision-storage';
import { AUTO_FLOAT64_MAX_DIMS } from '../padim/gaussian';
import { Scorer, type ScoreResult } from '../padim/scorer';
import { describeThreshold, formatRate, thresholdLine } from '../threshold';
import { DEFAULT_PROVIDER, PROVIDERS } from '../types';
import {
  choiceOption,
  intOption,
  layersOption,
  numberOption,
  parse,
  required,
  UsageError,
  type Options,
  type ParsedValues,
} from './args';
import { ARCHIVE_HELP, cmdArchive } from './archive';
import { runDemo } from './demo';
import { cmdModels, MODELS_HELP } from './models';
import { createProgress, type ProgressReporter } from './progress';

const RUNTIME_OPTIONS: Options = {
  provider: { type: 'string' },
  strict: { type: 'boolean' },
  threads: { type: 'string' },
  'models-dir': { type: 'string' },
  'max-pixels': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
};

const RUNTIME_HELP = `
  ${`--provider ${PROVIDERS.join('|')}`.padEnd(35)}  execution provider (default ${DEFAULT_PROVIDER}); falls back to cpu
                                       with a warning when it cannot start
  --strict                             fail instead of falling back
  --threads N                          onnxruntime threads (default: all cores)
  --models-dir DIR                     where preset backbones are found (default ~/.padim/models,
                                       or $PADIM_MODELS_DIR)
  --max-pixels N                       refuse larger images before decoding (default ${DEFAULT_MAX_PIXELS})
  -q, --quiet                          no progress output`;

const ALIGN_HELP = `
  --align MODE        off (default), translate or rigid: register every image to a reference
                      training image (phase correlation on a 128 px grey thumbnail; rigid also
                      finds the turn, log-polar) before the backbone; stored in the model
  --roi FILE          regions of interest: a mask image (white = inspect) or JSON rectangles and
                      polygons ({"width", "height", "regions": [{"name", "rect" | "polygon",
                      "ignore"}]}) in a training image's pixels (the alignment reference's);
                      only their cells are fitted and scored, the map is 0 outside; stored in the model`;

const SCORE_ALIGN_HELP = `
  --align MODE        the model's alignment (default), off, or translate for a rigid model`;

const KEEP_HELP = `
  --keep-versions N   earlier models kept in <model>.history/ when the file is replaced
                      (default ${DEFAULT_KEEP_VERSIONS}; 0: none); see 'padim models history'`;

/** --keep-versions, checked before the fit starts rather than after it. */
function keepOption(v: ParsedValues): number | undefined {
  return intOption(v['keep-versions'] as string | undefined, 'keep-versions', 0);
}

const HELP: Record<string, string> = {
  main: `padim: PaDiM anomaly detection and localisation

Usage: padim <command> [options]

Commands:
  fit      fit a model on good images
  score    score images with a model (anomaly score, heatmaps)
  update   add more good images to a fitted model
  eval     evaluate on a labelled data set (MVTec AD layout)
  bench    time each stage of the pipeline against this machine's floors
  info     show a model file's header
  demo     generate a synthetic data set, fit, score and report (no downloads)
  models   pretrained backbones: list, pull, import, verify, inspect
  archive  find a part's decisions in a padim-archive folder

Run 'padim <command> --help' for the command's options.`,
  fit: `Usage: padim fit --train <dir|files>... --out <model> [options]

  --train PATH        folder of good images (repeatable), or image files
  --out FILE          model file to write (atomically)
  --backbone SPEC     auto (default: the best backbone installed by 'padim models pull', else
                      ${BUILTIN_FILTERBANK} with a warning), ${BUILTIN_FILTERBANK}, a registry name
                      ('padim models list'), a preset (resnet50v2, mobilenetv2, mobilenetv2-int8,
                      squeezenet) or an .onnx file
  --layers a,b,c      tensor names of stages 1..3 (default: the preset's)
  --dims N            channels kept per cell (default ${DEFAULTS.dims}, or all if fewer)
  --reduction R       random (default) or semi-orthogonal
  --size auto[:S]|WxH input size. auto (default): the training images' aspect, short side S
                      (default ${DEFAULT_AUTO_SHORT}), sides rounded to the backbone's stride, at most ${DEFAULT_MAX_CELLS} grid
                      cells; WxH squashes every image to WxH; with --crop: shorter side S
  --crop C|WxH        centre crop after resizing (the paper: --size 256 --crop 224)
  --seed N            seed of the channel choice (default ${DEFAULTS.seed})
  --eps X             covariance regularisation (default ${DEFAULTS.eps})
  --shrinkage S       auto (default): with fewer than d/4 + 1 training images, shrink each
                      covariance toward the identity (OAS) and warn; off: eps only
  --batch N           images per batch (default ${DEFAULTS.batchSize})
  --recursive         look for images in sub-folders too
  --compact           do not keep the statistics needed by 'padim update' (smaller file)
  --inverse P         covariance inversion arithmetic: auto (default: float64 up to d=${AUTO_FLOAT64_MAX_DIMS},
                      float32 after scaling above), float64, float32
  --inversion M       covariance inversion algorithm: lu (default: onnxruntime's LU) or
                      cholesky (blocked Cholesky as batched MatMuls)
  --precision-storage S  what the model keeps for scoring: float32 (default: inverse
                      covariances), float16 or int8 (a triangular factor of them: 1/2 or 1/4
                      of the memory, scores within about 1e-4 or 1e-2 relative)${ALIGN_HELP}
  --false-alarm-rate R  the false-alarm budget the suggested threshold is set for, as a
                      fraction or a percentage (default ${DEFAULTS.falseAlarmRate * 100}%): read from every training image's
                      leave-one-out score and an exponential tail fitted to the highest
  --held-out N        training images (the last N) scored left out after the fit, by a second
                      backbone pass (default all); 0: no second pass, the last batch's images
                      held out together${KEEP_HELP}${RUNTIME_HELP}`,
  score: `Usage: padim score --model <model> <images or folders>... [options]

  --model FILE        model file
  --heatmaps DIR      write a PNG heatmap (original image size) per image into DIR: x.png
                      for x.png, keeping sub-folders (a/x.png, b/x.png) and the extension
                      where names would clash (x.png.png, x.jpg.png)
  --json              print one JSON object per line instead of a table; an image that
                      cannot be scored gives {"file", "error", "code"}
  Every image is scored; each one that fails is reported on its own line, and the exit
  code is 1 when any failed.
  --batch N           images per batch (default 8)
  --backbone FILE     use this backbone file instead of the path stored in the model
  --recursive         look for images in sub-folders too${SCORE_ALIGN_HELP}
  --roi FILE          regions (as for padim fit, in each image's pixels) for a model fitted
                      without them: the map is 0 outside and the score the maximum inside (the
                      head still computes every cell: fit with --roi for the smaller, faster model)${RUNTIME_HELP}`,
  update: `Usage: padim update --model <model> --train <dir|files>... [--out <model>] [options]

  Adds good images to a fitted model without refitting (the model must not be compact).
  --model FILE        model to update
  --train PATH        more good images (folder or files, repeatable)
  --out FILE          where to write the result (default: replace --model atomically)
  --batch N           images per batch (default ${DEFAULTS.batchSize})
  --recursive         look for images in sub-folders too${KEEP_HELP}${RUNTIME_HELP}`,
  eval: `Usage: padim eval --data <category dir> [--model <model> | fit options] [--json FILE] [--heatmaps DIR]

  Evaluates on a data set in the MVTec AD layout (train/good, test/<good|defect>,
  ground_truth/<defect>/<stem>_mask.png): image AUROC, pixel AUROC, AUPRO (FPR up to 0.3),
  F1-optimal thresholds, per-defect-type image AUROC and timings. Without --model it fits on
  train/good first, with the options of 'padim fit' (--backbone, --dims, --size, ...).
  --json FILE         also write the report as JSON
  --heatmaps DIR      write a heatmap per test image${ALIGN_HELP}
                      (with --model: the model's alignment, or off / translate; --roi
                      then applies at scoring, as for padim score)${RUNTIME_HELP}`,
  bench: `Usage: padim bench [fit options] [--score-batch N] [--runs N] [--train N] [--data DIR] [--json FILE]

  Times decode + resize, backbone, distance head and upsample + blur, and the whole pipeline,
  as medians of --runs runs (default 5) after a warm-up, with the machine's floors measured
  in the same process (memory bandwidth from a large copy, MatMul rate from onnxruntime), and
  the fit's time and peak RSS. Uses generated images unless --data gives a folder.
  --score-batch N     images scored together (default 1)
  --train N           training images (default 32)
  --image WxH         size of the generated images (default 256x256 colour; other sizes are
                      grey strips): with the default --size auto, 1250x500 gives a 640x256
                      input, 2.5x the cells of 256x256; the report shows cells and model memory
  --json FILE         also write the report as JSON${RUNTIME_HELP}`,
  info: `Usage: padim info <model> [--json]

  Prints the model's header: backbone, layers, input protocol, dims, grid, training images,
  score distribution and suggested threshold.`,
  demo: `Usage: padim demo [--dir DIR] [--texture woven|brushed|grain|tiles] [options]

  Generates a synthetic inspection data set (textures with scratches, spots, missing pieces and
  colour changes), fits the built-in filter-bank backbone on its good images, scores the test
  images and prints image and pixel AUROC. Needs no downloads.
  --dir DIR           where to put the data, model and heatmaps (default ./padim-demo)
  --texture KIND      texture of the synthetic part (default woven)
  --backbone SPEC     backbone (default ${BUILTIN_FILTERBANK})${RUNTIME_HELP}`,
};

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

function runtimeOptions(v: ParsedValues, io: Io) {
  return {
    provider: choiceOption(v.provider as string | undefined, 'provider', PROVIDERS),
    strict: Boolean(v.strict),
    threads: intOption(v.threads as string | undefined, 'threads'),
    modelsDir: v['models-dir'] as string | undefined,
    maxPixels: intOption(v['max-pixels'] as string | undefined, 'max-pixels'),
    log: (m: string) => io.err(`padim: ${m}`),
  };
}

/** Warnings while listing images (a link that loops, skipped) go to stderr, not into the results. */
function warnTo(io: Io): (message: string) => void {
  return (m) => io.err(`padim: warning: ${m}`);
}

function progressHandler(reporter: ProgressReporter): (p: Progress) => void {
  const labels = { embed: 'embedding', invert: 'inverting', calibrate: 'calibrating' };
  return (p) => reporter.update(labels[p.phase], p.done, p.total);
}

function asStrings(v: unknown): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as string[]) : [v as string];
}

/** Options that choose how a model is fitted (padim fit and padim eval). */
const FIT_OPTIONS: Options = {
  backbone: { type: 'string' },
  layers: { type: 'string' },
  dims: { type: 'string' },
  reduction: { type: 'string' },
  size: { type: 'string' },
  crop: { type: 'string' },
  seed: { type: 'string' },
  eps: { type: 'string' },
  batch: { type: 'string' },
  compact: { type: 'boolean' },
  inverse: { type: 'string' },
  inversion: { type: 'string' },
  'precision-storage': { type: 'string' },
  shrinkage: { type: 'string' },
  'false-alarm-rate': { type: 'string' },
  'held-out': { type: 'string' },
  align: { type: 'string' },
  roi: { type: 'string' },
};

function alignOption(v: ParsedValues) {
  return choiceOption(v.align as string | undefined, 'align', ALIGN_MODES);
}

/** --false-alarm-rate: a percentage ("1%") or a fraction ("0.01"), between 0 and 1. */
function rateOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const percent = value.trim().endsWith('%');
  const n = Number(percent ? value.trim().slice(0, -1) : value) / (percent ? 100 : 1);
  if (!(n > 0 && n < 1))
    throw new UsageError(`--false-alarm-rate must be between 0 and 1 (or 0% and 100%), got '${value}'`);
  return n;
}

/** The stored threshold in false alarms, and the warning when too few images back it. */
function printThresholdStatement(h: ModelHeader, io: Io): void {
  if (!h.calibration)
    return io.out('false alarms unknown (a model saved before calibration scores were stored)');
  const t = describeThreshold(h.calibration, h.threshold);
  io.out(thresholdLine(t));
  if (t.warning) io.err(`padim: warning: ${t.warning}`);
}

function fitOptions(v: ParsedValues, io: Io, reporter: ProgressReporter): FitOptions {
  return {
    ...runtimeOptions(v, io),
    backbone: v.backbone as string | undefined,
    layers: layersOption(v.layers as string | undefined),
    dims: intOption(v.dims as string | undefined, 'dims'),
    reduction: choiceOption(v.reduction as string | undefined, 'reduction', [
      'random',
      'semi-orthogonal',
    ] as const),
    // --crop alone keeps the paper's shorter side 256
    size: v.crop
      ? parseSize((v.size as string | undefined) ?? '256', v.crop as string)
      : v.size
        ? parseSizeChoice(v.size as string)
        : undefined,
    seed: intOption(v.seed as string | undefined, 'seed', 0),
    eps: numberOption(v.eps as string | undefined, 'eps'),
    batchSize: intOption(v.batch as string | undefined, 'batch'),
    updatable: !v.compact,
    inversePrecision: choiceOption(v.inverse as string | undefined, 'inverse', [
      'auto',
      'float64',
      'float32',
    ] as const),
    inverseMethod: choiceOption(v.inversion as string | undefined, 'inversion', ['lu', 'cholesky'] as const),
    precisionStorage: choiceOption(
      v['precision-storage'] as string | undefined,
      'precision-storage',
      PRECISION_STORAGES,
    ),
    shrinkage: choiceOption(v.shrinkage as string | undefined, 'shrinkage', ['auto', 'off'] as const),
    falseAlarmRate: rateOption(v['false-alarm-rate'] as string | undefined),
    heldOutImages: intOption(v['held-out'] as string | undefined, 'held-out', 0),
    align: alignOption(v),
    roi: v.roi as string | undefined,
    onProgress: progressHandler(reporter),
  };
}

async function cmdFit(argv: string[], io: Io): Promise<void> {
  const { values: v } = parse(argv, {
    ...RUNTIME_OPTIONS,
    ...FIT_OPTIONS,
    train: { type: 'string', multiple: true },
    out: { type: 'string' },
    recursive: { type: 'boolean' },
    'keep-versions': { type: 'string' },
  });
  if (v.help) return io.out(HELP.fit);
  const out = required(v.out as string | undefined, 'out');
  const keep = keepOption(v);
  const trainArgs = asStrings(v.train);
  if (trainArgs.length === 0) throw new UsageError('--train is required');
  const images = resolveImageArgs(trainArgs, { recursive: Boolean(v.recursive), warn: warnTo(io) });
  const reporter = createProgress(process.stderr, Boolean(v.quiet));
  const opts = fitOptions(v, io, reporter);
  const t0 = performance.now();
  const model = await fitModel(images, opts);
  reporter.end();
  await saveModelVersion(out, model, { keep, log: warnTo(io) });
  const h = model.header;
  io.out(
    `fitted ${h.nTrain} images in ${((performance.now() - t0) / 1000).toFixed(1)} s: backbone ${h.backbone.id}, ` +
      `d=${h.embedding.dims} of ${h.embedding.totalChannels}, grid ${h.grid.width}x${h.grid.height}`,
  );
  io.out(
    `suggested threshold ${h.threshold.toFixed(3)} (training scores max ${h.trainScores.max.toFixed(3)})`,
  );
  printThresholdStatement(h, io);
  io.out(`input size ${describeSize(h.input.size)}${h.input.auto ? ' (auto)' : ''}`);
  io.out(`model written to ${out}`);
}

async function cmdScore(argv: string[], io: Io): Promise<number | void> {
  const { values: v, positionals } = parse(
    argv,
    {
      ...RUNTIME_OPTIONS,
      model: { type: 'string' },
      heatmaps: { type: 'string' },
      json: { type: 'boolean' },
      batch: { type: 'string' },
      backbone: { type: 'string' },
      recursive: { type: 'boolean' },
      align: { type: 'string' },
      roi: { type: 'string' },
    },
    true,
  );
  if (v.help) return io.out(HELP.score);
  const modelPath = required(v.model as string | undefined, 'model');
  if (positionals.length === 0) throw new UsageError('give the images (files or folders) to score');
  const images = resolveImageArgs(positionals, { recursive: Boolean(v.recursive), warn: warnTo(io) });
  const model = await loadModel(modelPath);
  const scorer = await Scorer.open(model, {
    ...runtimeOptions(v, io),
    backbonePath: v.backbone as string | undefined,
    batchSize: intOption(v.batch as string | undefined, 'batch'),
    align: alignOption(v),
    roi: v.roi as string | undefined,
  });
  const heatmaps = v.heatmaps as string | undefined;
  const names = heatmaps ? heatmapNames(images) : [];
  const reporter = createProgress(process.stderr, Boolean(v.quiet) || Boolean(v.json));
  const json = Boolean(v.json);
  let outcome: { scored: number; failed: number };
  try {
    if (!json) io.out(`${'image'.padEnd(40)} ${'score'.padStart(9)}  verdict  ms`);
    const fail = (file: string, err: Error) => {
      const code = (err as { code?: unknown }).code;
      if (json) io.out(JSON.stringify({ file, error: err.message, ...(code ? { code } : {}) }));
      else io.err(`padim score: ${file}: ${err.message}`);
    };
    outcome = await scorer.scoreEach(images, {
      onResult: async (r, i) => {
        const file = images[i];
        // the heatmap first: a heatmap that cannot be written is this image's failure
        const heatmap = heatmaps ? path.join(heatmaps, names[i]) : undefined;
        if (heatmap) {
          await fs.promises.mkdir(path.dirname(heatmap), { recursive: true });
          await writeHeatmapFile(file, r, heatmap);
        }
        printScore(io, json, file, r, heatmap);
        reporter.update('scoring', i + 1, images.length);
      },
      onError: (err, i) => {
        fail(images[i], err);
        reporter.update('scoring', i + 1, images.length);
      },
    });
    reporter.end();
  } finally {
    await scorer.dispose();
  }
  if (outcome.failed === 0) return 0;
  io.err(`padim score: ${outcome.failed} of ${images.length} images could not be scored`);
  return 1;
}

function printScore(io: Io, json: boolean, file: string, r: ScoreResult, heatmap?: string): void {
  if (json) {
    const { score, normalizedScore, threshold, timings, alignment, regions, warnings } = r;
    io.out(
      JSON.stringify({
        file,
        score,
        normalizedScore,
        threshold,
        ng: score > threshold,
        timings,
        alignment,
        regions,
        warnings,
        ...(heatmap ? { heatmap } : {}),
      }),
    );
  } else {
    const verdict = r.score > r.threshold ? 'NG' : 'OK';
    io.out(
      `${path.basename(file).padEnd(40)} ${r.score.toFixed(3).padStart(9)}  ${verdict.padEnd(7)}  ${r.timings.totalMs.toFixed(0)}`,
    );
  }
}

async function cmdUpdate(argv: string[], io: Io): Promise<void> {
  const { values: v } = parse(argv, {
    ...RUNTIME_OPTIONS,
    model: { type: 'string' },
    train: { type: 'string', multiple: true },
    out: { type: 'string' },
    batch: { type: 'string' },
    recursive: { type: 'boolean' },
    'keep-versions': { type: 'string' },
  });
  if (v.help) return io.out(HELP.update);
  const modelPath = required(v.model as string | undefined, 'model');
  const keep = keepOption(v);
  const trainArgs = asStrings(v.train);
  if (trainArgs.length === 0) throw new UsageError('--train is required');
  const images = resolveImageArgs(trainArgs, { recursive: Boolean(v.recursive), warn: warnTo(io) });
  const model = await loadModel(modelPath);
  const reporter = createProgress(process.stderr, Boolean(v.quiet));
  const updated = await updateModel(model, images, {
    ...runtimeOptions(v, io),
    batchSize: intOption(v.batch as string | undefined, 'batch'),
    onProgress: progressHandler(reporter),
  });
  reporter.end();
  const out = (v.out as string | undefined) ?? modelPath;
  await saveModelVersion(out, updated, { keep, log: warnTo(io) });
  io.out(
    `model now has ${updated.header.nTrain} training images (added ${images.length}); written to ${out}`,
  );
}

async function cmdInfo(argv: string[], io: Io): Promise<void> {
  const { values: v, positionals } = parse(
    argv,
    { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (v.help) return io.out(HELP.info);
  if (positionals.length !== 1) throw new UsageError('give one model file');
  const h = await readModelHeader(positionals[0]);
  if (v.json) return io.out(JSON.stringify(h, null, 2));
  const auto = h.input.auto;
  io.out(`model       ${positionals[0]} (${(h.fileBytes / 1e6).toFixed(1)} MB, format ${h.formatVersion})`);
  io.out(
    `backbone    ${h.backbone.id}  layers ${h.backbone.layers.join(', ')}  sha256 ${h.backbone.sha256.slice(0, 16)}…`,
  );
  io.out(
    `input       ${describeSize(h.input.size)}${auto ? ` (auto: short side ${auto.short}, aspect ${auto.aspect.toFixed(3)})` : ''}`,
  );
  if (h.shrinkage)
    io.out(
      `shrinkage   ${h.shrinkage.method}, mean intensity ${h.shrinkage.meanIntensity.toFixed(3)} (few training images)`,
    );
  io.out(
    `embedding   d=${h.embedding.dims} of D=${h.embedding.totalChannels} (${h.embedding.reduction.kind}), grid ${h.grid.width}x${h.grid.height}, eps ${h.eps}`,
  );
  if (h.precisionStorage)
    io.out(`precision   ${h.precisionStorage} triangular factor (compact model: --precision-storage)`);
  io.out(
    `training    ${h.nTrain} images, created ${h.createdAt}${h.updatedAt ? `, updated ${h.updatedAt}` : ''}`,
  );
  const s = h.trainScores;
  io.out(
    `scores      min ${s.min.toFixed(3)} mean ${s.mean.toFixed(3)} p95 ${s.p95.toFixed(3)} max ${s.max.toFixed(3)} (n=${s.count})`,
  );
  io.out(`threshold   ${h.threshold.toFixed(3)}`);
  printThresholdStatement(h, io);
}

function printReport(r: EvaluationReport, io: Io): void {
  const f = (x: number) => x.toFixed(3);
  io.out(
    `model       ${r.model.backbone} [${r.model.layers.join(', ')}] d=${r.model.dims}/${r.model.totalChannels} (${r.model.reduction}), ${r.model.size}`,
  );
  io.out(
    `images      train ${r.counts.train}, test good ${r.counts.testGood}, test defective ${r.counts.testDefect}`,
  );
  io.out(`image AUROC ${f(r.imageAUROC)}   pixel AUROC ${f(r.pixelAUROC)}   AUPRO ${f(r.AUPRO)}`);
  io.out(
    `F1-optimal  image threshold ${r.imageThresholdF1.threshold.toFixed(3)} (F1 ${f(r.imageThresholdF1.f1)}), pixel threshold ${r.pixelThresholdF1.threshold.toFixed(3)} (F1 ${f(r.pixelThresholdF1.f1)})`,
  );
  const caught = (points: RatePoint[]) =>
    points.map((p) => `${formatRate(p.caught)} at ${formatRate(p.rate)}`).join(', ');
  const m = r.atModelThreshold;
  io.out(`caught      ${caught(r.atFalseAlarmRate)} false alarms (test set)`);
  io.out(
    `model threshold ${m.threshold.toFixed(3)}: false alarms ${m.falseAlarms} (${formatRate(m.falseAlarmRate)}` +
      `${m.expectedFalseAlarmRate !== undefined ? `, expected ${formatRate(m.expectedFalseAlarmRate)}` : ''}), ` +
      `defects caught ${m.defectsCaught} (${formatRate(m.caught)})`,
  );
  for (const [type, t] of Object.entries(r.perDefectType)) {
    io.out(
      `  ${type.padEnd(20)} ${String(t.count).padStart(4)} images  image AUROC ${f(t.imageAUROC)}  caught ${caught(t.atFalseAlarmRate)}, ` +
        `${formatRate(t.atModelThreshold.caught)} at the model threshold`,
    );
  }
  const fit = r.timings.fitMs !== undefined ? `fit ${(r.timings.fitMs / 1000).toFixed(1)} s, ` : '';
  io.out(
    `timings     ${fit}score ${r.timings.scoreMsPerImage.toFixed(1)} ms/image (backbone ${r.timings.backboneMsPerImage.toFixed(1)}, distance ${r.timings.distanceMsPerImage.toFixed(1)})`,
  );
}

async function cmdEval(argv: string[], io: Io): Promise<void> {
  const { values: v } = parse(argv, {
    ...RUNTIME_OPTIONS,
    ...FIT_OPTIONS,
    data: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'string' },
    heatmaps: { type: 'string' },
  });
  if (v.help) return io.out(HELP.eval);
  const data = readCategory(required(v.data as string | undefined, 'data'));
  const reporter = createProgress(process.stderr, Boolean(v.quiet));
  let fitMs: number | undefined;
  let model;
  if (v.model) {
    model = await loadModel(v.model as string);
  } else {
    const t0 = performance.now();
    model = await fitModel(data.train, fitOptions(v, io, reporter));
    fitMs = performance.now() - t0;
    reporter.end();
  }
  const heatmaps = v.heatmaps as string | undefined;
  if (heatmaps) fs.mkdirSync(heatmaps, { recursive: true });
  const scorer = await Scorer.open(model, {
    ...runtimeOptions(v, io),
    batchSize: intOption(v.batch as string | undefined, 'batch'),
    // with --model, --align overrides the model's alignment; a fit here stores it (and --roi)
    align: v.model ? alignOption(v) : undefined,
    roi: v.model ? (v.roi as string | undefined) : undefined,
  });
  let report: EvaluationReport;
  try {
    report = await evaluate(scorer, data, {
      fitMs,
      onProgress: (done, total) => reporter.update('scoring', done, total),
      onResult: heatmaps
        ? (r, t) =>
            writeHeatmapFile(t.file, r, path.join(heatmaps, `${t.label}_${path.parse(t.file).name}.png`))
        : undefined,
    });
  } finally {
    await scorer.dispose();
  }
  reporter.end();
  printReport(report, io);
  if (v.json) await writeFileAtomic(v.json as string, JSON.stringify(report, null, 2) + '\n');
}

async function cmdBench(argv: string[], io: Io): Promise<void> {
  const { values: v } = parse(argv, {
    ...RUNTIME_OPTIONS,
    ...FIT_OPTIONS,
    runs: { type: 'string' },
    'score-batch': { type: 'string' },
    train: { type: 'string' },
    data: { type: 'string' },
    image: { type: 'string' },
    json: { type: 'string' },
  });
  if (v.help) return io.out(HELP.bench);
  const image = v.image ? parseSize(v.image as string) : undefined;
  const reporter = createProgress(process.stderr, true);
  const report = await runBench({
    ...fitOptions(v, io, reporter),
    runs: intOption(v.runs as string | undefined, 'runs'),
    scoreBatch: intOption(v['score-batch'] as string | undefined, 'score-batch'),
    trainImages: intOption(v.train as string | undefined, 'train', 2),
    data: v.data as string | undefined,
    imageSize: image && { width: image.width, height: image.height },
    onLine: io.out,
  });
  for (const line of formatBench(report)) io.out(line);
  if (v.json) await writeFileAtomic(v.json as string, JSON.stringify(report, null, 2) + '\n');
}

/** A command returns its exit code when it is not 0 (some images failed, the rest were done). */
const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number | void>> = {
  bench: cmdBench,
  eval: cmdEval,
  fit: cmdFit,
  score: cmdScore,
  update: cmdUpdate,
  info: cmdInfo,
  models: (argv, io) => (argv.length === 0 ? Promise.resolve(io.out(MODELS_HELP)) : cmdModels(argv, io)),
  demo: (argv, io) => runDemo(argv, io, HELP.demo, RUNTIME_OPTIONS, runtimeOptions),
  archive: (argv, io) => (argv.length === 0 ? Promise.resolve(io.out(ARCHIVE_HELP)) : cmdArchive(argv, io)),
};

/** Runs the command line; returns the process exit code. */
export async function main(
  argv: string[],
  io: Io = { out: console.log, err: console.error },
): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP.main);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.err(`padim: unknown command '${command}'\n\n${HELP.main}`);
    return 2;
  }
  try {
    return (await run(rest, io)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`padim ${command}: ${err.message}\nRun 'padim ${command} --help' for usage.`);
      return 2;
    }
    io.err(`padim ${command}: error: ${(err as Error).message ?? String(err)}`);
    if (process.env.PADIM_DEBUG) io.err((err as Error).stack ?? '');
    return 1;
  }
}
