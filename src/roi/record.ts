/**
 * What a model stores about its regions (`roi` in the model header, covered by the header's
 * checksum): each region's mask at the input size, run-length coded, and the grid cells the
 * Gaussians were fitted for. Read from a file, so every field is checked before use.
 */
import { insideCells, unionMask, type InputMasks } from './raster';
import { MAX_NAME_LENGTH, MAX_REGIONS } from './spec';

export interface RoiRecord {
  /** the model input size the masks are at */
  input: { width: number; height: number };
  /** the reference image's size the region file was drawn on */
  source: { width: number; height: number };
  /** per region: runs of outside / inside pixels, alternating, starting with outside, row-major */
  regions: { name: string; runs: number[] }[];
  /** grid cells with a Gaussian (ascending): the model's cells, in this order */
  cells: number[];
}

/** Alternating run lengths of 0s and 1s, starting with 0s (possibly an empty run). */
export function encodeRuns(mask: Uint8Array): number[] {
  const runs: number[] = [];
  let value = 0;
  let length = 0;
  for (const v of mask) {
    if (v === value) length++;
    else {
      runs.push(length);
      value = v;
      length = 1;
    }
  }
  runs.push(length);
  return runs;
}

export function decodeRuns(runs: number[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  runs.forEach((n, i) => {
    if (i % 2 === 1) out.fill(1, at, at + n);
    at += n;
  });
  return out;
}

export function makeRoiRecord(
  masks: InputMasks,
  source: { width: number; height: number },
  grid: { width: number; height: number },
): RoiRecord {
  return {
    input: { width: masks.width, height: masks.height },
    source,
    regions: masks.regions.map((r) => ({ name: r.name, runs: encodeRuns(r.mask) })),
    cells: insideCells(unionMask(masks), masks.width, masks.height, grid),
  };
}

export function recordMasks(r: RoiRecord): InputMasks {
  const size = r.input.width * r.input.height;
  return {
    width: r.input.width,
    height: r.input.height,
    regions: r.regions.map((g) => ({ name: g.name, mask: decodeRuns(g.runs, size) })),
  };
}

const isCount = (v: unknown, min = 1) => Number.isSafeInteger(v) && (v as number) >= min;

function runsProblem(runs: unknown, size: number): string | undefined {
  if (!Array.isArray(runs) || runs.length === 0 || runs.length > size + 1)
    return 'runs must be a list of lengths';
  let total = 0;
  let inside = 0;
  for (let i = 0; i < runs.length; i++) {
    if (!isCount(runs[i], 0)) return 'runs must be whole numbers';
    total += runs[i] as number;
    if (i % 2 === 1) inside += runs[i] as number;
  }
  if (total !== size) return `runs cover ${total} pixels, not the ${size} of the input`;
  if (inside === 0) return 'a region is empty';
  return undefined;
}

/**
 * Why a header's `roi` field cannot be used (undefined: it can). `input` and `grid` are the
 * header's: the masks must be at the model's input size and the cells on its grid.
 */
export function roiRecordProblem(
  v: unknown,
  input: { width: number; height: number },
  grid: { width: number; height: number },
): string | undefined {
  if (typeof v !== 'object' || v === null) return 'roi must be an object';
  const r = v as Partial<RoiRecord>;
  if (!r.input || r.input.width !== input.width || r.input.height !== input.height)
    return `roi masks are not at the model's ${input.width}x${input.height} input size`;
  if (!r.source || !isCount(r.source.width) || !isCount(r.source.height)) return 'roi source size is invalid';
  if (!Array.isArray(r.regions) || r.regions.length === 0 || r.regions.length > MAX_REGIONS)
    return `roi must have 1 to ${MAX_REGIONS} regions`;
  const names = new Set<string>();
  for (const g of r.regions) {
    if (typeof g !== 'object' || g === null) return 'roi region must be an object';
    if (typeof g.name !== 'string' || !g.name || g.name.length > MAX_NAME_LENGTH || names.has(g.name))
      return 'roi region names must be distinct non-empty texts';
    names.add(g.name);
    const problem = runsProblem(g.runs, input.width * input.height);
    if (problem) return `roi region '${g.name}': ${problem}`;
  }
  const cells = grid.width * grid.height;
  if (!Array.isArray(r.cells) || r.cells.length === 0 || r.cells.length > cells)
    return 'roi cells must be a non-empty list';
  for (let i = 0; i < r.cells.length; i++) {
    const c = r.cells[i];
    if (!isCount(c, 0) || c >= cells || (i > 0 && c <= r.cells[i - 1]))
      return 'roi cells must be ascending grid cell indices';
  }
  return undefined;
}
