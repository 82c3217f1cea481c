// benchmarks/callcost.mjs — what one read or write call costs besides its copy, EXTMEMFS
// against MEMFS in the same Pyodide: 8 bytes at one of 8 offsets of a file, to and from
// the instance's heap (as Python's calls pass them, so reads and writes take the wasm
// copier where there is one), at three layers — the stream op, FS.read / FS.write, and
// Python's os.pread / os.pwrite. Rounds alternate which file system goes first; prints
// the median and the best round in µs per call.
//
//   node benchmarks/callcost.mjs [--n CALLS] [--rounds R] [--dist build/dist]
//   (--len 4096 --random: 4 KiB calls at random offsets of a 64 MiB file instead;
//   --shift B: the heap buffer B bytes past a 4 KiB boundary, default 0)
//   .venv/bin/python benchmarks/chrome.py --probe callcost [--probe-args "n=300000&rounds=5"]

/**
 * @param {{loadPyodide: Function, indexURL: string, log: (s: string) => void,
 *   n?: number|string, rounds?: number|string, len?: number|string, random?: any,
 *   shift?: number|string}} o
 */
export async function runProbe({ loadPyodide, indexURL, log, n = 1000000, rounds = 7, len = 8, random = false,
  shift = 0 }) {
  n = Number(n);
  shift = Number(shift);
  rounds = Number(rounds);
  len = Number(len);
  random = random !== false && random !== "0";
  const py = await loadPyodide({ indexURL });
  await py.loadPackage("pyodide-extmemfs", { messageCallback: () => {} });
  const files = { xm: "/xm/calls.bin", mem: "/tmp/calls/calls.bin" };
  py.runPython(`
import os, pyodide_extmemfs as xmfs
pool = xmfs.create_pool("128MiB", "1GiB")
xmfs.mount(pool, "/xm")
os.makedirs("/tmp/calls", exist_ok=True)
for p in ${JSON.stringify(Object.values(files))}:
    with open(p, "wb", buffering=0) as f:
        for _ in range(64):
            f.write(b"\\xa5" * (1 << 20))
`);
  const FS = py.FS;
  const M = py._module;
  // (A multiplicative hash spreads the random offsets over the file's 16,384 pages.)
  const offs = Array.from({ length: n }, (_, i) => (random ? ((i * 2654435761) % 16384) * 4096 : (i & 7) * 64));
  py.globals.set("call_offs", offs);
  py.globals.set("call_len", len);
  // (shift: the heap buffer's offset from a 4 KiB boundary, to see address effects)
  const base = M._malloc(len + 8192);
  const ptr = ((base + 4095) & ~4095) + shift;

  /** µs per call of `body(stream, offset)` over every offset. */
  const jsTime = (fs, body) => {
    const s = FS.open(files[fs], "r+");
    const t0 = performance.now();
    for (const off of offs) body(s, off);
    const us = ((performance.now() - t0) * 1000) / n;
    FS.close(s);
    return us;
  };
  const pyTime = (fs, call) => py.runPython(`
import os, time
fd = os.open(${JSON.stringify(files[fs])}, os.O_RDWR)
buf = b"\\x5a" * call_len
t0 = time.perf_counter()
for off in call_offs:
    ${call}
dt = time.perf_counter() - t0
os.close(fd)
dt * 1e6 / len(call_offs)`);
  // The bare copy each read makes: MEMFS's TypedArray.set out of the file's array, and
  // the mount's copier (wasm memory.copy) out of the file's extent in the pool (found by
  // a marker written at its offset 0). Reads only.
  FS.writeFile("/xm/marker.bin", "");
  const marker = new TextEncoder().encode("callcost-extent!");
  const xs = FS.open(files.xm, "r+");
  FS.write(xs, marker, 0, marker.length, 0);
  FS.close(xs);
  const st = FS.lookupPath(files.xm).node.mount.xmfs;
  const pu8 = new Uint8Array(st.pool.memory.buffer);
  let ext = -1;
  for (let i = 0; i + 16 <= pu8.length && ext < 0; i += 8) {
    if (pu8[i] === marker[0] && marker.every((b, k) => pu8[i + k] === b)) ext = i;
  }
  const contents = FS.lookupPath(files.mem).node.contents;
  const copyOnly = {
    xm: st.copier ? (off) => st.copier.copyOut(ptr, ext + off, len) : null,
    mem: (off) => M.HEAP8.set(contents.subarray(off, off + len), ptr),
  };
  // The same copy by wasm loops of 16-byte loads and stores (v128): 4, 8 or 16 per
  // iteration, each stored after its load or all loaded first.
  const simd = {};
  try {
    const { simdCopyBytes, pieceCopyBytes } = await import("./copyprobe.mjs");
    const mems = { e: { pool: st.pool.memory, heap: M.wasmMemory || M.memory } };
    for (const [name, unroll] of [["v128 ×4", 4], ["v128 ×8", 8]]) {
      simd[name] = new WebAssembly.Instance(new WebAssembly.Module(simdCopyBytes(unroll)), mems).exports.copy;
    }
    for (const piece of [256, 1024, 2048]) {
      simd[`memory.copy in ${piece} B pieces`] = new WebAssembly.Instance(new WebAssembly.Module(
        pieceCopyBytes(piece)), mems).exports.copy;
    }
  } catch (e) {
    log(`no v128 copy: ${e.message}`);
  }
  // The same bytes at the same offset of a second, fresh shared Memory of the pool's size
  // (copied there once), read by the same kind of copier: the pool's pages or any shared
  // Memory's?
  let twin = null;
  if (ext >= 0 && st.copier && len % 256 === 0) {
    const { pieceCopyBytes } = await import("./copyprobe.mjs");
    const mem = new WebAssembly.Memory({ initial: pu8.length >> 16, maximum: 65536, shared: true });
    new Uint8Array(mem.buffer).set(pu8.subarray(ext, ext + 64 * (1 << 20)), ext);
    const copy = new WebAssembly.Instance(new WebAssembly.Module(pieceCopyBytes(len)),
      { e: { pool: mem, heap: M.wasmMemory || M.memory } }).exports.copy; // one memory.copy
    twin = (off) => copy(ptr, ext + off, len);
  }
  const cases = {
    ...(ext >= 0 && copyOnly.xm ? {
      "copy only": (fs) => jsTime(fs, (s, off) => copyOnly[fs](off)),
    } : {}),
    ...(twin ? {
      "copy only, a fresh shared Memory": (fs) => jsTime(fs, (s, off) => (fs === "xm" ? twin(off) : copyOnly.mem(off))),
    } : {}),
    ...(ext >= 0 && len % 256 === 0 ? Object.fromEntries(Object.entries(simd).map(([name, f]) =>
      [`copy only, ${name}`, (fs) => jsTime(fs, (s, off) => (fs === "xm" ? f(ptr, ext + off, len) : copyOnly.mem(off)))])) : {}),
    "stream op read": (fs) => jsTime(fs, (s, off) => s.stream_ops.read(s, M.HEAP8, ptr, len, off)),
    "stream op write": (fs) => jsTime(fs, (s, off) => s.stream_ops.write(s, M.HEAP8, ptr, len, off)),
    "FS.read": (fs) => jsTime(fs, (s, off) => FS.read(s, M.HEAP8, ptr, len, off)),
    "FS.write": (fs) => jsTime(fs, (s, off) => FS.write(s, M.HEAP8, ptr, len, off)),
    "Python os.pread": (fs) => pyTime(fs, "os.pread(fd, call_len, off)"),
    "Python os.pwrite": (fs) => pyTime(fs, "os.pwrite(fd, buf, off)"),
  };
  const times = {};
  for (let r = 0; r < rounds; r++) {
    await new Promise((res) => setTimeout(res, 0)); // (a page stays responsive between rounds)
    for (const fs of r % 2 ? ["xm", "mem"] : ["mem", "xm"]) {
      for (const [name, fn] of Object.entries(cases)) (times[`${name} ${fs}`] ||= []).push(fn(fs));
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const show = (v) => `${med(v).toFixed(3)} (${Math.min(...v).toFixed(3)})`;
  log(`${len} B calls at ${random ? "random offsets of 64 MiB" : "one of 8 offsets"}, ` +
    `${n} calls × ${rounds} rounds, µs per call: median (best round)`);
  log(`${"".padEnd(20)} ${"EXTMEMFS".padStart(16)} ${"MEMFS".padStart(16)}`);
  for (const name of Object.keys(cases)) {
    log(`${name.padEnd(20)} ${show(times[`${name} xm`]).padStart(16)} ${show(times[`${name} mem`]).padStart(16)}`);
  }
  M._free(base);
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, med(v)]));
}

const isMain = typeof process !== "undefined" && process.argv && import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { dirname, join, resolve } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const here = dirname(fileURLToPath(import.meta.url));
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const dist = resolve(opt("--dist", join(here, "..", "build", "dist")));
  const { loadPyodide } = await import(join(dist, "pyodide.mjs"));
  await runProbe({ loadPyodide, indexURL: dist + "/", log: console.log, n: opt("--n", 1000000),
    rounds: opt("--rounds", 7), len: opt("--len", 8), random: argv.includes("--random"),
    shift: opt("--shift", 0) });
  process.exit(0);
}
