"""One file system shared by every Pyodide instance that holds its memory.

The whole tree — directories, inodes and file data — lives in one shared
``WebAssembly.Memory`` (a *pool*). Hand ``pool.memory`` to another worker, call
:func:`attach` there, :func:`mount` it, and both see the same files synchronously::

    import pyodide_extmemfs as xmfs
    pool = xmfs.create_pool(initial_size="16MiB", maximum_size="1GiB")
    xmfs.mount(pool, "/shared")
    open("/shared/hello.txt", "w").write("hi")
    pool.stats()["files"]  # 1

A pool kept across reloads (OPFS in browsers, a directory in node)::

    pool = await xmfs.open_pool("analysis", maximum_size="2GiB")
    xmfs.mount(pool, "/shared")        # the files of its last sync
    await pool.sync()                  # durable when it returns

Advisory file locks (``fcntl.flock``, ``fcntl.lockf``, ``fcntl.fcntl`` record locks,
``os.lockf``) on files of a mounted pool hold across every instance attached to it, and
:func:`sqlite_connect` opens SQLite databases that several workers may use at once.

The package imports anywhere (for docs and type checkers); its functions need Pyodide.
"""

from __future__ import annotations

import os
from typing import Any

from . import _install, _jsglue, _persist, _posix
from ._install import InstallError
from ._sizes import MAX_POOL_BYTES, MIN_POOL_BYTES, parse_size
from .workers import Workers, worker_index

__version__ = "0.1.0"
__all__ = [
    "MAX_POOL_BYTES",
    "MIN_POOL_BYTES",
    "InstallError",
    "Pool",
    "Workers",
    "attach",
    "create_pool",
    "load_pool",
    "mount",
    "open_pool",
    "parse_size",
    "sqlite_connect",
    "unmount",
    "worker_index",
]


class Pool:
    """A pool: one shared ``WebAssembly.Memory`` holding a whole file system.

    Make one with :func:`create_pool` or :func:`attach`; do not call this directly.
    """

    def __init__(self, js_pool: Any) -> None:
        self._js = js_pool

    @property
    def memory(self) -> Any:
        """The shared ``WebAssembly.Memory`` (a JsProxy); post it to other workers."""
        return self._js.memory

    @property
    def js(self) -> Any:
        """The JavaScript ``Pool`` object (for JS code running in this instance)."""
        return self._js

    def stats(self) -> dict[str, int]:
        """Usage in bytes and counts.

        Keys: ``size`` (current Memory bytes), ``maximum_size``, ``used_bytes``,
        ``free_bytes`` (free inside ``size``), ``available_bytes`` (free plus room to
        grow), ``files``, ``directories``, ``symlinks``, ``inodes``,
        ``largest_free_extent`` (bytes of the largest free block), ``layout_version``,
        ``peak_parallel_copies`` (most threads ever copying file data at once: 2 or
        more shows copies of different files overlapping), ``compactions`` (times
        the pool slid its blocks together instead of growing), ``recoveries`` (dead
        or evicted instances cleaned up after), ``lease_ms`` (see :func:`create_pool`),
        ``lock_waits``, ``lock_wait_ms``, ``longest_lock_wait_ms`` (this instance's waits
        for pool locks that other instances held: how many, their total and the longest,
        since it attached or since :meth:`reset_lock_waits`), ``longest_lock_wait_on``
        (what that longest wait was for, e.g. ``"read META"``, ``"write stripe 5"``),
        ``reads_beside_writes`` (reads this instance made without waiting while another
        instance wrote other bytes of the same file in one big write),
        ``opens_without_lock`` (opens and closes this instance did without a lock: of a
        file it had open, or had closed and kept pinned), ``extent_moves`` and
        ``bytes_moved`` (files this instance moved because they had to grow where the
        next block was taken, and the bytes those moves copied: a write that moved its
        file paid for copying it once more).
        """
        return dict(_jsglue.call(self._js.stats).to_py())

    def reset_lock_waits(self) -> None:
        """Start this instance's lock-wait figures, ``reads_beside_writes``,
        ``opens_without_lock``, ``extent_moves`` and ``bytes_moved`` of :meth:`stats`
        over from zero."""
        self._js.resetLockWaits()

    @property
    def instance_id(self) -> int:
        """This instance's id in the pool (what :meth:`evict` takes)."""
        return int(self._js.instanceId)

    def instances(self) -> list[dict[str, Any]]:
        """The instances attached to the pool, this one included.

        Each is a dict: ``id``, ``slot``, ``self`` (this instance), ``state``
        (``"live"``, or ``"dead"`` while its cleanup finishes), ``open_pins`` (files it
        holds open), ``kept_pins`` (files it closed and keeps pinned, to open again
        without a lock), ``holds`` (locks it holds right now, e.g. ``["stripe 7"]``),
        ``since`` (attach time, ms since the epoch), ``file_locks`` (its records in the
        pool's file-lock table: flock, fcntl and lockf locks, owned dot-lock directories),
        ``waiting_for`` (the id of the instance whose record lock it waits for in
        ``F_SETLKW``, or None)."""
        return [dict(x) for x in _jsglue.call(self._js.instances).to_py()]

    def evict(self, instance_id: int) -> bool:
        """Declare the instance ``instance_id`` dead and clean up after it now: undo its
        unfinished change, release its locks and the files it held open. For hosts
        that terminated a worker themselves (others find a dead lock holder on their
        own within the lease). Never evict an instance that is still running.

        Returns False if no instance of that id is attached (already gone). Waits
        (blocking) until the instance's heartbeat has stood still for 60 ms; in a
        browser, right after ``Worker.terminate()``, use :meth:`evict_when_stopped`.

        Raises:
            ValueError: ``instance_id`` is not a valid id, or is this instance's own.
            OSError: EBUSY, the instance is still running.
        """
        return bool(_jsglue.call(self._js.evict, _instance_id(instance_id)))

    async def evict_when_stopped(self, instance_id: int, timeout: float = 5.0) -> bool:
        """:meth:`evict`, after waiting (without blocking) until the instance has
        stopped. Use this right after terminating a browser Web Worker: it stops
        only once the terminating thread has gone back to its event loop, so a
        blocking :meth:`evict` on that thread would find it still running.

        Raises:
            OSError: EBUSY, it still runs after ``timeout`` seconds.
        """
        from pyodide.ffi import JsException

        try:
            return bool(
                await self._js.evictWhenStopped(_instance_id(instance_id), 60, int(timeout * 1000))
            )
        except JsException as e:
            raise _jsglue.convert(e) from None

    async def sweep(self) -> list[int]:
        """Evict instances that died unnoticed (a worker terminated or crashed while
        holding no pool lock blocks nobody, so nobody finds it dead), and return their
        ids. In browsers each instance holds a Web Lock (``navigator.locks``) while
        attached, which the browser releases when its worker dies; elsewhere there is
        no such signal and this returns ``[]`` (use :meth:`evict`)."""
        from pyodide.ffi import JsException

        try:
            return [int(x) for x in (await self._js.sweep()).to_py()]
        except JsException as e:
            raise _jsglue.convert(e) from None

    def detach(self) -> None:
        """Leave the pool: release this instance's slot and the files it holds open.
        Unmount its mounts first; the Pool cannot be used afterwards."""
        _jsglue.call(self._js.detach)

    # ---- persistence (pyodide_extmemfs/_persist.py, jsglue/persist/) ----------------------

    @property
    def persisted_at(self) -> str | None:
        """Where this pool is persisted (``"OPFS extmemfs/<name>"`` or a directory), or
        ``None`` (a pool from :func:`create_pool`, :func:`attach` or :func:`load_pool`, or
        one whose persistence was closed)."""
        where = self._js.persistedAt
        return where if isinstance(where, str) else None  # (JS null arrives as jsnull)

    async def sync(self) -> dict[str, Any]:
        """Make the pool's current state durable; when it returns, a reload (or a new
        process) that opens the pool finds exactly this state. Only the pages changed
        since the last sync are written. Other workers may go on writing; they are held
        up only while the changed pages are copied (``pause_ms``).

        Returns a dict: ``generation``, ``bytes_written``, ``pages_written`` (64 KiB
        pages), ``dirty_pages``, ``ms``, ``pause_ms``.

        Raises:
            ValueError: the pool is not persisted (see :func:`open_pool`), or was closed.
            OSError: ENOSPC (storage full or over quota), EIO, EACCES: nothing of this
                sync is used, the previous generation stays on storage intact and the
                pool goes on in memory; a later sync retries.
        """
        return await _persist.sync(self)

    def autosync(self, seconds: float | None) -> None:
        """Sync in the background every ``seconds`` while something changed (``0`` or
        ``None``: stop). A failed background sync is retried at the next tick; its error
        is in ``pool.js.lastSyncError``. Raises ValueError if the pool is not persisted."""
        _persist.autosync(self, seconds)

    async def save(self, target: Any) -> dict[str, Any]:
        """Write a consistent image of the whole pool: to a path in this instance's file
        system (e.g. ``"/drive/analysis.xmfs"`` in JupyterLite) or to a JS
        ``FileSystemFileHandle`` / writable stream. :func:`load_pool` reads it back.
        Needs as much free memory as the pool's size while it writes.

        Returns ``bytes``, ``pages``, ``pause_ms``, ``ms``. Raises OSError if writing fails
        (the partial file is not a valid image), TypeError for an unknown target.
        """
        return await _persist.save(self, target)

    async def close(self, sync: bool = True) -> dict[str, Any] | None:
        """Stop persisting: a last :meth:`sync` (unless ``sync=False``), then release the
        storage and the ownership, so another tab or process may open it. The pool goes on
        in memory. Returns the last sync's info, or None."""
        return await _persist.close(self, sync)

    def file_locks(self) -> list[dict[str, Any]]:
        """Every advisory file lock in the pool, of all instances: dicts with ``ino``,
        ``kind`` (``"flock"``, ``"posix"``, ``"ofd"``, or ``"dir"`` for a dot-lock
        directory owned by its creator), ``type`` (``"read"``/``"write"``), ``start``
        and ``length`` (bytes; length 0 = to the end of the file), ``pid`` (the
        holder's instance id, as :attr:`instance_id` and ``F_GETLK``'s ``l_pid``) and
        ``ofd`` (the holder's open file description, 0 for POSIX locks)."""
        return [dict(x) for x in _jsglue.call(self._js.fileLocks).to_py()]

    def check(self) -> list[str]:
        """Walk the whole pool and return every violated invariant; ``[]`` when sound."""
        return [str(x) for x in _jsglue.call(self._js.validate).to_py()]

    # ---- packages installed in the pool (pyodide_extmemfs/_install.py) -----------------

    async def install(
        self,
        *requirements: str,
        deps: bool = True,
        pre: bool = False,
        index_urls: list[str] | str | None = None,
        constraints: list[str] | None = None,
        reinstall: bool = False,
        credentials: str | None = None,
        compile: bool = True,
        verbose: bool | int | None = None,
    ) -> list[dict[str, Any]]:
        """Install packages into the pool, once, for every instance that mounts it.

        ``requirements`` as for ``micropip.install`` ("attrs", "sympy==1.13", a wheel
        URL, ``emfs:`` paths), resolved the way ``micropip.install`` does in this
        instance (its index URLs and constraints unless given, this Pyodide's lock
        file). They go into ``.site-packages`` at the pool's root, which every
        :func:`mount` of the pool — in this instance, other instances and
        :class:`Workers` — puts on ``sys.path``: importable at once, nothing downloaded
        or unpacked again. ``.py`` files are byte-compiled once (``compile=True``) and
        the ``.pyc`` files are loaded by all. Shared libraries (``.so``) are loaded from
        the pool; in this instance right away, asynchronously. Packages already in the
        pool are not installed again (their shared libraries are loaded here if they
        are not yet: in a browser page, call this before importing a package with a
        large ``.so``). Needs the pool mounted here (writable); if it is not, it is
        mounted under ``/.extmemfs/``.

        Returns the distributions installed now: ``[{"name", "version", "source"}]``.

        Raises:
            pyodide_extmemfs.InstallError: a package cannot be found, fetched or
                installed (the message names it and says why), or another instance
                has held the install lock for 10 minutes.
        """
        from . import _install

        return await _install.install(
            self,
            requirements,
            deps=deps,
            pre=pre,
            index_urls=index_urls,
            constraints=constraints,
            reinstall=reinstall,
            credentials=credentials,
            compile=compile,
            verbose=verbose,
        )

    def packages(self) -> list[dict[str, Any]]:
        """The distributions installed in the pool (see :meth:`install`): each a dict
        ``name``, ``version``, ``source`` ("pyodide" for the lock file, "pypi", or
        the URL), ``files`` (how many), ``location`` (their directory here)."""
        from . import _install

        _jsglue.require_pyodide("Pool.packages")
        return _install.packages(self)

    def __repr__(self) -> str:
        try:
            s = self.stats()
            files = f"{s['files']} file" + ("" if s["files"] == 1 else "s")
            dirs = f"{s['directories']} director" + ("y" if s["directories"] == 1 else "ies")
            return (
                f"<pyodide_extmemfs.Pool {s['size']} bytes (max {s['maximum_size']}), "
                f"{files}, {dirs}>"
            )
        except Exception:  # repr must not fail
            return "<pyodide_extmemfs.Pool>"


def _instance_id(x: Any) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"an instance id is an int, got {type(x).__name__}")
    return x


def create_pool(
    initial_size: int | str = "16MiB",
    maximum_size: int | str = "1GiB",
    lease_ms: int = 1000,
) -> Pool:
    """Create a new, empty pool in a new shared ``WebAssembly.Memory``.

    Args:
        initial_size: bytes reserved now (int, or a string like ``"64MiB"``).
        maximum_size: bytes the pool may grow to; at most 4 GiB. Sizes round up to
            64 KiB pages.
        lease_ms: an instance that holds a lock and shows no sign of life (its
            heartbeat, bumped by all pool code, stands still) for this long is
            presumed dead: the others undo its unfinished change and take its locks
            over. 10 .. 600000; keep it well above the longest pause a live worker
            may take inside one file-system call.

    Raises:
        ValueError: a size is unparsable, out of 128 KiB .. 4 GiB, or initial > maximum;
            or lease_ms is out of range.
        TypeError: a size is neither int nor str.
        RuntimeError: outside Pyodide, or SharedArrayBuffer is unavailable (a page
            that is not cross-origin isolated: serve it with
            ``Cross-Origin-Opener-Policy: same-origin`` and
            ``Cross-Origin-Embedder-Policy: require-corp``).
        MemoryError: the browser could not reserve a Memory of that maximum.
    """
    initial = parse_size(initial_size, "initial_size")
    maximum = parse_size(maximum_size, "maximum_size")
    if initial > maximum:
        raise ValueError(
            f"initial_size {initial_size!r} ({initial} bytes) is above "
            f"maximum_size {maximum_size!r} ({maximum} bytes)"
        )
    if isinstance(lease_ms, bool) or not isinstance(lease_ms, int):
        raise TypeError(f"lease_ms must be an int (milliseconds), got {type(lease_ms).__name__}")
    _jsglue.require_pyodide("create_pool")
    mods = _jsglue.modules()
    opts = _jsglue.js_object(
        {"initialBytes": initial, "maximumBytes": maximum, "leaseMs": lease_ms}
    )
    try:
        return Pool(_jsglue.call(mods.Pool.create, opts))
    except ValueError as e:
        if "SharedArrayBuffer" in str(e):
            raise RuntimeError(str(e)) from None
        raise


async def open_pool(
    name: str,
    initial_size: int | str = "16MiB",
    maximum_size: int | str | None = None,
    lease_ms: int = 1000,
) -> Pool:
    """Open the persisted pool ``name``, or make it: in browsers (pages and workers) a
    directory ``extmemfs/<name>`` of the origin private file system, in node a host
    directory path. It holds the files of its last :meth:`Pool.sync`.

    Only one opener at a time: another tab, worker or process that opens it gets OSError
    EBUSY until this one calls :meth:`Pool.close` (or goes away). Other instances share it
    by :func:`attach` to its Memory, as with any pool.

    Args:
        initial_size: bytes of a new pool (a stored pool keeps its own size).
        maximum_size: maximum of a new pool (default 1 GiB); for a stored one, a larger
            value raises its maximum (never below its size).
        lease_ms: as in :func:`create_pool`.

    Raises:
        ValueError: a bad size; or the place holds something that is not a usable pool
            (damaged, truncated, other files, another layout version) — nothing in it is
            changed.
        OSError: EBUSY (open elsewhere), storage errors.
    """
    return await _persist.open_pool(name, initial_size, maximum_size, lease_ms)


async def load_pool(source: Any, maximum_size: int | str | None = None) -> Pool:
    """A new pool (in memory, not persisted) from an image written by :meth:`Pool.save`:
    bytes, a path in this instance's file system, or a JS Blob / File /
    FileSystemFileHandle / Uint8Array. Every page is checked against its checksum.

    Raises:
        ValueError: not an image, truncated, damaged, or of another layout version.
        TypeError: an unknown kind of source.
    """
    return await _persist.load_pool(source, maximum_size)


def attach(memory: Any) -> Pool:
    """Attach to the pool held in ``memory`` (a shared ``WebAssembly.Memory`` that
    another instance made with :func:`create_pool`).

    Raises:
        TypeError: ``memory`` is not a shared ``WebAssembly.Memory``.
        ValueError: the Memory is not a pool, or holds a pool of another layout version.
        OSError: EMFILE, all instance slots of the pool are taken (see
            :meth:`Pool.instances`, :meth:`Pool.evict`).
    """
    _jsglue.require_pyodide("attach")
    if isinstance(memory, Pool):
        memory = memory.memory
    if not _jsglue.is_js_proxy(memory):
        raise TypeError(
            "attach() needs the shared WebAssembly.Memory of a pool (pool.memory), "
            f"got {type(memory).__name__} {memory!r:.60}"
        )
    mods = _jsglue.modules()
    return Pool(_jsglue.call(mods.Pool.new, memory))


def mount(pool: Pool, path: str, readonly: bool = False) -> None:
    """Mount ``pool`` at ``path`` (made if missing) in this instance's file system.

    The first mount also makes ``fcntl.flock``, ``fcntl.lockf``, ``fcntl.fcntl`` (lock
    commands), ``os.lockf`` and ``os.umask`` work for files in EXTMEMFS mounts (locks
    shared by every instance of the pool); other files are left to the originals.

    Args:
        readonly: if true, every change through this mount fails with EROFS.

    Raises:
        TypeError: ``pool`` is not a :class:`Pool`.
        OSError: ``path`` is already a mount point (EBUSY), not a directory, etc.
    """
    _jsglue.require_pyodide("mount")
    if not isinstance(pool, Pool):
        raise TypeError(f"mount() needs a pyodide_extmemfs.Pool, got {type(pool).__name__}")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"mount path must be an absolute path string, got {path!r}")
    fs_type = _jsglue.fs_type()
    _posix.install()  # file locks and umask for EXTMEMFS descriptors (see _posix.py)
    os.makedirs(path, exist_ok=True)
    opts = _jsglue.js_object({"pool": pool.js, "readonly": bool(readonly)})
    try:
        _jsglue.call(fs_type.mountAt, opts, path)
    except OSError as e:
        raise OSError(
            e.errno, f"cannot mount a pool at {path}: {os.strerror(e.errno)}", path
        ) from None
    _install.on_mount(pool, path)  # the pool's packages on sys.path


def unmount(path: str) -> None:
    """Unmount the pool mounted at ``path``. Files stay in the pool.

    Raises:
        OSError: ``path`` is not a mount point (EINVAL).
    """
    _jsglue.require_pyodide("unmount")
    try:
        _jsglue.call(_jsglue.fs_type().unmountAt, path)
    except OSError as e:
        raise OSError(e.errno, f"cannot unmount {path}: {os.strerror(e.errno)}", path) from None
    _install.on_unmount(path)


def sqlite_connect(path: str | os.PathLike, **kwargs: Any) -> Any:
    """Open an SQLite database on an EXTMEMFS mount so that every worker sharing the
    pool can use it at once, safely (the ``unix-dotfile`` VFS, with a lock directory
    that recovery removes if its holder dies). Keyword arguments as
    :func:`sqlite3.connect`; ``timeout`` defaults to 60 seconds. Returns a
    :class:`sqlite3.Connection`. See :mod:`pyodide_extmemfs._sqlite`.

    Raises:
        ValueError: ``path`` is not on an EXTMEMFS mount, or names another VFS.
        sqlite3.Error: as :func:`sqlite3.connect`.
    """
    from ._sqlite import sqlite_connect as connect

    return connect(path, **kwargs)
