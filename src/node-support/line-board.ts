/**
 * What the line dashboard shows (the padim-review node, example 8): OK/NG counts and the NG
 * rate since the node started, and a gallery of the last NG parts waiting for an operator's
 * review, each of which leaves it as "good part (false alarm)" or "confirmed defect".
 *
 * Memory stays bounded however long the line runs: the counts are numbers, the gallery holds at
 * most `capacity` parts (the oldest unreviewed one drops out, counted as unreviewed) and each
 * part's picture is refused above a size limit.
 */

export type Verdict = 'good' | 'defect';

export interface LineCounts {
  ok: number;
  ng: number;
  total: number;
  /** NG parts as a percentage of all parts, one decimal; null before the first part */
  ngPercent: number | null;
  /** NG parts an operator marked good (false alarms) */
  falseAlarms: number;
  /** NG parts an operator confirmed as defects */
  confirmed: number;
  /** NG parts that left the full gallery before anyone reviewed them */
  unreviewed: number;
}

export class LineTally {
  private ok = 0;
  private ng = 0;
  private readonly reviewed = { good: 0, defect: 0 };
  private dropped = 0;

  record(decision: 'OK' | 'NG'): void {
    if (decision === 'OK') this.ok++;
    else this.ng++;
  }

  review(verdict: Verdict): void {
    this.reviewed[verdict]++;
  }

  /** An NG part left the gallery unreviewed. */
  drop(): void {
    this.dropped++;
  }

  counts(): LineCounts {
    const total = this.ok + this.ng;
    return {
      ok: this.ok,
      ng: this.ng,
      total,
      ngPercent: total ? Math.round((1000 * this.ng) / total) / 10 : null,
      falseAlarms: this.reviewed.good,
      confirmed: this.reviewed.defect,
      unreviewed: this.dropped,
    };
  }
}

/** One NG part in the gallery. */
export interface NgPart {
  /** the gallery's own id, what a review button sends back */
  id: string;
  timestamp: string;
  /** the image file, or null when the image came as bytes (it can then be shown, not filed) */
  image: string | null;
  score: number;
  threshold: number;
  modelId: string | null;
  /** the heatmap as a data: URL, or null */
  picture: string | null;
}

export class NgGallery {
  private parts: NgPart[] = [];
  private seq = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`the gallery capacity must be a whole number >= 1, got ${capacity}`);
  }

  /** Adds a part (given a fresh id); returns the oldest part when it had to make room. */
  add(part: Omit<NgPart, 'id'>): { added: NgPart; dropped?: NgPart } {
    const added = { ...part, id: `ng-${++this.seq}` };
    this.parts.push(added);
    const dropped = this.parts.length > this.capacity ? this.parts.shift() : undefined;
    return dropped ? { added, dropped } : { added };
  }

  get(id: string): NgPart | undefined {
    return this.parts.find((p) => p.id === id);
  }

  /** Removes and returns the part with `id`, or undefined when it is not (or no longer) here. */
  take(id: string): NgPart | undefined {
    const i = this.parts.findIndex((p) => p.id === id);
    return i < 0 ? undefined : this.parts.splice(i, 1)[0];
  }

  /** Newest first, as the gallery shows them. */
  list(): NgPart[] {
    return [...this.parts].reverse();
  }

  get length(): number {
    return this.parts.length;
  }
}

/**
 * Encoded image bytes as a data: URL for an <img>, by their magic number (PNG or JPEG, what
 * the heatmap node writes); null for anything else, and for images over `maxBytes` (a gallery
 * of full-size camera frames would fill the browser and the socket).
 */
export function pictureUrl(bytes: unknown, maxBytes: number): string | null {
  if (!Buffer.isBuffer(bytes) || bytes.length > maxBytes) return null;
  const png = bytes.length > 8 && bytes.readUInt32BE(0) === 0x89504e47;
  const jpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!png && !jpeg) return null;
  return `data:image/${png ? 'png' : 'jpeg'};base64,${bytes.toString('base64')}`;
}
