// jsglue/index.mjs — the pool and the EXTMEMFS mount for JavaScript hosts.
//
//   import * as xmfs from "<package>/jsglue/index.mjs";
//   const pool = await xmfs.createPool({ initialBytes: 16 << 20, maximumBytes: 1 << 30 });
//   await xmfs.mountPool(pyodide, pool, "/shared");     // any Pyodide instance
//   worker.postMessage(pool.memory);                     // hand the Memory on
//   // in the worker:
//   const pool = await xmfs.attachPool(memory);
//   await xmfs.mountPool(pyodide, pool, "/shared");
//
// The modules are plain scripts (see manifest.json) so that the Python package can
// load them with pyodide.code.run_js; this file loads the same sources for ES-module
// hosts, from beside itself (file: in node, http(s): in browsers).

let loaded = null;

async function readText(url) {
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return readFile(url, "utf8");
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`extmemfs: cannot load ${url}: HTTP ${response.status}`);
  return response.text();
}

/** The jsglue modules by name (layout, locks, validate, pool, backend, workers). */
export async function load(base = new URL(".", import.meta.url)) {
  if (loaded) return loaded;
  const manifest = JSON.parse(await readText(new URL("manifest.json", base)));
  const mods = {};
  for (const name of manifest.modules) {
    const source = await readText(new URL(`${name}.js`, base));
    // Indirect eval: the global scope, as pyodide.code.run_js does for Python callers.
    const factory = (0, eval)(`${source}\n//# sourceURL=extmemfs/${name}.js\n`);
    mods[name] = factory(mods);
  }
  loaded = mods;
  return mods;
}

/**
 * Create a new pool in a new shared WebAssembly.Memory.
 * @param {{initialBytes: number, maximumBytes: number}} opts bytes (64 KiB pages)
 * @throws PoolError EINVAL (sizes, no SharedArrayBuffer), ENOMEM
 */
export async function createPool(opts) {
  return (await load()).pool.Pool.create(opts);
}

/**
 * Attach to the pool in `memory` (from createPool in another thread).
 * @throws PoolError EINVAL: not a shared Memory, not a pool, another layout version
 */
export async function attachPool(memory) {
  const { Pool } = (await load()).pool;
  return new Pool(memory);
}

/**
 * Mount `pool` at `path` (made if missing) in the file system of `pyodide`.
 * @param {object} pyodide a loaded Pyodide instance
 * @param {{readonly?: boolean}} [opts]
 * @throws PoolError with the errno name (e.g. EBUSY if already a mount point)
 */
export async function mountPool(pyodide, pool, path, opts = {}) {
  const type = (await load()).backend.install({
    FS: pyodide.FS,
    ERRNO_CODES: pyodide.ERRNO_CODES,
    Module: pyodide._module,
  });
  pyodide.FS.mkdirTree(path);
  return type.mountAt({ pool, readonly: !!opts.readonly }, path);
}
