// jsglue/persist/pool.js — the Pool that JavaScript hosts and Python use: the pool of
// jsglue/pool.js plus what persistence adds to it (sync, autosync, close for pools
// opened with openPool; save for any pool), and openPool / loadPool. Locks: see
// persister.js and image.js (a sync or a save pauses the pool briefly).
import { Pool as CorePool } from "../pool.js";
import { PoolError } from "../errors.js";
import { Persister } from "./persister.js";
import { MemoryStore, NodeStore, openOpfs } from "./stores.js";
import { takeOwnership } from "./owner.js";
import { saveImage, readImage } from "./image.js";

/** @type {WeakMap<object, number>} stores passed in opts.store, told apart by identity */
const storeIds = new WeakMap();
let storeCount = 0;

const notPersistent = () => new PoolError("EINVAL", "this pool is not persisted: open it with " +
  "openPool(name) (Python: await open_pool(name)), or save an image of it with save()");

/**
 * A whole file system in one shared WebAssembly.Memory (see jsglue/pool.js), plus
 * persistence: sync, autosync and close for pools opened with openPool, save for any.
 */
export class Pool extends CorePool {
  /** @type {Persister | null} */
  #persister = null;

  /**
   * Where this pool is persisted ("OPFS extmemfs/<name>" or a directory), or null.
   * @returns {string | null}
   */
  get persistedAt() {
    return this.#persister && !this.#persister.closed ? this.#persister.store.where : null;
  }

  /**
   * Make the pool's current state durable: when the promise resolves, a reload (or a new
   * process) that opens it finds exactly this state. Other instances may go on writing:
   * they are paused only while the changed pages are copied (pause_ms).
   * @param {{duringPause?: (info: {generation: number}) => void}} [opts] duringPause:
   *   called inside that pause (nothing in the pool changes meanwhile); it must not use
   *   the pool and must not wait
   * @returns {Promise<import("./persister.js").SyncInfo>}
   * @throws {PoolError} EINVAL (not persisted, closed), ENOSPC / EIO / EACCES (storage
   *   failed: the previous generation stays intact, the pool goes on in memory)
   */
  async sync(opts = {}) {
    if (!this.#persister) throw notPersistent();
    return this.#persister.sync(opts);
  }

  /**
   * Sync in the background every `ms` milliseconds while something changed.
   * @param {number | null} ms 0 or null: stop
   */
  autosync(ms) {
    if (!this.#persister) throw notPersistent();
    this.#persister.autosync(ms);
  }

  /** The error of the last background sync that failed, or null. */
  get lastSyncError() {
    return this.#persister ? this.#persister.lastError : null;
  }

  /**
   * Stop persisting: a last sync (unless {sync: false}), then release the storage and
   * the ownership (another tab or process may open it now). The pool goes on in memory.
   * (Python: `await pool.close()`; in JavaScript `close(ino, gen)` closes a file.)
   * @param {{sync?: boolean}} [opts]
   * @returns {Promise<import("./persister.js").SyncInfo | null>}
   */
  async closeStorage(opts = {}) {
    if (!this.#persister) return null;
    return this.#persister.close(opts);
  }

  /**
   * Write a consistent image of the whole pool (a file loadPool reads back). It takes as
   * much memory as the pool's size while it writes.
   * @param {import("./image.js").ImageTarget} target
   */
  async save(target) {
    return saveImage(this, target);
  }

  /** @param {Persister} p */
  static _persisted(p) {
    const pool = /** @type {Pool} */ (p.pool);
    pool.#persister = p;
    return pool;
  }
}

/**
 * @typedef {import("../pool/format.js").CreateOptions & {asyncApi?: boolean,
 *   store?: import("./stores.js").Store}} OpenOptions
 *   asyncApi: in a browser worker, use OPFS's asynchronous API instead of synchronous
 *   access handles (to compare them); store: a store of your own (tests: MemoryStore)
 */

/**
 * Open the persisted pool `name`, or make it: in browsers a directory of the origin
 * private file system (extmemfs/<name>), in node a host directory path. It holds the
 * state of its last sync. Only one opener at a time (another tab, worker or process
 * gets EBUSY).
 * @param {string} name
 * @param {OpenOptions} [opts] sizes for a new pool (a stored pool keeps its own; a larger
 *   maximumSize raises its maximum)
 * @returns {Promise<Pool>}
 * @throws {PoolError} EINVAL (a bad name; the place holds something that is not a usable
 *   pool — nothing there is changed), EBUSY (open elsewhere), storage errors
 */
export async function openPool(name, opts = {}) {
  if (typeof name !== "string" || !name || name.includes("\0")) {
    throw new PoolError("EINVAL", `a pool name is a non-empty string, got ${JSON.stringify(name)}`, "TypeError");
  }
  let store;
  let key;
  if (opts.store) {
    store = opts.store;
    if (!storeIds.has(store)) storeIds.set(store, ++storeCount);
    key = `store:${storeIds.get(store)}`;
  } else if (hasOpfs()) {
    if (!/^[^/\\]{1,200}$/.test(name) || name === "." || name === "..") {
      throw new PoolError("EINVAL", `a browser pool name is 1 to 200 characters without "/" or "\\", got ` +
        JSON.stringify(name));
    }
    store = await openOpfs(name, { async: !!opts.asyncApi });
    key = `opfs:${name}`;
  } else {
    store = await NodeStore.open(name);
    key = `dir:${store.where}`;
  }
  const owner = await takeOwnership(key, store);
  const p = new Persister(store, owner);
  try {
    await p.open(Pool, opts);
  } catch (e) {
    await store.close();
    await owner.release();
    throw e;
  }
  return Pool._persisted(p);
}

/**
 * A new pool (in memory, not persisted) from an image written by save().
 * @param {Uint8Array | ArrayBuffer | Blob | {getFile: Function} | string} source
 * @param {{maximumSize?: number | string, canBlock?: boolean}} [opts]
 * @returns {Promise<Pool>}
 */
export async function loadPool(source, opts = {}) {
  return /** @type {Pool} */ (Pool.restore(await readImage(source, opts), opts));
}

/** True in browsers (pages and workers): they have an origin private file system. */
function hasOpfs() {
  const nav = /** @type {any} */ (globalThis).navigator;
  return !!(nav && nav.storage && typeof nav.storage.getDirectory === "function");
}

export { MemoryStore };
