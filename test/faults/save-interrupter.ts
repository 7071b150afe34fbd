/**
 * Preloaded (`node -r save-interrupter.js ...`) into a process that saves a model (the `padim`
 * command, or model-writer-child.js), so the kill -9 tests can kill it at a chosen point of the
 * atomic write instead of at a random moment that a fast machine may never hit.
 *
 * Points are the file operations from the open of the temporary file on: the open, every write,
 * the sync, the close, the rename, and what follows. With PADIM_SAVE_STOP_AT=n the process
 * prints `at <n> <operation>` at point n and blocks until killed; with -1 it runs normally and
 * prints `points <operation> ...` when it exits.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';

const stopAt = Number(process.env.PADIM_SAVE_STOP_AT ?? '-1');
/** the operations since the temporary file was opened; undefined before that */
let operations: string[] | undefined;

/** Counts an operation of the save; at the chosen one, says so and blocks until killed. */
function reach(operation: string): void {
  if (!operations) return;
  if (operations.length === stopAt) {
    fs.writeSync(1, `at ${stopAt} ${operation}\n`);
    // block the whole process (no event loop turn, no further I/O) until the parent kills it
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
    fs.writeSync(2, 'save-interrupter: not killed within 30 s\n');
    process.exit(3);
  }
  operations.push(operation);
}

const open = fsp.open;
fsp.open = (async (...args: Parameters<typeof fsp.open>) => {
  if (!operations && String(args[0]).includes('.tmp-')) operations = [];
  reach('open');
  const fh = await open(...args);
  const proto = Object.getPrototypeOf(fh) as Record<string, unknown> & { __interrupted?: boolean };
  if (!proto.__interrupted) {
    proto.__interrupted = true;
    for (const name of ['write', 'writev', 'writeFile', 'sync', 'datasync', 'close']) {
      const original = proto[name] as (...a: unknown[]) => unknown;
      proto[name] = function (this: unknown, ...a: unknown[]) {
        reach(name);
        return original.apply(this, a);
      };
    }
  }
  return fh;
}) as typeof fsp.open;

const rename = fsp.rename;
fsp.rename = ((...args: Parameters<typeof fsp.rename>) => {
  reach('rename');
  return rename(...args);
}) as typeof fsp.rename;

if (stopAt < 0) process.on('exit', () => fs.writeSync(1, `points ${(operations ?? []).join(' ')}\n`));
