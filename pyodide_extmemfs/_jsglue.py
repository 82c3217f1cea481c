"""The one module that touches JavaScript: loads the jsglue bundle shipped in this package
into the running Pyodide, and converts JavaScript errors into Python exceptions.

``jsglue/*.js`` are ES modules; the wheel carries them bundled into one classic script,
``jsglue.bundle.js`` (scripts/hatch_build.py), which defines ``globalThis.pyodideExtmemfs``.
It is evaluated once per Pyodide instance — synchronously, so the API needs no ``await`` —
unless a JavaScript host already provided the same version of the modules there (a page whose
Content-Security-Policy forbids eval imports ``jsglue/index.js`` and calls
``provideToPython()``; then nothing is evaluated).
"""

from __future__ import annotations

import errno as _errno
import os
import sys
from importlib import resources
from typing import Any

IN_PYODIDE = "_pyodide_core" in sys.modules or sys.platform == "emscripten"
BUNDLE = "jsglue.bundle.js"
GLOBAL_NAME = "pyodideExtmemfs"

_modules: Any = None
_fs_type: Any = None


def require_pyodide(what: str) -> None:
    if not IN_PYODIDE:
        raise RuntimeError(
            f"pyodide_extmemfs.{what}() runs inside Pyodide (in a browser or node); this is "
            f"{sys.implementation.name} on {sys.platform}. Install it there with "
            "`await micropip.install('pyodide-extmemfs')`."
        )


def bundle_source() -> str:
    """Text of the jsglue bundle shipped in this package (a classic script)."""
    return resources.files(__package__).joinpath(BUNDLE).read_text(encoding="utf-8")


def modules() -> Any:
    """The namespace of ``jsglue/index.js`` in this Pyodide instance, loaded once."""
    global _modules
    if _modules is None:
        import js
        from pyodide.code import run_js

        from . import __version__

        mod = getattr(js, GLOBAL_NAME, None)
        if mod is None or getattr(mod, "VERSION", None) != __version__:
            try:
                run_js(bundle_source() + f"\n//# sourceURL=pyodide_extmemfs/{BUNDLE}\n")
            except Exception as e:
                raise RuntimeError(
                    f"cannot load pyodide_extmemfs's JavaScript ({e}). Where the page's "
                    "Content-Security-Policy forbids eval, import jsglue/index.js "
                    f"(version {__version__}) from JavaScript and call provideToPython() "
                    "before using pyodide_extmemfs."
                ) from None
            mod = getattr(js, GLOBAL_NAME)
        _modules = mod
    return _modules


def fs_type() -> Any:
    """EXTMEMFS registered with this instance's FS (``FS.filesystems.EXTMEMFS``)."""
    global _fs_type
    if _fs_type is None:
        import pyodide_js
        from js import Object
        from pyodide.ffi import to_js

        em = to_js(
            {
                "FS": pyodide_js.FS,
                "ERRNO_CODES": pyodide_js.ERRNO_CODES,
                "Module": pyodide_js._module,
            },
            dict_converter=Object.fromEntries,
        )
        _fs_type = modules().install(em)
    return _fs_type


def js_object(d: dict) -> Any:
    from js import Object
    from pyodide.ffi import to_js

    return to_js(d, dict_converter=Object.fromEntries)


def is_js_proxy(x: Any) -> bool:
    from pyodide.ffi import JsProxy

    return isinstance(x, JsProxy)


def call(fn, *args):
    """Call a JS function, turning PoolError / ErrnoError into Python exceptions."""
    from pyodide.ffi import JsException

    try:
        return fn(*args)
    except JsException as e:
        raise convert(e) from None


def convert(e: Exception) -> Exception:
    err = getattr(e, "js_error", e)
    name = getattr(err, "name", "")
    message = str(getattr(err, "message", "") or e)
    if name == "PoolError":
        code = str(err.code)
        py_type = getattr(err, "pyType", None)
        if py_type == "TypeError":
            return TypeError(message)
        if code == "EINVAL" and py_type != "OSError":
            return ValueError(message)
        if code == "ENOMEM":
            return MemoryError(message)
        num = getattr(_errno, code, _errno.EIO)
        return OSError(num, f"{os.strerror(num)} ({message})")
    if name == "EvictedError":
        return OSError(_errno.EIO, f"{os.strerror(_errno.EIO)} ({message})")
    if name == "ErrnoError":
        num = int(err.errno)
        return OSError(num, os.strerror(num))
    return e


def index_url() -> str:
    """Where the running Pyodide was loaded from (a URL in browsers, a path in node)."""
    import pyodide_js

    return str(pyodide_js._api.config.indexURL)


def package_files() -> dict[str, str]:
    """This package's files (relative to site-packages) as text, for a worker to install."""
    root = resources.files(__package__)
    out = {}

    def walk(node, rel):
        for child in node.iterdir():
            name = f"{rel}/{child.name}"
            if child.is_dir():
                if child.name not in ("__pycache__", "jsglue"):  # (the bundle has jsglue/)
                    walk(child, name)
            elif child.name.endswith(".py") or child.name == BUNDLE:
                out[name] = child.read_text(encoding="utf-8")

    walk(root, __package__)
    return out


async def start_worker(opts: dict) -> Any:
    """Start one worker (jsglue/workers.js); returns the JS PyWorker.

    Raises RuntimeError naming the step that failed (loading Pyodide, mounting, ...)."""
    from pyodide.ffi import JsException

    try:
        return await modules().PyWorker.start(js_object(opts))
    except JsException as e:
        err = getattr(e, "js_error", None)
        raise RuntimeError(str(getattr(err, "message", "") or e)) from None


def host_module() -> Any:
    """This Pyodide's Emscripten Module (its interrupt buffer is watched during calls)."""
    import pyodide_js

    return pyodide_js._module


def begin_call(worker: Any, payload: bytes) -> Any:
    """Send a pickled call to a PyWorker: a JS ``{id, promise, done}``."""
    from pyodide.ffi import to_js

    return worker.call(to_js(payload))


async def await_result(promise: Any) -> bytes:
    """The pickled result of a call. Raises KeyboardInterrupt if the call was interrupted
    (here or in the worker), RuntimeError if the worker died or failed."""
    from pyodide.ffi import JsException

    try:
        out = await promise
    except JsException as e:
        err = getattr(e, "js_error", e)
        if getattr(err, "name", "") == "KeyboardInterrupt":
            raise KeyboardInterrupt(str(getattr(err, "message", ""))) from None
        raise RuntimeError(str(getattr(err, "message", "") or e)) from None
    return out.to_bytes()


async def settled(promise: Any) -> None:
    """Wait until a JS promise has settled, whatever the outcome."""
    from pyodide.ffi import JsException

    try:
        await promise
    except JsException:
        pass


def proxy(fn: Any) -> Any:
    """A long-lived JS callable for ``fn`` (destroy it when done)."""
    from pyodide.ffi import create_proxy

    return create_proxy(fn)


def to_bytes(buf: Any) -> bytes:
    return buf.to_bytes()


# ---- package loading (for _install.py) --------------------------------------------------


def pyodide_version() -> str:
    import pyodide_js

    return str(pyodide_js.version)


def lockfile_packages() -> dict[str, dict]:
    """The packages of this Pyodide's lock file (pyodide-lock.json), by name."""
    import pyodide_js

    return pyodide_js._api.lockfile_packages.to_py()


def lockfile_base_url() -> str:
    """Where the lock file's ``file_name``s are relative to (a URL, or a path in node)."""
    import pyodide_js

    base = getattr(pyodide_js, "lockfileBaseUrl", None) or pyodide_js._api.config.indexURL
    return str(base)


async def load_binary_file(url: str) -> bytes:
    """Fetch ``url`` as Pyodide fetches packages (``fetch``, or the file system in node)."""
    import pyodide_js

    return (await pyodide_js._api.loadBinaryFile(url)).to_bytes()


async def load_dynlib(path: str) -> None:
    """Load the shared library at ``path`` (a wasm side module) into this instance,
    compiling it asynchronously, as Pyodide does for the packages it loads: a later
    ``dlopen`` of the same path (an ``import``) finds it loaded."""
    import pyodide_js
    from pyodide.ffi import JsException

    try:
        await pyodide_js._api.loadDynlib(path)
    except JsException as e:
        raise OSError(f"cannot load the shared library {path}: {e}") from None


def loaded_dynlibs() -> list[str]:
    """Paths of the shared libraries loaded in this instance."""
    import pyodide_js
    from js import Object

    return [str(k) for k in Object.keys(pyodide_js._module.LDSO.loadedLibsByName)]


def in_browser_main_thread() -> bool:
    """True in a browser page's main thread (where large wasm modules cannot be
    compiled synchronously and Atomics.wait is not allowed)."""
    import js

    return hasattr(js, "window") and hasattr(js, "document")


async def load_package(names: str | list[str]) -> None:
    """``pyodide.loadPackage`` (from this Pyodide's lock file)."""
    import pyodide_js
    from pyodide.ffi import to_js

    await pyodide_js.loadPackage(to_js(names))


_same: Any = None


def same_js(a: Any, b: Any) -> bool:
    """True if two JsProxies stand for the same JavaScript object."""
    global _same
    if _same is None:
        from pyodide.code import run_js

        _same = run_js("(a, b) => a === b")
    return bool(_same(a, b))


# --- POSIX locks and umask for EXTMEMFS descriptors (see _posix.py) ---------------------


def owns_fd(fd: int) -> bool:
    """True if descriptor ``fd`` is open on an EXTMEMFS mount of this instance."""
    return _fs_type is not None and bool(_fs_type.ownsFd(fd))


def lock_fd(
    fd: int, op: str, kind: str, type_: str, whence: int, start: int, length: int, wait: bool
) -> dict | None:
    """A lock call on an EXTMEMFS descriptor (jsglue/backend_locks.js). For ``op="get"``
    returns the lock in the way as a dict (``type``, ``start``, ``len``, ``pid``) or None.
    Raises OSError with the errno (BlockingIOError for EAGAIN)."""
    r = call(fs_type().lockFd, fd, op, kind, type_, whence, start, length, wait)
    if r is None:
        return None
    return {"type": str(r.type), "start": int(r.start), "len": int(r.len), "pid": int(r.pid)}


def set_umask(mask: int) -> int:
    """Set the umask EXTMEMFS applies to new files and directories; returns the old one."""
    return int(fs_type().setUmask(mask))


def own_directory(path: str) -> bool:
    """A directory made at ``path`` by this instance from now on belongs to it (removed,
    if empty, when this instance dies or is evicted). False if not on EXTMEMFS."""
    return bool(call(fs_type().ownDirectory, path))
