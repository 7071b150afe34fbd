/**
 * The editor in a real browser, for the tests that need one: the run command (`npm start`'s
 * scripts/start-demo.js) in a temporary directory, and headless Chromium (playwright-core
 * driving the Debian package's /usr/bin/chromium, or PADIM_CHROMIUM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readModelHeader } from '../../src/model/model-file';
import { freePort, tempDir } from '../helpers';

export const ROOT = path.resolve(__dirname, '../../..');
export const CHROMIUM = process.env.PADIM_CHROMIUM ?? '/usr/bin/chromium';
/** Where browser tests keep their screenshots. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

export interface Demo {
  child: ChildProcess;
  url: string;
  log: () => string;
}

/** Starts the run command (with `extraArgs`, e.g. --dashboard) and resolves with the editor URL it prints. */
export function startDemo(dir: string, port: number, extraArgs: string[] = []): Promise<Demo> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'scripts', 'start-demo.js'),
        '--dir',
        dir,
        '--port',
        String(port),
        '--reset',
        ...extraArgs,
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Node-RED editor: (http:\/\/\S+)/.exec(output);
      if (m) resolve({ child, url: m[1], log: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the run command exited (${code}):\n${output}`)));
  });
}

/** Stops the run command and waits for it to exit. */
export async function stopDemo(demo: Demo | undefined): Promise<void> {
  if (!demo || demo.child.exitCode !== null) return;
  const exited = new Promise((r) => demo.child.once('exit', r));
  demo.child.kill('SIGTERM');
  await exited;
}

/** True when Chromium is installed; else says so (the caller skips). */
export function haveChromium(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  console.log(
    `      (skipped: no Chromium at ${CHROMIUM}; install the Debian package 'chromium' to run this test)`,
  );
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A screenshot of the page into ARTIFACTS; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file });
  return file;
}

/** What a suite's tests use of the session editorSession starts for them. */
export interface EditorSession {
  /** the run command's directory (its demo data and model file are under it) */
  dir: string;
  demo: () => Demo;
  page: () => Page;
}

/**
 * Mocha hooks for one suite: before it, the run command in a new temporary directory and
 * Chromium with one 1600x900 page (the suite skips without Chromium); after it, all of it
 * stopped and removed. With `failureShot`, a screenshot of that name is kept when a test failed;
 * `extraArgs` go to the run command.
 */
export function editorSession(
  dirPrefix: string,
  failureShot?: string,
  extraArgs: string[] = [],
): EditorSession {
  const dir = tempDir(dirPrefix);
  let demo: Demo | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;

  before(async function () {
    if (!haveChromium()) this.skip();
    demo = await startDemo(dir, await freePort(), extraArgs);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  });

  after(async function () {
    // in an after hook, currentTest is the suite's last test
    if (page && failureShot && this.currentTest?.state === 'failed')
      await screenshot(page, failureShot).catch(() => {});
    await browser?.close();
    await stopDemo(demo);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  return { dir, demo: () => demo as Demo, page: () => page as Page };
}

/** The model file's header once the demo's fit has written it (with its held-out scores). */
export async function waitForModel(file: string) {
  const end = Date.now() + 120_000;
  for (;;) {
    try {
      const header = await readModelHeader(file);
      if (header.calibration) return header;
    } catch {
      // not written yet
    }
    if (Date.now() > end) throw new Error(`no model at ${file} within two minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
