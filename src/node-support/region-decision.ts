/**
 * What makes an image NG besides its score: a minimum defect area (so one hot pixel of noise is
 * not NG) and, for a model fitted with regions of interest, a threshold per region (so a faint
 * but large stain on a critical face is). Node-RED-free: padim-threshold reads its settings
 * through the parsers here and hands the Decider the check.
 *
 * Areas are counted on the anomaly map (the model input's pixels, as padim-score sends it).
 */
import { SupportError } from './errors';

/** Pixels of the map at or above the threshold needed for NG: a count, or a share of the region. */
export type AreaLimit = { kind: 'pixels'; value: number } | { kind: 'fraction'; value: number };

/** '' none; '50' pixels; '0.5%' a share of the region (of the map without regions). */
export function parseAreaLimit(text: string | number | undefined): AreaLimit | undefined {
  const t = String(text ?? '').trim();
  if (!t) return undefined;
  if (t.endsWith('%')) {
    const p = Number(t.slice(0, -1));
    if (!(p > 0 && p <= 100)) throw new SupportError('region.areaPercent', { text: t });
    return { kind: 'fraction', value: p / 100 };
  }
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1) throw new SupportError('region.areaPixels', { text: t });
  return { kind: 'pixels', value: n };
}

/** 'body=3.5, code=8': a threshold (score units) per region name; '' none. */
export function parseRegionThresholds(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of String(text ?? '').split(',')) {
    if (!part.trim()) continue;
    const at = part.lastIndexOf('=');
    const name = part.slice(0, Math.max(0, at)).trim();
    const value = Number(part.slice(at + 1));
    if (at < 1 || !name || !(value > 0) || !Number.isFinite(value))
      throw new SupportError('region.threshold', { text: part.trim() });
    if (out.has(name)) throw new SupportError('region.twice', { name });
    out.set(name, value);
  }
  return out;
}

export interface RegionRules {
  minArea?: AreaLimit;
  /** score-unit thresholds by region name; regions without one use the image's */
  thresholds?: Map<string, number>;
}

/** The map as padim-score sends it: scores, and which region each pixel is in (0: none). */
export interface MapView {
  data: ArrayLike<number>;
  labels?: ArrayLike<number>;
}

/** The part of a score result a region decision reads. */
export interface RegionalScore {
  score: number;
  regions?: { name: string; score: number }[];
}

export interface RegionVerdict {
  /** the region, or null for the whole image (a model without regions) */
  region: string | null;
  score: number;
  /** the threshold it was compared with, score units (after hysteresis) */
  threshold: number;
  /** pixels of the map at or above the threshold, in the region */
  areaPixels?: number;
  /** the same as a share of the region's (or map's) pixels, 0..1 */
  area?: number;
  ng: boolean;
}

function areaIn(map: MapView, threshold: number, label: number | null): { pixels: number; share: number } {
  let above = 0;
  let total = 0;
  for (let i = 0; i < map.data.length; i++) {
    if (label !== null && map.labels?.[i] !== label) continue;
    total++;
    if (map.data[i] >= threshold) above++;
  }
  return { pixels: above, share: total > 0 ? above / total : 0 };
}

function verdict(
  region: string | null,
  score: number,
  threshold: number,
  rules: RegionRules,
  map: MapView | undefined,
  label: number | null,
): RegionVerdict {
  const hot = score >= threshold;
  if (!rules.minArea) return { region, score, threshold, ng: hot };
  if (!map) throw new SupportError('region.needsMap', {});
  const { pixels, share } = areaIn(map, threshold, label);
  const limit = rules.minArea;
  const large = limit.kind === 'pixels' ? pixels >= limit.value : share >= limit.value;
  return { region, score, threshold, areaPixels: pixels, area: share, ng: hot && large };
}

/**
 * Every region's verdict (or the image's, without regions) at `scoreThreshold`; `factor` scales
 * the per-region thresholds as hysteresis scaled the image's (1, or 1 - hysteresis after an NG).
 * The result's worst verdict: an NG one with the highest score over threshold, else the highest.
 */
export function judgeRegions(
  result: RegionalScore,
  map: MapView | undefined,
  scoreThreshold: number,
  rules: RegionRules,
  factor = 1,
): { ng: boolean; worst: RegionVerdict; verdicts: RegionVerdict[] } {
  const regions = result.regions;
  if (regions && regions.length > 0 && map && !map.labels && rules.minArea)
    throw new SupportError('region.needsLabels', {});
  const verdicts =
    regions && regions.length > 0
      ? regions.map((r, k) => {
          const own = rules.thresholds?.get(r.name);
          return verdict(
            r.name,
            r.score,
            own !== undefined ? own * factor : scoreThreshold,
            rules,
            map,
            k + 1,
          );
        })
      : [verdict(null, result.score, scoreThreshold, rules, map, null)];
  const ratio = (v: RegionVerdict) => v.score / v.threshold;
  const ng = verdicts.filter((v) => v.ng);
  const pool = ng.length > 0 ? ng : verdicts;
  const worst = pool.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
  return { ng: ng.length > 0, worst, verdicts };
}

/** The regions of a message's score result, checked (a message is not trusted). */
export function regionsOf(payload: unknown): RegionalScore['regions'] {
  const regions = (payload as { regions?: unknown } | null)?.regions;
  if (regions === undefined || regions === null) return undefined;
  const ok =
    Array.isArray(regions) &&
    regions.length <= 64 &&
    regions.every(
      (r) =>
        typeof r === 'object' &&
        r !== null &&
        typeof (r as { name?: unknown }).name === 'string' &&
        Number.isFinite((r as { score?: unknown }).score),
    );
  if (!ok) throw new SupportError('region.badList', {});
  return regions as { name: string; score: number }[];
}

/** msg.anomalyMap as a MapView, or undefined when there is none; labels only when they fit. */
export function mapViewOf(v: unknown): MapView | undefined {
  const m = v as { data?: unknown; regionLabels?: unknown } | undefined;
  if (!m || typeof m !== 'object') return undefined;
  const data =
    m.data instanceof Float32Array || Array.isArray(m.data) ? (m.data as ArrayLike<number>) : undefined;
  if (!data) return undefined;
  const labels =
    m.regionLabels instanceof Uint8Array && m.regionLabels.length === data.length
      ? m.regionLabels
      : undefined;
  return { data, ...(labels ? { labels } : {}) };
}
