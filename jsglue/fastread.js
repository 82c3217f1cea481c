// jsglue/fastread.js — a small read of a file into the instance's heap as one wasm call:
// the code of the copier module's `read` export (copier.js), which has the pool's Memory
// as memory 0 and the heap as memory 1. It does what Content.read (pool/content.js) does
// for a read of under BULK_COPY bytes — heartbeat, the stripe's read lock (lockcore.js's
// uncontended path), the inode's size and extent, one memory.copy, the unlock — and gives
// up, holding nothing, wherever that path would do more: the caller then takes the JS
// path, which handles every case.
//
// Why: in V8 every call from JS into wasm, and every JS Atomics call, costs 5-15 ns, more
// inside a call from Python (wasm → JS → wasm); a 4 KiB read through Content.read made
// three wasm calls and cost ~70-100 ns besides its copy in Chromium 156, where MEMFS's
// whole read costs ~20 ns besides its copy. One call does it all.
//
// read(base, sw, gen, ino, dst, len, pos) → i32. base: the stripe lock's first byte; sw:
// this instance's slot (byte offset); gen: its generation; ino: a pinned inode; dst: heap
// byte offset; len < BULK_COPY; pos ≤ 2^31 - 1. Returns
//   n ≥ 0  bytes copied (0 at or past the end), | FAST_WAKE if the lock has sleepers to wake
//   -1     nothing done, nothing held: the slot is not ours and live, a read lock is held
//          already, or a writer holds or is named next on the stripe
//   -2     the lock was taken and given back without copying (a writer got in as it was
//          taken, or the extent looks corrupt, or dst + n is past the heap): wake the
//          lock's sleepers if it has any, then take the JS path
//   -3     at the unlock the slot no longer held the lock (its locks were reclaimed)
import { L } from "./layout.js";
import {
  ADD, AND, ELSE, END, GT_S, GT_U, IF, LT_S, LT_U, MUL, NE, OR, RETURN, SELECT, SHL, SHR_U, SUB,
  get, i32, load, memoryCopy, memorySize, plainLoad, plainStore, returnIf, set, store,
} from "./wasm_encode.js";

/** Set in a result ≥ 0 when the lock's sleepers must be woken. */
export const FAST_WAKE = 1 << 30;
/** The largest position the fast path takes (an i32). */
export const FAST_MAX_POS = 0x7fffffff;

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

// Params 0-6: base, sw, gen, ino, dst, len, pos. Locals 7-11: w, size, n, ext, cap.
const [BASE, SW, GEN, INO, DST, LEN, POS, W, SIZE, N, EXT, CAP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/**
 * The function: its i32 params, extra i32 locals and code. Memory 0 the pool, 1 the heap.
 * @type {{params: number, locals: number, code: number[]}}
 */
export const FAST_READ = { params: 7, locals: 5, code: [
  // Locks.beat(): our slot is live and ours; bump the heartbeat (a plain store, as beat).
  ...get(SW), ...load(L.S_STATE * 4), ...i32(L.SLOT_LIVE), NE, ...returnIf(-1),
  ...get(SW), ...load(L.S_GEN * 4), ...get(GEN), NE, ...returnIf(-1),
  ...get(SW), ...get(SW), ...plainLoad(L.S_HB * 4), ...i32(1), ADD, ...plainStore(L.S_HB * 4),
  // Holding a read lock already is a bug the JS path reports.
  ...get(SW), ...load(RLOCK), ...returnIf(-1),
  // lockcore tryRead: no writer in, none named next → RLOCK = base; a writer in now → back.
  ...get(BASE), ...load(STATE), ...returnIf(-1),
  ...get(BASE), ...load(WNEXT), ...returnIf(-1),
  ...get(SW), ...get(BASE), ...store(RLOCK),
  ...get(BASE), ...load(STATE), ...IF, ...get(SW), ...i32(0), ...store(RLOCK), ...i32(-2), RETURN, END,
  // Held. w = the inode's record (Inodes.ib), size = its SIZE.
  ...i32(L.SB_CHUNK_DIR * 4), ...get(INO), ...i32(10), SHR_U, ...i32(2), SHL, ADD, ...plainLoad(0),
  ...get(INO), ...i32(1023), AND, ...i32(L.INODE_BYTES), MUL, ADD, ...set(W),
  ...get(W), ...plainLoad(L.I_SIZE * 4), ...set(SIZE),
  ...i32(0), ...set(N),
  // pos < size (unsigned) and len > 0: n = min(len, size - pos), then copy
  ...get(POS), ...get(SIZE), LT_U, ...get(LEN), ...i32(0), GT_S, AND, ...IF,
  ...get(SIZE), ...get(POS), SUB, ...set(N),
  ...get(LEN), ...get(N), ...get(LEN), ...get(N), LT_U, SELECT, ...set(N),
  ...get(W), ...plainLoad(L.I_EXTENT * 4), ...set(EXT),
  ...get(W), ...plainLoad(L.I_CAP * 4), ...set(CAP),
  // Content.extent: size > cap, or (cap and (ext < HEAP_START or ext + cap > heapEnd))
  // → corrupt; dst + n past the heap → not ours to trap on. Either: n = -1, no copy.
  ...get(SIZE), ...get(CAP), GT_U,
  ...get(CAP), ...i32(0), NE,
  ...get(EXT), ...i32(L.SB_HEAP_START * 4), ...plainLoad(0), LT_U,
  ...sum64(EXT, CAP), ...i32(L.SB_HEAP_PAGES * 4), ...load(0), ...pagesToBytes64, I64_GT_U,
  OR, AND, OR,
  ...sum64(DST, N), ...memorySize(1), ...pagesToBytes64, I64_GT_U, OR,
  ...IF, ...i32(-1), ...set(N),
  ELSE,
  ...get(DST), ...get(EXT), ...get(POS), ADD, ...get(N), ...memoryCopy(1, 0),
  END,
  END,
  // lockcore readExit: RLOCK still base (not reclaimed) → 0.
  ...get(SW), ...load(RLOCK), ...get(BASE), NE, ...returnIf(-3),
  ...get(SW), ...i32(0), ...store(RLOCK),
  ...get(N), ...i32(0), LT_S, ...returnIf(-2),
  ...get(N), ...get(BASE), ...load(SLEEPERS), ...i32(0), GT_S, ...i32(30), SHL, OR,
] };
