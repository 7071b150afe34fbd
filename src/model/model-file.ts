/**
 * The model file: one file per fitted model, a JSON header followed by the binary arrays.
 *
 * Layout (all integers little-endian):
 *
 *   0          8 bytes  magic "PADIMMDL"
 *   8          uint32   H = byte length of the header JSON
 *   12         H bytes  UTF-8 JSON: the ModelHeader plus `sections` (see SectionEntry)
 *   ...        zero padding up to the first section
 *   sections   each at a 64-byte aligned offset, zero padding between them, in the order
 *              mean (float64, cells*d), precision (float32, cells*d(d+1)/2: packed upper
 *              triangle per cell), comoment (float32, same packing, optional),
 *              projection (float32, D*d, optional); a compact model (header
 *              precisionStorage, precision-storage/) has instead of precision: factor
 *              (float16 or int8, cells*d(d+1)/2: packed lower triangle per cell) and, for
 *              int8, factorScale (float32, cells*d: one scale per row)
 *   end        8 bytes  magic "PADIMEND" + 32 bytes SHA-256 of the H header bytes
 *
 * The trailer comes right after the last section, so the header alone fixes the file size:
 * a truncated file is recognised by its size, a damaged header by the trailer's checksum and
 * a damaged section by the section's own SHA-256 in the header.
 *
 * Models can be several GB (WideResNet: 4096 cells x d=550 is ~2.5 GB of packed precision),
 * so nothing here builds a whole-file buffer: sections are written and read chunk by chunk
 * with positioned I/O and hashed incrementally.
 */
import { alignmentRecordProblem } from '../alignment/reference';
import { roiRecordProblem } from '../roi/record';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { endianness } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { writeAtomically } from '../files/atomic-write';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  COMPACT_FORMAT_VERSION,
  chunkLength,
  defaultChunkCells,
  formatVersionFor,
  gaussianCells,
  type GaussianArrays,
  type ModelHeader,
  type PadimModel,
} from './model';
import type { SizeChoice } from '../input';
import type { CompactStorage } from './precision-storage';
import { expandLower, expandUpper, packedSize, packLower, packUpper } from './packed-triangle';
import { headerProblem } from './header-check';
import type { Normalisation, SizeProtocol } from '../types';

const FILE_MAGIC = Buffer.from('PADIMMDL', 'latin1');
const END_MAGIC = Buffer.from('PADIMEND', 'latin1');
/** magic + uint32 header length */
const PREFIX_BYTES = 12;
/** end magic + SHA-256 */
const TRAILER_BYTES = 40;
/** Section alignment: lets a reader mmap a section and view it as a typed array directly. */
const SECTION_ALIGN = 64;
/** The header holds no arrays; anything bigger is a damaged length field, not a header. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
/** Largest single read/write call; keeps every call well under the 2 GiB syscall limits. */
const IO_PIECE_BYTES = 64 * 1024 * 1024;

export type SectionName = 'mean' | 'precision' | 'comoment' | 'projection' | 'factor' | 'factorScale';
export type SectionDType = 'float32' | 'float64' | 'float16' | 'int8';

/** One entry of the header's `sections` table. */
export interface SectionEntry {
  name: SectionName;
  dtype: SectionDType;
  /** number of elements */
  count: number;
  /** byte offset from the start of the file, a multiple of 64 */
  offset: number;
  byteLength: number;
  /** SHA-256 (hex) of the section's bytes */
  sha256: string;
}

/** The JSON header as stored: the model's header plus where its arrays are. */
export interface ModelFileHeader extends ModelHeader {
  sections: SectionEntry[];
}

export type ModelFileErrorCode =
  'ENOENT' | 'NOT_A_MODEL' | 'TRUNCATED' | 'CORRUPT' | 'VERSION' | 'BACKBONE_MISMATCH' | 'INPUT_MISMATCH';

/** A model file that cannot be used, with a message that names the file and the problem. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(
    readonly code: ModelFileErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadModelOptions {
  /** cells per in-memory chunk; default defaultChunkCells(cells, dims) */
  chunkCells?: number;
  /** refuse a model fitted with a different backbone (SHA-256 hex of its ONNX bytes) */
  expectBackboneSha256?: string;
  /** refuse a model whose input protocol differs in the given fields */
  /** `size` may be `auto`: then the model must have been fitted with auto and the same short side */
  expectInput?: { size?: SizeChoice; normalisation?: Normalisation };
  /** check each section's SHA-256 (default true); the header checksum is always checked */
  verify?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Small shared helpers

/** Typed arrays are written in host byte order; the format is little-endian. */
function assertLittleEndian(): void {
  if (endianness() !== 'LE')
    throw new Error('padim model files can only be read/written on little-endian hosts');
}

function bytesOf(a: Float32Array | Float64Array | Uint16Array | Int8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function alignUp(n: number): number {
  return Math.ceil(n / SECTION_ALIGN) * SECTION_ALIGN;
}

function bytesPerElement(dtype: SectionDType): number {
  return { float64: 8, float32: 4, float16: 2, int8: 1 }[dtype];
}

function chunkCount(g: Pick<GaussianArrays, 'cells' | 'chunkCells'>): number {
  return Math.ceil(g.cells / g.chunkCells);
}

/** write() may write less than asked; loop until everything is on disk. */
async function writeFully(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = Math.min(bytes.byteLength - done, IO_PIECE_BYTES);
    const { bytesWritten } = await fh.write(bytes, done, n, position + done);
    done += bytesWritten;
  }
}

/** Read until `bytes` is full or the file ends; returns how many bytes were read. */
async function readFully(fh: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = Math.min(bytes.byteLength - done, IO_PIECE_BYTES);
    const { bytesRead } = await fh.read(bytes, done, n, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// Saving

/** What a section will hold, before it has a place in the file. */
interface SectionSpec {
  name: SectionName;
  dtype: SectionDType;
  count: number;
}

/** A caller bug (inconsistent model), reported before any file is touched. */
function invalidModel(detail: string): Error {
  return new Error(`cannot save model: ${detail}`);
}

/** JSON would silently turn NaN/Infinity into null; refuse rather than store a different value. */
function assertFiniteNumbers(value: unknown, where: string): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw invalidModel(`header field ${where} is ${value}, which JSON cannot store`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertFiniteNumbers(v, `${where}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertFiniteNumbers(v, where ? `${where}.${k}` : k);
  }
}

function assertChunks(chunks: Float32Array[], g: GaussianArrays, perCell: number, what: string): void {
  if (chunks.length !== chunkCount(g)) {
    throw invalidModel(`${what} has ${chunks.length} chunks, expected ${chunkCount(g)}`);
  }
  chunks.forEach((chunk, k) => {
    const expected = chunkLength(g, k) * perCell;
    if (!(chunk instanceof Float32Array) || chunk.length !== expected) {
      throw invalidModel(`${what} chunk ${k} must be a Float32Array of ${expected} values`);
    }
  });
}

/** A compact model: the factor's chunks and scales, the header naming its storage, no float32 inverse. */
function validateFactor(model: PadimModel): void {
  const { header: h, gaussian: g } = model;
  const f = g.factor!;
  if (h.precisionStorage !== f.storage)
    throw invalidModel(
      `header precisionStorage ${String(h.precisionStorage)} does not match the factor (${f.storage})`,
    );
  if (g.precision.length > 0) throw invalidModel('a model with a compact factor keeps no float32 precision');
  const Kind = f.storage === 'float16' ? Uint16Array : Int8Array;
  if (f.chunks.length !== chunkCount(g)) throw invalidModel(`factor has ${f.chunks.length} chunks`);
  f.chunks.forEach((chunk, k) => {
    if (!(chunk instanceof Kind) || chunk.length !== chunkLength(g, k) * g.dims * g.dims)
      throw invalidModel(
        `factor chunk ${k} must be a ${Kind.name} of ${chunkLength(g, k) * g.dims * g.dims} values`,
      );
  });
  if (f.storage === 'int8') {
    if (!f.rowScales) throw invalidModel('an int8 factor needs its row scales');
    assertChunks(f.rowScales, g, g.dims, 'factor row scales');
  }
}

/** Check that arrays and header agree, so a bad model fails before a temp file exists. */
function validateModel(model: PadimModel): void {
  const { header: h, gaussian: g } = model;
  const isCount = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (!isCount(g.cells) || !isCount(g.dims) || !isCount(g.chunkCells)) {
    throw invalidModel('cells, dims and chunkCells must be positive integers');
  }
  if (gaussianCells(h) !== g.cells) {
    throw invalidModel(`grid ${h.grid.height}x${h.grid.width} does not match ${g.cells} cells`);
  }
  if (h.embedding.dims !== g.dims) {
    throw invalidModel(`header dims ${h.embedding.dims} does not match arrays (${g.dims})`);
  }
  if (!(g.mean instanceof Float64Array) || g.mean.length !== g.cells * g.dims) {
    throw invalidModel(`mean must be a Float64Array of ${g.cells * g.dims} values`);
  }
  if (g.factor) validateFactor(model);
  else assertChunks(g.precision, g, g.dims * g.dims, 'precision');
  if (g.comoment) assertChunks(g.comoment, g, packedSize(g.dims), 'comoment');
  const projectionCount = h.embedding.totalChannels * g.dims;
  if (
    model.projection &&
    (!(model.projection instanceof Float32Array) || model.projection.length !== projectionCount)
  ) {
    throw invalidModel(`projection must be a Float32Array of ${projectionCount} values`);
  }
  assertFiniteNumbers(h, '');
}

function sectionSpecs(model: PadimModel): SectionSpec[] {
  const g = model.gaussian;
  const packed = g.cells * packedSize(g.dims);
  const specs: SectionSpec[] = [{ name: 'mean', dtype: 'float64', count: g.cells * g.dims }];
  if (g.factor) {
    specs.push({ name: 'factor', dtype: g.factor.storage, count: packed });
    if (g.factor.storage === 'int8')
      specs.push({ name: 'factorScale', dtype: 'float32', count: g.cells * g.dims });
  } else specs.push({ name: 'precision', dtype: 'float32', count: packed });
  if (g.comoment) specs.push({ name: 'comoment', dtype: 'float32', count: packed });
  if (model.projection) specs.push({ name: 'projection', dtype: 'float32', count: model.projection.length });
  return specs;
}

/** Place the sections one after another, each aligned, starting after a header of `headerBytes`. */
function layoutSections(specs: SectionSpec[], headerBytes: number): SectionEntry[] {
  let offset = PREFIX_BYTES + headerBytes;
  return specs.map((s) => {
    offset = alignUp(offset);
    const byteLength = s.count * bytesPerElement(s.dtype);
    const entry = { ...s, offset, byteLength, sha256: '0'.repeat(64) };
    offset += byteLength;
    return entry;
  });
}

function encodeHeader(header: ModelHeader, sections: SectionEntry[]): Buffer {
  const stored: ModelFileHeader = {
    ...header,
    format: MODEL_FORMAT,
    formatVersion: formatVersionFor(header.precisionStorage),
    sections,
  };
  return Buffer.from(JSON.stringify(stored), 'utf8');
}

/**
 * The header lists section offsets, and offsets depend on the header's length. Iterate to a
 * fixed point: lengths only grow (more digits), so this settles in a step or two. Hashes are
 * placeholders of the final length, so filling them in later leaves the layout unchanged.
 */
function planLayout(
  header: ModelHeader,
  specs: SectionSpec[],
): { sections: SectionEntry[]; headerBytes: number } {
  let headerBytes = 0;
  for (let i = 0; i < 16; i++) {
    const sections = layoutSections(specs, headerBytes);
    const length = encodeHeader(header, sections).length;
    if (length === headerBytes) return { sections, headerBytes };
    headerBytes = length;
  }
  throw new Error('model file layout did not converge');
}

/** Writes one section sequentially from its offset, hashing exactly the bytes written. */
class SectionWriter {
  private readonly hash: Hash = createHash('sha256');
  private position: number;
  constructor(
    private readonly fh: FileHandle,
    offset: number,
  ) {
    this.position = offset;
  }
  async write(bytes: Uint8Array): Promise<void> {
    await writeFully(this.fh, bytes, this.position);
    this.hash.update(bytes);
    this.position += bytes.byteLength;
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Pack one chunk at a time into a single reusable buffer sized for the largest chunk. */
async function writePrecision(out: SectionWriter, g: GaussianArrays): Promise<void> {
  const p = packedSize(g.dims);
  const packed = new Float32Array(Math.min(g.chunkCells, g.cells) * p);
  for (let k = 0; k < g.precision.length; k++) {
    const n = chunkLength(g, k);
    packUpper(g.precision[k], n, g.dims, packed);
    await out.write(bytesOf(packed.subarray(0, n * p)));
  }
}

/** The factor's lower triangles, one chunk at a time through a reusable buffer. */
async function writeFactor(out: SectionWriter, g: GaussianArrays): Promise<void> {
  const f = g.factor!;
  const p = packedSize(g.dims);
  const size = Math.min(g.chunkCells, g.cells) * p;
  const packed = f.storage === 'float16' ? new Uint16Array(size) : new Int8Array(size);
  for (let k = 0; k < f.chunks.length; k++) {
    const n = chunkLength(g, k);
    packLower(f.chunks[k], n, g.dims, packed);
    await out.write(bytesOf(packed.subarray(0, n * p)));
  }
}

async function writeSectionBody(out: SectionWriter, name: SectionName, model: PadimModel): Promise<void> {
  const g = model.gaussian;
  switch (name) {
    case 'factor':
      return writeFactor(out, g);
    case 'factorScale':
      for (const chunk of g.factor!.rowScales!) await out.write(bytesOf(chunk));
      return;
    case 'mean':
      return out.write(bytesOf(g.mean));
    case 'precision':
      return writePrecision(out, g);
    case 'comoment':
      for (const chunk of g.comoment!) await out.write(bytesOf(chunk));
      return;
    case 'projection':
      return out.write(bytesOf(model.projection!));
  }
}

/** Write all sections (with zero padding between them); returns their SHA-256 hex digests. */
async function writeSections(fh: FileHandle, sections: SectionEntry[], model: PadimModel): Promise<string[]> {
  const hashes: string[] = [];
  for (let i = 0; i < sections.length; i++) {
    const s = sections[i];
    const out = new SectionWriter(fh, s.offset);
    await writeSectionBody(out, s.name, model);
    hashes.push(out.digest());
    const end = s.offset + s.byteLength;
    const next = sections[i + 1];
    // Explicit zeros rather than a hole, so the padding is defined on every file system.
    if (next && next.offset > end) await writeFully(fh, Buffer.alloc(next.offset - end), end);
  }
  return hashes;
}

/** Magic, length, JSON and zero padding up to the first section, as one small buffer. */
function headerBlock(json: Buffer, firstSectionOffset: number): Buffer {
  const block = Buffer.alloc(firstSectionOffset);
  FILE_MAGIC.copy(block, 0);
  block.writeUInt32LE(json.length, 8);
  json.copy(block, PREFIX_BYTES);
  return block;
}

/**
 * Save `model` to `path` atomically: the previous file at `path` stays intact unless the new
 * one was written completely. The precision matrices must be symmetric: only their upper
 * triangle is stored. Do not modify the model's arrays while the save is in progress.
 */
export async function saveModel(path: string, model: PadimModel): Promise<void> {
  assertLittleEndian();
  validateModel(model);
  const { sections, headerBytes } = planLayout(model.header, sectionSpecs(model));
  const written = writeAtomically(path, async (fh) => {
    // Section hashes belong in the header, but are known only after the sections are written;
    // so the sections go first and the header (of the length planned above) goes in after.
    const hashes = await writeSections(fh, sections, model);
    const json = encodeHeader(
      model.header,
      sections.map((s, i) => ({ ...s, sha256: hashes[i] })),
    );
    if (json.length !== headerBytes) throw new Error('model file header changed length after hashing');
    await writeFully(fh, headerBlock(json, sections[0].offset), 0);
    const last = sections[sections.length - 1];
    await writeFully(fh, Buffer.concat([END_MAGIC, sha256(json)]), last.offset + last.byteLength);
  });
  await written.catch((err: unknown) => {
    throw writeFailed(path, err);
  });
}

/**
 * A system error of the save (a full disk: ENOSPC, a file-size limit: EFBIG, no permission)
 * said with the model's path and what became of the previous file; `code` is kept.
 */
function writeFailed(path: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.syscall !== 'string') return err;
  const message = `cannot write model file ${path}: ${e.message} (a previous model file there is unchanged)`;
  return Object.assign(new Error(message, { cause: err }), {
    code: e.code,
    errno: e.errno,
    syscall: e.syscall,
  });
}

// ---------------------------------------------------------------------------------------------
// Loading

function corrupt(path: string, detail: string): ModelFileError {
  return new ModelFileError('CORRUPT', path, `model file ${path} is corrupt: ${detail}`);
}

function truncated(path: string, expected: string, found: number): ModelFileError {
  return new ModelFileError(
    'TRUNCATED',
    path,
    `model file ${path} is truncated (expected ${expected} bytes, found ${found})`,
  );
}

async function openModel(path: string): Promise<FileHandle> {
  try {
    return await fsp.open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelFileError('ENOENT', path, `model file ${path} does not exist`);
    }
    throw err;
  }
}

/** The first 12 bytes: magic and header length. A short file that starts right is truncated. */
async function readPrefix(path: string, fh: FileHandle, size: number): Promise<number> {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  const got = await readFully(fh, prefix, 0);
  const magicBytes = Math.min(got, FILE_MAGIC.length);
  if (!prefix.subarray(0, magicBytes).equals(FILE_MAGIC.subarray(0, magicBytes))) {
    throw new ModelFileError('NOT_A_MODEL', path, `${path} is not a PaDiM model file (wrong magic bytes)`);
  }
  if (got < PREFIX_BYTES) throw truncated(path, `at least ${PREFIX_BYTES + TRAILER_BYTES}`, size);
  const headerLength = prefix.readUInt32LE(8);
  if (headerLength > MAX_HEADER_BYTES) throw corrupt(path, `implausible header length ${headerLength}`);
  return headerLength;
}

/** Parse the header JSON and check it is a model of a version this code understands. */
function parseHeader(path: string, bytes: Buffer): ModelFileHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt(path, 'header is not valid JSON');
  }
  const h = parsed as Partial<ModelFileHeader> | null;
  if (h === null || typeof h !== 'object' || h.format !== MODEL_FORMAT) {
    throw new ModelFileError(
      'NOT_A_MODEL',
      path,
      `${path} is not a PaDiM model file (header format is not '${MODEL_FORMAT}')`,
    );
  }
  const expected = formatVersionFor(h.precisionStorage);
  if (h.formatVersion !== expected) {
    throw new ModelFileError(
      'VERSION',
      path,
      `model file ${path} was written by format version ${String(h.formatVersion)}; this version reads ` +
        `${MODEL_FORMAT_VERSION} (float32 precision) and ${COMPACT_FORMAT_VERSION} (compact precision storage)`,
    );
  }
  // optional fields added after version 1 check themselves (older files simply lack them)
  if (h.alignment !== undefined) {
    const problem = alignmentRecordProblem(h.alignment);
    if (problem) throw corrupt(path, problem);
  }
  if (h.roi !== undefined) {
    const input = h.input?.size;
    const grid = h.grid;
    if (typeof input !== 'object' || input === null || typeof grid !== 'object' || grid === null)
      throw corrupt(path, 'header has a roi but no valid input size or grid');
    const problem = roiRecordProblem(h.roi, input, grid);
    if (problem) throw corrupt(path, problem);
  }
  return h as ModelFileHeader;
}

/** Array shapes implied by the header; positive integers or the header is damaged. */
function headerShape(path: string, h: ModelFileHeader): { cells: number; dims: number; channels: number } {
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) > 0;
  // with regions, the arrays hold the inside cells only (checked in parseHeader)
  const cells = h.roi ? h.roi.cells.length : h.grid?.height * h.grid?.width;
  const dims = h.embedding?.dims;
  const channels = h.embedding?.totalChannels;
  if (!isCount(cells) || !isCount(dims) || !isCount(channels))
    throw corrupt(path, 'header has invalid grid/embedding sizes');
  return { cells, dims, channels };
}

/** The dtype each section must have; the factor's is the header's precisionStorage. */
function sectionDtypes(h: ModelFileHeader): Record<SectionName, SectionDType> {
  return {
    mean: 'float64',
    precision: 'float32',
    comoment: 'float32',
    projection: 'float32',
    factor: h.precisionStorage ?? 'float32',
    factorScale: 'float32',
  };
}

/** Sections a model must have: the mean and what scoring reads, for its storage. */
function requiredSections(h: ModelFileHeader): SectionName[] {
  switch (h.precisionStorage) {
    case undefined:
      return ['mean', 'precision'];
    case 'float16':
      return ['mean', 'factor'];
    case 'int8':
      return ['mean', 'factor', 'factorScale'];
  }
}

/**
 * Check the sections table against the header's shapes (counts, dtypes, alignment, no
 * overlap) and return the sections by name plus the file size they imply.
 */
function checkSections(
  path: string,
  h: ModelFileHeader,
  headerEnd: number,
): { byName: Partial<Record<SectionName, SectionEntry>>; expectedSize: number } {
  const { cells, dims, channels } = headerShape(path, h);
  const expectedCount: Record<SectionName, number> = {
    mean: cells * dims,
    precision: cells * packedSize(dims),
    comoment: cells * packedSize(dims),
    projection: channels * dims,
    factor: cells * packedSize(dims),
    factorScale: cells * dims,
  };
  const SECTION_DTYPES = sectionDtypes(h);
  const required = requiredSections(h);
  if (!Array.isArray(h.sections)) throw corrupt(path, 'header has no sections table');
  const byName: Partial<Record<SectionName, SectionEntry>> = {};
  let end = headerEnd;
  for (const s of h.sections) {
    const name = s?.name;
    const belongs = name === 'comoment' || name === 'projection' || required.includes(name);
    if (!Object.hasOwn(SECTION_DTYPES, name) || byName[name] || !belongs)
      throw corrupt(path, `unexpected section '${String(name)}'`);
    const ok =
      s.dtype === SECTION_DTYPES[name] &&
      s.count === expectedCount[name] &&
      s.byteLength === s.count * bytesPerElement(s.dtype) &&
      Number.isSafeInteger(s.offset) &&
      s.offset % SECTION_ALIGN === 0 &&
      s.offset >= end &&
      typeof s.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(s.sha256);
    if (!ok) throw corrupt(path, `section '${name}' has an invalid table entry`);
    byName[name] = s;
    end = s.offset + s.byteLength;
  }
  if (required.some((name) => !byName[name]))
    throw corrupt(path, `required sections ${required.join('/')} are missing`);
  return { byName, expectedSize: end + TRAILER_BYTES };
}

interface Framing {
  header: ModelFileHeader;
  sections: Partial<Record<SectionName, SectionEntry>>;
  fileBytes: number;
}

/**
 * Everything but the section contents: magic, header, header checksum, version, sections
 * table and file size. Reads only the first and last few bytes plus the header.
 *
 * Order matters for the error reported. The header checksum is checked before the version,
 * so a damaged header is CORRUPT rather than a bogus VERSION; when the trailer is missing
 * from the end of the file the header's sizes tell whether the file was cut short.
 */
async function readFraming(path: string, fh: FileHandle): Promise<Framing> {
  const { size } = await fh.stat();
  const headerLength = await readPrefix(path, fh, size);
  const headerEnd = PREFIX_BYTES + headerLength;
  if (size < headerEnd + TRAILER_BYTES) throw truncated(path, `at least ${headerEnd + TRAILER_BYTES}`, size);

  const headerBytes = Buffer.alloc(headerLength);
  await readFully(fh, headerBytes, PREFIX_BYTES);
  const trailer = Buffer.alloc(TRAILER_BYTES);
  await readFully(fh, trailer, size - TRAILER_BYTES);
  const hasEndMarker = trailer.subarray(0, END_MAGIC.length).equals(END_MAGIC);
  if (hasEndMarker && !trailer.subarray(END_MAGIC.length).equals(sha256(headerBytes))) {
    throw corrupt(path, 'header checksum mismatch');
  }

  const header = parseHeader(path, headerBytes);
  const sectionNames = Array.isArray(header.sections) ? header.sections.map((s) => String(s?.name)) : [];
  const problem = headerProblem(header, { fileBytes: size, sectionNames });
  if (problem) throw corrupt(path, `header field ${problem}`);
  const { byName, expectedSize } = checkSections(path, header, headerEnd);
  if (size < expectedSize) throw truncated(path, String(expectedSize), size);
  if (size > expectedSize)
    throw corrupt(
      path,
      `${size - expectedSize} unexpected bytes after the end (expected ${expectedSize} bytes, found ${size})`,
    );
  if (!hasEndMarker) throw corrupt(path, 'end marker is missing');
  return { header, sections: byName, fileBytes: size };
}

/** The header as the rest of the code knows it, without the file's sections table. */
function modelHeaderOf(h: ModelFileHeader): ModelHeader {
  const { sections: _sections, ...header } = h;
  return header;
}

function describeInput(input: { size?: SizeProtocol; normalisation?: Normalisation }): string {
  return JSON.stringify(input);
}

/** Refuses a model that was fitted for another backbone or input protocol than the caller's. */
export function checkModelExpectations(path: string, h: ModelHeader, opts: LoadModelOptions): void {
  const wanted = opts.expectBackboneSha256;
  if (wanted !== undefined && wanted.toLowerCase() !== String(h.backbone?.sha256).toLowerCase()) {
    throw new ModelFileError(
      'BACKBONE_MISMATCH',
      path,
      `model file ${path} was fitted with backbone ${h.backbone?.id} (sha256 ${h.backbone?.sha256}), not the one given (${wanted})`,
    );
  }
  const expect = opts.expectInput;
  if (!expect) return;
  const size = expect.size;
  if (size?.kind === 'auto') {
    // the size was resolved from the training images at fit: what must match is the choice
    const auto = h.input?.auto;
    if (auto?.short !== size.short) {
      throw new ModelFileError(
        'INPUT_MISMATCH',
        path,
        `model file ${path} was fitted for input ${auto ? `auto:${auto.short}` : describeInput({ size: h.input?.size })}, ` +
          `not auto:${size.short} as configured; set the size to match the model, or fit it again`,
      );
    }
  }
  const actual = {
    ...(size && size.kind !== 'auto' ? { size: h.input?.size } : {}),
    ...(expect.normalisation ? { normalisation: h.input?.normalisation } : {}),
  };
  const asked = {
    ...(size && size.kind !== 'auto' ? { size } : {}),
    ...(expect.normalisation ? { normalisation: expect.normalisation } : {}),
  };
  if (!isDeepStrictEqual(actual, asked)) {
    throw new ModelFileError(
      'INPUT_MISMATCH',
      path,
      `model file ${path} expects input ${describeInput(actual)}, not ${describeInput(asked)}`,
    );
  }
}

/** Reads one section sequentially from its offset, hashing what it reads when verifying. */
class SectionReader {
  private readonly hash: Hash | undefined;
  private position: number;
  constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly entry: SectionEntry,
    verify: boolean,
  ) {
    this.position = entry.offset;
    this.hash = verify ? createHash('sha256') : undefined;
  }
  async read(bytes: Uint8Array): Promise<void> {
    const got = await readFully(this.fh, bytes, this.position);
    // The size was checked up front; a short read means the file shrank while being read.
    if (got !== bytes.byteLength)
      throw truncated(this.path, String(this.position + bytes.byteLength), this.position + got);
    this.hash?.update(bytes);
    this.position += got;
  }
  finish(): void {
    if (this.position !== this.entry.offset + this.entry.byteLength) {
      throw new Error(
        `internal: section '${this.entry.name}' read ${this.position - this.entry.offset} bytes`,
      );
    }
    if (this.hash && this.hash.digest('hex') !== this.entry.sha256) {
      throw corrupt(this.path, `section '${this.entry.name}' checksum mismatch`);
    }
  }
}

/** Bytes per read while checking section checksums: bounded, whatever the model's size. */
const VERIFY_PIECE_BYTES = 16 * 1024 * 1024;

/**
 * Every section's checksum, read through one small buffer, before anything is allocated for the
 * arrays: a file whose header declares huge arrays but whose contents do not match (a sparse file
 * of zeros) is refused having cost a read, not twice its size in memory.
 */
async function verifySections(path: string, fh: FileHandle, sections: SectionEntry[]): Promise<void> {
  const piece = Buffer.alloc(Math.min(VERIFY_PIECE_BYTES, Math.max(...sections.map((s) => s.byteLength))));
  for (const entry of sections) {
    const src = new SectionReader(path, fh, entry, true);
    for (let done = 0; done < entry.byteLength; done += piece.length) {
      await src.read(piece.subarray(0, Math.min(piece.length, entry.byteLength - done)));
    }
    src.finish();
  }
}

/** Read packed bytes one chunk at a time into a reusable buffer and expand in place. */
async function readPrecision(src: SectionReader, g: GaussianArrays): Promise<void> {
  const p = packedSize(g.dims);
  const packed = new Float32Array(g.chunkCells * p);
  for (let k = 0; k < chunkCount(g); k++) {
    const n = chunkLength(g, k);
    await src.read(bytesOf(packed.subarray(0, n * p)));
    const full = new Float32Array(n * g.dims * g.dims);
    expandUpper(packed, n, g.dims, full);
    g.precision.push(full);
  }
}

/** The factor's packed lower triangles, chunk by chunk, expanded to full matrices. */
async function readFactor(src: SectionReader, g: GaussianArrays, storage: CompactStorage): Promise<void> {
  const p = packedSize(g.dims);
  const make = (n: number) => (storage === 'float16' ? new Uint16Array(n) : new Int8Array(n));
  const packed = make(g.chunkCells * p);
  const chunks: (Uint16Array | Int8Array)[] = [];
  for (let k = 0; k < chunkCount(g); k++) {
    const n = chunkLength(g, k);
    await src.read(bytesOf(packed.subarray(0, n * p)));
    const full = make(n * g.dims * g.dims);
    expandLower(packed.subarray(0, n * p), n, g.dims, full);
    chunks.push(full);
  }
  g.factor = { storage, chunks };
}

/** comoment (and an int8 factor's row scales) are stored as held in memory: each chunk read straight into its array. */
async function readFloat32Chunks(
  src: SectionReader,
  g: GaussianArrays,
  perCell = packedSize(g.dims),
): Promise<Float32Array[]> {
  const chunks: Float32Array[] = [];
  for (let k = 0; k < chunkCount(g); k++) {
    const chunk = new Float32Array(chunkLength(g, k) * perCell);
    await src.read(bytesOf(chunk));
    chunks.push(chunk);
  }
  return chunks;
}

function resolveChunkCells(requested: number | undefined, cells: number, dims: number): number {
  if (requested === undefined) return defaultChunkCells(cells, dims);
  if (!Number.isSafeInteger(requested) || requested < 1) {
    throw new RangeError(`chunkCells must be a positive integer, got ${requested}`);
  }
  return Math.min(requested, cells);
}

/**
 * Load a model. Throws ModelFileError (see its `code`) when the file is missing, not a model,
 * truncated, corrupt, of another format version, or fitted for a different backbone/input
 * than `opts` expects. Peak memory is the model itself plus one packed chunk.
 */
export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<PadimModel> {
  assertLittleEndian();
  const fh = await openModel(path);
  try {
    const { header, sections } = await readFraming(path, fh);
    checkModelExpectations(path, header, opts);
    // checked in full before allocating; the arrays are then read without hashing them again
    // (the open handle keeps this file: a save renames a new file over the path, never rewrites it)
    if (opts.verify ?? true) await verifySections(path, fh, Object.values(sections));
    const { cells, dims } = headerShape(path, header);
    const chunkCells = resolveChunkCells(opts.chunkCells, cells, dims);
    const gaussian: GaussianArrays = {
      cells,
      dims,
      chunkCells,
      mean: new Float64Array(cells * dims),
      precision: [],
    };
    const section = async (
      entry: SectionEntry,
      body: (src: SectionReader) => Promise<void>,
    ): Promise<void> => {
      const src = new SectionReader(path, fh, entry, false);
      await body(src);
      src.finish();
    };

    await section(sections.mean!, (src) => src.read(bytesOf(gaussian.mean)));
    const storage = header.precisionStorage;
    if (storage === undefined) await section(sections.precision!, (src) => readPrecision(src, gaussian));
    else await section(sections.factor!, (src) => readFactor(src, gaussian, storage));
    if (storage === 'int8') {
      await section(sections.factorScale!, async (src) => {
        // per-cell rows, chunked like the matrices
        gaussian.factor!.rowScales = await readFloat32Chunks(src, gaussian, dims);
      });
    }
    if (sections.comoment) {
      await section(sections.comoment, async (src) => {
        gaussian.comoment = await readFloat32Chunks(src, gaussian);
      });
    }
    let projection: Float32Array | undefined;
    if (sections.projection) {
      projection = new Float32Array(sections.projection.count);
      await section(sections.projection, (src) => src.read(bytesOf(projection!)));
    }
    const model: PadimModel = { header: modelHeaderOf(header), gaussian };
    if (projection) model.projection = projection;
    return model;
  } finally {
    await fh.close();
  }
}

/**
 * Read and check only the header (magic, header checksum, version, file size): cheap, for
 * listing models or checking one before loading. Section contents are not verified.
 */
export async function readModelHeader(path: string): Promise<ModelHeader & { fileBytes: number }> {
  const fh = await openModel(path);
  try {
    const { header, fileBytes } = await readFraming(path, fh);
    return { ...modelHeaderOf(header), fileBytes };
  } finally {
    await fh.close();
  }
}
