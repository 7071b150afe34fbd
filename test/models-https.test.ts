/**
 * Downloads over HTTPS through a proxy: a real TLS server on 127.0.0.1 with a self-signed
 * certificate made here by the openssl command, reached through a real CONNECT proxy on
 * 127.0.0.1 that HTTPS_PROXY names and NO_PROXY bypasses; trusted through the download's `ca`
 * option, and in a child process (`padim models pull`) through NODE_EXTRA_CA_CERTS.
 * Skips, saying so, where openssl is not installed.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { download } from '../src/backbone/registry/download';
import { freePort, requireShared, tempDir } from './helpers';

const ROOT = path.resolve(__dirname, '../..');

/** A key and a self-signed certificate for 127.0.0.1 (IP SAN), or undefined without openssl. */
function selfSigned(dir: string): { key: string; cert: string; certFile: string } | undefined {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    return undefined;
  }
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

const listen = async (server: net.Server) => {
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return port;
};
const close = (server: net.Server) => new Promise((r) => server.close(r));

describe('padim models over HTTPS through a CONNECT proxy', function () {
  this.timeout(120_000);
  const body = Buffer.from(Array.from({ length: 500_000 }, (_, i) => (i * 31) % 253));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const files: Record<string, Buffer> = { 'f.onnx': body };
  let tls: { key: string; cert: string; certFile: string };
  let origin: https.Server;
  let originPort: number;
  let proxy: http.Server;
  let proxyPort: number;
  /** the authorities the proxy was asked to CONNECT to */
  const tunnels: string[] = [];
  /** the paths the TLS server answered */
  const served: string[] = [];
  /** tunnelled sockets: a CONNECT socket is the test's to close, not the server's */
  const open = new Set<net.Socket>();

  before(async function () {
    const t = selfSigned(tempDir());
    if (!t) {
      console.log('      (skipped: no openssl command to make a test certificate)');
      this.skip();
    }
    tls = t!;
    origin = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const name = (req.url ?? '').slice(1);
      served.push(name);
      const b = files[name];
      if (!b) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Length': b.length }).end(b);
    });
    originPort = await listen(origin);
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      open.add(client);
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    proxyPort = await listen(proxy);
  });
  after(async () => {
    for (const s of open) s.destroy();
    if (origin) {
      origin.closeAllConnections();
      await close(origin);
    }
    if (proxy) await close(proxy);
  });
  beforeEach(() => {
    tunnels.length = 0;
    served.length = 0;
  });

  const url = () => `https://127.0.0.1:${originPort}/f.onnx`;
  const env = () => ({ HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` });

  it('tunnels through HTTPS_PROXY with CONNECT and checks the certificate with the ca option', async () => {
    const dest = path.join(tempDir(), 'f.onnx');
    await download(url(), dest, { sha256: sha(body), bytes: body.length, env: env(), ca: tls.cert });
    assert.ok(fs.readFileSync(dest).equals(body));
    assert.deepEqual(tunnels, [`127.0.0.1:${originPort}`]);
    assert.deepEqual(served, ['f.onnx']);
  });

  it('refuses a certificate it cannot trust, and leaves nothing at the destination', async () => {
    const dir = tempDir();
    await assert.rejects(
      download(url(), path.join(dir, 'f.onnx'), {
        sha256: sha(body),
        bytes: body.length,
        env: env(),
        retries: 0,
      }),
      /self[- ]signed certificate.*set NODE_EXTRA_CA_CERTS/i,
    );
    assert.deepEqual(tunnels, [`127.0.0.1:${originPort}`], 'it did go through the tunnel');
    assert.deepEqual(served, [], 'no request got past the TLS handshake');
    assert.ok(!fs.existsSync(path.join(dir, 'f.onnx')));
  });

  it('goes direct for a host in NO_PROXY', async () => {
    const dest = path.join(tempDir(), 'f.onnx');
    await download(url(), dest, {
      sha256: sha(body),
      bytes: body.length,
      env: { ...env(), NO_PROXY: 'localhost,127.0.0.1' },
      ca: tls.cert,
    });
    assert.deepEqual(tunnels, []);
    assert.deepEqual(served, ['f.onnx']);
  });

  it('padim models pull in a child process: HTTPS mirror, HTTPS_PROXY, NODE_EXTRA_CA_CERTS', async function () {
    const shared = requireShared(this, 'pulling the int8 zoo file over HTTPS');
    files['mobilenetv2-12-int8.onnx'] = fs.readFileSync(path.join(shared, 'models/mobilenetv2-12-int8.onnx'));
    const dir = tempDir();
    const run = (extra: NodeJS.ProcessEnv) =>
      new Promise<{ status: number | null; output: string }>((resolve) => {
        // not spawnSync: that would block this process, and with it the servers the child talks to
        const child = spawn(
          process.execPath,
          [path.join(ROOT, 'bin/padim.js'), 'models', 'pull', 'mobilenetv2-12-int8', '--dir', dir, '-q'],
          {
            env: {
              PATH: process.env.PATH,
              HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
              PADIM_MODELS_MIRROR: `https://127.0.0.1:${originPort}`,
              ...extra,
            },
          },
        );
        let output = '';
        child.stdout.on('data', (c) => (output += c));
        child.stderr.on('data', (c) => (output += c));
        child.on('exit', (status) => resolve({ status, output }));
      });
    const untrusted = await run({});
    assert.notEqual(untrusted.status, 0, 'without the certificate trusted the pull fails');
    assert.match(untrusted.output, /self[- ]signed certificate.*NODE_EXTRA_CA_CERTS/i);
    const ok = await run({ NODE_EXTRA_CA_CERTS: tls.certFile });
    assert.equal(ok.status, 0, ok.output);
    assert.match(ok.output, /mobilenetv2-12-int8 installed/);
    assert.ok(tunnels.every((t) => t === `127.0.0.1:${originPort}`) && tunnels.length >= 2);
    assert.ok(
      fs.readFileSync(path.join(dir, 'mobilenetv2-12-int8.onnx')).equals(files['mobilenetv2-12-int8.onnx']),
    );
  });
});
