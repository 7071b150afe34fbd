/**
 * Hostile model files under a memory cap, each loaded in a child process
 * (model-load-child.ts, `node --max-old-space-size`) that reports its peak resident set:
 *
 * - crafted headers with a valid checksum that declare huge shapes (a channel count of 2e9, a
 *   16000x16000 input, a 1 GB sparse file whose sections fail their checksums) are refused
 *   before anything of their size is allocated;
 * - a seeded fuzzer over a real model file's framing and header: bit flips (with and without
 *   the checksum recomputed), truncations, the header length set huge or off by one, header
 *   fields set to other types, NaN, negative or huge values, keys dropped, section table entries
 *   changed, section bytes damaged. Every case either loads with arrays identical to the
 *   original or throws a ModelFileError with a code and a message naming the file; never a
 *   crash, never a non-Error throw, never a TypeError from inside the loader.
 *
 * PADIM_HEADER_FUZZ_CASES (default 600) and PADIM_HEADER_FUZZ_SEED (default 14) change the run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRng, type Rng } from '../../src/math/random';
import { tempDir } from '../helpers';
import { fitSmallModel } from '../nodes/fixtures';

const CASES = Number(process.env.PADIM_HEADER_FUZZ_CASES ?? 600);
const SEED = Number(process.env.PADIM_HEADER_FUZZ_SEED ?? 14);
const CHILD = path.join(__dirname, 'model-load-child.js');
/** V8 heap cap of the child, MiB */
const HEAP_CAP_MIB = 128;
/** peak RSS the child may reach, MiB: node with the loader is ~60; one real 16 MiB read buffer more is fine */
const RSS_CAP_MIB = 200;

type Json = Record<string, unknown>;
interface Line {
  file?: string;
  outcome?: 'loaded' | 'error' | 'non-error';
  identical?: boolean;
  name?: string;
  code?: string;
  message?: string;
  thrown?: string;
  maxRssKiB?: number;
}

const ALIGN = 64;
const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** A model file's parts, as a third-party tool would read them. */
function parse(bytes: Buffer) {
  const headerLength = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as Json;
  return { headerLength, header };
}

/**
 * Writes `json` as the header of a copy of `bytes`, in place (the sections stay where they
 * are), with its length field and the trailer's checksum set to match.
 */
function withHeader(bytes: Buffer, json: Buffer): Buffer {
  const { headerLength } = parse(bytes);
  const firstSection = alignUp(12 + headerLength);
  const out = Buffer.from(bytes);
  out.fill(0, 12, Math.min(out.length - 40, Math.max(firstSection, 12 + json.length)));
  json.copy(out, 12);
  out.writeUInt32LE(json.length, 8);
  sha256(json).copy(out, out.length - 32);
  return out;
}

/**
 * A model file with `header` and its sections laid out anew: real bytes where `bodies` has
 * them, else a hole (a sparse file: the declared size costs no disk).
 */
function writeLaidOut(
  file: string,
  header: Json,
  counts: Record<string, number>,
  bodies: Record<string, Buffer>,
) {
  const elementBytes: Record<string, number> = { mean: 8, precision: 4, comoment: 4, projection: 4 };
  const sections = Object.entries(counts).map(([name, count]) => ({
    name,
    dtype: name === 'mean' ? 'float64' : 'float32',
    count,
    offset: 0,
    byteLength: count * elementBytes[name],
    sha256: bodies[name] ? sha256(bodies[name]).toString('hex') : 'ab'.repeat(32),
  }));
  // offsets need the header's length and the header holds the offsets: reserve room, pad with spaces
  const room = alignUp(12 + Buffer.byteLength(JSON.stringify({ ...header, sections })) + 512) - 12;
  let at = 12 + room;
  for (const s of sections) {
    s.offset = alignUp(at);
    at = s.offset + s.byteLength;
  }
  const json = Buffer.from(JSON.stringify({ ...header, sections }).padEnd(room, ' '));
  const fd = fs.openSync(file, 'w');
  try {
    const prefix = Buffer.alloc(12);
    prefix.write('PADIMMDL', 0, 'latin1');
    prefix.writeUInt32LE(room, 8);
    fs.writeSync(fd, prefix, 0, 12, 0);
    fs.writeSync(fd, json, 0, json.length, 12);
    for (const s of sections) if (bodies[s.name]) fs.writeSync(fd, bodies[s.name], 0, s.byteLength, s.offset);
    fs.ftruncateSync(fd, at + 40);
    const trailer = Buffer.concat([Buffer.from('PADIMEND', 'latin1'), sha256(json)]);
    fs.writeSync(fd, trailer, 0, 40, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs the child over `files`; resolves with its lines, rejects if it dies or hangs. */
function loadInChild(reference: string, files: string[], dir: string, ms = 120_000): Promise<Line[]> {
  const list = path.join(dir, `list-${process.hrtime.bigint()}.json`);
  fs.writeFileSync(list, JSON.stringify(files));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_CAP_MIB}`, CHILD, reference, list], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line);
      if (code !== 0 || lines.at(-1)?.maxRssKiB === undefined)
        reject(
          new Error(`the child died (code ${code}, signal ${signal}) after ${lines.length} files:\n${err}`),
        );
      else resolve(lines);
    });
  });
}

const CODES = new Set([
  'ENOENT',
  'NOT_A_MODEL',
  'TRUNCATED',
  'CORRUPT',
  'VERSION',
  'BACKBONE_MISMATCH',
  'INPUT_MISMATCH',
]);

/** A clear error: a ModelFileError with a known code and a message that names the file. */
function assertClear(line: Line, what: string): void {
  assert.equal(line.outcome, 'error', `${what}: ${JSON.stringify(line)}`);
  assert.equal(line.name, 'ModelFileError', `${what}: ${JSON.stringify(line)}`);
  assert.ok(CODES.has(line.code ?? ''), `${what}: ${JSON.stringify(line)}`);
  assert.ok(line.message?.includes(line.file ?? '\u0000'), `${what}: ${JSON.stringify(line)}`);
}

// ---------------------------------------------------------------------------------------------
// the fuzzer's mutations

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)];
const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  -0.5,
  0.5,
  1,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 53,
  1e300,
  -1e300,
  '',
  'x',
  '16',
  [],
  [1, 2, 3],
  {},
  { kind: 'resize' },
];

/** Every [parent, key, path] of a JSON value, depth first. */
function slots(value: unknown, at = '', out: [Json | unknown[], string | number, string][] = []): typeof out {
  if (Array.isArray(value))
    value.forEach((v, i) => {
      out.push([value, i, `${at}[${i}]`]);
      slots(v, `${at}[${i}]`, out);
    });
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Json, k, `${at}.${k}`]);
      slots(v, `${at}.${k}`, out);
    }
  return out;
}

/** A damaged copy of the model file; `detail` says which field, for a failure's message. */
function mutate(rng: Rng, original: Buffer): { kind: string; detail?: string; bytes: Buffer } {
  const { headerLength, header } = parse(original);
  const edited = (kind: string, edit: (h: Json) => string) => {
    const h = structuredClone(header);
    const detail = edit(h);
    return { kind, detail, bytes: withHeader(original, Buffer.from(JSON.stringify(h))) };
  };
  const kind = int(rng, 10);
  switch (kind) {
    case 0: {
      // bit flips in the header, checksum left as it was
      const b = Buffer.from(original);
      for (let k = 1 + int(rng, 4); k > 0; k--) b[12 + int(rng, headerLength)] ^= 1 << int(rng, 8);
      return { kind: 'header bit flip', bytes: b };
    }
    case 1: {
      // bit flips in the header with the checksum recomputed: parse errors or odd values
      const json = Buffer.from(original.subarray(12, 12 + headerLength));
      for (let k = 1 + int(rng, 4); k > 0; k--) json[int(rng, json.length)] ^= 1 << int(rng, 8);
      return { kind: 'header bit flip, checksum fixed', bytes: withHeader(original, json) };
    }
    case 2:
      return { kind: 'truncated', bytes: original.subarray(0, int(rng, original.length)) };
    case 3: {
      const b = Buffer.from(original);
      const lengths = [
        0,
        1,
        headerLength - 1,
        headerLength + 1,
        0xffffffff,
        64 * 2 ** 20,
        64 * 2 ** 20 + 1,
        b.length,
      ];
      b.writeUInt32LE(pick(rng, lengths) >>> 0, 8);
      return { kind: 'header length field', bytes: b };
    }
    case 4:
      return edited('field set to a hostile value', (h) => {
        const [parent, key, at] = pick(rng, slots(h));
        const value = pick(rng, HOSTILE_VALUES);
        (parent as Json)[key as string] = value;
        return `${at} = ${JSON.stringify(value)}`;
      });
    case 5:
      return edited('numeric field scaled', (h) => {
        const numeric = slots(h).filter(([p, k]) => typeof (p as Json)[k as string] === 'number');
        const [parent, key, at] = pick(rng, numeric);
        const v = (parent as Json)[key as string] as number;
        const value = pick(rng, [v * 2, v + 1, v - 1, -v, v * 1e6, v / 3]);
        (parent as Json)[key as string] = value;
        return `${at} = ${value}`;
      });
    case 6: {
      // tokens JSON cannot hold, written raw: NaN, Infinity, a number too large for a double
      const json = original.subarray(12, 12 + headerLength).toString('utf8');
      const numbers = [...json.matchAll(/:(-?\d+(\.\d+)?(e[+-]?\d+)?)/g)];
      const m = pick(rng, numbers);
      const at = (m.index ?? 0) + 1;
      const token = pick(rng, ['NaN', '-Infinity', '1e999', '-1e999', '--1']);
      const text = json.slice(0, at) + token + json.slice(at + m[1].length);
      const detail = `${token} at ${json.slice(Math.max(0, at - 30), at)}`;
      return { kind: 'raw token', detail, bytes: withHeader(original, Buffer.from(text)) };
    }
    case 7:
      return edited('key dropped', (h) => {
        const [parent, key, at] = pick(rng, slots(h));
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        return at;
      });
    case 8:
      return edited('section table entry', (h) => {
        const sections = h.sections as Json[];
        const s = pick(rng, sections);
        const field = pick(rng, ['offset', 'byteLength', 'count', 'dtype', 'name', 'sha256']);
        const value = pick(rng, [
          ...HOSTILE_VALUES,
          (s[field] as number) + 64,
          'float64',
          'precision',
          '0'.repeat(64),
        ]);
        s[field] = value;
        return `${String(s.name)}.${field} = ${JSON.stringify(value)}`;
      });
    default: {
      // section bytes damaged: the header and its checksum are intact
      const b = Buffer.from(original);
      const first = alignUp(12 + headerLength);
      b[first + int(rng, b.length - 40 - first)] ^= 1 << int(rng, 8);
      return { kind: 'section bit flip', bytes: b };
    }
  }
}

describe('faults: hostile model files under a memory cap (issue 14)', function () {
  this.timeout(300_000);
  let dir: string;
  let modelFile: string;
  let original: Buffer;

  before(async () => {
    dir = tempDir('padim-header-fuzz-');
    modelFile = path.join(dir, 'model.padim');
    await fitSmallModel(modelFile);
    original = fs.readFileSync(modelFile);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('headers declaring huge shapes are refused before allocation (peak RSS printed)', async () => {
    const { header } = parse(original);
    const cases: { name: string; file: string; message: RegExp }[] = [];
    const add = (name: string, message: RegExp, write: (file: string) => void) => {
      const file = path.join(dir, `huge-${cases.length}.padim`);
      write(file);
      cases.push({ name, file, message });
    };
    const edited = (edit: (h: Json) => void) => (file: string) => {
      const h = structuredClone(header);
      edit(h);
      fs.writeFileSync(file, withHeader(original, Buffer.from(JSON.stringify(h))));
    };
    add(
      'totalChannels 2e9',
      /totalChannels 2000000000 is not the sum/,
      edited((h) => ((h.embedding as Json).totalChannels = 2e9)),
    );
    add(
      'stage channels 2e9 each',
      /stageChannels must be three whole numbers/,
      edited((h) => ((h.backbone as Json).stageChannels = [2e9, 2e9, 2e9])),
    );
    add(
      'dims 1e9',
      /embedding.dims 1000000000 must be a whole number/,
      edited((h) => ((h.embedding as Json).dims = 1e9)),
    );
    add(
      'a 16000x16000 input on a 4000x4000 grid',
      /declares \d+ bytes of arrays, more than the file/,
      edited((h) => {
        h.grid = { height: 4000, width: 4000 };
        (h.input as Json).size = { kind: 'resize', width: 16000, height: 16000 };
      }),
    );
    // a sparse file as large as its header says (1 GB of holes), with sections that fail their
    // checksums: they are streamed through one small buffer, never allocated at their size
    const dims = (header.embedding as Json).dims as number;
    const grid = 1250;
    const cells = grid * grid;
    add('1 GB sparse file with bad section checksums', /section 'mean'.*(checksum|SHA-256)/i, (file) =>
      writeLaidOut(
        file,
        {
          ...header,
          grid: { height: grid, width: grid },
          input: { ...(header.input as Json), size: { kind: 'resize', width: grid * 4, height: grid * 4 } },
        },
        { mean: cells * dims, precision: (cells * dims * (dims + 1)) / 2 },
        {},
      ),
    );
    assert.ok(fs.statSync(cases.at(-1)!.file).size > 1e9);

    const lines = await loadInChild(
      modelFile,
      cases.map((c) => c.file),
      dir,
    );
    const rssMiB = lines.at(-1)!.maxRssKiB! / 1024;
    console.log(
      `      peak RSS of the loading child over ${cases.length} crafted files: ${rssMiB.toFixed(0)} MiB`,
    );
    cases.forEach((c, i) => {
      assertClear(lines[i], c.name);
      assert.match(lines[i].message ?? '', c.message, c.name);
    });
    assert.ok(rssMiB < RSS_CAP_MIB, `peak RSS ${rssMiB.toFixed(0)} MiB, cap ${RSS_CAP_MIB} MiB`);
  });

  it(`${CASES} seeded mutations (seed ${SEED}): each loads identically or throws a clear ModelFileError`, async () => {
    const rng = seededRng(SEED);
    const files: string[] = [];
    const kinds: string[] = [];
    const details: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const { kind, detail, bytes } = mutate(rng, original);
      const file = path.join(dir, `fuzz-${i}.padim`);
      fs.writeFileSync(file, bytes);
      files.push(file);
      kinds.push(kind);
      details.push(detail ?? '');
    }
    const lines = await loadInChild(modelFile, files, dir);
    const rssMiB = lines.at(-1)!.maxRssKiB! / 1024;
    const counts: Record<string, Record<string, number>> = {};
    files.forEach((file, i) => {
      const line = lines[i];
      assert.equal(line.file, file);
      const outcome = line.outcome === 'error' ? `${line.code}` : String(line.outcome);
      counts[kinds[i]] ??= {};
      counts[kinds[i]][outcome] = (counts[kinds[i]][outcome] ?? 0) + 1;
      const what = `${kinds[i]} ${details[i]} (${file})`;
      if (process.env.PADIM_HEADER_FUZZ_LOG && line.outcome === 'loaded')
        console.log(`      loaded: ${what}`);
      if (line.outcome === 'loaded') assert.equal(line.identical, true, `${what}: loaded other arrays`);
      else assertClear(line, what);
    });
    console.log(`      outcomes by mutation: ${JSON.stringify(counts)}`);
    console.log(`      peak RSS of the loading child: ${rssMiB.toFixed(0)} MiB`);
    assert.ok(rssMiB < RSS_CAP_MIB, `peak RSS ${rssMiB.toFixed(0)} MiB, cap ${RSS_CAP_MIB} MiB`);
    // the mutations reached past the checksum into the field checks, not only the framing
    const refusedFields = lines.filter((l) => /header field/.test(l.message ?? '')).length;
    assert.ok(refusedFields > CASES / 20, `${refusedFields} refused by the header field checks`);
  });
});
