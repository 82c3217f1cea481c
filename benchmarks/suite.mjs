// benchmarks/suite.mjs — runs every benchmark case and returns the raw samples.
//
// Shared by the node driver (bench.mjs) and the Chrome page (page.html). All file
// operations are timed in Python inside Pyodide (fsbench.py); this module only loads
// Pyodide, starts the two workers, alternates EXTMEMFS ("xm") and MEMFS ("mem") runs and
// collects samples. The raw TypedArray copy speed is measured here, in JS, in the same
// process, and so is the machine's two-thread copy limit (in the workers, worker.mjs).
// The ZenFS peer (benchmarks/zenfs/peer.mjs) is mounted at /zfs in the same Pyodide and in
// the workers when env.zenfs names its bundle. report.py turns the samples into medians,
// ratios and pass/fail.
//
// Result: {runtime, started, finished, params, raw_copy, cases: {id: {xm: [..], base:
// [..], ...}}, copy_limit: {two: [..], one: [..]}, main_wait: {reps: [..], workers: [..]},
// zenfs: {versions, params, cases: {id: {xm: [ZenFS ..], base: [MEMFS ..]}}, errors,
// not_run}, memory: {...}, info: {...}}; every sample is one full repetition.
import { poolHeapCopier } from "./wasmbytes.mjs";

const MiB = 1 << 20;

/** Sizes and repetition counts. FULL is the issue's; QUICK is for trying the suite. */
export const FULL = {
  poolInitial: "64MiB",
  poolMax: "2GiB",
  seqTotal: 256 * MiB,
  seqReps: 9,
  seq4kReps: 3,
  seqSlices: 16, // each repetition interleaves the two file systems in this many slices
  randSize: 64 * MiB,
  randOps: 100000,
  randReps: 5,
  randSlices: 20, // each repetition interleaves the two file systems in this many slices
  smallFiles: 10000,
  listdirReps: 20,
  smallReps: 9,
  smallSlices: 20, // (the small-file and rename groups too)
  renameFiles: 5000,
  renameReps: 9,
  mmapSize: 64 * MiB,
  mmapReps: 5,
  metaFiles: 10000,
  churnOps: 3000,
  churnMaxFile: 4 * MiB,
  churnLiveCap: 64 * MiB,
  workerPoolMax: "2GiB",
  pingpongSeconds: 1.0,
  pingpongReps: 5,
  writerTotal: 128 * MiB,
  writerReps: 9,
  // main-thread wait: small calls in the main instance while worker A writes (and
  // unlinks) a waitWriteSize file in 1 MiB writes and worker B reads a waitReadSize file
  // in waitReadChunk reads, for waitSeconds per repetition
  waitWriteSize: 256 * MiB,
  waitReadSize: 256 * MiB,
  waitReadChunk: 64 * MiB,
  waitSeconds: 4,
  waitReps: 3,
  // The ZenFS peer, at sizes it finishes in reasonable time (MEMFS is measured again at
  // the same sizes for its ratio). Its SingleBuffer never reuses space (every rewrite of
  // a file's data or a directory listing is appended), a read copies the whole file out
  // of the buffer and a write rewrites it, and every lookup scans all metadata entries
  // and decodes the directory's JSON listing: data cases are scaled down 16-256×, the
  // small-file cases 100× (a create took ~15-40 ms at 100-200 files on 2 busy CPUs).
  zenfs: {
    bufferBytes: 1024 * MiB,
    workerBufferBytes: 512 * MiB,
    reps: 3,
    seqTotal: 16 * MiB,
    seq4kTotal: 1 * MiB,
    randSize: 4 * MiB,
    randOps: 1000,
    smallFiles: 100,
    listdirReps: 3,
    renameFiles: 100,
    pingpongSeconds: 1.0,
    pingpongStall: 3,
    writerTotal: 16 * MiB,
  },
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
  waitWriteSize: 64 * MiB,
  waitReadSize: 64 * MiB,
  waitReadChunk: 16 * MiB,
  waitSeconds: 1,
  waitReps: 1,
  zenfs: {
    ...FULL.zenfs,
    bufferBytes: 256 * MiB,
    workerBufferBytes: 128 * MiB,
    reps: 1,
    seqTotal: 4 * MiB,
    seq4kTotal: 256 * 1024,
    randSize: 1 * MiB,
    randOps: 200,
    smallFiles: 30,
    listdirReps: 1,
    renameFiles: 30,
    pingpongSeconds: 0.3,
    writerTotal: 4 * MiB,
  },
};

/**
 * The line of an error that says what went wrong: for an exception from Python (its
 * traceback, then JS stack frames) the last line that is not a stack frame.
 */
function errorLine(e) {
  const lines = String((e && e.message) || e).split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at ") && !l.startsWith("File ") && !/^[\^~ ]+$/.test(l));
  return lines.length ? lines[lines.length - 1] : String(e);
}

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
    const mm = poolHeapCopier(mem, wasmHeap);
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
 *   log: (line: string) => void, only?: string[], zenfs?: string | null}} env
 *   spawnWorker starts worker.mjs and resolves once it is listening; send(msg, transfer)
 *   resolves with the worker's answer. `only`: sections to run (single, memory, workers,
 *   wait, zenfs; default all). `zenfs`: URL of the bundled ZenFS peer
 *   (benchmarks/build/zenfs-peer.mjs), or null to leave it out.
 */
export async function runSuite(env) {
  const P = env.params;
  const Z = P.zenfs;
  const log = env.log;
  const want = (section) => !env.only || env.only.includes(section);
  const out = { runtime: env.runtime, started: new Date().toISOString(), params: P, cases: {},
    memory: {}, info: {} };
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

  const peer = env.zenfs && want("zenfs") ? await import(env.zenfs) : null;
  if (peer) {
    out.zenfs = { versions: peer.VERSIONS, params: Z, cases: {}, errors: {}, not_run: {
      mmap_read: "the @zenfs/emscripten plugin has no mmap (Emscripten raises ENODEV)",
      mmap_write: "the @zenfs/emscripten plugin has no mmap (Emscripten raises ENODEV)",
    } };
    await peer.mountZenFS(py, new SharedArrayBuffer(Z.bufferBytes), "/zfs");
    bench.setup_zenfs();
    log(`ZenFS peer: @zenfs/core ${peer.VERSIONS.core}, @zenfs/emscripten ` +
      `${peer.VERSIONS.emscripten}, SingleBuffer of ${Z.bufferBytes / MiB} MiB at /zfs`);
  }

  // ---- raw copy ---------------------------------------------------------------------
  out.raw_copy = rawCopy(py, P.seqTotal, MiB);
  log(`raw copy 1 MiB chunks: heap→shared ${fmt(out.raw_copy.touched)} MiB/s ` +
    `(fresh pages ${fmt(out.raw_copy.fresh)}), shared→heap ${fmt(out.raw_copy.out)} MiB/s, ` +
    `unshared→heap ${fmt(out.raw_copy.plain_out)} MiB/s` + (out.raw_copy.wasm_out
      ? `; wasm memory.copy heap→shared ${fmt(out.raw_copy.wasm_in)}, shared→heap ` +
        `${fmt(out.raw_copy.wasm_out)} MiB/s`
      : "; no wasm multi-memory here"));

  /**
   * Run `fn(fs)` on file system `subject` and on MEMFS ("mem"), `reps` times, alternating
   * which goes first; record(result) names the figures, stored as cases[id] = {xm: [..]
   * (the subject's), base: [..] (MEMFS's)}. Between repetitions it lets the event loop
   * run (a browser page stays responsive to chrome.py's polling). `warmup`: one untimed
   * repetition of each first.
   */
  const group = async (cases, subject, name, reps, fn, record, warmup = false) => {
    if (warmup) {
      // One untimed repetition of each first: what its first run pays once (the heap
      // growing for mmap's copies, whose fresh pages only the first file system to run
      // would meet) is not a difference between the two.
      for (const fs of [subject, "mem"]) toPlain(fn(fs));
      log(`${name}: warm-up repetition done (not counted)`);
    }
    for (let rep = 0; rep < reps; rep++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const parts = [];
      for (const fs of rep % 2 ? ["mem", subject] : [subject, "mem"]) {
        const r = toPlain(fn(fs));
        for (const [id, v] of Object.entries(record(r))) {
          const c = (cases[id] ||= { xm: [], base: [] });
          c[fs === subject ? "xm" : "base"].push(v);
          parts.push(`${fs}.${id}=${fmt(v)}`);
        }
      }
      log(`${name} rep ${rep + 1}/${reps}: ${parts.join(" ")}`);
    }
  };
  /** The ZenFS groups: a failure is recorded (out.zenfs.errors) and the suite goes on. */
  const zenfsGroup = async (name, fn, record) => {
    const t0 = performance.now();
    try {
      await group(out.zenfs.cases, "zfs", `ZenFS ${name}`, Z.reps, fn, record);
    } catch (e) {
      out.zenfs.errors[name] = errorLine(e);
      log(`ZenFS ${name} FAILED: ${out.zenfs.errors[name]}`);
    }
    log(`ZenFS ${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  // ---- single instance: EXTMEMFS vs MEMFS -------------------------------------------
  t = performance.now();
  if (want("single")) {
    const c = out.cases;
    // The data cases run both file systems in each call, interleaved in slices (see
    // fsbench.group_seq_pair / group_random_pair): whole repetitions one after the other
    // met the VM at different speeds.
    const paired = async (name, reps, fn, ids) => {
      for (let rep = 0; rep < reps; rep++) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        const r = toPlain(fn(rep));
        const parts = [];
        for (const [id, op] of ids) {
          const cs = (c[id] ||= { xm: [], base: [] });
          cs.xm.push(r.xm[op]);
          cs.base.push(r.mem[op]);
          parts.push(`xm.${id}=${fmt(r.xm[op])} mem.${id}=${fmt(r.mem[op])}`);
        }
        log(`${name} rep ${rep + 1}/${reps}: ${parts.join(" ")}`);
      }
    };
    await paired("seq 1 MiB", P.seqReps,
      () => bench.group_seq_pair("xm", "mem", P.seqTotal, MiB, P.seqSlices),
      [["seq_write_1m", "write"], ["seq_read_1m", "read"]]);
    await paired("seq 4 KiB", P.seq4kReps,
      () => bench.group_seq_pair("xm", "mem", P.seqTotal, 4096, P.seqSlices),
      [["seq_write_4k", "write"], ["seq_read_4k", "read"]]);
    await paired("random 4 KiB", P.randReps,
      (rep) => bench.group_random_pair("xm", "mem", P.randSize, P.randOps, 1 + rep, P.randSlices),
      [["rand_read_4k", "read"], ["rand_write_4k", "write"]]);
    await paired("small files", P.smallReps,
      () => bench.group_small_pair("xm", "mem", P.smallFiles, P.listdirReps, P.smallSlices),
      [["create_small", "create"], ["stat_small", "stat"], ["listdir", "listdir"],
        ["unlink_small", "unlink"]]);
    await paired("rename", P.renameReps,
      () => bench.group_rename_pair("xm", "mem", P.renameFiles, P.smallSlices),
      [["rename_within", "within"], ["rename_across", "across"]]);
    await group(c, "xm", "mmap", P.mmapReps, (fs) => bench.group_mmap(fs, P.mmapSize),
      (r) => ({ mmap_read: r.read, mmap_write: r.write }), true);
    log(`single-instance cases took ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  // ---- single instance: the ZenFS peer vs MEMFS, at ZenFS's sizes ---------------------
  if (peer && want("single")) {
    t = performance.now();
    await zenfsGroup("seq 1 MiB", (fs) => bench.group_seq(fs, Z.seqTotal, MiB),
      (r) => ({ seq_write_1m: r.write, seq_read_1m: r.read }));
    await zenfsGroup("seq 4 KiB", (fs) => bench.group_seq(fs, Z.seq4kTotal, 4096),
      (r) => ({ seq_write_4k: r.write, seq_read_4k: r.read }));
    await zenfsGroup("random 4 KiB", (fs) => bench.group_random(fs, Z.randSize, Z.randOps, 1),
      (r) => ({ rand_read_4k: r.read, rand_write_4k: r.write }));
    await zenfsGroup("small files", (fs) => bench.group_small(fs, Z.smallFiles, Z.listdirReps),
      (r) => ({ create_small: r.create, stat_small: r.stat, listdir: r.listdir,
        unlink_small: r.unlink }));
    await zenfsGroup("rename", (fs) => bench.group_rename(fs, Z.renameFiles),
      (r) => ({ rename_within: r.within, rename_across: r.across }));
    log(`ZenFS single-instance cases took ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  // ---- memory -------------------------------------------------------------------------
  if (want("memory")) {
    out.memory.meta = toPlain(bench.memory_meta(P.metaFiles));
    log(`metadata: ${out.memory.meta.meta_per_file.toFixed(1)} bytes/file beyond data and ` +
      `name (${out.memory.meta.left_after_unlink} bytes left after unlinking them all)`);
    out.memory.churn = toPlain(bench.memory_churn(P.churnOps, 7, P.churnMaxFile,
      P.churnLiveCap));
    const ch = out.memory.churn;
    log(`churn: pool ${ch.pool_size} bytes, used ${ch.used_bytes}, live ${ch.live_bytes} ` +
      `(peak ${ch.peak_live_bytes}); check: ${ch.check.length ? ch.check.join("; ") : "ok"}`);
  }
  out.info.main_pool_check = toPlain(bench.pool_check());

  // ---- two workers ----------------------------------------------------------------------
  if (!want("workers") && !want("wait")) {
    out.finished = new Date().toISOString();
    return out;
  }
  t = performance.now();
  const memory = bench.new_pool("16MiB", P.workerPoolMax);
  const channel = new MessageChannel();
  let zenfsWorkers = null;
  if (peer) {
    zenfsWorkers = { url: env.zenfs, buffer: new SharedArrayBuffer(Z.workerBufferBytes) };
    peer.formatSingleBuffer(zenfsWorkers.buffer); // here, so the workers only attach
  }
  const workers = await Promise.all([env.spawnWorker(), env.spawnWorker()]);
  try {
    await Promise.all(workers.map((w, i) => {
      const port = i === 0 ? channel.port1 : channel.port2;
      return w.send({ op: "init", indexURL: env.indexURL, source: env.source, memory, port,
        zenfs: zenfsWorkers }, [port]);
    }));
    log(`two workers started in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const [A, B] = workers;
    const callPy = (w, fn, ...args) => w.send({ op: "py", fn, args });
    // Barrier slots (one per timed round) for the writer and copy rounds.
    const bar = new Int32Array(new SharedArrayBuffer(4 * 1024));
    let slot = 0;

    if (want("workers")) {
      // -- ping-pong ------------------------------------------------------------------
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
        if (a.stalled) throw new Error("EXTMEMFS ping-pong stalled: B never saw A's write");
        extra.xm.push(a.rate);
        extra.polls.push(a.polls / Math.max(1, a.round_trips));
        extra.base.push(m.rate);
        extra.js.push(j.rate);
        log(`ping-pong rep ${rep + 1}/${P.pingpongReps}: file ${fmt(a.rate)}/s ` +
          `(${(1e6 / a.rate).toFixed(1)} µs, ` +
          `${(a.polls / Math.max(1, a.round_trips)).toFixed(1)} polls/round trip), ` +
          `postMessage+Python ${fmt(m.rate)}/s (${(1e6 / m.rate).toFixed(1)} µs), ` +
          `postMessage+JS ${fmt(j.rate)}/s (${(1e6 / j.rate).toFixed(1)} µs)`);
      }
      await callPy(A, "unlink", "/xm/pingpong.bin");

      // -- the same ping-pong on the ZenFS peer (both workers mount one SingleBuffer) --
      if (peer) {
        const zp = (out.zenfs.cases.pingpong = { xm: [], base: [...extra.base] });
        try {
          await callPy(A, "create_file", "/zfs/pingpong.bin", 16);
          for (let rep = 0; rep < Z.reps; rep++) {
            const [b, a] = await Promise.all([
              callPy(B, "pingpong_file", "/zfs/pingpong.bin", 1, Z.pingpongSeconds,
                Z.pingpongStall),
              callPy(A, "pingpong_file", "/zfs/pingpong.bin", 0, Z.pingpongSeconds,
                Z.pingpongStall),
            ]);
            if (a.stalled || b.stalled) {
              out.zenfs.errors.pingpong = `stalled: no answer for ${Z.pingpongStall} s after ` +
                `${a.round_trips} round trips (worker A wrote offset 0 with os.pwrite; ` +
                `worker B, polling it with os.pread, ${b.round_trips ? "stopped seeing" :
                  "never saw"} the new value)`;
              log(`ZenFS ping-pong: ${out.zenfs.errors.pingpong}`);
              break;
            }
            zp.xm.push(a.rate);
            log(`ZenFS ping-pong rep ${rep + 1}/${Z.reps}: ${fmt(a.rate)}/s ` +
              `(${(1e6 / a.rate).toFixed(1)} µs)`);
          }
          await callPy(A, "unlink", "/zfs/pingpong.bin");
        } catch (e) {
          out.zenfs.errors.pingpong = errorLine(e);
          log(`ZenFS ping-pong FAILED: ${out.zenfs.errors.pingpong}`);
        }
      }

      // -- two writers vs one, and the machine's two-thread copy limit -----------------
      // A first untimed round with both writers grows the fresh pool, then every free
      // extent is written once (and the first copy round touches the private buffers),
      // so no timed round pays for first touches. Every round checks that the files came out whole.
      let movedMiB = 0; // what the last writeRound's extent moves copied
      const writeRound = async (ws, dir, total) => {
        const s = slot++;
        const paths = ws.map((_, i) => `${dir}/writer${i}.bin`);
        for (const w of ws) await callPy(w, "moves_since");
        const secs = await Promise.all(ws.map((w, i) =>
          callPy(w, "write_file", paths[i], total, MiB, bar, s, ws.length)));
        movedMiB = 0;
        for (const w of ws) movedMiB += (await callPy(w, "moves_since")) / MiB;
        const sizes = await callPy(A, "file_sizes", paths);
        if (sizes.some((n) => n !== total)) {
          throw new Error(`${dir}: writers' files came out ${sizes} bytes, not ${total}`);
        }
        for (const p of paths) await callPy(A, "unlink", p);
        return (ws.length * total) / MiB / Math.max(...secs);
      };
      const copyRound = async (ws, shared = false) => {
        const s = slot++;
        const secs = await Promise.all(ws.map((w) =>
          w.send({ op: "copyLimit", args: [P.writerTotal, MiB, bar, s, ws.length, shared] })));
        return (ws.length * P.writerTotal) / MiB / Math.max(...secs);
      };
      // Two kept pool files (made first, so that the untimed rounds below lay the pool
      // out around them): the same loop over them measures writing without creating or
      // growing a file (keptRound below).
      const keptPaths = ["/xm/kept-writer0.bin", "/xm/kept-writer1.bin"];
      for (const [i, w] of [A, B].entries()) await callPy(w, "create_file", keptPaths[i], P.writerTotal);
      // Untimed rounds until one leaves the pool's size as it was (at most 3): how the
      // two files' appends interleave decides where they land, and a later round with
      // another interleaving grew a pool once more (Chrome, 588 → 975 MiB in a timed
      // repetition), paying fresh pages the copy limit's touched buffers do not.
      for (let k = 0, before = -1; k < 3; k++) {
        const size = toPlain(bench.worker_pool_stats()).size;
        if (size === before) break;
        before = size;
        await writeRound([A, B], "/xm", P.writerTotal);
        log(`writers: untimed round ${k + 1}, pool ${fmt(toPlain(bench.worker_pool_stats()).size / MiB)} MiB`);
      }
      // Those rounds grew the pool by more than they wrote (a big file that must move takes
      // room to double mid-way in new space): touch the rest too, or timed rounds whose
      // files land there pay first-touch faults (the "fresh pages" figure above) that
      // the copy limit's touched buffers do not.
      const touched = await callPy(A, "touch_free", "/xm");
      log(`writers: pool ${fmt(toPlain(bench.worker_pool_stats()).size / MiB)} MiB after the untimed ` +
        `round; ${fmt(touched / MiB)} MiB of free extents touched`);
      await copyRound([A, B]);
      await copyRound([A, B], true);
      // The writers' loop over kept files (paths[i] for worker i), both at once: nothing
      // to create or grow. Over a file in each worker's own MEMFS (private memory, no
      // file system of ours) it is Python's ceiling; over the kept pool files, the pool's.
      const keptRound = async (paths) => {
        const s = slot++;
        const secs = await Promise.all([A, B].map((w, i) =>
          callPy(w, "write_file", paths[i], P.writerTotal, MiB, bar, s, 2, true)));
        return (2 * P.writerTotal) / MiB / Math.max(...secs);
      };
      const ceilingPaths = ["/tmp/writer-ceiling.bin", "/tmp/writer-ceiling.bin"];
      for (const w of [A, B]) await callPy(w, "create_file", ceilingPaths[0], P.writerTotal);
      await keptRound(ceilingPaths);
      await keptRound(keptPaths);
      const tw = (out.cases.two_writers = { xm: [], base: [], moved_mib: [], kept: [] });
      const cl = (out.copy_limit = { two: [], one: [], two_shared: [], python_memfs: [], total: P.writerTotal, chunk: MiB });
      for (let rep = 0; rep < P.writerReps; rep++) {
        const one = await writeRound([A], "/xm", P.writerTotal);
        const two = await writeRound([A, B], "/xm", P.writerTotal);
        tw.moved_mib.push(movedMiB);
        const copy2 = await copyRound([A, B]);
        const copy1 = await copyRound([A]);
        const copy2s = await copyRound([A, B], true);
        const memfs2 = await keptRound(ceilingPaths);
        cl.python_memfs.push(memfs2);
        const kept2 = await keptRound(keptPaths);
        tw.kept.push(kept2);
        tw.base.push(one);
        tw.xm.push(two);
        cl.two.push(copy2);
        cl.one.push(copy1);
        cl.two_shared.push(copy2s);
        const poolSize = toPlain(bench.worker_pool_stats()).size;
        log(`writers rep ${rep + 1}/${P.writerReps}: one ${fmt(one)} MiB/s, two ${fmt(two)} ` +
          `MiB/s; copy limit into private memory: two threads ${fmt(copy2)} MiB/s, one ` +
          `${fmt(copy1)} MiB/s; into shared memory, two threads ${fmt(copy2s)} MiB/s; Python ` +
          `over kept MEMFS files, two workers ${fmt(memfs2)} MiB/s, over kept pool files ` +
          `${fmt(kept2)} MiB/s; the two ` +
          `writers' extent moves copied ${fmt(movedMiB)} MiB; pool ` +
          `${fmt(poolSize / MiB)} MiB`);
      }
      out.cases.two_writers_vs_copy = { xm: [...tw.xm], base: [...cl.two] };
      out.cases.two_writers_vs_shared_copy = { xm: [...tw.xm], base: [...cl.two_shared] };
      out.cases.two_writers_vs_python_memfs = { xm: [...tw.xm], base: [...cl.python_memfs] };
      out.cases.python_memfs_vs_copy = { xm: [...cl.python_memfs], base: [...cl.two] };
      out.cases.kept_writers_vs_python_memfs = { xm: [...tw.kept], base: [...cl.python_memfs] };
      for (const w of [A, B]) await callPy(w, "unlink", ceilingPaths[0]);
      for (const p of keptPaths) await callPy(A, "unlink", p);
      const ws = toPlain(bench.worker_pool_stats());
      tw.peak_parallel_copies = ws.peak_parallel_copies;
      out.info.worker_pool = ws;
      log(`peak_parallel_copies ${ws.peak_parallel_copies}`);

      if (peer) {
        // One writer at a time first, so a failure says whether sharing is what broke.
        let stage = "one worker writing";
        try {
          await writeRound([A], "/zfs", Z.writerTotal);
          await writeRound([B], "/zfs", Z.writerTotal);
          stage = "two workers writing at once";
          await writeRound([A, B], "/zfs", Z.writerTotal);
          const zw = (out.zenfs.cases.two_writers = { xm: [], base: [] });
          for (let rep = 0; rep < Z.reps; rep++) {
            stage = "one worker writing";
            const one = await writeRound([A], "/zfs", Z.writerTotal);
            stage = "two workers writing at once";
            const two = await writeRound([A, B], "/zfs", Z.writerTotal);
            zw.base.push(one);
            zw.xm.push(two);
            log(`ZenFS writers rep ${rep + 1}/${Z.reps}: one ${fmt(one)} MiB/s, two ` +
              `${fmt(two)} MiB/s`);
          }
          out.zenfs.cases.two_writers_vs_copy = { xm: [...zw.xm], base: [...cl.two] };
          out.zenfs.cases.two_writers_vs_shared_copy = { xm: [...zw.xm], base: [...cl.two_shared] };
        } catch (e) {
          delete out.zenfs.cases.two_writers;
          out.zenfs.errors.two_writers = `${stage}: ${errorLine(e)}`;
          log(`ZenFS writers FAILED: ${out.zenfs.errors.two_writers}`);
        }
      }
    }

    // -- main-thread wait: small calls while the workers move large files -------------
    if (want("wait")) {
      bench.mount_worker_pool("/xw");
      await callPy(A, "make_file", "/xm/wait_read.bin", P.waitReadSize);
      bench.create_file("/xw/wait_small.bin", 1 << 20);
      const mw = (out.main_wait = { reps: [], workers: [] });
      for (let rep = 0; rep < P.waitReps; rep++) {
        const flags = new Int32Array(new SharedArrayBuffer(16));
        const busy = Promise.all([
          callPy(A, "big_io", "write", "/xm/wait_write.bin", P.waitWriteSize, MiB, flags, 1),
          callPy(B, "big_io", "read", "/xm/wait_read.bin", P.waitReadSize, P.waitReadChunk,
            flags, 1),
        ]);
        // Blocks this thread (in a browser: the page's main thread) for waitSeconds.
        const r = toPlain(bench.small_calls("/xw/wait_write.bin", "/xw/wait_read.bin",
          "/xw/wait_small.bin", P.waitSeconds, flags, 1, 2, rep + 3));
        const [wa, wb] = await busy;
        mw.reps.push(r);
        mw.workers.push({ write: wa, read: wb });
        log(`main-thread wait rep ${rep + 1}/${P.waitReps}: ${r.all.calls} small calls, ` +
          `median ${r.all.median_ms.toFixed(3)} ms, p99 ${r.all.p99_ms.toFixed(2)} ms, max ` +
          `${r.all.max_ms.toFixed(1)} ms` + (r.lock_waits ? ` (${r.lock_waits.count} lock waits, ` +
          `longest ${r.lock_waits.max_ms.toFixed(1)} ms on ${r.lock_waits.on}; ` +
          `${r.lock_waits.beside} reads beside a write)` : "") + "; workers meanwhile wrote " +
          `${fmt(wa.bytes / MiB / wa.seconds)} MiB/s and read ${fmt(wb.bytes / MiB / wb.seconds)}` +
          " MiB/s");
        if (Object.keys(r.errors).length) {
          mw.attached = bench.worker_pool_attached();
          log(`main-thread wait rep ${rep + 1}: calls FAILED: ${JSON.stringify(r.errors)}; ` +
            `the main instance is ${mw.attached ? "still attached" : "evicted from the pool"}`);
          if (!mw.attached) break;
        }
      }
      for (const p of ["/xm/wait_read.bin", "/xm/wait_small.bin"]) await callPy(A, "unlink", p);
    }
    try {
      out.info.worker_pool_check = toPlain(bench.worker_pool_check());
    } catch (e) {
      out.info.worker_pool_check = [`could not check the workers' pool: ${errorLine(e)}`];
    }
    log(`worker cases took ${((performance.now() - t) / 1000).toFixed(1)} s`);
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
