// jsglue/pool/names.js — file names as the pool stores them: UTF-8 bytes hashed with
// FNV-1a. Pure functions over one scratch buffer; touches no Memory, takes no locks.
import { L } from "../layout.js";
import { fail } from "../errors.js";

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: false });

/**
 * The name last encoded by encodeName: its UTF-8 bytes in `bytes[0, len)` and its hash.
 * One per thread (JavaScript runs one call at a time), so no name is ever copied to
 * compare it with a directory entry.
 */
export const NAME = {
  bytes: new Uint8Array(4 * (L.NAME_MAX + 1)),
  hash: 0,
};

/**
 * FNV-1a over bytes[start, start + len).
 * @param {ArrayLike<number>} bytes
 * @param {number} start
 * @param {number} len
 * @returns {number} u32
 */
export function fnv1a(bytes, start, len) {
  let h = 0x811c9dc5;
  for (let i = start, end = start + len; i < end; i++) {
    h = Math.imul(h ^ bytes[i], 0x01000193);
  }
  return h >>> 0;
}

/**
 * Encode `name` as UTF-8 into NAME.bytes and hash it into NAME.hash; ASCII names (the
 * common case) take one pass that also hashes.
 * @param {string} name one path component
 * @returns {number} its length in bytes
 * @throws {import("../errors.js").PoolError} EINVAL (not a string, "/" or NUL inside),
 *   ENOENT (empty), ENAMETOOLONG (over NAME_MAX bytes)
 */
export function encodeName(name) {
  if (typeof name !== "string") fail("EINVAL", `name must be a string, got ${typeof name}`);
  const n = name.length;
  if (n === 0) fail("ENOENT", "empty name");
  const out = NAME.bytes;
  if (n <= L.NAME_MAX) {
    let h = 0x811c9dc5;
    let i = 0;
    for (; i < n; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) break;
      if (c === 0x2f || c === 0) fail("EINVAL", "bad character in name");
      out[i] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (i === n) {
      NAME.hash = h >>> 0;
      return n;
    }
  }
  if (n > L.NAME_MAX * 4) fail("ENAMETOOLONG", `name of ${n} characters`);
  const r = textEncoder.encodeInto(name, out);
  if (r.read < n || r.written > L.NAME_MAX) {
    fail("ENAMETOOLONG", `name longer than ${L.NAME_MAX} bytes`);
  }
  const len = r.written;
  for (let i = 0; i < len; i++) {
    if (out[i] === 0x2f || out[i] === 0) fail("EINVAL", "bad character in name");
  }
  NAME.hash = fnv1a(out, 0, len);
  return len;
}

/**
 * UTF-8 bytes as a string (a symlink target: any bytes are allowed).
 * @param {string} text
 * @returns {Uint8Array}
 */
export function encodeText(text) {
  return textEncoder.encode(text);
}

/**
 * Decode u8[start, start + len) as UTF-8 (one fast pass for ASCII).
 * @param {Uint8Array} u8 a view of the pool's Memory
 * @param {number} start
 * @param {number} len
 * @returns {string}
 */
export function decodeBytes(u8, start, len) {
  let ascii = true;
  for (let i = start, end = start + len; i < end; i++) {
    if (u8[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii && len <= 64) {
    // Short names (nearly all): appending characters beats building a subarray to
    // pass to fromCharCode — it matters for listings of many entries.
    let s = "";
    for (let i = start, end = start + len; i < end; i++) s += String.fromCharCode(u8[i]);
    return s;
  }
  if (ascii) {
    let s = "";
    for (let i = start, end = start + len; i < end; i += 4096) {
      s += String.fromCharCode.apply(null, /** @type {any} */ (u8.subarray(i, Math.min(end, i + 4096))));
    }
    return s;
  }
  // TextDecoder refuses views of shared memory in browsers: decode a private copy.
  return textDecoder.decode(u8.slice(start, start + len));
}
