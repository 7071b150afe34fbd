/**
 * How a decision archive lies on disk, and measuring it.
 *
 *   DIR/.lock                       pid of the process writing (one writer per folder)
 *   DIR/seg-00000001/decisions.jsonl one JSON line per decision (ArchiveRecord)
 *   DIR/seg-00000001/0000000001-image.png, ...-heatmap.png   the files its records name
 *
 * A segment is a folder so that dropping the oldest decisions is one recursive delete that
 * takes their images with them. Sizes are the files' byte lengths (what `du --apparent-size`
 * and `ls -l` show): the budget is a promise about that sum.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { InspectionResult } from '../result/result';
import type { SegmentUsage } from './budget';

export const LOCK_FILE = '.lock';
export const RECORDS_FILE = 'decisions.jsonl';
const SEGMENT = /^seg-(\d{8})$/;

/** One line of decisions.jsonl. */
export interface ArchiveRecord {
  /** the decision, as schemas/result.schema.json describes it */
  result: InspectionResult;
  /** files kept with it, relative to the archive folder */
  files: { image?: string; heatmap?: string };
}

export function segmentName(id: number): string {
  return `seg-${String(id).padStart(8, '0')}`;
}

/** The segment id of a folder name, or undefined when it is not a segment. */
export function segmentId(name: string): number | undefined {
  const m = SEGMENT.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Sum of the byte lengths of the files below `p` (links counted as themselves, not followed). */
export async function treeBytes(p: string): Promise<number> {
  const stat = await fsp.lstat(p);
  if (!stat.isDirectory()) return stat.size;
  let sum = 0;
  for (const name of await fsp.readdir(p)) sum += await treeBytes(path.join(p, name));
  return sum;
}

export interface FolderUsage {
  segments: SegmentUsage[];
  /** bytes outside the segments (the lock file, anything else put there) */
  otherBytes: number;
}

/** Measures what is in the archive folder now (a restart must count what is already there). */
export async function measureFolder(dir: string): Promise<FolderUsage> {
  const segments: SegmentUsage[] = [];
  let otherBytes = 0;
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const id = entry.isDirectory() ? segmentId(entry.name) : undefined;
    if (id !== undefined) segments.push({ id, bytes: await treeBytes(full) });
    else otherBytes += await treeBytes(full);
  }
  return { segments: segments.sort((a, b) => a.id - b.id), otherBytes };
}
