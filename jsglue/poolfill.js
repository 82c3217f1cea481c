// jsglue/poolfill.js — zeroing bytes of the pool's shared Memory with wasm memory.fill,
// and copying bytes within it with memory.copy, through a tiny module that imports the
// Memory. Takes no lock (callers hold whatever guards the bytes).
//
// Why: V8 fills a shared buffer (TypedArray.prototype.fill on a view of a
// SharedArrayBuffer) byte by byte with relaxed atomic stores, while memory.fill is a
// memset: on a 2-CPU AMD EPYC, 1 MiB fills ran at 1.9-2.0 GB/s (node 20 and 24) and
// 5.8 GB/s (Chromium 156) by fill, at 18-20 GB/s by memory.fill. The pool zero-fills
// what a truncate adds to a file, the gap a write past the end leaves, and new inode,
// directory and lock tables. Likewise TypedArray.prototype.copyWithin on a shared view
// copies with relaxed atomics, memory.copy is a memmove: 1 MiB copies within a shared
// Memory ran at 5.5-6.0 GB/s by copyWithin and 6.7-7.5 by memory.copy (node 20 and 24,
// a 2-CPU Intel Xeon VM, the machine's copy limit ~8.7). The pool copies within itself
// when a file's extent moves (it must grow where the next block is taken) and when
// compaction slides blocks down.
import { HEADER, body, get, name, section, uleb } from "./wasm_encode.js";

/** Fills below this many bytes take TypedArray.fill (a call into wasm costs more). */
const SMALL = 256;

// (module (import "e" "m" (memory 1 65536 shared))
//   (func (export "zero") (param i32 i32) local.get 0 i32.const 0 local.get 1 memory.fill 0)
//   (func (export "copy") (param i32 i32 i32)
//     local.get 0 local.get 1 local.get 2 memory.copy 0 0))
const BYTES = new Uint8Array([
  ...HEADER,
  ...section(1, [2, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]),
  ...section(2, [1, ...name("e"), ...name("m"), 0x02, 0x03, ...uleb(1), ...uleb(65536)]),
  ...section(3, [2, 0, 1]),
  ...section(7, [2, ...name("zero"), 0x00, 0, ...name("copy"), 0x00, 1]),
  ...section(10, [2, ...body(0, [...get(0), 0x41, 0, ...get(1), 0xfc, 0x0b, 0]),
    ...body(0, [...get(0), ...get(1), ...get(2), 0xfc, 0x0a, 0, 0])]),
]);

/** @type {WebAssembly.Module | null | undefined} compiled once per thread */
let compiled;

/**
 * A function zeroing `n` bytes of `memory` from byte `at` with memory.fill, or null where
 * the engine cannot compile or instantiate the module (then callers use TypedArray.fill).
 * @param {WebAssembly.Memory} memory a shared Memory
 * @returns {((at: number, n: number) => void) | null}
 */
export function poolZero(memory) {
  return /** @type {any} */ (exportsFor(memory)?.zero ?? null);
}

/**
 * A function copying `n` bytes of `memory` from byte `src` to byte `dst` (as memmove: the
 * ranges may overlap) with memory.copy, or null where the engine cannot compile or
 * instantiate the module (then callers use TypedArray.copyWithin).
 * @param {WebAssembly.Memory} memory a shared Memory
 * @returns {((dst: number, src: number, n: number) => void) | null}
 */
export function poolCopy(memory) {
  return /** @type {any} */ (exportsFor(memory)?.copy ?? null);
}

/** @type {WeakMap<object, any>} the module's exports over each Memory (one instance) */
const instances = new WeakMap();

/** The module's exports over `memory`, or null. */
function exportsFor(memory) {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(BYTES);
    } catch (e) {
      compiled = null;
    }
  }
  if (compiled === null || !memory || typeof memory !== "object") return null;
  let x = instances.get(memory);
  if (x === undefined) {
    try {
      x = new WebAssembly.Instance(compiled, { e: { m: memory } }).exports;
    } catch (e) {
      x = null; // not a shared Memory of at most 65536 pages
    }
    instances.set(memory, x);
  }
  return x;
}

/**
 * Zero bytes [start, end) of the Memory under `u8`: by `zero` (poolZero's function) when
 * there is one and the range is not small, else (and should the module's idea of the
 * Memory's size lag behind a grow by another thread, which makes memory.fill trap before
 * it writes anything) by TypedArray.fill.
 * @param {Uint8Array} u8 a current view of the whole Memory
 * @param {((at: number, n: number) => void) | null} zero
 * @param {number} start
 * @param {number} end
 */
export function zeroRange(u8, zero, start, end) {
  if (zero !== null && end - start >= SMALL) {
    try {
      zero(start, end - start);
      return;
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    }
  }
  u8.fill(0, start, end);
}

/**
 * Copy bytes [src, src + n) of the Memory under `u8` to `dst` (the ranges may overlap):
 * by `copy` (poolCopy's function) when there is one and the copy is not small, else (and
 * should the module's idea of the Memory's size lag behind a grow by another thread,
 * which makes memory.copy trap before it writes anything) by TypedArray.copyWithin.
 * @param {Uint8Array} u8 a current view of the whole Memory
 * @param {((dst: number, src: number, n: number) => void) | null} copy
 * @param {number} dst
 * @param {number} src
 * @param {number} n
 */
export function copyRange(u8, copy, dst, src, n) {
  if (copy !== null && n >= SMALL) {
    try {
      copy(dst, src, n);
      return;
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    }
  }
  u8.copyWithin(dst, src, src + n);
}
