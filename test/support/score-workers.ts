/**
 * Scale-out over a broker, as the scale-out test and benchmark run it: score workers are real
 * Node-RED processes (the `node-red` command line, a temporary user directory with this package
 * installed and example 6 as the flow), a camera side publishes images with an id, and a results
 * side counts what comes back per image id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { tempDir } from '../helpers';
import { readExample } from './example-flows';

const ROOT = path.resolve(__dirname, '../../..');
const PACKAGE_NAME = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string }
).name;

export const WORKER_EXAMPLE = '6-score-worker-behind-mqtt.json';
export const IMAGE_TOPIC = (camera: string) => `factory/line-A/${camera}/image`;
export const RESULTS_TOPIC = 'factory/+/+/result';
export const MODEL_TOPIC = 'factory/model';

export interface WorkerOptions {
  name: string;
  brokerPort: number;
  /** the shared model file */
  modelPath: string;
  /** padim-model settings for the model (size, dims, threads, backbone) */
  model: Record<string, string>;
}

/** What a worker publishes for each image (see example 6's "result message"). */
export interface WorkerResult {
  imageId: string;
  camera: string;
  worker: string;
  score: number;
  modelId: string;
}

export class ScoreWorker {
  private output = '';
  private constructor(
    readonly name: string,
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (b: Buffer) => (this.output = (this.output + b.toString()).slice(-8000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Starts Node-RED with example 6 and resolves once its flow is connected to the broker. */
  static async start(options: WorkerOptions): Promise<ScoreWorker> {
    const dir = tempDir(`padim-worker-${options.name}-`);
    // this package installed in the user directory, as `npm install <path>` leaves it
    const link = path.join(dir, 'node_modules', ...PACKAGE_NAME.split('/'));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(ROOT, link, 'dir');
    const flow = readExample(WORKER_EXAMPLE);
    for (const n of flow) {
      if (n.type === 'mqtt-broker')
        Object.assign(n, { broker: '127.0.0.1', port: String(options.brokerPort) });
      if (n.type === 'padim-model') Object.assign(n, options.model, { path: options.modelPath });
    }
    fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flow));
    const settings = {
      flowFile: 'flows.json',
      credentialSecret: false,
      // no editor and no HTTP nodes: a worker listens on no port
      httpAdminRoot: false,
      httpNodeRoot: false,
      telemetry: { enabled: false, updateNotification: false },
      logging: { console: { level: 'info', metrics: false, audit: false } },
    };
    const settingsFile = path.join(dir, 'settings.js');
    fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings)};\n`);
    const redJs = require.resolve('node-red/red.js', { paths: [ROOT] });
    const child = spawn(process.execPath, [redJs, '--userDir', dir, '--settings', settingsFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PADIM_WORKER: options.name, NODE_RED_ENABLE_PROJECTS: 'false' },
    });
    const worker = new ScoreWorker(options.name, dir, child);
    await worker.waitForLog(/Connected to broker/, 60_000);
    return worker;
  }

  private async waitForLog(pattern: RegExp, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!pattern.test(this.output)) {
      if (this.child.exitCode !== null)
        throw new Error(`worker ${this.name} exited (${this.child.exitCode}): ${this.output}`);
      if (Date.now() > end) throw new Error(`worker ${this.name} did not start in ${ms} ms: ${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get log(): string {
    return this.output;
  }

  /** Ends the worker: SIGTERM (Node-RED closes its flows), or SIGKILL (a crash: nothing closes). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.child.once('exit', () => resolve());
        this.child.kill(signal);
      });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The results side: every result, by image id, in arrival order. */
export class ResultCollector {
  readonly results: WorkerResult[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (_topic, payload) =>
      this.results.push(JSON.parse(payload.toString()) as WorkerResult),
    );
  }

  static async start(url: string): Promise<ResultCollector> {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      clientId: `padim-results-${process.pid}`,
    });
    await client.subscribeAsync(RESULTS_TOPIC, { qos: 1 });
    return new ResultCollector(client);
  }

  /** How many times each image id was scored. */
  counts(prefix = ''): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.results)
      if (r.imageId.startsWith(prefix)) counts.set(r.imageId, (counts.get(r.imageId) ?? 0) + 1);
    return counts;
  }

  /** Resolves when `n` results with the prefix are in, or nothing new came for `quietMs`. */
  async settle(prefix: string, n: number, quietMs: number, maxMs = 120_000): Promise<void> {
    const end = Date.now() + maxMs;
    let last = -1;
    let since = Date.now();
    for (;;) {
      const have = this.results.filter((r) => r.imageId.startsWith(prefix)).length;
      if (have >= n) return;
      if (have !== last) {
        last = have;
        since = Date.now();
      } else if (Date.now() - since > quietMs || Date.now() > end) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** The camera side: publishes images with an id (MQTT 5 user property), QoS 1. */
export class Cameras {
  private constructor(readonly client: MqttClient) {}

  static async start(url: string): Promise<Cameras> {
    return new Cameras(
      await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `padim-cameras-${process.pid}` }),
    );
  }

  publish(camera: string, imageId: string, image: Buffer): Promise<unknown> {
    return this.client.publishAsync(IMAGE_TOPIC(camera), image, {
      qos: 1,
      properties: { userProperties: { imageId } },
    });
  }

  /** Announces a model version to every worker (retained: a worker starting later gets it too). */
  announceModel(modelId: string): Promise<unknown> {
    return this.client.publishAsync(MODEL_TOPIC, JSON.stringify({ modelId }), { qos: 1, retain: true });
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
