/**
 * Shared set-up for the Node-RED node tests: the test helper bound to the installed Node-RED
 * 4.x, a small generated data set (64x64 synthetic images, built-in filter-bank backbone, so
 * nothing is downloaded and fits take a fraction of a second), and waiting utilities.
 */
import type { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import helper from 'node-red-node-test-helper';
import { readCategory, type CategoryDataset } from '../../src/eval/dataset';
import { fitModel } from '../../src/padim/fit';
import type { PadimModel } from '../../src/model/model';
import { saveModel } from '../../src/model/model-file';
import { parseModelSettings } from '../../src/node-support/model-settings';
import { Scorer } from '../../src/padim/scorer';
import { writeSyntheticDataset } from '../../src/synthetic/synthetic';
import { tempDir } from '../helpers';
import modelNode from '../../nodes/padim-model';
import sourceNode from '../../nodes/padim-image-source';
import fitNode from '../../nodes/padim-fit';
import scoreNode from '../../nodes/padim-score';
import thresholdNode from '../../nodes/padim-threshold';
import heatmapNode from '../../nodes/padim-heatmap';
import archiveNode from '../../nodes/padim-archive';
import reviewNode from '../../nodes/padim-review';
import type { NodeAPI } from '../../nodes/lib/red';

helper.init(require.resolve('node-red'));

export { helper };

type Register = (RED: NodeAPI) => void;

/**
 * The test helper loads no catalogue: its RED._(key) answers the key and drops the
 * substitutions. The nodes put every value in a message as a substitution, so here the values
 * follow the key ('padim-fit.status.collected: 10') for the tests to see; a key of another node
 * set's catalogue ('namespace:key') is answered with itself, as a missing key is by Node-RED.
 */
function showingSubstitutions(register: Register): Register {
  const translate = (key: string, substitutions?: Record<string, unknown>) =>
    key.includes(':') || !substitutions || Object.keys(substitutions).length === 0
      ? key
      : `${key}: ${Object.values(substitutions).map(String).join(', ')}`;
  return (RED) =>
    register(
      new Proxy(RED, {
        get: (target, property, receiver) =>
          property === '_' ? translate : Reflect.get(target, property, receiver),
      }),
    );
}

export const ALL_NODES = [
  modelNode,
  sourceNode,
  fitNode,
  scoreNode,
  thresholdNode,
  heatmapNode,
  archiveNode,
  reviewNode,
].map(showingSubstitutions);

/** Small model settings for tests: 64x64 input, 16 channels per cell, one thread. */
export const SMALL_MODEL = { size: '64x64', dims: '16', threads: '1', backbone: 'builtin:filterbank' };

export interface TestData {
  root: string;
  /** the data set in MVTec AD layout */
  data: string;
  train: string;
  test: string;
}

let dataset: Promise<TestData> | undefined;

/** One generated data set for the whole run (removed at exit). */
export function testData(): Promise<TestData> {
  dataset ??= (async () => {
    const root = tempDir('padim-nodes-');
    process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
    const data = path.join(root, 'data');
    await writeSyntheticDataset(data, {
      texture: 'woven',
      width: 64,
      seed: 5,
      trainCount: 10,
      testGoodCount: 3,
      testDefectCount: 2,
      defects: ['scratch', 'spot'],
    });
    return { root, data, train: path.join(data, 'train', 'good'), test: path.join(data, 'test') };
  })();
  return dataset;
}

/**
 * Fits a model with SMALL_MODEL's settings (as a padim-model node with them would) on the test
 * data's training images (the first `trainImages`: fewer give another model, as a new version)
 * and saves it at `file`. Returns the data set, to find its test images.
 */
export async function fitSmallModel(
  file: string,
  trainImages?: number,
): Promise<{ model: PadimModel; dataset: CategoryDataset }> {
  const dataset = readCategory((await testData()).data);
  const { fit } = parseModelSettings({ ...SMALL_MODEL, path: file }, path.dirname(file));
  const model = await fitModel(dataset.train.slice(0, trainImages), fit);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await saveModel(file, model);
  return { model, dataset };
}

/** Resolves with the next `count` messages a helper node receives (rejects after `ms`). */
export function collect(node: EventEmitter, count: number, ms = 30_000): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const got: Record<string, unknown>[] = [];
    const timer = setTimeout(() => {
      node.removeListener('input', onInput);
      reject(new Error(`timed out waiting for ${count} messages, got ${got.length}`));
    }, ms);
    const onInput = (msg: Record<string, unknown>) => {
      got.push(msg);
      if (got.length >= count) {
        clearTimeout(timer);
        node.removeListener('input', onInput);
        resolve(got);
      }
    };
    node.on('input', onInput);
  });
}

/** Polls until `check` returns a value (not undefined/false), or rejects after `ms`. */
export async function waitFor<T>(
  check: () => T | undefined | false,
  ms = 30_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Records every status a node shows (the helper's nodes are real Node-RED nodes). */
export function recordStatus(node: {
  status: (s: object) => void;
}): { fill?: string; shape?: string; text?: string }[] {
  const seen: { fill?: string; shape?: string; text?: string }[] = [];
  const original = node.status.bind(node);
  node.status = (s: object) => {
    seen.push(s as { text?: string });
    original(s);
  };
  return seen;
}

/** The garbage collector, also when node was started without --expose-gc. */
export function garbageCollector(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Counts scoring sessions opened and disposed (the model registry opens them with Scorer.open). */
export function countSessions() {
  const open = Scorer.open;
  const dispose = Scorer.prototype.dispose;
  const counts = { opened: 0, disposed: 0 };
  Scorer.open = async (...args: Parameters<typeof Scorer.open>) => {
    const s = await open.apply(Scorer, args);
    counts.opened++;
    return s;
  };
  Scorer.prototype.dispose = async function (this: Scorer) {
    counts.disposed++;
    return dispose.call(this);
  };
  return {
    counts,
    restore: () => {
      Scorer.open = open;
      Scorer.prototype.dispose = dispose;
    },
  };
}
