// jsglue/lockcore.js — the uncontended paths of the lock words (locks.js) as a tiny
// WebAssembly module over the pool's shared Memory. Touches only the words it is given;
// takes and holds nothing by itself.
//
// Why: in V8 (node 20, node 24, Chromium 156) every Atomics.load, Atomics.store or
// Atomics.compareExchange from JS is a call into a builtin, ~8-15 ns each on a 2-CPU AMD
// EPYC, while a wasm atomic instruction is one machine instruction and a call from JS
// into wasm costs ~6-9 ns. Taking and releasing a stripe for one 4 KiB read took eight
// such calls (~100 ns, more than MEMFS's whole read of 4 KiB spends outside its copy);
// through this module it takes two calls. Wasm atomics are sequentially consistent, as
// JS Atomics are, and both act on the same Memory: the protocol of locks.js is the same
// whichever path a thread takes, and threads taking different paths exclude each other
// the same way. Nothing here waits; the slow paths (sleeping, spinning, naming the next
// waiter, recovery) stay in locks.js.
//
// Exports (byte offsets; `base` is a lock's first byte, `rw` the byte of a slot's RLOCK;
// `pages` the Memory pages the caller's views cover: `| 4` on a "got it" answer says
// that SB_HEAP_PAGES, read once the lock is held, is larger: renew the views):
//   tryRead(base, rw, pages) reader's fast path: STATE and WNEXT 0 → RLOCK = base, then
//                           STATE still 0 → 1 (in); a writer got in between → RLOCK = 0,
//                           2 (stepped back: wake the lock's sleepers); else 0 (untouched)
//   readExit(rw, base)      RLOCK ≠ base → -1 (not held); else RLOCK = 0 and → SLEEPERS
//   tryWrite(base, me, id, pages) WNEXT is 0 or id, and CAS STATE 0 → me succeeds → 1 if no
//                           slot read-holds the lock (readerOf), 2 if one does (the
//                           caller drains them); else 0 (untouched)
//   writeExit(base, me)     CAS STATE me → 0 fails → -1 (not ours); else → SLEEPERS
//   readerOf(base, from)    the first slot s ≥ from below min(SLOTS_HIGH, NSLOTS) whose
//                           RLOCK is base, or -1
//   load32(addr)            Atomics.load of the u32 word at byte addr (as an i32)
import { L } from "./layout.js";
import {
  ADD, BLOCK, CALL, END, EQ, EQZ, GE_S, GE_U, GT_U, HEADER, IF, LOOP, MUL, NE, OR, RETURN, SELECT,
  SHL, body, cas, get, i32, load, name, returnIf, section, set, store, tee, uleb,
} from "./wasm_encode.js";

const STATE = L.LK_STATE * 4;
const WNEXT = L.LK_WNEXT * 4;
const SLEEPERS = L.LK_SLEEPERS * 4;

const READER_OF = 4; // function index of readerOf (the order of FUNCS; moduleBytes checks)
/** 4 if SB_HEAP_PAGES > local `pages` (unsigned), else 0. */
const grownBit = (pages) => [...i32(L.SB_HEAP_PAGES * 4), ...load(0), ...get(pages), GT_U, ...i32(2), SHL];

// Each function: [type index, local i32 count, code]. Types: 0 (i32 i32)->i32,
// 1 (i32 i32 i32)->i32, 2 (i32)->i32, 3 (i32 i32 i32 i32)->i32.
const FUNCS = {
  tryRead: [1, 0, [
    ...get(0), ...load(STATE), ...returnIf(0),
    ...get(0), ...load(WNEXT), ...returnIf(0),
    ...get(1), ...get(0), ...store(0),
    ...get(0), ...load(STATE), EQZ, ...IF, ...i32(1), ...grownBit(2), OR, RETURN, END,
    ...get(1), ...i32(0), ...store(0),
    ...i32(2),
  ]],
  readExit: [0, 0, [
    ...get(0), ...load(0), ...get(1), NE, ...returnIf(-1),
    ...get(0), ...i32(0), ...store(0),
    ...get(1), ...load(SLEEPERS),
  ]],
  tryWrite: [3, 1, [
    // local 4 = WNEXT; someone else named next → 0
    ...get(0), ...load(WNEXT), ...tee(4), ...IF,
    ...get(4), ...get(2), NE, ...returnIf(0),
    END,
    ...get(0), ...i32(0), ...get(1), ...cas(STATE), ...returnIf(0), // not taken
    // a reader holds it ? 2 : 1, | grown
    ...i32(2), ...i32(1), ...get(0), ...i32(0), CALL, READER_OF, ...i32(0), GE_S, SELECT,
    ...grownBit(3), OR,
  ]],
  writeExit: [0, 0, [
    ...get(0), ...get(1), ...i32(0), ...cas(STATE), ...get(1), NE, ...returnIf(-1),
    ...get(0), ...load(SLEEPERS),
  ]],
  readerOf: [0, 1, [
    // local 2 = min(SLOTS_HIGH, NSLOTS)
    ...i32(L.SB_SLOTS_HIGH * 4), ...load(0), ...set(2),
    ...get(2), ...i32(L.NSLOTS), GT_U, ...IF, ...i32(L.NSLOTS), ...set(2), END,
    ...BLOCK, ...LOOP,
    ...get(1), ...get(2), GE_U, 0x0d, 1, // br_if 1: past the last slot
    ...get(1), ...i32(L.SLOT_BYTES), MUL, ...load(L.SLOTS_AT + L.S_RLOCK * 4), ...get(0), EQ,
    ...IF, ...get(1), RETURN, END,
    ...get(1), ...i32(1), ADD, ...set(1),
    0x0c, 0, // br 0: next slot
    END, END,
    ...i32(-1),
  ]],
  load32: [2, 0, [...get(0), ...load(0)]],
};

function moduleBytes() {
  const names = Object.keys(FUNCS);
  if (names.indexOf("readerOf") !== READER_OF) throw new Error("lockcore: READER_OF is off");
  const bodies = names.map((n) => body(FUNCS[n][1], FUNCS[n][2]));
  return new Uint8Array([
    ...HEADER,
    ...section(1, [4,
      0x60, 2, 0x7f, 0x7f, 1, 0x7f,
      0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f,
      0x60, 1, 0x7f, 1, 0x7f,
      0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
    // (import "e" "m" (memory 1 65536 shared)): any pool Memory (1 page to 4 GiB)
    ...section(2, [1, ...name("e"), ...name("m"), 0x02, 0x03, ...uleb(1), ...uleb(65536)]),
    ...section(3, [names.length, ...names.map((n) => FUNCS[n][0])]),
    ...section(7, [names.length, ...names.flatMap((n, i) => [...name(n), 0x00, i])]),
    ...section(10, [names.length, ...bodies.flat()]),
  ]);
}

/** @type {WebAssembly.Module | null | undefined} compiled once per thread */
let compiled;

/**
 * @typedef {object} LockCore
 * @property {(base: number, rw: number, pages: number) => number} tryRead
 * @property {(rw: number, base: number) => number} readExit
 * @property {(base: number, me: number, id: number, pages: number) => number} tryWrite
 * @property {(base: number, me: number) => number} writeExit
 * @property {(base: number, from: number) => number} readerOf
 * @property {(addr: number) => number} load32
 */

/**
 * The fast paths bound to `memory` (a shared WebAssembly.Memory), or null where the
 * engine cannot compile or instantiate the module (then locks.js does the same with JS
 * Atomics).
 * @param {WebAssembly.Memory} memory
 * @returns {LockCore | null}
 */
export function lockCore(memory) {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(moduleBytes());
    } catch (e) {
      compiled = null;
    }
  }
  if (compiled === null || !memory) return null;
  try {
    const x = new WebAssembly.Instance(compiled, { e: { m: memory } }).exports;
    return /** @type {LockCore} */ (/** @type {unknown} */ (x));
  } catch (e) {
    return null; // not a shared Memory of at most 65536 pages
  }
}
