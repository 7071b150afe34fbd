/**
 * A real npm registry on 127.0.0.1 serving the packages already installed in this checkout's
 * node_modules, so an install can be tested with no network at all.
 *
 * Why not `npm install --offline` from the npm cache: a CI machine's cache may hold none of the
 * packages (the checkout may have been installed from a copied node_modules, as here), and
 * `npm cache add <tarball>` stores tarballs but not the metadata `--offline` resolves versions
 * from. A registry built from node_modules needs nothing beyond the checkout: each installed
 * package is packed again with `tar` (an npm tarball is a gzipped tar of `package/`) and served
 * with a packument that lists that one version, its integrity computed from the served bytes.
 * Packages that are not installed (other platforms' optional binaries) answer 404, which npm
 * treats as an optional dependency it cannot have.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

interface Packed {
  manifest: Record<string, unknown>;
  tarball: string;
  integrity: string;
  shasum: string;
}

export interface LocalRegistry {
  url: string;
  /** every path requested, in order, with the status answered */
  requests: { path: string; status: number }[];
  close(): Promise<void>;
}

type Deps = Record<string, string>;

/** Where Node would find package `name` required from `fromDir`, up to `root`. */
function findInstalled(name: string, fromDir: string, root: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name, 'package.json');
    if (fs.existsSync(candidate)) return path.dirname(candidate);
    if (dir === root || path.dirname(dir) === dir) return undefined;
  }
}

/** The installed package folders the dependencies of `root`'s package.json need (no devDependencies). */
export function installedClosure(root: string): string[] {
  const seen = new Set<string>();
  const visit = (pkgDir: string, deps: Deps) => {
    for (const name of Object.keys(deps)) {
      const dir = findInstalled(name, pkgDir, root);
      if (!dir || seen.has(dir)) continue;
      seen.add(dir);
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      visit(dir, { ...pkg.dependencies, ...pkg.optionalDependencies });
    }
  };
  const top = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  visit(root, { ...top.dependencies, ...top.optionalDependencies });
  return [...seen];
}

/** Packs an installed package folder (without its nested node_modules) into `outDir`. */
function pack(dir: string, outDir: string, base: string): Packed {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = path.join(outDir, `${String(manifest.name).replace('/', '__')}-${manifest.version}.tgz`);
  // gzip -1: onnxruntime-node is ~300 MB unpacked, and the ratio does not matter here
  execFileSync(
    'tar',
    [
      '-c',
      '-I',
      'gzip -1',
      '-f',
      file,
      '--exclude=./node_modules',
      '--transform',
      's,^\\.,package,',
      '-C',
      dir,
      '.',
    ],
    { stdio: 'ignore' },
  );
  const bytes = fs.readFileSync(file);
  return {
    manifest,
    tarball: `${base}/-/${path.basename(file)}`,
    integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    shasum: createHash('sha1').update(bytes).digest('hex'),
  };
}

/** Starts the registry with the production dependency closure of `root` (packed into `workDir`). */
export async function startLocalRegistry(root: string, workDir: string): Promise<LocalRegistry> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fs.mkdirSync(workDir, { recursive: true });
  const byName = new Map<string, Packed[]>();
  const byTarball = new Map<string, string>();
  for (const dir of installedClosure(root)) {
    const p = pack(dir, workDir, url);
    const name = String(p.manifest.name);
    byName.set(name, [...(byName.get(name) ?? []), p]);
    byTarball.set(new URL(p.tarball).pathname, path.join(workDir, path.basename(p.tarball)));
  }
  const requests: LocalRegistry['requests'] = [];
  server.on('request', (req, res) => {
    const reqPath = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const answer = (status: number, body: Buffer | string, type = 'application/json') => {
      requests.push({ path: reqPath, status });
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const tarball = byTarball.get(reqPath);
    if (tarball) return answer(200, fs.readFileSync(tarball), 'application/octet-stream');
    const versions = byName.get(reqPath.slice(1));
    if (!versions) return answer(404, JSON.stringify({ error: 'not found' }));
    const packument = {
      name: reqPath.slice(1),
      'dist-tags': { latest: versions[versions.length - 1].manifest.version },
      versions: Object.fromEntries(
        versions.map((v) => [
          v.manifest.version,
          { ...v.manifest, dist: { tarball: v.tarball, integrity: v.integrity, shasum: v.shasum } },
        ]),
      ),
    };
    answer(200, JSON.stringify(packument));
  });
  return {
    url,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
