// jsglue/index.js — the public entry for JavaScript hosts: make or attach a pool, mount it
// in a Pyodide instance. Imports every layer; nothing imports it. No locks of its own.
//
//   import * as xmfs from "./jsglue/index.js";          // or "pyodide-extmemfs"
//   const pool = await xmfs.createPool({ initialSize: "64MiB", maximumSize: "1GiB" });
//   await xmfs.mountPool(pyodide, pool, "/shared");     // any loaded Pyodide instance
//   worker.postMessage({ pool });                        // shared, not copied
//   // in the worker:
//   const pool = await xmfs.attachPool(event.data.pool);
//   await xmfs.mountPool(pyodide, pool, "/shared");
//
// The Python package ships the same modules bundled into one script
// (pyodide_extmemfs/jsglue.bundle.js, built by esbuild at wheel build time); see
// pyodide_extmemfs/_jsglue.py for how it is loaded.
import { Pool } from "./persist/pool.js";
import { install } from "./backend.js";
import { fail, describe } from "./errors.js";
import * as api from "./index.js";

export { Pool, openPool, loadPool, MemoryStore } from "./persist/pool.js";
export { PoolError } from "./errors.js";
export { parseSize, MIN_POOL_BYTES, MAX_POOL_BYTES } from "./sizes.js";
export { L as layout } from "./layout.js";
export { install, DEV } from "./backend.js";
export { PyWorker, spawnScript, inBrowser } from "./workers.js";

/** The package version; the Python package refuses a bundle of another version. */
export const VERSION = "0.1.0";

/**
 * Create a new, empty pool in a new shared WebAssembly.Memory.
 * @param {import("./pool.js").CreateOptions} [opts] sizes as numbers (bytes) or strings
 *   ("64MiB"); defaults 16 MiB initial, 1 GiB maximum, lease 1000 ms
 * @returns {Promise<Pool>}
 * @throws {import("./errors.js").PoolError} EINVAL (bad size or lease, no
 *   SharedArrayBuffer: the page is not cross-origin isolated), ENOMEM (the maximum could
 *   not be reserved)
 */
export async function createPool(opts = {}) {
  return /** @type {Pool} */ (Pool.create(opts));
}

/**
 * Attach to a pool made elsewhere (another thread, another Pyodide instance).
 * @param {WebAssembly.Memory | Pool | {memory: WebAssembly.Memory}} memory the pool's
 *   shared Memory, a Pool, or a Pool that was posted to this thread (postMessage copies
 *   a Pool as a plain object holding its Memory)
 * @returns {Promise<Pool>}
 * @throws {import("./errors.js").PoolError} EINVAL: not a shared Memory, not a pool,
 *   another layout version; EMFILE: all instance slots of the pool are taken
 */
export async function attachPool(memory) {
  return new Pool(memory);
}

/**
 * Mount `pool` at `path` (made if missing) in the file system of a loaded Pyodide.
 * Uses Pyodide's public `FS` and `ERRNO_CODES`; its `_module` only where Pyodide has no
 * public equivalent (mmap needs the wasm allocator; fast reads need the heap Memory).
 * @param {PyodideLike} pyodide
 * @param {Pool} pool
 * @param {string} path absolute path
 * @param {{readonly?: boolean}} [opts] readonly: every change through this mount fails
 *   with EROFS
 * @returns {Promise<void>}
 * @throws {import("./errors.js").PoolError} EINVAL (not a Pyodide, not a Pool, relative
 *   path), or the errno of FS.mount (EBUSY: already a mount point, ENOTDIR, ...)
 */
export async function mountPool(pyodide, pool, path, opts = {}) {
  const type = fsTypeOf(pyodide);
  if (!(pool instanceof Pool)) {
    fail("EINVAL", `mountPool needs a Pool (from createPool or attachPool), got ${describe(pool)}` +
      (pool && typeof pool === "object" && "memory" in pool ? ": attach to it first (attachPool)" : ""),
    "TypeError");
  }
  if (typeof path !== "string" || !path.startsWith("/")) {
    fail("EINVAL", `mount path must be an absolute path string, got ${JSON.stringify(path)}`);
  }
  pyodide.FS.mkdirTree(path);
  type.mountAt({ pool, readonly: !!opts.readonly }, path);
}

/**
 * Unmount the pool mounted at `path`; its files stay in the pool.
 * @param {PyodideLike} pyodide
 * @param {string} path
 * @returns {Promise<void>}
 * @throws {import("./errors.js").PoolError} EINVAL if `path` is not a mount point
 */
export async function unmountPool(pyodide, path) {
  fsTypeOf(pyodide).unmountAt(path);
}

/**
 * Make this copy of the modules the one that the Python package in this thread uses
 * (it looks for `globalThis.pyodideExtmemfs` before evaluating its own bundle). Pages
 * whose Content-Security-Policy forbids eval call this once before Python imports
 * pyodide_extmemfs.
 */
export function provideToPython() {
  /** @type {any} */ (globalThis).pyodideExtmemfs = api;
}

/**
 * @typedef {{FS: any, ERRNO_CODES: Record<string, number>, _module?: any}} PyodideLike
 *   what mountPool needs of a Pyodide instance (the object loadPyodide resolves to)
 */

/** @param {PyodideLike} pyodide */
function fsTypeOf(pyodide) {
  if (!pyodide || typeof pyodide !== "object" || !pyodide.FS || !pyodide.ERRNO_CODES) {
    fail("EINVAL", `expected a loaded Pyodide (what loadPyodide() resolves to), got ${describe(pyodide)}`,
      "TypeError");
  }
  return install({ FS: pyodide.FS, ERRNO_CODES: pyodide.ERRNO_CODES, Module: pyodide._module });
}
