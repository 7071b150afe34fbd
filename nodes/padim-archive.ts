/**
 * padim-archive ("archive"): keeps every decision of the threshold node as one JSON line
 * (msg.result, schemas/result.schema.json) and, for NG parts (or all, or none), the image and
 * its heatmap, in a folder that never grows beyond its disk budget: the oldest decisions are
 * dropped first. The logic is in src/archive/ (writer, budget, reader) and
 * src/node-support/archive-message.ts; `padim archive find DIR --image NAME` reads it back.
 */
import { DecisionArchive } from '../src/archive';
import {
  ARCHIVE_FILES_SETTINGS,
  archiveFiles,
  resultOf,
  type ArchiveFilesSetting,
} from '../src/node-support/archive-message';
import { translator } from './lib/i18n';
import { pathChecker, pathPolicy } from './lib/paths';
import type { Node, NodeAPI, NodeDef } from './lib/red';
import { explain, explainText } from './lib/support-errors';
import { refuseInputs } from './lib/util';

interface ArchiveDef extends NodeDef {
  folder?: string;
  /** megabytes (10^6 bytes) */
  budget?: string | number;
  files?: ArchiveFilesSetting;
  /** message property holding the heatmap's encoded bytes */
  heatmap?: string;
}

const MB = 1e6;

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-archive');

  function PadimArchiveNode(this: Node, def: ArchiveDef) {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    let folder: string;
    let budgetBytes: number;
    const files: ArchiveFilesSetting = ARCHIVE_FILES_SETTINGS.includes(def.files as ArchiveFilesSetting)
      ? (def.files as ArchiveFilesSetting)
      : 'ng';
    const heatmapProperty = (def.heatmap ?? '').trim() || 'payload';
    try {
      if (!def.folder?.trim()) throw new Error(t('errors.noFolder'));
      folder = pathPolicy(RED).check(def.folder, 'archive folder');
      // text that is not a number is an error, not the default: a typo must not give 1 GB
      const budget = def.budget === undefined || String(def.budget).trim() === '' ? 1000 : Number(def.budget);
      budgetBytes = Math.floor(budget * MB);
      if (!(budgetBytes >= 1)) throw new Error(t('errors.budget', { budget: String(def.budget) }));
    } catch (err) {
      refuseInputs(node, explain(RED, err), t('status.notConfigured'));
      return;
    }
    const checkImagePath = pathChecker(RED, 'image file');
    const opening = DecisionArchive.open(folder, { budgetBytes });
    let count = 0;

    const showUsage = (archive: DecisionArchive) => {
      const u = archive.usage;
      node.status({
        fill: 'green',
        shape: 'dot',
        text: t('status.usage', {
          count,
          used: (u.bytes / MB).toFixed(1),
          budget: (u.budget / MB).toFixed(0),
        }),
      });
    };
    opening.then(showUsage, (err) => {
      node.status({ fill: 'red', shape: 'ring', text: t('status.failed') });
      node.error(t('errors.open', { error: explainText(RED, err) }));
    });

    node.on('input', (msg, send, done) => {
      const work = async () => {
        const archive = await opening;
        const result = resultOf(msg.result);
        const heatmap = RED.util.getMessageProperty(msg, heatmapProperty);
        const image = msg.image ?? msg.filename;
        const kept = await archiveFiles(result, image, heatmap, {
          files,
          checkPath: checkImagePath,
          maxFileBytes: budgetBytes,
        });
        msg.archived = await archive.write(result, kept);
        count++;
        showUsage(archive);
      };
      work().then(
        () => {
          send(msg);
          done();
        },
        (err) => done(explain(RED, err)),
      );
    });

    node.on('close', (_removed, done) => {
      opening
        .then((archive) => archive.close())
        .catch(() => undefined)
        .finally(() => {
          node.status({});
          done();
        });
    });
  }

  RED.nodes.registerType('padim-archive', PadimArchiveNode);
};
