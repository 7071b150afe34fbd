/**
 * padim-score: scores every image with the model of its padim-model configuration.
 *
 * Images wait in a bounded queue and are scored in small batches (src/node-support/
 * batch-scheduler.ts): a batch shares one pass over the model's inverse covariances, so under
 * load throughput goes up instead of the queue growing. The model is a lease on the shared
 * session, so a fit elsewhere in the flows swaps it in without a redeploy.
 */
import { BatchScheduler } from '../src/node-support/batch-scheduler';
import { QUEUE_POLICIES, type QueuePolicy } from '../src/node-support/bounded-queue';
import { imageFromPayload, type ImagePayload } from '../src/node-support/image-input';
import { putScoreResult } from '../src/node-support/score-message';
import type { ModelInfo } from '../src/model/model-info';
import type { ModelLease, ScoringSession } from '../src/node-support/model-registry';
import type { Calibration } from '../src/model/model';
import type { ScoreResult } from '../src/padim/scorer';
import { translator } from './lib/i18n';
import { explainText } from './lib/support-errors';
import { getModelConfig, type ModelConfig } from './lib/model-config';
import type { DoneFunction, Node, NodeAPI, NodeDef, NodeMessage, SendFunction } from './lib/red';
import { pathChecker } from './lib/paths';
import { asError, formatDuration, formatScore, numberSetting, refuseInputs } from './lib/util';

interface ScoreDef extends NodeDef {
  model?: string;
  queueSize?: string | number;
  policy?: QueuePolicy;
  batchSize?: string | number;
}

interface Job {
  msg: NodeMessage;
  send: SendFunction;
  done: DoneFunction;
  image: ImagePayload;
  arrived: number;
}

/** How long close waits for the batch being scored before letting Node-RED go on. */
const CLOSE_WAIT_MS = 10_000;

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-score');
  /** an error from the core or the settings: its own words, inside this node's */
  const wrapped = (key: string, err: unknown) => new Error(t(key, { message: explainText(RED, err) }));

  function PadimScoreNode(this: Node, def: ScoreDef) {
    RED.nodes.createNode(this, def);
    // the usual Node-RED idiom: the handlers below are closures over the node
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    const policy = def.policy || 'drop-oldest';
    let config: ModelConfig;
    let scheduler: BatchScheduler<Job> | undefined;
    try {
      config = getModelConfig(RED, def.model);
      if (QUEUE_POLICIES.includes(policy)) {
        scheduler = new BatchScheduler<Job>({
          capacity: numberSetting(def.queueSize, 16),
          policy,
          batchSize: Math.max(1, Math.floor(numberSetting(def.batchSize, 4))),
          run: (jobs) => scoreJobs(jobs),
          afterBatch: () => showStatus(),
          onError: (err) => node.warn(t('errors.internal', { message: explainText(RED, err) })),
        });
      }
    } catch (err) {
      refuseInputs(node, wrapped('errors.settings', err), t('status.notConfigured'));
      return;
    }
    if (!scheduler) {
      refuseInputs(node, new Error(t('errors.policy', { policy })), t('status.notConfigured'));
      return;
    }
    const checkImagePath = pathChecker(RED, 'image file');
    const lease: ModelLease<ScoringSession> = config.acquire();
    let closing = false;
    let lastText = '';
    let lastFill: 'green' | 'yellow' = 'green';
    /** images scored and images that failed, since deploy */
    let scored = 0;
    let failed = 0;

    /** What msg.topic "metrics" answers: counts since deploy, for a dashboard or an alarm. */
    const metrics = () => {
      const q = scheduler.state;
      return {
        scored,
        failed,
        dropped: q.dropped,
        rejected: q.rejected,
        queued: q.queued,
        capacity: q.capacity,
        policy: q.policy,
      };
    };

    /** The last score and time, the queue depth and drops: what an operator checks at a glance. */
    const showStatus = () => {
      const q = scheduler.state;
      const parts = [lastText || t('status.ready')];
      if (q.queued > 0) parts.push(t('status.queue', { queued: q.queued, capacity: q.capacity }));
      const lost = q.dropped + q.rejected;
      if (lost > 0)
        parts.push(t(q.policy === 'reject' ? 'status.rejected' : 'status.dropped', { count: lost }));
      node.status({ fill: lost > 0 && q.full ? 'yellow' : lastFill, shape: 'dot', text: parts.join(' · ') });
    };

    const onModel = (info: ModelInfo) => {
      lastText = t('status.modelUpdated', { id: info.id });
      lastFill = 'green';
      showStatus();
    };
    config.events.on('model', onModel);

    // Load the model at deploy, so the first image is not slow and a missing file shows at once.
    node.status({ fill: 'blue', shape: 'ring', text: t('status.loading') });
    lease.preload().then(
      (info) => {
        if (closing || lastText) return;
        node.status({ fill: 'green', shape: 'ring', text: t('status.readyModel', { id: info.id }) });
      },
      (err) => {
        if (closing || lastText) return;
        const noFile = (err as { code?: string }).code === 'ENOENT';
        const text = t(noFile ? 'status.noModel' : 'status.loadFailed');
        node.status({ fill: noFile ? 'yellow' : 'red', shape: 'ring', text });
        if (!noFile) node.warn(t('errors.load', { message: explainText(RED, err) }));
      },
    );

    /** models whose aspect warning was shown (once per model, every message still carries it) */
    const aspectWarned = new Set<string>();

    const finish = (job: Job, r: ScoreResult, info: ModelInfo, calibration?: Calibration) => {
      if (r.warnings && !aspectWarned.has(info.id)) {
        aspectWarned.add(info.id);
        node.warn(t('warnings.input', { message: r.warnings.join('; ') }));
      }
      job.send(putScoreResult(job.msg, job, r, { info, calibration }));
      job.done();
      scored++;
      lastText = t('status.scored', { score: formatScore(r.score), time: formatDuration(r.timings.totalMs) });
      lastFill = r.normalizedScore < 1 ? 'green' : 'yellow';
    };

    /** Scores a batch; when it fails, scores its images one by one so only the bad one errors. */
    const scoreJobs = async (jobs: Job[]): Promise<void> => {
      try {
        const { results, info, calibration } = await lease.use(async (s) => ({
          results: await s.scorer.scoreBatch(jobs.map((j) => j.image.input)),
          info: s.info,
          calibration: s.header.calibration,
        }));
        jobs.forEach((job, k) => finish(job, results[k], info, calibration));
      } catch (err) {
        if (jobs.length > 1) {
          for (const job of jobs) await scoreJobs([job]);
          return;
        }
        lastText = t('status.error');
        lastFill = 'yellow';
        node.status({ fill: 'red', shape: 'ring', text: t('status.error') });
        failed++;
        jobs[0].done(namingFile(asError(err), jobs[0]));
      }
    };

    /** The error in this node's words, with the image's file name when there is one and it is not there yet. */
    const namingFile = (err: Error, job: Job): Error => {
      const file = typeof job.msg.filename === 'string' ? job.msg.filename : job.image.filename;
      const { message } = err;
      // the same Error object (its stack and code stay), in this node's words
      err.message =
        file && !message.includes(file)
          ? t('errors.imageFile', { file, message })
          : t('errors.image', { message });
      return err;
    };

    /**
     * msg.topic 'reload': the model file was replaced (a new version on a shared path, announced
     * by a retained MQTT message to every worker). payload.modelId, when given, is the id the new
     * model must have: a file not yet copied to this machine is an error, not a silent old model.
     */
    const reload = (msg: NodeMessage, done: DoneFunction) => {
      const expected = (msg.payload as { modelId?: unknown } | undefined)?.modelId;
      node.status({ fill: 'blue', shape: 'ring', text: t('status.reloading') });
      lease.reload().then(
        (info) => {
          if (typeof expected === 'string' && expected !== info.id) {
            done(new Error(t('errors.modelVersion', { expected, path: info.path, id: info.id })));
          } else done();
        },
        (err) => {
          lastText = t('status.reloadFailed');
          lastFill = 'yellow';
          showStatus();
          done(wrapped('errors.reloadFailed', err));
        },
      );
    };

    /** Queues an image; a full queue answers the image it gives up. */
    const enqueue = (msg: NodeMessage, send: SendFunction, done: DoneFunction, image: ImagePayload) => {
      const pushed = scheduler.push({ msg, send, done, image, arrived: Date.now() });
      if (!pushed.queued) {
        // drop-newest gives up silently (counted in the status); reject tells Catch nodes
        const q = scheduler.state;
        if (q.policy === 'reject') done(new Error(t('errors.queueFull', { capacity: q.capacity })));
        else done();
      } else if (pushed.evicted) {
        pushed.evicted.done();
      }
      showStatus();
    };

    node.on('input', (msg, send, done) => {
      if (msg.topic === 'metrics') {
        send({ ...msg, payload: metrics() });
        done();
        return;
      }
      if (msg.topic === 'reload') {
        reload(msg, done);
        return;
      }
      let image: ImagePayload;
      try {
        image = imageFromPayload(msg.payload, checkImagePath);
      } catch (err) {
        failed++;
        done(wrapped('errors.input', err));
        return;
      }
      enqueue(msg, send, done, image);
    });

    node.on('close', (_removed, done) => {
      closing = true;
      config.events.off('model', onModel);
      // waiting images are given up: they belong to the flows being replaced; the batch being
      // scored finishes first (bounded, so a stuck backend cannot block a deploy)
      scheduler
        .close(CLOSE_WAIT_MS, (job) => job.done())
        .then(() => lease.release())
        .catch((err) => node.warn(t('errors.release', { message: explainText(RED, err) })))
        .finally(() => {
          node.status({});
          done();
        });
    });
  }

  RED.nodes.registerType('padim-score', PadimScoreNode);
};
