/**
 * padim-model: a configuration node naming a model file and how it is fitted (backbone, layers,
 * dims, input size) and run (execution provider, threads). Fit and score nodes that choose the
 * same configuration share one loaded model; see src/node-support/model-registry.ts.
 */
import { modelsDir } from '../src/backbone/registry/store';
import { backboneCatalogue, PullJobs, PullRefused } from '../src/node-support/backbone-catalogue';
import { parseModelSettings, type ModelFields, type ModelSettings } from '../src/node-support/model-settings';
import { translator, type Translate } from './lib/i18n';
import { maxPixelsSetting } from './lib/max-pixels';
import { ModelConfig, type ModelConfigNode } from './lib/model-config';
import { pathPolicy } from './lib/paths';
import type { Handler, NodeAPI, NodeDef } from './lib/red';
import { explainText } from './lib/support-errors';
import { baseDir } from './lib/util';

type ModelDef = NodeDef & ModelFields;

const appsWithEndpoints = new WeakSet<object>();
/** registry names only: the name is looked up, never used as a path */
const BACKBONE_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/**
 * GET /padim-models/backbones (padim-model.read): the models directory as the dialog lists it.
 * POST /padim-models/backbones/<name>/pull (padim-model.write): starts pulling a registry
 * backbone (202; 200 when one is already running); the dialog polls the list for its progress.
 * The models directory and mirror are the runtime's (PADIM_MODELS_DIR, PADIM_MODELS_MIRROR),
 * never taken from the request.
 */
function addBackboneEndpoints(RED: NodeAPI, t: Translate, jobs: PullJobs): void {
  const admin = RED.httpAdmin;
  if (!admin || appsWithEndpoints.has(admin)) return;
  appsWithEndpoints.add(admin);
  const allow: Handler = (_q, _s, next) => next();
  const read = RED.auth?.needsPermission('padim-model.read') ?? allow;
  const write = RED.auth?.needsPermission('padim-model.write') ?? allow;
  admin.get('/padim-models/backbones', read, (_req, res) => {
    try {
      res.json(backboneCatalogue(modelsDir(), jobs));
    } catch (err) {
      res.status(500).json({ error: t('errors.catalogue', { error: explainText(RED, err) }) });
    }
  });
  admin.post('/padim-models/backbones/:name/pull', write, (req, res) => {
    const { name } = req.params;
    if (!BACKBONE_NAME.test(name ?? '')) return res.sendStatus(400);
    try {
      const { job, started, done } = jobs.start(modelsDir(), name);
      // logged once, by the request that started it
      if (started)
        void done.then(() => {
          const now = jobs.get(name);
          if (now?.state === 'failed')
            RED.log?.warn(t('errors.pullFailed', { name, error: now.error ?? '' }));
        });
      res.status(started ? 202 : 200).json(job);
    } catch (err) {
      res.status(err instanceof PullRefused ? err.status : 500).json({ error: explainText(RED, err) });
    }
  });
}

/** one set of pulls per process: a redeploy does not forget a download in progress */
const pullJobs = new PullJobs();

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-model');
  addBackboneEndpoints(RED, t, pullJobs);
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
      this.padimError = new Error(t('errors.settings', { error: explainText(RED, err) }));
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
