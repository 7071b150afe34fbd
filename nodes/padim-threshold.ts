/**
 * padim-threshold ("threshold"): OK/NG decision on padim-score results, two outputs (OK, NG),
 * with debounce and hysteresis (src/node-support/decision.ts) and a ready-to-send alarm in
 * msg.alarm, checked against schemas/alarm.schema.json (src/node-support/alarm.ts); every image also
 * gets msg.result (schemas/result.schema.json, src/result/result.ts) for a "last result" topic.
 *
 * The edit dialog draws the model's held-out good scores and the node's latest live scores with
 * the threshold on them (GET /padim-threshold/<id>/histogram, src/node-support/score-histogram.ts).
 */
import { buildAlarm, defectArea } from '../src/node-support/alarm';
import { readModelHeader } from '../src/model/model-file';
import { buildResult } from '../src/result/result';
import { histogramView, type HistogramScale } from '../src/node-support/score-histogram';
import { ScoreRing } from '../src/node-support/score-ring';
import type { ModelConfigNode } from './lib/model-config';
import { Decider, THRESHOLD_MODES, type ScoreLike, type ThresholdMode } from '../src/node-support/decision';
import { RateThreshold } from '../src/node-support/rate-threshold';
import {
  judgeRegions,
  mapViewOf,
  parseAreaLimit,
  parseRegionThresholds,
  regionsOf,
  type RegionRules,
  type RegionVerdict,
} from '../src/node-support/region-decision';
import { translator, type Translate } from './lib/i18n';
import type { Node, NodeAPI, NodeDef } from './lib/red';
import { explain, explainText } from './lib/support-errors';
import { NODE_ID, numberSetting, refuseInputs } from './lib/util';

/** 'rate': the model's threshold for a false-alarm rate, from its calibration (no refit) */
type NodeMode = ThresholdMode | 'rate';

interface ThresholdDef extends NodeDef {
  mode?: NodeMode;
  /** percent of good parts flagged NG, for mode 'rate' */
  rate?: string | number;
  threshold?: string | number;
  limit?: string | number;
  debounce?: string | number;
  /** percent of the threshold */
  hysteresis?: string | number;
  station?: string;
  line?: string;
  /** '' none, pixels ('50') or a share of the region ('0.5%'); absent in nodes saved before it */
  minArea?: string | number;
  /** 'name=score, ...' thresholds per region of a model fitted with regions; absent before it */
  regionThresholds?: string;
}

/**
 * A padim-score result whose numbers the alarm and result schemas accept: checked before the
 * decision, so a message that cannot be reported does not move the counts and the debounce.
 */
function isScoreResult(v: unknown): v is ScoreLike {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as ScoreLike;
  const optionalFinite = (x: unknown) => x === undefined || x === null || Number.isFinite(x);
  return Number.isFinite(r.score) && optionalFinite(r.normalizedScore) && optionalFinite(r.threshold);
}

function modelIdOf(padim: unknown): string | undefined {
  const id = (padim as { modelId?: unknown } | undefined)?.modelId;
  return typeof id === 'string' ? id : undefined;
}

/** Longest station and line names the alarm and result schemas accept. */
const MAX_NAME = 200;

/** Live scores each deployed threshold node keeps for its edit dialog. */
const LIVE_SCORES = 500;
const liveScores = new Map<string, ScoreRing>();
/** The admin endpoint is added once per Node-RED admin app. */
const appsWithEndpoint = new WeakSet<object>();

/** A query parameter as a number; '' or absent gives undefined, anything else not finite NaN. */
function queryNumber(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' ? Number(v) : NaN;
}

/**
 * GET /padim-threshold/<node id>/histogram?model=<padim-model id>&scale=score|normalized&threshold=<n|model>
 * The model file is the one the configuration node names (its path was checked when it was
 * deployed); no path is taken from the request.
 */
function addHistogramEndpoint(RED: NodeAPI, t: Translate): void {
  const admin = RED.httpAdmin;
  if (!admin || appsWithEndpoint.has(admin)) return;
  appsWithEndpoint.add(admin);
  const permission = RED.auth?.needsPermission('padim-threshold.read') ?? ((_q, _s, next) => next());
  admin.get('/padim-threshold/:id/histogram', permission, (req, res) => {
    const { id } = req.params;
    const { model, scale, threshold } = req.query;
    const badModel =
      model !== undefined && model !== '' && (typeof model !== 'string' || !NODE_ID.test(model));
    const wanted = queryNumber(threshold === 'model' ? undefined : threshold);
    if (
      !NODE_ID.test(id ?? '') ||
      badModel ||
      (scale !== 'score' && scale !== 'normalized') ||
      Number.isNaN(wanted)
    )
      return res.sendStatus(400);
    const live = liveScores.get(id)?.toArray() ?? [];
    const config = model ? (RED.nodes.getNode(model as string) as ModelConfigNode | null) : null;
    const view = (header?: {
      threshold: number;
      calibration?: Parameters<typeof histogramView>[0]['calibration'];
    }) => {
      const s = scale as HistogramScale;
      const suggested = header ? (s === 'normalized' ? 1 : header.threshold) : undefined;
      return histogramView({
        scale: s,
        calibration: header?.calibration,
        modelThreshold: header?.threshold,
        live: live.map((l) => (s === 'normalized' ? (l.normalizedScore ?? NaN) : l.score)),
        threshold: threshold === 'model' ? suggested : wanted,
      });
    };
    if (!config?.padim) return res.json({ ...view(), model: null, deployed: liveScores.has(id) });
    readModelHeader(config.padim.path).then(
      (header) =>
        res.json({
          ...view(header),
          model: { threshold: header.threshold, nTrain: header.nTrain },
          deployed: liveScores.has(id),
        }),
      (err) =>
        res.json({
          ...view(),
          model: null,
          modelError: t('errors.modelFile', { error: explainText(RED, err) }),
          deployed: liveScores.has(id),
        }),
    );
  });
}

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-threshold');
  addHistogramEndpoint(RED, t);

  function PadimThresholdNode(this: Node, def: ThresholdDef) {
    RED.nodes.createNode(this, def);
    // the usual Node-RED idiom: the handlers below are closures over the node
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    const live = new ScoreRing(LIVE_SCORES);
    liveScores.set(node.id, live);
    node.on('close', (_removed, done) => {
      if (liveScores.get(node.id) === live) liveScores.delete(node.id);
      done();
    });
    const mode = (def.mode || 'model') as NodeMode;
    let decider: Decider;
    let byRate: RateThreshold | undefined;
    let rules: RegionRules;
    try {
      rules = {
        minArea: parseAreaLimit(def.minArea),
        thresholds: parseRegionThresholds(def.regionThresholds),
      };
      if (mode !== 'rate' && !THRESHOLD_MODES.includes(mode)) throw new Error(t('errors.mode', { mode }));
      if (mode === 'rate') byRate = new RateThreshold(numberSetting(def.rate, 1) / 100);
      for (const name of [def.station ?? '', def.line ?? ''])
        if (name.length > MAX_NAME)
          throw new Error(t('errors.nameTooLong', { max: MAX_NAME, name: name.slice(0, 40) }));
      decider = new Decider({
        // the rate's threshold replaces the model's on each result
        mode: mode === 'rate' ? 'model' : mode,
        value: mode === 'fixed' ? numberSetting(def.threshold, NaN) : numberSetting(def.limit, 1),
        debounce: Math.floor(numberSetting(def.debounce, 1)),
        hysteresis: numberSetting(def.hysteresis, 0) / 100,
      });
    } catch (err) {
      refuseInputs(node, explain(RED, err), t('status.notConfigured'));
      return;
    }

    const showCounts = (ok?: boolean) => {
      const c = decider.counts;
      node.status({
        fill: ok === undefined ? 'grey' : ok ? 'green' : 'red',
        shape: 'dot',
        text: c.alarms
          ? t('status.countsAlarms', { ok: c.ok, ng: c.ng, alarms: c.alarms })
          : t('status.counts', { ok: c.ok, ng: c.ng }),
      });
    };

    node.on('input', (msg, send, done) => {
      if (msg.topic === 'reset') {
        decider.reset();
        showCounts();
        done();
        return;
      }
      const result: unknown = msg.payload;
      if (!isScoreResult(result)) {
        done(new Error(t('errors.notAScore')));
        return;
      }
      try {
        let scored: ScoreLike = result;
        if (byRate) {
          const threshold = byRate.thresholdFor(msg.padim);
          scored = { ...result, threshold, normalizedScore: result.score / threshold };
        }
        const regions = regionsOf(result);
        const mapView = mapViewOf(msg.anomalyMap);
        let verdict: RegionVerdict | undefined;
        const useRules = regions !== undefined || rules.minArea !== undefined;
        const d = decider.decide(
          scored,
          useRules
            ? (scoreThreshold, factor) => {
                const j = judgeRegions(
                  { score: result.score, regions },
                  mapView,
                  scoreThreshold,
                  rules,
                  factor,
                );
                verdict = j.worst;
                return j.ng;
              }
            : undefined,
        );
        const region = verdict?.region ?? undefined;
        live.push({ score: result.score, normalizedScore: result.normalizedScore ?? null });
        const map = msg.anomalyMap as { data?: unknown } | undefined;
        const area =
          map && (map.data instanceof Float32Array || Array.isArray(map.data))
            ? defectArea({ data: map.data as Float32Array }, d.scoreThreshold)
            : undefined;
        msg.decision = {
          ok: d.ok,
          mode,
          value: d.value,
          threshold: d.threshold,
          scoreThreshold: d.scoreThreshold,
          consecutiveNg: d.consecutiveNg,
          defectArea: area ?? null,
          // the region that decided (the worst one), with its score, threshold and area
          ...(verdict ? { region: verdict.region, regionVerdict: verdict } : {}),
        };
        const common = {
          station: def.station ?? '',
          line: def.line ?? '',
          image: typeof msg.filename === 'string' ? msg.filename : undefined,
          score: scored.score,
          threshold: d.threshold,
          normalizedScore: scored.normalizedScore,
          defectArea: area,
          modelId: modelIdOf(msg.padim),
          now: new Date(),
        };
        if (d.alarm) msg.alarm = buildAlarm({ ...common, consecutive: d.consecutiveNg, region });
        msg.result = buildResult({ ...common, ok: d.ok, consecutiveNg: d.consecutiveNg, alarm: d.alarm });
        showCounts(d.ok);
        send(d.ok ? [msg, null] : [null, msg]);
        done();
      } catch (err) {
        done(explain(RED, err));
      }
    });

    node.on('close', (_removed, done) => {
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('padim-threshold', PadimThresholdNode);
};
