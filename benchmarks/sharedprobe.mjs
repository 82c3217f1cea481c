// benchmarks/sharedprobe.mjs — what V8 charges for shared memory, with no file system:
// (1) 4 KiB copies at random offsets of 64 MiB, out of and into buffers of each kind
// (ArrayBuffer, SharedArrayBuffer, shared and unshared WebAssembly.Memory) from and to a
// wasm heap, by TypedArray.set, by wasm memory.copy (multi-memory) and a v128 loop, plus
// 4 KiB read sequentially; (2) 1 MiB and 4 KiB fills and 1 MiB copies inside one shared
// Memory, by TypedArray.fill / copyWithin and by memory.fill / memory.copy; (3) 64 MiB
// read in 1 MiB copies out of each kind into the heap. Variants run in turns; prints the
// median of the rounds. (Section 3 swings by ±20% between runs on a busy 2-CPU VM.)
//
//   node benchmarks/sharedprobe.mjs [--rounds R] [--pyodide]
//   .venv/bin/python benchmarks/chrome.py --probe sharedprobe [--probe-args "rounds=9&pyodide=1"]
//
// What it showed (2-CPU AMD EPYC): TypedArray.set and fill on shared buffers are slower
// than on unshared ones (Chromium 156, random 4 KiB: set 0.67-0.77 µs against 0.43-0.55;
// fill 5.8 GB/s, node 2 GB/s), while memory.copy out of a shared Memory is as fast as
// TypedArray.set out of an ArrayBuffer (0.46 µs) and memory.fill runs at 18-20 GB/s.
import { simdCopyBytes } from "./copyprobe.mjs";
import { HEADER, TYPE_3I32, memImport, name, poolHeapCopyBytes, section } from "./wasmbytes.mjs";

const MiB = 1 << 20;

/** A module exporting copy(dst, src, n) = memory.copy dstMem srcMem (memory 0 "pool", 1 "heap"). */
const copyBytes = (shared, into) => poolHeapCopyBytes({ copy: into ? "in" : "out" }, shared);
/** A module over one shared Memory exporting copy(dst, src, n) and fill(dst, value, n). */
const withinBytes = () => new Uint8Array([
  ...HEADER,
  ...TYPE_3I32,
  ...section(2, [1, ...memImport("pool", true)]),
  ...section(3, [2, 0, 0]),
  ...section(7, [2, ...name("copy"), 0x00, 0, ...name("fill"), 0x00, 1]),
  ...section(10, [2, 12, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0, 0, 0x0b,
    11, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0b, 0, 0x0b]),
]);

/** Median ms per call of each variant, every round in the other order. */
async function turns(variants, rounds) {
  const names = Object.keys(variants);
  const ms = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r <= rounds; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const t = variants[n]();
      if (r) ms[n].push(t);
    }
    await new Promise((res) => setTimeout(res, 0));
  }
  return Object.fromEntries(names.map((n) => [n, [...ms[n]].sort((a, b) => a - b)[ms[n].length >> 1]]));
}

/**
 * @param {{log: (s: string) => void, rounds?: number|string, pyodide?: string,
 *   loadPyodide?: Function, indexURL?: string}} o `pyodide`: copy from and to a Pyodide's
 *   heap (the page's or build/dist's Pyodide) instead of a small fresh Memory
 */
export async function runProbe({ log, rounds = 9, pyodide = "", loadPyodide, indexURL }) {
  rounds = Number(rounds);
  const N = 4096;
  const SIZE = 64 * MiB;
  const CALLS = 65536;
  let heapMem = new WebAssembly.Memory({ initial: 256 });
  let ptr = MiB;
  if (pyodide && pyodide !== "0") {
    // The heap of a Pyodide instead of a small fresh Memory (as the file systems copy into).
    const py = await loadPyodide({ indexURL });
    heapMem = py._module.wasmMemory || py._module.memory;
    ptr = (py._module._malloc(MiB + 4096) + 4095) & ~4095;
    log(`destination: Pyodide's heap (${heapMem.buffer.byteLength >> 20} MiB), buffer at ${ptr}`);
  }
  const heap = new Uint8Array(heapMem.buffer);
  const sharedMem = new WebAssembly.Memory({ initial: SIZE / 65536, maximum: 32768, shared: true });
  const unsharedMem = new WebAssembly.Memory({ initial: SIZE / 65536, maximum: 32768 });
  const kinds = {
    ArrayBuffer: new Uint8Array(new ArrayBuffer(SIZE)),
    SharedArrayBuffer: new Uint8Array(new SharedArrayBuffer(SIZE)),
    "shared Memory": new Uint8Array(sharedMem.buffer),
    "unshared Memory": new Uint8Array(unsharedMem.buffer),
  };
  for (const u8 of Object.values(kinds)) u8.fill(1);
  const offs = Array.from({ length: CALLS }, (_, i) => ((Math.imul(i, 2654435761) >>> 0) % (SIZE / N)) * N);
  /** @type {Record<string, (o: number) => void>} */
  const calls = {};
  /** @type {Record<string, (o: number) => void>} 1 MiB reads (section 3) */
  const reads = {};
  for (const [k, u8] of Object.entries(kinds)) {
    reads[`TypedArray.set: ${k}`] = (o) => heap.set(u8.subarray(o, o + MiB), ptr);
  }
  let seqAt = 0;
  for (const [k, u8] of Object.entries(kinds)) {
    calls[`read 4 KiB, TypedArray.set: ${k}`] = (o) => heap.set(u8.subarray(o, o + N), ptr);
    calls[`write 4 KiB, TypedArray.set: ${k}`] = (o) => u8.set(heap.subarray(ptr, ptr + N), o);
    calls[`read 4 KiB sequentially, TypedArray.set: ${k}`] = () => {
      heap.set(u8.subarray(seqAt, seqAt + N), ptr);
      seqAt = (seqAt + N) % SIZE;
    };
  }
  for (const [k, mem] of [["shared Memory", sharedMem], ["unshared Memory", unsharedMem]]) {
    const shared = mem === sharedMem;
    const imports = { e: { pool: mem, heap: heapMem } };
    try {
      const out = new WebAssembly.Instance(new WebAssembly.Module(copyBytes(shared, false)), imports).exports.copy;
      const into = new WebAssembly.Instance(new WebAssembly.Module(copyBytes(shared, true)), imports).exports.copy;
      calls[`read 4 KiB, memory.copy: ${k}`] = (o) => out(ptr, o, N);
      calls[`write 4 KiB, memory.copy: ${k}`] = (o) => into(o, ptr, N);
      reads[`memory.copy: ${k}`] = (o) => out(ptr, o, MiB);
      if (shared) {
        const v = new WebAssembly.Instance(new WebAssembly.Module(simdCopyBytes(4, false)), imports).exports.copy;
        calls[`read 4 KiB, v128 loop: ${k}`] = (o) => v(ptr, o, N);
        const v8 = new WebAssembly.Instance(new WebAssembly.Module(simdCopyBytes(8, true)), imports).exports.copy;
        reads[`v128 loop (8 loads, then 8 stores): ${k}`] = (o) => v8(ptr, o, MiB);
      }
    } catch (e) {
      log(`no multi-memory or SIMD here (${e.message}): those rows are left out`);
    }
  }
  const per = await turns(Object.fromEntries(Object.entries(calls).map(([n, f], i) => [n, () => {
    const base = (i * 7919) % CALLS; // (each variant its own order of the same offsets)
    const t0 = performance.now();
    for (let j = 0; j < CALLS; j++) f(offs[(j + base) % CALLS]);
    return (performance.now() - t0) / CALLS;
  }])), rounds);
  const results = { ns_per_call: {}, gb_per_s: {} };
  log(`4 KiB calls at random offsets of ${SIZE / MiB} MiB (ns per call, median of ${rounds} rounds):`);
  for (const [n, ms] of Object.entries(per)) {
    results.ns_per_call[n] = ms * 1e6;
    log(`  ${n.padEnd(56)} ${(ms * 1e6).toFixed(0).padStart(6)}`);
  }
  // (2) inside one shared Memory of 256 MiB: 64 MiB in pieces.
  const big = new WebAssembly.Memory({ initial: 4096, maximum: 32768, shared: true });
  const u8 = new Uint8Array(big.buffer);
  u8.fill(1);
  const x = /** @type {any} */ (new WebAssembly.Instance(new WebAssembly.Module(withinBytes()), { e: { pool: big } }).exports);
  const T = 64 * MiB;
  const at = 128 * MiB;
  const timed = (f) => () => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  const bulk = await turns({
    "fill 1 MiB pieces, TypedArray.fill": timed(() => { for (let o = 0; o < T; o += MiB) u8.fill(0, at + o, at + o + MiB); }),
    "fill 1 MiB pieces, memory.fill": timed(() => { for (let o = 0; o < T; o += MiB) x.fill(at + o, 0, MiB); }),
    "fill 4 KiB pieces, TypedArray.fill": timed(() => { for (let o = 0; o < T; o += N) u8.fill(0, at + o, at + o + N); }),
    "fill 4 KiB pieces, memory.fill": timed(() => { for (let o = 0; o < T; o += N) x.fill(at + o, 0, N); }),
    "copy 1 MiB pieces, copyWithin": timed(() => { for (let o = 0; o < T; o += MiB) u8.copyWithin(at + o, o, o + MiB); }),
    "copy 1 MiB pieces, memory.copy": timed(() => { for (let o = 0; o < T; o += MiB) x.copy(at + o, o, MiB); }),
  }, rounds);
  log(`inside one shared Memory, ${T / MiB} MiB in pieces (GB/s, median of ${rounds} rounds):`);
  for (const [n, ms] of Object.entries(bulk)) {
    results.gb_per_s[n] = T / 1e6 / ms;
    log(`  ${n.padEnd(56)} ${(T / 1e6 / ms).toFixed(1).padStart(6)}`);
  }
  // (3) reading 64 MiB sequentially in 1 MiB copies out of each kind into the heap (as
  // 1 MiB file reads do: MEMFS out of an ArrayBuffer, the pool out of a shared Memory).
  const seq = await turns(Object.fromEntries(Object.entries(reads).map(([n, f]) => [n, timed(() => {
    for (let o = 0; o < SIZE; o += MiB) f(o);
  })])), rounds);
  log(`read ${SIZE / MiB} MiB in 1 MiB copies into the heap (GB/s, median of ${rounds} rounds):`);
  for (const [n, ms] of Object.entries(seq)) {
    results.gb_per_s[`read 1 MiB, ${n}`] = SIZE / 1e6 / ms;
    log(`  ${n.padEnd(56)} ${(SIZE / 1e6 / ms).toFixed(1).padStart(6)}`);
  }
  return results;
}

const isMain = typeof process !== "undefined" && process.argv && import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const i = process.argv.indexOf("--rounds");
  const { dirname, join, resolve } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const dist = resolve(dirname(fileURLToPath(import.meta.url)), "..", "build", "dist");
  const pyodide = process.argv.includes("--pyodide") ? "1" : "";
  const loadPyodide = pyodide ? (await import(join(dist, "pyodide.mjs"))).loadPyodide : undefined;
  await runProbe({ log: console.log, rounds: i > 0 ? process.argv[i + 1] : 9, pyodide, loadPyodide,
    indexURL: dist + "/" });
}
