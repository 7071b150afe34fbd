import assert from 'node:assert/strict';
import sharp from 'sharp';
import { jpegDataUrl, previewJpeg } from '../src/render/preview';

describe('heatmap preview', () => {
  const picture = (width: number, height: number) => ({
    data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7) % 256),
    width,
    height,
  });

  it('is a JPEG scaled down to the width asked, aspect kept', async () => {
    const meta = await sharp(await previewJpeg(picture(200, 100), 50)).metadata();
    assert.deepEqual(
      { format: meta.format, width: meta.width, height: meta.height },
      {
        format: 'jpeg',
        width: 50,
        height: 25,
      },
    );
  });

  it('never enlarges a small picture', async () => {
    const meta = await sharp(await previewJpeg(picture(40, 30), 160)).metadata();
    assert.equal(meta.width, 40);
  });

  it('goes to the editor as a JPEG data URL', async () => {
    const jpeg = await previewJpeg(picture(8, 8), 8);
    const url = jpegDataUrl(jpeg);
    assert.match(url, /^data:image\/jpeg;base64,/);
    assert.ok(Buffer.from(url.split(',')[1], 'base64').equals(jpeg));
  });
});
