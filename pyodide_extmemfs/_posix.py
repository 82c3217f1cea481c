"""File locks and umask for EXTMEMFS, where Emscripten's C library cannot give them.

Inside Pyodide's wasm, ``fcntl(F_SETLK/F_SETLKW)`` always "succeeds", ``F_GETLK`` always
answers "unlocked" and ``flock`` does nothing, and no JavaScript can reach those stubs.
So :func:`install` (called by :func:`pyodide_extmemfs.mount`) replaces ``fcntl.flock``,
``fcntl.lockf``, ``fcntl.fcntl`` and ``os.lockf`` with versions that send calls on
descriptors of EXTMEMFS mounts to the pool's lock table (``jsglue/backend_locks.js``),
shared by every instance attached to the pool, and pass every other call, unchanged, to
the original function. Semantics are Linux's, with one Pyodide instance as the process:

* ``flock``: whole file, shared or exclusive, owned by the open file description (an
  ``open()`` and the descriptors ``dup``'d from it); released by ``LOCK_UN`` or when its
  last descriptor closes. Converting a lock first drops the old one (as on Linux).
* ``fcntl(F_SETLK/F_SETLKW/F_GETLK)``, ``fcntl.lockf``, ``os.lockf``: POSIX record
  locks on byte ranges, owned by the instance (the "process"): split, merged and
  replaced as on Linux, released by any ``close()`` of the file in that instance.
  ``F_GETLK`` reports the holder's pool instance id (:attr:`Pool.instance_id`) as
  ``l_pid``. ``F_OFD_SETLK/F_OFD_SETLKW/F_OFD_GETLK``: the same ranges owned by the open
  file description (``l_pid`` -1).
* Blocking forms wait (``Atomics.wait`` in workers and node; a browser main thread,
  which may not block, spins with growing pauses). Non-blocking forms raise
  :class:`BlockingIOError` (EAGAIN). A wait that would deadlock with another POSIX
  waiter raises ``OSError(EDEADLK)``.
* Locks held by an instance that dies are released when it is found dead or evicted.

``os.umask`` is kept for EXTMEMFS too: CPython's Emscripten port keeps a umask only on
node's main thread (``process.umask``); elsewhere ``os.umask`` always returned 0 and
nothing applied it. After :func:`install` the mask (Linux's usual 0o022 to begin with,
or node's) is applied to new files and directories in EXTMEMFS mounts.
"""

from __future__ import annotations

import errno
import importlib
import os
import struct
import sys
from types import ModuleType
from typing import Any

from . import _jsglue


def _fcntl_module() -> ModuleType:
    """``fcntl``, with its contents. JupyterLite's Pyodide kernel (0.8.6) puts an empty
    module in ``sys.modules["fcntl"]`` (``pyodide_kernel/mocks.py``, from the time
    Pyodide had no fcntl); Pyodide 314 has the real one. Fill the kernel's placeholder in
    from it, so that everyone who imports ``fcntl`` there gets the real API (and, once
    a pool is mounted, its locks). A runtime without any fcntl keeps the empty module:
    then no lock call is installed (see :func:`install`)."""
    mod = importlib.import_module("fcntl")
    if hasattr(mod, "F_GETLK"):
        return mod
    sys.modules.pop("fcntl", None)
    try:
        real = importlib.import_module("fcntl")
    except ImportError:
        return mod
    finally:
        sys.modules["fcntl"] = mod
    for key, value in vars(real).items():
        if not (key.startswith("__") and key.endswith("__")):
            setattr(mod, key, value)
    return mod


fcntl = _fcntl_module()
#: False where there is no fcntl to speak of (then the lock calls are left alone).
HAVE_FCNTL = hasattr(fcntl, "F_GETLK") and hasattr(fcntl, "flock")

#: ``struct flock`` of musl on wasm32: l_type, l_whence (short), padding, l_start,
#: l_len (off_t, 64-bit), l_pid (int), padding — 32 bytes.
FLOCK_STRUCT = struct.Struct("=hh4xqqi4x")

_MAX = 2**53 - 1  # the largest lock offset (jsglue/layout.js FL_MAX_OFFSET)
_orig: dict[str, Any] = {}
_real_umask = False
_mask = 0o022

_LOCK_CMDS: dict[int, tuple[str, str, bool]] = {}
for _name, _spec in (
    ("F_GETLK", ("get", "posix", False)),
    ("F_SETLK", ("set", "posix", False)),
    ("F_SETLKW", ("set", "posix", True)),
    ("F_OFD_GETLK", ("get", "ofd", False)),
    ("F_OFD_SETLK", ("set", "ofd", False)),
    ("F_OFD_SETLKW", ("set", "ofd", True)),
):
    if hasattr(fcntl, _name):
        _LOCK_CMDS[getattr(fcntl, _name)] = _spec
_TYPES = {
    getattr(fcntl, k, -1 - i): v
    for i, (k, v) in enumerate((("F_RDLCK", "read"), ("F_WRLCK", "write"), ("F_UNLCK", "unlock")))
}
_CODES = {v: k for k, v in _TYPES.items() if v != "unlock"}


def install() -> None:
    """Replace the lock functions of ``fcntl`` and ``os`` and ``os.umask`` (once)."""
    global _real_umask, _mask
    if _orig:
        return
    _orig.update(
        flock=getattr(fcntl, "flock", None),
        lockf=getattr(fcntl, "lockf", None),
        fcntl=getattr(fcntl, "fcntl", None),
        os_lockf=getattr(os, "lockf", None),
        umask=os.umask,
    )
    # Does this runtime keep a umask (node's main thread)? Set one and read it back.
    was = _orig["umask"](0o022)
    _real_umask = _orig["umask"](was) == 0o022
    _mask = (was if _real_umask else 0o022) & 0o777
    _jsglue.set_umask(_mask)
    for new, name in (
        (flock, "flock"),
        (lockf, "lockf"),
        (fcntl_, "fcntl"),
        (umask, "umask"),
        (os_lockf, "os_lockf"),
    ):
        old = _orig[name]
        if old is not None:
            new.__doc__ = (old.__doc__ or "") + _NOTE
            new.__wrapped__ = old
    if HAVE_FCNTL:
        fcntl.flock = flock
        fcntl.lockf = lockf
        fcntl.fcntl = fcntl_
    if _orig["os_lockf"] is not None:
        os.lockf = os_lockf
    os.umask = umask


_NOTE = (
    "\n\n(pyodide_extmemfs: on EXTMEMFS mounts, file locks are shared by every instance "
    "attached to the pool, and the umask applies to new files.)"
)


def _fileno(fd: Any) -> int:
    if isinstance(fd, int):
        n = fd
    else:
        fileno = getattr(fd, "fileno", None)
        if fileno is None:
            raise TypeError("argument must be an int, or have a fileno() method.")
        n = fileno()
        if not isinstance(n, int):
            raise TypeError("fileno() returned a non-integer")
    if n < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({n})")
    return n


def _err(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _range(
    fd: int, op: str, kind: str, type_: str, whence: int, start: int, length: int, wait: bool
) -> dict | None:
    for v in (start, length):
        if not -_MAX <= v <= _MAX:
            raise OSError(
                errno.EOVERFLOW,
                f"{os.strerror(errno.EOVERFLOW)} (lock offsets "
                f"beyond 2**53 - 1 are not supported on EXTMEMFS)",
            )
    return _jsglue.lock_fd(fd, op, kind, type_, whence, start, length, wait)


def flock(fd: Any, operation: int, /) -> None:
    n = _fileno(fd)
    if not _jsglue.owns_fd(n):
        return _orig["flock"](fd, operation)
    sys.audit("fcntl.flock", n, operation)
    type_ = {fcntl.LOCK_SH: "read", fcntl.LOCK_EX: "write", fcntl.LOCK_UN: "unlock"}.get(
        operation & ~fcntl.LOCK_NB
    )
    if type_ is None:
        raise _err(errno.EINVAL)
    _jsglue.lock_fd(n, "flock", "flock", type_, 0, 0, 0, not operation & fcntl.LOCK_NB)
    return None


def lockf(fd: Any, cmd: int, len: int = 0, start: int = 0, whence: int = 0, /) -> None:
    n = _fileno(fd)
    if not _jsglue.owns_fd(n):
        return _orig["lockf"](fd, cmd, len, start, whence)
    sys.audit("fcntl.lockf", n, cmd, len, start, whence)
    # As CPython's own lockf: LOCK_SH is a read lock, LOCK_EX a write lock.
    if cmd == fcntl.LOCK_UN:
        type_ = "unlock"
    elif cmd & fcntl.LOCK_SH:
        type_ = "read"
    elif cmd & fcntl.LOCK_EX:
        type_ = "write"
    else:
        raise ValueError("unrecognized lockf argument")
    _range(n, "set", "posix", type_, whence, start, len, not cmd & fcntl.LOCK_NB)
    return None


def fcntl_(fd: Any, cmd: int, arg: Any = 0, /) -> Any:  # (fcntl.fcntl)
    n = _fileno(fd)
    spec = _LOCK_CMDS.get(cmd)
    if spec is None or not _jsglue.owns_fd(n):
        return _orig["fcntl"](fd, cmd, arg)
    sys.audit("fcntl.fcntl", n, cmd, arg)
    op, kind, wait = spec
    if isinstance(arg, int):
        raise _err(errno.EFAULT)  # the struct flock's address: there is none
    if isinstance(arg, str):
        arg = arg.encode()
    buf = bytes(arg)
    if len(buf) > 1024:
        raise ValueError("fcntl argument 3 is too long")
    raw = buf.ljust(FLOCK_STRUCT.size, b"\0")
    l_type, l_whence, l_start, l_len, l_pid = FLOCK_STRUCT.unpack_from(raw)
    type_ = _TYPES.get(l_type)
    if type_ is None or (kind == "ofd" and l_pid != 0):
        raise _err(errno.EINVAL)
    r = _range(n, op, kind, type_, l_whence, l_start, l_len, wait)
    if op == "get":
        if r is None:
            out = FLOCK_STRUCT.pack(fcntl.F_UNLCK, l_whence, l_start, l_len, l_pid)
        else:
            out = FLOCK_STRUCT.pack(_CODES[r["type"]], os.SEEK_SET, r["start"], r["len"], r["pid"])
        return (out + buf[FLOCK_STRUCT.size :])[: len(buf)]
    return buf


def os_lockf(fd: int, command: int, length: int, /) -> None:
    if not isinstance(fd, int) or not _jsglue.owns_fd(fd):
        return _orig["os_lockf"](fd, command, length)
    sys.audit("os.lockf", fd, command, length)
    # musl's lockf(3): from the current position, `length` bytes (0: to the end).
    if command == os.F_TEST:
        if _range(fd, "get", "posix", "read", os.SEEK_CUR, 0, length, False) is None:
            return None
        raise _err(errno.EACCES)
    spec = {os.F_ULOCK: ("unlock", False), os.F_TLOCK: ("write", False), os.F_LOCK: ("write", True)}
    if command not in spec:
        raise _err(errno.EINVAL)
    type_, wait = spec[command]
    _range(fd, "set", "posix", type_, os.SEEK_CUR, 0, length, wait)
    return None


def umask(mask: int, /) -> int:
    global _mask
    was = _orig["umask"](mask)  # keeps node's process umask (NODEFS) where there is one
    old = was if _real_umask else _mask
    _mask = mask & 0o777
    _jsglue.set_umask(_mask)
    return old


fcntl_.__name__ = fcntl_.__qualname__ = "fcntl"
os_lockf.__name__ = os_lockf.__qualname__ = "lockf"
