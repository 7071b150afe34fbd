/**
 * padim-image-source ("image source"): images into the flow, from a folder or from the input
 * message.
 *
 * Folder runs start on deploy or on each input message (src/node-support/folder-run.ts), or, in
 * watch mode, a message goes out for each new file a camera drops into the folder
 * (src/node-support/folder-watcher.ts). A run sends the folder's images in natural order, one
 * every `interval` seconds (0: as fast as the flow takes them), optionally looping. An input
 * message that carries an image (Buffer, path, data URL, base64) is passed on as a Buffer
 * instead, so the rest of the flow sees one shape.
 *
 * A file that cannot be read is reported on its own (to Catch nodes) and the run goes on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listFolderImages, mvtecLabel } from '../src/node-support/folder-images';
import { FolderRun } from '../src/node-support/folder-run';
import { FolderWatcher } from '../src/node-support/folder-watcher';
import { imageFromPayload, payloadLooksLikeImage, sniffImageKind } from '../src/node-support/image-input';
import { maxImageFileBytes } from '../src/image';
import { readRegularFile, readRegularFileSync } from '../src/files/regular-file';
import { translator } from './lib/i18n';
import { explainText } from './lib/support-errors';
import { maxPixelsSetting } from './lib/max-pixels';
import type { Node, NodeAPI, NodeDef, NodeMessage } from './lib/red';
import { pathChecker } from './lib/paths';
import { asError, baseDir, booleanSetting, numberSetting } from './lib/util';

type Start = 'deploy' | 'input' | 'watch';

interface SourceDef extends NodeDef {
  folder?: string;
  recursive?: boolean | string;
  pattern?: string;
  start?: Start;
  interval?: string | number;
  loop?: boolean | string;
}

/** Delay after deploy before a run starts, so the rest of the flows are up (as inject does). */
const DEPLOY_DELAY_MS = 100;
/** In watch mode, how long a new file's size must stay the same before it counts as written. */
const SETTLE_MS = 150;
/** In watch mode, a full rescan this often, for file systems without change events (SMB, NFS). */
const RESCAN_MS = 5000;

export = function register(RED: NodeAPI): void {
  const t = translator(RED, 'padim-image-source');
  /** an error from the core (reading, listing, checking a path): its own words, inside this node's */
  const wrapped = (key: string, err: unknown) => new Error(t(key, { message: explainText(RED, err) }));

  function PadimImageSourceNode(this: Node, def: SourceDef) {
    RED.nodes.createNode(this, def);
    // the usual Node-RED idiom: the handlers below are closures over the node
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    const start: Start = def.start === 'input' || def.start === 'watch' ? def.start : 'deploy';
    const recursive = booleanSetting(def.recursive, false);
    const pattern = def.pattern ?? '';
    const intervalMs = Math.max(0, numberSetting(def.interval, 0) * 1000);
    const loop = booleanSetting(def.loop, false);
    let deployTimer: NodeJS.Timeout | undefined;
    /** the run in progress; a new run stops the previous one */
    let run: FolderRun | undefined;
    let watcher: FolderWatcher | undefined;

    const resolveFolder = pathChecker(RED, 'image folder');
    const checkImagePath = pathChecker(RED, 'image file');
    const isFolder = (v: unknown): v is string => {
      if (typeof v !== 'string' || v.trim() === '') return false;
      try {
        // only a test of what the text is: the folder is checked against the allow-list when used
        return fs.statSync(path.resolve(baseDir(RED), v), { throwIfNoEntry: false })?.isDirectory() ?? false;
      } catch {
        return false;
      }
    };
    const folderError = (err: unknown) => {
      node.status({ fill: 'red', shape: 'ring', text: t('status.folderError') });
      node.error(wrapped('errors.folder', err).message);
    };

    /** The message for one image file: bytes, name, and label/mask where the layout is MVTec's. */
    const readImage = async (file: string): Promise<NodeMessage> => {
      let bytes: Buffer;
      try {
        // a link in the folder may point elsewhere: every file is checked, not only the folder
        // only a regular file, of a size an image within padimMaxPixels can have (not /dev/zero, not a FIFO)
        const limit = maxImageFileBytes(maxPixelsSetting(RED));
        bytes = await readRegularFile(checkImagePath(file), limit, 'image file');
      } catch (err) {
        throw wrapped('errors.read', err);
      }
      if (bytes.length === 0) throw new Error(t('errors.empty', { file }));
      if (!sniffImageKind(bytes)) throw new Error(t('errors.notImage', { file }));
      return { payload: bytes, filename: file, ...mvtecLabel(file) };
    };

    /** Sends one file; a bad file is reported with its name and the run goes on. */
    const sendFile = async (file: string, extra: NodeMessage = {}): Promise<boolean> => {
      try {
        node.send({ ...(await readImage(file)), ...extra });
        return true;
      } catch (err) {
        node.error(explainText(RED, err), { payload: undefined, filename: file, ...extra });
        return false;
      }
    };

    /** Entries a listing skipped (a link that loops), each told once, not at every rescan. */
    const skippedTold = new Set<string>();
    const warnSkipped = (message: string) => {
      if (skippedTold.has(message)) return;
      skippedTold.add(message);
      node.warn(t('warnings.skipped', { message }));
    };
    const listImages = (dir: string) => listFolderImages(dir, { recursive, pattern, warn: warnSkipped });

    const startRun = async (folder: string) => {
      run?.stop();
      run = undefined;
      const files = listImages(resolveFolder(folder));
      if (files.length === 0) {
        node.status({ fill: 'yellow', shape: 'ring', text: t('status.noImages') });
        return;
      }
      const me = new FolderRun({
        files,
        intervalMs,
        loop,
        send: (file, index) => sendFile(file, { index, count: files.length }),
        onProgress: (index, count) =>
          node.status({ fill: 'blue', shape: 'dot', text: t('status.sending', { index, count }) }),
        onPass: (sent, count) =>
          node.status({ fill: 'green', shape: 'dot', text: t('status.sent', { sent, count }) }),
      });
      run = me;
      void me.start().then(() => {
        if (run === me) run = undefined;
      });
    };

    /** Watch mode: files already there are not sent; each new file once, when fully written. */
    const startWatch = (folder: string) => {
      const dir = resolveFolder(folder);
      const showWatching = (count: number) =>
        node.status({ fill: 'green', shape: 'ring', text: t('status.watching', { count }) });
      watcher = new FolderWatcher({
        dir,
        recursive,
        list: () => listImages(dir),
        deliver: async (file) => void (await sendFile(file)),
        settleMs: SETTLE_MS,
        rescanMs: RESCAN_MS,
        onListError: (err) => {
          node.status({ fill: 'red', shape: 'ring', text: t('status.folderError') });
          node.warn(wrapped('errors.folder', err).message);
        },
        onWatchError: (err) => node.warn(wrapped('errors.folder', err).message),
        onScanned: showWatching,
      });
      showWatching(watcher.knownCount);
    };

    const folder = (def.folder ?? '').trim();
    if (start === 'watch' && !folder) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.folderError') });
      node.error(t('errors.noFolder'));
    } else if (start === 'watch') {
      try {
        startWatch(folder);
      } catch (err) {
        folderError(err);
      }
    } else if (start === 'deploy' && folder) {
      deployTimer = setTimeout(() => {
        deployTimer = undefined;
        startRun(folder).catch(folderError);
      }, DEPLOY_DELAY_MS);
    }

    /** An image in the message, passed on as a Buffer. */
    const passImage = (msg: NodeMessage): NodeMessage => {
      let file: string | undefined;
      let bytes: Buffer;
      try {
        const image = imageFromPayload(msg.payload, checkImagePath);
        file = image.filename;
        // raw pixels never get here (payloadLooksLikeImage is false for them): encoded bytes or a path
        bytes =
          typeof image.input === 'string'
            ? readRegularFileSync(image.input, maxImageFileBytes(maxPixelsSetting(RED)), 'image file')
            : (image.input as Buffer);
      } catch (err) {
        throw wrapped('errors.input', err);
      }
      if (!sniffImageKind(bytes)) throw new Error(t('errors.notImage', { file: file ?? 'msg.payload' }));
      return { ...msg, payload: bytes, ...(file ? { filename: file, ...mvtecLabel(file) } : {}) };
    };

    node.on('input', (msg, send, done) => {
      if (payloadLooksLikeImage(msg.payload)) {
        let out: NodeMessage;
        try {
          out = passImage(msg);
        } catch (err) {
          done(asError(err));
          return;
        }
        send(out);
        done();
        return;
      }
      // anything else is a trigger for a folder run (msg.folder, or a folder path as payload)
      if (start === 'watch') {
        done();
        return;
      }
      const target =
        typeof msg.folder === 'string' && msg.folder
          ? msg.folder
          : isFolder(msg.payload)
            ? msg.payload
            : folder;
      if (!target) {
        done(new Error(t('errors.noFolder')));
        return;
      }
      startRun(target).then(
        () => done(),
        (err) => {
          node.status({ fill: 'red', shape: 'ring', text: t('status.folderError') });
          done(wrapped('errors.folder', err));
        },
      );
    });

    node.on('close', (_removed, done) => {
      run?.stop();
      run = undefined;
      if (deployTimer) clearTimeout(deployTimer);
      watcher?.close();
      watcher = undefined;
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('padim-image-source', PadimImageSourceNode);
};
