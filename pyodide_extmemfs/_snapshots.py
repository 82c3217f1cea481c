"""Memory snapshots that :class:`~pyodide_extmemfs.Workers` start from.

Loading Pyodide takes seconds per worker, and importing a large package as long again;
neither is shared by the pool's files. So the first start of ``Workers`` in this
instance makes one worker (jsglue/workers.js ``PyWorker.makeSnapshot``) load Pyodide,
mount the pool read-only at the workers' mount point and import this package and the
top-level modules of ``packages`` from the pool, then take a Pyodide memory snapshot of
it (``makeMemorySnapshot``; the wasm heap, about 30 MiB bare). Every worker then starts
from that snapshot: the same Python, with the same modules imported, in a fraction of
a second. Each worker still has its own heap (a copy); what it changes is its own.

The snapshot is kept in this instance's memory, one per *key*: the index URL and
Pyodide version, this package's files, the mount point, the imports and the
distributions in the pool (so installing or upgrading a package makes a new one).
At most :data:`KEEP` are kept. ``Workers(..., snapshot=False)`` starts workers the
ordinary way.

What a snapshot cannot carry, a restored worker renews (``_worker.after_restore``):
import caches, the seeds of ``random`` and ``numpy.random``, ``tempfile``'s names.
Python's hash seed is the snapshot's in every worker (as with a fixed
``PYTHONHASHSEED``). A package whose import fails, or leaves Python holding a JS
object (the snapshot then cannot be made), is named in a warning, and the workers
start without it imported / without a snapshot.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import sys
import warnings
from typing import Any

from . import _install, _jsglue

KEEP = 2  # snapshots kept in memory (each is the size of a worker's heap)

# key -> JS Uint8Array, or None (making one failed for this key: do not try again)
_made: collections.OrderedDict[str, Any] = collections.OrderedDict()
_making: dict[str, asyncio.Future] = {}


def _key(index_url: str, files: dict[str, str], mount: str, imports: list[str], pool: Any) -> str:
    import pyodide_js

    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    state = _install.installed_state(pool) if imports else []
    return json.dumps(
        [index_url, str(pyodide_js.version), digest.hexdigest(), mount, imports, state]
    )


async def snapshot_for(
    pool: Any, index_url: str, files: dict[str, str], mount: str, packages: list[str]
) -> Any:
    """The memory snapshot (a JS Uint8Array) for workers of ``pool`` mounted at
    ``mount`` with ``packages`` imported; made on first use. None if one cannot be made
    (a RuntimeWarning says why)."""
    imports = _install.import_names(pool, packages) if packages else []
    key = _key(index_url, files, mount, imports, pool)
    if key in _made:
        _made.move_to_end(key)
        return _made[key]
    if key in _making:
        return await asyncio.shield(_making[key])
    fut = asyncio.get_running_loop().create_future()
    _making[key] = fut
    try:
        snap = await _make(pool, index_url, files, mount, imports)
        _made[key] = snap
        while len(_made) > KEEP:
            _made.popitem(last=False)
        fut.set_result(snap)
        return snap
    except BaseException as e:
        fut.set_exception(e)
        fut.exception()  # (retrieved: waiters get it through shield)
        raise
    finally:
        del _making[key]


def forget(snap: Any) -> None:
    """Drop a snapshot that a worker could not start from (it is not offered again)."""
    for key, value in list(_made.items()):
        if value is snap:
            _made[key] = None


async def _make(pool: Any, index_url: str, files: dict[str, str], mount: str, imports: list[str]):
    maker = _jsglue.modules().PyWorker.makeSnapshot(
        _jsglue.js_object(
            {
                "indexURL": index_url,
                "files": files,
                "bundle": f"{__package__}/{_jsglue.BUNDLE}",
                "memory": pool.memory,
                "mount": mount,
                "imports": imports,
                "parentId": pool.instance_id,
            }
        )
    )
    worker = maker.worker
    try:
        made = await maker.done
    except Exception as e:
        err = getattr(e, "js_error", None)
        why = str(getattr(err, "message", "") or e)
        warnings.warn(
            f"Workers start without a memory snapshot (each loads Pyodide itself): {why}",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    finally:
        await worker.terminate()
        instance_id = int(worker.instanceId)
        if instance_id >= 0:
            try:
                await pool.evict_when_stopped(instance_id)
            except Exception as e:  # report; the workers can start anyway
                print(f"Workers: could not clean up instance {instance_id}: {e}", file=sys.stderr)
            _jsglue.modules().PyWorker.forget(pool.memory, instance_id)
    failures = made.failures.to_py()
    if failures:
        names = "; ".join(f"{m}: {why}" for m, why in failures.items())
        warnings.warn(
            f"Workers: not imported in the memory snapshot (workers import them on use): {names}",
            RuntimeWarning,
            stacklevel=4,
        )
    return made.bytes
