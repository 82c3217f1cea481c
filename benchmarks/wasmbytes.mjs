// benchmarks/wasmbytes.mjs — bytes of the small wasm modules the probes and the suite
// build (the benchmark page serves benchmarks/ but not jsglue/, so it cannot import
// jsglue/wasm_encode.js; these are the same few helpers).

/** @param {number} n unsigned LEB128 */
export const uleb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};

/** @param {number} n signed LEB128 */
export const sleb = (n) => {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};

/** @param {string} s a name as wasm writes one (ASCII) */
export const name = (s) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];

/** @param {number} id @param {number[]} body */
export const section = (id, body) => [id, ...uleb(body.length), ...body];

export const HEADER = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];

/** Type section with one type: (i32 i32 i32) -> (). */
export const TYPE_3I32 = section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]);

/**
 * An import of memory e.`field`: shared (maximum `max` pages) or not (no maximum).
 * @param {string} field @param {boolean} shared @param {number} [max]
 */
export const memImport = (field, shared, max = 65536) => [...name("e"), ...name(field), 0x02,
  ...(shared ? [0x03, ...uleb(1), ...uleb(max)] : [0x00, ...uleb(1)])];

/** Import section: memory 0 = e.pool (shared unless told), memory 1 = e.heap (unshared). */
export const poolHeapImports = (shared = true, max = 65536) =>
  section(2, [2, ...memImport("pool", shared, max), ...memImport("heap", false)]);

/** A function body: memory.copy dstMem srcMem of (local 0 = dst, local 1 = src, local 2 = n). */
export const copyBody = (dstMem, srcMem) => {
  const b = [0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, dstMem, srcMem, 0x0b];
  return [...uleb(b.length), ...b];
};

/**
 * A module over poolHeapImports exporting (dst, src, n) functions, each one memory.copy:
 * `funcs` maps an export name to "out" (pool → heap) or "in" (heap → pool).
 * @param {Record<string, "in"|"out">} funcs @param {boolean} [shared] @param {number} [max]
 */
export function poolHeapCopyBytes(funcs, shared = true, max = 65536) {
  const names = Object.keys(funcs);
  return new Uint8Array([
    ...HEADER,
    ...TYPE_3I32,
    ...poolHeapImports(shared, max),
    ...section(3, [names.length, ...names.map(() => 0)]),
    ...section(7, [names.length, ...names.flatMap((n, i) => [...name(n), 0x00, i])]),
    ...section(10, [names.length, ...names.flatMap((n) => (funcs[n] === "in" ? copyBody(0, 1) : copyBody(1, 0)))]),
  ]);
}

/**
 * {copyOut (pool → heap), copyIn (heap → pool)} over these two Memories, as jsglue/copier.js
 * builds them, or null where the engine lacks multi-memory (node 20).
 * @param {WebAssembly.Memory} pool shared @param {WebAssembly.Memory} heap
 * @returns {{copyOut: Function, copyIn: Function} | null}
 */
export function poolHeapCopier(pool, heap) {
  try {
    const mod = new WebAssembly.Module(poolHeapCopyBytes({ copyOut: "out", copyIn: "in" }));
    return /** @type {any} */ (new WebAssembly.Instance(mod, { e: { pool, heap } }).exports);
  } catch {
    return null;
  }
}
