/**
 * padim-model: a configuration node naming a model file and how it is fitted (backbone, layers,
 * dims, input size) and run (execution provider, threads). Fit and score nodes that choose the
 * same configuration share one loaded model; see src/node-support/model-registry.ts.
 */
import { parseModelSettings, type ModelFields, type ModelSettings } from '../src/node-support/model-settings';
import { maxPixelsSetting } from './lib/max-pixels';
import { ModelConfig, type ModelConfigNode } from './lib/model-config';
import { pathPolicy } from './lib/paths';
import type { NodeAPI, NodeDef } from './lib/red';
import { asError, baseDir } from './lib/util';

type ModelDef = NodeDef & ModelFields;

export = function register(RED: NodeAPI): void {
  /**
   * The settings with what the runtime's settings.js adds: the model and backbone files must be
   * inside padimAllowedPaths, images above padimMaxPixels are refused before decoding, and a
   * model file fitted for another backbone or input size is refused when loaded.
   */
  function safeSettings(def: ModelDef): ModelSettings {
    // with an allow-list, the checked real location is the path opened
    const policy = pathPolicy(RED, true);
    const settings = parseModelSettings(def, baseDir(RED), (typed, what) => policy.check(typed, what));
    const backbone = settings.fit.backbone ?? '';
    const limit = maxPixelsSetting(RED);
    // a backbone path written in a model file (used by "update") is held to the allow-list too
    const checkStoredPath = (p: string) => policy.check(p, 'backbone file');
    return {
      path: settings.path,
      fit: { ...settings.fit, maxPixels: limit, checkStoredPath },
      scorer: {
        ...settings.scorer,
        maxPixels: limit,
        checkStoredPath,
        // auto scores with the backbone the model was fitted with
        backbonePath: backbone && backbone !== 'auto' ? backbone : undefined,
        expectInput: { size: settings.fit.size },
      },
    };
  }

  function PadimModelNode(this: ModelConfigNode, def: ModelDef) {
    RED.nodes.createNode(this, def);
    try {
      this.padim = new ModelConfig(safeSettings(def));
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
