/**
 * A real Mosquitto broker for tests and benchmarks: its own process, its own generated config,
 * on a free port of 127.0.0.1, with persistence in a temporary folder so that a stop and a
 * start (the reconnect test) keep persistent sessions and their queued QoS-1 messages.
 *
 * Mosquitto comes from the Debian package (`.ci/run` installs it). Where it is missing, tests
 * skip with a message, except under CI=true, where a missing broker is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir } from '../helpers';

const CANDIDATES = [process.env.MOSQUITTO, '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', 'mosquitto'];

/** The mosquitto executable, or undefined when it is not installed. */
export function mosquittoPath(): string | undefined {
  for (const c of CANDIDATES) {
    if (!c) continue;
    const r = spawnSync(c, ['-h'], { encoding: 'utf8' });
    // `mosquitto -h` prints its version and exits with 3
    if (!r.error && /mosquitto version/i.test(`${r.stdout}${r.stderr}`)) return c;
  }
  return undefined;
}

/** Skips the suite with a visible reason when Mosquitto is missing; fails under CI. */
export function requireMosquitto(ctx: Mocha.Context): string {
  const exe = mosquittoPath();
  if (!exe) {
    if (process.env.CI === 'true') throw new Error('mosquitto is not installed (CI installs it: .ci/run)');
    console.log('      (skipped: needs the mosquitto broker: apt-get install mosquitto)');
    ctx.skip();
  }
  return exe as string;
}

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, child: ChildProcess, log: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port} within ${ms} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Mosquitto {
  private child?: ChildProcess;
  private output = '';
  readonly dir = tempDir('padim-mosquitto-');

  private constructor(
    readonly exe: string,
    readonly port: number,
  ) {
    fs.writeFileSync(
      path.join(this.dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        // started as root, mosquitto drops to the user `mosquitto`, which could not write the
        // persistence folder: stay the user who started it
        `user ${os.userInfo().username}`,
        'persistence true',
        `persistence_location ${this.dir}/`,
        // queue everything for persistent sessions while a client is away (the test counts losses)
        'max_queued_messages 0',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
  }

  /** Starts a broker on a free port (or `port`). */
  static async start(exe: string, port?: number): Promise<Mosquitto> {
    const broker = new Mosquitto(exe, port ?? (await freePort()));
    await broker.resume();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  /** Starts the broker process again on the same port, with the saved persistence. */
  async resume(): Promise<void> {
    if (this.running) return;
    const child = spawn(this.exe, ['-c', path.join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (b: Buffer) => (this.output = (this.output + b.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitForPort(this.port, child, () => this.output);
  }

  /** Stops the broker (SIGTERM: it saves its persistence first) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  /** Stops the broker and removes its folder. */
  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
