/** Damage done to model files on purpose, for the tests that check it is noticed. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** Where the header JSON is, read the way a third-party tool would. */
export function inspectModelFile(file: string) {
  const buf = fs.readFileSync(file);
  const headerLength = buf.readUInt32LE(8);
  const header = JSON.parse(buf.subarray(12, 12 + headerLength).toString('utf8'));
  return { buf, headerLength, header };
}

/** Same-length text edit inside the header, with the trailer checksum fixed up. */
export function patchHeader(file: string, from: string, to: string): void {
  assert.equal(Buffer.byteLength(from), Buffer.byteLength(to));
  const { buf, headerLength } = inspectModelFile(file);
  const json = buf.subarray(12, 12 + headerLength);
  const at = json.indexOf(from);
  assert.ok(at >= 0, `'${from}' not in header`);
  json.write(to, at);
  createHash('sha256')
    .update(json)
    .digest()
    .copy(buf, buf.length - 32);
  fs.writeFileSync(file, buf);
}

export function flipByte(file: string, at: number): void {
  const buf = fs.readFileSync(file);
  buf[at] ^= 0x40;
  fs.writeFileSync(file, buf);
}
