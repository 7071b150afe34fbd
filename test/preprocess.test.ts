import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { batchToTensor, decodeBmp, ImageInputError, prepareImage } from '../src/image';
import { parseSize, SizeSpecError } from '../src/input';
import { IMAGENET_NORMALISATION, type Normalisation, type PreparedImage, type RawImage } from '../src/types';

const NORM = IMAGENET_NORMALISATION;
/** Identity normalisation (mean 0, std 1): the output is v / vmax, easy to read in assertions. */
const UNIT: Normalisation = { mean: [0, 0, 0], std: [1, 1, 1] };

/** Synthetic 8-bit RGB with distinct values per channel and position. */
function gradientRgb8(width: number, height: number): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      buf[i] = (x * 7 + y * 3) % 256;
      buf[i + 1] = (x * 2 + y * 11 + 40) % 256;
      buf[i + 2] = (255 - x * 5 - y) & 255;
    }
  }
  return buf;
}

function gradientRgb16(width: number, height: number): Uint16Array {
  const a = new Uint16Array(width * height * 3);
  for (let i = 0; i < a.length; i++) a[i] = (i * 2741 + 17) % 65536;
  return a;
}

/** Value of channel c at (x, y) of a CHW prepared image. */
function at(img: PreparedImage, c: number, x: number, y: number): number {
  return img.data[c * img.width * img.height + y * img.width + x];
}

/** Asserts every pixel equals (v / vmax - mean) / std for interleaved RGB source samples. */
function assertNormalised(
  img: PreparedImage,
  rgb: ArrayLike<number>,
  vmax: number,
  norm: Normalisation,
  tol = 1e-5,
) {
  const n = img.width * img.height;
  assert.equal(img.data.length, 3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const expected = (rgb[i * 3 + c] / vmax - norm.mean[c]) / norm.std[c];
      const got = img.data[c * n + i];
      if (Math.abs(got - expected) > tol) {
        assert.fail(`pixel ${i} channel ${c}: got ${got}, expected ${expected}`);
      }
    }
  }
}

async function rejects(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageInputError, `expected ImageInputError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid-looking PNG whose header declares width x height RGB but holds almost no data. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Hand-built BMP: BITMAPINFOHEADER, given bits per pixel, rows bottom-up unless topDown.
 * `pixels` is RGB interleaved; for 8-bit, `palette` (RGB triples) and `indices` are used instead.
 */
function buildBmp(opts: {
  width: number;
  height: number;
  bpp: 8 | 24 | 32;
  topDown?: boolean;
  pixels?: Uint8Array;
  palette?: number[][];
  indices?: number[];
}): Buffer {
  const { width, height, bpp } = opts;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  const paletteBytes = bpp === 8 ? (opts.palette as number[][]).length * 4 : 0;
  const dataOffset = 14 + 40 + paletteBytes;
  const buf = Buffer.alloc(dataOffset + stride * height, 0xee); // 0xee in padding catches stride bugs
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(0, 6);
  buf.writeUInt32LE(dataOffset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(opts.topDown ? -height : height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bpp, 28);
  buf.writeUInt32LE(0, 30); // BI_RGB
  buf.writeUInt32LE(stride * height, 34);
  buf.writeInt32LE(2835, 38);
  buf.writeInt32LE(2835, 42);
  buf.writeUInt32LE(bpp === 8 ? (opts.palette as number[][]).length : 0, 46);
  buf.writeUInt32LE(0, 50);
  if (bpp === 8) {
    (opts.palette as number[][]).forEach(([r, g, b], i) => {
      buf.set([b, g, r, 0], 54 + i * 4);
    });
  }
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (opts.topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (bpp === 8) {
        buf[row + x] = (opts.indices as number[])[i];
      } else {
        const px = opts.pixels as Uint8Array;
        const p = row + x * (bpp / 8);
        buf[p] = px[i * 3 + 2];
        buf[p + 1] = px[i * 3 + 1];
        buf[p + 2] = px[i * 3];
        if (bpp === 32) buf[p + 3] = 0; // many writers leave "alpha" 0 in opaque images
      }
    }
  }
  return buf;
}

describe('preprocess', () => {
  let tmpDir: string;
  before(async () => {
    tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'padim-pre-'));
  });
  after(async () => {
    await fs.rm(tmpDir, { recursive: true, force: true });
  });

  describe('parseSize', () => {
    it('parses N and WxH as the resize protocol (W x H order)', () => {
      assert.deepEqual(parseSize('256x256'), { kind: 'resize', width: 256, height: 256 });
      assert.deepEqual(parseSize('320x256'), { kind: 'resize', width: 320, height: 256 });
      assert.deepEqual(parseSize('256'), { kind: 'resize', width: 256, height: 256 });
      assert.deepEqual(parseSize(' 320 X 240 '), { kind: 'resize', width: 320, height: 240 });
      assert.deepEqual(parseSize('256', ''), { kind: 'resize', width: 256, height: 256 });
    });

    it('parses a crop as resize-crop, square or not', () => {
      assert.deepEqual(parseSize('256', 224), { kind: 'resize-crop', resize: 256, width: 224, height: 224 });
      assert.deepEqual(parseSize('256', '224'), {
        kind: 'resize-crop',
        resize: 256,
        width: 224,
        height: 224,
      });
      assert.deepEqual(parseSize('256', '224x200'), {
        kind: 'resize-crop',
        resize: 256,
        width: 224,
        height: 200,
      });
    });

    it('rejects malformed sizes with clear errors', () => {
      for (const bad of ['', 'abc', '256x', 'x256', '0', '0x10', '-5', '2.5', '256x256x3', '99999']) {
        assert.throws(() => parseSize(bad), SizeSpecError, `'${bad}' should be rejected`);
      }
      assert.throws(() => parseSize('320x256', 224), /must be one number/);
      assert.throws(() => parseSize('256', 300), /larger than the resize/);
      assert.throws(() => parseSize('256', '224x300'), /larger than the resize/);
      assert.throws(() => parseSize('256', 'big'), /crop 'big' is not a size/);
      assert.throws(() => parseSize('256', 0), SizeSpecError);
    });
  });

  describe('pixel values', () => {
    it('normalises raw 8-bit RGB with (v/255 - mean)/std, CHW, RGB order', async () => {
      const rgb = gradientRgb8(20, 12);
      const img = await prepareImage(
        { data: rgb, width: 20, height: 12, channels: 3 },
        { size: { kind: 'resize', width: 20, height: 12 }, normalisation: NORM },
      );
      assert.equal(img.width, 20);
      assert.equal(img.height, 12);
      assertNormalised(img, rgb, 255, NORM);
    });

    it('decodes an 8-bit PNG (Buffer and plain Uint8Array) exactly', async () => {
      const rgb = gradientRgb8(17, 9);
      const png = await sharp(rgb, { raw: { width: 17, height: 9, channels: 3 } })
        .png()
        .toBuffer();
      const opts = { size: { kind: 'resize', width: 17, height: 9 } as const, normalisation: NORM };
      assertNormalised(await prepareImage(png, opts), rgb, 255, NORM);
      assertNormalised(await prepareImage(new Uint8Array(png), opts), rgb, 255, NORM);
    });

    it('keeps full precision for 16-bit PNG (v/65535)', async () => {
      const rgb = gradientRgb16(8, 5);
      const png = await sharp(rgb, { raw: { width: 8, height: 5, channels: 3 } })
        .toColourspace('rgb16')
        .png()
        .toBuffer();
      assert.equal((await sharp(png).metadata()).depth, 'ushort');
      const img = await prepareImage(png, {
        size: { kind: 'resize', width: 8, height: 5 },
        normalisation: NORM,
      });
      assertNormalised(img, rgb, 65535, NORM);
    });

    it('replicates 8-bit and 16-bit greyscale to three channels', async () => {
      const grey = Buffer.from(Array.from({ length: 6 * 4 }, (_, i) => i * 10));
      const png = await sharp(grey, { raw: { width: 6, height: 4, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer();
      assert.equal((await sharp(png).metadata()).channels, 1);
      const img = await prepareImage(png, {
        size: { kind: 'resize', width: 6, height: 4 },
        normalisation: UNIT,
      });
      assertNormalised(
        img,
        Array.from(grey).flatMap((v) => [v, v, v]),
        255,
        UNIT,
      );

      const grey16 = new Uint16Array(Array.from({ length: 6 * 4 }, (_, i) => i * 2711 + 5));
      const png16 = await sharp(grey16, { raw: { width: 6, height: 4, channels: 1 } })
        .toColourspace('grey16')
        .png()
        .toBuffer();
      const img16 = await prepareImage(png16, {
        size: { kind: 'resize', width: 6, height: 4 },
        normalisation: NORM,
      });
      assertNormalised(
        img16,
        Array.from(grey16).flatMap((v) => [v, v, v]),
        65535,
        NORM,
      );
    });

    it('composites alpha over black (opaque pixels unchanged)', async () => {
      // opaque, fully transparent, half transparent
      const rgba = Buffer.from([10, 20, 30, 255, 200, 100, 50, 0, 200, 100, 50, 128]);
      const png = await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } })
        .png()
        .toBuffer();
      const img = await prepareImage(png, {
        size: { kind: 'resize', width: 3, height: 1 },
        normalisation: UNIT,
      });
      const expected = [10, 20, 30, 0, 0, 0, 100, 50, 25];
      assertNormalised(img, expected, 255, UNIT, 1.5 / 255);
      // The same pixels as a RawImage give the same result.
      const raw = await prepareImage(
        { data: rgba, width: 3, height: 1, channels: 4 },
        { size: { kind: 'resize', width: 3, height: 1 }, normalisation: UNIT },
      );
      assert.deepEqual(raw.data, img.data);
      // Grey + alpha raw.
      const ga = await prepareImage(
        { data: new Uint8Array([40, 255, 90, 0]), width: 2, height: 1, channels: 2 },
        { size: { kind: 'resize', width: 2, height: 1 }, normalisation: UNIT },
      );
      assertNormalised(ga, [40, 40, 40, 0, 0, 0], 255, UNIT);
    });

    it('reads raw Uint16 and Float32 in [0,1] at 16-bit precision', async () => {
      const u16 = gradientRgb16(7, 3);
      const size = { kind: 'resize', width: 7, height: 3 } as const;
      const a = await prepareImage(
        { data: u16, width: 7, height: 3, channels: 3 },
        { size, normalisation: NORM },
      );
      assertNormalised(a, u16, 65535, NORM);
      const f32 = Float32Array.from(u16, (v) => v / 65535);
      const b = await prepareImage(
        { data: f32, width: 7, height: 3, channels: 3 },
        { size, normalisation: NORM },
      );
      assertNormalised(b, u16, 65535, NORM);
    });

    it('decodes lossless TIFF, lossless WebP and the first frame of a GIF', async () => {
      const rgb = gradientRgb8(10, 6);
      const raw = { raw: { width: 10, height: 6, channels: 3 as const } };
      const size = { kind: 'resize', width: 10, height: 6 } as const;
      const tiff = await sharp(rgb, raw).tiff({ compression: 'lzw' }).toBuffer();
      assertNormalised(await prepareImage(tiff, { size, normalisation: NORM }), rgb, 255, NORM);
      const webp = await sharp(rgb, raw).webp({ lossless: true }).toBuffer();
      assertNormalised(await prepareImage(webp, { size, normalisation: NORM }), rgb, 255, NORM);

      // Two 4x2 frames: red then blue. Only the red one must come out.
      const frames = Buffer.alloc(4 * 4 * 3);
      for (let i = 0; i < 16; i++) frames.set(i < 8 ? [255, 0, 0] : [0, 0, 255], i * 3);
      const gif = await sharp(frames, { raw: { width: 4, height: 4, channels: 3, pageHeight: 2 } })
        .gif({ dither: 0 })
        .toBuffer();
      const img = await prepareImage(gif, {
        size: { kind: 'resize', width: 4, height: 2 },
        normalisation: UNIT,
      });
      assertNormalised(
        img,
        Array.from({ length: 8 }).flatMap(() => [255, 0, 0]),
        255,
        UNIT,
      );
    });

    it('converts CMYK JPEG to sRGB', async () => {
      const cmyk = await sharp({
        create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } },
      })
        .toColourspace('cmyk')
        .jpeg({ quality: 95 })
        .toBuffer();
      assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
      const img = await prepareImage(cmyk, {
        size: { kind: 'resize', width: 8, height: 8 },
        normalisation: UNIT,
      });
      assert.ok(at(img, 0, 4, 4) > 0.8, `red ${at(img, 0, 4, 4)}`);
      assert.ok(at(img, 1, 4, 4) < 0.2 && at(img, 2, 4, 4) < 0.2);
    });

    it('applies EXIF orientation before sizing (orientation 6 = 90 degrees clockwise)', async () => {
      // 40x20 stored: left half red, right half blue. Displayed: 20x40, red on top, blue below.
      const stored = Buffer.alloc(40 * 20 * 3);
      for (let y = 0; y < 20; y++) {
        for (let x = 0; x < 40; x++) stored.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
      }
      const jpeg = await sharp(stored, { raw: { width: 40, height: 20, channels: 3 } })
        .jpeg({ quality: 95 })
        .withMetadata({ orientation: 6 })
        .toBuffer();
      assert.equal((await sharp(jpeg).metadata()).orientation, 6);
      const img = await prepareImage(jpeg, {
        size: { kind: 'resize', width: 20, height: 40 },
        normalisation: UNIT,
      });
      assert.deepEqual(
        [img.geometry.originalWidth, img.geometry.originalHeight, img.geometry.scaleX, img.geometry.scaleY],
        [20, 40, 1, 1],
      );
      assert.ok(at(img, 0, 10, 5) > 0.8 && at(img, 2, 10, 5) < 0.2, 'top is red');
      assert.ok(at(img, 2, 10, 35) > 0.8 && at(img, 0, 10, 35) < 0.2, 'bottom is blue');
    });

    it('reads a file path', async () => {
      const rgb = gradientRgb8(9, 7);
      const file = path.join(tmpDir, 'grad.png');
      await sharp(rgb, { raw: { width: 9, height: 7, channels: 3 } })
        .png()
        .toFile(file);
      const img = await prepareImage(file, {
        size: { kind: 'resize', width: 9, height: 7 },
        normalisation: NORM,
      });
      assertNormalised(img, rgb, 255, NORM);
    });
  });

  describe('BMP (own decoder)', () => {
    const width = 3; // 9 bytes per 24-bit row -> 3 bytes of padding
    const height = 2;
    const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const size = { kind: 'resize', width, height } as const;

    it('decodes 24-bit bottom-up and top-down', async () => {
      for (const topDown of [false, true]) {
        const bmp = buildBmp({ width, height, bpp: 24, pixels: rgb, topDown });
        assert.deepEqual(decodeBmp(bmp).data, rgb);
        assertNormalised(await prepareImage(bmp, { size, normalisation: NORM }), rgb, 255, NORM);
      }
    });

    it('decodes 32-bit, ignoring the unused fourth byte', async () => {
      const bmp = buildBmp({ width, height, bpp: 32, pixels: rgb });
      assertNormalised(await prepareImage(bmp, { size, normalisation: NORM }), rgb, 255, NORM);
    });

    it('decodes 8-bit palette', async () => {
      const palette = [
        [0, 0, 0],
        [255, 128, 7],
        [12, 34, 56],
      ];
      const indices = [1, 2, 0, 0, 1, 2];
      const bmp = buildBmp({ width, height, bpp: 8, palette, indices });
      const expected = indices.flatMap((i) => palette[i]);
      assertNormalised(await prepareImage(bmp, { size, normalisation: NORM }), expected, 255, NORM);
    });

    it('refuses truncated and RLE-compressed BMP clearly', async () => {
      const bmp = buildBmp({ width, height, bpp: 24, pixels: rgb });
      await rejects(
        prepareImage(bmp.subarray(0, bmp.length - 5), { size, normalisation: NORM }),
        'CORRUPT',
        /truncated or corrupt image/,
      );
      const rle = Buffer.from(bmp);
      rle.writeUInt32LE(1, 30); // BI_RLE8
      await rejects(
        prepareImage(rle, { size, normalisation: NORM }),
        'UNSUPPORTED',
        /unsupported format.*compressed BMP/,
      );
      const huge = Buffer.from(bmp);
      huge.writeInt32LE(30000, 18);
      huge.writeInt32LE(30000, 22);
      await rejects(
        prepareImage(huge, { size, normalisation: NORM }),
        'TOO_LARGE',
        /image too large: 30000x30000/,
      );
    });
  });

  describe('size protocols and geometry', () => {
    let png640x480: Buffer;
    before(async () => {
      png640x480 = await sharp(gradientRgb8(640, 480), { raw: { width: 640, height: 480, channels: 3 } })
        .png()
        .toBuffer();
    });

    it('resize squashes to exactly WxH, non-square too', async () => {
      const img = await prepareImage(png640x480, {
        size: { kind: 'resize', width: 320, height: 256 },
        normalisation: NORM,
      });
      assert.equal(img.width, 320);
      assert.equal(img.height, 256);
      assert.equal(img.data.length, 3 * 320 * 256);
      assert.deepEqual(img.geometry, {
        originalWidth: 640,
        originalHeight: 480,
        left: 0,
        top: 0,
        scaleX: 2,
        scaleY: 480 / 256,
      });
    });

    it('resize-crop scales the shorter side then centre-crops (landscape, square crop)', async () => {
      const img = await prepareImage(png640x480, {
        size: { kind: 'resize-crop', resize: 256, width: 224, height: 224 },
        normalisation: NORM,
      });
      assert.equal(img.width, 224);
      assert.equal(img.height, 224);
      // torchvision: long side int(256 * 640 / 480) = 341; crop offsets round((341-224)/2) = 58 (half to even),
      // (256-224)/2 = 16.
      const sx = 640 / 341;
      const sy = 480 / 256;
      assert.deepEqual(img.geometry, {
        originalWidth: 640,
        originalHeight: 480,
        left: 58 * sx,
        top: 16 * sy,
        scaleX: sx,
        scaleY: sy,
      });
    });

    it('resize-crop with a non-square crop on a portrait image', async () => {
      const portrait = await sharp(gradientRgb8(300, 500), { raw: { width: 300, height: 500, channels: 3 } })
        .png()
        .toBuffer();
      const img = await prepareImage(portrait, {
        size: { kind: 'resize-crop', resize: 150, width: 120, height: 100 },
        normalisation: NORM,
      });
      assert.equal(img.width, 120);
      assert.equal(img.height, 100);
      // resized 150 x 250, scale exactly 2; crop offsets 15, 75.
      assert.deepEqual(img.geometry, {
        originalWidth: 300,
        originalHeight: 500,
        left: 30,
        top: 150,
        scaleX: 2,
        scaleY: 2,
      });
    });

    it('resize-crop takes exactly the centre pixels when no scaling is needed', async () => {
      const rgb = gradientRgb8(300, 256);
      const png = await sharp(rgb, { raw: { width: 300, height: 256, channels: 3 } })
        .png()
        .toBuffer();
      const img = await prepareImage(png, {
        size: { kind: 'resize-crop', resize: 256, width: 224, height: 200 },
        normalisation: NORM,
      });
      const left = 38; // (300 - 224) / 2
      const top = 28; // (256 - 200) / 2
      assert.equal(img.geometry.left, left);
      assert.equal(img.geometry.top, top);
      const expected: number[] = [];
      for (let y = 0; y < 200; y++) {
        for (let x = 0; x < 224; x++) {
          const i = ((y + top) * 300 + x + left) * 3;
          expected.push(rgb[i], rgb[i + 1], rgb[i + 2]);
        }
      }
      assertNormalised(img, expected, 255, NORM);
    });

    it('bilinear downscale keeps pixel centres aligned (half-pixel convention)', async () => {
      // Horizontal ramp v = 2x + 40 over 64 px; 2x reduction samples source position 2x' + 0.5.
      const w = 64;
      const h = 8;
      const rgb = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) rgb.fill(2 * x + 40, (y * w + x) * 3, (y * w + x) * 3 + 3);
      const img = await prepareImage(
        { data: rgb, width: w, height: h, channels: 3 },
        { size: { kind: 'resize', width: 32, height: 4 }, normalisation: UNIT },
      );
      for (let x = 2; x < 30; x++) {
        const expected = (4 * x + 41) / 255;
        assert.ok(
          Math.abs(at(img, 1, x, 2) - expected) <= 1 / 255 + 1e-6,
          `x=${x}: ${at(img, 1, x, 2) * 255}`,
        );
      }
    });

    it('resize-crop follows EXIF orientation for the geometry', async () => {
      const jpeg = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#808080' } })
        .jpeg()
        .withMetadata({ orientation: 8 })
        .toBuffer();
      const img = await prepareImage(jpeg, {
        size: { kind: 'resize-crop', resize: 150, width: 150, height: 150 },
        normalisation: NORM,
      });
      // Displayed 300 x 400 -> resized 150 x 200 -> crop top 25.
      assert.deepEqual(img.geometry, {
        originalWidth: 300,
        originalHeight: 400,
        left: 0,
        top: 50,
        scaleX: 2,
        scaleY: 2,
      });
    });
  });

  describe('errors', () => {
    const opts = { size: { kind: 'resize', width: 8, height: 8 } as const, normalisation: NORM };

    it('empty input (0 bytes), buffer or file', async () => {
      await rejects(prepareImage(Buffer.alloc(0), opts), 'EMPTY', /^empty input \(0 bytes\)/);
      const file = path.join(tmpDir, 'empty.png');
      await fs.writeFile(file, '');
      await rejects(prepareImage(file, opts), 'EMPTY', /empty input \(0 bytes\).*empty\.png/);
    });

    it('text file is not an image', async () => {
      const file = path.join(tmpDir, 'notes.txt');
      await fs.writeFile(file, 'this is not an image\n');
      await rejects(
        prepareImage(file, opts),
        'UNSUPPORTED',
        /not an image or unsupported format: .*notes\.txt/,
      );
      await rejects(
        prepareImage(Buffer.from('hello'), opts),
        'UNSUPPORTED',
        /not an image or unsupported format/,
      );
    });

    it('missing file and directory', async () => {
      const missing = path.join(tmpDir, 'nope', 'missing.png');
      await rejects(
        prepareImage(missing, opts),
        'NOT_FOUND',
        new RegExp(`^file not found: ${missing.replace(/[.\\]/g, '\\$&')}$`),
      );
      await rejects(prepareImage(tmpDir, opts), 'UNREADABLE', /is a directory, not a regular file/);
    });

    it('truncated PNG', async () => {
      const png = await sharp({
        create: {
          width: 64,
          height: 64,
          channels: 3,
          background: '#000',
          noise: { type: 'gaussian', mean: 128, sigma: 40 },
        },
      })
        .png()
        .toBuffer();
      await rejects(
        prepareImage(png.subarray(0, png.length >> 1), opts),
        'CORRUPT',
        /^truncated or corrupt image/,
      );
    });

    it('refuses a declared-huge image from its header, and honours maxPixels', async () => {
      await rejects(
        prepareImage(pngClaiming(30000, 30000), opts),
        'TOO_LARGE',
        /^image too large: 30000x30000 exceeds 100000000 pixels$/,
      );
      const small = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#000' } })
        .png()
        .toBuffer();
      await rejects(
        prepareImage(small, { ...opts, maxPixels: 199 }),
        'TOO_LARGE',
        /20x10 exceeds 199 pixels/,
      );
      await prepareImage(small, { ...opts, maxPixels: 200 });
      await rejects(
        prepareImage(
          { data: new Uint8Array(300), width: 10, height: 10, channels: 3 },
          { ...opts, maxPixels: 99 },
        ),
        'TOO_LARGE',
        /10x10 exceeds 99/,
      );
    });

    it('raw images with NaN, Infinity, out-of-range floats or bad shapes', async () => {
      const f = new Float32Array(4 * 3);
      f[5] = NaN;
      await rejects(
        prepareImage({ data: f, width: 2, height: 2, channels: 3 }, opts),
        'INVALID_RAW',
        /NaN at index 5/,
      );
      f[5] = Infinity;
      await rejects(
        prepareImage({ data: f, width: 2, height: 2, channels: 3 }, opts),
        'INVALID_RAW',
        /Infinity at index 5/,
      );
      f[5] = 255;
      await rejects(
        prepareImage({ data: f, width: 2, height: 2, channels: 3 }, opts),
        'INVALID_RAW',
        /outside \[0, 1\]/,
      );
      await rejects(
        prepareImage({ data: new Uint8Array(11), width: 2, height: 2, channels: 3 }, opts),
        'INVALID_RAW',
        /11 values, expected 2x2x3 = 12/,
      );
      await rejects(
        prepareImage(
          { data: new Uint8Array(10), width: 2, height: 1, channels: 5 } as unknown as RawImage,
          opts,
        ),
        'INVALID_RAW',
        /channels must be 1, 2, 3 or 4/,
      );
    });

    it('bad size protocol', async () => {
      await assert.rejects(
        prepareImage(Buffer.from('x'), {
          ...opts,
          size: { kind: 'resize-crop', resize: 100, width: 120, height: 80 },
        }),
        SizeSpecError,
      );
    });
  });

  describe('batchToTensor', () => {
    it('concatenates NCHW and rejects mixed sizes', async () => {
      const size = { kind: 'resize', width: 4, height: 3 } as const;
      const a = await prepareImage(
        { data: gradientRgb8(4, 3), width: 4, height: 3, channels: 3 },
        { size, normalisation: NORM },
      );
      const b = await prepareImage(
        { data: gradientRgb8(5, 5), width: 5, height: 5, channels: 3 },
        { size, normalisation: NORM },
      );
      const t = batchToTensor([a, b]);
      assert.equal(t.length, 2 * 3 * 3 * 4);
      assert.deepEqual(t.subarray(0, 36), a.data);
      assert.deepEqual(t.subarray(36), b.data);
      const c = await prepareImage(
        { data: gradientRgb8(4, 3), width: 4, height: 3, channels: 3 },
        { size: { kind: 'resize', width: 3, height: 4 }, normalisation: NORM },
      );
      assert.throws(() => batchToTensor([a, c]), /image 1 is 3x4 but image 0 is 4x3/);
      assert.throws(() => batchToTensor([]), /empty batch/);
    });
  });
});
