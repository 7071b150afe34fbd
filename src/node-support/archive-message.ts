/**
 * What the padim-archive node keeps of a message: the decision (msg.result, from the threshold
 * node) and, for the decisions its setting names, the image (msg.image: bytes, or a file path
 * checked against the allow-list) and the heatmap (encoded bytes at a message property, where
 * the heatmap node puts them).
 */
import type { ArchiveFile } from '../archive';
import { readRegularFile } from '../files/regular-file';
import { sniffImageKind } from './image-input';
import { assertValidResult, type InspectionResult } from '../result/result';
import { SupportError } from './errors';

/** Which decisions keep their image and heatmap. */
export type ArchiveFilesSetting = 'ng' | 'all' | 'none';
export const ARCHIVE_FILES_SETTINGS: readonly ArchiveFilesSetting[] = ['ng', 'all', 'none'];

export interface ArchiveMessageOptions {
  files: ArchiveFilesSetting;
  /** checks (and resolves) an image path from the message: the allow-list */
  checkPath: (file: string) => string;
  /** a file larger than this is refused before it is read (the archive's budget) */
  maxFileBytes: number;
}

/** File name extension for encoded image bytes; '.bin' when they are not a known image type. */
export function imageExtension(data: Uint8Array): string {
  const kind = sniffImageKind(data);
  return kind === 'jpeg' ? '.jpg' : kind === 'tiff' ? '.tif' : kind ? `.${kind}` : '.bin';
}

const isBytes = (v: unknown): v is Buffer => Buffer.isBuffer(v);

/** The decision of a message (its msg.result), or an error saying where it should have come from. */
export function resultOf(result: unknown): InspectionResult {
  if (typeof result !== 'object' || result === null) throw new SupportError('archive.noResult', {});
  assertValidResult(result);
  return result;
}

/**
 * The files to keep with `result`: the image from `image` (msg.image, or msg.filename when there
 * are no bytes), the heatmap from `heatmap` when it is encoded bytes. Raw pixel images are not
 * kept (they would need encoding; the heatmap node's output is).
 */
export async function archiveFiles(
  result: InspectionResult,
  image: unknown,
  heatmap: unknown,
  opts: ArchiveMessageOptions,
): Promise<ArchiveFile[]> {
  if (opts.files === 'none' || (opts.files === 'ng' && result.decision !== 'NG')) return [];
  const files: ArchiveFile[] = [];
  let bytes: Buffer | undefined;
  if (isBytes(image)) bytes = image;
  else if (typeof image === 'string' && image)
    bytes = await readRegularFile(opts.checkPath(image), opts.maxFileBytes, 'image file');
  if (bytes) files.push({ kind: 'image', data: bytes, ext: imageExtension(bytes) });
  if (isBytes(heatmap)) files.push({ kind: 'heatmap', data: heatmap, ext: imageExtension(heatmap) });
  return files;
}
