// jsglue/persist/stores.js — where a persisted pool's files live: a directory of named
// files with positional reads and writes and a flush that makes them durable. Three
// kinds: a host directory in node (synchronous fs calls), the origin private file system
// in browsers (synchronous access handles in workers, the asynchronous API on a page's
// main thread), and memory (tests). No pool code, no locks.
import { PoolError } from "../errors.js";

/**
 * @typedef {object} StoreFile one file of a store; methods return a value or a promise
 * @property {() => number | Promise<number>} size bytes
 * @property {(off: number, into: Uint8Array) => number | Promise<number>} readInto fill
 *   `into` from byte `off`; returns the bytes read (fewer at the end of the file)
 * @property {(off: number, bytes: Uint8Array) => void | Promise<void>} write
 * @property {(size: number) => void | Promise<void>} truncate set the length (zeros
 *   when it grows)
 * @property {() => void | Promise<void>} flush durable when it returns
 * @property {() => void | Promise<void>} close
 */

/**
 * @typedef {object} Store
 * @property {string} where for messages ("OPFS extmemfs/analysis", "/data/pool")
 * @property {boolean} syncWrites true when write() completes synchronously, so that it may
 *   run inside a pool's pause
 * @property {() => Promise<string[]>} list names of the files in the store
 * @property {(name: string, create: boolean) => Promise<StoreFile | null>} file open a
 *   file (null if it does not exist and `create` is false)
 * @property {() => Promise<void>} close
 */

/** Turn a storage failure into an errno-named error that says what was being done. */
export function storageError(e, what) {
  const name = e && (e.code || e.name);
  const code = name === "ENOSPC" || name === "QuotaExceededError" || name === "EDQUOT" ? "ENOSPC"
    : name === "EACCES" || name === "EPERM" || name === "NotAllowedError" ? "EACCES"
      : name === "ENOENT" || name === "NotFoundError" ? "ENOENT"
        : name === "NoModificationAllowedError" || name === "InvalidStateError" ? "EBUSY" : "EIO";
  return new PoolError(code, `${what}: ${(e && e.message) || e}`, "OSError");
}

// ---- memory (tests) ------------------------------------------------------------------

/**
 * A store in memory: files are growable byte arrays. For tests: it also keeps what was
 * flushed (`durable`), so a test can see what a crash would leave, and a hook that can
 * fail any operation.
 */
export class MemoryStore {
  constructor(where = "memory") {
    this.where = where;
    this.syncWrites = true;
    /** @type {Map<string, {bytes: Uint8Array, length: number, durable?: Uint8Array}>} */
    this.files = new Map();
    /** Test hook: called before every write, truncate and flush (throw to fail it). */
    this.beforeWrite = null;
  }

  /**
   * A copy of the store as a crash would leave it: `lost` true drops everything written
   * since each file's last flush; false keeps it all.
   * @param {boolean} lost
   * @param {string} [where]
   */
  clone(lost, where = `${this.where}-clone`) {
    const c = new MemoryStore(where);
    for (const [k, f] of this.files) {
      const b = lost ? f.durable || new Uint8Array(0) : f.bytes.slice(0, f.length);
      c.files.set(k, { bytes: b.slice(), length: b.length, durable: b.slice() });
    }
    return c;
  }

  /** @returns {Promise<string[]>} names of the files in the store */
  async list() {
    return [...this.files.keys()];
  }

  /**
   * Open file `name` of the store.
   * @param {string} name
   * @param {boolean} create make it (empty) if it does not exist
   * @returns {Promise<StoreFile | null>} null if it does not exist and `create` is false
   */
  async file(name, create) {
    let f = this.files.get(name);
    if (!f) {
      if (!create) return null;
      f = { bytes: new Uint8Array(0), length: 0 };
      this.files.set(name, f);
    }
    const store = this;
    const ensure = (n) => {
      if (n > f.bytes.length) {
        const grown = new Uint8Array(Math.max(n, f.bytes.length * 2));
        grown.set(f.bytes.subarray(0, f.length));
        f.bytes = grown;
      }
    };
    return {
      size: () => f.length,
      readInto: (off, into) => {
        const n = Math.max(0, Math.min(into.length, f.length - off));
        into.set(f.bytes.subarray(off, off + n));
        return n;
      },
      write: (off, bytes) => {
        if (store.beforeWrite) store.beforeWrite(name, off, bytes.length);
        ensure(off + bytes.length);
        if (off > f.length) f.bytes.fill(0, f.length, off);
        f.bytes.set(bytes, off);
        f.length = Math.max(f.length, off + bytes.length);
      },
      truncate: (n) => {
        if (store.beforeWrite) store.beforeWrite(name, n, 0);
        ensure(n);
        if (n > f.length) f.bytes.fill(0, f.length, n);
        f.length = n;
      },
      flush: () => {
        if (store.beforeWrite) store.beforeWrite(name, -1, 0);
        f.durable = f.bytes.slice(0, f.length);
      },
      close: () => {},
    };
  }

  /** Close the store (nothing to release in memory). */
  async close() {}
}

// ---- node: a host directory ----------------------------------------------------------

/** A host directory, with synchronous fs calls (node). */
export class NodeStore {
  /**
   * @param {string} dir the directory (made if missing)
   * @returns {Promise<NodeStore>}
   */
  static async open(dir) {
    const fs = await import("node:fs");
    const path = await import("node:path");
    const abs = path.resolve(dir);
    try {
      fs.mkdirSync(abs, { recursive: true });
    } catch (e) {
      throw storageError(e, `cannot make the pool directory ${abs}`);
    }
    if (!fs.statSync(abs).isDirectory()) {
      throw storageError({ code: "ENOTDIR", message: "not a directory" }, `pool directory ${abs}`);
    }
    return new NodeStore(fs, path, abs);
  }

  constructor(fs, path, dir) {
    this.fs = fs;
    this.path = path;
    this.where = dir;
    this.dir = dir;
    this.syncWrites = true;
    /** @type {Set<number>} */
    this._fds = new Set();
  }

  async list() {
    return this.fs.readdirSync(this.dir);
  }

  async file(name, create) {
    const fs = this.fs;
    const p = this.path.join(this.dir, name);
    let fd;
    try {
      fd = fs.openSync(p, create ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDWR, 0o644);
    } catch (e) {
      if (e.code === "ENOENT" && !create) return null;
      throw storageError(e, `cannot open ${p}`);
    }
    if (create) this._syncDir();
    this._fds.add(fd);
    const fail = (e, what) => storageError(e, `${what} ${p}`);
    return {
      size: () => fs.fstatSync(fd).size,
      readInto: (off, into) => {
        let done = 0;
        while (done < into.length) {
          const n = fs.readSync(fd, into, done, into.length - done, off + done);
          if (n === 0) break;
          done += n;
        }
        return done;
      },
      write: (off, bytes) => {
        try {
          let done = 0;
          while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, off + done);
        } catch (e) {
          throw fail(e, "cannot write");
        }
      },
      truncate: (n) => {
        try {
          fs.ftruncateSync(fd, n);
        } catch (e) {
          throw fail(e, "cannot resize");
        }
      },
      flush: () => {
        try {
          fs.fsyncSync(fd);
        } catch (e) {
          throw fail(e, "cannot flush");
        }
      },
      close: () => {
        if (this._fds.delete(fd)) fs.closeSync(fd);
      },
    };
  }

  /** Make a new directory entry durable (fsync of the directory, where allowed). */
  _syncDir() {
    try {
      const d = this.fs.openSync(this.dir, "r");
      try {
        this.fs.fsyncSync(d);
      } finally {
        this.fs.closeSync(d);
      }
    } catch (e) {
      // Some file systems refuse fsync on a directory; the data files are still flushed.
    }
  }

  async close() {
    for (const fd of this._fds) this.fs.closeSync(fd);
    this._fds.clear();
  }
}

// ---- browsers: the origin private file system ------------------------------------------

/** True where FileSystemFileHandle.createSyncAccessHandle exists (dedicated workers). */
export function haveSyncAccessHandles() {
  const F = /** @type {any} */ (globalThis).FileSystemFileHandle;
  return !!(F && F.prototype && "createSyncAccessHandle" in F.prototype);
}

/**
 * A directory `extmemfs/<name>` in the origin private file system, opened the fastest way
 * the thread allows (all three keep the same plain files):
 *   - in a dedicated worker, synchronous access handles: fast, and a write may run
 *     inside a pool's pause;
 *   - on a page's main thread, a small helper worker holding synchronous access handles,
 *     which the page's writes are posted to (OpfsWorkerStore);
 *   - where no helper worker can start (a Content-Security-Policy without blob: workers),
 *     or with {async: true}, the asynchronous API: writes are gathered and applied at
 *     flush() through one writable stream per file, which the browser commits by copying
 *     the whole file (benchmarks/persist.html measures all three).
 * @param {string} name
 * @param {{async?: boolean}} [opts] async: use the asynchronous API
 * @returns {Promise<import("./stores.js").Store>}
 */
export async function openOpfs(name, opts = {}) {
  if (!opts.async && !haveSyncAccessHandles() && typeof (/** @type {any} */ (globalThis).Worker) === "function") {
    try {
      return await OpfsWorkerStore.open(name);
    } catch (e) {
      if (e instanceof PoolError) throw e; // a real storage error, not a missing worker
    }
  }
  return OpfsStore.open(name, opts);
}

export class OpfsStore {
  /**
   * @param {string} name
   * @param {{async?: boolean}} [opts] async: use the asynchronous API even in a worker
   * @returns {Promise<OpfsStore>}
   */
  static async open(name, opts = {}) {
    const nav = /** @type {any} */ (globalThis).navigator;
    if (!nav || !nav.storage || typeof nav.storage.getDirectory !== "function") {
      throw storageError({ name: "NotSupportedError", message: "this browser has no origin private file system" },
        "cannot persist a pool");
    }
    let dir;
    try {
      const root = await nav.storage.getDirectory();
      const top = await root.getDirectoryHandle("extmemfs", { create: true });
      dir = await top.getDirectoryHandle(name, { create: true });
    } catch (e) {
      throw storageError(e, `cannot open OPFS directory extmemfs/${name}`);
    }
    return new OpfsStore(name, dir, !opts.async && haveSyncAccessHandles());
  }

  constructor(name, dir, sync) {
    this.where = `OPFS extmemfs/${name}`;
    this.dir = dir;
    this.syncWrites = sync;
    /** @type {Array<() => any>} */
    this._closers = [];
  }

  async list() {
    const out = [];
    for await (const k of this.dir.keys()) out.push(k);
    return out;
  }

  async file(name, create) {
    let fh;
    try {
      fh = await this.dir.getFileHandle(name, { create });
    } catch (e) {
      if (!create && e && e.name === "NotFoundError") return null;
      throw storageError(e, `cannot open ${this.where}/${name}`);
    }
    const what = `${this.where}/${name}`;
    if (this.syncWrites) {
      let h;
      try {
        h = await fh.createSyncAccessHandle();
      } catch (e) {
        throw storageError(e, `cannot open ${what} (is the pool open in another tab or worker?)`);
      }
      this._closers.push(() => h.close());
      return {
        size: () => h.getSize(),
        readInto: (off, into) => h.read(into, { at: off }),
        write: (off, bytes) => {
          try {
            let done = 0;
            while (done < bytes.length) done += h.write(bytes.subarray(done), { at: off + done });
          } catch (e) {
            throw storageError(e, `cannot write ${what}`);
          }
        },
        truncate: (n) => {
          try {
            h.truncate(n);
          } catch (e) {
            throw storageError(e, `cannot resize ${what}`);
          }
        },
        flush: () => {
          try {
            h.flush();
          } catch (e) {
            throw storageError(e, `cannot flush ${what}`);
          }
        },
        close: () => h.close(),
      };
    }
    // The asynchronous API: reads from a File snapshot; writes gathered until flush().
    /** @type {Array<{type: string, position?: number, data?: Uint8Array, size?: number}>} */
    let pending = [];
    let size = (await fh.getFile()).size;
    return {
      size: () => size,
      readInto: async (off, into) => {
        const file = await fh.getFile();
        const buf = new Uint8Array(await file.slice(off, off + into.length).arrayBuffer());
        into.set(buf);
        return buf.length;
      },
      write: (off, bytes) => {
        pending.push({ type: "write", position: off, data: bytes });
        size = Math.max(size, off + bytes.length);
      },
      truncate: (n) => {
        pending.push({ type: "truncate", size: n });
        size = n;
      },
      flush: async () => {
        if (!pending.length) return;
        const ops = pending;
        pending = [];
        let w;
        try {
          w = await fh.createWritable({ keepExistingData: true });
          for (const op of ops) await w.write(op);
          await w.close();
        } catch (e) {
          if (w) await w.abort().catch(() => {});
          size = (await fh.getFile()).size;
          throw storageError(e, `cannot write ${what}`);
        }
      },
      close: () => {},
    };
  }

  async close() {
    for (const c of this._closers.splice(0)) {
      try {
        c();
      } catch (e) {
        // already closed
      }
    }
  }
}

// ---- the page's helper worker ------------------------------------------------------------

/** Runs in the helper worker (its source is this function's text): OPFS with sync handles. */
function opfsWorkerMain() {
  const me = /** @type {any} */ (self);
  let dir = null;
  const handles = new Map();
  me.onmessage = async (e) => {
    const { id, op, name, args } = e.data;
    let result = null;
    const transfer = [];
    try {
      if (op === "init") {
        const root = await navigator.storage.getDirectory();
        const top = await root.getDirectoryHandle("extmemfs", { create: true });
        dir = await top.getDirectoryHandle(args.name, { create: true });
      } else if (op === "list") {
        result = [];
        for await (const k of dir.keys()) result.push(k);
      } else if (op === "open") {
        try {
          const fh = await dir.getFileHandle(name, { create: args.create });
          if (!handles.has(name)) handles.set(name, await fh.createSyncAccessHandle());
          result = true;
        } catch (err) {
          if (args.create || err.name !== "NotFoundError") throw err;
          result = false;
        }
      } else if (op === "closeAll") {
        for (const h of handles.values()) h.close();
        handles.clear();
      } else {
        const h = handles.get(name);
        if (op === "size") result = h.getSize();
        else if (op === "read") {
          const buf = new Uint8Array(args.len);
          result = buf.subarray(0, h.read(buf, { at: args.off }));
          transfer.push(buf.buffer);
        } else if (op === "write") {
          for (let done = 0; done < args.bytes.length;) done += h.write(args.bytes.subarray(done), { at: args.off + done });
        } else if (op === "truncate") h.truncate(args.size);
        else if (op === "flush") h.flush();
        else if (op === "close") {
          h.close();
          handles.delete(name);
        }
      }
      me.postMessage({ id, result }, transfer);
    } catch (err) {
      me.postMessage({ id, error: { name: err.name, message: err.message } });
    }
  };
}

/**
 * OPFS from a page's main thread through a helper worker that holds synchronous access
 * handles (pages have none). Calls are posted to it and answered in order.
 */
export class OpfsWorkerStore {
  /**
   * @param {string} name
   * @returns {Promise<OpfsWorkerStore>}
   * @throws {Error} when no helper worker can run here (the caller falls back)
   */
  static async open(name) {
    const src = `(${opfsWorkerMain.toString()})();`;
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    let worker;
    try {
      worker = new Worker(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const store = new OpfsWorkerStore(name, worker);
    try {
      await store._call("init", null, { name }, [], 5000);
    } catch (e) {
      worker.terminate();
      throw e;
    }
    return store;
  }

  constructor(name, worker) {
    this.where = `OPFS extmemfs/${name}`;
    this.syncWrites = false;
    this._worker = worker;
    this._next = 1;
    /** @type {Map<number, {resolve: Function, reject: Function}>} */
    this._calls = new Map();
    worker.onmessage = (e) => {
      const c = this._calls.get(e.data.id);
      if (!c) return;
      this._calls.delete(e.data.id);
      if (e.data.error) c.reject(e.data.error);
      else c.resolve(e.data.result);
    };
    worker.onerror = (e) => {
      const err = { name: "InvalidStateError", message: `the OPFS helper worker failed: ${e.message || "error"}` };
      for (const c of this._calls.values()) c.reject(err);
      this._calls.clear();
    };
  }

  _call(op, name, args, transfer = [], timeoutMs = 0) {
    const id = this._next++;
    return new Promise((resolve, reject) => {
      this._calls.set(id, { resolve, reject });
      if (timeoutMs) {
        setTimeout(() => {
          if (this._calls.delete(id)) reject(new Error("the OPFS helper worker did not start"));
        }, timeoutMs);
      }
      this._worker.postMessage({ id, op, name, args }, transfer);
    });
  }

  async list() {
    return this._call("list", null, {});
  }

  async file(name, create) {
    const what = `${this.where}/${name}`;
    const call = async (op, args, verb) => {
      try {
        return await this._call(op, name, args);
      } catch (e) {
        throw storageError(e, `cannot ${verb} ${what}`);
      }
    };
    let ok;
    try {
      ok = await this._call("open", name, { create });
    } catch (e) {
      throw storageError(e, `cannot open ${what} (is the pool open in another tab or worker?)`);
    }
    if (!ok) return null;
    return {
      size: () => call("size", {}, "read"),
      readInto: async (off, into) => {
        const got = await call("read", { off, len: into.length }, "read");
        into.set(got);
        return got.length;
      },
      write: (off, bytes) => call("write", { off, bytes }, "write"),
      truncate: (size) => call("truncate", { size }, "resize"),
      flush: () => call("flush", {}, "flush"),
      close: () => call("close", {}, "close"),
    };
  }

  async close() {
    try {
      await this._call("closeAll", null, {});
    } finally {
      this._worker.terminate();
    }
  }
}
