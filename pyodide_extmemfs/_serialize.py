"""Send calls to another Pyodide instance: functions from a script or a notebook cell
travel by value (their code, closure and the globals they read), everything else by
ordinary pickle. Both ends run the same Pyodide, so marshalled code objects load.

Functions importable in the worker — from the standard library or site-packages —
travel by reference, like pickle does; classes always travel by reference.
"""

from __future__ import annotations

import builtins
import dis
import importlib
import io
import marshal
import pickle
import sys
import sysconfig
import types
from typing import Any

_EMPTY_CELL = ("<empty cell>",)


def _shared_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple({paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths})


_PREFIXES = _shared_prefixes()


def _by_reference(fn: types.FunctionType) -> bool:
    """True if the worker can import ``fn`` by module and qualified name."""
    if fn.__module__ in (None, "__main__") or "<locals>" in fn.__qualname__:
        return False
    mod = sys.modules.get(fn.__module__)
    file = getattr(mod, "__file__", None) or ""
    if not file.startswith(_PREFIXES) and not file.startswith("/lib/python"):
        return False
    obj: Any = mod
    for part in fn.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return obj is fn


def _global_names(code: types.CodeType) -> set[str]:
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"):
            names.add(ins.argval if isinstance(ins.argval, str) else ins.argrepr.split()[-1])
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _make_function(
    code_bytes, name, qualname, module, defaults, kwdefaults, closure, globs, self_names, attrs
):
    code = marshal.loads(code_bytes)
    g = {"__builtins__": builtins, "__name__": module}
    g.update(globs)
    cells = None
    if closure is not None:
        cells = tuple(types.CellType() if v == _EMPTY_CELL else types.CellType(v) for v in closure)
    fn = types.FunctionType(code, g, name, defaults, cells)
    fn.__qualname__ = qualname
    fn.__kwdefaults__ = kwdefaults
    fn.__module__ = module
    for n in self_names:
        g[n] = fn
    if attrs:
        fn.__dict__.update(attrs)
    return fn


def _reduce_function(fn: types.FunctionType):
    globs = {}
    self_names = []
    for n in sorted(_global_names(fn.__code__)):
        if n not in fn.__globals__:
            continue
        value = fn.__globals__[n]
        if value is fn:
            self_names.append(n)
        else:
            globs[n] = value
    closure = None
    if fn.__closure__ is not None:
        vals = []
        for cell in fn.__closure__:
            try:
                vals.append(cell.cell_contents)
            except ValueError:
                vals.append(_EMPTY_CELL)
        closure = tuple(vals)
    return _make_function, (
        marshal.dumps(fn.__code__),
        fn.__name__,
        fn.__qualname__,
        fn.__module__,
        fn.__defaults__,
        fn.__kwdefaults__,
        closure,
        globs,
        self_names,
        dict(fn.__dict__) or None,
    )


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, types.FunctionType) and not _by_reference(obj):
            return _reduce_function(obj)
        if isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        return NotImplemented


def dumps(obj: Any, what: str) -> bytes:
    """Pickle ``obj`` (functions by value where needed). TypeError names ``what``."""
    buf = io.BytesIO()
    try:
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except Exception as e:
        raise TypeError(f"cannot send {what} to a worker: {type(e).__name__}: {e}") from e
    return buf.getvalue()


def dumps_call(fn, args: tuple, kwargs: dict) -> bytes:
    if not callable(fn):
        raise TypeError(f"Workers.run() needs a callable, got {type(fn).__name__}")
    name = getattr(fn, "__qualname__", repr(fn))
    return dumps((fn, args, kwargs), f"the call {name}(...)")


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (set as ``__cause__``)."""

    def __init__(self, tb: str):
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


class ChunkResults(list):
    """The results of one chunk of a map: ``(ok, value, traceback)`` per item."""


def _sendable_item(item: tuple) -> tuple:
    """One item of a ChunkResults, replaced by an error if it does not pickle."""
    try:
        dumps(item, "the result")
        return item
    except TypeError as e:
        ok, value, tb = item
        if ok:
            return (False, TypeError(f"the worker's result could not be sent back: {e}"), None)
        return (False, RuntimeError(f"{type(value).__name__}: {value}"), tb)


def dumps_result(ok: bool, value: Any, tb: str | None) -> bytes:
    try:
        return dumps((ok, value, tb), "the result")
    except TypeError as e:
        if ok and isinstance(value, ChunkResults):
            return dumps((ok, ChunkResults(_sendable_item(x) for x in value), tb), "the result")
        if ok:
            err = TypeError(f"the worker's result could not be sent back: {e}")
            return pickle.dumps((False, err, tb))
        plain = RuntimeError(f"{type(value).__name__}: {value}")
        return pickle.dumps((False, plain, tb))


def raise_remote(exc: BaseException, tb: str | None) -> None:
    """Raise an exception from a worker, its traceback there as ``__cause__``."""
    if tb:
        exc.__cause__ = RemoteTraceback(tb)
    raise exc


def loads_result(data: bytes) -> Any:
    """Return the worker's result, or raise its exception with the remote traceback."""
    ok, value, tb = pickle.loads(data)
    if ok:
        return value
    raise_remote(value, tb)
