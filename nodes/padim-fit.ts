/**
 * padim-fit: fits a model on good images and writes it to the padim-model configuration's file.
 *
 * Images come in messages (collected as file paths or encoded Buffers, never decoded pixels,
 * so collecting hundreds costs little memory) or from a folder read at fit time. A fit runs on
 * msg.topic "fit", when a count is reached, or at the end of an image-source folder run;
 * msg.topic "update" adds the collected images to the existing model without refitting;
 * "cancel" stops a running fit; "clear" forgets the collected images. At most
 * `padimFitMaxCollected` (settings.js; default 10,000 images or 1 GiB) are held: past it an
 * image goes to Catch instead of filling memory.
 *
 * The model is written atomically (the previous file stays intact until the new one is
 * complete), then handed to every score node using the same configuration.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FitCancelledError, fitModel, updateModel } from '../src/padim/fit';
import type { PadimModel } from '../src/model/model';
import { loadModel } from '../src/model/model-file';
import { DEFAULT_KEEP_VERSIONS, rollbackModel, saveModelVersion } from '../src/model/history';
import { CollectedImages, collectLimits } from '../src/node-support/collected-images';
import { listFolderImages } from '../src/node-support/folder-images';
import { imageFromPayload } from '../src/node-support/image-input';
import { DEFAULTS, type Progress } from '../src/options';
import { describeThreshold } from '../src/threshold';
import { translator } from './lib/i18n';
import { getModelConfig, type ModelConfig } from './lib/model-config';
import { pathChecker, pathPolicy } from './lib/paths';
import type { DoneFunction, Node, NodeAPI, NodeDef, NodeMessage, SendFunction } from './lib/red';
import { explain } from './lib/support-errors';
import { booleanSetting, formatDuration, formatScore, numberSetting, refuseInputs } from './lib/util';

type Action = 'fit' | 'update';

interface FitDef extends NodeDef {
  model?: string;
  source?: 'messages' | 'folder';
  folder?: string;
  recursive?: boolean | string;
  count?: string | number;
  countAction?: Action;
  fitAtEnd?: boolean | string;
  batchSize?: string | number;
  /** false-alarm budget in percent of good parts (the suggested threshold's target) */
  falseAlarmRate?: string | number;
  /** earlier models kept in MODEL.history/ (0: none) */
  keepVersions?: string | number;
}

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-fit');

  function PadimFitNode(this: Node, def: FitDef) {
    RED.nodes.createNode(this, def);
    // the usual Node-RED idiom: the handlers below are closures over the node
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    let config: ModelConfig;
    try {
      config = getModelConfig(RED, def.model);
    } catch (err) {
      refuseInputs(node, explain(RED, err), t('status.notConfigured'));
      return;
    }
    const source = def.source === 'folder' ? 'folder' : 'messages';
    const count = Math.max(0, Math.floor(numberSetting(def.count, 0)));
    const countAction: Action = def.countAction === 'update' ? 'update' : 'fit';
    const fitAtEnd = booleanSetting(def.fitAtEnd, false);
    const batchSize = Math.max(1, Math.floor(numberSetting(def.batchSize, 8)));
    const falseAlarmRate = numberSetting(def.falseAlarmRate, DEFAULTS.falseAlarmRate * 100) / 100;
    const checkImagePath = pathChecker(RED, 'image file');
    const keepVersions = Math.max(0, Math.floor(numberSetting(def.keepVersions, DEFAULT_KEEP_VERSIONS)));
    const history = { keep: keepVersions, log: (m: string) => node.warn(m) };

    /** collected images: file paths or encoded bytes, bounded */
    let collected: CollectedImages;
    try {
      collected = new CollectedImages(collectLimits(RED.settings.padimFitMaxCollected), (held, limits) =>
        t('errors.collectLimit', {
          held: held.images,
          heldMiB: (held.bytes / 2 ** 20).toFixed(1),
          images: limits.images,
          mib: (limits.bytes / 2 ** 20).toFixed(1),
        }),
      );
    } catch (err) {
      refuseInputs(node, explain(RED, err), t('status.notConfigured'));
      return;
    }
    let running: { controller: AbortController; finished: Promise<void> } | undefined;

    const showCollected = () =>
      node.status(
        collected.length > 0
          ? { fill: 'blue', shape: 'dot', text: t('status.collected', { count: collected.length }) }
          : {},
      );

    const progressText = (p: Progress) => t(`status.${p.phase}`, { done: p.done, total: p.total });

    /** The images of this run: the folder's, or the collected ones (taken, put back on failure). */
    const takeImages = (msg: NodeMessage): (Buffer | string)[] => {
      if (source === 'folder') {
        const folder = typeof msg.folder === 'string' && msg.folder ? msg.folder : (def.folder ?? '');
        if (!folder.trim()) throw new Error(t('errors.noFolder'));
        const files = listFolderImages(pathPolicy(RED).check(folder, 'image folder'), {
          recursive: booleanSetting(def.recursive, false),
          warn: (m) => node.warn(m),
        });
        // a link in the folder may point elsewhere: every file is checked, not only the folder
        return files.map(checkImagePath);
      }
      return collected.take();
    };

    const runFit = async (action: Action, images: (Buffer | string)[], signal: AbortSignal) => {
      const started = performance.now();
      const opts = {
        ...config.fitOptions(),
        batchSize,
        falseAlarmRate,
        signal,
        log: (m: string) => node.warn(m),
        onProgress: (p: Progress) => node.status({ fill: 'blue', shape: 'ring', text: progressText(p) }),
      };
      const model: PadimModel =
        action === 'fit'
          ? await fitModel(images, opts)
          : await updateModel(await loadModel(config.path), images, opts);
      if (signal.aborted) throw new FitCancelledError();
      node.status({ fill: 'blue', shape: 'ring', text: t('status.saving') });
      fs.mkdirSync(path.dirname(config.path), { recursive: true });
      // the versions folder beside the model is held to the allow-list like the model itself
      pathPolicy(RED).check(`${config.path}.history`, 'model history folder');
      await saveModelVersion(config.path, model, history);
      const info = await config.publish(model);
      const ms = performance.now() - started;
      const cal = model.header.calibration;
      const falseAlarms = cal ? describeThreshold(cal, model.header.threshold) : undefined;
      if (falseAlarms?.warning) node.warn(falseAlarms.warning);
      return {
        action,
        images: images.length,
        nTrain: model.header.nTrain,
        seconds: Math.round(ms) / 1000,
        modelPath: config.path,
        modelId: info.id,
        threshold: model.header.threshold,
        trainScores: model.header.trainScores,
        inputSize: { width: model.header.input.size.width, height: model.header.input.size.height },
        warnings: [
          ...(model.header.fitWarnings ?? []),
          ...(falseAlarms?.warning ? [falseAlarms.warning] : []),
        ],
        // the threshold's expected false-alarm rate (0..1), its 95% interval and the images it rests on
        ...(falseAlarms ? { falseAlarms } : {}),
      };
    };

    const start = (action: Action, msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
      if (running) {
        done(new Error(t('errors.busy')));
        return;
      }
      let images: (Buffer | string)[];
      try {
        images = takeImages(msg);
      } catch (err) {
        done(explain(RED, err));
        return;
      }
      // checked here rather than in the core, so the error comes at once and the images stay
      const problem =
        action === 'fit' && images.length < 2
          ? t('errors.tooFew', { count: images.length })
          : action === 'update' && images.length === 0
            ? t('errors.nothingToAdd')
            : action === 'update' && !fs.existsSync(config.path)
              ? t('errors.noModelToUpdate', { path: config.path })
              : undefined;
      if (problem) {
        if (source === 'messages') collected.putBack(images);
        done(new Error(problem));
        return;
      }
      const controller = new AbortController();
      const finished = runFit(action, images, controller.signal).then(
        (summary) => {
          node.status({
            fill: 'green',
            shape: 'dot',
            text: t(`status.${action}Done`, {
              images: summary.images,
              duration: formatDuration(summary.seconds * 1000),
              threshold: formatScore(summary.threshold),
            }),
          });
          send({ ...msg, topic: action, payload: summary });
          done();
        },
        (err) => {
          // the collected images stay for the next try
          if (source === 'messages') collected.putBack(images);
          if (err instanceof FitCancelledError) {
            node.status({ fill: 'yellow', shape: 'ring', text: t('status.cancelled') });
            done();
          } else {
            node.status({ fill: 'red', shape: 'ring', text: t('status.failed') });
            done(explain(RED, err));
          }
        },
      );
      running = { controller, finished: finished.finally(() => (running = undefined)) };
    };

    /** msg.payload.to of a rollback: a version id (or its prefix), or undefined for the previous one */
    const rollbackTarget = (payload: unknown): string | undefined => {
      const to =
        typeof payload === 'object' && payload !== null ? (payload as { to?: unknown }).to : undefined;
      if (to !== undefined && (typeof to !== 'string' || !/^[0-9a-f]{1,12}$/i.test(to)))
        throw new Error(t('errors.rollbackTo', { value: JSON.stringify(to) ?? 'undefined' }));
      return to;
    };

    /** Puts an earlier version back (src/model/history) and hands it to the score nodes, as a fit does. */
    const rollback = (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
      if (running) {
        done(new Error(t('errors.busy')));
        return;
      }
      const work = async () => {
        const to = rollbackTarget(msg.payload);
        pathPolicy(RED).check(`${config.path}.history`, 'model history folder');
        const r = await rollbackModel(config.path, to, history);
        const info = await config.publish(r.model);
        return {
          action: 'rollback',
          modelPath: config.path,
          modelId: info.id,
          previousModelId: r.from ?? null,
          threshold: r.model.header.threshold,
          nTrain: r.model.header.nTrain,
          version: r.to,
        };
      };
      const finished = work().then(
        (summary) => {
          node.status({ fill: 'green', shape: 'dot', text: t('status.rolledBack', { id: summary.modelId }) });
          send({ ...msg, topic: 'rollback', payload: summary });
          done();
        },
        (err) => {
          node.status({ fill: 'red', shape: 'ring', text: t('status.failed') });
          done(explain(RED, err));
        },
      );
      running = {
        controller: new AbortController(),
        finished: finished.finally(() => (running = undefined)),
      };
    };

    node.on('input', (msg, send, done) => {
      switch (msg.topic) {
        case 'rollback':
          rollback(msg, send, done);
          return;
        case 'fit':
        case 'update':
          start(msg.topic, msg, send, done);
          return;
        case 'cancel':
          running?.controller.abort();
          done();
          return;
        case 'clear':
          collected.clear();
          showCollected();
          done();
          return;
      }
      if (source === 'folder') {
        // collected images would never be used: say so rather than fill memory silently
        done(new Error(t('errors.folderMode')));
        return;
      }
      try {
        const image = imageFromPayload(msg.payload, checkImagePath);
        // a path costs a few bytes; a Buffer is kept encoded (decoded only while fitting); raw
        // pixels are refused, as hundreds of them would fill memory before the fit starts
        if (typeof image.input !== 'string' && !Buffer.isBuffer(image.input))
          throw new Error(t('errors.rawImage'));
        collected.push(image.input);
      } catch (err) {
        done(explain(RED, err));
        return;
      }
      if (!running) showCollected();
      const endOfRun =
        fitAtEnd &&
        typeof msg.index === 'number' &&
        typeof msg.count === 'number' &&
        msg.index + 1 >= msg.count;
      if (!running && count > 0 && collected.length >= count) start(countAction, msg, send, done);
      else if (!running && endOfRun) start('fit', msg, send, done);
      else done();
    });

    node.on('close', (_removed, done) => {
      collected.clear();
      const current = running;
      if (!current) {
        done();
        return;
      }
      current.controller.abort();
      current.finished.finally(() => done());
    });
  }

  RED.nodes.registerType('padim-fit', PadimFitNode);
};
