/**
 * The Node-RED flow-library scorecard rules, checked on the files `npm pack` would publish
 * (`npx node-red-dev validate` cannot run here: it stops at its online catalogue look-up).
 * Run after `npm run build`: the packed node files are the built ones in dist/nodes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

interface PackageJson {
  name: string;
  license?: string;
  repository?: { type: string; url: string } | string;
  keywords?: string[];
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

describe('flow-library scorecard (on the packed file list)', function () {
  let files: Set<string>;
  let pkg: PackageJson;
  const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

  before(function () {
    this.timeout(60_000);
    // --ignore-scripts: list the files without running `prepare` (the build) again
    // with the system's npm: under `npm test`/`npx`, node_modules/.bin comes first on the
    // PATH, and there node-red's own npm 10, which runs `prepare` even with --ignore-scripts
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    env.PATH = (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((p) => !p.includes(`node_modules${path.sep}.bin`))
      .join(path.delimiter);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const packed = JSON.parse(out) as { files: { path: string }[] }[];
    files = new Set(packed[0].files.map((f) => f.path));
    pkg = JSON.parse(read('package.json')) as PackageJson;
  });

  it('has a licence, a repository, a scoped name and the node-red keyword', () => {
    assert.ok(pkg.license, 'license');
    assert.ok(files.has('LICENSE'), 'LICENSE file packed');
    const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    assert.match(repo ?? '', /^(git\+)?https:\/\/github\.com\/.+\/.+/);
    assert.match(pkg.name, /^@[a-z0-9-]+\/node-red-/);
    assert.ok(pkg.keywords?.includes('node-red'));
    assert.ok(files.has('README.md'));
  });

  it('states the Node-RED and Node.js versions it supports', () => {
    assert.match(pkg['node-red']?.version ?? '', /\d/);
    assert.match(pkg.engines?.node ?? '', /\d/);
  });

  it('has at most 6 runtime dependencies', () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    assert.ok(deps.length <= 6, `${deps.length}: ${deps.join(', ')}`);
  });

  it('every node file is packed with its .html, an inline literal registerType, help and messages', () => {
    const nodes = pkg['node-red']?.nodes ?? {};
    const types = Object.keys(nodes);
    assert.equal(types.length, 7);
    const registered = new Set<string>();
    for (const [type, js] of Object.entries(nodes)) {
      assert.ok(files.has(js), `${js} is packed`);
      const html = js.replace(/\.js$/, '.html');
      assert.ok(files.has(html), `${html} is packed`);
      const text = read(html);
      // the scorecard reads the type and the definition from a literal call
      const calls = [...text.matchAll(/RED\.nodes\.registerType\(\s*(['"])([\w-]+)\1\s*,\s*\{/g)].map(
        (m) => m[2],
      );
      assert.deepEqual(calls, [type], `${html} registers '${type}' with an object literal`);
      registered.add(type);
      assert.ok(new RegExp(`data-template-name="${type}"`).test(text), `${html} has an edit template`);
      const dir = path.posix.dirname(js);
      for (const lang of ['en-US', 'ja']) {
        assert.ok(files.has(`${dir}/locales/${lang}/${type}.html`), `${type} help in ${lang}`);
        assert.ok(files.has(`${dir}/locales/${lang}/${type}.json`), `${type} messages in ${lang}`);
      }
      const icon = /icon:\s*'([^']+)'/.exec(text)?.[1];
      if (icon) assert.ok(files.has(`${dir}/icons/${icon}`), `${type} icon ${icon} beside the node`);
    }
    assert.equal(registered.size, types.length, 'unique type names');
  });

  it('every node type appears in a packed example flow', () => {
    const examples = [...files].filter((f) => /^examples\/.+\.json$/.test(f));
    assert.ok(examples.length > 0);
    const used = new Set<string>();
    for (const f of examples) for (const n of JSON.parse(read(f)) as { type: string }[]) used.add(n.type);
    for (const type of Object.keys(pkg['node-red']?.nodes ?? {}))
      assert.ok(used.has(type), `${type} in an example`);
  });

  it('ships the alarm and result schemas the threshold node validates against', () => {
    assert.ok(files.has('schemas/alarm.schema.json'));
    assert.ok(files.has('schemas/result.schema.json'));
  });
});
