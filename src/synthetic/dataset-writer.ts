/**
 * Writes a synthetic data set in the MVTec AD layout: good training and test images, defective
 * test images and their masks, each image drawn from its own seed stream so a defect kind's
 * images do not depend on which others are asked for.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RawImage } from '../types';
import { isDefectKind } from './defect-drawers';
import { addDefect } from './defects';
import { checkSize } from './image-size';
import { maskToImage, writeImage } from './image-file';
import { DEFECT_KINDS, TEXTURE_KINDS, type DefectKind, type TextureKind } from './kinds';
import { deriveSeed } from './randomness';
import { generateTexture } from './textures';

export interface SyntheticDatasetOptions {
  texture: TextureKind;
  /** default 256 */
  width?: number;
  /** default: width */
  height?: number;
  /** good training images, default 40 */
  trainCount?: number;
  /** good test images, default 10 */
  testGoodCount?: number;
  /** test images per defect kind, default 8 */
  testDefectCount?: number;
  /** default DEFECT_KINDS */
  defects?: DefectKind[];
  /** default 0 */
  seed?: number;
  /** default 3 */
  channels?: 1 | 3;
  /** image file format; masks are always PNG. Default 'png' */
  format?: 'png' | 'jpg';
}

export interface SyntheticDatasetCounts {
  train: number;
  testGood: number;
  /** test images (and masks) per defect kind */
  testDefect: Partial<Record<DefectKind, number>>;
  /** all image files written (masks not included) */
  images: number;
  masks: number;
}

/** Seed streams: fixed numbers so a defect kind's images do not depend on which others are asked for. */
const STREAM_TRAIN = 1;
const STREAM_TEST_GOOD = 2;
const STREAM_DEFECT_BASE = 10;
const DEFECT_STREAM: Record<DefectKind, number> = {
  scratch: 0,
  spot: 1,
  missing: 2,
  colour: 3,
  crack: 4,
  fleck: 5,
};

function countOption(name: string, v: number | undefined, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

function fileName(index: number, ext: string): string {
  return `${String(index).padStart(3, '0')}.${ext}`;
}

/**
 * Writes a synthetic data set in the MVTec AD layout:
 * `train/good/000.png`, `test/good/000.png`, `test/<defect>/000.png` and
 * `ground_truth/<defect>/000_mask.png` (8-bit grey, 0/255, same size as the image).
 */
export async function writeSyntheticDataset(
  dir: string,
  opts: SyntheticDatasetOptions,
): Promise<{ dir: string; counts: SyntheticDatasetCounts }> {
  const { texture } = opts;
  if (!TEXTURE_KINDS.includes(texture)) {
    throw new RangeError(`unknown texture kind '${texture}'; expected one of ${TEXTURE_KINDS.join(', ')}`);
  }
  const width = opts.width ?? 256;
  const height = opts.height ?? width;
  checkSize(width, height);
  const trainCount = countOption('trainCount', opts.trainCount, 40);
  const testGoodCount = countOption('testGoodCount', opts.testGoodCount, 10);
  const testDefectCount = countOption('testDefectCount', opts.testDefectCount, 8);
  const defects = [...new Set(opts.defects ?? DEFECT_KINDS)];
  for (const d of defects) if (!isDefectKind(d)) throw new RangeError(`unknown defect kind '${d}'`);
  const seed = opts.seed ?? 0;
  const channels = opts.channels ?? 3;
  const format = opts.format ?? 'png';
  if (format !== 'png' && format !== 'jpg')
    throw new RangeError(`format must be 'png' or 'jpg', got ${format}`);

  const root = path.resolve(dir);
  // Encoding runs on libuv threads; cap the queue so a large set does not hold every image.
  const pending: Promise<void>[] = [];
  const enqueue = async (file: string, image: RawImage, fmt: 'png' | 'jpg'): Promise<void> => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    pending.push(writeImage(file, image, fmt));
    if (pending.length >= 16) await Promise.all(pending.splice(0));
  };
  const good = (stream: number, i: number) =>
    generateTexture(texture, width, height, deriveSeed(seed, stream, i), { channels });

  for (let i = 0; i < trainCount; i++) {
    await enqueue(path.join(root, 'train', 'good', fileName(i, format)), good(STREAM_TRAIN, i), format);
  }
  for (let i = 0; i < testGoodCount; i++) {
    await enqueue(path.join(root, 'test', 'good', fileName(i, format)), good(STREAM_TEST_GOOD, i), format);
  }
  const testDefect: Partial<Record<DefectKind, number>> = {};
  for (const defect of defects) {
    const stream = STREAM_DEFECT_BASE + 2 * DEFECT_STREAM[defect];
    for (let i = 0; i < testDefectCount; i++) {
      const { image, mask } = addDefect(good(stream, i), defect, deriveSeed(seed, stream + 1, i));
      await enqueue(path.join(root, 'test', defect, fileName(i, format)), image, format);
      const maskFile = path.join(root, 'ground_truth', defect, `${String(i).padStart(3, '0')}_mask.png`);
      await enqueue(maskFile, maskToImage(mask, width, height), 'png');
    }
    testDefect[defect] = testDefectCount;
  }
  await Promise.all(pending);

  const defectTotal = defects.length * testDefectCount;
  return {
    dir: root,
    counts: {
      train: trainCount,
      testGood: testGoodCount,
      testDefect,
      images: trainCount + testGoodCount + defectTotal,
      masks: defectTotal,
    },
  };
}
