"""Runs inside a worker started by :class:`pyodide_extmemfs.Workers` (called from
jsglue/workers.js).

A call arrives as a pickled ``(fn, args, kwargs)``; :func:`start` runs it synchronously
and returns the pickled result, or — if ``fn`` returned a coroutine — a task that the
worker's event loop runs (cancelled by :func:`cancel`). Output is flushed at the end of
every call, so the parent has it before the result.
"""

from __future__ import annotations

import asyncio
import inspect
import pickle
import sys
import traceback
from typing import Any

from . import _install, _serialize

pool: Any = None
index: int | None = None
mount_point: str | None = None
_tasks: dict[int, asyncio.Task] = {}


def setup(memory: Any, mount: str, readonly: bool, worker_index: int, lineage: Any = None) -> int:
    """Attach to the parent's pool and mount it at ``mount`` (its packages, if any, on
    ``sys.path``); returns the instance id."""
    global pool, index, mount_point
    import pyodide_extmemfs as xmfs

    from . import _jsglue

    if lineage is not None:
        _jsglue.modules().PyWorker.adoptLineage(memory, lineage)
    pool = xmfs.attach(memory)
    xmfs.mount(pool, mount, readonly=bool(readonly))
    index = int(worker_index)
    mount_point = mount
    # A pipe, not a terminal: line buffering makes each line reach the parent at once.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    return pool.instance_id


def after_restore() -> None:
    """This worker started from a memory snapshot that other workers start from too
    (see _snapshots.py): what must differ between them, or must see
    this file system rather than the snapshot's, is renewed here, before the first call.

    - import caches (the snapshot's directory listings are from the instance that made it);
    - ``random``'s global generator, and numpy's if it was imported (else every worker
      would draw the same numbers);
    - ``tempfile``'s name sequence (else workers would try the same names).
    """
    import importlib

    importlib.invalidate_caches()
    # Pyodide's start adds "" to sys.path again: once is enough
    seen: set[str] = set()
    sys.path[:] = [p for p in sys.path if not (p in seen or seen.add(p))]
    mod = sys.modules.get("random")
    if mod is not None:
        mod.seed()
    mod = sys.modules.get("numpy.random")
    if mod is not None and hasattr(mod, "seed"):
        mod.seed()
    mod = sys.modules.get("tempfile")
    if mod is not None and hasattr(mod, "_name_sequence"):
        mod._name_sequence = None


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a user replaced sys.stdout with something odd
            pass


def start(call_id: int, payload: Any) -> Any:
    """Run one pickled call. Returns the pickled result as a JS Uint8Array, or a task
    (awaitable from JS) if the function is a coroutine function."""
    from pyodide.ffi import to_js

    _install.refresh()
    try:
        fn, args, kwargs = pickle.loads(payload.to_bytes())
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(_finish(call_id, result))
            _tasks[call_id] = task
            return task
        out = _serialize.dumps_result(True, result, None)
    except BaseException as e:
        out = _serialize.dumps_result(False, e, traceback.format_exc())
    finally:
        _flush()
    return to_js(out)


async def _finish(call_id: int, awaitable: Any) -> Any:
    from pyodide.ffi import to_js

    try:
        out = _serialize.dumps_result(True, await awaitable, None)
    except BaseException as e:  # CancelledError (cancel()) and KeyboardInterrupt too
        out = _serialize.dumps_result(False, e, traceback.format_exc())
    finally:
        _tasks.pop(call_id, None)
        _flush()
    return to_js(out)


def cancel(call_id: int) -> None:
    """Cancel the coroutine of call ``call_id`` (it gets CancelledError at its await)."""
    task = _tasks.get(int(call_id))
    if task is not None:
        task.cancel()


async def handle(payload: Any) -> Any:
    """Run one pickled call to the end; return the pickled result as a JS Uint8Array.
    (For hosts that drive a second instance directly, without jsglue/workers.js.)"""
    out = start(0, payload)
    if inspect.isawaitable(out):
        out = await out
    return out


def run_chunk(fn: Any, items: list) -> Any:
    """``fn(x)`` for each item of a map chunk: a list of ``(ok, value, traceback)``. An
    exception of one item does not stop the others; KeyboardInterrupt stops the chunk.
    If ``fn`` is a coroutine function, returns a coroutine that awaits each result."""
    out = _serialize.ChunkResults()
    for k, x in enumerate(items):
        try:
            r = fn(x)
        except Exception as e:
            out.append((False, e, traceback.format_exc()))
            continue
        if inspect.isawaitable(r):
            return _run_chunk_async(fn, items, k, r, out)
        out.append((True, r, None))
    return out


async def _run_chunk_async(fn: Any, items: list, k: int, first: Any, out: list) -> Any:
    pending = first
    for x in items[k:]:
        try:
            if pending is None:
                pending = fn(x)
            out.append((True, await pending, None))
        except Exception as e:
            out.append((False, e, traceback.format_exc()))
        pending = None
    return out
