// benchmarks/suite.mjs — runs every benchmark case and returns the raw samples.
//
// Shared by the node driver (bench.mjs) and the Chrome page (page.html). All file
// operations are timed in Python inside Pyodide (fsbench.py); this module only loads
// Pyodide, starts the two workers, alternates EXTMEMFS ("xm") and MEMFS ("mem") runs and
// collects samples. The raw TypedArray copy speed is measured here, in JS, in the same
// process. report.py turns the samples into medians, ratios and pass/fail.
//
// Result: {runtime, started, finished, params, raw_copy, cases: {id: {xm: [..], base:
// [..], ...}}, memory: {...}, info: {...}}; every sample is one full repetition.

const MiB = 1 << 20;

/** Sizes and repetition counts. FULL is the issue's; QUICK is for trying the suite. */
export const FULL = {
  poolInitial: "64MiB",
  poolMax: "2GiB",
  seqTotal: 256 * MiB,
  seqReps: 5,
  seq4kReps: 3,
  randSize: 64 * MiB,
  randOps: 20000,
  randReps: 5,
  smallFiles: 10000,
  listdirReps: 20,
  smallReps: 5,
  renameFiles: 5000,
  renameReps: 5,
  mmapSize: 64 * MiB,
  mmapReps: 5,
  metaFiles: 10000,
  churnOps: 3000,
  churnMaxFile: 4 * MiB,
  churnLiveCap: 64 * MiB,
  workerPoolMax: "1GiB",
  pingpongSeconds: 1.0,
  pingpongReps: 5,
  writerTotal: 128 * MiB,
  writerReps: 5,
};

export const QUICK = {
  ...FULL,
  seqTotal: 32 * MiB,
  seqReps: 1,
  seq4kReps: 1,
  randSize: 16 * MiB,
  randOps: 5000,
  randReps: 1,
  smallFiles: 2000,
  listdirReps: 5,
  smallReps: 1,
  renameFiles: 1000,
  renameReps: 1,
  mmapSize: 16 * MiB,
  mmapReps: 1,
  metaFiles: 2000,
  churnOps: 500,
  churnLiveCap: 16 * MiB,
  pingpongSeconds: 0.3,
  pingpongReps: 1,
  writerTotal: 32 * MiB,
  writerReps: 1,
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function toPlain(r) {
  if (r && typeof r.toJs === "function") {
    const v = r.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
    r.destroy();
    return v;
  }
  return r;
}

/**
 * A wasm module (multi-memory proposal) importing a shared "pool" memory and an unshared
 * "heap" memory, exporting copyOut(dst, src, n) (pool → heap) and copyIn(dst, src, n)
 * (heap → pool), each one memory.copy. null where the engine lacks multi-memory (node 20).
 */
function multiMemoryCopier(pool, heap) {
  const leb = (n) => {
    const o = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      o.push(b);
    } while (n);
    return o;
  };
  const str = (t) => [t.length, ...new TextEncoder().encode(t)];
  const sec = (id, b) => [id, ...leb(b.length), ...b];
  const body = (d, s) => {
    const b = [0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfc, 0x0a, d, s, 0x0b];
    return [b.length, ...b];
  };
  const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...sec(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]),
    ...sec(2, [2, ...str("e"), ...str("pool"), 0x02, 0x03, ...leb(1), ...leb(65536),
      ...str("e"), ...str("heap"), 0x02, 0x00, ...leb(1)]),
    ...sec(3, [2, 0, 0]),
    ...sec(7, [2, ...str("copyOut"), 0, 0, ...str("copyIn"), 0, 1]),
    ...sec(10, [2, ...body(1, 0), ...body(0, 1)])]);
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { pool, heap } }).exports;
  } catch (e) {
    return null;
  }
}

/**
 * Copy `total` bytes in `chunk`-byte TypedArray.set calls from Pyodide's own heap
 * (where Python's bytes live) into a shared WebAssembly.Memory, and back. MiB/s.
 * "fresh": the first pass over never-touched shared pages (page faults included);
 * "touched": median of 3 later passes; "out": shared → heap, median of 3;
 * "plain_out": a plain (unshared) ArrayBuffer → heap, as MEMFS reads copy, median of 3.
 */
function rawCopy(py, total, chunk) {
  const M = py._module;
  const ptr = M._malloc(chunk);
  try {
    M.HEAPU8.fill(0xa5, ptr, ptr + chunk);
    const pages = Math.ceil(total / 65536);
    const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const dst = new Uint8Array(mem.buffer);
    const into = () => {
      const src = M.HEAPU8.subarray(ptr, ptr + chunk);
      const t = performance.now();
      for (let o = 0; o < total; o += chunk) dst.set(src, o);
      return total / MiB / ((performance.now() - t) / 1000);
    };
    const out = () => {
      const heap = M.HEAPU8;
      const t = performance.now();
      for (let o = 0; o < total; o += chunk) heap.set(dst.subarray(o, o + chunk), ptr);
      return total / MiB / ((performance.now() - t) / 1000);
    };
    const plain = new Uint8Array(total).fill(0x5a);
    const plainOut = () => {
      const heap = M.HEAPU8;
      const t = performance.now();
      for (let o = 0; o < total; o += chunk) heap.set(plain.subarray(o, o + chunk), ptr);
      return total / MiB / ((performance.now() - t) / 1000);
    };
    // The same copies done by wasm memory.copy (multi-memory) between the shared Memory
    // and an unshared one, where the engine has it: what the pool could use instead.
    const wasmHeap = new WebAssembly.Memory({ initial: Math.ceil(chunk / 65536) });
    const mm = multiMemoryCopier(mem, wasmHeap);
    const mmPass = (fn) => {
      const t = performance.now();
      for (let o = 0; o < total; o += chunk) fn(o);
      return total / MiB / ((performance.now() - t) / 1000);
    };
    const fresh = into();
    const touched = [into(), into(), into()];
    const back = [out(), out(), out()];
    const plainBack = [plainOut(), plainOut(), plainOut()];
    const r = { unit: "MiB/s", chunk, total, fresh, touched: median(touched), out: median(back),
      plain_out: median(plainBack), samples: { touched, out: back, plain_out: plainBack } };
    if (mm) {
      const mmIn = [0, 1, 2].map(() => mmPass((o) => mm.copyIn(o, 0, chunk)));
      const mmOut = [0, 1, 2].map(() => mmPass((o) => mm.copyOut(0, o, chunk)));
      Object.assign(r, { wasm_in: median(mmIn), wasm_out: median(mmOut) });
      Object.assign(r.samples, { wasm_in: mmIn, wasm_out: mmOut });
    }
    return r;
  } finally {
    M._free(ptr);
  }
}

/**
 * Run the suite.
 * @param {{runtime: string, indexURL: string, source: string, params: object,
 *   loadPyodide: Function, spawnWorker: () => Promise<{send: Function, terminate: Function}>,
 *   log: (line: string) => void}} env
 *   spawnWorker starts worker.mjs and resolves once it is listening; send(msg, transfer)
 *   resolves with the worker's answer.
 */
export async function runSuite(env) {
  const P = env.params;
  const log = env.log;
  const want = (section) => !env.only || env.only.includes(section);
  const out = { runtime: env.runtime, started: new Date().toISOString(), params: P, cases: {},
    memory: {}, info: {} };
  const add = (id, side, v) => {
    const c = (out.cases[id] ||= { xm: [], base: [] });
    c[side].push(v);
  };
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

  let t = performance.now();
  const py = await env.loadPyodide({ indexURL: env.indexURL });
  await py.loadPackage("pyodide-extmemfs", { messageCallback: () => {} });
  py.FS.mkdirTree("/bench");
  py.FS.writeFile("/bench/fsbench.py", env.source);
  py.runPython("import sys\nif '/bench' not in sys.path: sys.path.insert(0, '/bench')");
  const bench = py.pyimport("fsbench");
  out.info.pyodide = py.version;
  out.info.python = py.runPython("import sys; sys.version.split()[0]");
  out.info.pool_at_start = toPlain(bench.setup_main(P.poolInitial, P.poolMax));
  log(`Pyodide ${py.version} loaded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // ---- raw copy ---------------------------------------------------------------------
  out.raw_copy = rawCopy(py, P.seqTotal, MiB);
  log(`raw copy 1 MiB chunks: heap→shared ${fmt(out.raw_copy.touched)} MiB/s ` +
    `(fresh pages ${fmt(out.raw_copy.fresh)}), shared→heap ${fmt(out.raw_copy.out)} MiB/s, ` +
    `unshared→heap ${fmt(out.raw_copy.plain_out)} MiB/s` + (out.raw_copy.wasm_out
      ? `; wasm memory.copy heap→shared ${fmt(out.raw_copy.wasm_in)}, shared→heap ` +
        `${fmt(out.raw_copy.wasm_out)} MiB/s`
      : "; no wasm multi-memory here"));

  // Each repetition runs both file systems, alternating which goes first.
  const sides = (rep) => (rep % 2 ? ["mem", "xm"] : ["xm", "mem"]);
  const sideKey = (fs) => (fs === "xm" ? "xm" : "base");
  const group = (name, reps, fn, record) => {
    for (let rep = 0; rep < reps; rep++) {
      const parts = [];
      for (const fs of sides(rep)) {
        const r = toPlain(fn(fs));
        for (const [id, v] of Object.entries(record(r))) {
          add(id, sideKey(fs), v);
          parts.push(`${fs}.${id}=${fmt(v)}`);
        }
      }
      log(`${name} rep ${rep + 1}/${reps}: ${parts.join(" ")}`);
    }
  };

  // ---- single instance: EXTMEMFS vs MEMFS -------------------------------------------
  t = performance.now();
  if (want("single")) {
  group("seq 1 MiB", P.seqReps, (fs) => bench.group_seq(fs, P.seqTotal, MiB),
    (r) => ({ seq_write_1m: r.write, seq_read_1m: r.read }));
  group("seq 4 KiB", P.seq4kReps, (fs) => bench.group_seq(fs, P.seqTotal, 4096),
    (r) => ({ seq_write_4k: r.write, seq_read_4k: r.read }));
  group("random 4 KiB", P.randReps, (fs) => bench.group_random(fs, P.randSize, P.randOps, 1),
    (r) => ({ rand_read_4k: r.read, rand_write_4k: r.write }));
  group("small files", P.smallReps, (fs) => bench.group_small(fs, P.smallFiles, P.listdirReps),
    (r) => ({ create_small: r.create, stat_small: r.stat, listdir: r.listdir,
      unlink_small: r.unlink }));
  group("rename", P.renameReps, (fs) => bench.group_rename(fs, P.renameFiles),
    (r) => ({ rename_within: r.within, rename_across: r.across }));
  group("mmap", P.mmapReps, (fs) => bench.group_mmap(fs, P.mmapSize),
    (r) => ({ mmap_read: r.read, mmap_write: r.write }));
  log(`single-instance cases took ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  // ---- memory -------------------------------------------------------------------------
  if (want("memory")) {
  out.memory.meta = toPlain(bench.memory_meta(P.metaFiles));
  log(`metadata: ${out.memory.meta.meta_per_file.toFixed(1)} bytes/file beyond data and name ` +
    `(${out.memory.meta.left_after_unlink} bytes left after unlinking them all)`);
  out.memory.churn = toPlain(bench.memory_churn(P.churnOps, 7, P.churnMaxFile, P.churnLiveCap));
  const ch = out.memory.churn;
  log(`churn: pool ${ch.pool_size} bytes, used ${ch.used_bytes}, live ${ch.live_bytes} ` +
    `(peak ${ch.peak_live_bytes}); check: ${ch.check.length ? ch.check.join("; ") : "ok"}`);
  }
  out.info.main_pool_check = toPlain(bench.pool_check());

  // ---- two workers ----------------------------------------------------------------------
  if (!want("workers")) {
    out.finished = new Date().toISOString();
    return out;
  }
  t = performance.now();
  const memory = bench.new_pool("16MiB", P.workerPoolMax);
  const channel = new MessageChannel();
  const workers = await Promise.all([env.spawnWorker(), env.spawnWorker()]);
  try {
    await Promise.all(workers.map((w, i) => {
      const port = i === 0 ? channel.port1 : channel.port2;
      return w.send({ op: "init", indexURL: env.indexURL, source: env.source, memory, port },
        [port]);
    }));
    log(`two workers started in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const [A, B] = workers;
    const callPy = (w, fn, ...args) => w.send({ op: "py", fn, args });

    const extra = (out.cases.pingpong = { xm: [], base: [], js: [], polls: [] });
    for (let rep = 0; rep < P.pingpongReps; rep++) {
      await callPy(A, "create_file", "/xm/pingpong.bin", 16);
      const [, a] = await Promise.all([
        callPy(B, "pingpong_file", "/xm/pingpong.bin", 1, P.pingpongSeconds),
        callPy(A, "pingpong_file", "/xm/pingpong.bin", 0, P.pingpongSeconds),
      ]);
      const [, m] = await Promise.all([
        callPy(B, "pingpong_msg", "$port", 1, P.pingpongSeconds),
        callPy(A, "pingpong_msg", "$port", 0, P.pingpongSeconds),
      ]);
      const [, j] = await Promise.all([
        B.send({ op: "jsPingPong", args: [1, P.pingpongSeconds] }),
        A.send({ op: "jsPingPong", args: [0, P.pingpongSeconds] }),
      ]);
      extra.xm.push(a.rate);
      extra.polls.push(a.polls / Math.max(1, a.round_trips));
      extra.base.push(m.rate);
      extra.js.push(j.rate);
      log(`ping-pong rep ${rep + 1}/${P.pingpongReps}: file ${fmt(a.rate)}/s ` +
        `(${(a.polls / Math.max(1, a.round_trips)).toFixed(1)} polls/round trip), ` +
        `postMessage+Python ${fmt(m.rate)}/s, postMessage+JS ${fmt(j.rate)}/s`);
    }
    await callPy(A, "unlink", "/xm/pingpong.bin");

    // Two writers on separate files vs one. A first untimed round with both writers
    // grows the fresh pool and touches its pages, so no timed round pays for that.
    const bar = new Int32Array(new SharedArrayBuffer(4 * 64));
    let slot = 0;
    const writeRound = async (ws) => {
      const s = slot++;
      const secs = await Promise.all(ws.map((w, i) =>
        callPy(w, "write_file", `/xm/writer${i}.bin`, P.writerTotal, MiB, bar, s, ws.length)));
      for (let i = 0; i < ws.length; i++) await callPy(A, "unlink", `/xm/writer${i}.bin`);
      return (ws.length * P.writerTotal) / MiB / Math.max(...secs);
    };
    await writeRound([A, B]);
    const tw = (out.cases.two_writers = { xm: [], base: [] });
    for (let rep = 0; rep < P.writerReps; rep++) {
      const one = await writeRound([A]);
      const two = await writeRound([A, B]);
      tw.base.push(one);
      tw.xm.push(two);
      log(`writers rep ${rep + 1}/${P.writerReps}: one ${fmt(one)} MiB/s, two ${fmt(two)} MiB/s`);
    }
    const ws = toPlain(bench.worker_pool_stats());
    tw.peak_parallel_copies = ws.peak_parallel_copies;
    out.info.worker_pool = ws;
    out.info.worker_pool_check = toPlain(bench.worker_pool_check());
    log(`peak_parallel_copies ${ws.peak_parallel_copies}; worker cases took ` +
      `${((performance.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  out.finished = new Date().toISOString();
  return out;
}

/**
 * Wrap a started worker (anything with postMessage and a message callback) as
 * {send(msg, transfer) → Promise, terminate()}. `listen(handler)` registers the
 * handler for the worker's messages (event.data already unwrapped).
 */
export function wrapWorker(postMessage, listen, terminate) {
  let next = 1;
  const pending = new Map();
  let started;
  const ready = new Promise((resolve) => {
    started = resolve;
  });
  listen((m) => {
    if (m.id === 0) {
      started();
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`worker: ${m.error}`));
    else p.resolve(m.value);
  });
  const handle = {
    send(msg, transfer = []) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        postMessage({ ...msg, id }, transfer);
      });
    },
    terminate,
  };
  return ready.then(() => handle);
}
