/**
 * Downloading a model file properly: streamed into a temporary file beside the destination,
 * SHA-256 checked before an atomic rename (a mismatch leaves nothing behind), a partial file
 * resumed with an HTTP Range request, HTTPS_PROXY / HTTP_PROXY / NO_PROXY honoured (a CONNECT
 * tunnel for https), timeouts, retries, and one line saying what to do when offline.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface DownloadOptions {
  /** expected hex SHA-256 of the whole file */
  sha256: string;
  /** expected size in bytes; more is refused while streaming */
  bytes: number;
  /** environment for the proxy variables; default process.env */
  env?: NodeJS.ProcessEnv;
  /** no data for this long aborts an attempt; default 30 s */
  idleTimeoutMs?: number;
  /** attempts after the first on network errors and 5xx answers; default 3 */
  retries?: number;
  /** wait before retry k (1-based) is k times this; default 1000 ms */
  retryDelayMs?: number;
  /** extra certificate authorities (tests with a local TLS server) */
  ca?: string | Buffer;
  onProgress?: (received: number, total: number) => void;
}

/** A failure worth another attempt (network, 5xx) or not (404, checksum). */
class DownloadError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

const OFFLINE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);

/** The proxy for `url` from HTTPS_PROXY / HTTP_PROXY (either case), unless NO_PROXY matches. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const rule of noProxy) {
    if (rule === '*') return undefined;
    const [ruleHost, rulePort] = rule.split(':');
    if (rulePort && rulePort !== port) continue;
    const bare = ruleHost.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return undefined;
  }
  const value =
    url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!value) return undefined;
  try {
    return new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new DownloadError(`proxy setting '${value}' is not a URL`, false);
  }
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(user).toString('base64')}` };
}

/** Opens a tunnel through an http proxy to host:port (CONNECT). */
function connectTunnel(proxy: URL, target: URL, timeoutMs: number): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const authority = `${target.hostname}:${target.port || 443}`;
    const req = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: authority,
      headers: { Host: authority, ...proxyAuth(proxy) },
      timeout: timeoutMs,
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(
        new DownloadError(
          `proxy ${proxy.host} refused the tunnel to ${authority}: HTTP ${res.statusCode}`,
          false,
        ),
      );
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('proxy timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/** Sends one GET for `url` (through the proxy if any) and resolves with the response. */
async function get(
  url: URL,
  headers: Record<string, string>,
  opts: DownloadOptions,
): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  const timeout = opts.idleTimeoutMs ?? 30000;
  const proxy = proxyFor(url, opts.env);
  let request: http.ClientRequest;
  if (url.protocol === 'https:') {
    const socket = proxy ? await connectTunnel(proxy, url, timeout) : undefined;
    request = https.request(url, {
      headers,
      timeout,
      ca: opts.ca,
      ...(socket
        ? {
            // TLS over the tunnel: the certificate checked against the origin's name (SNI only
            // for a host name: RFC 6066 has no server name for an IP address)
            createConnection: () =>
              tls.connect({
                socket,
                host: url.hostname,
                ...(net.isIP(url.hostname) ? {} : { servername: url.hostname }),
                ca: opts.ca,
              }),
          }
        : {}),
    });
  } else if (url.protocol === 'http:') {
    request = proxy
      ? http.request({
          host: proxy.hostname,
          port: proxy.port || 80,
          path: url.href,
          headers: { ...headers, Host: url.host, ...proxyAuth(proxy) },
          timeout,
        })
      : http.request(url, { headers, timeout });
  } else {
    throw new DownloadError(`cannot download ${url.href}: only http and https URLs`, false);
  }
  return new Promise((resolve, reject) => {
    request.on('response', (res) => resolve({ res, req: request }));
    request.on('timeout', () =>
      request.destroy(Object.assign(new Error(`no answer for ${timeout} ms`), { code: 'ETIMEDOUT' })),
    );
    request.on('error', reject);
    request.end();
  });
}

/** Hashes what a partial file already holds, so a resumed download is checked whole. */
async function hashExisting(file: string, limit: number): Promise<{ hash: Hash; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    return { hash, size: 0 };
  }
  if (size > limit) {
    fs.rmSync(file, { force: true });
    return { hash, size: 0 };
  }
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return { hash, size };
}

/** One attempt: follows redirects, appends to `partial` from its current size. */
async function attempt(url: URL, partial: string, opts: DownloadOptions): Promise<Hash> {
  let { hash, size } = await hashExisting(partial, opts.bytes);
  let target = url;
  for (let hops = 0; ; hops++) {
    if (size === opts.bytes) return hash;
    const headers: Record<string, string> = { 'User-Agent': 'padim-models' };
    if (size > 0) headers.Range = `bytes=${size}-`;
    const { res, req } = await get(target, headers, opts);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hops >= 5) throw new DownloadError(`too many redirects from ${url.href}`, false);
      target = new URL(res.headers.location, target);
      continue;
    }
    if (status === 200 && size > 0) {
      // the server ignored the Range: start again from the first byte
      ({ hash, size } = { hash: createHash('sha256'), size: 0 });
      fs.rmSync(partial, { force: true });
    } else if (status !== 206 && status !== 200) {
      res.resume();
      throw new DownloadError(`${target.href} answered HTTP ${status}`, status >= 500 || status === 429);
    }
    await new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(partial, { flags: 'a' });
      let received = size;
      let failed = false;
      // Reject only once the file is closed: a write still in flight would otherwise land after
      // the next attempt has read the partial file's size, and the resumed bytes would be doubled.
      const fail = (err: Error) => {
        if (failed) return;
        failed = true;
        req.destroy();
        res.pause();
        if (out.closed) return reject(err);
        out.once('close', () => reject(err));
        out.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        if (failed) return;
        received += chunk.length;
        if (received > opts.bytes) {
          return fail(
            new DownloadError(`${target.href} sent more than the expected ${opts.bytes} bytes`, false),
          );
        }
        hash.update(chunk);
        if (!out.write(chunk)) res.pause();
        opts.onProgress?.(received, opts.bytes);
      });
      out.on('drain', () => res.resume());
      res.on('error', fail);
      res.on('aborted', () =>
        fail(Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' })),
      );
      res.on('end', () => {
        if (failed) return;
        out.end(() =>
          received < opts.bytes
            ? reject(
                Object.assign(new Error(`connection closed after ${received} of ${opts.bytes} bytes`), {
                  code: 'ECONNRESET',
                }),
              )
            : resolve(),
        );
      });
      out.on('error', fail);
    });
    return hash;
  }
}

/** Certificate failures: another attempt gets the same certificate. */
const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describe(err: unknown, url: URL): DownloadError {
  if (err instanceof DownloadError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = (err as Error).message ?? String(err);
  if (CERTIFICATE_CODES.has(code)) {
    return new DownloadError(
      `${url.host}: ${message} (${code}). If this network inspects TLS with its own certificate authority, set NODE_EXTRA_CA_CERTS to that authority's certificate (PEM file)`,
      false,
    );
  }
  return new DownloadError(
    `${url.host}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`,
    true,
  );
}

/**
 * Downloads `url` to `dest`. Nothing exists at `dest` until the whole file has the expected
 * SHA-256; an interrupted download stays as `dest`.partial and is resumed by the next call.
 */
export async function download(url: string, dest: string, opts: DownloadOptions): Promise<void> {
  const parsed = new URL(url);
  const partial = `${dest}.partial`;
  const retries = opts.retries ?? 3;
  let last: DownloadError | undefined;
  let offline = false;
  for (let k = 0; k <= retries; k++) {
    if (k > 0) await new Promise((r) => setTimeout(r, k * (opts.retryDelayMs ?? 1000)));
    let hash: Hash;
    try {
      hash = await attempt(parsed, partial, opts);
    } catch (err) {
      last = describe(err, parsed);
      offline = OFFLINE_CODES.has((err as NodeJS.ErrnoException).code ?? '');
      if (!last.retry) break;
      continue;
    }
    const got = hash.digest('hex');
    if (got !== opts.sha256) {
      fs.rmSync(partial, { force: true });
      throw new Error(
        `checksum mismatch for ${url}: SHA-256 ${got}, expected ${opts.sha256}; nothing was kept (a mirror or proxy may serve another file)`,
      );
    }
    fs.renameSync(partial, dest);
    return;
  }
  const hint = offline
    ? ' This machine cannot reach it: set HTTPS_PROXY if the network has a proxy, use --mirror URL (or PADIM_MODELS_MIRROR) for an internal server holding the same file names, or download the file elsewhere and run padim models import FILE.'
    : ' Run the same command again to resume.';
  throw new Error(`download of ${url} failed: ${last?.message ?? 'unknown error'}.${hint}`);
}
