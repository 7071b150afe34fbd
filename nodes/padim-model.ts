/**
 * padim-model: a configuration node naming a model file and how it is fitted (backbone, layers,
 * dims, input size) and run (execution provider, threads). Fit and score nodes that choose the
 * same configuration share one loaded model; see src/node-support/model-registry.ts.
 */
import { parseModelSettings, type ModelFields } from '../src/node-support/model-settings';
import { ModelConfig, type ModelConfigNode } from './lib/model-config';
import type { NodeAPI, NodeDef } from './lib/red';
import { asError, baseDir } from './lib/util';

type ModelDef = NodeDef & ModelFields;

export = function register(RED: NodeAPI): void {
  function PadimModelNode(this: ModelConfigNode, def: ModelDef) {
    RED.nodes.createNode(this, def);
    try {
      this.padim = new ModelConfig(parseModelSettings(def, baseDir(RED)));
    } catch (err) {
      // reported by the nodes that use this configuration, on their status and to Catch
      this.padimError = new Error(`${RED._('padim-model.errors.settings')}: ${asError(err).message}`);
      this.error(this.padimError.message);
    }
    this.on('close', (_removed, done) => {
      // the scoring session itself is released by the last node holding a lease on it
      this.padim?.close();
      done();
    });
  }
  RED.nodes.registerType('padim-model', PadimModelNode);
};
