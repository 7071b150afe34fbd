/**
 * Model versions: each save keeps the replaced model (bounded), a rollback restores a
 * byte-identical earlier file, and damaged history files are reported without touching the
 * current model.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../src/cli/main';
import type { PadimModel } from '../src/model/model';
import { loadModel } from '../src/model/model-file';
import {
  HistoryIndexError,
  historyDir,
  readVersions,
  rollbackModel,
  saveModelVersion,
} from '../src/model/history';
import { sha256File } from '../src/backbone/registry/store';
import { modelInfo } from '../src/model/model-info';
import { tempDir } from './helpers';
import { fitSmallModel } from './nodes/fixtures';

interface Saved {
  id: string;
  sha256: string;
  nTrain: number;
  threshold: number;
}

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('model versions', function () {
  let root: string;
  /** four different models (fitted on 10, 9, 8, 7 training images) */
  const models: PadimModel[] = [];
  let n = 0;
  let file: string;
  before(async () => {
    root = tempDir('padim-history-');
    for (const images of [10, 9, 8, 7])
      models.push((await fitSmallModel(path.join(root, `m${images}.padim`), images)).model);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => (file = path.join(root, `model-${++n}.padim`)));

  /** Saves models[i] at `file` keeping versions; returns what the saved file is. */
  async function save(i: number, keep?: number): Promise<Saved> {
    await saveModelVersion(file, models[i], { keep });
    const h = models[i].header;
    return {
      id: modelInfo(file, h).id,
      sha256: await sha256File(file),
      nTrain: h.nTrain,
      threshold: h.threshold,
    };
  }

  it('every save keeps the model it replaces, newest first, with id, images and threshold', async () => {
    const a = await save(0);
    assert.ok(!fs.existsSync(historyDir(file)), 'a first save has nothing to keep');
    const b = await save(1);
    const c = await save(2);
    const versions = await readVersions(file);
    assert.deepEqual(
      versions.map((v) => [v.id, v.nTrain, v.threshold, v.sha256]),
      [b, a].map((s) => [s.id, s.nTrain, s.threshold, s.sha256]),
    );
    // the kept files are the saved bytes
    for (const [v, s] of [
      [versions[0], b],
      [versions[1], a],
    ] as const)
      assert.equal(await sha256File(path.join(historyDir(file), v.file)), s.sha256);
    assert.equal(await sha256File(file), c.sha256, 'the current model is the last saved');
  });

  it('rollback restores a byte-identical earlier model; a second rollback goes back again', async () => {
    const a = await save(0);
    const b = await save(1);
    const c = await save(2);
    const r = await rollbackModel(file);
    assert.equal(r.to.id, b.id);
    assert.equal(r.from, c.id);
    assert.equal(await sha256File(file), b.sha256);
    assert.equal(modelInfo(file, r.model.header).id, b.id);
    assert.deepEqual(
      (await readVersions(file)).map((v) => v.id),
      [c.id, a.id],
      'the replaced model is kept, the current one not listed',
    );
    await rollbackModel(file);
    assert.equal(await sha256File(file), c.sha256);
    // by id prefix
    await rollbackModel(file, a.id.slice(0, 5));
    assert.equal(await sha256File(file), a.sha256);
    assert.equal(modelInfo(file, (await loadModel(file)).header).id, a.id);
    await assert.rejects(rollbackModel(file, 'ffffffffffff'), /no version ffffffffffff/);
  });

  it('keeps at most `keep` versions and no other files', async () => {
    const saved = [];
    for (let i = 0; i < 4; i++) saved.push(await save(i, 2));
    await saveModelVersion(file, models[0], { keep: 2 });
    const versions = await readVersions(file);
    assert.deepEqual(
      versions.map((v) => v.id),
      [saved[3].id, saved[2].id],
    );
    assert.deepEqual(
      fs.readdirSync(historyDir(file)).sort(),
      ['index.json', ...versions.map((v) => v.file)].sort(),
    );
    // keep 0: nothing kept
    const other = path.join(root, 'no-history.padim');
    await saveModelVersion(other, models[0], { keep: 0 });
    await saveModelVersion(other, models[1], { keep: 0 });
    assert.ok(!fs.existsSync(historyDir(other)));
  });

  it('a damaged index is reported clearly; the current model still loads; the next save starts afresh', async () => {
    await save(0);
    const b = await save(1);
    const index = path.join(historyDir(file), 'index.json');
    fs.writeFileSync(index, '{"format":"padim-model-history","versions":[{"id":"zz"');
    await assert.rejects(readVersions(file), HistoryIndexError);
    await assert.rejects(
      rollbackModel(file),
      /history index .*index.json is damaged .*the current model is not affected/,
    );
    assert.equal(await sha256File(file), b.sha256, 'rollback changed nothing');
    await loadModel(file);
    const history = await cli('models', 'history', file);
    assert.equal(history.code, 1);
    assert.match(history.err, /is damaged/);
    const warnings: string[] = [];
    await saveModelVersion(file, models[2], { log: (m) => warnings.push(m) });
    assert.match(warnings.join('\n'), /moved to .*index\.json\.damaged and a new history started/);
    assert.deepEqual(
      (await readVersions(file)).map((v) => v.id),
      [b.id],
    );
  });

  it('an index pointing outside the history folder, or a damaged version file, is refused', async () => {
    await save(0);
    const b = await save(1);
    const index = path.join(historyDir(file), 'index.json');
    const good = fs.readFileSync(index, 'utf8');
    const parsed = JSON.parse(good) as { versions: { file: string }[] };
    parsed.versions[0].file = '../../etc/passwd';
    fs.writeFileSync(index, JSON.stringify(parsed));
    await assert.rejects(readVersions(file), /file must be [0-9a-f]{12}\.padim/);
    fs.writeFileSync(index, good);
    const version = path.join(historyDir(file), (await readVersions(file))[0].file);
    const bytes = fs.readFileSync(version);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(version, bytes);
    await assert.rejects(rollbackModel(file), /is damaged: its SHA-256 does not match/);
    assert.equal(await sha256File(file), b.sha256);
  });

  it('padim models history (table, --json) and rollback; fit and update keep versions', async () => {
    const a = await save(0);
    const b = await save(1);
    const table = await cli('models', 'history', file);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, new RegExp(`^\\* ${b.id} .* ${b.nTrain} `, 'm'));
    assert.match(table.out, new RegExp(`^  ${a.id} .* ${a.nTrain} `, 'm'));
    const json = JSON.parse((await cli('models', 'history', file, '--json')).out) as {
      current: { id: string };
      versions: { id: string }[];
    };
    assert.equal(json.current.id, b.id);
    assert.deepEqual(
      json.versions.map((v) => v.id),
      [a.id],
    );
    const rolled = await cli('models', 'rollback', file);
    assert.equal(rolled.code, 0, rolled.err);
    assert.match(rolled.out, new RegExp(`rolled back to ${a.id}.*${b.id} kept as a version`));
    assert.equal(await sha256File(file), a.sha256);
    assert.equal((await cli('models', 'rollback', path.join(root, 'none.padim'))).code, 1);
    assert.equal((await cli('models', 'rollback', file, '--to', 'nothing')).code, 1);
    // `padim update` keeps the model it replaces
    const data = path.join(root, 'more');
    fs.mkdirSync(data);
    const { dataset } = await fitSmallModel(path.join(root, 'unused.padim'), 2);
    fs.copyFileSync(dataset.train[9], path.join(data, 'x.png'));
    const updated = await cli('update', '--model', file, '--train', data, '-q', '--keep-versions', '3');
    assert.equal(updated.code, 0, updated.err);
    assert.equal((await readVersions(file))[0].id, a.id);
    assert.equal((await cli('fit', '--train', data, '--out', file, '--keep-versions', 'x')).code, 2);
  });
});
