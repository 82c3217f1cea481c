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
At most :data:`KEEP` are kept. When ``packages`` are imported, the snapshot is also
stored in the pool, in ``.site-packages/.snapshots/`` (:data:`KEEP` files at most,
the oldest removed), so other instances that share the pool, and the same notebook
after a reload of a persisted pool, start their workers from it too; a pool without
room for it simply goes without. ``Workers(..., snapshot=False)`` starts workers the
ordinary way.

What a snapshot cannot carry, a restored worker renews (``_worker.after_restore``):
import caches, the seeds of ``random`` and ``numpy.random``, ``tempfile``'s names.
Python's hash seed is the snapshot's in every worker (as with a fixed
``PYTHONHASHSEED``). A package whose import fails, or leaves Python holding a JS
object (the snapshot then cannot be made), is named in a warning, and the workers
start without it imported / without a snapshot. Packages with shared libraries are
not imported in a snapshot (their wasm code and function table entries are not part
of the heap): they are left out, and if an import loads one anyway the snapshot is
made again without the packages.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import os
import posixpath
import sys
import warnings
from typing import Any

from . import _install, _jsglue

KEEP = 2  # snapshots kept in memory, and in a pool (each is the size of a worker's heap)
STORE_DIR = ".snapshots"  # in the pool's .site-packages
MAGIC = b"XMFSSNAP"  # file: MAGIC, key length (4 bytes, little-endian), key, snapshot

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
        snap = _load(pool, key) if imports else None
        if snap is None:
            snap = await _make_or_warn(pool, index_url, files, mount, imports)
            if snap is not None and imports:
                _store(pool, key, snap)
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


def forget(pool: Any, snap: Any) -> None:
    """Drop a snapshot that a worker could not start from (it is not offered again, and
    its copy in the pool is removed)."""
    for key, value in list(_made.items()):
        if value is snap:
            _made[key] = None
            try:
                os.unlink(_path(pool, key))
            except OSError:
                pass


# ---- the copies in the pool ----------------------------------------------------------------


def _path(pool: Any, key: str) -> str:
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return posixpath.join(_install.site_dir(pool), STORE_DIR, name + ".snap")


def _load(pool: Any, key: str) -> Any:
    """The snapshot for ``key`` stored in the pool (a JS Uint8Array), or None."""
    from pyodide.ffi import to_js

    path = _path(pool, key)
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + 4)
            if len(head) < len(MAGIC) + 4 or head[: len(MAGIC)] != MAGIC:
                return None
            n = int.from_bytes(head[len(MAGIC) :], "little")
            if f.read(n) != key.encode():
                return None  # (a hash collision, or another format)
            data = f.read()
    except OSError:
        return None
    os.utime(path)  # recently used: kept when old ones are removed
    return to_js(memoryview(data))


def _store(pool: Any, key: str, snap: Any) -> None:
    """Store ``snap`` in the pool (atomically: a temporary file renamed); keep the
    :data:`KEEP` most recently used. A pool without room goes without."""
    path = _path(pool, key)
    folder = posixpath.dirname(path)
    tmp = f"{path}.tmp{os.getpid()}"
    k = key.encode()
    try:
        os.makedirs(folder, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(MAGIC + len(k).to_bytes(4, "little") + k)
            f.write(snap.to_bytes())
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    try:
        old = sorted(
            (os.stat(e.path).st_mtime, e.path)
            for e in os.scandir(folder)
            if e.name.endswith(".snap") and e.path != path
        )
        for _mtime, p in old[: max(0, len(old) - (KEEP - 1))]:
            os.unlink(p)
    except OSError:
        pass


class _MakerFailed(Exception):
    pass


async def _make_or_warn(
    pool: Any, index_url: str, files: dict[str, str], mount: str, imports: list[str]
) -> Any:
    try:
        return await _make(pool, index_url, files, mount, imports)
    except _MakerFailed as e:
        why = str(e)
    if imports and "shared libraries" in why:
        warnings.warn(
            f"Workers: the memory snapshot is made without the packages (workers import "
            f"them on use): {why}",
            RuntimeWarning,
            stacklevel=4,
        )
        try:
            return await _make(pool, index_url, files, mount, [])
        except _MakerFailed as e:
            why = str(e)
    warnings.warn(
        f"Workers start without a memory snapshot (each loads Pyodide itself): {why}",
        RuntimeWarning,
        stacklevel=4,
    )
    return None


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
        raise _MakerFailed(str(getattr(err, "message", "") or e)) from None
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
