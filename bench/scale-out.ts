/**
 * Scale-out throughput: images/s scored by 1, 2 and 3 score workers (Node-RED processes running
 * example 6) behind one Mosquitto, on this machine, and what that means for a plant.
 *
 *   npm run bench:scale-out -- [--workers 1,2,3] [--images 120] [--runs 3] [--size 256] [--dims 0]
 *                              [--cameras 50] [--rate 2] [--json bench/results/scale-out.json]
 *
 * Each run publishes all the images at once (QoS 1, four cameras' topics) and times from the
 * first publish to the last result; the figure is the median over the runs, after a warm-up.
 * Needs mosquitto (apt-get install mosquitto). Workers use one onnxruntime thread each.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readCategory } from '../src/eval/dataset';
import { median } from '../src/math/median';
import { fitModel } from '../src/padim/fit';
import { saveModel } from '../src/model/model-file';
import { writeSyntheticDataset } from '../src/synthetic';
import { Mosquitto, mosquittoPath } from '../test/support/mosquitto';
import { Cameras, ResultCollector, ScoreWorker } from '../test/support/score-workers';

const CAMERAS = ['cam-1', 'cam-2', 'cam-3', 'cam-4'];

interface Options {
  workers: number[];
  images: number;
  runs: number;
  size: number;
  /** channels kept per cell; 0: all the backbone's */
  dims: number;
  cameras: number;
  rate: number;
  json: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '1,2,3' },
      images: { type: 'string', default: '120' },
      runs: { type: 'string', default: '3' },
      size: { type: 'string', default: '256' },
      dims: { type: 'string', default: '0' },
      cameras: { type: 'string', default: '50' },
      rate: { type: 'string', default: '2' },
      json: { type: 'string', default: path.resolve(__dirname, '../../bench/results/scale-out.json') },
    },
  });
  return {
    workers: values.workers.split(',').map(Number),
    images: Number(values.images),
    runs: Number(values.runs),
    size: Number(values.size),
    dims: Number(values.dims),
    cameras: Number(values.cameras),
    rate: Number(values.rate),
    json: values.json,
  };
}

/** Publishes `n` images at once and resolves with the seconds until the last result. */
async function timedRun(
  cameras: Cameras,
  results: ResultCollector,
  images: Buffer[],
  prefix: string,
  n: number,
) {
  const start = process.hrtime.bigint();
  await Promise.all(
    [...Array(n).keys()].map((i) =>
      cameras.publish(CAMERAS[i % CAMERAS.length], `${prefix}-${i}`, images[i % images.length]),
    ),
  );
  await results.settle(`${prefix}-`, n, 30_000, 600_000);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const got = results.counts(`${prefix}-`).size;
  if (got < n) throw new Error(`run ${prefix}: only ${got} of ${n} images were scored`);
  return seconds;
}

async function main(): Promise<void> {
  const o = options();
  const exe = mosquittoPath();
  if (!exe) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-bench-scale-out-'));
  const broker = await Mosquitto.start(exe);
  try {
    console.log(`bench:scale-out: synthetic ${o.size}x${o.size} images, builtin:filterbank, fitting ...`);
    const data = path.join(dir, 'data');
    await writeSyntheticDataset(data, {
      texture: 'woven',
      width: o.size,
      seed: 3,
      trainCount: 20,
      testGoodCount: 4,
      testDefectCount: 2,
      defects: ['scratch', 'spot'],
    });
    const ds = readCategory(data);
    const model = await fitModel(ds.train, {
      size: { kind: 'resize', width: o.size, height: o.size },
      ...(o.dims > 0 ? { dims: o.dims } : {}),
      threads: 1,
    });
    const modelPath = path.join(dir, 'model.padim');
    await saveModel(modelPath, model);
    const dims = model.header.embedding.dims;
    const images = ds.test.map((t) => fs.readFileSync(t.file));
    const settings = {
      size: `${o.size}x${o.size}`,
      dims: o.dims > 0 ? String(o.dims) : '',
      threads: '1',
      backbone: 'builtin:filterbank',
    };

    const rows: { workers: number; runs: number[]; imagesPerSecond: number; ratioTo1: number }[] = [];
    for (const k of o.workers) {
      // every worker that started is stopped, even when another one (or the clients) failed to start
      const started = await Promise.allSettled(
        [...Array(k).keys()].map((i) =>
          ScoreWorker.start({ name: `w${i + 1}`, brokerPort: broker.port, modelPath, model: settings }),
        ),
      );
      const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      let cameras: Cameras | undefined;
      let results: ResultCollector | undefined;
      try {
        const failed = started.find((r) => r.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;
        cameras = await Cameras.start(broker.url);
        results = await ResultCollector.start(broker.url);
        await timedRun(cameras, results, images, `warm${k}`, 8 * k);
        const runs: number[] = [];
        for (let r = 0; r < o.runs; r++)
          runs.push(o.images / (await timedRun(cameras, results, images, `k${k}r${r}`, o.images)));
        const ips = median(runs);
        rows.push({
          workers: k,
          runs,
          imagesPerSecond: ips,
          ratioTo1: rows.length ? ips / rows[0].imagesPerSecond : 1,
        });
        console.log(
          `bench:scale-out: ${k} worker(s): ${ips.toFixed(1)} images/s (runs ${runs.map((x) => x.toFixed(1)).join(', ')})`,
        );
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
        await cameras?.close();
        await results?.close();
      }
    }

    const perWorker = Math.max(...rows.map((r) => r.imagesPerSecond / r.workers));
    const demand = o.cameras * o.rate;
    const plant = {
      cameras: o.cameras,
      imagesPerSecondPerCamera: o.rate,
      demandImagesPerSecond: demand,
      // the best per-worker rate measured here, one worker per core
      perWorkerImagesPerSecond: perWorker,
      workersNeeded: Math.ceil(demand / perWorker),
    };
    const report = {
      command: 'npm run bench:scale-out',
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? '',
        node: process.version,
        // 1, 5 and 15 minute load averages at the end: above the number of cores, others were running
        loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
      },
      note: 'ratios measured in the same run matter more than absolute rates; loadAverage is read at the end of the run, its own workers included',
      setup: {
        image: `${o.size}x${o.size} PNG (synthetic woven texture)`,
        backbone: 'builtin:filterbank',
        dims,
        threadsPerWorker: 1,
        imagesPerRun: o.images,
        runs: o.runs,
        broker: 'mosquitto, QoS 1, shared subscription $share/padim-workers/factory/+/+/image',
      },
      rows,
      plant,
    };
    fs.mkdirSync(path.dirname(o.json), { recursive: true });
    fs.writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
    console.log(
      `bench:scale-out: ${o.cameras} cameras x ${o.rate}/s = ${demand} images/s; ` +
        `${perWorker.toFixed(1)} images/s per worker -> ${plant.workersNeeded} workers; written to ${o.json}`,
    );
  } finally {
    await broker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(`bench:scale-out: ${err.message}`);
  process.exit(1);
});
