/**
 * padim-review ("line review"): feeds a line dashboard and takes the operator's review of NG
 * parts back (example 8 wires it to FlowFuse Dashboard 2 widgets).
 *
 * In: every inspected part, as padim-threshold sends it (msg.result), usually through the
 * heatmap node (msg.payload then holds the heatmap picture). Out, five outputs: the last part
 * with its picture; the OK/NG counts and NG rate; two trend points (the score and the
 * threshold, topics "score" and "threshold", for a chart); the gallery of the last NG parts
 * waiting for review; and, for a part marked good, its image file for padim-fit (`update`).
 * A message with topic "good" or "defect" and payload { id } (a gallery part's id, what the
 * dashboard's buttons send) reviews that part: "good" sends its image to output 5, "defect"
 * copies it with its result into the defect folder (src/node-support/defect-folder.ts).
 * The counts and the gallery are in src/node-support/line-board.ts.
 */
import * as path from 'node:path';
import { fileDefect } from '../src/node-support/defect-folder';
import { LineTally, NgGallery, pictureUrl, type Verdict } from '../src/node-support/line-board';
import { translator } from './lib/i18n';
import type { Node, NodeAPI, NodeDef, NodeMessage } from './lib/red';
import { pathChecker, pathPolicy } from './lib/paths';
import { explain } from './lib/support-errors';
import { numberSetting, refuseInputs } from './lib/util';

interface ReviewDef extends NodeDef {
  /** NG parts the gallery keeps */
  gallery?: string | number;
  /** where confirmed defects are filed (relative: from the Node-RED user directory) */
  defectFolder?: string;
  /** pictures larger than this many kB are not sent to the dashboard */
  maxPictureKb?: string | number;
}

/** The part of msg.result (schemas/result.schema.json) the dashboard uses. */
interface ResultLike {
  timestamp: string;
  image: string | null;
  decision: 'OK' | 'NG';
  score: number;
  threshold: number;
  modelId: string | null;
}

function isResult(r: unknown): r is ResultLike {
  const v = r as ResultLike;
  return (
    typeof v === 'object' &&
    v !== null &&
    (v.decision === 'OK' || v.decision === 'NG') &&
    Number.isFinite(v.score) &&
    Number.isFinite(v.threshold) &&
    typeof v.timestamp === 'string' &&
    (v.image === null || typeof v.image === 'string')
  );
}

const MAX_GALLERY = 100;

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-review');

  function PadimReviewNode(this: Node, def: ReviewDef) {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    let gallery: NgGallery;
    let defectFolder: string;
    const maxPicture = Math.max(1, numberSetting(def.maxPictureKb, 512)) * 1024;
    try {
      const size = Math.floor(numberSetting(def.gallery, 8));
      if (!(size >= 1 && size <= MAX_GALLERY))
        throw new Error(t('errors.gallery', { value: String(def.gallery), max: MAX_GALLERY }));
      gallery = new NgGallery(size);
      if (!def.defectFolder?.trim()) throw new Error(t('errors.noDefectFolder'));
      defectFolder = pathPolicy(RED).check(def.defectFolder, 'defect folder');
    } catch (err) {
      refuseInputs(node, explain(RED, err), t('status.notConfigured'));
      return;
    }
    const checkImage = pathChecker(RED, 'image file');
    const tally = new LineTally();

    const showStatus = () => {
      const c = tally.counts();
      node.status({
        fill: gallery.length ? 'red' : 'green',
        shape: 'dot',
        text: t('status.counts', { ok: c.ok, ng: c.ng, toReview: gallery.length }),
      });
    };
    const countsMsg = (): NodeMessage => ({ topic: 'counts', payload: tally.counts() });
    const galleryMsg = (): NodeMessage => ({ topic: 'gallery', payload: gallery.list() });

    /** ids being reviewed now: a double click must not file a part twice */
    const busy = new Set<string>();
    const review = async (verdict: Verdict, id: unknown): Promise<(NodeMessage | null)[]> => {
      if (typeof id !== 'string') throw new Error(t('errors.noId'));
      const part = gallery.get(id);
      if (!part || busy.has(id)) throw new Error(t('errors.unknownPart', { id: id.slice(0, 40) }));
      busy.add(id);
      try {
        // the part stays in the gallery until its review succeeded, to be tried again otherwise
        if (!part.image) throw new Error(t('errors.noFile'));
        const image = checkImage(part.image);
        if (verdict === 'defect') {
          const { picture: _picture, ...record } = part;
          await fileDefect(image, defectFolder, part.timestamp, {
            ...record,
            verdict: 'defect',
            reviewedAt: new Date().toISOString(),
          });
        }
        gallery.take(id);
        tally.review(verdict);
        showStatus();
        const toFit = verdict === 'good' ? { topic: '', payload: image, review: { id, verdict } } : null;
        return [null, countsMsg(), null, galleryMsg(), toFit];
      } finally {
        busy.delete(id);
      }
    };

    node.on('input', (msg, send, done) => {
      if (msg.topic === 'good' || msg.topic === 'defect') {
        const p = msg.payload as { id?: unknown } | string | undefined;
        review(msg.topic, typeof p === 'string' ? p : p?.id).then(
          (out) => {
            send(out);
            done();
          },
          (err) => done(explain(RED, err)),
        );
        return;
      }
      const result = msg.result;
      if (!isResult(result)) {
        done(new Error(t('errors.notAResult')));
        return;
      }
      tally.record(result.decision);
      const picture = pictureUrl(msg.payload, maxPicture);
      const part = {
        timestamp: result.timestamp,
        image: result.image,
        score: result.score,
        threshold: result.threshold,
        modelId: result.modelId,
        picture,
      };
      let changed = false;
      if (result.decision === 'NG') {
        const { dropped } = gallery.add(part);
        if (dropped) tally.drop();
        changed = true;
      }
      showStatus();
      send([
        {
          topic: 'last',
          payload: {
            ...part,
            decision: result.decision,
            name: result.image ? path.basename(result.image) : '',
          },
        },
        countsMsg(),
        [
          { topic: 'score', payload: result.score },
          { topic: 'threshold', payload: result.threshold },
        ],
        changed ? galleryMsg() : null,
        null,
      ]);
      done();
    });

    node.on('close', (_removed, done) => {
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('padim-review', PadimReviewNode);
};
