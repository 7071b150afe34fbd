/**
 * Issue 14, offline install: `npm pack`, the tarball installed into a fresh Node-RED user
 * directory with no network (the only registry is a local one serving this checkout's installed
 * dependencies, test/support/local-registry.ts; outbound proxies point at a closed port), then
 * the real Node-RED from node_modules started on that directory loads every node of
 * package.json's node-red.nodes, as its admin API (GET /nodes) reports.
 *
 * The user directory is set up the way the README says: on npm >= 11.16 its package.json denies
 * onnxruntime-node's install script (`allowScripts`), on older npm ONNXRUNTIME_NODE_INSTALL=skip
 * is in the environment. Either way onnxruntime-node's CUDA files must not be fetched, and npm
 * must print no warning about unknown configs or unreviewed install scripts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, tempDir } from '../helpers';
import { waitFor } from '../nodes/fixtures';
import { startLocalRegistry, type LocalRegistry } from '../support/local-registry';

const ROOT = path.resolve(__dirname, '../../..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/**
 * The environment of a plain user: none of npm's own variables from a surrounding `npm test`,
 * and no node_modules/.bin on PATH (under `npm test` that would be the npm 10 that Node-RED's
 * registry depends on, not the user's npm).
 */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_|^ONNXRUNTIME_NODE_INSTALL/i.test(k) && !/proxy$/i.test(k)) env[k] = v;
  const PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((p) => !p.includes(`node_modules${path.sep}.bin`))
    .join(path.delimiter);
  return { ...env, PATH, ...extra };
}

/** npm's version as [major, minor]. */
function npmVersion(): [number, number] {
  const [major, minor] = execFileSync('npm', ['--version'], { encoding: 'utf8', env: cleanEnv({}) })
    .trim()
    .split('.')
    .map(Number);
  return [major, minor];
}

async function nodesOf(port: number): Promise<Record<string, unknown>[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { accept: 'application/json' } });
    return res.ok ? ((await res.json()) as Record<string, unknown>[]) : undefined;
  } catch {
    return undefined; // not listening yet
  }
}

describe('offline install: npm pack, a fresh user directory, a real Node-RED (issue 14)', function () {
  this.timeout(600_000);
  let work: string;
  let registry: LocalRegistry | undefined;
  let nodeRed: ChildProcess | undefined;

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist/nodes/padim-model.js'))) {
      console.log('      (skipped: needs the build: npm run build)');
      this.skip();
    }
    work = tempDir('padim-offline-');
  });
  after(async () => {
    nodeRed?.kill('SIGKILL');
    await registry?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('installs from the tarball with no network and Node-RED loads all the nodes', async () => {
    // 1. the tarball, as a release would make it (the build is already in dist/)
    const packOut = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      env: cleanEnv({ npm_config_ignore_scripts: 'true' }),
      encoding: 'utf8',
    });
    const tarball = path.join(work, (JSON.parse(packOut) as { filename: string }[])[0].filename);

    // 2. a fresh user directory, set up as the README says
    const userDir = path.join(work, 'node-red');
    fs.mkdirSync(userDir);
    const [major, minor] = npmVersion();
    const hasAllowScripts = major > 11 || (major === 11 && minor >= 16);
    fs.writeFileSync(
      path.join(userDir, 'package.json'),
      JSON.stringify({
        name: 'node-red-project',
        private: true,
        // the tarball is built: its `prepare` (which npm 11 lists for a tarball, keyed by its path) is not needed
        ...(hasAllowScripts
          ? { allowScripts: { 'onnxruntime-node': false, protobufjs: false, [`file:${tarball}`]: false } }
          : {}),
      }),
    );
    const userRc = path.join(work, 'user-npmrc');
    const globalRc = path.join(work, 'global-npmrc');
    fs.writeFileSync(userRc, '');
    fs.writeFileSync(globalRc, '');
    registry = await startLocalRegistry(ROOT, path.join(work, 'registry'));
    const dead = 'http://127.0.0.1:9'; // nothing listens: any download that bypasses the registry fails
    const install = spawnText(
      'npm',
      ['install', tarball, '--no-audit', '--no-fund', '--omit=dev', '--registry', registry.url],
      userDir,
      cleanEnv({
        npm_config_userconfig: userRc,
        npm_config_globalconfig: globalRc,
        npm_config_cache: path.join(work, 'npm-cache'),
        npm_config_update_notifier: 'false',
        HTTP_PROXY: dead,
        HTTPS_PROXY: dead,
        NO_PROXY: '127.0.0.1',
        ...(hasAllowScripts ? {} : { ONNXRUNTIME_NODE_INSTALL: 'skip' }),
      }),
    );
    const { code, output } = await install;
    assert.equal(code, 0, `npm install failed:\n${output}`);
    assert.doesNotMatch(output, /Unknown (project|user|env) config/);
    assert.doesNotMatch(output, /not yet covered by allowScripts/);
    const served = registry.requests.filter((r) => r.status === 200 && r.path.endsWith('.tgz'));
    assert.ok(
      served.length >= 4,
      `the dependencies came from the local registry (${served.length} tarballs)`,
    );
    const ortBin = path.join(
      userDir,
      'node_modules/onnxruntime-node/bin/napi-v6',
      process.platform,
      process.arch,
    );
    assert.deepEqual(
      fs.readdirSync(ortBin).filter((f) => /cuda|tensorrt/i.test(f)),
      [],
      'no CUDA files were fetched',
    );

    // 3. the real Node-RED on that user directory, on 127.0.0.1 only
    const port = await freePort();
    fs.writeFileSync(
      path.join(userDir, 'settings.js'),
      `module.exports = { uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false };\n`,
    );
    let log = '';
    nodeRed = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir], {
      cwd: userDir,
      env: cleanEnv({}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nodeRed.stdout?.on('data', (d) => (log += d));
    nodeRed.stderr?.on('data', (d) => (log += d));
    let sets: Record<string, unknown>[] | undefined;
    const poll = setInterval(() => void nodesOf(port).then((s) => (sets = s)), 250);
    try {
      await waitFor(
        () => {
          if (nodeRed?.exitCode !== null) throw new Error(`Node-RED exited:\n${log}`);
          return sets;
        },
        120_000,
        `Node-RED to answer GET /nodes on port ${port}`,
      );
    } finally {
      clearInterval(poll);
    }
    const ours = (sets ?? []).filter((s) => s.module === PKG.name);
    const expected = Object.keys(PKG['node-red'].nodes as Record<string, string>);
    assert.ok(expected.length >= 6);
    assert.deepEqual(ours.map((s) => s.name).sort(), [...expected].sort(), log);
    for (const set of ours) {
      assert.equal(set.err, undefined, `${String(set.name)}: ${String(set.err)}`);
      assert.equal(set.enabled, true);
      // `local`: found in the user directory's node_modules (not beside Node-RED)
      assert.equal(set.local, true, `${String(set.name)} was not loaded from the user directory:\n${log}`);
    }
    const types = ours.flatMap((s) => s.types as string[]);
    for (const t of expected) assert.ok(types.includes(t), `type ${t} registered`);
    // the installed copy is a real folder unpacked from the tarball, not a link to this checkout
    assert.equal(fs.lstatSync(path.join(userDir, 'node_modules', PKG.name)).isSymbolicLink(), false);
  });
});

/** Runs a command, resolving with its exit code and stdout+stderr. */
function spawnText(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}
