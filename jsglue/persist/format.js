// jsglue/persist/format.js — the byte formats of a persisted pool and of a pool image
// file. Changing anything here invalidates what users have stored: bump FORMAT. Pure
// functions over bytes; no I/O, no locks.
//
// A persisted pool is a directory (node: a host directory; browsers: a directory in the
// origin private file system) holding two image slots and a head:
//
//   head         two 512-byte header records; record k (at byte 512·k) describes slot k
//   slot0.img    the pool's Memory as of the generation its record names (64 KiB pages)
//   slot0.sum    that slot's page table (below)
//   slot1.img, slot1.sum
//   owner.lock   node only: who has the pool open (see owner.js)
//
// Generation g lives in slot g % 2 and is described by record g % 2. A sync of
// generation g (persister.js):
//   1. zeroes record g % 2 (it named generation g - 2, in the slot about to be reused)
//      and flushes the head: from now on nobody trusts that slot;
//   2. writes the changed pages into slot g % 2 and its .sum, and flushes them;
//   3. writes record g % 2 and flushes the head: generation g is committed.
// The newest valid record is the pool. A crash anywhere leaves generation g - 1 (slot
// (g - 1) % 2, never written during sync g) or generation g: never a mix. The other
// record, when valid, says the other slot holds generation g - 1 intact, and slot g's
// .sum lists the pages that changed from g - 1 to g: so the next sync, which reuses that
// slot, writes only those pages and the ones changed since.
//
// Header record (RECORD_BYTES = 512, little-endian)
// | off | w | field      | meaning                                                     |
// |-----|---|------------|-------------------------------------------------------------|
// |   0 | 8 | MAGIC      | "XMFSIMG\0"                                                 |
// |   8 | 4 | FORMAT     | this file's FORMAT                                          |
// |  12 | 4 | LAYOUT     | the pool's layout version (layout.js VERSION)               |
// |  16 | 4 | GEN        | generation (≥ 1)                                            |
// |  20 | 4 | SLOT       | slot index (GEN % 2 in a directory; 0 in an image file)     |
// |  24 | 4 | PAGES      | the Memory's size in 64 KiB pages                           |
// |  28 | 4 | MAX_PAGES  | its maximum                                                 |
// |  32 | 4 | SUM_HASH   | hash of the page table's bytes                              |
// |  36 | 4 | SUM_BYTES  | length of the page table in bytes                           |
// |  40 | 8 | TIME       | f64 ms since the epoch when the image was taken             |
// | 508 | 4 | REC_HASH   | hash of bytes 0 .. 508 (a torn or stray record fails it)     |
//
// Page table (slotN.sum; in an image file it follows the header)
// | off       | w    | field   | meaning                                               |
// |-----------|------|---------|-------------------------------------------------------|
// | 0         | 4    | PAGES   | entries                                               |
// | 4         | 4·P  | HASH[p] | hash of page p's 65536 bytes                          |
// | 4 + 4P    | 4    | NDELTA  | pages that changed from the previous generation       |
// | 8 + 4P    | 4·N  | DELTA   | their numbers (directory slots only; 0 in image files)|
//
// Image file (Pool.save / loadPool): header record, zero padding to 4096, the page table
// (NDELTA = 0), zero padding to a multiple of 4096, then every page of the Memory.

export const FORMAT = 1;
export const PAGE = 65536;
export const RECORD_BYTES = 512;
export const HEAD_BYTES = 2 * RECORD_BYTES;
const MAGIC = [0x58, 0x4d, 0x46, 0x53, 0x49, 0x4d, 0x47, 0x00]; // "XMFSIMG\0"
const R = { FORMAT: 2, LAYOUT: 3, GEN: 4, SLOT: 5, PAGES: 6, MAX_PAGES: 7, SUM_HASH: 8, SUM_BYTES: 9 };
const R_TIME = 5; // f64 index (byte 40)
const R_HASH = 127; // u32 index (byte 508)
export const IMAGE_DATA_ALIGN = 4096;

/**
 * A 32-bit hash of bytes[off, off + len) (len a multiple of 4, off 4-aligned in its
 * buffer): fast enough to check every page of a pool as it loads.
 * @param {Uint8Array} bytes
 * @param {number} off
 * @param {number} len
 * @returns {number} u32
 */
export function hashBytes(bytes, off, len) {
  const w = new Uint32Array(bytes.buffer, bytes.byteOffset + off, len >>> 2);
  // Four independent lanes (the multiplications overlap), folded at the end.
  let a = 0x9e3779b1;
  let b = 0x85ebca77 ^ len;
  let c = 0xc2b2ae3d;
  let d = 0x27d4eb2f;
  const n = w.length & ~3;
  for (let i = 0; i < n; i += 4) {
    a = Math.imul(a ^ w[i], 0x01000193);
    b = Math.imul(b ^ w[i + 1], 0x5bd1e995);
    c = Math.imul(c ^ w[i + 2], 0x01000193);
    d = Math.imul(d ^ w[i + 3], 0x5bd1e995);
  }
  for (let i = n; i < w.length; i++) a = Math.imul(a ^ w[i], 0x01000193);
  let h = a ^ Math.imul(b, 0x27d4eb2f) ^ Math.imul(c ^ (c >>> 13), 0x165667b1) ^
    Math.imul(d ^ (d >>> 16), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** The hash of a page of zeros (pages a slot file holds only because it grew). */
export const ZERO_PAGE_HASH = hashBytes(new Uint8Array(PAGE), 0, PAGE);

/**
 * @typedef {object} HeadRecord
 * @property {number} layout
 * @property {number} gen
 * @property {number} slot
 * @property {number} pages
 * @property {number} maxPages
 * @property {number} sumHash
 * @property {number} sumBytes
 * @property {number} time
 */

/**
 * @param {HeadRecord} r
 * @returns {Uint8Array} RECORD_BYTES
 */
export function encodeRecord(r) {
  const out = new Uint8Array(RECORD_BYTES);
  const u32 = new Uint32Array(out.buffer);
  out.set(MAGIC, 0);
  u32[R.FORMAT] = FORMAT;
  u32[R.LAYOUT] = r.layout;
  u32[R.GEN] = r.gen;
  u32[R.SLOT] = r.slot;
  u32[R.PAGES] = r.pages;
  u32[R.MAX_PAGES] = r.maxPages;
  u32[R.SUM_HASH] = r.sumHash;
  u32[R.SUM_BYTES] = r.sumBytes;
  new Float64Array(out.buffer)[R_TIME] = r.time;
  u32[R_HASH] = hashBytes(out, 0, R_HASH * 4);
  return out;
}

/**
 * Parse a header record. A record of zeros (never written, or invalidated by a sync in
 * progress) is `null`; anything else that is not a whole record is an error.
 * @param {Uint8Array} bytes at least RECORD_BYTES (copied)
 * @returns {{record: HeadRecord | null, problem: string | null}}
 */
export function decodeRecord(bytes) {
  if (bytes.length < RECORD_BYTES) return { record: null, problem: "truncated" };
  const b = bytes.slice(0, RECORD_BYTES);
  if (b.every((x) => x === 0)) return { record: null, problem: null };
  for (let i = 0; i < MAGIC.length; i++) {
    if (b[i] !== MAGIC[i]) return { record: null, problem: "not an extmemfs image (bad magic)" };
  }
  const u32 = new Uint32Array(b.buffer);
  if (u32[R_HASH] !== hashBytes(b, 0, R_HASH * 4)) return { record: null, problem: "damaged (checksum)" };
  if (u32[R.FORMAT] !== FORMAT) {
    return { record: null, problem: `image format ${u32[R.FORMAT]}; this extmemfs reads format ${FORMAT}` };
  }
  return {
    record: {
      layout: u32[R.LAYOUT],
      gen: u32[R.GEN],
      slot: u32[R.SLOT],
      pages: u32[R.PAGES],
      maxPages: u32[R.MAX_PAGES],
      sumHash: u32[R.SUM_HASH],
      sumBytes: u32[R.SUM_BYTES],
      time: new Float64Array(b.buffer)[R_TIME],
    },
    problem: null,
  };
}

/**
 * The page table's bytes.
 * @param {Uint32Array} hashes one per page
 * @param {number} pages entries to write (≤ hashes.length)
 * @param {ArrayLike<number>} delta page numbers
 * @returns {Uint8Array}
 */
export function encodeSums(hashes, pages, delta) {
  const u32 = new Uint32Array(2 + pages + delta.length);
  u32[0] = pages;
  u32.set(hashes.subarray(0, pages), 1);
  u32[1 + pages] = delta.length;
  for (let i = 0; i < delta.length; i++) u32[2 + pages + i] = delta[i];
  return new Uint8Array(u32.buffer);
}

/**
 * Parse a page table, checked against its record.
 * @param {Uint8Array} bytes
 * @param {HeadRecord} rec
 * @returns {{hashes: Uint32Array, delta: number[]}}
 * @throws {Error} with the reason when it does not match the record
 */
export function decodeSums(bytes, rec) {
  if (bytes.length < rec.sumBytes) throw new Error(`page table truncated (${bytes.length} of ${rec.sumBytes} bytes)`);
  const b = bytes.slice(0, rec.sumBytes);
  if (b.length % 4 || hashBytes(b, 0, b.length) !== rec.sumHash) throw new Error("page table damaged (checksum)");
  const u32 = new Uint32Array(b.buffer);
  const pages = u32[0];
  if (pages !== rec.pages || u32.length < 2 + pages) throw new Error("page table does not match its record");
  const n = u32[1 + pages];
  if (u32.length !== 2 + pages + n) throw new Error("page table has a bad length");
  return { hashes: u32.slice(1, 1 + pages), delta: Array.from(u32.subarray(2 + pages)) };
}

/**
 * Byte offset of page data in an image file whose page table has `sumBytes` bytes.
 * @param {number} sumBytes
 */
export function imageDataOffset(sumBytes) {
  const a = IMAGE_DATA_ALIGN;
  return a + Math.ceil(sumBytes / a) * a;
}
