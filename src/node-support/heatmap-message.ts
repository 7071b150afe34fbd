/**
 * What a message brings to the heatmap node: the anomaly map (padim-score's msg.anomalyMap, with
 * its regions of interest), the picture to draw on, the threshold to outline and the score label,
 * and the map brought onto the picture's pixel grid.
 */
import { mapToOriginal } from '../padim/anomaly-map';
import type { RgbImage } from '../render/heatmap';
import type { InputGeometry, RawImage, ScoreMap } from '../types';
import { asRawImage } from './image-input';

/** The anomaly map of a message, checked. */
export interface MessageMap {
  map: ScoreMap;
  /** how the scored input was cut from the original picture (padim-score's) */
  geometry?: InputGeometry;
  /** 1 inside a region of interest, 0 outside, on the map's pixels */
  region?: ScoreMap;
}

/** The anomaly map from msg.anomalyMap (padim-score's), checked. */
export function readMap(v: unknown): MessageMap {
  const m = v as
    | { data?: unknown; width?: unknown; height?: unknown; geometry?: InputGeometry; regionLabels?: unknown }
    | undefined;
  if (!m || typeof m !== 'object')
    throw new Error('msg.anomalyMap is missing: connect this node after padim-score');
  const { width, height } = m;
  if (typeof width !== 'number' || typeof height !== 'number')
    throw new Error('msg.anomalyMap needs width and height');
  const data =
    m.data instanceof Float32Array ? m.data : Array.isArray(m.data) ? Float32Array.from(m.data) : undefined;
  if (!data || data.length !== width * height) {
    throw new Error(`msg.anomalyMap.data must hold width x height (${width * height}) numbers`);
  }
  // the regions of interest (padim-score's, for a model fitted with them): same pixels as the map
  const labels = m.regionLabels;
  const region =
    labels instanceof Uint8Array && labels.length === data.length
      ? Float32Array.from(labels, (v) => (v > 0 ? 1 : 0))
      : undefined;
  return {
    map: { data, width, height },
    geometry: m.geometry,
    ...(region ? { region: { data: region, width, height } } : {}),
  };
}

/** The parts of a message that name the picture. */
export interface PictureFields {
  image?: unknown;
  filename?: unknown;
  payload?: unknown;
}

/**
 * The image the map belongs to: msg.image (set by padim-score: bytes, a path or raw pixels),
 * msg.filename, or a Buffer payload.
 */
export function pictureOf(msg: PictureFields): Buffer | string | RawImage {
  if (Buffer.isBuffer(msg.image) || (typeof msg.image === 'string' && msg.image)) return msg.image;
  const raw = asRawImage(msg.image);
  if (raw) return raw;
  if (typeof msg.filename === 'string' && msg.filename) return msg.filename;
  if (Buffer.isBuffer(msg.payload)) return msg.payload;
  throw new Error(
    'no image to draw on: expected msg.image (from padim-score), msg.filename or a Buffer payload',
  );
}

/** The map on the picture's pixel grid: back through the crop/resize geometry when known. */
export function mapOnImage(map: ScoreMap, geometry: InputGeometry | undefined, image: RgbImage): ScoreMap {
  if (map.width === image.width && map.height === image.height && !geometry) return map;
  const g: InputGeometry =
    geometry && geometry.originalWidth === image.width && geometry.originalHeight === image.height
      ? geometry
      : {
          originalWidth: image.width,
          originalHeight: image.height,
          left: 0,
          top: 0,
          scaleX: image.width / map.width,
          scaleY: image.height / map.height,
        };
  return mapToOriginal(map, g);
}

/** The decision the message carries (padim-threshold's msg.decision) and the score result. */
export interface Verdict {
  /** msg.payload: padim-score's result */
  result?: { score?: number; threshold?: number };
  /** msg.decision: padim-threshold's */
  decision?: { ok?: boolean; scoreThreshold?: number };
}

/** The threshold to outline: padim-threshold's when it decided, else the model's. */
export function thresholdOf({ result, decision }: Verdict): number | undefined {
  if (typeof decision?.scoreThreshold === 'number') return decision.scoreThreshold;
  return typeof result?.threshold === 'number' ? result.threshold : undefined;
}

/**
 * The label written on the picture ('NG 1.23', or the score alone before a decision), or
 * undefined without a score. OK and NG are the line's own words, the same in every language.
 */
export function labelOf(
  { result, decision }: Verdict,
  format: (score: number) => string,
): string | undefined {
  if (typeof result?.score !== 'number') return undefined;
  const verdict = decision?.ok === undefined ? '' : decision.ok ? 'OK ' : 'NG ';
  return `${verdict}${format(result.score)}`;
}
