// jsglue/wasm_encode.js — the few pieces of the WebAssembly binary format that the tiny
// modules of lockcore.js, copier.js and fastio.js are written in: LEB128 numbers,
// names, sections, and the instructions they use. Pure functions over arrays of bytes;
// touches nothing.

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

// ---- instructions (i32 only; `mem` is a memory index, 0 unless a module has two) ----

/** A memarg: alignment 2^align, the memory index (multi-memory) when not 0, offset. */
const memarg = (align, off, mem) => (mem ? [align | 0x40, ...uleb(mem), ...uleb(off)] : [align, ...uleb(off)]);
/** local.get i */
export const get = (i) => [0x20, i];
/** local.set i */
export const set = (i) => [0x21, i];
/** local.tee i */
export const tee = (i) => [0x22, i];
/** i32.const n */
export const i32 = (n) => [0x41, ...sleb(n)];
/** i32.atomic.load at (address + off) of memory `mem` */
export const load = (off, mem = 0) => [0xfe, 0x10, ...memarg(2, off, mem)];
/** i32.atomic.store */
export const store = (off, mem = 0) => [0xfe, 0x17, ...memarg(2, off, mem)];
/** i32.atomic.rmw.add (leaves the old value) */
export const rmwAdd = (off, mem = 0) => [0xfe, 0x1e, ...memarg(2, off, mem)];
/** i32.atomic.rmw.sub (leaves the old value) */
export const rmwSub = (off, mem = 0) => [0xfe, 0x25, ...memarg(2, off, mem)];
/** i32.atomic.rmw.cmpxchg */
export const cas = (off, mem = 0) => [0xfe, 0x48, ...memarg(2, off, mem)];
/** i32.load (plain) */
export const plainLoad = (off, mem = 0) => [0x28, ...memarg(2, off, mem)];
/** i32.store (plain) */
export const plainStore = (off, mem = 0) => [0x36, ...memarg(2, off, mem)];
/** memory.copy dst src */
export const memoryCopy = (dst, src) => [0xfc, 0x0a, dst, src];
/** memory.size mem (pages) */
export const memorySize = (mem) => [0x3f, mem];
export const EQ = 0x46;
export const NE = 0x47;
export const EQZ = 0x45;
export const LT_S = 0x48;
export const LT_U = 0x49;
export const GT_S = 0x4a;
export const GT_U = 0x4b;
export const GE_U = 0x4f;
export const GE_S = 0x4e;
export const LE_S = 0x4c;
export const ADD = 0x6a;
export const SUB = 0x6b;
export const MUL = 0x6c;
export const AND = 0x71;
export const OR = 0x72;
export const SHL = 0x74;
export const SHR_U = 0x76;
export const CALL = 0x10;
export const SELECT = 0x1b;
export const DROP = 0x1a;
export const IF = [0x04, 0x40];
export const ELSE = 0x05;
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const END = 0x0b;
export const RETURN = 0x0f;
export const BR = 0x0c;
export const BR_IF = 0x0d;
/** `if (top of stack) return n;` */
export const returnIf = (n) => [...IF, ...i32(n), RETURN, END];

/**
 * A code section entry: a function body of `locals` extra i32 locals.
 * @param {number} locals
 * @param {number[]} code
 * @returns {number[]}
 */
export function body(locals, code) {
  const b = [...(locals ? [1, locals, 0x7f] : [0]), ...code, END];
  return [...uleb(b.length), ...b];
}
