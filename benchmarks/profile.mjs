// benchmarks/profile.mjs — where does the time of one benchmark group go?
//
//   node benchmarks/profile.mjs GROUP [FS] [--reps N] [--top N] [--save FILE]
//   node benchmarks/profile.mjs --layers [--n N]
//
// GROUP is a fsbench.py group (seq1m, seq4k, random, small, rename, mmap) or a single
// operation over 10,000 files (create: open+write 100 B+close; stat; listdir: 100 listdirs
// of the 10,000-entry directory); FS is xm
// (default) or mem. The group runs once untimed (warm-up), then N times under the V8
// CPU profiler (node:inspector, so only the measured part is sampled). Prints the
// functions with the most self time and the inclusive time of the jsglue functions
// (extmemfs/*.js), and optionally saves the .cpuprofile (open it in Chrome DevTools).
//
// --layers times one small-file operation at each layer, per call: Python os call →
// Emscripten FS call from JS → the pool called directly, for EXTMEMFS and MEMFS.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Session } from "node:inspector";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "..", "build", "dist");
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const MiB = 1 << 20;

const { loadPyodide } = await import(join(dist, "pyodide.mjs"));
const py = await loadPyodide({ indexURL: dist + "/" });
await py.loadPackage("pyodide-extmemfs", { messageCallback: () => {} });
py.FS.mkdirTree("/bench");
py.FS.writeFile("/bench/fsbench.py", readFileSync(join(here, "fsbench.py"), "utf8"));
py.runPython("import sys\nsys.path.insert(0, '/bench')");
const bench = py.pyimport("fsbench");
py.runPython("import fsbench");
bench.setup_main("64MiB", "2GiB");

const GROUPS = {
  seq1m: (fs) => bench.group_seq(fs, 256 * MiB, MiB),
  seq4k: (fs) => bench.group_seq(fs, 64 * MiB, 4096),
  random: (fs) => bench.group_random(fs, 64 * MiB, 20000, 1),
  small: (fs) => bench.group_small(fs, 10000, 20),
  rename: (fs) => bench.group_rename(fs, 5000),
  mmap: (fs) => bench.group_mmap(fs, 64 * MiB),
  create: (fs) => pyLoop(fs, "with open(p, 'wb') as f:\n        f.write(b'x' * 100)", true),
  stat: (fs) => pyLoop(fs, "os.stat(p)", false),
  listdir: (fs) => pyLoop(fs, "if p.endswith('00'): os.listdir(d)", false),
};

/** Time `body` (Python, with `p` a path) over 10,000 files in a fresh directory of `fs`;
 * files are made first unless `creates`, and removed after. Returns {rate} (per s). */
function pyLoop(fs, body, creates) {
  return py.runPython(`
import os, time
d = fsbench.ROOTS[${JSON.stringify(fs)}] + "/loop"
os.mkdir(d)
paths = [f"{d}/f{i:05d}" for i in range(10000)]
if not ${creates ? "True" : "False"}:
    for p in paths:
        open(p, "wb").close()
t0 = time.perf_counter()
for p in paths:
    ${body}
dt = time.perf_counter() - t0
for p in paths:
    os.unlink(p)
os.rmdir(d)
{"rate": len(paths) / dt}
`);
}

function post(session, method, params = {}) {
  return new Promise((res, rej) =>
    session.post(method, params, (err, r) => (err ? rej(err) : res(r))));
}

function summarize(profile, top) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const dt = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    dt.set(samples[i], (dt.get(samples[i]) || 0) + (timeDeltas[i] || 0));
  }
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const key = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.split("/").slice(-2).join("/") : "";
    return `${f.functionName || "(anonymous)"} ${file}${f.url ? ":" + (f.lineNumber + 1) : ""}`;
  };
  const self = new Map();
  const incl = new Map();
  for (const [id, t] of dt) {
    const n = nodes.get(id);
    self.set(key(n), (self.get(key(n)) || 0) + t);
    // inclusive: count each function once per sample stack
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(nodes.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) || 0) + t);
    }
  }
  const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + "%";
  console.log(`\nself time (total ${(total / 1000).toFixed(0)} ms sampled):`);
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${pct(t)}  ${k}`);
  }
  console.log("\ninclusive time, jsglue (extmemfs/*.js) and Emscripten FS entry points:");
  const interesting = (k) => k.includes("extmemfs/") || /^(FS\.|lookupPath|lookupNode|mknod|open|stat|write|read|close|unlink|rename|readdir|doStat|doWritev|doReadv|___syscall|_fd_|__syscall)/.test(k);
  for (const [k, t] of [...incl].filter(([k]) => interesting(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${pct(t)}  ${k}`);
  }
}

async function profileGroup(name, fs) {
  const fn = GROUPS[name];
  if (!fn) throw new Error(`unknown group ${name}; one of ${Object.keys(GROUPS).join(", ")}`);
  const reps = Number(opt("--reps", 3));
  const show = (r) => JSON.stringify(r.toJs({ dict_converter: Object.fromEntries }));
  console.log(`warm-up: ${show(fn(fs))}`);
  const session = new Session();
  session.connect();
  await post(session, "Profiler.enable");
  await post(session, "Profiler.setSamplingInterval", { interval: 100 });
  await post(session, "Profiler.start");
  for (let i = 0; i < reps; i++) console.log(`profiled rep ${i + 1}: ${show(fn(fs))}`);
  const { profile } = await post(session, "Profiler.stop");
  session.disconnect();
  const save = opt("--save", null);
  if (save) writeFileSync(save, JSON.stringify(profile));
  summarize(profile, Number(opt("--top", 25)));
}

/** Per-call cost of small-file operations at each layer, in microseconds. */
function layers() {
  const n = Number(opt("--n", 5000));
  const FS = py.FS;
  const us = (t0, count) => (((performance.now() - t0) * 1000) / count).toFixed(2).padStart(7);
  const row = (what, xm, mem) => console.log(`  ${what.padEnd(52)} ${xm} µs   ${mem} µs`);
  console.log(`per call, ${n} files (EXTMEMFS   MEMFS):`);
  const dirs = { xm: "/xm/bench/layers", mem: "/tmp/membench/layers" };
  for (const d of Object.values(dirs)) FS.mkdirTree(d);
  const names = Array.from({ length: n }, (_, i) => `f${String(i).padStart(5, "0")}`);
  py.globals.set("layer_names", names);
  const pyTime = (code, fs) => {
    py.globals.set("layer_dir", dirs[fs]);
    const t0 = performance.now();
    py.runPython(code);
    return us(t0, n);
  };
  const jsTime = (fn, fs) => {
    const d = dirs[fs];
    const t0 = performance.now();
    for (const nm of names) fn(`${d}/${nm}`);
    return us(t0, n);
  };
  const both = (what, f) => row(what, f("xm"), f("mem"));
  const pyCreate = `
for nm in layer_names:
    with open(layer_dir + "/" + nm, "wb") as f:
        f.write(b"x" * 100)`;
  const pyCreateOs = `
import os
for nm in layer_names:
    fd = os.open(layer_dir + "/" + nm, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"x" * 100)
    os.close(fd)`;
  const pyUnlink = `
import os
for nm in layer_names:
    os.unlink(layer_dir + "/" + nm)`;
  const pyStat = `
import os
for nm in layer_names:
    os.stat(layer_dir + "/" + nm)`;
  const pyMiss = `
import os
for nm in layer_names:
    try:
        os.stat(layer_dir + "/missing_" + nm)
    except FileNotFoundError:
        pass`;
  const data = new Uint8Array(100).fill(120);
  both("Python open(wb)+write(100 B)+close", (fs) => pyTime(pyCreate, fs));
  both("Python os.unlink", (fs) => pyTime(pyUnlink, fs));
  both("Python os.open(O_CREAT)+os.write+os.close", (fs) => pyTime(pyCreateOs, fs));
  both("Python os.stat", (fs) => pyTime(pyStat, fs));
  both("Python os.stat of a missing name (ENOENT)", (fs) => pyTime(pyMiss, fs));
  both("JS FS.stat", (fs) => jsTime((p) => FS.stat(p), fs));
  both("JS FS.lookupPath", (fs) => jsTime((p) => FS.lookupPath(p), fs));
  both("JS FS.unlink", (fs) => jsTime((p) => FS.unlink(p), fs));
  both("JS FS.open(w)+FS.write(100 B)+FS.close", (fs) => jsTime((p) => {
    const s = FS.open(p, "w");
    FS.write(s, data, 0, 100);
    FS.close(s);
  }, fs));
  both("JS FS.open(r)+FS.close (existing)", (fs) => jsTime((p) => FS.close(FS.open(p, "r")), fs));
  // 4 KiB at random offsets of a 64 MiB file, the random case's calls, one layer at a time.
  const big = { xm: dirs.xm + "/big.bin", mem: dirs.mem + "/big.bin" };
  const offs = Array.from({ length: n }, (_, i) => ((i * 2654435761) % 16384) * 4096);
  py.globals.set("layer_offs", offs);
  const pyRand = (op) => `
import os
fd = os.open(layer_dir + "/big.bin", os.O_RDWR)
buf = bytes(4096)
for off in layer_offs:
    ${op}
os.close(fd)`;
  for (const fs of ["xm", "mem"]) FS.writeFile(big[fs], new Uint8Array(64 << 20));
  both("Python os.pwrite 4 KiB, random offsets (fd open)", (fs) => pyTime(pyRand("os.pwrite(fd, buf, off)"), fs));
  both("Python os.pread 4 KiB, random offsets (fd open)", (fs) => pyTime(pyRand("os.pread(fd, 4096, off)"), fs));
  const page = new Uint8Array(4096).fill(7);
  const jsRand = (fs, fn, at = offs) => {
    const s = FS.open(big[fs], "r+");
    const t0 = performance.now();
    for (const off of at) fn(s, off);
    const r = us(t0, n);
    FS.close(s);
    return r;
  };
  both("JS FS.write 4 KiB, random offsets", (fs) => jsRand(fs, (s, off) => FS.write(s, page, 0, 4096, off)));
  both("JS FS.read 4 KiB, random offsets", (fs) => jsRand(fs, (s, off) => FS.read(s, page, 0, 4096, off)));
  // 8 bytes at one of 8 offsets, to and from the instance's heap (as Python's calls do,
  // through the copier where there is one): next to nothing to copy, so the time is the
  // calls' own (locks, checks, the clock for mtime).
  const ptr = py._module._malloc(8);
  const near = offs.map((_, i) => (i & 7) * 64);
  both("JS FS.write 8 B from the heap (the call's own cost)", (fs) =>
    jsRand(fs, (s, off) => FS.write(s, py._module.HEAP8, ptr, 8, off), near));
  both("JS FS.read 8 B into the heap (the call's own cost)", (fs) =>
    jsRand(fs, (s, off) => FS.read(s, py._module.HEAP8, ptr, 8, off), near));
  py._module._free(ptr);
  // The pool itself (no Emscripten): lookup / getattr / create+write / unlink.
  const xmfs = py.pyimport("pyodide_extmemfs");
  const pool = bench.pool.js;
  const dirNode = FS.lookupPath(dirs.xm).node;
  const D = [dirNode.xino, dirNode.xgen];
  const t = (label, fn) => {
    const t0 = performance.now();
    for (const nm of names) fn(nm);
    row(label, us(t0, n), "      —");
  };
  t("pool.lookup", (nm) => pool.lookup(...D, nm));
  t("pool.lookup + pool.getattr", (nm) => {
    const h = pool.lookup(...D, nm);
    pool.getattr(h.ino, h.gen);
  });
  t("pool.lookup of a missing name (throws PoolError)", (nm) => {
    try {
      pool.lookup(...D, "missing_" + nm);
    } catch (e) {
      // expected
    }
  });
  t("pool.unlink", (nm) => pool.unlink(...D, nm));
  t("pool.create + open + write(100 B) + close", (nm) => {
    const h = pool.create(...D, nm, 0o100644);
    pool.open(h.ino, h.gen);
    pool.write(h.ino, h.gen, data, 0, 100, 0, false);
    pool.close(h.ino, h.gen);
  });
  t("pool.rename within the directory", (nm) => pool.rename(...D, nm, ...D, "r" + nm));
  t("pool.unlink (again)", (nm) => pool.unlink(...D, "r" + nm));
  const dirEnts = (fs) => {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) FS.readdir(dirs[fs]);
    return (((performance.now() - t0) * 1000) / 20).toFixed(0).padStart(7);
  };
  py.runPython(pyCreate.replace("layer_dir", '"' + dirs.xm + '"'));
  py.runPython(pyCreate.replace("layer_dir", '"' + dirs.mem + '"'));
  row(`JS FS.readdir of ${n} entries (per call)`, dirEnts("xm"), dirEnts("mem"));
  {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) pool.readdir(...D);
    row(`pool.readdir of ${n} entries (per call)`,
      (((performance.now() - t0) * 1000) / 20).toFixed(0).padStart(7), "      —");
  }
  xmfs.destroy?.();
}

if (argv.includes("--layers")) {
  layers();
} else {
  await profileGroup(argv[0] || "small", argv[1] && !argv[1].startsWith("--") ? argv[1] : "xm");
}
