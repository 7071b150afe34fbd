/**
 * The decision archive: the budget state machine, 10,000 decisions against a small budget (the
 * folder measured after every batch), restarts, torn lines, a writer killed with SIGKILL, finding
 * a part's decision, and hostile archive files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ArchiveBudget,
  DecisionArchive,
  RecordTooLargeError,
  findDecisions,
  scanArchive,
  treeBytes,
  type ArchiveRecord,
} from '../../src/archive';
import { main } from '../../src/cli/main';
import { tempDir } from '../helpers';
import { waitFor } from '../nodes/fixtures';
import { partOf, testDecision } from './records';

const CHILD = path.join(__dirname, 'writer-child.js');

async function readAll(dir: string): Promise<{ records: ArchiveRecord[]; skipped: number }> {
  const records: ArchiveRecord[] = [];
  const scan = await scanArchive(dir, (r) => records.push(r));
  return { records, skipped: scan.skipped };
}

/** The last segment's records file. */
function lastRecordsFile(dir: string): string {
  const segs = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith('seg-'))
    .sort();
  return path.join(dir, segs[segs.length - 1], 'decisions.jsonl');
}

describe('archive budget (state machine)', () => {
  it('drops whole segments, oldest first, before a record would go above the budget', () => {
    const b = new ArchiveBudget(1000, 300);
    const plans = [];
    for (let i = 0; i < 20; i++) {
      plans.push(b.plan(120));
      assert.ok(b.total <= 1000, `total ${b.total} after record ${i}`);
    }
    // 2 records of 120 per segment (300 bytes), 8 records fit in 1000 bytes: 4 segments
    assert.equal(b.list.length, 4);
    assert.deepEqual(
      b.list.map((s) => s.bytes),
      [240, 240, 240, 240],
    );
    const dropped = plans.flatMap((p) => p.drop);
    assert.deepEqual(
      dropped,
      [...dropped].sort((x, y) => x - y),
      'oldest first',
    );
    assert.equal(new Set(dropped).size, dropped.length, 'each segment once');
  });

  it('counts files outside the segments, refuses a record that cannot fit, never reuses an id', () => {
    const b = new ArchiveBudget(1000, 500, [], 100);
    assert.throws(() => b.plan(901), RecordTooLargeError);
    assert.equal(b.total, 100, 'a refused record changes nothing');
    const first = b.plan(900);
    assert.equal(b.total, 1000);
    // the only segment must go: a new one with a new id
    const second = b.plan(10);
    assert.deepEqual(second.drop, [first.into]);
    assert.ok(second.into > first.into);
  });

  it('fit() shrinks an archive measured above a smaller budget; too many foreign bytes are an error', () => {
    const b = new ArchiveBudget(
      500,
      100,
      [
        { id: 3, bytes: 200 },
        { id: 1, bytes: 300 },
        { id: 2, bytes: 100 },
      ],
      10,
    );
    assert.deepEqual(b.fit(), [1]);
    assert.equal(b.total, 310);
    assert.throws(
      () => new ArchiveBudget(100, 10, [], 101).fit(),
      /not archive segments, more than the budget/,
    );
  });

  it('refuses budgets and segment sizes that are not whole positive numbers', () => {
    assert.throws(() => new ArchiveBudget(0, 1), RangeError);
    assert.throws(() => new ArchiveBudget(100, 101), RangeError);
    assert.throws(() => new ArchiveBudget(1.5, 1), RangeError);
  });
});

describe('decision archive (files)', function () {
  let root: string;
  let n = 0;
  let dir: string;
  before(() => (root = tempDir('padim-archive-')));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => (dir = path.join(root, `a${++n}`)));

  it('10,000 decisions against a 200 kB budget: the folder never exceeds it; the newest records stay', async () => {
    const budget = 200_000;
    const archive = await DecisionArchive.open(dir, { budgetBytes: budget });
    let maxSeen = 0;
    for (let batch = 0; batch < 100; batch++) {
      const writes = [];
      for (let j = 0; j < 100; j++) {
        const { result, files } = testDecision(batch * 100 + j);
        writes.push(archive.write(result, files));
      }
      await Promise.all(writes);
      const bytes = await treeBytes(dir);
      maxSeen = Math.max(maxSeen, bytes);
      assert.ok(bytes <= budget, `folder ${bytes} bytes after batch ${batch}, budget ${budget}`);
      assert.equal(archive.usage.bytes, bytes, 'the writer counts what is on disk');
    }
    await archive.close();
    // the budget is used, not just respected (segments are a tenth of it)
    assert.ok(maxSeen > budget * 0.85, `at most ${maxSeen} of ${budget} bytes used`);
    const { records, skipped } = await readAll(dir);
    assert.equal(skipped, 0);
    const parts = records.map((r) => partOf(r.result.image));
    // what is left is the newest decisions, in order, none missing between them
    assert.equal(parts[parts.length - 1], 9999);
    assert.deepEqual(
      parts,
      parts.map((_, k) => parts[0] + k),
    );
    for (const r of records.slice(-30)) {
      const ng = r.result.decision === 'NG';
      assert.equal(Boolean(r.files.image && r.files.heatmap), ng, 'NG records have their files');
      if (ng) assert.ok(fs.existsSync(path.join(dir, r.files.image!)));
    }
  });

  it('a restart measures what is there: a smaller budget drops the oldest segments at once', async () => {
    let archive = await DecisionArchive.open(dir, { budgetBytes: 100_000 });
    for (let i = 0; i < 600; i++) await archive.write(testDecision(i).result, testDecision(i).files);
    await archive.close();
    assert.ok((await treeBytes(dir)) > 60_000);
    archive = await DecisionArchive.open(dir, { budgetBytes: 50_000 });
    assert.ok((await treeBytes(dir)) <= 50_000);
    assert.equal(archive.usage.bytes, await treeBytes(dir), 'the new lock file counted as written');
    for (let i = 600; i < 700; i++) {
      await archive.write(testDecision(i).result, testDecision(i).files);
      assert.ok((await treeBytes(dir)) <= 50_000);
    }
    await archive.close();
    const parts = (await readAll(dir)).records.map((r) => partOf(r.result.image));
    assert.equal(parts[parts.length - 1], 699);
  });

  it('a torn last line is skipped and the next writer starts a new segment', async () => {
    let archive = await DecisionArchive.open(dir, { budgetBytes: 1_000_000 });
    for (let i = 0; i < 10; i++) await archive.write(testDecision(i).result);
    await archive.close();
    const file = lastRecordsFile(dir);
    const whole = fs.readFileSync(file, 'utf8');
    fs.appendFileSync(file, whole.split('\n')[0].slice(0, 40)); // a write cut short
    archive = await DecisionArchive.open(dir, { budgetBytes: 1_000_000 });
    for (let i = 10; i < 15; i++) await archive.write(testDecision(i).result);
    await archive.close();
    assert.notEqual(lastRecordsFile(dir), file, 'a new segment');
    const { records, skipped } = await readAll(dir);
    assert.equal(skipped, 1);
    assert.deepEqual(
      records.map((r) => partOf(r.result.image)),
      [...Array(15).keys()],
    );
  });

  it('a writer killed with SIGKILL while writing leaves every other record readable', async function () {
    const child = spawn(process.execPath, [CHILD, dir, '400000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let written = 0;
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (const m of d.matchAll(/written (\d+)/g)) written = Number(m[1]);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    // long enough for the budget to roll over several segments
    await waitFor(() => written >= 3000, 60_000, `3000 records from the child (stderr: ${err})`);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok((await treeBytes(dir)) <= 400_000);
    const { records, skipped } = await readAll(dir);
    assert.ok(skipped <= 1, `${skipped} lines skipped: only the one being written may be torn`);
    const parts = records.map((r) => partOf(r.result.image));
    assert.ok(
      parts[parts.length - 1] >= written - 1,
      `the last record ${parts[parts.length - 1]} of ${written}`,
    );
    assert.deepEqual(
      parts,
      parts.map((_, k) => parts[0] + k),
      'no gap',
    );
    for (const r of records) if (r.files.image) assert.ok(fs.existsSync(path.join(dir, r.files.image)));
    // the dead writer's lock is taken over, and writing goes on within the budget
    const archive = await DecisionArchive.open(dir, { budgetBytes: 400_000 });
    await archive.write(testDecision(1).result, testDecision(0).files);
    await archive.close();
    assert.ok((await treeBytes(dir)) <= 400_000);
    assert.equal((await readAll(dir)).skipped, skipped);
  });

  it('finds a part by its file name or full path, with its image and heatmap', async () => {
    const archive = await DecisionArchive.open(dir, { budgetBytes: 1_000_000 });
    for (let i = 0; i < 20; i++) await archive.write(testDecision(i).result, testDecision(i).files);
    await archive.close();
    const { found } = await findDecisions(dir, 'part-9.png');
    assert.equal(found.length, 1);
    assert.equal(found[0].result.decision, 'NG');
    assert.equal(found[0].result.modelId, 'abcdef012345');
    assert.deepEqual(fs.readFileSync(found[0].paths.image!), testDecision(9).files[0].data);
    assert.deepEqual(fs.readFileSync(found[0].paths.heatmap!), testDecision(9).files[1].data);
    assert.equal((await findDecisions(dir, '/cam/part-10.png')).found[0].result.decision, 'OK');
    assert.equal((await findDecisions(dir, 'part-99.png')).found.length, 0);
  });

  it('padim archive find: a table or JSON lines; exit code 1 when the part is not there', async () => {
    const archive = await DecisionArchive.open(dir, { budgetBytes: 1_000_000 });
    for (let i = 0; i < 5; i++) await archive.write(testDecision(i).result, testDecision(i).files);
    await archive.close();
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['archive', 'find', dir, ...args], {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
      });
      return { code, out, err };
    };
    const table = await run('--image', 'part-3.png');
    assert.equal(table.code, 0);
    assert.match(
      table.out.join('\n'),
      /NG {2}score 23 {2}threshold 12 {2}model abcdef012345 {2}\/cam\/part-3.png/,
    );
    const json = await run('--image', 'part-3.png', '--json');
    const row = JSON.parse(json.out[0]) as { result: { image: string }; image: string };
    assert.equal(row.result.image, '/cam/part-3.png');
    assert.deepEqual(fs.readFileSync(row.image), testDecision(3).files[0].data);
    const missing = await run('--image', 'part-77.png');
    assert.equal(missing.code, 1);
    assert.match(missing.err.join(''), /no decision about part-77.png .*5 decisions read/);
    assert.equal((await run()).code, 2, '--image is required');
  });

  it('hostile records files: junk, overlong lines and paths out of the folder are skipped', async () => {
    const archive = await DecisionArchive.open(dir, { budgetBytes: 10_000_000 });
    await archive.write(testDecision(1).result);
    await archive.close();
    const file = lastRecordsFile(dir);
    const evil = { ...testDecision(2), files: { image: '../../../etc/passwd' } };
    fs.appendFileSync(
      file,
      `not json\n{"result":1}\n${'x'.repeat(3 << 20)}\n${JSON.stringify({ result: evil.result, files: evil.files })}\n`,
    );
    const { records, skipped } = await readAll(dir);
    assert.equal(records.length, 2);
    assert.equal(skipped, 3);
    const { found } = await findDecisions(dir, 'part-2.png');
    assert.equal(found[0].paths.image, undefined, 'a path out of the archive is not offered');
  });

  it('refuses a second writer, a result off the schema, and a record larger than the budget', async () => {
    const archive = await DecisionArchive.open(dir, { budgetBytes: 5_000 });
    await assert.rejects(DecisionArchive.open(dir, { budgetBytes: 5_000 }), /already open in this process/);
    await assert.rejects(
      archive.write({ ...testDecision(1).result, score: 'high' } as never),
      /does not follow schemas\/result.schema.json/,
    );
    const big = testDecision(0);
    big.files[0].data = Buffer.alloc(6_000);
    await assert.rejects(archive.write(big.result, big.files), RecordTooLargeError);
    // the archive still works after the refusals
    await archive.write(testDecision(1).result);
    await archive.close();
    assert.equal((await readAll(dir)).records.length, 1);
    // a lock held by a living process (this test's parent) is refused
    fs.writeFileSync(path.join(dir, '.lock'), `${process.ppid}\n`);
    await assert.rejects(DecisionArchive.open(dir, { budgetBytes: 5_000 }), /in use by process/);
  });
});
