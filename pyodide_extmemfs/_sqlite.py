"""SQLite databases shared by workers: :func:`sqlite_connect`.

Pyodide's ``sqlite3`` uses SQLite's default ``unix`` VFS, which locks with
``fcntl(F_SETLK)`` from inside the wasm — a stub that always succeeds, beyond the reach
of Python's ``fcntl`` module. Two workers then both "hold" the write lock, and one
silently undoes the other's transaction (it takes the other's journal for a crashed
one and rolls it back) or corrupts the file.

SQLite's built-in ``unix-dotfile`` VFS locks by making a directory ``<database>.lock``
instead: a single ``mkdir`` in the pool, atomic across every instance, which only one can
win. :func:`sqlite_connect` opens the database with that VFS and declares the lock
directory owned by this instance: if the instance dies or is evicted while it holds the
lock, recovery removes the directory, and the next connection rolls the dead one's
unfinished transaction back from its journal.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any
from urllib.parse import quote, unquote

from . import _jsglue

#: Seconds a connection waits for the lock before "database is locked" (SQLite's
#: busy timeout). Longer than sqlite3's 5 s: every transaction, reads included,
#: takes the one dot-lock, so waits are longer than with shared locks.
DEFAULT_TIMEOUT = 60.0


def sqlite_connect(path: str | os.PathLike, **kwargs: Any) -> sqlite3.Connection:
    """Open the SQLite database at ``path`` (on an EXTMEMFS mount) so that every worker
    sharing the pool can use it at the same time, safely.

    Takes the keyword arguments of :func:`sqlite3.connect`; ``timeout`` defaults to
    :data:`DEFAULT_TIMEOUT` seconds. With ``uri=True``, ``path`` may be a ``file:`` URI
    (its other parameters are kept). The database must use a rollback journal
    (``journal_mode`` DELETE, the default, TRUNCATE or PERSIST): the ``unix-dotfile``
    VFS has no shared memory for WAL. Every transaction, reads included, holds the one
    lock, so transactions of different workers run one after another.

    Raises:
        ValueError: ``path`` is not on an EXTMEMFS mount of this instance (open other
            databases with :func:`sqlite3.connect`), or the URI names another VFS.
        sqlite3.Error: as :func:`sqlite3.connect`.
    """
    _jsglue.require_pyodide("sqlite_connect")
    query = ""
    if kwargs.get("uri") and isinstance(path, str) and path.startswith("file:"):
        target, _, query = path[len("file:") :].partition("?")
        target = unquote(target)
        params = [p for p in query.split("&") if p]
        for p in params:
            if p.startswith("vfs=") and p != "vfs=unix-dotfile":
                raise ValueError(f"sqlite_connect uses the unix-dotfile VFS, not {p[4:]!r}")
        query = "&".join(p for p in params if not p.startswith("vfs="))
    else:
        target = os.fspath(path)
        if not isinstance(target, str):
            target = os.fsdecode(target)
    if target in ("", ":memory:"):
        raise ValueError("sqlite_connect is for database files on EXTMEMFS; use sqlite3.connect")
    full = os.path.abspath(target)
    real = os.path.realpath(full)
    # SQLite names the lock after the full path it opens (symlinks resolved): own both.
    owned = [_jsglue.own_directory(p + ".lock") for p in {full, real}]
    if not any(owned):
        raise ValueError(
            f"{target!r} is not on an EXTMEMFS mount: sqlite_connect shares databases "
            "between workers through a pool (use sqlite3.connect for other files)"
        )
    uri = f"file:{quote(real)}?vfs=unix-dotfile" + (f"&{query}" if query else "")
    kwargs["uri"] = True
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    return sqlite3.connect(uri, **kwargs)
