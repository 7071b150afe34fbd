/**
 * Reading a data set in the MVTec AD layout:
 *   train/good/*                       good images for fitting
 *   test/<good|defect type>/*          test images, labelled by folder
 *   ground_truth/<defect type>/<stem>_mask.png   masks of defective test images
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listImageFiles } from '../image/image-files';

export interface TestImage {
  file: string;
  /** 'good' or the defect type (folder name) */
  label: string;
  /** mask file for defective images */
  maskFile?: string;
}

export interface CategoryDataset {
  root: string;
  train: string[];
  test: TestImage[];
}

function isDir(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** The mask of a test image: `<stem>_mask.<any image extension>`, PNG preferred. */
function findMask(root: string, label: string, file: string): string {
  const stem = path.parse(file).name;
  const dir = path.join(root, 'ground_truth', label);
  for (const ext of ['.png', '.bmp', '.tif', '.tiff', '.jpg']) {
    const candidate = path.join(dir, `${stem}_mask${ext}`);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`no mask for defective test image ${file}: expected ${path.join(dir, `${stem}_mask.png`)}`);
}

/** Lists a category folder; throws a clear error when the layout is not MVTec's. */
export function readCategory(root: string, opts: { requireMasks?: boolean } = {}): CategoryDataset {
  const trainDir = path.join(root, 'train', 'good');
  const testDir = path.join(root, 'test');
  if (!isDir(root)) throw new Error(`no such folder: ${root}`);
  if (!isDir(trainDir)) throw new Error(`${root} has no train/good folder (MVTec AD layout expected)`);
  if (!isDir(testDir)) throw new Error(`${root} has no test folder (MVTec AD layout expected)`);
  const train = listImageFiles(trainDir);
  const test: TestImage[] = [];
  const labels = fs
    .readdirSync(testDir)
    .filter((l) => isDir(path.join(testDir, l)))
    .sort();
  for (const label of labels) {
    for (const file of listImageFiles(path.join(testDir, label))) {
      if (label === 'good') test.push({ file, label });
      else
        test.push({
          file,
          label,
          maskFile: opts.requireMasks === false ? undefined : findMask(root, label, file),
        });
    }
  }
  if (train.length === 0) throw new Error(`no training images in ${trainDir}`);
  if (test.length === 0) throw new Error(`no test images in ${testDir}`);
  return { root, train, test };
}
