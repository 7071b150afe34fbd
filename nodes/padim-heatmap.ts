/**
 * padim-heatmap ("heatmap render"): the anomaly map laid over the image (colour map, opacity,
 * outline of the region above the threshold, optional score label), as PNG or JPEG bytes.
 *
 * Live preview: a small JPEG of the latest heatmap is published to the editor on the comms
 * topic `padim-heatmap/<node id>` (at most a few times a second, the latest wins: see
 * src/node-support/preview-throttle.ts); the editor's .html draws it under the node. The node's
 * button turns the preview on and off through an admin endpoint.
 */
import { encodeRgb, loadRgb, overlay, type HeatmapOptions, type RgbImage } from '../src/render/heatmap';
import { jpegDataUrl, previewJpeg } from '../src/render/preview';
import {
  labelOf,
  mapOnImage,
  pictureOf,
  readMap,
  thresholdOf,
  type Verdict,
} from '../src/node-support/heatmap-message';
import { drawLabel } from '../src/node-support/label-font';
import { joinUnnormalised } from '../src/node-support/path-policy';
import { PreviewThrottle } from '../src/node-support/preview-throttle';
import { translator } from './lib/i18n';
import { explainText } from './lib/support-errors';
import type { Node, NodeAPI, NodeDef, NodeMessage } from './lib/red';
import { maxPixelsSetting } from './lib/max-pixels';
import { pathChecker } from './lib/paths';
import { NODE_ID, booleanSetting, formatScore, numberSetting, refuseInputs } from './lib/util';

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

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-heatmap');

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
      refuseInputs(
        node,
        new Error(t('errors.settings', { message: explainText(RED, err) })),
        t('status.notConfigured'),
      );
      return;
    }
    let closed = false;
    let rendered = 0;
    const topic = `padim-heatmap/${node.id}`;

    const publishPreview = async (rgb: RgbImage) => {
      try {
        const jpeg = await previewJpeg(rgb, previewWidth);
        if (!closed && preview) RED.comms.publish(topic, jpegDataUrl(jpeg));
      } catch (err) {
        node.warn(t('errors.preview', { message: explainText(RED, err) }));
      }
    };
    const throttle = new PreviewThrottle<RgbImage>({
      intervalMs: PREVIEW_INTERVAL_MS,
      publish: (rgb) => {
        if (preview) void publishPreview(rgb);
      },
    });

    const previewSwitch = (on: boolean) => {
      preview = on;
      // an empty message tells the editor to take the picture away
      if (!on) RED.comms.publish(topic, '');
    };
    previewSwitches.set(node.id, previewSwitch);

    /** The heatmap of one message, as a picture. */
    const draw = async (msg: NodeMessage): Promise<RgbImage> => {
      const { map, geometry, region } = readMap(msg.anomalyMap);
      const given = pictureOf(msg);
      // the path the allow-list checked (links resolved) is the one read
      const source =
        typeof given === 'string' ? checkImagePath(joinUnnormalised(process.cwd(), given)) : given;
      const image = await loadRgb(source, maxPixels);
      const verdict: Verdict = {
        result: msg.payload as Verdict['result'],
        decision: msg.decision as Verdict['decision'],
      };
      const rgb = overlay(image, mapOnImage(map, geometry, image), {
        ...options,
        threshold: thresholdOf(verdict),
        ...(region ? { region: mapOnImage(region, geometry, image) } : {}),
      });
      const label = withLabel ? labelOf(verdict, formatScore) : undefined;
      if (label) drawLabel(rgb, label);
      return rgb;
    };

    node.on('input', async (msg, send, done) => {
      try {
        const rgb = await draw(msg);
        RED.util.setMessageProperty(msg, property, await encodeRgb(rgb, format), true);
        send(msg);
        done();
        rendered++;
        node.status({ fill: 'green', shape: 'dot', text: t('status.rendered', { count: rendered }) });
        if (preview) throttle.offer(rgb);
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: t('status.error') });
        done(new Error(t('errors.render', { message: explainText(RED, err) })));
      }
    });

    node.on('close', (removed, done) => {
      closed = true;
      throttle.close();
      if (previewSwitches.get(node.id) === previewSwitch) previewSwitches.delete(node.id);
      if (removed) RED.comms.publish(topic, '');
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('padim-heatmap', PadimHeatmapNode);
};
