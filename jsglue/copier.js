// jsglue/copier.js — copies between the pool's shared Memory and an instance's own heap
// Memory through a tiny wasm module with two memories (multi-memory): one memory.copy
// per call. Touches only the bytes it is asked to copy; takes no lock (callers hold the
// file's stripe).
import { HEADER, name, section, uleb } from "./wasm_encode.js";

/**
 * A tiny wasm module (multi-memory) that imports the pool's shared Memory and the
 * instance's own heap Memory and copies between them with one memory.copy: reading
 * out of shared memory this way is ~40% faster in V8 than TypedArray.set, and writing
 * into it faster too (TypedArray.set into a shared buffer copies word by word).
 * Returns {copyOut(heapDst, poolSrc, n), copyIn(poolDst, heapSrc, n)} (byte offsets and
 * counts), or null where the engine has no multi-memory (node 20).
 * @param {WebAssembly.Memory} poolMemory the pool's shared Memory
 * @param {WebAssembly.Memory} heapMemory the instance's own heap
 * @returns {{copyOut: (heapDst: number, poolSrc: number, n: number) => void,
 *   copyIn: (poolDst: number, heapSrc: number, n: number) => void} | null}
 */
export function makeCopier(poolMemory, heapMemory) {
  if (!heapMemory || typeof WebAssembly.Instance !== "function") return null;
  // (module (import "e" "pool" (memory 1 65536 shared)) (import "e" "heap" (memory 1))
  //   (func (export "copyOut") (param i32 i32 i32)
  //     local.get 0 local.get 1 local.get 2 memory.copy 1 0)
  //   (func (export "copyIn") (param i32 i32 i32)
  //     local.get 0 local.get 1 local.get 2 memory.copy 0 1))
  // memory.copy dst src: body of copyOut (heap ← pool) and of copyIn (pool ← heap)
  const body = (dst, src) => [0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, dst, src, 0x0b];
  const out = body(0x01, 0x00);
  const into = body(0x00, 0x01);
  const bytes = new Uint8Array([
    ...HEADER,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]), // type (i32 i32 i32) -> ()
    ...section(2, [2, ...name("e"), ...name("pool"), 0x02, 0x03, ...uleb(1), ...uleb(65536),
      ...name("e"), ...name("heap"), 0x02, 0x00, ...uleb(1)]), // memories 0 and 1
    ...section(3, [2, 0, 0]), // two functions of type 0
    ...section(7, [2, ...name("copyOut"), 0x00, 0, ...name("copyIn"), 0x00, 1]), // exports
    ...section(10, [2, out.length, ...out, into.length, ...into]),
  ]);
  try {
    const mod = new WebAssembly.Module(bytes);
    const x = new WebAssembly.Instance(mod, { e: { pool: poolMemory, heap: heapMemory } }).exports;
    return /** @type {any} */ ({ copyOut: x.copyOut, copyIn: x.copyIn });
  } catch (e) {
    return null;
  }
}
