/**
 * Writes decisions into an archive folder within a disk budget (see layout.ts, budget.ts).
 *
 * Crash safety: each record is one JSON line appended with a single write() to a file opened
 * for appending, after the files it names are written. A process killed (kill -9) leaves every
 * record before it whole; at worst the last line is torn, and readers skip it (reader.ts). A
 * writer never appends to a segment it did not start, so a torn line is never followed by more
 * data on the same line. Writes are not fsynced one by one (that would cost a disk flush per
 * part): a power cut can lose the last records, not the ones before.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { processAlive } from '../files/atomic-write';
import { assertValidResult, type InspectionResult } from '../result/result';
import { ArchiveBudget } from './budget';
import { readRegularFile } from '../files/regular-file';
import { LOCK_FILE, RECORDS_FILE, measureFolder, segmentName, treeBytes, type ArchiveRecord } from './layout';

export interface ArchiveOptions {
  /** the most bytes the folder may hold, every file in it counted */
  budgetBytes: number;
  /** bytes per segment (the unit dropped when space is needed); default budget / 10 */
  segmentBytes?: number;
}

/** A file kept with a decision: the image, or its heatmap. */
export interface ArchiveFile {
  kind: 'image' | 'heatmap';
  data: Buffer;
  /** file name extension with the dot: '.png', '.jpg' */
  ext: string;
}

export interface ArchiveUsage {
  bytes: number;
  budget: number;
  segments: number;
}

/** Folders open for writing in this process: two writers on one folder would miscount. */
const openFolders = new Set<string>();

/**
 * The living process (other than this one) holding the folder's lock file, if any. A lock left
 * by a process that died (kill -9, power cut), or one that is not a pid, is taken over.
 */
async function lockHolder(file: string): Promise<number | undefined> {
  const text = await readRegularFile(file, 64, 'archive lock file').then(
    (b) => b.toString('utf8'),
    () => '',
  );
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : undefined;
}

export class DecisionArchive {
  private queue: Promise<unknown> = Promise.resolve();
  private handle?: FileHandle;
  private handleSegment = 0;
  private recordNo = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly budget: ArchiveBudget,
  ) {}

  /**
   * Opens (creating it if needed) the archive folder `dir`: measures what is already there, drops
   * the oldest segments if that is above the budget (a smaller budget after a restart), and
   * starts a new segment for this writer.
   */
  static async open(dir: string, opts: ArchiveOptions): Promise<DecisionArchive> {
    const folder = path.resolve(dir);
    if (openFolders.has(folder))
      throw new Error(`the archive folder ${folder} is already open in this process`);
    const segmentBytes = opts.segmentBytes ?? Math.max(1, Math.floor(opts.budgetBytes / 10));
    openFolders.add(folder);
    try {
      await fsp.mkdir(folder, { recursive: true });
      const lockFile = path.join(folder, LOCK_FILE);
      const holder = await lockHolder(lockFile);
      if (holder !== undefined)
        throw new Error(`the archive folder ${folder} is in use by process ${holder}`);
      // the lock is written after old segments are dropped, and counted as it will be
      const lock = `${process.pid}\n`;
      const usage = await measureFolder(folder);
      const oldLock = await treeBytes(lockFile).catch(() => 0);
      const other = usage.otherBytes - oldLock + lock.length;
      const budget = new ArchiveBudget(opts.budgetBytes, segmentBytes, usage.segments, other);
      const archive = new DecisionArchive(folder, budget);
      await archive.carryOut(budget.fit());
      await fsp.writeFile(lockFile, lock);
      budget.startSegment();
      return archive;
    } catch (err) {
      openFolders.delete(folder);
      throw err;
    }
  }

  get usage(): ArchiveUsage {
    return { bytes: this.budget.total, budget: this.budget.budget, segments: this.budget.list.length };
  }

  /**
   * Archives one decision with its files. Writes run one at a time in call order; the promise
   * resolves with the record as written (file paths relative to the folder).
   */
  write(result: InspectionResult, files: readonly ArchiveFile[] = []): Promise<ArchiveRecord> {
    if (this.closed) return Promise.reject(new Error('the archive is closed'));
    try {
      // a result that does not follow the schema is refused before anything is written
      assertValidResult(result);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const next = this.queue.then(() => this.writeNow(result, files));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async writeNow(result: InspectionResult, files: readonly ArchiveFile[]): Promise<ArchiveRecord> {
    const n = ++this.recordNo;
    const record = (segment: number): ArchiveRecord => {
      const names: ArchiveRecord['files'] = {};
      for (const f of files)
        names[f.kind] = `${segmentName(segment)}/${String(n).padStart(10, '0')}-${f.kind}${f.ext}`;
      return { result, files: names };
    };
    // segment names have a fixed width, so the line's length does not depend on its segment
    const draft = Buffer.from(`${JSON.stringify(record(this.budget.current?.id ?? 1))}\n`);
    const bytes = draft.length + files.reduce((sum, f) => sum + f.data.length, 0);
    const plan = this.budget.plan(bytes);
    const final = record(plan.into);
    const line = Buffer.from(`${JSON.stringify(final)}\n`);
    if (line.length !== draft.length) throw new Error('archive record length changed with its segment');
    const segDir = path.join(this.dir, segmentName(plan.into));
    try {
      await this.carryOut(plan.drop);
      if (this.handleSegment !== plan.into) await this.openSegment(plan.into, segDir);
      for (const f of files)
        await fsp.writeFile(path.join(this.dir, final.files[f.kind]!), f.data, { flag: 'wx' });
      const { bytesWritten } = await this.handle!.write(line, 0, line.length, null);
      if (bytesWritten !== line.length) throw new Error(`short write to ${RECORDS_FILE}`);
    } catch (err) {
      // count what really is on disk (a drop or a file that failed), so the budget stays true
      await measureFolder(this.dir).then(
        (u) => this.budget.resync(u.segments, u.otherBytes),
        () => undefined,
      );
      // never append to a segment of an earlier writer (its last line may be torn)
      if (this.budget.current?.id !== this.handleSegment) this.budget.startSegment();
      throw err;
    }
    return final;
  }

  private async openSegment(id: number, segDir: string): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await fsp.mkdir(segDir, { recursive: true });
    // 'a': every write goes to the end, in one piece per write() call
    this.handle = await fsp.open(path.join(segDir, RECORDS_FILE), 'a');
    this.handleSegment = id;
  }

  private async carryOut(drop: readonly number[]): Promise<void> {
    for (const id of drop) {
      if (id === this.handleSegment) {
        await this.handle?.close();
        this.handle = undefined;
        this.handleSegment = 0;
      }
      await fsp.rm(path.join(this.dir, segmentName(id)), { recursive: true, force: true });
    }
  }

  /** Waits for the writes under way, closes the file and gives the folder back. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await fsp.rm(path.join(this.dir, LOCK_FILE), { force: true }).catch(() => undefined);
    openFolders.delete(this.dir);
  }
}
