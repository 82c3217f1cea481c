// jsglue/workers.js — start Pyodide workers that attach to a pool and run Python calls
// (the JavaScript half of pyodide_extmemfs.Workers), and plain JS workers (spawnScript).
// No pool locks of its own: the Pyodide in the worker takes them through its mount.
//
// A worker is a node worker_thread or a browser module Web Worker. It loads Pyodide
// from the same index URL as its parent, writes the pyodide_extmemfs package files it is
// given into its site-packages, attaches to the pool's Memory and mounts it, then runs
// "task" messages (pickled calls, see _serialize.py) one at a time.
//
// Each worker shares a control block with its parent (jsglue/workerio.js): its Python's
// stdout/stderr bytes go into a ring there (the parent is woken by one small "out" message
// per batch, and drains the ring before it delivers a call's result, so output arrives
// in order and before the result); the parent interrupts a call through the interrupt
// word Pyodide polls, or — for a coroutine waiting in the event loop — by a "cancel"
// message. Each worker also enters itself in its pool's lineage table (jsglue/lineage.js).
//
// A worker can start from a memory snapshot (init's `snapshot`: an ArrayBuffer made by
// PyWorker.makeSnapshot in another worker, which loads Pyodide, mounts the pool and
// imports the packages once) instead of loading Pyodide and importing them itself.
//
// Messages, parent → worker:  {type: "init", indexURL, files, memory, mount, readonly,
//                               index, control, lineage, parentId, lockName, snapshot?}
//                              {type: "snapshot", indexURL, files, bundle, memory, mount,
//                               imports, lineage, parentId}  (make a snapshot instead)
//                              {type: "task", id, payload: Uint8Array}
//                              {type: "cancel", id}
//                               (and packages: names the worker loads itself)
//            worker → parent:  {type: "ready", instanceId, ms, loadMs, restored, snapshotError}
//                              | {type: "fatal", phase, error}
//                              {type: "attached", instanceId} then {type: "snapshot", bytes,
//                               failures, ms}  (for a "snapshot" message)
//                              {type: "out"}  (drain the ring)
//                              {type: "result", id, payload} | {type: "result", id, error}
import { openControl, newControl } from "./workerio.js";
import { sharedWebLocks } from "./weblocks.js";
import {
  lineageAdd, lineageFor, adoptLineage, lineageDescendants, lineageRemove,
} from "./lineage.js";

/**
 * Runs inside the worker. `env` hides node/browser differences; `io` carries the
 * self-contained helpers (their source text was sent along).
 */
async function workerMain(env, io) {
  let mod = null;
  let ctl = null;
  const wake = () => env.post({ type: "out" });
  // A Python error's message is its traceback; a JS error's stack adds only frames.
  const errorText = (e) => String((e && e.message) || e);
  const printTo = { stdout: (line) => console.log(line), stderr: (line) => console.error(line) };

  // Pyodide from the memory snapshot in msg.snapshot if there is one and it restores
  // (else from scratch, and the reason is returned): [pyodide, why not restored].
  const load = async (msg) => {
    const loadPyodide = await env.importLoader(msg.indexURL);
    let why = "";
    if (msg.snapshot) {
      try {
        const bytes = new Uint8Array(msg.snapshot);
        const create = (await import(`${msg.indexURL}pyodide.asm.mjs`)).default;
        const py = await loadPyodide({
          indexURL: msg.indexURL, ...printTo, _loadSnapshot: bytes,
          // Pyodide copies the snapshot over its heap but does not grow the heap to the
          // snapshot's size first: grow it by moving the break (sbrk keeps the views of
          // the heap current); the snapshot then replaces the allocator's state anyway.
          createPyodideModule: async (settings) => {
            const M = await create(settings);
            // (the heap's image starts at the offset in the snapshot's second word)
            const heap = bytes.length - new Uint32Array(bytes.buffer, bytes.byteOffset, 2)[1];
            if (M.HEAP8.length < heap) M._sbrk(heap - M._sbrk(0));
            return M;
          },
        });
        return [py, ""];
      } catch (e) {
        why = errorText(e);
      }
    }
    return [await loadPyodide({ indexURL: msg.indexURL, ...printTo }), why];
  };

  // This package's files into the instance's site-packages.
  const writeFiles = (py, files) => {
    const site = py.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
    for (const [rel, text] of Object.entries(files)) {
      const path = `${site}/${rel}`;
      py.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
      py.FS.writeFile(path, text);
    }
  };

  // A memory snapshot for workers to start from: a fresh Pyodide with this package, the
  // pool mounted (read-only, from JS: Python must hold no JS object when the snapshot is
  // taken) and msg.imports imported from it. The pool stays attached until the parent
  // terminates this worker (and evicts it, as any worker).
  const makeSnapshot = async (msg) => {
    let phase = `loading Pyodide from ${msg.indexURL}`;
    const t0 = Date.now();
    try {
      const loadPyodide = await env.importLoader(msg.indexURL);
      const py = await loadPyodide({ indexURL: msg.indexURL, ...printTo, _makeSnapshot: true });
      phase = "installing pyodide_extmemfs into the worker";
      writeFiles(py, msg.files);
      phase = `attaching to the pool and mounting it at ${msg.mount}`;
      const bundle = msg.files[msg.bundle];
      if (!globalThis.pyodideExtmemfs) (0, eval)(bundle);
      const X = globalThis.pyodideExtmemfs;
      const pool = await X.attachPool(msg.memory);
      env.post({ type: "attached", instanceId: pool.instanceId });
      if (msg.lineage) io.lineageAdd(msg.lineage, pool.instanceId, msg.parentId);
      await X.mountPool(py, pool, msg.mount, { readonly: true });
      phase = `importing ${msg.imports.join(", ") || "the worker's modules"}`;
      const arg = (v) => `__import__("json").loads(${JSON.stringify(JSON.stringify(v))})`;
      // (expressions: no names left behind in the workers' __main__)
      const failures = JSON.parse(py.runPython(
        `__import__("pyodide_extmemfs._install", fromlist=["_"]).prepare_snapshot(` +
        `${arg(msg.mount)}, ${arg(msg.imports)})`));
      py.runPython(`__import__("gc").collect()`);
      await X.unmountPool(py, msg.mount);
      phase = "making the memory snapshot";
      const bytes = py.makeMemorySnapshot();
      env.post({ type: "snapshot", bytes, failures, ms: Date.now() - t0 }, [bytes.buffer]);
    } catch (e) {
      // a Python error: its last line says what (the traceback is the maker's code)
      const text = errorText(e).trim();
      env.post({ type: "fatal", phase, error: text.slice(text.lastIndexOf("\n") + 1) });
    }
  };

  env.onMessage(async (msg) => {
    if (msg.type === "snapshot") {
      await makeSnapshot(msg);
    } else if (msg.type === "init") {
      let phase = `loading Pyodide from ${msg.indexURL}`;
      const t0 = Date.now();
      try {
        ctl = io.openControl(msg.control);
        const [py, snapshotError] = await load(msg);
        // From here on, what Python writes goes to the parent's sys.stdout/sys.stderr.
        py.setStdout({ write: (b) => (ctl.write(1, b, wake), b.length), isatty: false });
        py.setStderr({ write: (b) => (ctl.write(2, b, wake), b.length), isatty: false });
        py.setInterruptBuffer(ctl.interruptView);
        if (msg.packages && msg.packages.length) {
          phase = `loading the packages ${msg.packages.join(", ")}`;
          const errors = [];
          await py.loadPackage(msg.packages, {
            messageCallback: () => {},
            errorCallback: (m) => errors.push(m),
          });
          if (errors.length) throw new Error(errors.join("; "));
        }
        const tLoaded = Date.now();
        phase = "installing pyodide_extmemfs into the worker";
        writeFiles(py, msg.files);
        phase = `attaching to the pool and mounting it at ${msg.mount}`;
        mod = py.pyimport("pyodide_extmemfs._worker");
        const restored = !!msg.snapshot && !snapshotError;
        if (restored) mod.after_restore();
        const instanceId = mod.setup(msg.memory, msg.mount, msg.readonly, msg.index, msg.lineage);
        if (msg.lineage) io.lineageAdd(msg.lineage, instanceId, msg.parentId);
        if (msg.lockName) await env.holdLock(msg.lockName);
        env.post({
          type: "ready", instanceId, ms: Date.now() - t0, loadMs: tLoaded - t0, restored,
          snapshotError,
        });
      } catch (e) {
        env.post({ type: "fatal", phase, error: errorText(e) });
      }
    } else if (msg.type === "task") {
      let out = null;
      let error = null;
      ctl.begin(msg.id);
      try {
        out = mod.start(msg.id, msg.payload);
        if (out && typeof out.then === "function") {
          // A coroutine: it runs in this worker's event loop, cancelled by message.
          ctl.beginAsync(msg.id);
          const task = out;
          try {
            out = await task;
          } finally {
            task.destroy();
          }
        }
      } catch (e) {
        // KeyboardInterrupt that landed outside the function (e.g. while its result was
        // pickled) and anything else that escaped Python
        error = (e && e.type) === "KeyboardInterrupt" ? "KeyboardInterrupt" : errorText(e);
      }
      ctl.settle(msg.id);
      if (error) env.post({ type: "result", id: msg.id, error });
      else env.post({ type: "result", id: msg.id, payload: out }, [out.buffer]);
    } else if (msg.type === "cancel") {
      if (ctl && ctl.asyncCall() === msg.id) mod.cancel(msg.id);
    }
  });
}

const NODE_PRELUDE = `
  const { parentPort } = require("node:worker_threads");
  const env = {
    post: (m, t) => parentPort.postMessage(m, t),
    onMessage: (h) => parentPort.on("message", h),
    importLoader: async (u) => require(u + "pyodide.js").loadPyodide,
    holdLock: async () => {},
  };`;
const BROWSER_PRELUDE = `
  const env = {
    post: (m, t) => self.postMessage(m, t),
    onMessage: (h) => { self.onmessage = (e) => h(e.data); },
    importLoader: async (u) => (await import(u + "pyodide.mjs")).loadPyodide,
    // Held until this worker dies: the parent's request for it is granted then.
    holdLock: (name) => new Promise((granted) => {
      navigator.locks.request(name, () => { granted(); return new Promise(() => {}); });
    }),
  };`;

/** Source of the worker: prelude, helpers, then workerMain. */
function workerSource(prelude) {
  const io = `{ openControl: ${openControl.toString()}, lineageAdd: ${lineageAdd.toString()} }`;
  return `${prelude}\n(${workerMain.toString()})(env, ${io});`;
}

/** True in browsers (page or worker), where `Worker` is a global constructor. */
export function inBrowser() {
  return typeof globalThis.Worker === "function" && typeof globalThis.Blob === "function";
}

/** True where the Web Locks API exists (browsers; node 24). */
function hasWebLocks() {
  return sharedWebLocks() !== null;
}

/** An Error whose name Python turns into KeyboardInterrupt (see _jsglue.py). */
function keyboardInterrupt(message) {
  const e = new Error(message);
  e.name = "KeyboardInterrupt";
  return e;
}

/**
 * Turns the calling instance's own interrupt request into rejections of the calls it is
 * waiting for. A notebook's interrupt button (JupyterLite) writes 2 into the kernel's
 * interrupt buffer; Pyodide raises KeyboardInterrupt only where Python code runs next, and
 * a cell awaiting a worker runs none. While calls are pending this polls that buffer
 * (Module.Py_EmscriptenSignalBuffer) every POLL_MS, clears it and rejects them with
 * KeyboardInterrupt, so it is raised where the cell awaits.
 */
class InterruptWatch {
  static POLL_MS = 20;
  /** @type {WeakMap<object, InterruptWatch>} */
  static byModule = new WeakMap();

  /** The watch of the Pyodide whose Emscripten Module is `module`. */
  static of(module) {
    let w = InterruptWatch.byModule.get(module);
    if (!w) {
      w = new InterruptWatch(module);
      InterruptWatch.byModule.set(module, w);
    }
    return w;
  }

  constructor(module) {
    this.module = module;
    /** @type {Set<{reject: (e: Error) => void}>} */
    this.calls = new Set();
    this.timer = null;
  }

  add(call) {
    this.calls.add(call);
    if (!this.timer) this.timer = setInterval(() => this.poll(), InterruptWatch.POLL_MS);
  }

  remove(call) {
    this.calls.delete(call);
    if (!this.calls.size && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  poll() {
    const buf = this.module && this.module.Py_EmscriptenSignalBuffer;
    if (buf && buf[0] === 2) {
      buf[0] = 0;
      this.fire();
    }
  }

  /** Reject every pending call with KeyboardInterrupt. */
  fire() {
    const calls = [...this.calls];
    for (const c of calls) c.reject(keyboardInterrupt("interrupted in the calling instance"));
  }
}

/**
 * One running Pyodide worker.
 *
 * `call(payload)` sends a pickled call and returns `{id, promise, done}`: `promise`
 * settles with the pickled result (a Uint8Array), or rejects early with a
 * KeyboardInterrupt error when the calling instance is interrupted; `done` settles only
 * when the worker has finished the call (whatever the outcome), so the worker is free
 * again. `interrupt(id)` stops a call in the worker. Output is handed to `onOutput`.
 */
export class PyWorker {
  constructor() {
    /** @type {{resolve: (v?: any) => void, reject: (e: Error) => void} | null} */
    this._ready = null;
    /**
     * Calls sent and not finished, by id.
     * @internal
     * @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void,
     *   finish: () => void, watch: InterruptWatch | null, entry: any}>}
     */
    this.pending = new Map();
    this.nextId = 1;
    /** @type {Error | null} */
    this.dead = null;
    this.instanceId = -1;
    /** "out" messages received: batches of output (far fewer than lines printed). */
    this.wakeups = 0;
    /** Milliseconds the worker took to load Pyodide, attach and mount. */
    this.startMs = 0;
    this.loadMs = 0;
    this.restored = false;
    this.snapshotError = "";
    /** The control block shared with the worker (jsglue/workerio.js). @internal */
    this.sab = newControl();
    /** This side's operations on the control block. @internal */
    this.control = openControl(this.sab);
    /** @type {((stream: number, bytes: Uint8Array) => void) | null} */
    this._onOutput = null;
    /**
     * Called once when the worker has died or stopped, with the reason.
     * @type {((reason: string) => void) | null}
     */
    this.onExit = null;
    /** @type {any} the Emscripten Module of the calling Pyodide (for InterruptWatch) */
    this.hostModule = null;
  }

  /**
   * Start a worker and wait until it has attached and mounted the pool.
   * @param {{indexURL: string, files: object, memory: WebAssembly.Memory, mount: string,
   *   readonly: boolean, index: number, parentId?: number, hostModule?: any,
   *   snapshot?: ArrayBuffer | Uint8Array}} opts snapshot: a memory snapshot from
   *   makeSnapshot to start from (the worker loads Pyodide itself if it does not restore)
   * @returns {Promise<PyWorker>} rejects with an Error saying which step failed and why
   */
  static async start(opts) {
    const w = new PyWorker();
    w.hostModule = opts.hostModule || null;
    const lockName = hasWebLocks() ?
      `extmemfs-worker:${Date.now().toString(36)}:${Math.random().toString(36).slice(2)}` : null;
    await w._spawn();
    const ready = new Promise((resolve, reject) => {
      w._ready = { resolve, reject };
    });
    const { hostModule, ...rest } = opts; // eslint-disable-line no-unused-vars
    w._post({
      ...rest,
      type: "init",
      control: w.sab,
      lineage: lineageFor(opts.memory),
      parentId: typeof opts.parentId === "number" ? opts.parentId : -1,
      lockName,
    });
    await ready;
    if (lockName) {
      // Granted when the worker dies (browsers give no other sign of a worker that
      // closed itself or crashed).
      /** @type {LockManager} */ (sharedWebLocks()).request(lockName, () => {
        w._fail(new Error("the worker stopped"));
      }).catch(() => {});
    }
    return w;
  }

  /**
   * Make a memory snapshot for workers to start from (see workerMain's makeSnapshot):
   * a worker loads Pyodide, mounts the pool read-only at `mount`, imports `imports`
   * and sends its memory. The worker is left running, attached to the pool: the caller
   * terminates it and evicts its instance (`instanceId`, -1 if it never attached) —
   * also when this rejects.
   * @param {{indexURL: string, files: object, bundle: string, memory: WebAssembly.Memory,
   *   mount: string, imports: string[], parentId?: number}} opts
   * @returns {{worker: PyWorker, done: Promise<{bytes: Uint8Array,
   *   failures: Object<string, string>, ms: number}>}}
   */
  static makeSnapshot(opts) {
    const w = new PyWorker();
    const done = (async () => {
      await w._spawn();
      const made = new Promise((resolve, reject) => {
        w._ready = { resolve, reject };
      });
      w._post({
        ...opts,
        type: "snapshot",
        lineage: lineageFor(opts.memory),
        parentId: typeof opts.parentId === "number" ? opts.parentId : -1,
      });
      return made;
    })();
    done.catch(() => {});
    return { worker: w, done };
  }

  async _spawn() {
    if (inBrowser()) {
      const src = workerSource(BROWSER_PRELUDE);
      const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
      this.worker = new globalThis.Worker(url, { type: "module" });
      URL.revokeObjectURL(url);
      this.worker.onmessage = (e) => this._onMessage(e.data);
      this.worker.onerror = (e) => this._fail(new Error(`worker error: ${e.message || e}`));
      this._post = (m, t) => this.worker.postMessage(m, t || []);
    } else {
      const { Worker } = await import("node:worker_threads");
      this.worker = new Worker(workerSource(NODE_PRELUDE), { eval: true });
      this.worker.on("message", (m) => this._onMessage(m));
      this.worker.on("error", (e) => this._fail(e));
      this.worker.on("exit", (code) => this._fail(new Error(`the worker exited (code ${code})`)));
      this._post = (m, t) => this.worker.postMessage(m, t || []);
    }
  }

  /** Where the worker's stdout (1) and stderr (2) bytes go; drains what waits. */
  setOutput(fn) {
    this._onOutput = fn;
    this._drain();
  }

  _drain() {
    if (!this._onOutput) return;
    for (const [stream, bytes] of this.control.drain()) {
      try {
        this._onOutput(stream, bytes);
      } catch (e) {
        // The caller's Python was interrupted while it wrote the output: that is the
        // caller's interrupt, meant for the calls it waits for.
        if (e && e.type === "KeyboardInterrupt" && this.hostModule) {
          InterruptWatch.of(this.hostModule).fire();
        } else {
          console.error("pyodide_extmemfs: writing a worker's output failed:", e);
        }
      }
    }
  }

  _onMessage(msg) {
    if (msg.type === "out") {
      this.wakeups++;
      this._drain();
    } else if (msg.type === "ready") {
      this.instanceId = msg.instanceId; // its instance in the pool, for evict()
      this.startMs = msg.ms;
      this.loadMs = msg.loadMs; // of which loading Pyodide (and worker_packages)
      this.restored = !!msg.restored; // started from the memory snapshot it was given
      this.snapshotError = msg.snapshotError || ""; // why not, if it was given one
      this._ready.resolve();
    } else if (msg.type === "attached") {
      this.instanceId = msg.instanceId;
    } else if (msg.type === "snapshot") {
      this.startMs = msg.ms;
      this._ready.resolve({ bytes: msg.bytes, failures: msg.failures, ms: msg.ms });
    } else if (msg.type === "fatal") {
      this._fail(new Error(`${msg.phase} failed: ${msg.error}`));
    } else if (msg.type === "result") {
      this._drain(); // everything printed during the call, before its result
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.finish();
      if (msg.error === "KeyboardInterrupt") p.reject(keyboardInterrupt("interrupted in the worker"));
      else if (msg.error) p.reject(new Error(`worker error: ${msg.error}`));
      else p.resolve(msg.payload);
    }
  }

  _fail(err) {
    if (this.dead) return;
    this.dead = err;
    try {
      this._drain();
    } catch {
      // the control block is still readable; a failing sink must not hide the death
    }
    if (this._ready) this._ready.reject(err);
    for (const p of this.pending.values()) {
      p.finish();
      p.reject(err);
    }
    this.pending.clear();
    if (this.onExit) {
      try {
        this.onExit(String(err.message || err));
      } catch (e) {
        console.error("pyodide_extmemfs: a worker's exit handler failed:", e);
      }
    }
  }

  /** False once the worker died, failed to start or was terminated. */
  get alive() {
    return !this.dead;
  }

  /** Why the worker is dead ("" while it is alive). */
  get deathReason() {
    return this.dead ? String(this.dead.message || this.dead) : "";
  }

  /**
   * Send a pickled call.
   * @param {Uint8Array} payload
   * @returns {{id: number, promise: Promise<Uint8Array>, done: Promise<void>,
   *   finished: boolean}} `finished` turns true when the worker is done with it
   */
  call(payload) {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xfffffff) + 1;
    /** @type {(v?: any) => void} */
    let settle = () => {};
    const done = new Promise((resolve) => {
      settle = resolve;
    });
    const call = { id, promise: null, done, finished: false };
    const finish = () => {
      call.finished = true;
      settle();
    };
    if (this.dead) {
      finish();
      call.promise = Promise.reject(this.dead);
      call.promise.catch(() => {});
      return call;
    }
    const watch = this.hostModule ? InterruptWatch.of(this.hostModule) : null;
    /** @type {any} */
    const entry = {};
    const promise = new Promise((resolve, reject) => {
      entry.resolve = (v) => {
        if (watch) watch.remove(entry);
        resolve(v);
      };
      entry.reject = (e) => {
        if (watch) watch.remove(entry);
        reject(e);
      };
    });
    this.pending.set(id, { resolve: entry.resolve, reject: entry.reject, finish, watch, entry });
    if (watch) watch.add(entry);
    const copy = new Uint8Array(payload); // a private buffer we may transfer
    this._post({ type: "task", id, payload: copy }, [copy.buffer]);
    call.promise = promise;
    return call;
  }

  /**
   * Interrupt call `id`: KeyboardInterrupt in the worker's Python if it runs the function
   * now; a cancel of its task if it is a coroutine waiting in the worker's event loop.
   * @returns {string} "sync" (interrupt delivered), "async" (cancel sent), "none" (the
   *   call is not running: finished, or not begun yet — a cancel is sent in case)
   */
  interrupt(id) {
    if (!this.pending.has(id) || this.dead) return "none";
    const how = this.control.interrupt(id);
    if (how !== "sync") this._post({ type: "cancel", id });
    return how;
  }

  /** Stop the worker (at once; a running call is abandoned). */
  async terminate() {
    this._fail(new Error("the worker was terminated"));
    await this.worker.terminate();
  }

  /** Times the worker's output ring was full (the worker then waited for the parent). */
  get outputStalls() {
    return this.control.blocked();
  }

  // ---- lineage: the instances workers started (jsglue/lineage.js) -------------------

  /** The lineage table for a pool Memory (made on first use). */
  static lineageFor(memory) {
    return lineageFor(memory);
  }
  /** In a worker: use the parent's table for this pool. */
  static adoptLineage(memory, table) {
    adoptLineage(memory, table);
  }
  /** Instances started, directly or not, by instance `id` of the pool in `memory`. */
  static descendants(memory, id) {
    return lineageDescendants(lineageFor(memory), id);
  }
  /** Forget instance `id` of the pool in `memory`. */
  static forget(memory, id) {
    lineageRemove(lineageFor(memory), id);
  }
}

/**
 * Start a plain JS worker running `source` (no Pyodide): a node worker_thread or a
 * browser Web Worker. In it, `start(data, post)` must be defined by `source`; it
 * is called with `data` and a function posting messages back. For hosts and tests
 * that drive the pool from JS threads.
 * @returns {Promise<{first: any, terminate: () => Promise<void>, errors: any[]}>}
 *   `first`: the first message the worker posted
 */
export async function spawnScript(source, data) {
  const errors = [];
  if (inBrowser()) {
    // The worker holds a Web Lock of its own from its start: a browser stops a terminated
    // worker some time later (a busy one can run on for hundreds of milliseconds), and
    // the release of that lock is the proof that it has stopped. terminate() waits for it.
    const lock = `extmemfs-script:${Date.now().toString(36)}:${Math.random().toString(36).slice(2)}`;
    const body = `${source}\nself.onmessage = (e) => { self.onmessage = null; ` +
      `const go = () => start(e.data.data, (m) => self.postMessage(m)); ` +
      `if (self.navigator && navigator.locks) navigator.locks.request(e.data.lock, () => { ` +
      `setTimeout(go, 0); return new Promise(() => {}); }); else go(); };`;
    const url = URL.createObjectURL(new Blob([body], { type: "text/javascript" }));
    const w = new globalThis.Worker(url);
    URL.revokeObjectURL(url);
    const first = new Promise((resolve, reject) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(`worker error: ${e.message || e}`));
    });
    w.postMessage({ data, lock });
    const msg = await first;
    w.onerror = (e) => errors.push(String(e.message || e));
    return { first: msg, errors, terminate: async () => {
      w.terminate();
      await lockReleased(lock, 10000);
    } };
  }
  const { Worker } = await import("node:worker_threads");
  const body = `${source}\nconst { workerData, parentPort } = require("node:worker_threads");` +
    `start(workerData, (m) => parentPort.postMessage(m));`;
  const w = new Worker(body, { eval: true, workerData: data });
  const msg = await new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
  w.on("error", (e) => errors.push(String((e && e.stack) || e)));
  return { first: msg, errors, terminate: async () => { await w.terminate(); } };
}

/**
 * Resolve once no context holds or waits for Web Lock `name` (at once without Web Locks).
 * @param {string} name
 * @param {number} timeoutMs
 * @throws {Error} if it is still held after `timeoutMs`
 */
export async function lockReleased(name, timeoutMs) {
  const wl = sharedWebLocks();
  if (!wl) return;
  const mine = (l) => l.name === name;
  for (const limit = Date.now() + timeoutMs; ;) {
    const q = await wl.query();
    if (!(q.held || []).some(mine) && !(q.pending || []).some(mine)) return;
    if (Date.now() > limit) throw new Error(`a terminated worker still runs after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
