// jsglue/copier.js — copies between the pool's shared Memory and an instance's own heap
// Memory through a tiny wasm module with two memories (multi-memory): one memory.copy
// per call; and a whole small read or write in one call (fastio.js). The copies touch only the
// bytes they are asked to copy and take no lock (callers hold the file's stripe); the
// read and write take and release the stripe as Content.read and write do.
import { HEADER, body, name, section, uleb } from "./wasm_encode.js";
import { FAST_READ, FAST_WRITE } from "./fastio.js";

/**
 * @typedef {object} Copier
 * @property {(heapDst: number, poolSrc: number, n: number) => void} copyOut
 * @property {(poolDst: number, heapSrc: number, n: number) => void} copyIn
 * @property {(base: number, sw: number, gen: number, ino: number, dst: number, len: number,
 *   pos: number) => number} read a small read as one call (fastio.js)
 * @property {(base: number, sw: number, gen: number, me: number, ino: number, src: number,
 *   len: number, pos: number, append: number, now: number) => number} write a small write
 *   as one call (fastio.js)
 */

/**
 * A tiny wasm module (multi-memory) that imports the pool's shared Memory and the
 * instance's own heap Memory and copies between them with one memory.copy: reading
 * out of shared memory this way is ~40% faster in V8 than TypedArray.set, and writing
 * into it faster too (TypedArray.set into a shared buffer copies word by word). Its
 * third and fourth, `read` and `write`, are a whole small read and write (fastio.js).
 * Returns {copyOut(heapDst, poolSrc, n), copyIn(poolDst, heapSrc, n), read, write} (byte
 * offsets and counts), or null where the engine has no multi-memory (node 20).
 * @param {WebAssembly.Memory} poolMemory the pool's shared Memory
 * @param {WebAssembly.Memory} heapMemory the instance's own heap
 * @returns {Copier | null}
 */
export function makeCopier(poolMemory, heapMemory) {
  if (!heapMemory || typeof WebAssembly.Instance !== "function") return null;
  // (module (import "e" "pool" (memory 1 65536 shared)) (import "e" "heap" (memory 1))
  //   (func (export "copyOut") (param i32 i32 i32)
  //     local.get 0 local.get 1 local.get 2 memory.copy 1 0)
  //   (func (export "copyIn") (param i32 i32 i32)
  //     local.get 0 local.get 1 local.get 2 memory.copy 0 1)
  //   (func (export "read") (param i32 × 7) (result i32) ...fastio.js)
  //   (func (export "write") (param i32 × 9 f64) (result i32) ...fastio.js))
  // memory.copy dst src: body of copyOut (heap ← pool) and of copyIn (pool ← heap)
  const copy = (dst, src) => [0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, dst, src, 0x0b];
  const out = copy(0x01, 0x00);
  const into = copy(0x00, 0x01);
  const fast = [FAST_READ, FAST_WRITE];
  const bytes = new Uint8Array([
    ...HEADER,
    ...section(1, [3, 0x60, 3, 0x7f, 0x7f, 0x7f, 0, // type 0: (i32 i32 i32) -> ()
      ...fast.flatMap((f) => [0x60, f.params.length, ...f.params, 1, 0x7f])]), // types 1, 2
    ...section(2, [2, ...name("e"), ...name("pool"), 0x02, 0x03, ...uleb(1), ...uleb(65536),
      ...name("e"), ...name("heap"), 0x02, 0x00, ...uleb(1)]), // memories 0 and 1
    ...section(3, [4, 0, 0, 1, 2]),
    ...section(7, [4, ...name("copyOut"), 0x00, 0, ...name("copyIn"), 0x00, 1,
      ...name("read"), 0x00, 2, ...name("write"), 0x00, 3]),
    ...section(10, [4, out.length, ...out, into.length, ...into,
      ...fast.flatMap((f) => body(f.locals, f.code))]),
  ]);
  try {
    const mod = new WebAssembly.Module(bytes);
    const x = new WebAssembly.Instance(mod, { e: { pool: poolMemory, heap: heapMemory } }).exports;
    return /** @type {any} */ ({ copyOut: x.copyOut, copyIn: x.copyIn, read: x.read, write: x.write });
  } catch (e) {
    return null;
  }
}
