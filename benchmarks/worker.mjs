// benchmarks/worker.mjs — one benchmark worker: its own Pyodide, attached to a pool.
//
// Runs as a node worker_thread (bench.mjs) or a browser module Web Worker (page.html).
// Messages from suite.mjs, each answered by {id, value} or {id, error}:
//   {op: "init", indexURL, source, memory, port, zenfs}  load Pyodide + pyodide-extmemfs,
//        load fsbench.py from `source`, attach to `memory` and mount it at /xm; keep `port`
//        (one end of a MessageChannel whose other end is in the other worker); with
//        zenfs = {url, buffer}, also mount the ZenFS peer (module at `url`, SingleBuffer on
//        the SharedArrayBuffer `buffer`) at /zfs
//   {op: "py", fn, args}     call fsbench.<fn>(...args); the string "$port" stands for
//        the port; an awaitable result is awaited; dicts come back as plain objects
//   {op: "jsPingPong", args: [role, seconds]}  the same ping-pong as
//        fsbench.pingpong_msg, in plain JS (the reference for postMessage latency)
//   {op: "copyLimit", args: [total, chunk, barrier, slot, parties, shared]}  the machine's copy
//        limit: after a barrier, copy `total` bytes in `chunk`-byte TypedArray.set calls
//        from Pyodide's heap into this worker's private (unshared) buffer; seconds
const isNode = typeof process === "object" && !!(process.versions && process.versions.node);

let post;
let onMessage;
if (isNode) {
  const { parentPort } = await import("node:worker_threads");
  post = (m) => parentPort.postMessage(m);
  onMessage = (h) => parentPort.on("message", h);
} else {
  post = (m) => self.postMessage(m);
  onMessage = (h) => {
    self.onmessage = (e) => h(e.data);
  };
}

let py = null;
let bench = null;
let port = null;

function toPlain(r) {
  if (r && typeof r.toJs === "function") {
    const v = r.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
    r.destroy();
    return v;
  }
  return r;
}

/** @type {{private: Uint8Array | null, shared: Uint8Array | null}} */
const copyBuffers = { private: null, shared: null };

/**
 * Copy `total` bytes from a `chunk`-byte block of Pyodide's heap (where Python's bytes
 * live) into a buffer of `total` bytes, as the writers copy into the pool, once every
 * party reached barrier `slot`: a private ArrayBuffer, or (`shared`) a shared
 * WebAssembly.Memory as the pool is, each thread its own. The buffer is kept between
 * calls (its pages touched once, untimed, like the pool's after the writers' first
 * round). Seconds.
 */
function copyLimit(total, chunk, barrier, slot, parties, shared = false) {
  const M = py._module;
  const kind = shared ? "shared" : "private";
  let privateBuffer = copyBuffers[kind];
  if (!privateBuffer || privateBuffer.length !== total) {
    privateBuffer = copyBuffers[kind] = shared
      ? new Uint8Array(new WebAssembly.Memory({ initial: total / 65536, maximum: total / 65536, shared: true }).buffer)
      : new Uint8Array(total);
    privateBuffer.fill(1);
  }
  const ptr = M._malloc(chunk);
  try {
    M.HEAPU8.fill(0xa5, ptr, ptr + chunk);
    Atomics.add(barrier, slot, 1);
    while (Atomics.load(barrier, slot) < parties);
    const t = performance.now();
    for (let o = 0; o + chunk <= total; o += chunk) {
      privateBuffer.set(M.HEAPU8.subarray(ptr, ptr + chunk), o);
    }
    const seconds = (performance.now() - t) / 1000;
    if (privateBuffer[total - 1] !== 0xa5) throw new Error("copyLimit: copy did not land");
    return seconds;
  } finally {
    M._free(ptr);
  }
}

function jsPingPong(role, seconds) {
  return new Promise((resolve) => {
    let n = 0;
    let t0 = null;
    let deadline = 0;
    const done = (r) => {
      port.removeEventListener("message", on);
      resolve(r);
    };
    const on = (e) => {
      const v = e.data;
      if (role !== 0) {
        if (v < 0) done({ round_trips: n });
        else {
          n++;
          port.postMessage(v);
        }
        return;
      }
      if (t0 === null) {
        t0 = performance.now();
        deadline = t0 + seconds * 1000;
        port.postMessage(v + 1);
        return;
      }
      n++;
      const now = performance.now();
      if (now < deadline) {
        port.postMessage(v + 1);
      } else {
        const dt = (now - t0) / 1000;
        port.postMessage(-1);
        done({ round_trips: n, seconds: dt, rate: n / dt });
      }
    };
    port.addEventListener("message", on);
    if (typeof port.start === "function") port.start();
    if (role === 0) port.postMessage(0);
  });
}

onMessage(async (msg) => {
  try {
    let value = null;
    if (msg.op === "init") {
      const { loadPyodide } = await import(msg.indexURL + "pyodide.mjs");
      py = await loadPyodide({ indexURL: msg.indexURL });
      await py.loadPackage("pyodide-extmemfs", { messageCallback: () => {} });
      py.FS.mkdirTree("/bench");
      py.FS.writeFile("/bench/fsbench.py", msg.source);
      py.runPython("import sys\nif '/bench' not in sys.path: sys.path.insert(0, '/bench')");
      bench = py.pyimport("fsbench");
      bench.setup_worker(msg.memory);
      port = msg.port;
      if (msg.zenfs) {
        const peer = await import(msg.zenfs.url);
        await peer.mountZenFS(py, msg.zenfs.buffer, "/zfs");
      }
    } else if (msg.op === "py") {
      const args = msg.args.map((a) => (a === "$port" ? port : a));
      let r = bench[msg.fn](...args);
      if (r && typeof r.then === "function") r = await r;
      value = toPlain(r);
    } else if (msg.op === "jsPingPong") {
      value = await jsPingPong(...msg.args);
    } else if (msg.op === "copyLimit") {
      value = copyLimit(...msg.args);
    } else {
      throw new Error(`unknown op ${msg.op}`);
    }
    post({ id: msg.id, value });
  } catch (e) {
    post({ id: msg.id, error: String((e && e.stack) || e) });
  }
});
post({ id: 0, value: "started" });
