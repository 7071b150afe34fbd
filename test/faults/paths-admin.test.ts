/**
 * Paths and the admin API: with padimAllowedPaths set, every path a node takes from a message or
 * the editor is refused outside the allowed directories (`..` and symbolic links resolved), and
 * the admin endpoint needs Node-RED's permission and checks its parameters, in a real Node-RED
 * with adminAuth.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, tempDir } from '../helpers';
import { ALL_NODES, SMALL_MODEL, collect, helper, waitFor } from '../nodes/fixtures';
import { CATCH_NODES, faultModel } from './fault-kit';

type Msg = Record<string, unknown>;
const ROOT = path.resolve(__dirname, '../../..');
const OUTSIDE = /outside the directories allowed by padimAllowedPaths/;

describe('faults: paths outside padimAllowedPaths', function () {
  // root/allowed/{model.padim, good.png, images/{a.png, out.png -> root/secret/s.png}, up -> root/secret}
  let root: string;
  let allowed: string;
  let secret: string;
  let goodFile: string;

  before(async () => {
    const { modelPath, good } = await faultModel();
    root = fs.realpathSync(tempDir('padim-allow-'));
    allowed = path.join(root, 'allowed');
    secret = path.join(root, 'secret');
    fs.mkdirSync(path.join(allowed, 'images'), { recursive: true });
    fs.mkdirSync(secret);
    fs.copyFileSync(modelPath, path.join(allowed, 'model.padim'));
    fs.copyFileSync(modelPath, path.join(secret, 'model.padim'));
    goodFile = path.join(allowed, 'good.png');
    fs.writeFileSync(goodFile, good);
    fs.writeFileSync(path.join(allowed, 'images', 'a.png'), good);
    fs.writeFileSync(path.join(secret, 's.png'), good);
    fs.symlinkSync(path.join(secret, 's.png'), path.join(allowed, 'images', 'out.png'));
    fs.symlinkSync(secret, path.join(allowed, 'up'));
    helper.settings({ padimAllowedPaths: [allowed] });
  });
  afterEach(() => helper.unload());
  after(() => {
    helper.settings({ padimAllowedPaths: undefined });
    fs.rmSync(root, { recursive: true, force: true });
  });

  const flow = (modelFile = path.join(allowed, 'model.padim')) => [
    { id: 'm1', type: 'padim-model', path: modelFile, ...SMALL_MODEL },
    { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']] },
    { id: 'f1', type: 'padim-fit', model: 'm1', source: 'folder', wires: [['out']] },
    { id: 'h1', type: 'padim-heatmap', preview: false, wires: [['out']] },
    { id: 'src', type: 'padim-image-source', start: 'input', wires: [['out']] },
    { id: 'out', type: 'helper' },
    ...CATCH_NODES,
  ];

  async function errorOf(node: string, msg: Msg): Promise<string> {
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode(node).receive(msg);
    return ((await caught)[0].error as { message: string }).message;
  }

  it('image paths in messages: inside is read; outside, via .. or via a link, is refused', async () => {
    await helper.load(ALL_NODES, flow());
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('s1').receive({ payload: goodFile });
    assert.equal(typeof ((await out)[0].payload as { score: number }).score, 'number');
    for (const p of [
      path.join(secret, 's.png'),
      path.join(allowed, '..', 'secret', 's.png'),
      path.join(allowed, 'images', 'out.png'),
      path.join(allowed, 'up', 's.png'),
    ]) {
      assert.match(await errorOf('s1', { payload: p }), OUTSIDE, `score ${p}`);
      assert.match(await errorOf('src', { payload: p }), OUTSIDE, `image source ${p}`);
      assert.match(
        await errorOf('h1', { filename: p, anomalyMap: { data: [1, 2, 3, 4], width: 2, height: 2 } }),
        OUTSIDE,
      );
    }
  });

  it('folders from messages and the editor: fit and image source refuse outside ones', async () => {
    await helper.load(ALL_NODES, flow());
    assert.match(await errorOf('f1', { topic: 'fit', folder: secret }), OUTSIDE);
    assert.match(await errorOf('f1', { topic: 'fit', folder: path.join(allowed, 'up') }), OUTSIDE);
    assert.match(await errorOf('src', { folder: path.join(allowed, '..', 'secret') }), OUTSIDE);
    // a folder inside: its files are sent, except a link pointing out of it, reported on its own
    const sent = collect(helper.getNode('out'), 1);
    const refused = errorOf('src', { folder: path.join(allowed, 'images') });
    assert.match(await refused, OUTSIDE);
    assert.equal(path.basename((await sent)[0].filename as string), 'a.png');
  });

  it('a model file outside: the configuration is refused and says why', async () => {
    await helper.load(ALL_NODES, flow(path.join(secret, 'model.padim')));
    assert.match(await errorOf('s1', { payload: goodFile }), /model file .* outside the directories allowed/);
    assert.match(await errorOf('f1', { topic: 'fit' }), OUTSIDE);
  });

  it('a setting that is not a list of directories stops the nodes that use paths, with a message', async () => {
    helper.settings({ padimAllowedPaths: 42 });
    try {
      await helper.load(ALL_NODES, flow());
      assert.match(
        await errorOf('s1', { payload: goodFile }),
        /padimAllowedPaths must be a list of directories/,
      );
    } finally {
      helper.settings({ padimAllowedPaths: [allowed] });
    }
  });
});

describe('faults: no padimAllowedPaths', function () {
  afterEach(() => helper.unload());

  it('every path is allowed, and the log says once that no allow-list is set', async () => {
    const { modelPath, data } = await faultModel();
    const anywhere = path.join(data.train, fs.readdirSync(data.train)[0]);
    helper.settings({ padimAllowedPaths: undefined });
    await helper.load(ALL_NODES, [
      { id: 'm1', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      { id: 'm2', type: 'padim-model', path: modelPath, ...SMALL_MODEL },
      { id: 's1', type: 'padim-score', model: 'm1', wires: [['out']] },
      { id: 'src', type: 'padim-image-source', start: 'input', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('s1').receive({ payload: anywhere });
    assert.equal((await out)[0].filename, anywhere, 'an image outside any list is read');
    const log = (helper as unknown as { log(): { args: { msg?: unknown }[][] } }).log();
    const warnings = log.args.filter((a) => String(a[0]?.msg).includes('warnings.noAllowList'));
    assert.equal(warnings.length, 1, 'one warning for the runtime, not one per node');
  });
});

describe('faults: the admin endpoint in a real Node-RED with adminAuth', function () {
  let child: ChildProcess | undefined;
  let base = '';
  let dir = '';
  let log = '';

  before(async function () {
    dir = tempDir('padim-admin-');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // the package installed into the user directory as `npm install <path>` leaves it
    const link = path.join(dir, 'node_modules', '@padim-inspect', 'node-red-padim');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(ROOT, link, 'dir');
    fs.writeFileSync(
      path.join(dir, 'flows.json'),
      JSON.stringify([
        { id: 'tab1', type: 'tab', label: 'admin test' },
        { id: 'h1', type: 'padim-heatmap', z: 'tab1', preview: false, wires: [[]] },
      ]),
    );
    // tokens: a user with every permission, and one who may only read
    fs.writeFileSync(
      path.join(dir, 'settings.js'),
      `module.exports = {
  uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false,
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  logging: { console: { level: 'info' } },
  adminAuth: {
    type: 'credentials',
    users: [],
    tokenHeader: 'x-test-token',
    tokens: (token) => Promise.resolve(
      token === 'writer' ? { username: 'writer', permissions: '*' } :
      token === 'reader' ? { username: 'reader', permissions: 'read' } : null),
  },
};\n`,
    );
    const redJs = require.resolve('node-red/red.js', { paths: [ROOT] });
    child = spawn(process.execPath, [redJs, '--userDir', dir, '--settings', path.join(dir, 'settings.js')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_RED_ENABLE_PROJECTS: 'false' },
    });
    child.stdout?.on('data', (d) => (log += d));
    child.stderr?.on('data', (d) => (log += d));
    let up = false;
    const poll = setInterval(() => {
      fetch(`${base}/settings`)
        .then((r) => (up = r.status === 401 || r.ok))
        .catch(() => undefined);
    }, 200);
    try {
      await waitFor(() => up || child?.exitCode !== null, 60_000, 'Node-RED to start');
    } finally {
      clearInterval(poll);
    }
    assert.equal(child.exitCode, null, `Node-RED exited: ${log}`);
    // the flow with the heatmap node is running
    await waitFor(() => /Started flows/.test(log), 30_000, `the flows to start (${log})`);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (url: string, token?: string) =>
    fetch(`${base}${url}`, { method: 'POST', headers: token ? { 'x-test-token': token } : {} }).then(
      (r) => r.status,
    );

  it('needs the permission: refused without a token and for a read-only user', async () => {
    assert.equal(await post('/padim-heatmap/h1/preview/enable'), 401);
    assert.equal(await post('/padim-heatmap/h1/preview/enable', 'reader'), 401);
    assert.equal(await post('/padim-heatmap/h1/preview/enable', 'someone'), 401);
    assert.equal(await post('/padim-heatmap/h1/preview/enable', 'writer'), 200, log);
  });

  it('checks its parameters: 400 for a bad state or id, 404 for an unknown node, never a crash', async () => {
    assert.equal(await post('/padim-heatmap/h1/preview/sideways', 'writer'), 400);
    assert.equal(await post(`/padim-heatmap/${'x'.repeat(65)}/preview/enable`, 'writer'), 400);
    assert.equal(await post('/padim-heatmap/a%20b%3B/preview/enable', 'writer'), 400);
    assert.equal(await post('/padim-heatmap/..%2F..%2Fetc/preview/enable', 'writer'), 400);
    assert.equal(await post('/padim-heatmap/0123456789abcdef/preview/disable', 'writer'), 404);
    assert.equal(await post('/padim-heatmap/h1/preview/disable', 'writer'), 200);
    assert.equal(child?.exitCode, null, 'Node-RED still running');
  });
});
