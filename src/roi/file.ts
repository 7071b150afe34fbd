/** Reading a region file from disk: JSON (by content) or a mask image (anything sharp decodes). */
import { promises as fsp } from 'node:fs';
import { openImagePipeline } from '../image';
import { maskSpec, parseRoiJson, RoiError, type RoiSpec } from './spec';

/** A JSON region file is small; anything larger is not one. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Reads `file`: JSON when it starts with `{`, else a mask image (white = inspect). */
export async function readRoiFile(file: string, maxPixels?: number): Promise<RoiSpec> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    throw new RoiError(`cannot read the region file ${file}: ${(err as Error).message}`);
  }
  if (bytes.length === 0) throw new RoiError(`the region file ${file} is empty`);
  const head = bytes.subarray(0, 64).toString('utf8').trimStart();
  if (head.startsWith('{') || file.toLowerCase().endsWith('.json')) {
    if (bytes.length > MAX_JSON_BYTES) throw new RoiError(`the region file ${file} is too large for JSON`);
    return parseRoiJson(bytes.toString('utf8'), `the region file ${file}`);
  }
  try {
    const pipeline = await openImagePipeline(bytes, maxPixels);
    const { data, info } = await pipeline
      .rotate()
      .greyscale()
      .toColourspace('b-w')
      .raw({ depth: 'uchar' })
      .toBuffer({
        resolveWithObject: true,
      });
    const grey = new Uint8Array(info.width * info.height);
    for (let i = 0; i < grey.length; i++) grey[i] = data[i * info.channels];
    return maskSpec(grey, info.width, info.height);
  } catch (err) {
    if (err instanceof RoiError) throw new RoiError(`${file}: ${err.message}`);
    throw new RoiError(
      `the region file ${file} is neither JSON nor a readable mask image: ${(err as Error).message}`,
    );
  }
}
