/**
 * padim-heatmap ("heatmap render"): the anomaly map laid over the image (colour map, opacity,
 * outline of the region above the threshold, optional score label), as PNG or JPEG bytes.
 *
 * Live preview: a small JPEG of the latest heatmap is published to the editor on the comms
 * topic `padim-heatmap/<node id>` (at most a few times a second); the editor's .html draws it
 * under the node. The node's button turns the preview on and off through an admin endpoint.
 */
import sharp from 'sharp';
import { mapToOriginal } from '../src/padim/anomaly-map';
import { encodeRgb, loadRgb, overlay, type HeatmapOptions, type RgbImage } from '../src/render/heatmap';
import { asRawImage } from '../src/node-support/image-input';
import { drawLabel } from '../src/node-support/label-font';
import { joinUnnormalised } from '../src/node-support/path-policy';
import type { InputGeometry, RawImage, ScoreMap } from '../src/types';
import type { Node, NodeAPI, NodeDef, NodeMessage } from './lib/red';
import { maxPixelsSetting } from './lib/max-pixels';
import { pathChecker } from './lib/paths';
import { NODE_ID, asError, booleanSetting, formatScore, numberSetting, refuseInputs } from './lib/util';

interface HeatmapDef extends NodeDef {
  colormap?: 'jet' | 'inferno';
  opacity?: string | number;
  contour?: boolean | string;
  label?: boolean | string;
  format?: 'png' | 'jpeg';
  property?: string;
  preview?: boolean | string;
  previewWidth?: string | number;
}

/** At most one preview per this many milliseconds per node; the latest one wins. */
const PREVIEW_INTERVAL_MS = 250;

/** Nodes whose preview can be switched from the editor, by id. */
const previewSwitches = new Map<string, (on: boolean) => void>();
/** The admin endpoint is added once per Node-RED admin app. */
const appsWithEndpoint = new WeakSet<object>();

/** The anomaly map from msg.anomalyMap (padim-score's), checked. */
function readMap(v: unknown): { map: ScoreMap; geometry?: InputGeometry; region?: ScoreMap } {
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

/**
 * The image the map belongs to: msg.image (set by padim-score: bytes, a path or raw pixels),
 * msg.filename, or a Buffer payload.
 */
function imageOf(msg: NodeMessage): Buffer | string | RawImage {
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
function mapOnImage(map: ScoreMap, geometry: InputGeometry | undefined, image: RgbImage): ScoreMap {
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

export = function register(RED: NodeAPI): void {
  const t = (key: string) => RED._(`padim-heatmap.${key}`);

  // POST /padim-heatmap/<id>/preview/enable|disable, called by the node's button in the editor
  const admin = RED.httpAdmin;
  if (admin && !appsWithEndpoint.has(admin)) {
    appsWithEndpoint.add(admin);
    const permission = RED.auth?.needsPermission('padim-heatmap.write') ?? ((_q, _s, next) => next());
    admin.post('/padim-heatmap/:id/preview/:state', permission, (req, res) => {
      const { id, state } = req.params;
      // parameters checked before use: a node id is short text of letters, digits, '.', '_' or '-'
      if (!NODE_ID.test(id ?? '') || (state !== 'enable' && state !== 'disable')) return res.sendStatus(400);
      const set = previewSwitches.get(id);
      if (!set) return res.sendStatus(404);
      set(state === 'enable');
      res.sendStatus(200);
    });
  }

  function PadimHeatmapNode(this: Node, def: HeatmapDef) {
    RED.nodes.createNode(this, def);
    // the usual Node-RED idiom: the handlers below are closures over the node
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    const options: HeatmapOptions = {
      colormap: def.colormap === 'inferno' ? 'inferno' : 'jet',
      opacity: Math.min(1, Math.max(0, numberSetting(def.opacity, 0.5))),
      contour: booleanSetting(def.contour, true),
    };
    const format = def.format === 'jpeg' ? 'jpeg' : 'png';
    const withLabel = booleanSetting(def.label, true);
    const property = (def.property ?? '').trim() || 'payload';
    const previewWidth = Math.max(16, Math.floor(numberSetting(def.previewWidth, 160)));
    let preview = booleanSetting(def.preview, true);
    const checkImagePath = pathChecker(RED, 'image file');
    let maxPixels: number;
    try {
      maxPixels = maxPixelsSetting(RED);
    } catch (err) {
      refuseInputs(node, err, t('status.notConfigured'));
      return;
    }
    let closed = false;
    let rendered = 0;

    // Preview throttle: publish now if the last one is old enough, else once the interval is over.
    let lastPreview = 0;
    let pending: RgbImage | undefined;
    let previewTimer: NodeJS.Timeout | undefined;
    const topic = `padim-heatmap/${node.id}`;

    const publishPreview = async (rgb: RgbImage) => {
      lastPreview = Date.now();
      try {
        const jpeg = await sharp(Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength), {
          raw: { width: rgb.width, height: rgb.height, channels: 3 },
        })
          .resize({ width: Math.min(previewWidth, rgb.width) })
          .jpeg({ quality: 70 })
          .toBuffer();
        if (!closed && preview) RED.comms.publish(topic, `data:image/jpeg;base64,${jpeg.toString('base64')}`);
      } catch (err) {
        node.warn(asError(err).message);
      }
    };
    const queuePreview = (rgb: RgbImage) => {
      const wait = PREVIEW_INTERVAL_MS - (Date.now() - lastPreview);
      if (wait <= 0 && !previewTimer) {
        void publishPreview(rgb);
        return;
      }
      pending = rgb;
      previewTimer ??= setTimeout(
        () => {
          previewTimer = undefined;
          const latest = pending;
          pending = undefined;
          if (latest && !closed && preview) void publishPreview(latest);
        },
        Math.max(0, wait),
      );
    };

    const previewSwitch = (on: boolean) => {
      preview = on;
      // an empty message tells the editor to take the picture away
      if (!on) RED.comms.publish(topic, '');
    };
    previewSwitches.set(node.id, previewSwitch);

    node.on('input', async (msg, send, done) => {
      try {
        const { map, geometry, region } = readMap(msg.anomalyMap);
        const given = imageOf(msg);
        // the path the allow-list checked (links resolved) is the one read
        const source =
          typeof given === 'string' ? checkImagePath(joinUnnormalised(process.cwd(), given)) : given;
        const image = await loadRgb(source, maxPixels);
        const result = (msg.payload ?? {}) as { score?: number; threshold?: number };
        const decision = msg.decision as { ok?: boolean; scoreThreshold?: number } | undefined;
        const threshold =
          typeof decision?.scoreThreshold === 'number'
            ? decision.scoreThreshold
            : typeof result.threshold === 'number'
              ? result.threshold
              : undefined;
        const rgb = overlay(image, mapOnImage(map, geometry, image), {
          ...options,
          threshold,
          ...(region ? { region: mapOnImage(region, geometry, image) } : {}),
        });
        if (withLabel && typeof result.score === 'number') {
          const verdict = decision?.ok === undefined ? '' : decision.ok ? 'OK ' : 'NG ';
          drawLabel(rgb, `${verdict}${formatScore(result.score)}`);
        }
        RED.util.setMessageProperty(msg, property, await encodeRgb(rgb, format), true);
        send(msg);
        done();
        rendered++;
        node.status({ fill: 'green', shape: 'dot', text: `${t('status.rendered')} ${rendered}` });
        if (preview) queuePreview(rgb);
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: t('status.error') });
        done(asError(err));
      }
    });

    node.on('close', (removed, done) => {
      closed = true;
      if (previewTimer) clearTimeout(previewTimer);
      pending = undefined;
      if (previewSwitches.get(node.id) === previewSwitch) previewSwitches.delete(node.id);
      if (removed) RED.comms.publish(topic, '');
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('padim-heatmap', PadimHeatmapNode);
};
