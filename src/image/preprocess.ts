/**
 * Image decoding and pre-processing: any supported input -> normalised CHW float32 at the network size.
 *
 * One sharp (libvips) pipeline does EXIF orientation, alpha removal, colour conversion, resizing and
 * cropping, and hands back interleaved RGB at the target size; a single JS pass then normalises it.
 * BMP is decoded here because the prebuilt libvips in sharp has no BMP loader.
 */
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { FileKindError, readRegularFile } from '../files/regular-file';
import type {
  ImageInput,
  InputGeometry,
  Normalisation,
  PreparedImage,
  RawImage,
  SizeProtocol,
} from '../types';

/** Default decompression-bomb limit: 100 megapixels (e.g. 10000 x 10000). */
export const DEFAULT_MAX_PIXELS = 100e6;

/**
 * Largest encoded image file read for a pixel limit: 8 bytes a pixel (16-bit RGBA, uncompressed)
 * plus 16 MiB of metadata. Anything larger cannot be an image within the limit, and the file's
 * size is checked before it is read.
 */
export function maxImageFileBytes(maxPixels: number): number {
  return Math.ceil(maxPixels) * 8 + 16 * 1024 * 1024;
}

/**
 * Vector formats libvips can render: their pixel size is whatever the file says, and rendering is
 * code running on the file (fonts, filters, references). Refused on every input path, bytes or file
 * or data URL alike: rasterise them first.
 */
const VECTOR_FORMATS = new Set(['svg', 'pdf']);

/** Largest width/height accepted in a size protocol; bigger is almost certainly a typo. */
export const MAX_INPUT_SIDE = 16384;

/** Machine-readable reason attached to every {@link ImageInputError}. */
export type ImageInputErrorCode =
  | 'EMPTY' // 0 bytes
  | 'NOT_FOUND' // file path does not exist
  | 'UNREADABLE' // file exists but cannot be read (directory, permissions, I/O)
  | 'UNSUPPORTED' // not an image, or a format we cannot decode
  | 'TOO_LARGE' // width * height above the pixel limit
  | 'CORRUPT' // recognised format, but truncated or damaged data
  | 'INVALID_RAW'; // a RawImage whose fields or values are inconsistent

/** Any problem with the image given to {@link prepareImage}. `code` says which kind. */
export class ImageInputError extends Error {
  readonly code: ImageInputErrorCode;

  constructor(code: ImageInputErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageInputError';
    this.code = code;
  }
}

/** A size text or size protocol that cannot be used (malformed, zero, crop larger than the resize). */
export class SizeSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SizeSpecError';
  }
}

export interface PrepareOptions {
  size: SizeProtocol;
  normalisation: Normalisation;
  /** Refuse images with more pixels than this before decoding them. Default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
}

/**
 * Decodes `input`, applies the size protocol and normalises to CHW float32 in RGB order:
 * `(v / vmax - mean[c]) / std[c]` with vmax 255 for 8-bit sources and 65535 for 16-bit ones.
 * Alpha is composited over black (opaque pixels are unchanged). Throws {@link ImageInputError}.
 */
export async function prepareImage(input: ImageInput, opts: PrepareOptions): Promise<PreparedImage> {
  const size = validateSizeProtocol(opts.size);
  const norm = validateNormalisation(opts.normalisation);
  const maxPixels = validateMaxPixels(opts.maxPixels ?? DEFAULT_MAX_PIXELS);

  const source = await openSource(input, maxPixels);
  const plan = planGeometry(source.width, source.height, size);
  const rgb = await decodeToRgb(source, plan);
  const data = normaliseInterleavedRgb(
    rgb,
    plan.outWidth * plan.outHeight,
    source.sixteenBit ? 65535 : 255,
    norm,
  );
  return { data, width: plan.outWidth, height: plan.outHeight, geometry: plan.geometry };
}

/**
 * Width and height of an image after EXIF orientation, without decoding its pixels where the
 * format allows (header only). Throws {@link ImageInputError} like {@link prepareImage}.
 */
export async function readImageSize(
  input: ImageInput,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<{ width: number; height: number }> {
  const { width, height } = await openSource(input, validateMaxPixels(maxPixels));
  return { width, height };
}

/**
 * A sharp pipeline over any input prepareImage takes, after the same checks (empty input, pixel
 * limit from the header, BMP decoding, raw shape and sample values), not yet oriented or resized:
 * for code that needs the image at its own size, such as drawing a heatmap on it.
 */
export async function openImagePipeline(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS): Promise<Sharp> {
  return (await openSource(input, validateMaxPixels(maxPixels))).open();
}

// ---------------------------------------------------------------------------------------------------------
// Sources: every input kind becomes something sharp can open, plus its oriented size and bit depth.
// ---------------------------------------------------------------------------------------------------------

interface Source {
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

async function openSource(input: ImageInput, maxPixels: number): Promise<Source> {
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

/** Turns a libvips failure into an ImageInputError with a message a user can act on. */
function decodeError(err: unknown, label: string): ImageInputError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) {
    return new ImageInputError('UNSUPPORTED', `not an image or unsupported format: ${label}`, { cause: err });
  }
  if (/pixel limit/i.test(msg)) {
    return new ImageInputError('TOO_LARGE', `image too large: ${label} exceeds the pixel limit`, {
      cause: err,
    });
  }
  if (/buffer is empty/i.test(msg)) {
    return new ImageInputError('EMPTY', `empty input (0 bytes): ${label}`, { cause: err });
  }
  // libvips repeats its complaint once per attempt: each distinct line once is enough to read
  const detail = [...new Set(msg.split('\n').map((l) => l.trim()))].filter(Boolean).join('; ');
  return new ImageInputError('CORRUPT', `truncated or corrupt image: ${label} (${detail})`, {
    cause: err,
  });
}

function checkPixelLimit(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageInputError('TOO_LARGE', `image too large: ${width}x${height} exceeds ${maxPixels} pixels`);
  }
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

// ---------------------------------------------------------------------------------------------------------
// Geometry: which resize and crop turn the oriented original into the network input.
// ---------------------------------------------------------------------------------------------------------

interface GeometryPlan {
  /** Size the whole (oriented) image is resized to. */
  resizeWidth: number;
  resizeHeight: number;
  /** Offset of the centre crop inside the resized image, in resized pixels (0 for `resize`). */
  cropLeft: number;
  cropTop: number;
  /** Network input size. */
  outWidth: number;
  outHeight: number;
  geometry: InputGeometry;
}

function planGeometry(origWidth: number, origHeight: number, size: SizeProtocol): GeometryPlan {
  let resizeWidth: number;
  let resizeHeight: number;
  if (size.kind === 'resize') {
    resizeWidth = size.width;
    resizeHeight = size.height;
  } else {
    // torchvision Resize(int): the shorter side becomes `resize`, the longer one is truncated (int()).
    const longSide = Math.floor(
      (size.resize * Math.max(origWidth, origHeight)) / Math.min(origWidth, origHeight),
    );
    const landscape = origWidth > origHeight;
    resizeWidth = landscape ? longSide : size.resize;
    resizeHeight = landscape ? size.resize : longSide;
  }
  // torchvision CenterCrop: offset = int(round((resized - crop) / 2)), Python's round = half to even.
  const cropLeft = roundHalfEven((resizeWidth - size.width) / 2);
  const cropTop = roundHalfEven((resizeHeight - size.height) / 2);
  const scaleX = origWidth / resizeWidth;
  const scaleY = origHeight / resizeHeight;
  return {
    resizeWidth,
    resizeHeight,
    cropLeft,
    cropTop,
    outWidth: size.width,
    outHeight: size.height,
    geometry: {
      originalWidth: origWidth,
      originalHeight: origHeight,
      left: cropLeft * scaleX,
      top: cropTop * scaleY,
      scaleX,
      scaleY,
    },
  };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; Python rounds it to the even neighbour.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding and normalisation.
// ---------------------------------------------------------------------------------------------------------

/** Runs the single libvips pipeline; returns interleaved RGB (3 samples per pixel) at the input size. */
async function decodeToRgb(source: Source, plan: GeometryPlan): Promise<Uint8Array | Uint16Array> {
  let pipeline = source
    .open()
    .rotate() // EXIF orientation; runs before resize whatever the call order
    // flatten (not removeAlpha): sharp drops alpha only after a premultiplied resize, flatten runs before it.
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .resize(plan.resizeWidth, plan.resizeHeight, {
      fit: 'fill',
      kernel: 'linear',
      // Exact shrink-on-load steps can skew JPEG results slightly; keep at least 2x for the linear kernel.
      fastShrinkOnLoad: false,
    });
  if (plan.resizeWidth !== plan.outWidth || plan.resizeHeight !== plan.outHeight) {
    // extract() after resize() is a post-resize crop in sharp.
    pipeline = pipeline.extract({
      left: plan.cropLeft,
      top: plan.cropTop,
      width: plan.outWidth,
      height: plan.outHeight,
    });
  }
  // Greyscale is replicated and CMYK converted by the colourspace step. 8-bit sources must stay 8-bit:
  // libvips widens 8 -> 16 bits by v * 256, which would not map 255 to 1.0.
  pipeline = source.sixteenBit
    ? pipeline.toColourspace('rgb16').raw({ depth: 'ushort' })
    : pipeline.toColourspace('srgb').raw({ depth: 'uchar' });

  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeError(err, source.label);
  }
  const { data, info } = out;
  if (info.width !== plan.outWidth || info.height !== plan.outHeight || info.channels !== 3) {
    // Should not happen; guards against a libvips change silently feeding the wrong shape downstream.
    throw new Error(
      `internal: decoder produced ${info.width}x${info.height}x${info.channels}, ` +
        `expected ${plan.outWidth}x${plan.outHeight}x3`,
    );
  }
  if (!source.sixteenBit) {
    return data;
  }
  // Uint16Array views need 2-byte alignment; sharp's buffers are normally aligned, copy when not.
  const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

/** Interleaved RGB (pixels x 3) -> planar CHW float32, `(v / vmax - mean) / std` folded into v * a + b. */
function normaliseInterleavedRgb(
  rgb: Uint8Array | Uint16Array,
  pixels: number,
  vmax: number,
  norm: Normalisation,
): Float32Array {
  const out = new Float32Array(3 * pixels);
  for (let c = 0; c < 3; c++) {
    const a = 1 / (vmax * norm.std[c]);
    const b = -norm.mean[c] / norm.std[c];
    const plane = c * pixels;
    for (let i = 0, j = c; i < pixels; i++, j += 3) {
      out[plane + i] = rgb[j] * a + b;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Option validation and parsing.
// ---------------------------------------------------------------------------------------------------------

function validateMaxPixels(maxPixels: number): number {
  if (typeof maxPixels !== 'number' || !(maxPixels >= 1) || !Number.isFinite(maxPixels)) {
    throw new RangeError(`maxPixels must be a finite number >= 1, got ${String(maxPixels)}`);
  }
  return maxPixels;
}

export function validateNormalisation(norm: Normalisation): Normalisation {
  const ok =
    norm !== undefined &&
    Array.isArray(norm.mean) &&
    Array.isArray(norm.std) &&
    norm.mean.length === 3 &&
    norm.std.length === 3 &&
    norm.mean.every((m) => Number.isFinite(m)) &&
    norm.std.every((s) => Number.isFinite(s) && s > 0);
  if (!ok) {
    throw new RangeError('normalisation needs mean[3] (finite) and std[3] (finite, > 0)');
  }
  return norm;
}

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

/** Concatenates prepared images into one NCHW float32 tensor (N x 3 x H x W). */
export function batchToTensor(images: PreparedImage[]): Float32Array {
  if (images.length === 0) {
    throw new RangeError('batchToTensor: empty batch');
  }
  const { width, height } = images[0];
  const per = 3 * width * height;
  const out = new Float32Array(images.length * per);
  images.forEach((img, n) => {
    if (img.width !== width || img.height !== height) {
      throw new RangeError(
        `batchToTensor: image ${n} is ${img.width}x${img.height} but image 0 is ${width}x${height}; ` +
          'all images in a batch must share one size',
      );
    }
    if (img.data.length !== per) {
      throw new RangeError(
        `batchToTensor: image ${n} has ${img.data.length} values, expected 3x${height}x${width}`,
      );
    }
    out.set(img.data, n * per);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// BMP: libvips as shipped with sharp cannot read it, and industrial software still writes it.
// Supported: BITMAPINFOHEADER and later (V4/V5) and the OS/2 core header; 1/4/8-bit palette, 16/24/32-bit
// uncompressed or BI_BITFIELDS; bottom-up and top-down. RLE and embedded JPEG/PNG are refused.
// ---------------------------------------------------------------------------------------------------------

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d; // 'BM'
}

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  compression: number;
  dataOffset: number;
  /** Palette as RGB triples (palette formats only). */
  palette: Uint8Array | null;
  /** Channel masks for 16/32-bit data, in R, G, B order. */
  masks: [number, number, number] | null;
}

/**
 * Decodes an uncompressed BMP into 3-channel 8-bit RGB. Alpha in 32-bit BMPs is ignored, since many
 * writers leave the fourth byte 0 in opaque images. Throws {@link ImageInputError}.
 */
export function decodeBmp(bytes: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): RawImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hdr = readBmpHeader(buf);
  checkPixelLimit(hdr.width, hdr.height, maxPixels);

  const stride = Math.ceil((hdr.width * hdr.bpp) / 32) * 4; // rows are padded to 4 bytes
  if (hdr.dataOffset + stride * hdr.height > buf.length) {
    throw new ImageInputError(
      'CORRUPT',
      `truncated or corrupt image: BMP pixel data needs ${stride * hdr.height} bytes at offset ${hdr.dataOffset}, ` +
        `file has ${buf.length} bytes`,
    );
  }
  const out = new Uint8Array(hdr.width * hdr.height * 3);
  for (let y = 0; y < hdr.height; y++) {
    const srcRow = hdr.dataOffset + (hdr.topDown ? y : hdr.height - 1 - y) * stride;
    decodeBmpRow(buf, srcRow, hdr, out, y * hdr.width * 3);
  }
  return { data: out, width: hdr.width, height: hdr.height, channels: 3 };
}

function bmpError(detail: string): ImageInputError {
  return new ImageInputError('CORRUPT', `truncated or corrupt image: BMP ${detail}`);
}

function readBmpHeader(buf: Buffer): BmpHeader {
  if (buf.length < 26) throw bmpError('header is incomplete');
  const dataOffset = buf.readUInt32LE(10);
  const dibSize = buf.readUInt32LE(14);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = BI_RGB;
  let paletteCount = 0;
  let paletteEntryBytes = 4;
  if (dibSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit dimensions, 3-byte palette entries.
    width = buf.readUInt16LE(18);
    rawHeight = buf.readInt16LE(20);
    bpp = buf.readUInt16LE(24);
    paletteEntryBytes = 3;
  } else if (dibSize >= 40) {
    if (buf.length < 14 + 40) throw bmpError('header is incomplete');
    width = buf.readInt32LE(18);
    rawHeight = buf.readInt32LE(22);
    bpp = buf.readUInt16LE(28);
    compression = buf.readUInt32LE(30);
    paletteCount = buf.readUInt32LE(46);
  } else {
    throw new ImageInputError(
      'UNSUPPORTED',
      `not an image or unsupported format: BMP header size ${dibSize}`,
    );
  }
  if (width <= 0 || rawHeight === 0) throw bmpError(`has invalid dimensions ${width}x${rawHeight}`);

  const bitfields = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  if (compression !== BI_RGB && !bitfields) {
    throw new ImageInputError(
      'UNSUPPORTED',
      `not an image or unsupported format: compressed BMP (compression ${compression}); ` +
        'only uncompressed BMP is supported',
    );
  }
  const hdr: BmpHeader = {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bpp,
    compression,
    dataOffset,
    palette: null,
    masks: null,
  };
  if (bpp === 1 || bpp === 4 || bpp === 8) {
    if (bitfields) throw bmpError('uses bit fields with a palette');
    hdr.palette = readBmpPalette(buf, 14 + dibSize, paletteCount || 1 << bpp, paletteEntryBytes);
  } else if (bpp === 16 || bpp === 32) {
    hdr.masks = bitfields
      ? readBmpMasks(buf, dibSize)
      : bpp === 16
        ? [0x7c00, 0x03e0, 0x001f]
        : [0xff0000, 0xff00, 0xff];
  } else if (bpp !== 24 || bitfields) {
    throw new ImageInputError(
      'UNSUPPORTED',
      `not an image or unsupported format: BMP with ${bpp} bits per pixel`,
    );
  }
  return hdr;
}

function readBmpMasks(buf: Buffer, dibSize: number): [number, number, number] {
  // V4/V5 headers hold the masks inside the header; a 40-byte header is followed by them.
  const at = 14 + 40;
  if (dibSize === 40 && buf.length < at + 12) throw bmpError('bit field masks are missing');
  const masks: [number, number, number] = [
    buf.readUInt32LE(at),
    buf.readUInt32LE(at + 4),
    buf.readUInt32LE(at + 8),
  ];
  if (masks.some((m) => m === 0)) throw bmpError('has an empty colour mask');
  return masks;
}

function readBmpPalette(buf: Buffer, at: number, count: number, entryBytes: number): Uint8Array {
  if (count > 256 || at + count * entryBytes > buf.length) throw bmpError('palette is truncated or invalid');
  const pal = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    const p = at + i * entryBytes; // stored B, G, R(, reserved)
    pal[i * 3] = buf[p + 2];
    pal[i * 3 + 1] = buf[p + 1];
    pal[i * 3 + 2] = buf[p];
  }
  return pal;
}

function decodeBmpRow(buf: Buffer, src: number, hdr: BmpHeader, out: Uint8Array, dst: number): void {
  const { width, bpp } = hdr;
  if (bpp === 24) {
    for (let x = 0; x < width; x++, src += 3, dst += 3) {
      out[dst] = buf[src + 2];
      out[dst + 1] = buf[src + 1];
      out[dst + 2] = buf[src];
    }
  } else if (hdr.palette) {
    const pal = hdr.palette;
    const perByte = 8 / bpp;
    const mask = (1 << bpp) - 1;
    for (let x = 0; x < width; x++, dst += 3) {
      const byte = buf[src + Math.floor(x / perByte)];
      // Pixels are packed most significant bits first.
      const index = (byte >> ((perByte - 1 - (x % perByte)) * bpp)) & mask;
      if (index * 3 >= pal.length)
        throw bmpError(`pixel refers to palette entry ${index} of ${pal.length / 3}`);
      out[dst] = pal[index * 3];
      out[dst + 1] = pal[index * 3 + 1];
      out[dst + 2] = pal[index * 3 + 2];
    }
  } else {
    const fields = (hdr.masks as [number, number, number]).map(maskField);
    const bytes = bpp / 8;
    for (let x = 0; x < width; x++, src += bytes, dst += 3) {
      const v = bytes === 4 ? buf.readUInt32LE(src) : buf.readUInt16LE(src);
      for (let c = 0; c < 3; c++) {
        const f = fields[c];
        out[dst + c] = Math.round((((v & f.mask) >>> f.shift) * 255) / f.max);
      }
    }
  }
}

/** Where a colour mask sits: `(v & mask) >>> shift` is 0..max, rescaled to 0..255 (5-bit 31 -> 255). */
function maskField(mask: number): { mask: number; shift: number; max: number } {
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { mask, shift, max: mask >>> shift };
}
