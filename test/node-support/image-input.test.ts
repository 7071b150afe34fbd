import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import sharp from 'sharp';
import { imageFromPayload, payloadLooksLikeImage, sniffImageKind } from '../../src/node-support/image-input';
import { prepareImage } from '../../src/image';
import { IMAGENET_NORMALISATION, type RawImage } from '../../src/types';
import { tempDir } from '../helpers';

describe('image input from msg.payload', () => {
  const dir = tempDir();
  let png: Buffer;
  let file: string;
  before(async () => {
    png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    file = path.join(dir, 'a.png');
    fs.writeFileSync(file, png);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('recognises image formats by their first bytes', async () => {
    assert.equal(sniffImageKind(png), 'png');
    const jpeg = await sharp(png).jpeg().toBuffer();
    assert.equal(sniffImageKind(jpeg), 'jpeg');
    assert.equal(sniffImageKind(Buffer.from('BM0000')), 'bmp');
    assert.equal(sniffImageKind(Buffer.from('hello world')), undefined);
  });

  it('takes a Buffer, a file path, a data URL and base64 text', () => {
    assert.equal(imageFromPayload(png).input, png);
    assert.deepEqual(imageFromPayload(file), { input: file, filename: file });
    const fromUrl = imageFromPayload(`data:image/png;base64,${png.toString('base64')}`);
    assert.ok(Buffer.isBuffer(fromUrl.input) && fromUrl.input.equals(png));
    const fromB64 = imageFromPayload(png.toString('base64'));
    assert.ok(Buffer.isBuffer(fromB64.input) && fromB64.input.equals(png));
  });

  it('takes raw pixels, also typed arrays made in another context (a Function node)', async () => {
    const local = imageFromPayload({
      data: new Float32Array(12).fill(0.5),
      width: 2,
      height: 2,
      channels: 3,
    });
    assert.ok(typeof local.input === 'object' && 'width' in local.input);
    // Node-RED's Function node runs its code in a vm context: its typed arrays fail instanceof here
    const foreign = vm.runInNewContext(
      '({ raw: { data: new Uint8Array(12).fill(200), width: 2, height: 2, channels: 3 }, png: new Uint8Array(bytes) })',
      { bytes: [...png] },
    ) as { raw: unknown; png: unknown };
    assert.equal(
      (foreign.raw as { data: unknown }).data instanceof Uint8Array,
      false,
      'really from another context',
    );
    const raw = imageFromPayload(foreign.raw).input as RawImage;
    assert.ok(raw.data instanceof Uint8Array && raw.data[0] === 200);
    const prepared = await prepareImage(raw, {
      size: { kind: 'resize', width: 2, height: 2 },
      normalisation: IMAGENET_NORMALISATION,
    });
    assert.equal(prepared.data.length, 12);
    assert.ok(Buffer.isBuffer(imageFromPayload(foreign.png).input), 'encoded bytes from another context');
  });

  it('refuses anything else with a message saying what was expected', () => {
    assert.throws(() => imageFromPayload(42), /must be an image.*it is number/);
    assert.throws(() => imageFromPayload(Buffer.alloc(0)), /empty Buffer/);
    assert.throws(() => imageFromPayload('/no/such/file.png'), /neither an existing image file/);
    assert.throws(() => imageFromPayload(dir), /is a folder/);
    assert.throws(
      () => imageFromPayload(Buffer.from('not an image at all').toString('base64')),
      /not of an image/,
    );
  });

  it('tells images from triggers', () => {
    assert.equal(payloadLooksLikeImage(png), true);
    assert.equal(payloadLooksLikeImage(file), true);
    assert.equal(payloadLooksLikeImage(Date.now()), false);
    assert.equal(payloadLooksLikeImage(''), false);
    assert.equal(payloadLooksLikeImage({ fit: true }), false);
  });
});
