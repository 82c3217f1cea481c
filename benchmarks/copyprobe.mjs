// benchmarks/copyprobe.mjs — what a 4 KiB read costs, piece by piece, in one Pyodide:
// MEMFS's and EXTMEMFS's FS.read into the heap (as Python's calls make them) next to the
// bare copies each one makes (MEMFS: TypedArray.set out of the file's own array; EXTMEMFS:
// the mount's wasm memory.copy out of the shared pool), other ways of copying out of the
// pool (TypedArray.set, a wasm SIMD loop), and a copy followed by one Atomics call.
// Sequential 4 KiB steps through a 256 MiB file and random 4 KiB offsets of a 64 MiB
// one; every variant runs in slices, all variants in turns, and the figure is the median
// over rounds (ns per call).
//
//   node benchmarks/copyprobe.mjs [--rounds R] [--filter TEXT]   (node; build/dist)
//   .venv/bin/python benchmarks/chrome.py --probe copyprobe [--probe-args filter=TEXT]
import { HEADER, TYPE_3I32, memImport, name, poolHeapCopyBytes, poolHeapImports, section, sleb, uleb } from "./wasmbytes.mjs";

const MiB = 1 << 20;

/** Imports memory 0 = the pool's (shared), memory 1 = the instance's heap. */
const IMPORTS = poolHeapImports();

const get = (i) => [0x20, i];
const set = (i) => [0x21, i];
/** local i += by */
const bump = (i, by) => [...get(i), 0x41, ...sleb(by), 0x6a, ...set(i)];

/**
 * A module exporting copy(dst in memory 1, src in memory 0, n): a loop that runs `moves`
 * while n > 0, then advances dst and src by `step` and takes `step` from n. `locals` is
 * the body's locals declaration.
 */
function copyLoopModule(step, moves, locals = [0]) {
  const code = [
    0x02, 0x40, 0x03, 0x40,
    ...get(2), 0x45, 0x0d, 1, // n == 0 → out
    ...moves,
    ...bump(0, step), ...bump(1, step), ...bump(2, -step),
    0x0c, 0, 0x0b, 0x0b,
  ];
  return copyModule([...locals, ...code, 0x0b]);
}

/** A module over IMPORTS exporting copy (i32 i32 i32) -> () with this function body. */
function copyModule(body) {
  return new Uint8Array([
    ...HEADER,
    ...TYPE_3I32,
    ...IMPORTS,
    ...section(3, [1, 0]),
    ...section(7, [1, ...name("copy"), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/**
 * The SIMD copy: v128 loads and stores, `unroll` per iteration (n % (16 × unroll) == 0),
 * each stored after its load or (`loadsFirst`) all loaded first.
 */
export function simdCopyBytes(unroll = 4, loadsFirst = false) {
  const load = (off) => [...get(1), 0xfd, 0x00, 4, ...uleb(off)]; // v128.load (memory 0)
  const storeTop = (off) => [0xfd, 0x0b, 4 | 0x40, 1, ...uleb(off)]; // v128.store (memory 1)
  const moves = [];
  if (loadsFirst) { // locals 3.. are v128: load them all, then store them all
    for (let k = 0; k < unroll; k++) moves.push(...load(16 * k), ...set(3 + k));
    for (let k = 0; k < unroll; k++) moves.push(...get(0), ...get(3 + k), ...storeTop(16 * k));
  } else {
    for (let k = 0; k < unroll; k++) moves.push(...get(0), ...load(16 * k), ...storeTop(16 * k));
  }
  return copyLoopModule(16 * unroll, moves, loadsFirst ? [1, unroll, 0x7b] : [0]);
}

/**
 * copy(dst, src, n) by memory.copy in pieces of `piece` bytes (n % piece == 0): libc's
 * memmove, which V8 may call for memory.copy, picks its method by size (glibc: `rep
 * movsb` from 2 KiB on), so pieces below that take its vector loop.
 */
export function pieceCopyBytes(piece) {
  // memory.copy 1 0 of `piece` bytes
  return copyLoopModule(piece, [...get(0), ...get(1), 0x41, ...sleb(piece), 0xfc, 0x0a, 1, 0]);
}

/** The same memory.copy module the mount uses (jsglue/copier.js), copyOut only. */
const memCopyBytes = () => poolHeapCopyBytes({ copy: "out" });

/** One memory op on the pool (memory 0): astore(addr, v), a seq-cst store (as a lock's). */
function opsBytes() {
  const fn = (code) => {
    const body = [0, ...code, 0x0b];
    return [...uleb(body.length), ...body];
  };
  const funcs = {
    astore: [0, [0x20, 0, 0x20, 1, 0xfe, 0x17, 2, 0]], // (i32 i32) -> ()
  };

  const names = Object.keys(funcs);
  return new Uint8Array([
    ...HEADER,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]),
    ...section(2, [1, ...memImport("pool", true)]),
    ...section(3, [names.length, ...names.map((n) => funcs[n][0])]),
    ...section(7, [names.length, ...names.flatMap((n, i) => [...name(n), 0x00, i])]),
    ...section(10, [names.length, ...names.flatMap((n) => fn(funcs[n][1]))]),
  ]);
}

/**
 * @param {{loadPyodide: Function, indexURL: string, log: (s: string) => void,
 *   rounds?: number|string, filter?: string}} o `filter`: only the variants whose name
 *   contains it
 */
export async function runProbe({ loadPyodide, indexURL, log, rounds = 9, filter = "" }) {
  rounds = Number(rounds);
  const py = await loadPyodide({ indexURL });
  await py.loadPackage("pyodide-extmemfs", { messageCallback: () => {} });
  const FS = py.FS;
  const M = py._module;
  const SEQ = 256 * MiB;
  const RAND = 64 * MiB;
  py.runPython(`
import os, pyodide_extmemfs as xmfs
pool = xmfs.create_pool("64MiB", "2GiB")
xmfs.mount(pool, "/xm")
os.makedirs("/tmp/probe", exist_ok=True)
for d in ("/xm", "/tmp/probe"):
    for name, size in (("seq.bin", ${SEQ}), ("rand.bin", ${RAND})):
        with open(f"{d}/{name}", "wb", buffering=0) as f:
            f.write(name.encode().ljust(16, b"#") + (d + "!").encode().ljust(16, b"@"))
            chunk = b"\\xa5" * (1 << 20)
            left = size - 32
            while left > 0:
                f.write(chunk[: min(len(chunk), left)])
                left -= len(chunk)
`);
  const poolMemory = py.globals.get("pool")._js.memory; // (the Pool's Memory)
  const poolJs = py.globals.get("pool")._js;
  const noCopy = () => {};
  const poolU8 = () => new Uint8Array(poolMemory.buffer);
  const heapMemory = M.wasmMemory || M.memory;
  /** Byte offset of the pool file whose first 32 bytes are `head` (scan). */
  const extentOf = (head) => {
    const u8 = poolU8();
    const want = new TextEncoder().encode(head);
    for (let i = 0; i + want.length <= u8.length; i += 8) {
      if (u8[i] !== want[0]) continue;
      let k = 1;
      while (k < want.length && u8[i + k] === want[k]) k++;
      if (k === want.length) return i;
    }
    throw new Error(`probe: extent of ${head} not found`);
  };
  const head = (name) => name.padEnd(16, "#") + "/xm!".padEnd(16, "@");
  const ext = { seq: extentOf(head("seq.bin")), rand: extentOf(head("rand.bin")) };
  const memNode = (p) => FS.lookupPath(p).node;
  const memContents = { seq: memNode("/tmp/probe/seq.bin").contents, rand: memNode("/tmp/probe/rand.bin").contents };
  const streams = {
    xm: { seq: FS.open("/xm/seq.bin", "r"), rand: FS.open("/xm/rand.bin", "r") },
    mem: { seq: FS.open("/tmp/probe/seq.bin", "r"), rand: FS.open("/tmp/probe/rand.bin", "r") },
  };
  const xino = { seq: streams.xm.seq.node.xino, rand: streams.xm.rand.node.xino };
  const xgen = { seq: streams.xm.seq.node.xgen, rand: streams.xm.rand.node.xgen };
  const imports = { e: { pool: poolMemory, heap: heapMemory } };
  const memCopy = new WebAssembly.Instance(new WebAssembly.Module(memCopyBytes()), imports).exports.copy;
  let simd = null;
  try {
    simd = new WebAssembly.Instance(new WebAssembly.Module(simdCopyBytes()), imports).exports.copy;
  } catch (e) {
    log(`no SIMD copy here: ${e.message}`);
  }
  const ops = /** @type {any} */ (new WebAssembly.Instance(new WebAssembly.Module(opsBytes()),
    { e: { pool: poolMemory } }).exports);
  const ptr = M._malloc(4096);
  const i32 = new Int32Array(poolMemory.buffer, 0, 64);
  const N = 4096;
  // Each variant reads its own bytes: sequentially from its own start (spread over the
  // file), or at its own random pages, so that none reads what another just brought
  // into the cache (the files are larger than the caches; the order alternates).
  const nvar = 16;
  /** @param {string} kind @param {number} v variant number */
  const offsetsOf = (kind, v) => kind === "seq"
    ? Array.from({ length: SEQ / 4096 }, (_, i) => ((v * Math.floor(SEQ / 4096 / nvar) + i) % (SEQ / 4096)) * 4096)
    : Array.from({ length: 65536 }, (_, i) => (Math.imul(i + 65536 * v, 2654435761) >>> 0) % (RAND / 4096) * 4096);
  /** @type {Record<string, (kind: string, off: number) => void>} */
  const variants = {
    "MEMFS FS.read": (k, o) => FS.read(streams.mem[k], M.HEAP8, ptr, N, o),
    "EXTMEMFS FS.read": (k, o) => FS.read(streams.xm[k], M.HEAP8, ptr, N, o),
    "EXTMEMFS stream op read": (k, o) => streams.xm[k].stream_ops.read(streams.xm[k], M.HEAP8, ptr, N, o),
    "Pool.read, memory.copy": (k, o) => poolJs.read(xino[k], xgen[k], M.HEAP8, ptr, N, o, memCopy),
    "Pool.read, no copy": (k, o) => poolJs.read(xino[k], xgen[k], M.HEAP8, ptr, N, o, noCopy),
    "MEMFS's copy: HEAP8.set(contents.subarray)": (k, o) => M.HEAP8.set(memContents[k].subarray(o, o + N), ptr),
    "pool → heap: memory.copy (multi-memory)": (k, o) => memCopy(ptr, ext[k] + o, N),
    "pool → heap: TypedArray.set": (k, o) => {
      const at = ext[k] + o;
      M.HEAPU8.set(poolU8().subarray(at, at + N), ptr);
    },
    ...(simd ? { "pool → heap: wasm v128 loop": (k, o) => simd(ptr, ext[k] + o, N) } : {}),
    "memory.copy + Atomics.store": (k, o) => {
      memCopy(ptr, ext[k] + o, N);
      Atomics.store(i32, 60, o);
    },
    "memory.copy + wasm atomic store": (k, o) => {
      memCopy(ptr, ext[k] + o, N);
      ops.astore(240, o);
    },
  };
  // Python's own calls, a slice at a time (f(kind, offsets)): os.pread, and readinto on
  // an unbuffered file (sequential only; it reads where the last slice stopped).
  const batched = new Set();
  py.runPython(`
import os
probe_fds = {(fs, k): os.open(f"{d}/{k}.bin", os.O_RDONLY)
             for fs, d in (("xm", "/xm"), ("mem", "/tmp/probe")) for k in ("seq", "rand")}
probe_files = {(fs, "seq"): open(f"{d}/seq.bin", "rb", buffering=0)
               for fs, d in (("xm", "/xm"), ("mem", "/tmp/probe"))}
probe_buf = bytearray(4096)
def probe_pread(fs, kind, offs):
    fd, pread = probe_fds[fs, kind], os.pread
    for o in offs:
        pread(fd, 4096, o)
def probe_readinto(fs, offs):
    f = probe_files[fs, "seq"]
    f.seek(offs[0])
    r, b = f.readinto, probe_buf
    for _ in range(len(offs)):
        r(b)
`);
  const pyPread = py.globals.get("probe_pread");
  const pyReadinto = py.globals.get("probe_readinto");
  for (const fs of ["MEMFS", "EXTMEMFS"]) {
    const key = fs === "MEMFS" ? "mem" : "xm";
    variants[`${fs} Python os.pread`] = (k, offs) => pyPread(key, k, offs);
    variants[`${fs} Python readinto (seq.)`] = (k, offs) => {
      // (sequential only: a random slice is timed doing nothing)
      if (k === "seq" && offs[offs.length - 1] === offs[0] + (offs.length - 1) * 4096) pyReadinto(key, offs);
    };
    batched.add(`${fs} Python os.pread`).add(`${fs} Python readinto (seq.)`);
  }
  const names = Object.keys(variants).filter((n) => n.includes(filter));
  const results = {};
  if (names.length > nvar) throw new Error("probe: more variants than offset sets");
  for (const kind of ["seq", "rand"]) {
    const offsOf = names.map((_, v) => offsetsOf(kind, v));
    const count = offsOf[0].length;
    const slices = 16;
    const per = Math.ceil(count / slices);
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds + 1; r++) {
      const spent = Object.fromEntries(names.map((n) => [n, 0]));
      for (let s = 0; s < slices; s++) {
        const order = (r + s) % 2 ? [...names].reverse() : names;
        for (const n of order) {
          const f = variants[n];
          const part = offsOf[names.indexOf(n)].slice(s * per, (s + 1) * per);
          const t0 = performance.now();
          if (batched.has(n)) f(kind, part);
          else for (let i = 0; i < part.length; i++) f(kind, part[i]);
          spent[n] += performance.now() - t0;
        }
      }
      if (r > 0) for (const n of names) samples[n].push((spent[n] * 1e6) / count);
      await new Promise((res) => setTimeout(res, 0));
    }
    const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    results[kind] = Object.fromEntries(names.map((n) => [n, { median: med(samples[n]), best: Math.min(...samples[n]) }]));
    log(`${kind === "seq" ? "sequential 4 KiB, 256 MiB file" : "random 4 KiB, 64 MiB file"} ` +
      `(ns per call: median of ${rounds} rounds (best)):`);
    for (const n of names) {
      const x = results[kind][n];
      log(`  ${n.padEnd(46)} ${x.median.toFixed(0).padStart(6)} (${x.best.toFixed(0)})`);
    }
  }
  return results;
}

const isMain = typeof process !== "undefined" && process.argv && import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { dirname, join, resolve } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const dist = resolve(dirname(fileURLToPath(import.meta.url)), "..", "build", "dist");
  const { loadPyodide } = await import(join(dist, "pyodide.mjs"));
  const opt = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  await runProbe({ loadPyodide, indexURL: dist + "/", log: console.log, rounds: opt("--rounds", 9),
    filter: opt("--filter", "") });
}
