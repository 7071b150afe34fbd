/** Small helpers shared by the node files. */
import type { Node, NodeAPI } from './red';

/** What a Node-RED node id looks like (16 hex digits today; older flows have dots). */
export const NODE_ID = /^[\w.-]{1,64}$/;

/** Where relative paths in node settings are taken from: Node-RED's user directory. */
export function baseDir(RED: NodeAPI): string {
  return RED.settings.userDir ?? process.cwd();
}

/** Anything thrown, as an Error (done() and node.error want one). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A setting as a number: editors store text, old flows numbers; empty text gives `fallback`. */
export function numberSetting(value: unknown, fallback: number): number {
  if (value === undefined || value === null || String(value).trim() === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}

/** A checkbox setting (booleans, or 'true'/'false' text from hand-written flows). */
export function booleanSetting(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  return value === true || value === 'true';
}

/** Milliseconds as short text: 850 ms, 4.2 s, 3 min 5 s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A score for a status line: 3 significant digits is plenty to read. */
export function formatScore(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * A node whose settings cannot be used: a red status, one error in the log, and every input
 * message answered with the same error (so Catch nodes see it) instead of a half-working node.
 */
export function refuseInputs(node: Node, err: unknown, statusText: string): void {
  const error = asError(err);
  node.status({ fill: 'red', shape: 'ring', text: statusText });
  node.error(error.message);
  node.on('input', (_msg, _send, done) => done(error));
}
