/**
 * What one fit (or update) works with from its first image to its model: the open backbone,
 * the linear algebra, the images, the options, and the warnings gathered on the way.
 */
import type { Backbone } from '../backbone/backbone';
import type { BatchedLinalg } from '../linalg/batched-linalg';
import type { FitOptions } from '../options';
import type { ImageInput } from '../types';

export class FitCancelledError extends Error {
  constructor() {
    super('fit cancelled');
    this.name = 'FitCancelledError';
  }
}

export interface FitSession {
  /** open for the embedding pass; released before the inversion (dispose is safe twice) */
  readonly backbone: Backbone;
  readonly linalg: BatchedLinalg;
  /** the images of this fit (or update), for the embedding and the leave-one-out passes */
  readonly images: ImageInput[];
  /** the fit's options (an update's: with the model's layers, size, normalisation and eps) */
  readonly opts: FitOptions;
  /** opens the backbone again (the fit releases it before the inversion) */
  readonly reopen: () => Promise<Backbone>;
  /** what the fit warned about; logged as they happen and kept in the header */
  readonly warnings: string[];
}

/** Logs a warning and keeps it for the model header. */
export function warn(session: FitSession, message: string): void {
  session.warnings.push(message);
  session.opts.log?.(`warning: ${message}`);
}

/** Throws FitCancelledError once the fit's abort signal has fired. */
export function throwIfCancelled(session: FitSession): void {
  if (session.opts.signal?.aborted) throw new FitCancelledError();
}
