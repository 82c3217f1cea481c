// benchmarks/callcost.mjs — what one read or write call costs besides its copy, EXTMEMFS
// against MEMFS in the same Pyodide: 8 bytes at one of 8 offsets of a file, to and from
// the instance's heap (as Python's calls pass them, so reads and writes take the wasm
// copier where there is one), at three layers — the stream op, FS.read / FS.write, and
// Python's os.pread / os.pwrite. Rounds alternate which file system goes first; prints
// the median and the best round in µs per call.
//
//   node benchmarks/callcost.mjs [--n CALLS] [--rounds R] [--dist build/dist]
//   (--len 4096 --random: 4 KiB calls at random offsets of a 64 MiB file instead)
//   .venv/bin/python benchmarks/chrome.py --probe callcost [--probe-args "n=300000&rounds=5"]

/**
 * @param {{loadPyodide: Function, indexURL: string, log: (s: string) => void,
 *   n?: number|string, rounds?: number|string, len?: number|string, random?: any}} o
 */
export async function runProbe({ loadPyodide, indexURL, log, n = 1000000, rounds = 7, len = 8, random = false }) {
  n = Number(n);
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
  const ptr = M._malloc(len);

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
  const cases = {
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
  M._free(ptr);
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
    rounds: opt("--rounds", 7), len: opt("--len", 8), random: argv.includes("--random") });
  process.exit(0);
}
