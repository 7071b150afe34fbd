/**
 * Turning what a flow puts in msg.payload into image bytes or a file path for the core.
 *
 * Flows carry images in several shapes: a Buffer (file in, camera nodes, HTTP), a file path,
 * a data URL (dashboards, browsers) or bare base64 (JSON APIs, MQTT). All are accepted; anything
 * else is refused with a message that says what was expected.
 */
import * as fs from 'node:fs';
import { types } from 'node:util';
import type { RawImage } from '../types';
import { joinUnnormalised } from './path-policy';
import { SupportError } from './errors';

export type ImageKind = 'png' | 'jpeg' | 'bmp' | 'tiff' | 'webp' | 'gif';

/** Recognises an image file by its first bytes (no decoding). */
export function sniffImageKind(bytes: Uint8Array): ImageKind | undefined {
  const b = bytes;
  const starts = (...sig: number[]) => sig.every((v, i) => b[i] === v);
  if (b.length < 4) return undefined;
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x42, 0x4d)) return 'bmp';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'gif';
  if (
    b.length >= 12 &&
    starts(0x52, 0x49, 0x46, 0x46) &&
    String.fromCharCode(...b.subarray(8, 12)) === 'WEBP'
  )
    return 'webp';
  return undefined;
}

/** The image as the core takes it: encoded bytes, or the path of a file. */
export interface ImagePayload {
  /** encoded bytes, a file path, or raw pixels ({ data, width, height, channels }) */
  input: Buffer | string | RawImage;
  /** the file name when the payload was a path */
  filename?: string;
}

const DATA_URL = /^data:image\/[\w.+-]+;base64,/i;

/** stat that never throws: long base64 text makes a path too long (ENAMETOOLONG), not an error */
function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;

function fromBase64(text: string, refusal: 'payload.dataUrlNotImage' | 'payload.base64NotImage'): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (!sniffImageKind(bytes)) throw new SupportError(refusal, {});
  return bytes;
}

/**
 * Reads msg.payload as an image, or throws an error that says why it is not one. A file path is
 * passed through `checkPath` (the allow-list, see path-policy.ts), which throws to refuse it.
 */
export function imageFromPayload(payload: unknown, checkPath?: (file: string) => string): ImagePayload {
  // util.types: a Uint8Array made in a Function node's context is not `instanceof` this one's
  if (Buffer.isBuffer(payload) || types.isUint8Array(payload)) {
    if (payload.length === 0) throw new SupportError('payload.emptyBuffer', {});
    return { input: Buffer.isBuffer(payload) ? payload : Buffer.from(payload) };
  }
  if (typeof payload === 'string') {
    const text = payload.trim();
    if (text === '') throw new SupportError('payload.emptyString', {});
    if (DATA_URL.test(text))
      return { input: fromBase64(text.slice(text.indexOf(',') + 1), 'payload.dataUrlNotImage') };
    const stat = statOrUndefined(text);
    // relative paths are read from the working directory, so that is where they are checked; the
    // checker returns the path it checked (links resolved), and that is the one read
    const file = stat && checkPath ? checkPath(joinUnnormalised(process.cwd(), text)) : text;
    if (stat?.isFile()) return { input: file, filename: text };
    if (stat?.isDirectory()) throw new SupportError('payload.folder', { path: text });
    if (text.length >= 16 && BASE64.test(text)) return { input: fromBase64(text, 'payload.base64NotImage') };
    throw new SupportError('payload.unknownText', {
      text: text.length > 80 ? text.slice(0, 77) + '...' : text,
    });
  }
  // raw pixels from a camera driver: the core checks the shape and the values (NaN, range)
  const raw = asRawImage(payload);
  if (raw) return { input: raw };
  // a JavaScript type name, not a word: the same in every language
  const kind = payload === null ? 'null' : Array.isArray(payload) ? 'Array' : typeof payload;
  throw new SupportError('payload.notImage', { kind });
}

/**
 * Raw pixels ({ data, width, height, channels }) as this module's typed arrays. A Function node
 * runs in its own JavaScript context, whose typed arrays fail `instanceof` here, so the sample
 * type is read with util.types and the samples wrapped (not copied) in a local array.
 */
export function asRawImage(v: unknown): RawImage | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as { data?: unknown; width?: unknown; height?: unknown; channels?: unknown };
  if (!('width' in r && 'height' in r && 'channels' in r)) return undefined;
  const d = r.data;
  let data: RawImage['data'];
  if (types.isFloat32Array(d)) data = new Float32Array(d.buffer, d.byteOffset, d.length);
  else if (types.isUint16Array(d)) data = new Uint16Array(d.buffer, d.byteOffset, d.length);
  else if (types.isUint8Array(d)) data = new Uint8Array(d.buffer, d.byteOffset, d.length);
  else return undefined;
  // the core checks the shape and the values
  return { data, width: r.width, height: r.height, channels: r.channels } as RawImage;
}

/** True when msg.payload looks like an image rather than a trigger (a timestamp, an object). */
export function payloadLooksLikeImage(payload: unknown): boolean {
  if (Buffer.isBuffer(payload) || types.isUint8Array(payload)) return payload.length > 0;
  if (typeof payload !== 'string') return false;
  const text = payload.trim();
  return (
    DATA_URL.test(text) ||
    (statOrUndefined(text)?.isFile() ?? false) ||
    (text.length >= 16 && BASE64.test(text))
  );
}
