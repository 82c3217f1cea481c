"""Runs inside Pyodide: the same file operations on any directory, with every result
(or errno name) recorded, so a MEMFS directory (the oracle) and an EXTMEMFS mount can
be compared step by step.

Known, deliberate differences from MEMFS (where MEMFS is wrong by POSIX) are listed in
MEMFS_DEVIATIONS; ``posix_checks`` covers behaviour where Emscripten's generic FS code
(not MEMFS itself) differs from Linux and EXTMEMFS gives Linux's answer (LINUX); what
EXTMEMFS cannot fix from where it sits is listed in NOT_FIXED.
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


#: Differences from Linux that Emscripten's generic FS code (library_fs.js, the syscall
#: layer) decides, which EXTMEMFS fixes for its own paths by wrapping the FS function that
#: decides (jsglue/backend_paths.js, backend.js); MEMFS keeps them. ``posix_checks``
#: tests each against LINUX:
#:   * a trailing slash on a non-directory ("file/"): Emscripten drops it, so stat,
#:     open and even unlink of "file/" act on the file; Linux: ENOTDIR (EISDIR for
#:     O_CREAT), and "link/" follows the symlink.
#:   * open(O_CREAT | O_EXCL) of a dangling symlink: Emscripten follows it and creates
#:     the target; Linux: EEXIST.
#:   * the umask: never applied by Emscripten (CPython's port keeps one only on node's
#:     main thread, and os.umask reports 0 elsewhere); EXTMEMFS applies it (0o022 where
#:     Pyodide keeps none, as Linux's default).
#:   * st_blocks: MEMFS counts 4096-byte blocks; Linux (ext4) counts 512-byte units of
#:     whole 4 KiB blocks (a 1-byte file: 8; a symlink under 60 bytes: 0).
#:   * DirEntry.inode(): getdents reports Emscripten's node id, not st_ino; EXTMEMFS
#:     nodes carry the pool's inode number as their id.
#:   * a listing read while entries are removed: Emscripten's getdents looks every name
#:     up again and fails the whole listing with ENOENT (MEMFS too); Linux never does.
#:     EXTMEMFS answers getdents from one pass over the directory.
#:   * getdents on a directory renamed after it was opened listed the old path (or
#:     failed); EXTMEMFS lists the directory it opened.
#:   * locks: fcntl(F_SETLK/F_SETLKW) always succeeds, F_GETLK always says F_UNLCK and
#:     flock does nothing, inside the wasm. pyodide_extmemfs routes Python's fcntl.flock,
#:     fcntl.lockf, fcntl.fcntl and os.lockf on EXTMEMFS descriptors to the pool's lock
#:     table (tests/test_locking.py).
NOT_FIXED = {
    "fcntl and flock called from C": "the syscalls are stubs inside Pyodide's wasm, bound "
    "at instantiation: C code (SQLite's default unix VFS, C extensions) still gets "
    "locks that always succeed. Use sqlite_connect (unix-dotfile VFS) for SQLite.",
    "umask() called from C": "os.umask is tracked; a C extension calling umask(2) itself "
    "reaches Pyodide's stub, which EXTMEMFS cannot see.",
    "*at() calls relative to a directory descriptor": "Emscripten resolves them by the "
    "path the directory was opened by (SYSCALLS.calculateAt): after another instance "
    "renames it, they resolve against the old path.",
    "permission checks": "Emscripten checks mode bits itself (FS.nodePermissions) as if "
    "for a non-root user, although getuid() says 0 in browsers; EXTMEMFS leaves that.",
    "st_uid / st_gid": "always 0, as MEMFS.",
}


def _st(st: os.stat_result) -> tuple:
    kind = stat.S_IFMT(st.st_mode)
    size = st.st_size
    nlink = st.st_nlink if kind != stat.S_IFDIR else None  # compared separately
    # st_blocks: Linux-like on EXTMEMFS (see posix_checks), MEMFS counts 4 KiB blocks
    return (kind, oct(stat.S_IMODE(st.st_mode)), size, nlink)


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
        # A map at an offset, and one of a whole file that is not a page multiple.
        g = mmap.ALLOCATIONGRANULARITY
        write("mm2", bytes((i * 13) & 0xFF for i in range(3 * g + 100)))
        with open(P("mm2"), "rb") as f:
            m = mmap.mmap(f.fileno(), 1000, access=mmap.ACCESS_READ, offset=g)
            at = m[:]
            m.close()
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            whole = (len(m), m[-100:] == read("mm2")[-100:], m[:] == read("mm2"))
            m.close()
        return first, data[:6], data[-4:], len(data), ro, at == read("mm2")[g : g + 1000], whole

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


#: What Linux (ext4) answers in ``posix_checks``.
LINUX = {
    "blocks: empty, 1 B, 4096 B, 4097 B, dir, short link, long link": [0, 8, 8, 16, 8, 0, 8],
    "blksize": 4096,
    "umask 0o027: mkdir, open 0o666, open then chmod 0o777": ["0o750", "0o640", "0o777"],
    "umask 0: open 0o666, mkdir": ["0o666", "0o777"],
    "umask returns the previous mask": ["0o0", "0o27"],
    "DirEntry.inode() == st_ino (files, dirs, symlinks)": True,
    "DirEntry types without stat": [
        ("dir", True, False, False),
        ("dirlink", False, False, True),
        ("f", False, True, False),
        ("filelink", False, False, True),
    ],
    "stat file/": "ENOTDIR",
    "stat file/.": "ENOTDIR",
    "open file/": "ENOTDIR",
    "open file/ O_CREAT": "EISDIR",
    "open missing/ O_CREAT": "EISDIR",
    "unlink file/": "ENOTDIR",
    "unlink dir/": "EISDIR",
    "unlink missing/": "ENOENT",
    "file still there": True,
    "lstat dirlink/ is the directory": True,
    "stat filelink/": "ENOTDIR",
    "rename file/ to x": "ENOTDIR",
    "rename file to x/": "ENOTDIR",
    "symlink to new/": "ENOENT",
    "symlink to file/": "EEXIST",
    "rmdir file/": "ENOTDIR",
    "mkdir new/, rmdir new/": None,
    "stat dir/.": True,
    "O_CREAT|O_EXCL on a dangling symlink": "EEXIST",
    "its target was not made": False,
    "O_CREAT on a dangling symlink makes the target": True,
    "O_CREAT|O_EXCL on a symlink to a file": "EEXIST",
    "a listing goes on while its entries are removed": True,
    "rewinddir reads the directory afresh": (2, 3),
}


def posix_checks(root: str) -> dict:
    """Behaviour where Emscripten's generic FS code differs from Linux (see the list
    above): results by label, errno names for errors, to compare with LINUX."""
    out: dict = {}

    def r(label, fn):
        try:
            out[label] = fn()
        except OSError as e:
            out[label] = errno.errorcode.get(e.errno, e.errno)

    def P(rel):
        return os.path.join(root, rel)

    def mode(rel):
        return oct(stat.S_IMODE(os.lstat(P(rel)).st_mode))

    def make(rel, n):
        with open(P(rel), "wb") as f:
            f.write(b"x" * n)
        return os.stat(P(rel)).st_blocks

    os.mkdir(P("dir"))
    os.symlink("dir", P("dirlink"))
    os.symlink("f", P("filelink"))
    os.symlink("y" * 100, P("longlink"))
    r(
        "blocks: empty, 1 B, 4096 B, 4097 B, dir, short link, long link",
        lambda: (
            [make("b0", 0), make("b1", 1), make("b4096", 4096), make("b4097", 4097)]
            + [os.stat(P("dir")).st_blocks]
            + [os.lstat(P(x)).st_blocks for x in ("dirlink", "longlink")]
        ),
    )
    r("blksize", lambda: os.stat(P("b1")).st_blksize)
    for x in ("b0", "b1", "b4096", "b4097", "longlink"):
        os.unlink(P(x))
    old = os.umask(0o027)
    try:

        def umask027():
            os.mkdir(P("m1"))
            os.close(os.open(P("m2"), os.O_CREAT | os.O_WRONLY, 0o666))
            os.close(os.open(P("m3"), os.O_CREAT | os.O_WRONLY, 0o666))
            os.chmod(P("m3"), 0o777)
            return [mode("m1"), mode("m2"), mode("m3")]

        r("umask 0o027: mkdir, open 0o666, open then chmod 0o777", umask027)
        os.umask(0)

        def umask0():
            os.close(os.open(P("m4"), os.O_CREAT | os.O_WRONLY, 0o666))
            os.mkdir(P("m5"))
            return [mode("m4"), mode("m5")]

        r("umask 0: open 0o666, mkdir", umask0)
        r("umask returns the previous mask", lambda: [oct(os.umask(0o027)), oct(os.umask(0))])
    finally:
        os.umask(old)
    os.rmdir(P("m1"))
    os.rmdir(P("m5"))
    for x in ("m2", "m3", "m4"):
        os.unlink(P(x))
    with open(P("f"), "w") as f:
        f.write("file")
    r(
        "DirEntry.inode() == st_ino (files, dirs, symlinks)",
        lambda: all(e.inode() == os.lstat(e.path).st_ino for e in os.scandir(root)),
    )
    r(
        "DirEntry types without stat",
        lambda: sorted(
            (
                e.name,
                e.is_dir(follow_symlinks=False),
                e.is_file(follow_symlinks=False),
                e.is_symlink(),
            )
            for e in os.scandir(root)
        ),
    )
    r("stat file/", lambda: os.stat(P("f") + "/"))
    r("stat file/.", lambda: os.stat(P("f") + "/."))
    r("open file/", lambda: os.open(P("f") + "/", os.O_RDONLY))
    r("open file/ O_CREAT", lambda: os.open(P("f") + "/", os.O_RDWR | os.O_CREAT))
    r("open missing/ O_CREAT", lambda: os.open(P("missing") + "/", os.O_RDWR | os.O_CREAT))
    r("unlink file/", lambda: os.unlink(P("f") + "/"))
    r("unlink dir/", lambda: os.unlink(P("dir") + "/"))
    r("unlink missing/", lambda: os.unlink(P("missing") + "/"))
    r("file still there", lambda: os.path.isfile(P("f")))
    r("lstat dirlink/ is the directory", lambda: stat.S_ISDIR(os.lstat(P("dirlink") + "/").st_mode))
    r("stat filelink/", lambda: os.stat(P("filelink") + "/"))
    r("rename file/ to x", lambda: os.rename(P("f") + "/", P("x")))
    r("rename file to x/", lambda: os.rename(P("f"), P("x") + "/"))
    r("symlink to new/", lambda: os.symlink("t", P("new") + "/"))
    r("symlink to file/", lambda: os.symlink("t", P("f") + "/"))
    r("rmdir file/", lambda: os.rmdir(P("f") + "/"))
    r("mkdir new/, rmdir new/", lambda: (os.mkdir(P("new") + "/"), os.rmdir(P("new") + "/"))[1])
    r("stat dir/.", lambda: stat.S_ISDIR(os.stat(P("dir") + "/.").st_mode))
    os.symlink("target", P("dangle"))
    r(
        "O_CREAT|O_EXCL on a dangling symlink",
        lambda: os.open(P("dangle"), os.O_RDWR | os.O_CREAT | os.O_EXCL),
    )
    r("its target was not made", lambda: os.path.exists(P("target")))
    r(
        "O_CREAT on a dangling symlink makes the target",
        lambda: (
            os.close(os.open(P("dangle"), os.O_RDWR | os.O_CREAT)),
            os.path.isfile(P("target")),
        )[1],
    )
    r(
        "O_CREAT|O_EXCL on a symlink to a file",
        lambda: os.open(P("filelink"), os.O_RDWR | os.O_CREAT | os.O_EXCL),
    )

    def listing_survives():
        os.mkdir(P("many"))
        for i in range(40):
            open(P(f"many/e{i}"), "w").close()
        it = os.scandir(P("many"))
        seen = [next(it).name]
        for i in range(40):
            if f"e{i}" not in seen:
                os.unlink(P(f"many/e{i}"))
        seen += [e.name for e in it]  # Emscripten's getdents: ENOENT here
        it.close()
        return os.listdir(P("many")) == seen[:1]

    r("a listing goes on while its entries are removed", listing_survives)

    def rewinddir_rereads():
        import ctypes

        libc = ctypes.CDLL(None)
        libc.opendir.restype = ctypes.c_void_p
        libc.readdir.restype = ctypes.c_void_p
        for f in (libc.readdir, libc.rewinddir, libc.closedir):
            f.argtypes = [ctypes.c_void_p]
        os.mkdir(P("rw"))
        d = libc.opendir(P("rw").encode())

        def count():
            n = 0
            while libc.readdir(d):
                n += 1
            return n

        first = count()
        open(P("rw/new"), "w").close()
        libc.rewinddir(d)
        again = count()
        libc.closedir(d)
        return first, again

    r("rewinddir reads the directory afresh", rewinddir_rereads)
    return out


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
