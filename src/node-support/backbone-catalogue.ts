/**
 * What the padim-model dialog shows of the models directory: every registry backbone, installed
 * or missing, the imported ones, what `auto` resolves to, the other names the backbone field
 * takes (so the editor keeps no copy of the backbone list); and pulls started from the editor,
 * one job per backbone, whose progress the dialog polls. Node-RED-free: the node file only
 * routes the admin endpoints here.
 */
import { findEntry } from '../backbone/registry/registry';
import { bestInstalled, listInstalled, pull, type PullOptions } from '../backbone/registry/store';
import { AUTO_BACKBONE, BUILTIN_FILTERBANK, PRESETS } from '../backbone/presets';
import { SupportError, type SupportData } from './errors';

/** installed: the prepared backbone exists; downloaded: the file only (prepared at first use). */
export type BackboneState = 'installed' | 'downloaded' | 'missing';

/** A pull started from the editor: running, then done or failed (with the error to show). */
export interface PullJob {
  name: string;
  state: 'running' | 'done' | 'failed';
  /** bytes received so far, and the file's size (bytes) */
  received: number;
  total: number;
  /** one line saying what went wrong and what to do (failed only) */
  error?: string;
}

export interface CatalogueItem {
  name: string;
  /** absent for an imported backbone (not in the registry) */
  description?: string;
  state: BackboneState;
  /** size of the published file, bytes */
  bytes?: number;
  licence?: string;
  source?: string;
  /** in the registry with a published SHA-256, so `pull` can fetch and check it */
  pullable: boolean;
  /** the latest pull of it started from the editor, if any */
  pull?: PullJob;
}

export interface Catalogue {
  /** the models directory the runtime uses */
  dir: string;
  /** what `--backbone auto` / the node's `auto` uses now */
  auto: string;
  items: CatalogueItem[];
  /** names offered before the items: `auto` and the built-in backbone */
  fixed: string[];
  /** preset names offered after the items, those not listed among them */
  presets: string[];
}

/** Why a pull request is refused before it starts; `status` is the HTTP answer. */
export class PullRefused<C extends 'backbone.unknown' | 'backbone.noChecksum'> extends SupportError<C> {
  constructor(
    code: C,
    data: SupportData<C>,
    readonly status: 404 | 409,
  ) {
    super(code, data);
  }
}

type PullFunction = (dir: string, name: string, opts: PullOptions) => Promise<unknown>;

/**
 * The pulls of one runtime. A second request for a backbone being pulled joins the running
 * job instead of starting another download into the same temporary file.
 */
export class PullJobs {
  private readonly jobs = new Map<string, PullJob>();
  /** settles when the job of that name ends (it never rejects: a failure is the job's state) */
  private readonly endings = new Map<string, Promise<void>>();

  constructor(private readonly pullFn: PullFunction = pull) {}

  get(name: string): PullJob | undefined {
    const job = this.jobs.get(name);
    return job && { ...job };
  }

  /** Starts pulling `name` into `dir` (or returns the running job); `done` resolves when it ends. */
  start(
    dir: string,
    name: string,
    opts: PullOptions = {},
  ): { job: PullJob; started: boolean; done: Promise<void> } {
    const entry = findEntry(name);
    if (!entry) throw new PullRefused('backbone.unknown', { name }, 404);
    if (!entry.sha256)
      throw new PullRefused('backbone.noChecksum', { name, source: String(entry.checksumFrom) }, 409);
    const running = this.jobs.get(name);
    if (running?.state === 'running')
      return { job: { ...running }, started: false, done: this.endings.get(name) as Promise<void> };
    const job: PullJob = { name, state: 'running', received: 0, total: entry.bytes };
    this.jobs.set(name, job);
    const done = this.pullFn(dir, name, {
      ...opts,
      onProgress: (received, total) => {
        job.received = received;
        job.total = total;
      },
    }).then(
      () => {
        job.state = 'done';
        job.received = job.total;
      },
      (err: unknown) => {
        job.state = 'failed';
        job.error = err instanceof Error ? err.message : String(err);
      },
    );
    this.endings.set(name, done);
    return { job: { ...job }, started: true, done };
  }
}

/** The models directory as the dialog lists it, with the editor's pulls. */
export function backboneCatalogue(dir: string, jobs?: PullJobs): Catalogue {
  const items = listInstalled(dir).map((s): CatalogueItem => {
    const e = s.entry;
    const state: BackboneState = s.prepared ? 'installed' : s.file ? 'downloaded' : 'missing';
    return {
      name: s.name,
      description: e?.description,
      state,
      bytes: e?.bytes,
      licence: e?.licence,
      source: e?.source,
      pullable: Boolean(e?.sha256),
      pull: jobs?.get(s.name),
    };
  });
  const listed = new Set(items.map((i) => i.name));
  return {
    dir,
    auto: bestInstalled(dir) ?? BUILTIN_FILTERBANK,
    items,
    fixed: [AUTO_BACKBONE, BUILTIN_FILTERBANK],
    presets: Object.keys(PRESETS).filter((name) => !listed.has(name)),
  };
}
