/**
 * Reading a decision archive back: every whole record, oldest first, and finding a part's
 * decisions by its image name. Files are treated as hostile: a line that is not a record (a line
 * torn by a killed writer, a file edited by hand) is skipped and counted, and a line longer than
 * MAX_LINE_BYTES is skipped without being held in memory.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../files/path-inside';
import { RECORDS_FILE, segmentId, type ArchiveRecord } from './layout';

/** Longer lines are not records (a record is a few hundred bytes). */
export const MAX_LINE_BYTES = 1 << 20;

export interface ArchiveScan {
  /** segments read, oldest first */
  segments: number;
  records: number;
  /** lines that were not whole records */
  skipped: number;
}

function isRecord(v: unknown): v is ArchiveRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as ArchiveRecord;
  return (
    typeof r.result === 'object' &&
    r.result !== null &&
    typeof r.result.score === 'number' &&
    (r.result.decision === 'OK' || r.result.decision === 'NG') &&
    typeof r.files === 'object' &&
    r.files !== null
  );
}

/** The lines of a file, in chunks, with overlong lines reported as undefined. */
async function* lines(file: string): AsyncGenerator<string | undefined> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 16 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl);
      if (overlong || pendingBytes + part.length > MAX_LINE_BYTES) yield undefined;
      else yield Buffer.concat([...pending, part]).toString('utf8');
      pending = [];
      pendingBytes = 0;
      overlong = false;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (!overlong && pendingBytes + rest.length > MAX_LINE_BYTES) {
      overlong = true;
      pending = [];
      pendingBytes = 0;
    } else if (!overlong && rest.length > 0) {
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
    }
  }
  // a last line without its newline: a write cut short, unless it parses as a whole record
  if (overlong) yield undefined;
  else if (pendingBytes > 0) yield Buffer.concat(pending).toString('utf8');
}

/** The segment folders of `dir`, oldest first. */
async function segmentFolders(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && segmentId(e.name) !== undefined)
    .map((e) => e.name)
    .sort();
}

/**
 * Calls `visit` with every whole record of the archive at `dir`, oldest first. Returns what was
 * read; a segment dropped by a writer while this reads is passed over.
 */
export async function scanArchive(dir: string, visit: (record: ArchiveRecord) => void): Promise<ArchiveScan> {
  const scan: ArchiveScan = { segments: 0, records: 0, skipped: 0 };
  for (const name of await segmentFolders(dir)) {
    const file = path.join(dir, name, RECORDS_FILE);
    try {
      for await (const line of lines(file)) {
        if (line === undefined) {
          scan.skipped++;
          continue;
        }
        if (line.trim() === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          parsed = undefined;
        }
        if (isRecord(parsed)) {
          scan.records++;
          visit(parsed);
        } else scan.skipped++;
      }
      scan.segments++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return scan;
}

/** A record found, with its files as absolute paths. */
export interface FoundDecision extends ArchiveRecord {
  paths: { image?: string; heatmap?: string };
}

/**
 * The decisions about the image `name`: its full path as recorded, or its file name alone
 * (`part-0042.png` finds `/data/cam1/part-0042.png`). Oldest first.
 */
export async function findDecisions(
  dir: string,
  name: string,
): Promise<{ found: FoundDecision[]; scan: ArchiveScan }> {
  const found: FoundDecision[] = [];
  const matches = (image: string | null) =>
    typeof image === 'string' && (image === name || path.basename(image) === name);
  // a record names its files relative to the folder; one pointing elsewhere (edited) is not shown
  const inside = (rel: unknown) => {
    if (typeof rel !== 'string') return undefined;
    const full = path.resolve(dir, rel);
    return isInside(path.resolve(dir), full) ? full : undefined;
  };
  const scan = await scanArchive(dir, (r) => {
    if (!matches(r.result.image)) return;
    const paths: FoundDecision['paths'] = {};
    const image = inside(r.files.image);
    const heatmap = inside(r.files.heatmap);
    if (image) paths.image = image;
    if (heatmap) paths.heatmap = heatmap;
    found.push({ ...r, paths });
  });
  return { found, scan };
}
