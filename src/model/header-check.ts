/**
 * Sanity of a model file's header fields, checked before anything is allocated from them.
 *
 * The header checksum proves the header was not damaged, not that it is sane: anyone can write
 * a header and its checksum. So every field the loader or the scorer sizes memory by is checked
 * against the others (channels against the stages, dims against the channels, the input size
 * against the grid) and against the file's real size (the arrays the header declares must be in
 * the file), with the limits below. Unknown fields are left alone: newer writers add optional
 * fields, and a check for a new field is one more function in HEADER_CHECKS.
 */
import { totalmem } from 'node:os';
import type { ModelHeader } from './model';
import { packedSize } from './packed-triangle';
import { storageBytesPerCell } from './precision-storage';
import { validateNormalisation } from '../image';
import { SizeSpecError, validateSizeProtocol } from '../input';

/**
 * Channels of one backbone stage. The widest stage of the networks in use has 1024 (WideResNet50
 * layer3); 65536 leaves room for any real network while keeping D x d arrays far from exhausting memory.
 */
export const MAX_STAGE_CHANNELS = 65536;

/**
 * Input pixels per stage-1 grid cell, per side: the stage-1 stride. ResNets and MobileNets have 4
 * or 8; 32 allows any published backbone. A small grid with a huge input size (a header that makes
 * the first image tens of GB of activations) is refused by this.
 */
export const MAX_STAGE1_STRIDE = 32;

/** What the header is checked against besides itself. */
export interface HeaderContext {
  /** the model file's real size in bytes */
  fileBytes: number;
  /** names of the sections in the file's table */
  sectionNames: readonly string[];
  /**
   * memory the loaded model may take, in bytes; default the machine's physical memory (a model
   * that does not fit cannot be scored, and trying takes the process down)
   */
  memoryLimit?: number;
}

/** One check: a problem in words, or undefined when the fields it looks at are sane. */
type HeaderCheck = (h: ModelHeader, ctx: HeaderContext) => string | undefined;

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) > 0;
const isPositive = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;
const isHex64 = (s: unknown) => typeof s === 'string' && /^[0-9a-fA-F]{64}$/.test(s);

function checkBackbone(h: ModelHeader): string | undefined {
  const b = h.backbone;
  if (b === null || typeof b !== 'object') return 'backbone is missing';
  if (typeof b.id !== 'string' || b.id === '') return 'backbone.id must be a name';
  if (b.path !== undefined && (typeof b.path !== 'string' || b.path === ''))
    return 'backbone.path must be a file path';
  if (!isHex64(b.sha256)) return 'backbone.sha256 must be 64 hex digits';
  if (!Array.isArray(b.layers) || b.layers.length !== 3 || !b.layers.every((l) => typeof l === 'string'))
    return 'backbone.layers must be three tensor names';
  const c = b.stageChannels;
  if (!Array.isArray(c) || c.length !== 3 || !c.every((n) => isCount(n) && n <= MAX_STAGE_CHANNELS))
    return `backbone.stageChannels must be three whole numbers from 1 to ${MAX_STAGE_CHANNELS}`;
  return undefined;
}

function checkEmbedding(h: ModelHeader, ctx: HeaderContext): string | undefined {
  const e = h.embedding;
  if (e === null || typeof e !== 'object') return 'embedding is missing';
  const stages = h.backbone.stageChannels;
  const total = stages[0] + stages[1] + stages[2];
  if (e.totalChannels !== total)
    return `embedding.totalChannels ${String(e.totalChannels)} is not the sum of the stage channels (${total})`;
  if (!isCount(e.dims) || e.dims > total)
    return `embedding.dims ${String(e.dims)} must be a whole number from 1 to ${total}`;
  const r = e.reduction;
  if (r === null || typeof r !== 'object') return 'embedding.reduction is missing';
  switch (r.kind) {
    case 'all':
      return e.dims === total ? undefined : `embedding.dims must be ${total} with reduction 'all'`;
    case 'semi-orthogonal':
      return ctx.sectionNames.includes('projection')
        ? undefined
        : "reduction 'semi-orthogonal' needs the projection section";
    case 'random':
      return checkRandomIndices(r.indices, e.dims, total);
    default:
      return `embedding.reduction.kind '${String((r as { kind: unknown }).kind)}' is unknown`;
  }
}

/** The kept channels: dims of them, ascending, each a channel that exists. */
function checkRandomIndices(indices: unknown, dims: number, total: number): string | undefined {
  if (!Array.isArray(indices) || indices.length !== dims)
    return `embedding.reduction.indices must list ${dims} channels`;
  for (let i = 0; i < indices.length; i++) {
    const k: unknown = indices[i];
    if (!Number.isSafeInteger(k) || (k as number) < 0 || (k as number) >= total)
      return `embedding.reduction.indices[${i}] is not a channel of 0..${total - 1}`;
    if (i > 0 && (k as number) <= indices[i - 1])
      return 'embedding.reduction.indices must be ascending without repeats';
  }
  return undefined;
}

function checkInput(h: ModelHeader): string | undefined {
  const input = h.input;
  if (input === null || typeof input !== 'object') return 'input is missing';
  try {
    validateSizeProtocol(input.size);
    validateNormalisation(input.normalisation);
  } catch (err) {
    if (err instanceof SizeSpecError || err instanceof RangeError) return `input: ${err.message}`;
    throw err;
  }
  const auto = input.auto;
  if (auto !== undefined && (auto === null || !isCount(auto.short) || !isPositive(auto.aspect)))
    return 'input.auto must have a whole short side and a positive aspect';
  return undefined;
}

/** The grid is the stage-1 map of the input: at most MAX_STAGE1_STRIDE input pixels per cell side. */
function checkGrid(h: ModelHeader): string | undefined {
  const g = h.grid;
  if (g === null || typeof g !== 'object' || !isCount(g.height) || !isCount(g.width))
    return 'grid must have a whole height and width';
  const { width, height } = h.input.size;
  const ok = (side: number, cells: number) => cells <= side && side <= cells * MAX_STAGE1_STRIDE;
  if (!ok(width, g.width) || !ok(height, g.height))
    return (
      `input ${width}x${height} does not fit the ${g.width}x${g.height} grid ` +
      `(1 to ${MAX_STAGE1_STRIDE} input pixels per cell side)`
    );
  return undefined;
}

/** A compact model names its storage, and its sections are the factor's, not the float32 inverse's. */
function checkPrecisionStorage(h: ModelHeader, ctx: HeaderContext): string | undefined {
  const storage = h.precisionStorage;
  if (storage === undefined) return undefined;
  if (storage !== 'float16' && storage !== 'int8')
    return `precisionStorage ${JSON.stringify(storage)} must be 'float16' or 'int8'`;
  if (ctx.sectionNames.includes('precision'))
    return `precisionStorage '${storage}' with a float32 precision section (one or the other)`;
  return undefined;
}

/** The arrays the header declares must be in the file, and their expanded form in memory. */
function checkSizes(h: ModelHeader, ctx: HeaderContext): string | undefined {
  // with regions of interest the arrays hold their cells only (the record is checked in parseHeader)
  const cells = Array.isArray(h.roi?.cells) ? h.roi.cells.length : h.grid.height * h.grid.width;
  const d = h.embedding.dims;
  const operator = storageBytesPerCell(h.precisionStorage ?? 'float32', d);
  const inFile = cells * d * 8 + cells * operator.file;
  if (inFile > ctx.fileBytes)
    return `the header declares ${inFile} bytes of arrays, more than the file's ${ctx.fileBytes} bytes`;
  const inMemory =
    cells * d * 8 + cells * operator.memory + cells * packedSize(d) * 4 + h.embedding.totalChannels * d * 4;
  const limit = ctx.memoryLimit ?? totalmem();
  if (inMemory > limit)
    return `the model needs ${(inMemory / 2 ** 30).toFixed(1)} GiB of memory, more than the ${(limit / 2 ** 30).toFixed(1)} GiB here`;
  return undefined;
}

function checkStatistics(h: ModelHeader): string | undefined {
  if (!isPositive(h.eps)) return `eps ${String(h.eps)} must be a positive number`;
  if (!isCount(h.nTrain)) return `nTrain ${String(h.nTrain)} must be a whole number of images`;
  // text compares as "never above" and a negative one as "always above": both silently wrong
  if (!isPositive(h.threshold)) return `threshold ${String(h.threshold)} must be a positive number`;
  const s = h.trainScores;
  if (s === null || typeof s !== 'object') return 'trainScores is missing';
  for (const key of ['min', 'max', 'mean', 'std', 'p50', 'p90', 'p95', 'p99'] as const)
    if (typeof s[key] !== 'number' || !Number.isFinite(s[key])) return `trainScores.${key} must be a number`;
  return undefined;
}

function checkOptionalFields(h: ModelHeader): string | undefined {
  if (
    h.fitWarnings !== undefined &&
    !(Array.isArray(h.fitWarnings) && h.fitWarnings.every((w) => typeof w === 'string'))
  )
    return 'fitWarnings must be a list of texts';
  const k = h.shrinkage;
  if (
    k !== undefined &&
    !(k !== null && typeof k === 'object' && k.meanIntensity >= 0 && k.meanIntensity <= 1)
  )
    return 'shrinkage.meanIntensity must be from 0 to 1';
  return undefined;
}

/**
 * The stored held-out scores: the threshold node reads false-alarm rates from them and the
 * editor draws them, so text, NaN, a negative or unsorted score or a tail past the scores would
 * give a wrong threshold without any error.
 */
function checkCalibration(h: ModelHeader): string | undefined {
  const c = h.calibration;
  if (c === undefined) return undefined;
  if (c === null || typeof c !== 'object') return 'calibration must be an object';
  if (c.method !== 'held-out' && c.method !== 'in-sample')
    return "calibration.method must be 'held-out' or 'in-sample'";
  if (c.heldOut !== undefined && c.heldOut !== 'leave-one-out' && c.heldOut !== 'block')
    return "calibration.heldOut must be 'leave-one-out' or 'block'";
  const s = c.scores;
  if (!Array.isArray(s) || s.length === 0) return 'calibration.scores must be a list of scores';
  for (let i = 0; i < s.length; i++)
    if (typeof s[i] !== 'number' || !Number.isFinite(s[i]) || s[i] < 0 || (i > 0 && s[i] < s[i - 1]))
      return `calibration.scores[${i}] must be a number >= 0, in ascending order`;
  const t = c.tail;
  if (
    t !== undefined &&
    !(
      t !== null &&
      typeof t === 'object' &&
      t.kind === 'exponential' &&
      Number.isFinite(t.start) &&
      Number.isFinite(t.scale) &&
      t.scale >= 0 &&
      Number.isSafeInteger(t.exceedances) &&
      t.exceedances >= 1 &&
      t.exceedances <= s.length
    )
  )
    return 'calibration.tail must be an exponential tail (finite start, scale >= 0, 1 to N exceedances)';
  if (c.budget !== undefined && !(typeof c.budget === 'number' && c.budget > 0 && c.budget < 1))
    return 'calibration.budget must be a rate above 0 and below 1';
  return undefined;
}

/**
 * In order: later checks rely on the fields earlier ones passed (the embedding on the stage
 * channels, the grid on the input size, the sizes on the grid and the dims).
 */
const HEADER_CHECKS: readonly HeaderCheck[] = [
  checkBackbone,
  checkEmbedding,
  checkInput,
  checkGrid,
  checkPrecisionStorage,
  checkSizes,
  checkStatistics,
  checkOptionalFields,
  checkCalibration,
];

/** The first problem with the header's fields, or undefined when they are sane. */
export function headerProblem(h: ModelHeader, ctx: HeaderContext): string | undefined {
  for (const check of HEADER_CHECKS) {
    const problem = check(h, ctx);
    if (problem) return problem;
  }
  return undefined;
}
