/** Shared test utilities: temporary folders and the location of ../shared. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDir(prefix = 'padim-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The read-only shared assets beside the repo (models, MVTec data), or undefined. */
export function sharedDir(): string | undefined {
  const candidates = [process.env.PADIM_SHARED, path.resolve(__dirname, '../../../shared')];
  return candidates.find((c) => c && fs.existsSync(path.join(c, 'models')));
}

/** Skips a mocha test or suite with a visible reason when ../shared is absent. */
export function requireShared(ctx: Mocha.Context, what: string): string {
  const dir = sharedDir();
  if (!dir) {
    console.log(`      (skipped: ${what} needs ../shared with the pretrained models and MVTec data)`);
    ctx.skip();
  }
  return dir as string;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
