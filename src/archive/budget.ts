/**
 * The disk budget of a decision archive, as a state machine without any I/O.
 *
 * The archive is a list of segments, oldest first; the newest one is open for writing. Space
 * is freed by dropping whole segments, oldest first (a segment's JSON lines and its image
 * files go together, so no record ever points at a deleted image). Before every write the
 * writer asks for a plan: which segments to drop and whether to open a new segment, so that
 * after the write the archive's bytes are still within the budget. The writer carries out the
 * drops before it writes, so the folder is never above the budget, not even for a moment.
 */

/** One segment of the archive and the bytes of all its files. */
export interface SegmentUsage {
  /** sequence number: higher is newer */
  id: number;
  bytes: number;
}

export interface BudgetPlan {
  /** segments to delete (oldest first) before writing */
  drop: number[];
  /** id of a new segment to open (and write into) before writing, if any */
  open?: number;
  /** the segment the record goes into */
  into: number;
}

export class RecordTooLargeError extends Error {
  override name = 'RecordTooLargeError';
  constructor(
    readonly bytes: number,
    readonly room: number,
  ) {
    super(
      `a record of ${bytes} bytes cannot fit in the archive's budget (${room} bytes available to records)`,
    );
  }
}

export class ArchiveBudget {
  private segments: SegmentUsage[];
  /** bytes in the folder that are not in any segment (a lock file, files of other programs) */
  private other: number;
  /** the highest segment id ever used: ids are never reused, even after every segment is dropped */
  private lastId: number;

  /**
   * @param budget the most bytes the folder may hold, all files counted
   * @param segmentBytes a segment is closed once a record would take it above this many bytes
   * @param existing segments already in the folder (any order)
   * @param otherBytes bytes in the folder outside the segments (never dropped by the archive)
   */
  constructor(
    readonly budget: number,
    readonly segmentBytes: number,
    existing: readonly SegmentUsage[] = [],
    otherBytes = 0,
  ) {
    if (!Number.isSafeInteger(budget) || budget < 1)
      throw new RangeError(`the budget must be a whole number of bytes above 0, got ${budget}`);
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1 || segmentBytes > budget)
      throw new RangeError(`the segment size must be 1..${budget} bytes, got ${segmentBytes}`);
    this.segments = [...existing].sort((a, b) => a.id - b.id).map((s) => ({ ...s }));
    this.other = otherBytes;
    this.lastId = this.segments.reduce((m, s) => Math.max(m, s.id), 0);
  }

  /** All bytes counted: segments and other files. */
  get total(): number {
    return this.other + this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  get list(): readonly SegmentUsage[] {
    return this.segments;
  }

  /** The open (newest) segment, if any. */
  get current(): SegmentUsage | undefined {
    return this.segments[this.segments.length - 1];
  }

  /**
   * Starts a new, empty segment (a writer does so when it starts, so it never appends to a line
   * a killed writer may have left torn). Returns its id.
   */
  startSegment(): number {
    const id = ++this.lastId;
    this.segments.push({ id, bytes: 0 });
    return id;
  }

  /**
   * What to do to add a record of `bytes` (its JSON line and files), applied to the state at once:
   * the writer must carry out the plan (drops first) before writing. Throws RecordTooLargeError
   * when the record cannot fit even in an otherwise empty archive.
   */
  plan(bytes: number): BudgetPlan {
    if (bytes > this.budget - this.other) throw new RecordTooLargeError(bytes, this.budget - this.other);
    let open: number | undefined;
    const cur = this.current;
    if (!cur || (cur.bytes > 0 && cur.bytes + bytes > this.segmentBytes)) open = this.startSegment();
    const drop: number[] = [];
    while (this.total + bytes > this.budget) {
      const oldest = this.segments[0];
      drop.push(oldest.id);
      this.segments.shift();
      if (this.segments.length === 0) open = this.startSegment();
    }
    const into = this.current!;
    into.bytes += bytes;
    return { drop, open, into: into.id };
  }

  /**
   * The oldest segments to drop so that what is there fits the budget (a restart with a smaller
   * budget), applied to the state. Throws when files outside the segments alone are too many.
   */
  fit(): number[] {
    if (this.other > this.budget)
      throw new RangeError(
        `the folder holds ${this.other} bytes of files that are not archive segments, more than the budget of ${this.budget} bytes`,
      );
    const drop: number[] = [];
    while (this.total > this.budget) drop.push(this.segments.shift()!.id);
    return drop;
  }

  /** Replaces the state with a fresh measurement of the folder (after a failed write). */
  resync(existing: readonly SegmentUsage[], otherBytes: number): void {
    this.segments = [...existing].sort((a, b) => a.id - b.id).map((s) => ({ ...s }));
    this.other = otherBytes;
    this.lastId = this.segments.reduce((m, s) => Math.max(m, s.id), this.lastId);
  }
}
