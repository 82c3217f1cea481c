"""Runs inside Pyodide (benchmarks/workers_packages.mjs): time until 4 Workers have each
imported a package, one way of loading it, and what each worker then holds in memory.

Globals set by the driver: MODE, PACKAGE, MODULE, WORKERS; it then awaits ``main()``,
which prints one line ``RESULT {json}``.

Modes (``-nosnap``: ``Workers(..., snapshot=False)``, each worker loads Pyodide itself;
otherwise the first start in the instance makes a memory snapshot that the workers
start from, see pyodide_extmemfs/_snapshots.py — its making is part of the time):
  bare, bare-nosnap    workers that import nothing (the floor: starting 4 workers)
  per-worker, per-worker-nosnap
                       each worker loads the package itself (``worker_packages``:
                       pyodide.loadPackage: fetch, unpack into its own file system,
                       compile every module on import); -nosnap is the status quo
                       without a shared pool
  pool, pool-nosnap    the package already in the pool (installed earlier, e.g. in an
                       earlier cell): workers mount the pool and import it
  pool-again           as pool, for a later start of Workers (a later cell, another
                       instance sharing the pool, a reload of a persisted pool): the
                       snapshot was made by an earlier start and is read from the pool
  pool-fresh           pool.install in this instance first, then as pool (both timed)
"""

import json
import time

import pyodide_extmemfs as xmfs

MODE = globals().get("MODE", "pool")
PACKAGE = globals().get("PACKAGE", "sympy")
MODULE = globals().get("MODULE", "sympy")
WORKERS = int(globals().get("WORKERS", 4))


def import_it(module):
    import importlib
    import os
    import sys
    import time

    import pyodide_js

    from pyodide_extmemfs import worker_index

    t0 = time.perf_counter()
    if module:
        importlib.import_module(module)
    took = time.perf_counter() - t0
    site = "/lib/python3.14/site-packages"
    local = 0
    for dirpath, _dirs, names in os.walk(site):
        for n in names:
            local += os.stat(os.path.join(dirpath, n)).st_size
    return {
        "index": worker_index(),
        "import_s": took,
        "wasm_heap": int(pyodide_js._module.HEAP8.length),
        "local_files": local,
        "modules": len(sys.modules),
    }


async def main():
    pool = xmfs.create_pool("64MiB", "2GiB")
    xmfs.mount(pool, "/shared")
    result = {"mode": MODE, "package": PACKAGE, "workers": WORKERS}
    pooled = MODE.startswith("pool")
    kw = {"snapshot": not MODE.endswith("-nosnap")}
    if MODE.startswith("per-worker"):
        kw["worker_packages"] = [PACKAGE]
    elif pooled:
        kw["packages"] = [PACKAGE]
    if pooled and MODE != "pool-fresh":
        t0 = time.perf_counter()
        await pool.install(PACKAGE)
        result["install_s"] = time.perf_counter() - t0  # not part of the time to results
    if MODE == "pool-again":
        t0 = time.perf_counter()
        first = await xmfs.Workers(WORKERS, pool=pool, mount="/shared", **kw).start()
        await first.map(import_it, [MODULE] * WORKERS, chunksize=1)
        await first.close()
        from pyodide_extmemfs import _snapshots

        _snapshots._made.clear()  # as another instance: only the pool's copy
        result["first_start_s"] = time.perf_counter() - t0  # (not timed below)
    used0 = pool.stats()["used_bytes"]
    t0 = time.perf_counter()
    if MODE == "pool-fresh":
        await pool.install(PACKAGE)
        result["install_s"] = time.perf_counter() - t0
    workers = await xmfs.Workers(WORKERS, pool=pool, mount="/shared", **kw).start()
    result["started_s"] = time.perf_counter() - t0
    result["restored"] = sum(bool(w.js.restored) for w in workers._workers)
    module = None if MODE.startswith("bare") else MODULE
    # as many chunks as idle workers: each worker imports once
    per = await workers.map(import_it, [module] * WORKERS, chunksize=1)
    result["first_results_s"] = time.perf_counter() - t0
    result["per_worker"] = sorted(per, key=lambda r: r["index"])
    result["pool_bytes_for_packages"] = pool.stats()["used_bytes"] - used0
    await workers.close()
    print("RESULT " + json.dumps(result))
