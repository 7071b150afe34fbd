import assert from 'node:assert/strict';
import type { PadimModel } from '../../src/model/model';
import type { ModelInfo } from '../../src/model/model-info';
import { ModelRegistry, type SessionLoader } from '../../src/node-support/model-registry';

/** A stand-in session: records whether it was disposed. */
interface Fake {
  name: string;
  disposed: boolean;
  dispose(): Promise<void>;
}

function fakeLoader() {
  const made: Fake[] = [];
  let failNext = false;
  const make = (name: string): Fake => {
    const s: Fake = {
      name,
      disposed: false,
      dispose: async () => {
        s.disposed = true;
      },
    };
    made.push(s);
    return s;
  };
  const loader: SessionLoader<Fake, object> = {
    async open(path) {
      await new Promise((r) => setTimeout(r, 5));
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error(`no model at ${path}`), { code: 'ENOENT' });
      }
      return make(`file:${path}`);
    },
    async fromModel(model, path) {
      return make(`fitted:${path}:${model.header.threshold}`);
    },
    info: (s) =>
      ({ path: s.name, id: s.name, threshold: 1, nTrain: 1, backbone: 'b', createdAt: '' }) as ModelInfo,
  };
  return { loader, made, failOnce: () => (failNext = true) };
}

const model = (threshold: number) =>
  ({ header: { threshold, nTrain: 2, backbone: { id: 'b' }, createdAt: 'now' } }) as unknown as PadimModel;

describe('ModelRegistry', () => {
  it('coalesces 30 reloads at once into two loads of the file (issue 14)', async () => {
    const { loader, made } = fakeLoader();
    const reg = new ModelRegistry(loader);
    const lease = reg.acquire('/m', {});
    await lease.preload();
    const before = made.length;
    const infos = await Promise.all(Array.from({ length: 30 }, () => lease.reload()));
    assert.equal(made.length - before, 2);
    assert.ok(infos.every((i) => i.id === 'file:/m'));
    await lease.release();
    assert.ok(made.every((s) => s.disposed));
  });

  it("checks each lease's own options on the shared session, whichever lease came first", async () => {
    const { loader } = fakeLoader();
    const checked: unknown[] = [];
    const strict: SessionLoader<Fake, { size: string }> = {
      ...(loader as unknown as SessionLoader<Fake, { size: string }>),
      check: (s, o) => {
        checked.push(o);
        if (o.size !== '64') throw new Error(`${s.name} was fitted for 64, not ${o.size}`);
      },
    };
    const reg = new ModelRegistry(strict);
    const first = { size: '64' };
    const a = reg.acquire('/m', first);
    const same = reg.acquire('/m', first);
    const alike = reg.acquire('/m', { size: '64' });
    const other = reg.acquire('/m', { size: '128' });
    await a.preload();
    await same.use(async () => 1);
    assert.deepEqual(checked, [first, first], 'every lease is checked, the first one too');
    await alike.preload();
    await assert.rejects(other.preload(), /fitted for 64, not 128/);
    await assert.rejects(
      other.use(async () => 1),
      /not 128/,
    );
    assert.equal(await a.use(async (s) => s.name), 'file:/m', 'the first lease still works');
    for (const l of [a, same, alike, other]) await l.release();
    // the unsuitable configuration deployed first does not decide for the others
    const wrongFirst = reg.acquire('/m', { size: '128' });
    const right = reg.acquire('/m', { size: '64' });
    await assert.rejects(wrongFirst.preload(), /not 128/);
    assert.equal(await right.use(async (s) => s.name), 'file:/m');
    for (const l of [wrongFirst, right]) await l.release();
  });

  it('loads a model once for all leases and disposes it with the last release', async () => {
    const { loader, made } = fakeLoader();
    const reg = new ModelRegistry(loader);
    const a = reg.acquire('/m', {});
    const b = reg.acquire('/m', {});
    const [na, nb] = await Promise.all([a.use(async (s) => s.name), b.use(async (s) => s.name)]);
    assert.equal(na, nb);
    assert.equal(made.length, 1);
    await a.release();
    assert.equal(made[0].disposed, false);
    await b.release();
    await b.release(); // idempotent
    assert.equal(made[0].disposed, true);
    assert.deepEqual(reg.paths, []);
    await assert.rejects(
      a.use(async () => 1),
      /released/,
    );
  });

  it('swaps in a published model; work on the old one finishes before it is disposed', async () => {
    const { loader, made } = fakeLoader();
    const reg = new ModelRegistry(loader);
    const events: unknown[] = [];
    reg.events.on('model', (e) => events.push(e));
    const lease = reg.acquire('/m', {});
    await lease.preload();
    let release!: () => void;
    const slow = lease.use(async (s) => {
      await new Promise<void>((r) => (release = r));
      return s;
    });
    await new Promise((r) => setTimeout(r, 5));
    await reg.publish('/m', model(7));
    assert.equal(made[0].disposed, false, 'in use: not disposed yet');
    assert.equal(await lease.use(async (s) => s.name), 'fitted:/m:7');
    release();
    assert.equal((await slow).name, 'file:/m');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(made[0].disposed, true);
    assert.equal(events.length, 1);
    await lease.release();
    assert.equal(made[1].disposed, true);
  });

  it('publishing a model nobody uses only tells listeners', async () => {
    const { loader, made } = fakeLoader();
    const reg = new ModelRegistry(loader);
    let told = 0;
    reg.events.on('model', () => told++);
    await reg.publish('/other', model(3));
    assert.equal(made.length, 0);
    assert.equal(told, 1);
  });

  it('a failed load is not remembered: the next use tries again', async () => {
    const { loader, failOnce } = fakeLoader();
    const reg = new ModelRegistry(loader);
    const lease = reg.acquire('/m', {});
    failOnce();
    await assert.rejects(lease.preload(), /no model at \/m/);
    assert.equal((await lease.preload()).id, 'file:/m');
    await lease.release();
  });

  it('a release while loading disposes the session once it is loaded', async () => {
    const { loader, made } = fakeLoader();
    const reg = new ModelRegistry(loader);
    const lease = reg.acquire('/m', {});
    const loading = lease.preload();
    await lease.release();
    await loading;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(made[0].disposed, true);
  });
});
