/**
 * Models shared between Node-RED nodes: loaded once per model file however many nodes use it,
 * swapped in place when a fit writes a new one, and released when the last user lets go.
 *
 * A scoring session holds the model's inverse covariances (tens of MB to GB) and an onnxruntime
 * session, so loading it per node, or forgetting it on redeploy, is what makes memory grow in
 * vision flows. Every node that scores takes a lease on the model file's path; the registry
 * counts leases, and disposes the session when the count drops to zero.
 *
 * Hot swap: when a fit finishes, `publish()` opens a session on the new model and makes it the
 * current one. Work already running on the old session finishes on it (a session is only
 * disposed once nobody is using it); new work gets the new model.
 */
import { EventEmitter } from 'node:events';
import type { ModelHeader, PadimModel } from '../model/model';
import { modelInfo, type ModelInfo } from '../model/model-info';
import { checkModelExpectations, loadModel, type LoadModelOptions } from '../model/model-file';
import { Scorer, type ScorerOptions } from '../padim/scorer';

/** Anything the registry can hold: it only needs to know how to let it go. */
export interface Disposable {
  dispose(): Promise<void>;
}

/** How sessions are made: from the file, or from a model just fitted in memory. */
export interface SessionLoader<S extends Disposable, O> {
  open(path: string, options: O): Promise<S>;
  fromModel(model: PadimModel, path: string, options: O): Promise<S>;
  info(session: S): ModelInfo;
  /**
   * Throws when the session's model does not suit `options` (a model fitted for another input
   * size than the lease's configuration). Sessions are shared by every lease on a file, so this
   * is checked per lease, not when the file is opened.
   */
  check?(session: S, options: O): void;
}

/** A node's hold on a shared model. */
export interface ModelLease<S> {
  readonly path: string;
  /**
   * Runs `work` with the current session. A hot swap waits for `work` to finish before the old
   * session is disposed, so work never sees a session disappear under it.
   */
  use<T>(work: (session: S) => Promise<T>): Promise<T>;
  /** Loads the model now (at deploy) rather than on first use; resolves to its info. */
  preload(): Promise<ModelInfo>;
  /**
   * Loads the model file again (another machine wrote a new version to a shared path) and makes it
   * the current model of every lease on it. When the file cannot be loaded, the model in use stays.
   */
  reload(): Promise<ModelInfo>;
  /** Gives the lease back; the last one disposes the session. Idempotent. */
  release(): Promise<void>;
}

/** A session plus how many pieces of work are using it. */
class Slot<S extends Disposable> {
  busy = 0;
  retired = false;
  disposed?: Promise<void>;
  constructor(readonly session: S) {}
}

interface Entry<S extends Disposable, O> {
  path: string;
  options: O;
  refs: number;
  /** the session in use, or being loaded; undefined until first use or after a failed load */
  current?: Promise<Slot<S>>;
  /** the reload running now, if any */
  reloading?: Promise<ModelInfo>;
  /** one more reload after it, shared by every request made while it runs */
  nextReload?: Promise<ModelInfo>;
}

export interface ModelEvent {
  path: string;
  info: ModelInfo;
}

export class ModelRegistry<S extends Disposable, O> {
  private readonly entries = new Map<string, Entry<S, O>>();
  /** 'model' (ModelEvent): a fit or update published a new model for `path` */
  readonly events = new EventEmitter();

  constructor(
    private readonly loader: SessionLoader<S, O>,
    private readonly log: (message: string) => void = () => {},
  ) {
    // every score and config node listens; many nodes on one model are normal, not a leak
    this.events.setMaxListeners(0);
  }

  /** Model files with at least one lease (for tests and diagnostics). */
  get paths(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Takes a lease on the model at `path` (an absolute path). The session is opened with the first
   * lease's options (provider, threads); what each lease expects of the model (loader.check) is
   * checked on every use, so a configuration that does not suit the file is refused whichever
   * configuration was deployed first.
   */
  acquire(path: string, options: O): ModelLease<S> {
    let entry = this.entries.get(path);
    if (!entry) {
      entry = { path, options, refs: 0 };
      this.entries.set(path, entry);
    }
    entry.refs++;
    const e = entry;
    let released = false;
    // every lease checks its own expectations: the session is shared whoever opened it
    const suits = (s: S) => this.loader.check?.(s, options);
    return {
      path,
      use: (work) => {
        if (released) return Promise.reject(new Error('the model lease was released'));
        return this.use(e, async (s) => {
          suits(s);
          return work(s);
        });
      },
      preload: () =>
        this.use(e, async (s) => {
          suits(s);
          return this.loader.info(s);
        }),
      reload: () => (released ? Promise.reject(new Error('the model lease was released')) : this.reload(e)),
      release: async () => {
        if (released) return;
        released = true;
        await this.release(e);
      },
    };
  }

  /**
   * Makes `model` (just written to `path`) the current model of every lease on `path`,
   * and tells listeners. Resolves when the new session is in place.
   */
  async publish(path: string, model: PadimModel): Promise<ModelInfo> {
    const entry = this.entries.get(path);
    if (entry) {
      const previous = entry.current;
      const next = this.loader.fromModel(model, path, entry.options).then((s) => new Slot(s));
      entry.current = next;
      try {
        await next;
      } catch (err) {
        // the file is saved: the next use loads it from there
        if (entry.current === next) entry.current = undefined;
        this.log(`could not open the new model for scoring: ${(err as Error).message}`);
      }
      // (a release while the new session was opening retired `next` itself)
      if (previous) void this.retire(previous);
    }
    const info = modelInfo(path, model.header);
    this.events.emit('model', { path, info } satisfies ModelEvent);
    return info;
  }

  /**
   * Reload requests are coalesced: 30 at once load the file twice (the one running, and one after
   * it for requests that may have come after a newer file was written), not 30 copies of the model.
   */
  private reload(entry: Entry<S, O>): Promise<ModelInfo> {
    if (entry.reloading) {
      entry.nextReload ??= entry.reloading
        .catch(() => undefined)
        .then(() => {
          entry.nextReload = undefined;
          return this.reload(entry);
        });
      return entry.nextReload;
    }
    const running = this.reloadNow(entry).finally(() => {
      if (entry.reloading === running) entry.reloading = undefined;
    });
    entry.reloading = running;
    return running;
  }

  private async reloadNow(entry: Entry<S, O>): Promise<ModelInfo> {
    const slot = new Slot(await this.loader.open(entry.path, entry.options));
    if (this.entries.get(entry.path) !== entry) {
      // every lease was given back while the file loaded: nobody will use or release it
      await this.dispose(slot);
      throw new Error('the model lease was released');
    }
    const previous = entry.current;
    entry.current = Promise.resolve(slot);
    if (previous) void this.retire(previous);
    const info = this.loader.info(slot.session);
    this.events.emit('model', { path: entry.path, info } satisfies ModelEvent);
    return info;
  }

  private current(entry: Entry<S, O>): Promise<Slot<S>> {
    if (!entry.current) {
      const loading = this.loader.open(entry.path, entry.options).then((s) => new Slot(s));
      entry.current = loading;
      // a failed load is not remembered: the next use tries again (the file may appear)
      loading.catch(() => {
        if (entry.current === loading) entry.current = undefined;
      });
    }
    return entry.current;
  }

  private async use<T>(entry: Entry<S, O>, work: (session: S) => Promise<T>): Promise<T> {
    let slot = await this.current(entry);
    // a swap may have retired this slot between the load and now: take the newer one
    while (slot.retired) slot = await this.current(entry);
    slot.busy++;
    try {
      return await work(slot.session);
    } finally {
      slot.busy--;
      if (slot.retired && slot.busy === 0) void this.dispose(slot);
    }
  }

  private async release(entry: Entry<S, O>): Promise<void> {
    entry.refs--;
    if (entry.refs > 0) return;
    if (this.entries.get(entry.path) === entry) this.entries.delete(entry.path);
    const current = entry.current;
    entry.current = undefined;
    if (current) await this.retire(current);
  }

  /** Marks a slot as no longer current; disposes it now if idle, else when its work ends. */
  private async retire(slotPromise: Promise<Slot<S>>): Promise<void> {
    let slot: Slot<S>;
    try {
      slot = await slotPromise;
    } catch {
      return; // never loaded: nothing to release
    }
    slot.retired = true;
    if (slot.busy === 0) await this.dispose(slot);
  }

  private dispose(slot: Slot<S>): Promise<void> {
    slot.disposed ??= slot.session.dispose().catch((err: Error) => {
      this.log(`releasing a model failed: ${err.message}`);
    });
    return slot.disposed;
  }
}

// ---------------------------------------------------------------------------------------------
// The registry the nodes share: scoring sessions over model files.

/**
 * How a scoring session is opened, and what the model must have been fitted for: a model for
 * another input size is refused when it is loaded (at deploy), not when the first image comes.
 * (A model for another backbone is refused by Scorer.open when `backbonePath` is given.)
 */
export interface ScoringOptions extends ScorerOptions {
  expectInput?: LoadModelOptions['expectInput'];
}

/** A model ready to score images. */
export interface ScoringSession extends Disposable {
  scorer: Scorer;
  info: ModelInfo;
  header: ModelHeader;
}

const scorerLoader: SessionLoader<ScoringSession, ScoringOptions> = {
  async open(path, options) {
    // what the model must have been fitted for is checked per lease (check below)
    const model = await loadModel(path);
    return this.fromModel(model, path, options);
  },
  async fromModel(model, path, options) {
    const scorer = await Scorer.open(model, options);
    return {
      scorer,
      info: modelInfo(path, model.header),
      header: model.header,
      dispose: () => scorer.dispose(),
    };
  },
  info: (s) => s.info,
  check: (s, options) => checkModelExpectations(s.info.path, s.header, { expectInput: options.expectInput }),
};

/** One registry per process: every node module loads this file once (require cache). */
export const sharedModels = new ModelRegistry<ScoringSession, ScoringOptions>(scorerLoader, (m) =>
  console.warn(`[padim] ${m}`),
);
