/**
 * What the fault-injection tests share: bad images made on the spot, model-file damage, a flow
 * with a Catch node, and a model fitted once for the whole run.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { seededRng } from '../../src/math/random';
import type { RawImage } from '../../src/types';
import { fitSmallModel, helper, testData, type TestData } from '../nodes/fixtures';

// ---------------------------------------------------------------------------------------------
// Model files

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export interface FaultModel {
  data: TestData;
  /** a model for SMALL_MODEL (64x64, d=16, filter bank): never written to by the tests */
  modelPath: string;
  /** a good image and a defect image of the data set, as bytes */
  good: Buffer;
  defect: Buffer;
}

let shared: Promise<FaultModel> | undefined;

/** One small fitted model for all fault tests (in the node tests' temporary data set). */
export function faultModel(): Promise<FaultModel> {
  shared ??= (async () => {
    const data = await testData();
    const modelPath = path.join(data.root, 'faults', 'good.padim');
    fs.mkdirSync(path.dirname(modelPath), { recursive: true });
    const { dataset: ds } = await fitSmallModel(modelPath);
    const good = fs.readFileSync(ds.test.find((t) => t.label === 'good')!.file);
    const defect = fs.readFileSync(ds.test.find((t) => t.label !== 'good')!.file);
    return { data, modelPath, good, defect };
  })();
  return shared;
}

// ---------------------------------------------------------------------------------------------
// Bad images

/** A PNG whose header declares another size (IHDR rewritten, CRC fixed): a decompression bomb. */
export function withDeclaredPngSize(png: Buffer, width: number, height: number): Buffer {
  const b = Buffer.from(png);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(zlib.crc32(b.subarray(12, 29)) >>> 0, 29);
  return b;
}

/** Two frames, the first white and the second black, as an animated GIF or WebP. */
async function animated(format: 'gif' | 'webp'): Promise<Buffer> {
  const w = 16;
  const raw = Buffer.alloc(w * w * 2 * 3);
  raw.fill(255, 0, w * w * 3);
  const frames = sharp(raw, { raw: { width: w, height: w * 2, channels: 3, pageHeight: w } });
  return (format === 'gif' ? frames.gif({ loop: 0 }) : frames.webp({ loop: 0 })).toBuffer();
}

/** What happens to a bad image: refused (with a word the message must contain) or decoded. */
export interface BadImage {
  name: string;
  input: Buffer | RawImage;
  /** refused: a pattern the error message must match; decoded: undefined */
  refused?: RegExp;
}

/** Every bad image of the list, from a valid 48x48 PNG/JPEG. */
export async function badImages(): Promise<BadImage[]> {
  const base = sharp({ create: { width: 48, height: 48, channels: 3, background: '#6a7b8c' } });
  const png = await base.clone().png().toBuffer();
  const jpeg = await base.clone().jpeg().toBuffer();
  const rawFloat = (v: number): RawImage => ({
    data: new Float32Array(4 * 4 * 3).fill(0.5).fill(v, 5, 6),
    width: 4,
    height: 4,
    channels: 3,
  });
  return [
    { name: 'zero bytes', input: Buffer.alloc(0), refused: /empty/ },
    { name: 'truncated PNG', input: png.subarray(0, png.length >> 1), refused: /truncated or corrupt/ },
    { name: 'truncated JPEG', input: jpeg.subarray(0, jpeg.length >> 1), refused: /truncated or corrupt/ },
    {
      name: 'wrong magic',
      input: Buffer.concat([Buffer.from('XXXX'), png.subarray(4)]),
      refused: /not an image|unsupported/,
    },
    {
      name: 'a text file',
      input: Buffer.from('line 1\nline 2\n'.repeat(8)),
      refused: /not an image|unsupported/,
    },
    {
      name: '30000x30000 declared (decompression bomb)',
      input: withDeclaredPngSize(png, 30000, 30000),
      refused: /too large: 30000x30000/,
    },
    { name: 'NaN in raw float input', input: rawFloat(NaN), refused: /NaN/ },
    { name: 'Infinity in raw float input', input: rawFloat(Infinity), refused: /Infinity/ },
    {
      name: 'raw float input of the wrong length',
      input: { ...rawFloat(0.5), width: 5 },
      refused: /expected 5x4x3/,
    },
    // decoded: these are images, only unusual ones
    { name: 'raw float pixels in [0, 1]', input: rawFloat(0.25) },
    {
      name: '1x1 image',
      input: await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
    },
    { name: '16-bit PNG', input: await base.clone().toColourspace('rgb16').png().toBuffer() },
    { name: 'CMYK JPEG', input: await base.clone().toColourspace('cmyk').jpeg().toBuffer() },
    { name: 'animated GIF (first frame)', input: await animated('gif') },
    { name: 'animated WebP (first frame)', input: await animated('webp') },
  ];
}

// ---------------------------------------------------------------------------------------------
// Flows

/** A Catch node for the whole tab, wired to a helper node `caught`. */
export const CATCH_NODES = [
  { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];

/**
 * Takes off the test helper's sinon spies (RED.log.log and the node methods). They keep every
 * call with a stack trace that holds the input handler's closures, and so every message, alive:
 * nothing does that in a running Node-RED, and memory measured with them measures the spies.
 */
export function removeHelperSpies(): void {
  (helper as unknown as { _sandbox: { restore(): void } })._sandbox.restore();
}

/** Prints a run's counts, and writes them to $PADIM_FAULTS_REPORT/<name>.json when that is set. */
export function reportCounts(name: string, summary: object): void {
  console.log(`      ${name}: ${JSON.stringify(summary)}`);
  const dir = process.env.PADIM_FAULTS_REPORT;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(summary, null, 2) + '\n');
}

/** Every promise rejection nobody handled while `body` runs. */
export async function unhandledRejectionsDuring(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    await body();
    // a rejection is reported after the microtask queue drains
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  return seen;
}

/** A 24-bit BMP (BI_RGB, bottom-up) of an RGB image: sharp writes no BMP, the core reads it. */
export function encodeBmp(rgb: Buffer, width: number, height: number): Buffer {
  const stride = (width * 3 + 3) & ~3;
  const out = Buffer.alloc(54 + stride * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      // BMP stores blue, green, red
      out[row + x * 3] = rgb[s + 2];
      out[row + x * 3 + 1] = rgb[s + 1];
      out[row + x * 3 + 2] = rgb[s];
    }
  }
  return out;
}

type Msg = Record<string, unknown>;

interface Listenable {
  on(event: 'input', f: (m: Msg) => void): void;
}

/**
 * What became of each message sent into a flow, by its `faultId`: a result at the helper node
 * `out`, an error at the Catch node's helper `caught`, or (with a Complete node's helper
 * `completed`) finished by the node without output.
 */
export class Outcomes {
  readonly results = new Map<number, Msg>();
  readonly errors = new Map<number, string>();
  readonly completed = new Set<number>();

  constructor(out: Listenable, caught: Listenable, completed?: Listenable) {
    completed?.on('input', (m) => {
      if (typeof m.faultId === 'number') this.completed.add(m.faultId);
    });
    out.on('input', (m) => {
      if (typeof m.faultId === 'number') this.results.set(m.faultId, m);
    });
    caught.on('input', (m) => {
      if (typeof m.faultId === 'number')
        this.errors.set(m.faultId, (m.error as { message?: string })?.message ?? '');
    });
  }

  has(id: number): boolean {
    return this.results.has(id) || this.errors.has(id) || this.completed.has(id);
  }

  /** Waits until every id has an outcome; returns the ids still without one after `ms`. */
  async settle(ids: number[], ms = 30_000): Promise<number[]> {
    const end = Date.now() + ms;
    while (Date.now() < end && !ids.every((id) => this.has(id))) await new Promise((r) => setTimeout(r, 5));
    return ids.filter((id) => !this.has(id));
  }
}

/** Varied 64x64 PNGs: a shared texture with per-image noise (good parts of one product). */
export async function writeNoisyImages(dir: string, count: number): Promise<void> {
  const rng = seededRng(2000);
  const base = Buffer.from(Array.from({ length: 64 * 64 * 3 }, () => 64 + Math.floor(rng() * 128)));
  for (let i = 0; i < count; i++) {
    const img = Buffer.from(base.map((v) => Math.max(0, Math.min(255, v + Math.floor(rng() * 24) - 12))));
    await sharp(img, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toFile(path.join(dir, `${String(i).padStart(4, '0')}.png`));
  }
}
