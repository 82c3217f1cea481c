"""Runs inside a worker started by :class:`pyodide_extmemfs.Workers`."""

from __future__ import annotations

import inspect
import pickle
import traceback
from typing import Any

from . import _serialize

pool: Any = None
index: int | None = None


def setup(memory: Any, mount: str, readonly: bool, worker_index: int) -> int:
    """Attach to the parent's pool and mount it at ``mount``; returns the instance id."""
    global pool, index
    import pyodide_extmemfs as xmfs

    pool = xmfs.attach(memory)
    xmfs.mount(pool, mount, readonly=bool(readonly))
    index = int(worker_index)
    return pool.instance_id


async def handle(payload: Any) -> Any:
    """Run one pickled call; return the pickled result as a JS Uint8Array."""
    from pyodide.ffi import to_js

    try:
        fn, args, kwargs = pickle.loads(payload.to_bytes())
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        out = _serialize.dumps_result(True, result, None)
    except BaseException as e:
        out = _serialize.dumps_result(False, e, traceback.format_exc())
    return to_js(out)
