/**
 * padim-image-source ("image source"): images into the flow, from a folder or from the input
 * message.
 *
 * Folder runs start on deploy, on each input message, or, in watch mode, a message goes out for
 * each new file a camera drops into the folder. A run sends the folder's images in natural
 * order, one every `interval` seconds (0: as fast as the flow takes them), optionally looping.
 * An input message that carries an image (Buffer, path, data URL, base64) is passed on as a
 * Buffer instead, so the rest of the flow sees one shape.
 *
 * A file that cannot be read is reported on its own (to Catch nodes) and the run goes on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listFolderImages, mvtecLabel } from '../src/node-support/folder-images';
import { imageFromPayload, payloadLooksLikeImage, sniffImageKind } from '../src/node-support/image-input';
import { maxImageFileBytes } from '../src/image';
import { readRegularFile, readRegularFileSync } from '../src/files/regular-file';
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export = function register(RED: NodeAPI): void {
  const t = (key: string) => RED._(`padim-image-source.${key}`);

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
    const timers = new Set<NodeJS.Timeout>();
    let closed = false;
    /** the run in progress; a new run stops the previous one */
    let run: { stopped: boolean } | undefined;
    let watcher: fs.FSWatcher | undefined;

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

    /** The message for one image file: bytes, name, and label/mask where the layout is MVTec's. */
    const readImage = async (file: string): Promise<NodeMessage> => {
      // a link in the folder may point elsewhere: every file is checked, not only the folder
      // only a regular file, of a size an image within padimMaxPixels can have (not /dev/zero, not a FIFO)
      const bytes = await readRegularFile(
        checkImagePath(file),
        maxImageFileBytes(maxPixelsSetting(RED)),
        'image file',
      );
      if (bytes.length === 0) throw new Error(`${t('errors.empty')}: ${file}`);
      if (!sniffImageKind(bytes)) throw new Error(`${t('errors.notImage')}: ${file}`);
      return { payload: bytes, filename: file, ...mvtecLabel(file) };
    };

    /** Sends one file; a bad file is reported with its name and the run goes on. */
    const sendFile = async (file: string, extra: NodeMessage = {}): Promise<boolean> => {
      try {
        node.send({ ...(await readImage(file)), ...extra });
        return true;
      } catch (err) {
        node.error(asError(err).message, { payload: undefined, filename: file, ...extra });
        return false;
      }
    };

    const wait = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, ms);
        timers.add(timer);
      });

    /** Entries a listing skipped (a link that loops), each told once, not at every rescan. */
    const skippedTold = new Set<string>();
    const warnSkipped = (message: string) => {
      if (skippedTold.has(message)) return;
      skippedTold.add(message);
      node.warn(message);
    };

    const startRun = async (folder: string) => {
      if (run) run.stopped = true;
      const me = { stopped: false };
      run = me;
      const files = listFolderImages(resolveFolder(folder), { recursive, pattern, warn: warnSkipped });
      if (files.length === 0) {
        node.status({ fill: 'yellow', shape: 'ring', text: t('status.noImages') });
        run = undefined;
        return;
      }
      void (async () => {
        do {
          let sent = 0;
          for (let i = 0; i < files.length; i++) {
            if (me.stopped || closed) return;
            if (await sendFile(files[i], { index: i, count: files.length })) sent++;
            node.status({
              fill: 'blue',
              shape: 'dot',
              text: `${t('status.sending')} ${i + 1}/${files.length}`,
            });
            // with no interval, yield so other nodes run between images
            await (intervalMs > 0 ? wait(intervalMs) : new Promise((r) => setImmediate(r)));
          }
          if (!me.stopped && !closed)
            node.status({ fill: 'green', shape: 'dot', text: `${t('status.sent')} ${sent}/${files.length}` });
        } while (loop && !me.stopped && !closed);
        if (run === me) run = undefined;
      })();
    };

    /** Watch mode: files already there are not sent; each new file once, when fully written. */
    const startWatch = (folder: string) => {
      const dir = resolveFolder(folder);
      const seen = new Set(listFolderImages(dir, { recursive, pattern, warn: warnSkipped }));
      let scanning = false;
      let again = false;
      const settled = async (file: string) => {
        let size = -1;
        for (;;) {
          const stat = await fs.promises.stat(file).catch(() => undefined);
          if (!stat) return false;
          if (stat.size > 0 && stat.size === size) return true;
          size = stat.size;
          await sleep(SETTLE_MS);
          if (closed) return false;
        }
      };
      const scan = async () => {
        if (scanning) {
          again = true;
          return;
        }
        scanning = true;
        try {
          do {
            again = false;
            let files: string[] = [];
            try {
              files = listFolderImages(dir, { recursive, pattern, warn: warnSkipped });
            } catch (err) {
              node.status({ fill: 'red', shape: 'ring', text: t('status.folderError') });
              node.warn(asError(err).message);
            }
            for (const file of files) {
              if (seen.has(file) || closed) continue;
              seen.add(file);
              if (await settled(file)) await sendFile(file);
            }
          } while (again && !closed);
          if (!closed)
            node.status({ fill: 'green', shape: 'ring', text: `${t('status.watching')} · ${seen.size}` });
        } finally {
          scanning = false;
        }
      };
      watcher = fs.watch(dir, { recursive }, () => void scan());
      watcher.on('error', (err) => node.warn(err.message));
      const rescan = setInterval(() => void scan(), RESCAN_MS);
      timers.add(rescan);
      node.status({ fill: 'green', shape: 'ring', text: `${t('status.watching')} · ${seen.size}` });
    };

    const folder = (def.folder ?? '').trim();
    try {
      if (start === 'watch') {
        if (!folder) throw new Error(t('errors.noFolder'));
        startWatch(folder);
      } else if (start === 'deploy' && folder) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          startRun(folder).catch((err) => {
            node.status({ fill: 'red', shape: 'ring', text: t('status.folderError') });
            node.error(asError(err).message);
          });
        }, DEPLOY_DELAY_MS);
        timers.add(timer);
      }
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.folderError') });
      node.error(asError(err).message);
    }

    node.on('input', (msg, send, done) => {
      // an image in the message: pass it on as a Buffer
      if (payloadLooksLikeImage(msg.payload)) {
        try {
          const image = imageFromPayload(msg.payload, checkImagePath);
          const file = image.filename;
          // raw pixels never get here (payloadLooksLikeImage is false for them): encoded bytes or a path
          const bytes =
            typeof image.input === 'string'
              ? readRegularFileSync(image.input, maxImageFileBytes(maxPixelsSetting(RED)), 'image file')
              : (image.input as Buffer);
          if (!sniffImageKind(bytes)) throw new Error(`${t('errors.notImage')}: ${file ?? 'msg.payload'}`);
          send({ ...msg, payload: bytes, ...(file ? { filename: file, ...mvtecLabel(file) } : {}) });
          done();
        } catch (err) {
          done(asError(err));
        }
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
          done(asError(err));
        },
      );
    });

    node.on('close', (_removed, done) => {
      closed = true;
      if (run) run.stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      watcher?.close();
      watcher = undefined;
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('padim-image-source', PadimImageSourceNode);
};
