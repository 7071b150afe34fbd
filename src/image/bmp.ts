/**
 * BMP decoding: libvips as shipped with sharp cannot read it, and industrial software still writes it.
 * Supported: BITMAPINFOHEADER and later (V4/V5) and the OS/2 core header; 1/4/8-bit palette, 16/24/32-bit
 * uncompressed or BI_BITFIELDS; bottom-up and top-down. RLE and embedded JPEG/PNG are refused.
 */
import type { RawImage } from '../types';
import { ImageInputError } from './errors';
import { checkPixelLimit, DEFAULT_MAX_PIXELS } from './limits';

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** True when the bytes start with the BMP signature 'BM'. */
export function isBmp(buf: Uint8Array): boolean {
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
