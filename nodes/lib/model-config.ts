/**
 * What a padim-model configuration node offers the nodes that use it: the parsed settings,
 * leases on the shared scoring session, and a 'model' event when a fit publishes a new model.
 */
import type { ModelInfo } from '../../src/model/model-info';
import { EventEmitter } from 'node:events';
import type { PadimModel } from '../../src/model/model';
import {
  sharedModels,
  type ModelEvent,
  type ModelLease,
  type ScoringSession,
} from '../../src/node-support/model-registry';
import type { ModelSettings } from '../../src/node-support/model-settings';
import { SupportError } from '../../src/node-support/errors';
import type { FitOptions } from '../../src/options';
import type { Node, NodeAPI } from './red';

export class ModelConfig {
  /** 'model' (ModelInfo): a new model for this file was fitted or updated */
  readonly events = new EventEmitter();

  private readonly forward = (e: ModelEvent) => {
    if (e.path === this.settings.path) this.events.emit('model', e.info);
  };

  constructor(readonly settings: ModelSettings) {
    this.events.setMaxListeners(0);
    sharedModels.events.on('model', this.forward);
  }

  /** absolute path of the model file */
  get path(): string {
    return this.settings.path;
  }

  fitOptions(): FitOptions {
    return { ...this.settings.fit };
  }

  /** A hold on the shared scoring session for this model file; release it on close. */
  acquire(): ModelLease<ScoringSession> {
    return sharedModels.acquire(this.settings.path, this.settings.scorer);
  }

  /** Hands a model just saved to this file to every node scoring with it. */
  publish(model: PadimModel): Promise<ModelInfo> {
    return sharedModels.publish(this.settings.path, model);
  }

  close(): void {
    sharedModels.events.off('model', this.forward);
    this.events.removeAllListeners();
  }
}

/** A padim-model node at runtime: `padim` is set when its settings are valid, else `padimError`. */
export interface ModelConfigNode extends Node {
  padim?: ModelConfig;
  padimError?: Error;
}

/** The ModelConfig of the config node `id`, or an error that says what to fix (see explain()). */
export function getModelConfig(RED: NodeAPI, id: unknown): ModelConfig {
  const node = typeof id === 'string' && id ? (RED.nodes.getNode(id) as ModelConfigNode | null) : null;
  if (!node) throw new SupportError('config.noModel', {});
  if (!node.padim) throw node.padimError ?? new SupportError('config.notReady', {});
  return node.padim;
}
