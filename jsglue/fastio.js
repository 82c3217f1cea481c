// jsglue/fastio.js — a read or write of up to one copy piece between a file and the
// instance's heap as one wasm call: the code of the copier module's `read` and `write`
// exports (copier.js), which has the pool's Memory as memory 0 and the heap as memory 1.
// They do what Content.read and Content.write (pool/content.js) do for a call of under
// FAST_MAX_LEN bytes — heartbeat, the stripe's lock (lockcore.js's uncontended paths),
// the inode's size and extent, the copy (for a write: the dirty pages, a gap's zeros,
// SIZE, mtime and ctime; for a bulk copy, of BULK_COPY bytes or more: COPIERS and
// COPY_PEAK, and a write's announcement to readers beside it, Locks.writeBegin) — and
// give up, holding nothing, wherever that path would do more: the caller then takes the
// JS path, which handles every case.
//
// Why: in V8 every call from JS into wasm, and every JS Atomics call, costs 5-15 ns, more
// inside a call from Python (wasm → JS → wasm); a 4 KiB read through Content.read made
// three wasm calls and cost ~70-100 ns besides its copy in Chromium 156, where MEMFS's
// whole read costs ~20 ns besides its copy. One call does it all. For a 1 MiB call the
// JS path's cost is less its instructions than its cache misses: the copy has just pushed
// everything else out of the core's L2, so every object and line of code the path
// touches comes from further away — 5-6 µs per call beside a 118 µs copy (node 24, a
// 2-vCPU EPYC VM), under 2 µs this way: Pool.write of 1 MiB over a kept file went from
// 8.3 to 8.7 GB/s against 8.9 for the bare memory.copy, Python's 1 MiB readinto from the
// pool from 0.94× to 0.99-1.02× MEMFS's (benchmarks/bulkprobe.mjs).
//
// read(base, sw, gen, ino, dst, len, pos) → i32. base: the stripe lock's first byte; sw:
// this instance's slot (byte offset); gen: its generation; ino: a pinned inode; dst: heap
// byte offset; len < FAST_MAX_LEN; pos ≤ FAST_MAX_POS. Returns
//   n ≥ 0  bytes copied (0 at or past the end), | FAST_WAKE if the lock has sleepers to wake
//   -1     nothing done, nothing held: the slot is not ours and live, a read lock is held
//          already, or a writer holds or is named next on the stripe
//   -2     the lock was taken and given back without copying (a writer got in as it was
//          taken, or the extent looks corrupt, or dst + n is past the heap): wake the
//          lock's sleepers if it has any, then take the JS path
//   -3     at the unlock the slot no longer held the lock (its locks were reclaimed)
//
// write(base, sw, gen, me, ino, src, len, pos, append, now) → i32. me: -id, the STATE a
// writer holds; src: heap byte offset; 0 < len < FAST_MAX_LEN; pos ≤ FAST_MAX_POS (ignored
// if append: the size); now: the mtime and ctime to set (ms, an f64). Returns
//   end ≥ 0  the offset just past the bytes written, | FAST_WAKE as for read
//   -1, -2, -3  as for read; -2 also when a reader holds the stripe, the extent is being
//          moved, or the write needs more room than the extent has, or would end at
//          FAST_MAX_END or later
import { L } from "./layout.js";
import {
  ADD, AND, BLOCK, BR, BR_IF, DROP, ELSE, END, EQ, EQZ, GE_U, GT_S, GT_U, IF, LE_S, LOOP, LT_S,
  LT_U, MUL, NE, OR, RETURN, SELECT, SHL, SHR_U, SUB,
  cas, get, i32, load, memoryCopy, memorySize, plainLoad, plainStore, returnIf, rmwAdd, rmwSub,
  set, store, tee, uleb,
} from "./wasm_encode.js";

/** Set in a result ≥ 0 when the lock's sleepers must be woken. */
export const FAST_WAKE = 1 << 30;
/**
 * Calls of fewer bytes take the fast paths: up to one piece of Content's long copies
 * (content.js PIECE, 1 MiB: a call of under 2 pieces is copied as one), so that a fast
 * call holds its stripe no longer than the JS path's copy between two hand-overs.
 */
export const FAST_MAX_LEN = 2 << 20;
/** The largest position the fast paths take (a read's, a write's and its end stay < 2^30). */
export const FAST_MAX_POS = (1 << 30) - FAST_MAX_LEN - 1;
/** A write ending here or later takes the JS path. */
const FAST_MAX_END = 1 << 30;

const STATE = L.LK_STATE * 4;
const WNEXT = L.LK_WNEXT * 4;
const SLEEPERS = L.LK_SLEEPERS * 4;
const RLOCK = L.S_RLOCK * 4;

// i64 instructions for the two bounds checks that may pass 2^32.
const I64_EXTEND_U = 0xad;
const I64_ADD = 0x7c;
const I64_SHL = 0x86;
const I64_GT_U = 0x56;
const i64c = (n) => [0x42, n]; // (small non-negative n only)
/** (a + b) as i64, from two u32 locals. */
const sum64 = (a, b) => [...get(a), I64_EXTEND_U, ...get(b), I64_EXTEND_U, I64_ADD];
/** pages (an i32 on the stack) × 64 KiB as i64. */
const pagesToBytes64 = [I64_EXTEND_U, ...i64c(16), I64_SHL];

/**
 * Locks.beat(): our slot is live and ours (else return -1); bump the heartbeat (a plain
 * store, as beat makes).
 */
const beat = (sw, gen) => [
  ...get(sw), ...load(L.S_STATE * 4), ...i32(L.SLOT_LIVE), NE, ...returnIf(-1),
  ...get(sw), ...load(L.S_GEN * 4), ...get(gen), NE, ...returnIf(-1),
  ...get(sw), ...get(sw), ...plainLoad(L.S_HB * 4), ...i32(1), ADD, ...plainStore(L.S_HB * 4),
];

/**
 * 1 if Content.extent would call the extent corrupt — bytes > cap, or cap and (ext <
 * HEAP_START or ext + cap > heapEnd) — or heap bytes [at, at + n) are past the heap's
 * end; else 0.
 */
const badExtentOrHeap = (bytes, cap, ext, at, n) => [
  ...get(bytes), ...get(cap), GT_U,
  ...get(cap), ...i32(0), NE,
  ...get(ext), ...i32(L.SB_HEAP_START * 4), ...plainLoad(0), LT_U,
  ...sum64(ext, cap), ...i32(L.SB_HEAP_PAGES * 4), ...load(0), ...pagesToBytes64, I64_GT_U,
  OR, AND, OR,
  ...sum64(at, n), ...memorySize(1), ...pagesToBytes64, I64_GT_U, OR,
];

/** local w = the inode's record (byte offset), as Inodes.ib. */
const inodeRecord = (ino, w) => [
  ...i32(L.SB_CHUNK_DIR * 4), ...get(ino), ...i32(10), SHR_U, ...i32(2), SHL, ADD, ...plainLoad(0),
  ...get(ino), ...i32(1023), AND, ...i32(L.INODE_BYTES), MUL, ADD, ...set(w),
];

/**
 * Content.copyBegin: COPIERS + 1, and COPY_PEAK raised to it if it is below. Uses
 * locals now and peak.
 */
const copyBegin = (now, peak) => [
  ...i32(0), ...i32(1), ...rmwAdd(L.SB_COPIERS * 4), ...i32(1), ADD, ...set(now),
  ...BLOCK, ...LOOP,
  ...get(now), ...i32(0), ...load(L.SB_COPY_PEAK * 4), ...tee(peak), LE_S, BR_IF, 1,
  ...i32(0), ...get(peak), ...get(now), ...cas(L.SB_COPY_PEAK * 4), ...get(peak), EQ, BR_IF, 1,
  BR, 0,
  END, END,
];
/** Content.copyEnd: COPIERS - 1. */
const copyEnd = [...i32(0), ...i32(1), ...rmwSub(L.SB_COPIERS * 4), DROP];

// Params 0-6: base, sw, gen, ino, dst, len, pos. Locals 7-13: w, size, n, ext, cap, and
// two for copyBegin.
const [BASE, SW, GEN, INO, DST, LEN, POS, W, SIZE, N, EXT, CAP, T1, T2] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

/**
 * The function: its i32 params, extra i32 locals and code. Memory 0 the pool, 1 the heap.
 * @type {{params: number[], locals: number, code: number[]}}
 */
export const FAST_READ = { params: Array(7).fill(0x7f), locals: 7, code: [
  ...beat(SW, GEN),
  // Holding a read lock already is a bug the JS path reports.
  ...get(SW), ...load(RLOCK), ...returnIf(-1),
  // lockcore tryRead: no writer in, none named next → RLOCK = base; a writer in now → back.
  ...get(BASE), ...load(STATE), ...returnIf(-1),
  ...get(BASE), ...load(WNEXT), ...returnIf(-1),
  ...get(SW), ...get(BASE), ...store(RLOCK),
  ...get(BASE), ...load(STATE), ...IF, ...get(SW), ...i32(0), ...store(RLOCK), ...i32(-2), RETURN, END,
  // Held. w = the inode's record (Inodes.ib), size = its SIZE.
  ...inodeRecord(INO, W),
  ...get(W), ...plainLoad(L.I_SIZE * 4), ...set(SIZE),
  ...i32(0), ...set(N),
  // pos < size (unsigned) and len > 0: n = min(len, size - pos), then copy
  ...get(POS), ...get(SIZE), LT_U, ...get(LEN), ...i32(0), GT_S, AND, ...IF,
  ...get(SIZE), ...get(POS), SUB, ...set(N),
  ...get(LEN), ...get(N), ...get(LEN), ...get(N), LT_U, SELECT, ...set(N),
  ...get(W), ...plainLoad(L.I_EXTENT * 4), ...set(EXT),
  ...get(W), ...plainLoad(L.I_CAP * 4), ...set(CAP),
  // Content.extent, or dst + n past the heap (not ours to trap on): n = -1, no copy.
  ...badExtentOrHeap(SIZE, CAP, EXT, DST, N),
  ...IF, ...i32(-1), ...set(N),
  ELSE,
  // A bulk copy counts in COPIERS while it runs, as Content.read's.
  ...get(N), ...i32(L.BULK_COPY), GE_U, ...IF, ...copyBegin(T1, T2), END,
  ...get(DST), ...get(EXT), ...get(POS), ADD, ...get(N), ...memoryCopy(1, 0),
  ...get(N), ...i32(L.BULK_COPY), GE_U, ...IF, ...copyEnd, END,
  END,
  END,
  // lockcore readExit: RLOCK still base (not reclaimed) → 0.
  ...get(SW), ...load(RLOCK), ...get(BASE), NE, ...returnIf(-3),
  ...get(SW), ...i32(0), ...store(RLOCK),
  ...get(N), ...i32(0), LT_S, ...returnIf(-2),
  ...get(N), ...get(BASE), ...load(SLEEPERS), ...i32(0), GT_S, ...i32(30), SHL, OR,
] };

const DIRTY_SHIFT = L.DIRTY_PAGE_SHIFT;
const ATOMIC_OR = (off) => [0xfe, 0x33, 2, ...uleb(off)]; // i32.atomic.rmw.or, memory 0
const F64_STORE = (off) => [0x39, 3, off]; // f64.store, memory 0 (offset < 128)
const MEMORY_FILL0 = [0xfc, 0x0b, 0]; // memory.fill of memory 0

/**
 * Mark the dirty pages of pool bytes [from, to) (to > from), as Dirty.range: for each
 * page whose bit is clear, an atomic or. Uses locals p and last.
 */
const markDirty = (from, to, p, last) => [
  ...get(to), ...i32(1), SUB, ...i32(DIRTY_SHIFT), SHR_U, ...set(last),
  ...get(from), ...i32(DIRTY_SHIFT), SHR_U, ...set(p),
  ...BLOCK, ...LOOP,
  ...get(p), ...get(last), GT_U, BR_IF, 1,
  // word address = DIRTY_AT + (p >>> 5) * 4; bit = 1 << (p & 31)
  ...get(p), ...i32(5), SHR_U, ...i32(2), SHL, ...plainLoad(L.DIRTY_AT),
  ...i32(1), ...get(p), SHL, AND, EQZ, ...IF,
  ...get(p), ...i32(5), SHR_U, ...i32(2), SHL, ...i32(1), ...get(p), SHL,
  ...ATOMIC_OR(L.DIRTY_AT), 0x1a /* drop */,
  END,
  ...get(p), ...i32(1), ADD, ...set(p),
  BR, 0,
  END, END,
];

// Params 0-9: base, sw, gen, me, ino, src, len, pos, append (i32), now (f64).
// Locals 10-21: w, size, end, cap, ext, s, high, p, last, bulk, and two for copyBegin.
const [WB, WSW, WGEN, ME, WINO, SRC, WLEN, WPOS, APPEND, NOW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [WW, WSIZE, END_, WCAP, WEXT, S, HIGH, P, LAST, BULK, WT1, WT2] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
/** Give the stripe back (we hold STATE = me) and return -2. */
const giveBack = [...get(WB), ...get(ME), ...i32(0), ...cas(STATE), 0x1a /* drop */, ...i32(-2), RETURN];

/**
 * The write function: its params (9 i32, then one f64), extra i32 locals and code. Memory
 * 0 the pool, 1 the heap.
 * @type {{params: number[], locals: number, code: number[]}}
 */
export const FAST_WRITE = { params: [0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7c], locals: 12, code: [
  ...beat(WSW, WGEN),
  // lockcore tryWrite: nobody named next, STATE 0 → me; then no slot may read-hold it
  // (readerOf): else give it back (the JS path drains the readers).
  ...get(WB), ...load(WNEXT), ...returnIf(-1),
  ...get(WB), ...i32(0), ...get(ME), ...cas(STATE), ...returnIf(-1),
  ...i32(L.SB_SLOTS_HIGH * 4), ...load(0), ...tee(HIGH), ...i32(L.NSLOTS), GT_U,
  ...IF, ...i32(L.NSLOTS), ...set(HIGH), END,
  ...i32(0), ...set(S),
  ...BLOCK, ...LOOP,
  ...get(S), ...get(HIGH), GE_U, BR_IF, 1,
  ...get(S), ...i32(L.SLOT_BYTES), MUL, ...load(L.SLOTS_AT + L.S_RLOCK * 4), ...get(WB), EQ,
  ...IF, ...giveBack, END,
  ...get(S), ...i32(1), ADD, ...set(S),
  BR, 0,
  END, END,
  // Held, no readers. An extent being moved (Content._lockForWrite waits) → back.
  ...inodeRecord(WINO, WW),
  ...get(WW), ...plainLoad(L.I_MOVING * 4), ...IF, ...giveBack, END,
  ...get(WW), ...plainLoad(L.I_SIZE * 4), ...set(WSIZE),
  ...get(APPEND), ...IF, ...get(WSIZE), ...set(WPOS), END,
  // end = pos + len < FAST_MAX_END (pos may be the size, up to 4 GiB: compare first)
  ...get(WPOS), ...i32(FAST_MAX_POS), GT_U, ...IF, ...giveBack, END,
  ...get(WPOS), ...get(WLEN), ADD, ...tee(END_), ...i32(FAST_MAX_END), GE_U, ...IF, ...giveBack, END,
  // No room for it in the extent (Content._reserve) → back.
  ...get(WW), ...plainLoad(L.I_CAP * 4), ...tee(WCAP), ...get(END_), LT_U, ...IF, ...giveBack, END,
  ...get(WW), ...plainLoad(L.I_EXTENT * 4), ...set(WEXT),
  ...badExtentOrHeap(END_, WCAP, WEXT, SRC, WLEN), ...IF, ...giveBack, END,
  // tx.wrote: the pages of [ext + min(pos, size), ext + end)
  ...get(WEXT), ...get(WPOS), ...get(WSIZE), ...get(WPOS), ...get(WSIZE), LT_U, SELECT, ADD, ...set(P),
  ...get(WEXT), ...get(END_), ADD, ...set(LAST),
  ...markDirty(P, LAST, P, LAST),
  // A bulk write tells readers of the file's other bytes which ones it changes
  // (Locks.writeBegin: WINO, WLO = min(pos, size), WHI = end, then WSEQ odd).
  ...get(WLEN), ...i32(L.BULK_COPY), GE_U, ...tee(BULK), ...IF,
  ...get(WSW), ...get(WINO), ...store(L.S_WINO * 4),
  ...get(WSW), ...get(WPOS), ...get(WSIZE), ...get(WPOS), ...get(WSIZE), LT_U, SELECT, ...store(L.S_WLO * 4),
  ...get(WSW), ...get(END_), ...store(L.S_WHI * 4),
  ...get(WSW), ...i32(1), ...rmwAdd(L.S_WSEQ * 4), DROP,
  END,
  // A gap past the size reads as zeros.
  ...get(WPOS), ...get(WSIZE), GT_U, ...IF,
  ...get(WEXT), ...get(WSIZE), ADD, ...i32(0), ...get(WPOS), ...get(WSIZE), SUB, ...MEMORY_FILL0,
  END,
  ...get(BULK), ...IF, ...copyBegin(WT1, WT2), END,
  ...get(WEXT), ...get(WPOS), ADD, ...get(SRC), ...get(WLEN), ...memoryCopy(0, 1),
  ...get(BULK), ...IF, ...copyEnd, END,
  ...get(END_), ...get(WSIZE), GT_U, ...IF, ...get(WW), ...get(END_), ...store(L.I_SIZE * 4), END,
  // Locks.writeEnd: WSEQ even again (only this slot changes it), if the slot is still ours.
  ...get(BULK), ...IF,
  ...get(WSW), ...load(L.S_WSEQ * 4), ...tee(WT1), ...i32(1), AND,
  ...get(WSW), ...load(L.S_GEN * 4), ...get(WGEN), EQ, AND, ...IF,
  ...get(WSW), ...get(WT1), ...i32(1), ADD, ...store(L.S_WSEQ * 4),
  END,
  END,
  // Inodes.touch(m, c): mtime and ctime = now, their page marked dirty.
  ...get(WW), ...get(NOW), ...F64_STORE(L.I_MTIME * 8),
  ...get(WW), ...get(NOW), ...F64_STORE(L.I_CTIME * 8),
  ...get(WW), ...set(P), ...get(WW), ...i32(1), ADD, ...set(LAST),
  ...markDirty(P, LAST, P, LAST),
  // lockcore writeExit: CAS STATE me → 0, or -3 (not ours any more).
  ...get(WB), ...get(ME), ...i32(0), ...cas(STATE), ...get(ME), NE, ...returnIf(-3),
  ...get(END_), ...get(WB), ...load(SLEEPERS), ...i32(0), GT_S, ...i32(30), SHL, OR,
] };
