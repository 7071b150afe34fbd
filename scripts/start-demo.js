#!/usr/bin/env node
/**
 * `npm start`: Node-RED 4 with this package installed and a demo flow deployed, nothing to
 * download. It
 *   1. generates synthetic inspection images (good parts and four kinds of defects) into the
 *      work directory, once;
 *   2. installs this package into the work directory's node_modules (a link to this checkout,
 *      which is what `npm install <path>` in ~/.node-red does);
 *   3. writes a demo flow (examples 1 and 2: fit on the good images with the built-in
 *      filter-bank backbone, then inspect the test images with heatmaps, in a loop; and
 *      example 3: images copied into padim-demo/camera raise MQTT alarms);
 *   4. starts an embedded MQTT broker (aedes, scripts/embedded-broker.js) on 127.0.0.1:1883
 *      when no broker is configured and none answers there;
 *   5. starts Node-RED (the `node-red` dev dependency's command line) and prints the editor URL.
 *
 * Options (or environment variables): --dir DIR (PADIM_DEMO_DIR, default .tmp/node-red-demo),
 * --port N (PADIM_DEMO_PORT, default 1880), --host H (PADIM_DEMO_HOST, default 127.0.0.1),
 * --mqtt URL (PADIM_DEMO_MQTT, e.g. mqtt://broker.plant:1883: use that broker, start none),
 * --reset (write the demo flow again, replacing edits made in the editor),
 * --dashboard (PADIM_DEMO_DASHBOARD=1: examples 1 and 8 instead, the line dashboard on
 * FlowFuse Dashboard 2 at /dashboard/line; Dashboard 2 is taken from this checkout's
 * node_modules, where `npm install` puts it as a dev dependency).
 */
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const PACKAGE = require(path.join(ROOT, 'package.json'));

function option(name, envName, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && process.argv[i + 1]) return process.argv[i + 1];
  return process.env[envName] || fallback;
}

const workDir = path.resolve(option('dir', 'PADIM_DEMO_DIR', path.join(ROOT, '.tmp', 'node-red-demo')));
const port = Number(option('port', 'PADIM_DEMO_PORT', '1880'));
const host = option('host', 'PADIM_DEMO_HOST', '127.0.0.1');
const reset = process.argv.includes('--reset');
const mqttUrl = option('mqtt', 'PADIM_DEMO_MQTT', '');
const dashboard = process.argv.includes('--dashboard') || process.env.PADIM_DEMO_DASHBOARD === '1';
const DASHBOARD = '@flowfuse/node-red-dashboard';

function fail(message) {
  console.error(`start-demo: ${message}`);
  process.exit(1);
}

/** The package is used as built: dist/ must exist (npm install runs the build). */
function checkBuilt() {
  for (const file of Object.values(PACKAGE['node-red'].nodes)) {
    if (!fs.existsSync(path.join(ROOT, file))) fail(`${file} is missing: run \`npm run build\` first`);
  }
}

async function generateImages(dataDir) {
  if (fs.existsSync(path.join(dataDir, 'train', 'good'))) return false;
  const { writeSyntheticDataset } = require(path.join(ROOT, 'dist', 'src', 'synthetic'));
  await writeSyntheticDataset(dataDir, { texture: 'woven', seed: 1 });
  return true;
}

/** userDir/node_modules/<name> -> `target`, as `npm install <path>` would leave it. */
function linkModule(userDir, name, target) {
  const link = path.join(userDir, 'node_modules', ...name.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(target, link, process.platform === 'win32' ? 'junction' : 'dir');
  const pkgFile = path.join(userDir, 'package.json');
  const userPkg = fs.existsSync(pkgFile)
    ? JSON.parse(fs.readFileSync(pkgFile, 'utf8'))
    : { name: 'node-red-project', description: 'padim demo', version: '0.0.1', private: true };
  userPkg.dependencies = { ...userPkg.dependencies, [name]: `file:${target}` };
  fs.writeFileSync(pkgFile, JSON.stringify(userPkg, null, 2) + '\n');
}

function installPackage(userDir) {
  linkModule(userDir, PACKAGE.name, ROOT);
}

/** Dashboard 2 from this checkout's node_modules (a dev dependency), linked into the user directory. */
function installDashboard(userDir) {
  let dir;
  try {
    dir = path.dirname(require.resolve(`${DASHBOARD}/package.json`, { paths: [ROOT] }));
  } catch {
    fail(`--dashboard needs ${DASHBOARD}: run \`npm install\` in ${ROOT} (it is a dev dependency)`);
  }
  linkModule(userDir, DASHBOARD, dir);
}

/**
 * The broker the MQTT example uses: --mqtt when given; else one already answering on
 * 127.0.0.1:1883; else an embedded one started here.
 */
async function mqttBroker() {
  if (mqttUrl) {
    const url = new URL(mqttUrl);
    return { host: url.hostname, port: Number(url.port || 1883), what: `broker ${mqttUrl}` };
  }
  const { isListening, startEmbeddedBroker } = require('./embedded-broker');
  if (await isListening('127.0.0.1', 1883))
    return { host: '127.0.0.1', port: 1883, what: 'the broker on 127.0.0.1:1883' };
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 1883 });
  // aedes speaks MQTT 3.1.1: the alarms go without the MQTT 5 user properties
  return {
    host: broker.host,
    port: broker.port,
    protocolVersion: '4',
    what: `embedded broker (aedes, MQTT 3.1.1) on mqtt://127.0.0.1:${broker.port}`,
  };
}

/**
 * Examples 1, 2 and 3 as one flow: the fit's summary starts the inspection, which then loops
 * through the test images so the heatmap preview keeps changing; images copied into the camera
 * folder raise MQTT alarms. Ids get a `demo.` prefix so importing the examples from the editor
 * adds copies rather than clashing with these.
 */
function prefixIds(nodes) {
  const seen = new Set();
  const flow = [];
  const id = (v) => (typeof v === 'string' && v.startsWith('padim.') ? `demo.${v}` : v);
  for (const n of nodes) {
    if (seen.has(n.id)) continue; // the shared model configuration is in several files
    seen.add(n.id);
    const copy = { ...n, id: id(n.id) };
    // references to other nodes: tab, model, broker, and Dashboard 2's group, page, ui, theme
    for (const key of ['z', 'model', 'group', 'page', 'ui', 'theme'])
      if (copy[key]) copy[key] = id(copy[key]);
    if (copy.broker && copy.type !== 'mqtt-broker') copy.broker = id(copy.broker);
    if (Array.isArray(copy.scope)) copy.scope = copy.scope.map(id);
    if (copy.wires) copy.wires = copy.wires.map((out) => out.map(id));
    flow.push(copy);
  }
  return flow;
}

const readExample = (file) => JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8'));

/** Examples 1 and 8: the fit's summary starts the line dashboard's inspection loop. */
function dashboardFlow() {
  const flow = prefixIds([
    ...readExample('1-train-from-a-folder.json'),
    ...readExample('8-line-dashboard.json'),
  ]);
  const byId = (v) => flow.find((n) => n.id === `demo.${v}`);
  byId('padim.dash.start').once = false;
  byId('padim.train.fit').wires[0].push('demo.padim.dash.source');
  byId('padim.train.tab').label = 'demo: train';
  byId('padim.dash.tab').label = 'demo: line dashboard';
  return flow;
}

function demoFlow(broker) {
  const flow = prefixIds([
    ...readExample('1-train-from-a-folder.json'),
    ...readExample('2-inspect-a-folder-with-heatmaps.json'),
    ...readExample('3-inspect-and-raise-mqtt-alarms.json'),
  ]);
  const byId = (v) => flow.find((n) => n.id === `demo.${v}`);
  byId('padim.inspect.start').once = false; // inspection starts when the fit is done
  byId('padim.train.fit').wires[0].push('demo.padim.inspect.source');
  Object.assign(byId('padim.inspect.source'), { interval: 0.5, loop: true });
  byId('padim.train.tab').label = 'demo: train';
  byId('padim.inspect.tab').label = 'demo: inspect';
  byId('padim.mqtt.tab').label = 'demo: MQTT alarms';
  Object.assign(byId('padim.mqtt.broker'), {
    broker: broker.host,
    port: String(broker.port),
    ...(broker.protocolVersion ? { protocolVersion: broker.protocolVersion } : {}),
  });
  return flow;
}

function writeSettings(userDir) {
  const file = path.join(userDir, 'settings.js');
  const settings = {
    uiPort: port,
    uiHost: host,
    flowFile: 'flows.json',
    credentialSecret: false,
    // the demo is for looking at the nodes: no welcome tour, no telemetry question
    editorTheme: { tours: false, projects: { enabled: false } },
    telemetry: { enabled: false, updateNotification: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
  };
  fs.writeFileSync(
    file,
    `// written by scripts/start-demo.js\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`,
  );
  return file;
}

/** Resolves when the editor answers on its port. */
function waitForEditor(url, child) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = () => {
      if (child.exitCode !== null) return reject(new Error(`Node-RED exited with code ${child.exitCode}`));
      http
        .get(url, (res) => {
          res.resume();
          if (res.statusCode === 200) resolve();
          else setTimeout(poll, 300);
        })
        .on('error', () => {
          if (Date.now() > deadline) reject(new Error(`no answer from ${url} within a minute`));
          else setTimeout(poll, 300);
        });
    };
    poll();
  });
}

async function main() {
  checkBuilt();
  fs.mkdirSync(workDir, { recursive: true });
  const dataDir = path.join(workDir, 'padim-demo', 'data');
  console.log(`start-demo: work directory ${workDir}`);
  if (await generateImages(dataDir)) console.log(`start-demo: generated demo images in ${dataDir}`);
  installPackage(workDir);
  if (dashboard) installDashboard(workDir);
  fs.mkdirSync(path.join(workDir, 'padim-demo', 'camera'), { recursive: true });
  const broker = dashboard ? undefined : await mqttBroker();
  if (broker) console.log(`start-demo: MQTT alarms go to ${broker.what}`);
  const flowFile = path.join(workDir, 'flows.json');
  if (reset || !fs.existsSync(flowFile)) {
    fs.writeFileSync(
      flowFile,
      JSON.stringify(dashboard ? dashboardFlow() : demoFlow(broker), null, 2) + '\n',
    );
    console.log(
      `start-demo: wrote the demo flow (fit, then ${dashboard ? 'the line dashboard' : 'inspect with heatmaps'})`,
    );
  } else {
    console.log(
      'start-demo: keeping the flow saved in the work directory (--reset writes the demo flow again)',
    );
  }
  const settingsFile = writeSettings(workDir);
  const redJs = require.resolve('node-red/red.js', { paths: [ROOT] });
  const child = spawn(process.execPath, [redJs, '--userDir', workDir, '--settings', settingsFile], {
    stdio: 'inherit',
    env: { ...process.env, NODE_RED_ENABLE_PROJECTS: 'false' },
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const url = `http://${shownHost}:${port}/`;
  await waitForEditor(url, child);
  if (dashboard) {
    console.log(
      `\n  Node-RED editor: ${url}\n  Line dashboard: ${url}dashboard/line\n` +
        `  (the demo fits a model, then inspects the test images in a loop; Ctrl-C stops)\n`,
    );
    return;
  }
  console.log(
    `\n  Node-RED editor: ${url}\n  (the demo fits a model, then inspects the test images in a loop; Ctrl-C stops)\n` +
      `  MQTT alarms: copy images into ${path.join(workDir, 'padim-demo', 'camera')}; they are published on\n` +
      `  factory/line-A/station-1/inspection at ${broker.what}\n`,
  );
}

main().catch((err) => fail(err.message));
