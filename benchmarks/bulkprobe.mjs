// benchmarks/bulkprobe.mjs — where a big sequential write's (and read's) time goes: Python writing a
// new 128 MiB file in 1 MiB unbuffered writes into the pool, next to the same bytes
// copied by JS — FS.write on a stream, the mount's wasm memory.copy into the same pool
// offsets, TypedArray.set into the same offsets, and into a private buffer (the copy
// limit the writers benchmark compares with). Variants run in turns, every round in a
// new order; prints the median and best GB/s per variant.
//
//   node benchmarks/bulkprobe.mjs [--rounds R] [--total MiB] [--filter TEXT] [--dist DIR]
//   .venv/bin/python benchmarks/chrome.py --probe bulkprobe [--probe-args "rounds=9&filter=TEXT"]
import { poolHeapCopier } from "./wasmbytes.mjs";

const MiB = 1 << 20;

/**
 * @param {{loadPyodide: Function, indexURL: string, log: (s: string) => void,
 *   rounds?: number|string, total?: number|string, filter?: string}} o `filter`: only the
 *   variants whose name contains it
 */
export async function runProbe({ loadPyodide, indexURL, log, rounds = 9, total = 128, filter = "" }) {
  rounds = Number(rounds);
  const TOTAL = Number(total) * MiB;
  const py = await loadPyodide({ indexURL });
  await py.loadPackage("pyodide-extmemfs", { messageCallback: () => {} });
  const FS = py.FS;
  const M = py._module;
  py.runPython(`
import os, time, pyodide_extmemfs as xmfs
pool = xmfs.create_pool("16MiB", "2GiB")
xmfs.mount(pool, "/xm")
probe_chunk = b"\\xa5" * (1 << 20)
probe_rb = bytearray(1 << 20)
def probe_io(path, total, mode):
    # seconds to write (mode "wb") or read ("rb") total bytes in 1 MiB unbuffered calls
    t0 = time.perf_counter()
    with open(path, mode, buffering=0) as f:
        op, buf = (f.write, probe_chunk) if mode == "wb" else (f.readinto, probe_rb)
        for _ in range(total >> 20):
            op(buf)
    return time.perf_counter() - t0
probe_io("/xm/warm.bin", 2 * ${TOTAL}, "wb")   # grows the pool; its pages are touched
os.unlink("/xm/warm.bin")
`);
  const pyIo = py.globals.get("probe_io");
  const pyWrite = (path, total) => pyIo(path, total, "wb");
  const pyRead = (path, total) => pyIo(path, total, "rb");
  const poolJs = py.globals.get("pool")._js;
  const poolMemory = poolJs.memory;
  const heapMemory = M.wasmMemory || M.memory;
  // The mount's copier (memory.copy, multi-memory) where the engine has one.
  const copier = poolHeapCopier(poolMemory, heapMemory);
  const copyIn = copier?.copyIn ?? null;
  const copyOut = copier?.copyOut ?? null;
  const src = M._malloc(MiB);
  M.HEAPU8.fill(0xa5, src, src + MiB);
  const priv = new Uint8Array(TOTAL).fill(1);
  /** Pool offset of the first byte of `path` (a file whose every byte is 0xa5 but the first 8). */
  const extentOf = (path) => {
    const fd = FS.open(path, "r+");
    const tag = [0x42, 0x55, 0x4c, 0x4b, 0x70, 0x72, 0x6f, 0x62];
    M.HEAPU8.set(tag, src);
    FS.write(fd, M.HEAP8, src, 8, 0);
    M.HEAPU8.fill(0xa5, src, src + 8);
    FS.close(fd);
    const u8 = new Uint8Array(poolMemory.buffer);
    for (let i = 0; i + 8 <= u8.length; i += 8) {
      if (u8[i] === tag[0] && tag.every((b, k) => u8[i + k] === b)) return i;
    }
    throw new Error(`bulkprobe: extent of ${path} not found`);
  };
  // A file kept for the copies' destination: the same kind of pages a write lands in.
  pyWrite("/xm/kept.bin", TOTAL);
  const at = extentOf("/xm/kept.bin");
  // The same file in MEMFS, for the reads' baseline.
  pyWrite("/tmp/kept.bin", TOTAL);
  const memfsData = () => FS.lookupPath("/tmp/kept.bin").node.contents;
  const readAll = (path) => {
    const t0 = performance.now();
    const s = FS.open(path, "r");
    for (let o = 0; o < TOTAL; o += MiB) FS.read(s, M.HEAP8, src, MiB, o);
    FS.close(s);
    return performance.now() - t0;
  };
  const variants = {
    "Python f.write 1 MiB, new file": () => pyWrite("/xm/new.bin", TOTAL) * 1000,
    "FS.write 1 MiB, new file": () => {
      const t0 = performance.now();
      const s = FS.open("/xm/new.bin", "w");
      for (let o = 0; o < TOTAL; o += MiB) FS.write(s, M.HEAP8, src, MiB);
      FS.close(s);
      return performance.now() - t0;
    },
    "FS.write 1 MiB, over kept.bin": () => {
      const t0 = performance.now();
      const s = FS.open("/xm/kept.bin", "r+");
      for (let o = 0; o < TOTAL; o += MiB) FS.write(s, M.HEAP8, src, MiB, o);
      FS.close(s);
      return performance.now() - t0;
    },
    ...(copyIn ? {
      "memory.copy → kept.bin's pool bytes": () => {
        const t0 = performance.now();
        for (let o = 0; o < TOTAL; o += MiB) copyIn(at + o, src, MiB);
        return performance.now() - t0;
      },
      "memory.copy in 512 KiB pieces → kept.bin": () => {
        const t0 = performance.now();
        for (let o = 0; o < TOTAL; o += MiB) {
          copyIn(at + o, src, MiB / 2);
          copyIn(at + o + MiB / 2, src + MiB / 2, MiB / 2);
        }
        return performance.now() - t0;
      },
    } : {}),
    "TypedArray.set → kept.bin's pool bytes": () => {
      const t0 = performance.now();
      const u8 = new Uint8Array(poolMemory.buffer);
      const from = M.HEAPU8.subarray(src, src + MiB);
      for (let o = 0; o < TOTAL; o += MiB) u8.set(from, at + o);
      return performance.now() - t0;
    },
    "read: Python readinto 1 MiB, pool": () => pyRead("/xm/kept.bin", TOTAL) * 1000,
    "read: Python readinto 1 MiB, MEMFS": () => pyRead("/tmp/kept.bin", TOTAL) * 1000,
    "read: FS.read 1 MiB, pool": () => readAll("/xm/kept.bin"),
    "read: FS.read 1 MiB, MEMFS": () => readAll("/tmp/kept.bin"),
    ...(copyOut ? {
      "read: memory.copy ← kept.bin's pool bytes": () => {
        const t0 = performance.now();
        for (let o = 0; o < TOTAL; o += MiB) copyOut(src, at + o, MiB);
        return performance.now() - t0;
      },
    } : {}),
    "read: TypedArray.set ← kept.bin's pool bytes": () => {
      const t0 = performance.now();
      const u8 = new Uint8Array(poolMemory.buffer);
      for (let o = 0; o < TOTAL; o += MiB) M.HEAPU8.set(u8.subarray(at + o, at + o + MiB), src);
      return performance.now() - t0;
    },
    "read: TypedArray.set ← MEMFS file's array": () => {
      const t0 = performance.now();
      const data = memfsData();
      for (let o = 0; o < TOTAL; o += MiB) M.HEAPU8.set(data.subarray(o, o + MiB), src);
      return performance.now() - t0;
    },
    "TypedArray.set → private buffer (copy limit)": () => {
      const t0 = performance.now();
      const from = M.HEAPU8.subarray(src, src + MiB);
      for (let o = 0; o < TOTAL; o += MiB) priv.set(from, o);
      return performance.now() - t0;
    },
  };
  const names = Object.keys(variants).filter((n) => n.includes(filter));
  const ms = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds + 1; r++) {
    const order = names.map((n, i) => names[(i + r) % names.length]);
    for (const n of order) {
      const t = variants[n]();
      if (FS.analyzePath("/xm/new.bin").exists) FS.unlink("/xm/new.bin");
      if (r > 0) ms[n].push(t);
    }
    await new Promise((res) => setTimeout(res, 0));
  }
  const gbs = (t) => TOTAL / 1e6 / t; // GB/s from ms
  const results = {};
  log(`${TOTAL / MiB} MiB in 1 MiB pieces, GB/s: median of ${rounds} rounds (best); pool ` +
    `${(poolJs.stats().size / MiB).toFixed(0)} MiB`);
  for (const n of names) {
    const s = [...ms[n]].sort((a, b) => a - b);
    results[n] = { median: gbs(s[s.length >> 1]), best: gbs(s[0]) };
    log(`  ${n.padEnd(46)} ${results[n].median.toFixed(1).padStart(6)} (${results[n].best.toFixed(1)})`);
  }
  return results;
}

const isMain = typeof process !== "undefined" && process.argv && import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { dirname, join, resolve } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const opt = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const dist = resolve(opt("--dist", join(dirname(fileURLToPath(import.meta.url)), "..", "build", "dist")));
  const { loadPyodide } = await import(join(dist, "pyodide.mjs"));
  await runProbe({ loadPyodide, indexURL: dist + "/", log: console.log, rounds: opt("--rounds", 9),
    total: opt("--total", 128), filter: opt("--filter", "") });
}
