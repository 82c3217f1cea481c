"""Runs inside Pyodide: the same file operations on any directory, with every result
(or errno name) recorded, so a MEMFS directory (the oracle) and an EXTMEMFS mount can
be compared step by step.

Known, deliberate differences from MEMFS (where MEMFS is wrong by POSIX) are listed in
MEMFS_DEVIATIONS and normalised by ``normalise``.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat

#: Steps where MEMFS is wrong by POSIX: label -> the POSIX result EXTMEMFS must give.
#: (MEMFS has no NAME_MAX: it accepts names of any length; POSIX/Linux: ENAMETOOLONG
#: for a name over 255 bytes.) Directory st_nlink is checked by ``nlink_checks``:
#: MEMFS says 1, POSIX/Linux says 2 + number of subdirectories.
MEMFS_DEVIATIONS = {
    "rename to long name": ("err", "ENAMETOOLONG"),
    "create long name": ("err", "ENAMETOOLONG"),
    "create 256-byte utf-8 name": ("err", "ENAMETOOLONG"),
    "after long": ("ok", sorted(["src", "z" * 255, "\u00e9" * 127])),
}


def _st(st: os.stat_result) -> tuple:
    kind = stat.S_IFMT(st.st_mode)
    size = st.st_size
    nlink = st.st_nlink if kind != stat.S_IFDIR else None  # compared separately
    return (kind, oct(stat.S_IMODE(st.st_mode)), size, nlink, st.st_blocks)


class Recorder:
    def __init__(self, root: str):
        self.root = root
        self.results: list[tuple[str, object]] = []

    def p(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def __call__(self, label: str, fn, *args):
        try:
            value = fn(*args)
            out = ("ok", value)
        except OSError as e:
            out = ("err", errno.errorcode.get(e.errno, e.errno))
        except ValueError as e:  # e.g. mmap of an empty file, refused before any syscall
            out = ("ValueError", str(e))
        self.results.append((label, out))
        return out


def scenario(root: str) -> list[tuple[str, object]]:
    """Perform the whole behaviour scenario under ``root`` (an empty directory)."""
    r = Recorder(root)
    P = r.p

    def write(rel, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
        fd = os.open(P(rel), flags, mode)
        try:
            return os.write(fd, data)
        finally:
            os.close(fd)

    def read(rel):
        with open(P(rel), "rb") as f:
            return f.read()

    def listing(rel=""):
        return sorted(os.listdir(P(rel)))

    def stat_(rel, follow=True):
        return _st(os.stat(P(rel), follow_symlinks=follow))

    # --- open flags -----------------------------------------------------------
    r("create", write, "a", b"hello")
    r("read", read, "a")
    r("o_excl existing", write, "a", b"x", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    r("o_excl new", write, "b", b"bee", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    r("open missing", os.open, P("missing"), os.O_RDONLY)
    r("open missing dir", os.open, P("nodir/x"), os.O_RDONLY)
    r("o_trunc", write, "a", b"HE", os.O_WRONLY | os.O_TRUNC)
    r("read after trunc", read, "a")
    r("o_append", write, "a", b"LLO", os.O_WRONLY | os.O_APPEND)
    r("read after append", read, "a")
    r("open dir for write", os.open, P(""), os.O_WRONLY)
    r("o_creat on dir path", os.open, P("newdir/"), os.O_WRONLY | os.O_CREAT)
    r("o_directory on file", os.open, P("a"), os.O_RDONLY | os.O_DIRECTORY)

    # --- read / write at offsets, seeks -------------------------------------------
    def offsets():
        fd = os.open(P("off"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            out = []
            out.append(os.write(fd, b"0123456789"))
            out.append(os.lseek(fd, 3, os.SEEK_SET))
            out.append(os.read(fd, 4))
            out.append(os.lseek(fd, -2, os.SEEK_END))
            out.append(os.read(fd, 10))
            out.append(os.lseek(fd, 5, os.SEEK_CUR))
            out.append(os.write(fd, b"XY"))  # past the end: zero-fills the gap
            out.append(os.pread(fd, 100, 0))
            out.append(os.pwrite(fd, b"ab", 1))
            out.append(os.pread(fd, 4, 0))
            out.append(os.read(fd, 5))  # at EOF
            try:
                os.lseek(fd, -100, os.SEEK_SET)
            except OSError as e:
                out.append(errno.errorcode[e.errno])
            out.append(os.fstat(fd).st_size)
            return out
        finally:
            os.close(fd)

    r("offsets", offsets)
    r("read only fd write", lambda: os.write(os.open(P("off"), os.O_RDONLY), b"x"))
    r("write only fd read", lambda: os.read(os.open(P("off"), os.O_WRONLY), 1))

    # --- truncate / ftruncate ---------------------------------------------------------
    r("truncate down", os.truncate, P("off"), 4)
    r("after truncate down", read, "off")
    r("truncate up", os.truncate, P("off"), 9)
    r("after truncate up", read, "off")

    def ftrunc():
        fd = os.open(P("off"), os.O_RDWR)
        try:
            os.ftruncate(fd, 2)
            a = os.pread(fd, 10, 0)
            os.ftruncate(fd, 6)
            return a, os.pread(fd, 10, 0), os.fstat(fd).st_size
        finally:
            os.close(fd)

    r("ftruncate", ftrunc)
    r("truncate dir", os.truncate, P(""), 0)
    r("truncate negative", os.truncate, P("off"), -1)
    r("ftruncate read-only fd", lambda: os.ftruncate(os.open(P("off"), os.O_RDONLY), 0))
    r("truncate missing", os.truncate, P("missing"), 0)

    # --- directories ------------------------------------------------------------------
    r("mkdir", os.mkdir, P("d"), 0o755)
    r("mkdir exists", os.mkdir, P("d"))
    r("mkdir over file", os.mkdir, P("a"))
    r("mkdir in missing", os.mkdir, P("nope/x"))
    r("mkdir in file", os.mkdir, P("a/x"))
    r("mkdir nested", os.mkdir, P("d/e"))
    r("write in nested", write, "d/e/f", b"deep")
    r("listdir root", listing)
    r("listdir d", listing, "d")
    r("listdir file", os.listdir, P("a"))
    r("listdir missing", os.listdir, P("missing"))
    r(
        "scandir types",
        lambda: sorted(
            (e.name, e.is_dir(), e.is_file(), e.is_symlink()) for e in os.scandir(P(""))
        ),
    )
    r("rmdir non-empty", os.rmdir, P("d"))
    r("rmdir file", os.rmdir, P("a"))
    r("rmdir missing", os.rmdir, P("missing"))
    r("unlink dir", os.unlink, P("d"))
    r("unlink missing", os.unlink, P("missing"))
    r("unlink", os.unlink, P("b"))
    r("after unlink", listing)
    r("rmdir empty", os.mkdir, P("empty"))
    r("rmdir empty 2", os.rmdir, P("empty"))
    r("after rmdir", listing)

    # --- rename -----------------------------------------------------------------------
    write("r1", b"one")
    write("r2", b"two")
    r("rename replace file", os.rename, P("r1"), P("r2"))
    r("after replace", read, "r2")
    r("after replace list", listing)
    r("rename missing", os.rename, P("r1"), P("r3"))
    r("rename same", os.rename, P("r2"), P("r2"))
    r("rename file over dir", os.rename, P("r2"), P("d"))
    os.mkdir(P("dd"))
    os.mkdir(P("dd/sub"))
    os.mkdir(P("emptyt"))
    r("rename dir over file", os.rename, P("dd"), P("r2"))
    r("rename dir over empty dir", os.rename, P("dd"), P("emptyt"))
    r("after dir over dir", listing)
    r("after dir over dir sub", listing, "emptyt")
    r("rename dir over non-empty", os.rename, P("emptyt"), P("d"))
    r("rename dir into itself", os.rename, P("d"), P("d/e/inside"))
    r("rename across dirs", os.rename, P("r2"), P("d/e/r2"))
    r("after across", listing, "d/e")
    r("rename dir across", os.rename, P("emptyt/sub"), P("d/sub2"))
    r("after dir across", (lambda: (listing("d"), listing("emptyt"))))
    r("rename into missing dir", os.rename, P("a"), P("nope/a"))
    # Long names live in their own directory: MEMFS keeps over-long names it then
    # cannot unlink, so they must not leak into later listings.
    os.mkdir(P("long"))
    write("long/src", b"long")
    r("rename to long name", os.rename, P("long/src"), P("long/" + "x" * 256))
    r("create long name", write, "long/" + "y" * 256, b"")
    r("create 255-byte name", write, "long/" + "z" * 255, b"ok")
    r("create 255-byte utf-8 name", write, "long/" + "\u00e9" * 127, b"ok")
    r("create 256-byte utf-8 name", write, "long/" + "\u00e9" * 128, b"")
    r("after long", listing, "long")

    # --- symlinks -----------------------------------------------------------------------
    r("symlink", os.symlink, "d/e/f", P("ln"))
    r("readlink", os.readlink, P("ln"))
    r("read via link", read, "ln")
    r("symlink exists", os.symlink, "x", P("ln"))
    r("symlink dangling", os.symlink, "nowhere", P("dangle"))
    r("read dangling", read, "dangle")
    r("lstat link", stat_, "ln", False)
    r("stat via link", stat_, "ln", True)
    r("readlink on file", os.readlink, P("a"))
    r("symlink to dir", os.symlink, "d", P("dl"))
    r("list via dir link", listing, "dl")
    r("replace symlink", lambda: (os.unlink(P("ln")), os.symlink("a", P("ln")), read("ln")))
    r("unlink symlink keeps target", lambda: (os.unlink(P("dl")), listing("d")))

    # --- chmod / utime / stat ---------------------------------------------------------------
    r("chmod", os.chmod, P("a"), 0o600)
    r("stat after chmod", stat_, "a")
    r("chmod dir", os.chmod, P("d"), 0o700)
    r("stat dir", stat_, "d")
    r("chmod missing", os.chmod, P("missing"), 0o600)
    r("utime", os.utime, P("a"), (1_000_000, 2_000_000))
    r("times after utime", lambda: (os.stat(P("a")).st_atime, os.stat(P("a")).st_mtime))
    r("utime ns", lambda: os.utime(P("a"), ns=(5_000_000_000, 7_000_000_000)))
    r("times after utime ns", lambda: (os.stat(P("a")).st_atime_ns, os.stat(P("a")).st_mtime_ns))
    r("stat file", stat_, "a")
    r("stat missing", os.stat, P("missing"))
    r("stat through file", os.stat, P("a/b"))
    r("stat ino stable", lambda: os.stat(P("a")).st_ino == os.stat(P("a")).st_ino)
    r("fstat == stat", lambda: _st(os.fstat(os.open(P("a"), os.O_RDONLY))) == stat_("a"))
    r(
        "ino preserved by rename",
        lambda: (
            lambda i: (
                os.rename(P("a"), P("a2")),
                os.stat(P("a2")).st_ino == i,
                os.rename(P("a2"), P("a")),
            )
        )(os.stat(P("a")).st_ino),
    )
    r(
        "mtime changes on write",
        lambda: (os.utime(P("a"), (0, 0)), write("a", b"new"), os.stat(P("a")).st_mtime > 0),
    )
    r(
        "dir mtime changes on create",
        lambda: (os.utime(P("d"), (0, 0)), write("d/t", b""), os.stat(P("d")).st_mtime > 0),
    )

    # --- mmap ----------------------------------------------------------------------------------
    def mm():
        write("mm", bytes(range(256)) * 64)
        with open(P("mm"), "r+b") as f:
            m = mmap.mmap(f.fileno(), 0)
            first = m[:4]
            m[0:4] = b"ABCD"
            m[-2:] = b"YZ"
            m.flush()
            m.close()
        data = read("mm")
        with open(P("mm"), "rb") as f:
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            ro = (m[100:104], len(m))
            m.close()
        return first, data[:6], data[-4:], len(data), ro

    r("mmap", mm)
    r(
        "mmap empty file",
        lambda: (write("empty", b""), mmap.mmap(os.open(P("empty"), os.O_RDWR), 0)),
    )

    # --- bigger content ----------------------------------------------------------------------------
    def big():
        blob = bytes((i * 7) & 0xFF for i in range(300_000))
        with open(P("big"), "wb") as f:
            for i in range(0, len(blob), 4096):
                f.write(blob[i : i + 4096])
        with open(P("big"), "rb") as f:
            f.seek(123_456)
            part = f.read(1000)
        return os.path.getsize(P("big")), part == blob[123_456:124_456], read("big") == blob

    r("big", big)
    r("final listing", listing)
    r("final d", listing, "d")
    return r.results


def nlink_checks(root: str) -> list[tuple[str, int]]:
    """Directory link counts (POSIX: 2 + subdirectories), compared against POSIX."""
    os.makedirs(os.path.join(root, "n/a/x"))
    os.makedirs(os.path.join(root, "n/b"))
    with open(os.path.join(root, "n/f"), "w"):
        pass
    out = [
        ("n", os.stat(os.path.join(root, "n")).st_nlink),
        ("n/a", os.stat(os.path.join(root, "n/a")).st_nlink),
        ("n/b", os.stat(os.path.join(root, "n/b")).st_nlink),
        ("n/f", os.stat(os.path.join(root, "n/f")).st_nlink),
    ]
    os.rmdir(os.path.join(root, "n/b"))
    out.append(("n after rmdir", os.stat(os.path.join(root, "n")).st_nlink))
    return out


def compare(a: list, b: list) -> list[str]:
    """Differences between MEMFS results ``a`` and EXTMEMFS results ``b``, as lines.
    Where MEMFS deviates from POSIX, EXTMEMFS must give the POSIX result instead."""
    diffs = []
    for (la, ra), (lb, rb) in zip(a, b):
        assert la == lb, (la, lb)
        if la in MEMFS_DEVIATIONS:
            if rb != MEMFS_DEVIATIONS[la]:
                diffs.append(f"{la}: EXTMEMFS {rb!r} != POSIX {MEMFS_DEVIATIONS[la]!r}")
        elif ra != rb:
            diffs.append(f"{la}: MEMFS {ra!r} != EXTMEMFS {rb!r}")
    if len(a) != len(b):
        diffs.append(f"step count {len(a)} != {len(b)}")
    return diffs
