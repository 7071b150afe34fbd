/**
 * The images the fit node collects from messages until a fit, with a bound.
 *
 * Why a bound: with count 0 the node keeps every image until msg.topic "fit", and a flow that
 * never sends it (or a camera faster than expected) fills memory with encoded Buffers (3,000
 * camera frames: +1 GB). Past the limit an image is refused with an error that says what to
 * do, so it reaches Catch and the images already collected stay usable.
 */
import { SupportError } from './errors';

/** How much the collection may hold. */
export interface CollectLimits {
  /** images (paths and Buffers alike) */
  images: number;
  /** bytes of encoded images (a path counts its length) */
  bytes: number;
}

/** 10,000 images or 1 GiB: far above any fit's needs (PaDiM saturates in the hundreds). */
export const DEFAULT_COLLECT_LIMITS: CollectLimits = { images: 10_000, bytes: 2 ** 30 };

/** An image refused because the collection is full. */
export class CollectLimitError extends Error {
  constructor(
    message: string,
    readonly limits: CollectLimits,
  ) {
    super(message);
    this.name = 'CollectLimitError';
  }
}

const isLimit = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 1;

/**
 * `padimFitMaxCollected` from Node-RED's settings (`{ images?, bytes? }`), over the defaults;
 * throws for anything else, so a typo is not silently ignored.
 */
export function collectLimits(setting: unknown): CollectLimits {
  if (setting === undefined) return DEFAULT_COLLECT_LIMITS;
  const s = setting as Partial<Record<keyof CollectLimits, unknown>>;
  const ok =
    setting !== null &&
    typeof setting === 'object' &&
    (s.images === undefined || isLimit(s.images)) &&
    (s.bytes === undefined || isLimit(s.bytes));
  if (!ok) throw new SupportError('settings.maxCollected', { value: JSON.stringify(setting) });
  return {
    images: Math.floor((s.images as number | undefined) ?? DEFAULT_COLLECT_LIMITS.images),
    bytes: Math.floor((s.bytes as number | undefined) ?? DEFAULT_COLLECT_LIMITS.bytes),
  };
}

const sizeOf = (image: Buffer | string) =>
  typeof image === 'string' ? Buffer.byteLength(image) : image.length;

/** Collected images in arrival order, within `limits`. */
export class CollectedImages {
  private items: (Buffer | string)[] = [];
  private total = 0;

  /**
   * `describe` words the refusal (the node passes its translated text); it gets the counts
   * held and the limits.
   */
  constructor(
    readonly limits: CollectLimits,
    private readonly describe: (held: { images: number; bytes: number }, limits: CollectLimits) => string,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** bytes held */
  get bytes(): number {
    return this.total;
  }

  /** Adds one image; throws CollectLimitError (and keeps nothing) when it would pass a limit. */
  push(image: Buffer | string): void {
    const size = sizeOf(image);
    if (this.items.length + 1 > this.limits.images || this.total + size > this.limits.bytes)
      throw new CollectLimitError(
        this.describe({ images: this.items.length, bytes: this.total }, this.limits),
        this.limits,
      );
    this.items.push(image);
    this.total += size;
  }

  /** Takes every image out (for a fit). */
  take(): (Buffer | string)[] {
    const taken = this.items;
    this.clear();
    return taken;
  }

  /**
   * Puts images taken for a fit that did not happen back in front, unchecked: they were within
   * the limits when collected, and losing them would be worse than a collection briefly over.
   */
  putBack(images: (Buffer | string)[]): void {
    this.items = [...images, ...this.items];
    this.total += images.reduce((sum, image) => sum + sizeOf(image), 0);
  }

  clear(): void {
    this.items = [];
    this.total = 0;
  }
}
