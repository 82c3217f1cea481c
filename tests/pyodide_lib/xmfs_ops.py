"""Runs inside Pyodide: file operations as data, applied under a root directory, with
results (or errno names) returned as a ``repr`` string so that results from another
Pyodide instance compare by text. Used by the stateful fuzz (xmfs_stateful)."""

from __future__ import annotations

import errno
import os
import stat


def _st(st: os.stat_result) -> tuple:
    kind = stat.S_IFMT(st.st_mode)
    size = st.st_size  # MEMFS and EXTMEMFS both report 4096 for directories
    nlink = st.st_nlink if kind != stat.S_IFDIR else None  # dirs: MEMFS differs (POSIX)
    return (kind, oct(stat.S_IMODE(st.st_mode)), size, nlink)


def _do(root: str, op: tuple, oracle: bool = False):
    name, *args = op

    def P(rel):
        return os.path.join(root, rel)

    if name == "write":
        rel, data, offset = args
        fd = os.open(P(rel), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            return os.pwrite(fd, data, offset)
        finally:
            os.close(fd)
    if name == "append":
        rel, data = args
        fd = os.open(P(rel), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            return os.write(fd, data)
        finally:
            os.close(fd)
    if name == "create_excl":
        if oracle and os.path.islink(P(args[0])):
            # MEMFS follows a dangling symlink here and makes its target; POSIX (and
            # EXTMEMFS) say EEXIST: see xmfs_oracle's list of Emscripten differences.
            raise OSError(errno.EEXIST, os.strerror(errno.EEXIST))
        fd = os.open(P(args[0]), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return None
    if name == "read":
        with open(P(args[0]), "rb") as f:
            return f.read()
    if name == "pread":
        rel, n, offset = args
        fd = os.open(P(rel), os.O_RDONLY)
        try:
            return os.pread(fd, n, offset)
        finally:
            os.close(fd)
    if name == "truncate":
        return os.truncate(P(args[0]), args[1])
    if name == "mkdir":
        return os.mkdir(P(args[0]))
    if name == "rmdir":
        return os.rmdir(P(args[0]))
    if name == "unlink":
        return os.unlink(P(args[0]))
    if name == "rename":
        return os.rename(P(args[0]), P(args[1]))
    if name == "symlink":
        return os.symlink(args[0], P(args[1]))
    if name == "readlink":
        return os.readlink(P(args[0]))
    if name == "listdir":
        return sorted(os.listdir(P(args[0])))
    if name == "stat":
        return _st(os.stat(P(args[0])))
    if name == "lstat":
        return _st(os.lstat(P(args[0])))
    if name == "chmod":
        return os.chmod(P(args[0]), args[1])
    raise ValueError(f"unknown operation {name}")


def apply(root: str, op: tuple, oracle: bool = False) -> str:
    """Apply ``op`` under ``root``; the result or the errno name, as a repr string.
    ``oracle``: on MEMFS, give POSIX's result where Emscripten's differs."""
    try:
        return repr(("ok", _do(root, op, oracle)))
    except OSError as e:
        return repr(("err", errno.errorcode.get(e.errno, e.errno)))


def tree(root: str) -> str:
    """Every path under ``root`` with its type, mode, size and content (repr string)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        out.append((rel, "dir", oct(stat.S_IMODE(os.lstat(dirpath).st_mode))))
        for n in sorted(filenames):
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out.append((os.path.join(rel, n), "link", os.readlink(p)))
            else:
                with open(p, "rb") as f:
                    out.append(
                        (os.path.join(rel, n), "file", oct(stat.S_IMODE(st.st_mode)), f.read())
                    )
        for n in list(dirnames):
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                out.append((os.path.join(rel, n), "link", os.readlink(p)))
            elif not os.lstat(p).st_mode & stat.S_IXUSR:
                # Not searchable: what is inside cannot be stat'ed (EACCES). Linux (and
                # EXTMEMFS) still list its names; MEMFS fails the listing itself (its
                # getdents looks each entry up, which needs x). Compare it from here.
                mode = oct(stat.S_IMODE(os.lstat(p).st_mode))
                out.append((os.path.join(rel, n), "dir, not searchable", mode))
                dirnames.remove(n)
    return repr(out)


def apply_repr(root: str, op_repr: str) -> str:
    """``apply`` with the operation given as its repr (for calls from another instance)."""
    import ast

    return apply(root, ast.literal_eval(op_repr))
