/**
 * Size text and the size protocol's rules: what a user may ask for as the model's input size
 * (`256`, `320x256`, `256` with a crop, `auto`, `auto:320`), parsed and checked, and written
 * back as text for messages and reports. Imports only the shared types, so that image/ can
 * check a size protocol with the same rules without importing the rest of input/.
 */
import type { SizeProtocol } from '../types';

/** Largest width/height accepted in a size protocol; bigger is almost certainly a typo. */
export const MAX_INPUT_SIDE = 16384;

/** A size text or size protocol that cannot be used (malformed, zero, crop larger than the resize). */
export class SizeSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SizeSpecError';
  }
}

/** `auto[:SHORT]`: aspect-preserving, decided from the training images at fit time. */
export interface AutoSize {
  kind: 'auto';
  /** short side in input pixels (before rounding to the stride) */
  short: number;
  /** largest grid (stage-1 cells) accepted; default `DEFAULT_MAX_CELLS` (input-size.ts) */
  maxCells?: number;
}

/** What a user may ask for: an explicit protocol, or `auto`. */
export type SizeChoice = SizeProtocol | AutoSize;

export const DEFAULT_AUTO_SHORT = 256;

function checkSide(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_INPUT_SIDE) {
    throw new SizeSpecError(`${name} must be an integer from 1 to ${MAX_INPUT_SIDE}, got ${String(v)}`);
  }
}

/** Checks a size protocol and returns it; throws {@link SizeSpecError}. */
export function validateSizeProtocol(size: SizeProtocol): SizeProtocol {
  if (size === null || typeof size !== 'object') {
    throw new SizeSpecError('size protocol missing');
  }
  checkSide('width', size.width);
  checkSide('height', size.height);
  if (size.kind === 'resize') {
    return size;
  }
  if (size.kind === 'resize-crop') {
    checkSide('resize', size.resize);
    // The shorter side becomes `resize`, so only a crop within resize x resize fits every image.
    if (size.width > size.resize || size.height > size.resize) {
      throw new SizeSpecError(
        `crop ${size.width}x${size.height} is larger than the resize ${size.resize} (shorter side)`,
      );
    }
    return size;
  }
  throw new SizeSpecError(`unknown size protocol kind: ${String((size as { kind: unknown }).kind)}`);
}

/** "256" -> [256, 256, true]; "320x256" -> [320, 256, false] (W x H). */
function parseDims(text: string, what: string): { width: number; height: number; single: boolean } {
  const t = text.trim();
  const pair = /^(\d+)\s*[x×*]\s*(\d+)$/i.exec(t);
  if (pair) {
    return { width: Number(pair[1]), height: Number(pair[2]), single: false };
  }
  if (/^\d+$/.test(t)) {
    return { width: Number(t), height: Number(t), single: true };
  }
  throw new SizeSpecError(
    `${what} '${text}' is not a size: use N or WxH with positive integers, e.g. 256 or 320x256`,
  );
}

/**
 * Parses CLI/config size text (W x H order):
 * - `parseSize('256')` -> resize 256x256; `parseSize('320x256')` -> resize 320x256 (squash);
 * - `parseSize('256', 224)` -> resize shorter side to 256, centre-crop 224x224;
 * - `parseSize('256', '224x200')` -> same with a 224x200 crop.
 * Throws {@link SizeSpecError} on malformed text.
 */
export function parseSize(text: string, crop?: string | number): SizeProtocol {
  if (typeof text !== 'string') {
    throw new SizeSpecError(`size must be text such as '256' or '320x256', got ${typeof text}`);
  }
  const dims = parseDims(text, 'size');
  const noCrop = crop === undefined || crop === null || (typeof crop === 'string' && crop.trim() === '');
  if (noCrop) {
    return validateSizeProtocol({ kind: 'resize', width: dims.width, height: dims.height });
  }
  if (!dims.single) {
    throw new SizeSpecError(
      `with a crop, the size must be one number (the shorter side after resizing), got '${text}'`,
    );
  }
  let cropWidth: number;
  let cropHeight: number;
  if (typeof crop === 'number') {
    cropWidth = cropHeight = crop;
  } else if (typeof crop === 'string') {
    ({ width: cropWidth, height: cropHeight } = parseDims(crop, 'crop'));
  } else {
    throw new SizeSpecError(`crop must be a number or text such as '224' or '224x200', got ${typeof crop}`);
  }
  return validateSizeProtocol({
    kind: 'resize-crop',
    resize: dims.width,
    width: cropWidth,
    height: cropHeight,
  });
}

/**
 * Parses size text from the CLI or the editor: `auto`, `auto:320`, or what {@link parseSize}
 * takes (`256`, `320x256`, with a crop). Empty text means the default, `auto`.
 */
export function parseSizeChoice(text: string | undefined, crop?: string | number): SizeChoice {
  const t = (text ?? '').trim();
  const noCrop = crop === undefined || crop === null || String(crop).trim() === '';
  const auto = /^auto(?::(\d+))?$/i.exec(t === '' ? 'auto' : t);
  if (!auto) {
    try {
      return parseSize(t, noCrop ? undefined : crop);
    } catch (err) {
      if (err instanceof SizeSpecError && noCrop)
        throw new SizeSpecError(`${err.message}, or auto / auto:SHORT`);
      throw err;
    }
  }
  if (!noCrop) throw new SizeSpecError(`a crop cannot be combined with size 'auto'; give a size such as 256`);
  const short = auto[1] === undefined ? DEFAULT_AUTO_SHORT : Number(auto[1]);
  if (!Number.isInteger(short) || short < 16 || short > MAX_INPUT_SIDE)
    throw new SizeSpecError(`the short side of 'auto:${auto[1]}' must be from 16 to ${MAX_INPUT_SIDE}`);
  return { kind: 'auto', short };
}

/**
 * How size text is written: `words` for messages and the CLI (`resize 256, crop 224x224`),
 * `compact` for a report's table column (`256/crop224x224`). Both write `640x256` and `auto:256`.
 */
export type SizeTextStyle = 'words' | 'compact';

/** Size text for messages, the CLI and reports: `640x256`, `resize 256, crop 224x224`, `auto:256`. */
export function describeSize(size: SizeChoice, style: SizeTextStyle = 'words'): string {
  if (size.kind === 'auto') return `auto:${size.short}`;
  if (size.kind === 'resize') return `${size.width}x${size.height}`;
  return style === 'compact'
    ? `${size.resize}/crop${size.width}x${size.height}`
    : `resize ${size.resize}, crop ${size.width}x${size.height}`;
}
