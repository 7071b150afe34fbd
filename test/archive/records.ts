/** Decisions for the archive tests: part i, every third one NG with an image and a heatmap. */
import type { ArchiveFile } from '../../src/archive';
import { buildResult, type InspectionResult } from '../../src/result/result';

/** A recognisable fake PNG of `bytes` bytes (the archive does not decode images). */
export function fakePng(bytes: number, fill: number): Buffer {
  const b = Buffer.alloc(bytes, fill);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  return b;
}

export function testDecision(i: number): { result: InspectionResult; files: ArchiveFile[] } {
  const ng = i % 3 === 0;
  const result = buildResult({
    station: 'st-1',
    line: 'L1',
    image: `/cam/part-${i}.png`,
    ok: !ng,
    score: ng ? 20 + (i % 7) : 5 + (i % 5),
    threshold: 12,
    consecutiveNg: ng ? 1 : 0,
    alarm: ng,
    modelId: 'abcdef012345',
  });
  const files: ArchiveFile[] = ng
    ? [
        { kind: 'image', data: fakePng(1500 + (i % 200), i % 251), ext: '.png' },
        { kind: 'heatmap', data: fakePng(700, 7), ext: '.png' },
      ]
    : [];
  return { result, files };
}

/** The part number of a recorded image name (/cam/part-17.png -> 17). */
export function partOf(image: string | null): number {
  return Number(/part-(\d+)\.png$/.exec(image ?? '')?.[1] ?? NaN);
}
