"""Persistence: pools that survive a reload (``open_pool``, ``Pool.sync`` ...) and
whole-pool image files (``Pool.save``, ``load_pool``). The work is done by
``jsglue/persist/``; this module gives it a Python face."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import _jsglue
from ._sizes import parse_size

if TYPE_CHECKING:
    from . import Pool

_CHUNK = 16 << 20


async def _call(promise_fn, *args):
    from pyodide.ffi import JsException

    try:
        return await promise_fn(*args)
    except JsException as e:
        raise _jsglue.convert(e) from None


def _info(js_info: Any) -> dict[str, Any] | None:
    if js_info is None or not hasattr(js_info, "to_py"):  # undefined, or JS null (jsnull)
        return None
    return dict(js_info.to_py())


async def open_pool(
    name: str,
    initial_size: int | str = "16MiB",
    maximum_size: int | str | None = None,
    lease_ms: int = 1000,
) -> Pool:
    from . import Pool

    if not isinstance(name, str) or not name:
        raise TypeError(f"open_pool() needs a name (a non-empty str), got {name!r}")
    initial = parse_size(initial_size, "initial_size")
    opts: dict[str, Any] = {"initialBytes": initial, "leaseMs": lease_ms}
    if maximum_size is not None:
        maximum = parse_size(maximum_size, "maximum_size")
        if initial > maximum:
            raise ValueError(
                f"initial_size {initial_size!r} ({initial} bytes) is above "
                f"maximum_size {maximum_size!r} ({maximum} bytes)"
            )
        opts["maximumBytes"] = maximum
    _jsglue.require_pyodide("open_pool")
    mods = _jsglue.modules()
    js_pool = await _call(mods.openPool, name, _jsglue.js_object(opts))
    return Pool(js_pool)


async def load_pool(source: Any, maximum_size: int | str | None = None) -> Pool:
    from . import Pool

    _jsglue.require_pyodide("load_pool")
    from pyodide.ffi import to_js

    if isinstance(source, (bytes, bytearray, memoryview)):
        data = to_js(memoryview(source).cast("B"))
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:  # a path in this instance's file system
            data = to_js(memoryview(f.read()))
    elif _jsglue.is_js_proxy(source):
        data = source  # Uint8Array, ArrayBuffer, Blob / File, FileSystemFileHandle
    else:
        raise TypeError(
            "load_pool() reads bytes, a path in this instance's file system, or a JS "
            f"Blob / File / FileSystemFileHandle / Uint8Array; got {type(source).__name__}"
        )
    opts: dict[str, Any] = {}
    if maximum_size is not None:
        opts["maximumSize"] = parse_size(maximum_size, "maximum_size")
    return Pool(await _call(_jsglue.modules().loadPool, data, _jsglue.js_object(opts)))


async def save(pool: Pool, target: Any) -> dict[str, Any]:
    from pyodide.ffi import create_proxy

    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as f:

            def write(chunk: Any) -> None:
                f.write(chunk.to_bytes())

            proxy = create_proxy(write)
            try:
                return _info(await _call(pool.js.save, proxy))
            finally:
                proxy.destroy()
    if _jsglue.is_js_proxy(target):
        return _info(await _call(pool.js.save, target))
    raise TypeError(
        "save() writes to a path in this instance's file system or to a JS "
        f"FileSystemFileHandle / writable stream; got {type(target).__name__}"
    )


async def sync(pool: Pool) -> dict[str, Any]:
    return _info(await _call(pool.js.sync))


def autosync(pool: Pool, seconds: float | None) -> None:
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        raise TypeError(f"autosync() takes seconds (a number) or None, got {seconds!r}")
    ms = 0 if not seconds else round(seconds * 1000)
    if seconds and ms < 50:
        raise ValueError(f"autosync interval must be at least 0.05 s, got {seconds!r}")
    _jsglue.call(pool.js.autosync, ms)


async def close(pool: Pool, sync: bool = True) -> dict[str, Any] | None:
    return _info(await _call(pool.js.closeStorage, _jsglue.js_object({"sync": bool(sync)})))
