"""Runs inside Pyodide: instance A (this one) changes the shared tree, a peer B
(xmfs_peers) must see every change on its very next operation, and the reverse.
Each function returns a list of failures (empty when everything held)."""

from __future__ import annotations

import errno
import os


# --- functions that run in the peer (sent by value: import inside) ---------------------
def b_stat(path):
    import os

    try:
        st = os.stat(path)
        return ("ok", st.st_size, oct(st.st_mode), st.st_mtime)
    except OSError as e:
        return ("err", e.errno)


def b_lstat_ok(path):
    import os

    try:
        os.lstat(path)
        return True
    except OSError:
        return False


def b_read(path):
    try:
        with open(path, "rb") as f:
            return ("ok", f.read())
    except OSError as e:
        return ("err", e.errno)


def b_list(path):
    import os

    try:
        return ("ok", sorted(os.listdir(path)))
    except OSError as e:
        return ("err", e.errno)


def b_write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def b_unlink(path):
    import os

    os.unlink(path)


def b_chdir(path):
    import os

    os.chdir(path)


def b_getcwd():
    import os

    try:
        return ("ok", os.getcwd())
    except OSError as e:
        return ("err", e.errno)


def b_create_relative(name):
    try:
        with open(name, "w") as f:
            f.write("x")
        return ("ok",)
    except OSError as e:
        return ("err", e.errno)


def _state():
    """A dict that survives between calls in one instance (for open descriptors)."""
    import sys
    import types

    mod = sys.modules.get("_xmfs_test_state")
    if mod is None:
        mod = types.ModuleType("_xmfs_test_state")
        mod.d = {}
        sys.modules["_xmfs_test_state"] = mod
    return mod.d


def b_open(key, path, flags):
    import os

    _state()[key] = os.open(path, flags)


def b_fd(key, op, *args):
    import os

    fd = _state()[key]
    if op == "pread":
        return os.pread(fd, *args)
    if op == "pwrite":
        return os.pwrite(fd, *args)
    if op == "fstat":
        st = os.fstat(fd)
        return (st.st_size, st.st_nlink)
    if op == "close":
        os.close(fd)
        del _state()[key]
        return None
    raise ValueError(op)


# --- the matrix -----------------------------------------------------------------------------
async def matrix(peer, mount: str) -> list[str]:
    fails: list[str] = []

    def P(*parts):
        return os.path.join(mount, *parts)

    def check(label, got, want):
        if got != want:
            fails.append(f"[{peer.kind}] {label}: got {got!r}, want {want!r}")

    def write(path, data):
        with open(path, "wb") as f:
            f.write(data)

    # A creates → B stats / opens / lists it (B looked first, so nothing is cached).
    check("B stat before create", (await peer.run(b_stat, P("c1")))[0:2], ("err", errno.ENOENT))
    write(P("c1"), b"created by A")
    check("B stat after create", (await peer.run(b_stat, P("c1")))[0:2], ("ok", 12))
    check("B read after create", await peer.run(b_read, P("c1")), ("ok", b"created by A"))
    check("B list after create", await peer.run(b_list, mount), ("ok", ["c1"]))

    # A unlinks → B gets ENOENT (B had the node cached).
    os.unlink(P("c1"))
    check("B stat after unlink", await peer.run(b_stat, P("c1")), ("err", errno.ENOENT))
    check("B read after unlink", await peer.run(b_read, P("c1")), ("err", errno.ENOENT))
    check("B list after unlink", await peer.run(b_list, mount), ("ok", []))

    # A renames a directory → B resolves the new path, not the old.
    os.makedirs(P("d1", "sub"))
    write(P("d1", "sub", "f"), b"in d1")
    check("B read d1/sub/f", await peer.run(b_read, P("d1", "sub", "f")), ("ok", b"in d1"))
    os.rename(P("d1"), P("d2"))
    check("B read old path", await peer.run(b_read, P("d1", "sub", "f")), ("err", errno.ENOENT))
    check("B stat old dir", await peer.run(b_stat, P("d1")), ("err", errno.ENOENT))
    check("B read new path", await peer.run(b_read, P("d2", "sub", "f")), ("ok", b"in d1"))

    # A truncates → B's stat and read see it; also through a descriptor B holds open.
    write(P("t"), bytes(range(100)) * 10)
    await peer.run(b_open, "t", P("t"), os.O_RDONLY)
    check("B fstat before truncate", await peer.run(b_fd, "t", "fstat"), (1000, 1))
    os.truncate(P("t"), 10)
    check("B stat after truncate", (await peer.run(b_stat, P("t")))[0:2], ("ok", 10))
    check("B read after truncate", await peer.run(b_read, P("t")), ("ok", bytes(range(10))))
    check("B fd after truncate", await peer.run(b_fd, "t", "pread", 100, 0), bytes(range(10)))
    os.truncate(P("t"), 16)
    check(
        "B read after truncate up",
        await peer.run(b_read, P("t")),
        ("ok", bytes(range(10)) + bytes(6)),
    )
    await peer.run(b_fd, "t", "close")

    # A removes a directory and makes a new one of the same name → B sees the new one.
    os.mkdir(P("r"))
    write(P("r", "old"), b"old")
    check("B list r before", await peer.run(b_list, P("r")), ("ok", ["old"]))
    os.unlink(P("r", "old"))
    os.rmdir(P("r"))
    check("B list r removed", await peer.run(b_list, P("r")), ("err", errno.ENOENT))
    os.mkdir(P("r"))
    write(P("r", "new"), b"new")
    check("B list r after", await peer.run(b_list, P("r")), ("ok", ["new"]))
    check("B read r/old", await peer.run(b_read, P("r", "old")), ("err", errno.ENOENT))

    # A replaces a symlink → B follows the new target.
    write(P("t1"), b"target one")
    write(P("t2"), b"target two")
    os.symlink("t1", P("ln"))
    check("B via link 1", await peer.run(b_read, P("ln")), ("ok", b"target one"))
    os.unlink(P("ln"))
    os.symlink("t2", P("ln"))
    check("B via link 2", await peer.run(b_read, P("ln")), ("ok", b"target two"))
    os.symlink("t1", P("ln.tmp"))
    os.replace(P("ln.tmp"), P("ln"))
    check("B via link replaced by rename", await peer.run(b_read, P("ln")), ("ok", b"target one"))

    # A chmods and sets times → B's stat sees them.
    os.chmod(P("t1"), 0o600)
    os.utime(P("t1"), (1234, 5678))
    st = await peer.run(b_stat, P("t1"))
    check("B sees chmod", st[2], oct(0o100600))
    check("B sees utime", st[3], 5678.0)

    # B's current directory: renamed by A → getcwd follows; removed → ENOENT (Linux).
    os.mkdir(P("cw"))
    await peer.run(b_chdir, P("cw"))
    check("B getcwd", await peer.run(b_getcwd), ("ok", P("cw")))
    os.rename(P("cw"), P("cw2"))
    check("B getcwd after rename", await peer.run(b_getcwd), ("ok", P("cw2")))
    check("B relative create after rename", await peer.run(b_create_relative, "rel"), ("ok",))
    check("A sees B's relative file", os.path.exists(P("cw2", "rel")), True)
    os.unlink(P("cw2", "rel"))
    os.rmdir(P("cw2"))
    check("B getcwd after rmdir", await peer.run(b_getcwd), ("err", errno.ENOENT))
    check(
        "B relative create after rmdir",
        await peer.run(b_create_relative, "rel"),
        ("err", errno.ENOENT),
    )
    await peer.run(b_chdir, "/")

    # The reverse direction: B changes, A sees at once.
    await peer.run(b_write, P("fromB"), b"written by B")
    check("A reads B's file", open(P("fromB"), "rb").read(), b"written by B")
    await peer.run(b_unlink, P("fromB"))
    check("A after B's unlink", os.path.exists(P("fromB")), False)
    return fails


async def open_file_semantics(peer, mount: str, pool) -> list[str]:
    """Unlink-while-open and rename-while-open across instances; space comes back."""
    fails: list[str] = []

    def check(label, got, want):
        if got != want:
            fails.append(f"[{peer.kind}] {label}: got {got!r}, want {want!r}")

    # Both instances open a file once first: each keeps its table of open files from then
    # on, and the space that must come back is the files' own.
    scratch = os.path.join(mount, "scratch")
    with open(scratch, "wb") as f:
        f.write(b"x")
    await peer.run(b_open, "scratch", scratch, os.O_RDONLY)
    await peer.run(b_fd, "scratch", "close")
    os.unlink(scratch)
    used0 = pool.stats()["used_bytes"]
    path = os.path.join(mount, "uo")
    data = bytes(range(256)) * (3 * 4096)  # 3 MiB
    with open(path, "wb") as f:
        f.write(data)
    await peer.run(b_open, "uo", path, os.O_RDWR)
    os.unlink(path)
    check("A no longer sees it", os.path.exists(path), False)
    check("B reads through its fd", await peer.run(b_fd, "uo", "pread", len(data), 0) == data, True)
    check("B writes through its fd", await peer.run(b_fd, "uo", "pwrite", b"still here", 0), 10)
    check("B fstat nlink 0", await peer.run(b_fd, "uo", "fstat"), (len(data), 0))
    check("pool keeps the unlinked file", pool.stats()["files"], 1)
    check("check() while held", pool.check(), [])
    await peer.run(b_fd, "uo", "close")
    check("space returned", pool.stats()["used_bytes"], used0)
    check("file count back", pool.stats()["files"], 0)

    path = os.path.join(mount, "ro")
    with open(path, "wb") as f:
        f.write(b"0123456789")
    await peer.run(b_open, "ro", path, os.O_RDWR)
    os.rename(path, path + "2")
    check("B reads after rename", await peer.run(b_fd, "ro", "pread", 10, 0), b"0123456789")
    await peer.run(b_fd, "ro", "pwrite", b"AB", 0)
    check("A sees B's write at the new name", open(path + "2", "rb").read(), b"AB23456789")
    await peer.run(b_fd, "ro", "close")
    os.unlink(path + "2")
    check("space returned after rename case", pool.stats()["used_bytes"], used0)
    return fails
