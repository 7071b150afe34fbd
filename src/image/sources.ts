/**
 * Image sources: every input kind (encoded bytes, a file path, raw pixels) becomes something sharp
 * can open, with its oriented size and bit depth, after the checks every input gets (regular file,
 * empty input, vector formats, pixel limit from the header, raw shape and sample values).
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { FileKindError, readRegularFile } from '../files/regular-file';
import type { ImageInput, RawImage } from '../types';
import { decodeBmp, isBmp } from './bmp';
import { decodeError, ImageInputError } from './errors';
import { checkPixelLimit, maxImageFileBytes } from './limits';

/**
 * Vector formats libvips can render: their pixel size is whatever the file says, and rendering is
 * code running on the file (fonts, filters, references). Refused on every input path, bytes or file
 * or data URL alike: rasterise them first.
 */
const VECTOR_FORMATS = new Set(['svg', 'pdf']);

/** An input ready for sharp, with what the pipeline needs to know about it before decoding. */
export interface Source {
  /** A fresh pipeline over the input (sharp instances are single-use). */
  open(): Sharp;
  /** Size after EXIF orientation, in pixels. */
  width: number;
  height: number;
  /** True when samples have more than 8 bits; decoded as 16-bit so no precision is lost. */
  sixteenBit: boolean;
  /** Names the input in error messages ("file x.png", "buffer", "raw image"). */
  label: string;
}

/** Opens any input prepareImage takes; throws {@link ImageInputError}. */
export async function openSource(input: ImageInput, maxPixels: number): Promise<Source> {
  if (typeof input === 'string') {
    return openEncoded(await readImageFile(input, maxPixels), maxPixels, input);
  }
  if (input instanceof Uint8Array) {
    // Buffer.from(arrayBuffer, ...) wraps without copying.
    const buf = Buffer.isBuffer(input)
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    return openEncoded(buf, maxPixels, 'buffer');
  }
  if (isRawImage(input)) {
    return openRaw(input, maxPixels, 'raw image');
  }
  throw new ImageInputError(
    'UNSUPPORTED',
    'unsupported input type: expected a Buffer/Uint8Array of image bytes, a file path or a RawImage',
  );
}

function isRawImage(input: unknown): input is RawImage {
  return typeof input === 'object' && input !== null && 'data' in input && 'width' in input;
}

async function readImageFile(path: string, maxPixels: number): Promise<Buffer> {
  if (path.length === 0) {
    throw new ImageInputError('NOT_FOUND', 'file not found: empty path');
  }
  try {
    return await readRegularFile(path, maxImageFileBytes(maxPixels), 'image file');
  } catch (err) {
    if (err instanceof FileKindError) {
      const code = err.code === 'TOO_LARGE' ? 'TOO_LARGE' : 'UNREADABLE';
      throw new ImageInputError(code, err.message, { cause: err });
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ImageInputError('NOT_FOUND', `file not found: ${path}`, { cause: err });
    }
    if (code === 'EISDIR') {
      throw new ImageInputError('UNREADABLE', `not a file (a directory): ${path}`, { cause: err });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ImageInputError('UNREADABLE', `permission denied: ${path}`, { cause: err });
    }
    throw new ImageInputError('UNREADABLE', `cannot read file: ${path} (${(err as Error).message})`, {
      cause: err,
    });
  }
}

/** Encoded bytes: BMP goes to our decoder, everything else to libvips after a header-only size check. */
async function openEncoded(buf: Buffer, maxPixels: number, label: string): Promise<Source> {
  if (buf.length === 0) {
    throw new ImageInputError('EMPTY', `empty input (0 bytes): ${label}`);
  }
  if (isBmp(buf)) {
    return openRaw(decodeBmp(buf, maxPixels), maxPixels, label);
  }

  let meta: Metadata;
  try {
    // metadata() only parses the header, so a declared-huge image is refused before any pixel is decoded.
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeError(err, label);
  }
  if (meta.format && VECTOR_FORMATS.has(meta.format)) {
    throw new ImageInputError(
      'UNSUPPORTED',
      `vector images (${meta.format.toUpperCase()}) are not accepted: ${label}; convert it to PNG first`,
    );
  }
  const { width, height } = meta;
  if (!width || !height) {
    throw new ImageInputError('CORRUPT', `truncated or corrupt image: ${label} (no dimensions in header)`);
  }
  checkPixelLimit(width, height, maxPixels);

  // EXIF orientations 5..8 transpose the image, so width and height swap once rotate() has run.
  const transposed = (meta.orientation ?? 1) >= 5;
  const limit = Math.floor(maxPixels);
  return {
    // failOn 'truncated': refuse truncated data, but tolerate the benign warnings many camera JPEGs carry.
    open: () => sharp(buf, { limitInputPixels: limit, failOn: 'truncated' }),
    width: transposed ? height : width,
    height: transposed ? width : height,
    sixteenBit: meta.depth !== undefined && meta.depth !== 'uchar' && meta.depth !== 'char',
    label,
  };
}

/** Raw pixels: validated, Float32 quantised to 16 bits, then wrapped for sharp without other copies. */
function openRaw(raw: RawImage, maxPixels: number, label: string): Source {
  const { width, height, channels } = validateRawShape(raw);
  checkPixelLimit(width, height, maxPixels);

  let pixels: Uint8Array | Uint16Array;
  if (raw.data instanceof Float32Array) {
    pixels = floatToUint16(raw.data);
  } else if (raw.data instanceof Uint16Array || raw.data instanceof Uint8Array) {
    pixels = raw.data;
  } else {
    throw new ImageInputError(
      'INVALID_RAW',
      'raw image data must be a Uint8Array, Uint16Array or Float32Array',
    );
  }
  // sharp infers the sample format from the typed array (uchar / ushort); a Uint8Array must be a Buffer.
  const input =
    pixels instanceof Uint16Array ? pixels : Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return {
    open: () => sharp(input, { raw: { width, height, channels }, limitInputPixels: Math.floor(maxPixels) }),
    width,
    height,
    sixteenBit: pixels instanceof Uint16Array,
    label,
  };
}

function validateRawShape(raw: RawImage): { width: number; height: number; channels: 1 | 2 | 3 | 4 } {
  const { width, height, channels, data } = raw;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageInputError(
      'INVALID_RAW',
      `raw image width/height must be positive integers, got ${width}x${height}`,
    );
  }
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new ImageInputError(
      'INVALID_RAW',
      `raw image channels must be 1, 2, 3 or 4, got ${String(channels)}`,
    );
  }
  if (!data || typeof data.length !== 'number') {
    throw new ImageInputError('INVALID_RAW', 'raw image has no data array');
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new ImageInputError(
      'INVALID_RAW',
      `raw image data has ${data.length} values, expected ${width}x${height}x${channels} = ${expected}`,
    );
  }
  return { width, height, channels };
}

/**
 * Float samples in [0, 1] -> 16-bit integers. Quantising to 1/65535 costs < 2e-5 after normalisation,
 * far below what float32 backbones resolve, and lets one 16-bit libvips path serve both.
 * NaN, Infinity and values outside [0, 1] are refused: they mean the caller scaled the data wrongly.
 */
function floatToUint16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    // The negated test also catches NaN, which fails every comparison.
    if (!(v >= 0 && v <= 1)) {
      const what = Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? `${v} (outside [0, 1])` : String(v);
      throw new ImageInputError(
        'INVALID_RAW',
        `raw Float32 image has ${what} at index ${i}; float samples must be finite and in [0, 1]`,
      );
    }
    out[i] = Math.round(v * 65535);
  }
  return out;
}
