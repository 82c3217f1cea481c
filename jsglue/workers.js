// jsglue/workers.js — start Pyodide workers that attach to a pool and run Python calls.
//
// A worker is a node worker_thread or a browser module Web Worker. It loads Pyodide
// from the same index URL as its parent, writes the pyodide_extmemfs package files
// it is given into its site-packages, attaches to the pool's Memory and mounts it,
// then answers "task" messages (pickled calls, see _serialize.py) one at a time.
//
// Messages, parent → worker:  {type: "init", indexURL, files, memory, mount,
//                               readonly, index, packages}
//                              {type: "task", id, payload: Uint8Array}
//            worker → parent:  {type: "ready", instanceId} | {type: "fatal", error}
//                              {type: "result", id, payload} | {type: "result", id, error}

/** Runs inside the worker. `env` hides node/browser differences. */
async function workerMain(env) {
  let mod = null;
  env.onMessage(async (msg) => {
    if (msg.type === "init") {
      try {
        const loadPyodide = await env.importLoader(msg.indexURL);
        // print() in a worker goes to the console (in node worker_threads Pyodide's
        // default stdout writes to a file descriptor the thread does not have).
        const py = await loadPyodide({
          indexURL: msg.indexURL,
          packages: msg.packages,
          stdout: (line) => console.log(line),
          stderr: (line) => console.error(line),
        });
        const site = py.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
        for (const [rel, text] of Object.entries(msg.files)) {
          const path = `${site}/${rel}`;
          py.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
          py.FS.writeFile(path, text);
        }
        mod = py.pyimport("pyodide_extmemfs._worker");
        const instanceId = mod.setup(msg.memory, msg.mount, msg.readonly, msg.index);
        env.post({ type: "ready", instanceId });
      } catch (e) {
        env.post({ type: "fatal", error: String((e && e.stack) || e) });
      }
    } else if (msg.type === "task") {
      try {
        const out = await mod.handle(msg.payload);
        env.post({ type: "result", id: msg.id, payload: out }, [out.buffer]);
      } catch (e) {
        env.post({ type: "result", id: msg.id, error: String((e && e.stack) || e) });
      }
    }
  });
}

const NODE_PRELUDE = `
  const { parentPort } = require("node:worker_threads");
  const env = {
    post: (m, t) => parentPort.postMessage(m, t),
    onMessage: (h) => parentPort.on("message", h),
    importLoader: async (u) => require(u + "pyodide.js").loadPyodide,
  };`;
const BROWSER_PRELUDE = `
  const env = {
    post: (m, t) => self.postMessage(m, t),
    onMessage: (h) => { self.onmessage = (e) => h(e.data); },
    importLoader: async (u) => (await import(u + "pyodide.mjs")).loadPyodide,
  };`;

/** True in browsers (page or worker), where `Worker` is a global constructor. */
export function inBrowser() {
  return typeof globalThis.Worker === "function" && typeof globalThis.Blob === "function";
}

/** One running worker: call(payload) → Promise<Uint8Array>, terminate(). */
export class PyWorker {
  constructor() {
    /** @type {{resolve: (v?: any) => void, reject: (e: Error) => void} | null} */
    this._ready = null;
    this.pending = new Map();
    this.nextId = 1;
    this.dead = null;
    this.instanceId = -1;
  }

  /**
   * Start a worker and wait until it has attached and mounted the pool.
   * @param {{indexURL: string, files: object, memory: WebAssembly.Memory, mount: string,
   *   readonly: boolean, index: number, packages: string[]}} opts
   * @returns {Promise<PyWorker>} rejects with the worker's own error if it fails to start
   */
  static async start(opts) {
    const w = new PyWorker();
    await w._spawn();
    const ready = new Promise((resolve, reject) => {
      w._ready = { resolve, reject };
    });
    w._post({ type: "init", ...opts });
    await ready;
    return w;
  }

  async _spawn() {
    const body = `(${workerMain.toString()})(env);`;
    if (inBrowser()) {
      const url = URL.createObjectURL(new Blob([BROWSER_PRELUDE + body], { type: "text/javascript" }));
      this.worker = new globalThis.Worker(url, { type: "module" });
      URL.revokeObjectURL(url);
      this.worker.onmessage = (e) => this._onMessage(e.data);
      this.worker.onerror = (e) => this._fail(new Error(`worker error: ${e.message || e}`));
      this._post = (m, t) => this.worker.postMessage(m, t || []);
    } else {
      const { Worker } = await import("node:worker_threads");
      this.worker = new Worker(NODE_PRELUDE + body, { eval: true });
      this.worker.on("message", (m) => this._onMessage(m));
      this.worker.on("error", (e) => this._fail(e));
      this.worker.on("exit", (code) => this._fail(new Error(`worker exited (code ${code})`)));
      this._post = (m, t) => this.worker.postMessage(m, t || []);
    }
  }

  _onMessage(msg) {
    if (msg.type === "ready") {
      this.instanceId = msg.instanceId; // its instance in the pool, for evict()
      this._ready.resolve();
    } else if (msg.type === "fatal") {
      this._fail(new Error(`worker failed to start: ${msg.error}`));
    } else if (msg.type === "result") {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`worker error: ${msg.error}`));
      else p.resolve(msg.payload);
    }
  }

  _fail(err) {
    if (this.dead) return;
    this.dead = err;
    if (this._ready) this._ready.reject(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** False once the worker died, failed to start or was terminated. */
  get alive() {
    return !this.dead;
  }

  /** Send a pickled call; resolves with the pickled result (a Uint8Array). */
  call(payload) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const copy = new Uint8Array(payload); // a private buffer we may transfer
      this._post({ type: "task", id, payload: copy }, [copy.buffer]);
    });
  }

  /** Stop the worker (at once; a running call is abandoned). */
  async terminate() {
    this._fail(new Error("worker terminated"));
    await this.worker.terminate();
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
  const nav = /** @type {any} */ (globalThis).navigator;
  if (!nav || !nav.locks || typeof nav.locks.query !== "function") return;
  const mine = (l) => l.name === name;
  for (const limit = Date.now() + timeoutMs; ;) {
    const q = await nav.locks.query();
    if (!(q.held || []).some(mine) && !(q.pending || []).some(mine)) return;
    if (Date.now() > limit) throw new Error(`a terminated worker still runs after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
