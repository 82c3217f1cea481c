// jsglue/wasm_encode.js — the few pieces of the WebAssembly binary format that the tiny
// modules of lockcore.js and copier.js are written in: LEB128 numbers, names, sections.
// Pure functions over arrays of bytes; touches nothing.

/**
 * Unsigned LEB128 of n (a u32).
 * @param {number} n
 * @returns {number[]}
 */
export function uleb(n) {
  const out = [];
  do {
    out.push((n & 0x7f) | (n >>> 7 ? 0x80 : 0));
    n >>>= 7;
  } while (n);
  return out;
}

/**
 * Signed LEB128 of n (an i32), as i32.const takes it.
 * @param {number} n
 * @returns {number[]}
 */
export function sleb(n) {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/**
 * A name (ASCII): its length, then its bytes.
 * @param {string} text
 * @returns {number[]}
 */
export const name = (text) => [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];

/**
 * Section `id` with `body`, its length in front.
 * @param {number} id
 * @param {number[]} body
 * @returns {number[]}
 */
export const section = (id, body) => [id, ...uleb(body.length), ...body];

/** The module header: magic and version 1. */
export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
