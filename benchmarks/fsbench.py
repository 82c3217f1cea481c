"""Benchmark cases: Python code that runs inside Pyodide (node or a browser).

suite.mjs loads this file into every Pyodide instance it starts (the main one and each
worker) and calls the functions below. Every case is timed here, in Python, around
ordinary file calls (open/read/write, os.*, mmap), so the figures are what Python code
gets. Each group runs on one file system per call: "xm" is a mounted pool
(EXTMEMFS), "mem" is a plain directory in /tmp (MEMFS, Emscripten's default), "zfs" is
the ZenFS peer (SingleBuffer on a SharedArrayBuffer, benchmarks/zenfs/peer.mjs) when
suite.mjs mounted it at /zfs.

Rates are "higher is better" (MiB/s, operations/s); sizes are bytes.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import random
import time

MiB = 1 << 20
KiB = 1 << 10
perf = time.perf_counter

XM_MOUNT = "/xm"
ZFS_MOUNT = "/zfs"
ROOTS = {"xm": "/xm/bench", "mem": "/tmp/membench", "zfs": "/zfs/bench"}
SENTINEL = (1 << 64) - 1  # ping-pong: "stop"

pool = None  # the pool mounted at XM_MOUNT in this instance
worker_pool = None  # main instance: the pool handed to the workers


def _root(fs: str) -> str:
    return ROOTS[fs]


def setup_main(initial: str, maximum: str) -> dict:
    """Main instance: a fresh pool mounted at /xm, and both bench directories."""
    global pool
    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool(initial, maximum)
    xmfs.mount(pool, XM_MOUNT)
    for fs in ("xm", "mem"):
        os.makedirs(ROOTS[fs], exist_ok=True)
    return pool.stats()


def setup_zenfs() -> None:
    """After suite.mjs mounted the ZenFS peer at /zfs: its bench directory."""
    os.makedirs(ROOTS["zfs"], exist_ok=True)


def setup_worker(memory) -> None:
    """Worker instance: attach to the parent's pool and mount it at /xm."""
    global pool
    import pyodide_extmemfs as xmfs

    pool = xmfs.attach(memory)
    xmfs.mount(pool, XM_MOUNT)
    os.makedirs(ROOTS["mem"], exist_ok=True)


def mount_worker_pool(path: str) -> None:
    """Main instance: mount the workers' pool too (for the main-thread wait case)."""
    import pyodide_extmemfs as xmfs

    xmfs.mount(worker_pool, path)


def new_pool(initial: str, maximum: str):
    """A second, fresh pool (for the worker cases); returns its Memory for the workers."""
    import pyodide_extmemfs as xmfs

    global worker_pool
    worker_pool = xmfs.create_pool(initial, maximum)
    return worker_pool.memory


def worker_pool_stats() -> dict:
    return worker_pool.stats()


def pool_check() -> list:
    """Invariant violations of the mounted pool ([] when sound)."""
    return pool.check()


def worker_pool_check() -> list:
    return worker_pool.check()


# ---- single-instance groups ---------------------------------------------------------


def _fill(path: str, size: int, byte: int = 0xA5) -> None:
    buf = bytes([byte]) * MiB
    with open(path, "wb", buffering=0) as f:
        for off in range(0, size, MiB):
            f.write(buf[: min(MiB, size - off)])


def group_seq(fs: str, total: int, chunk: int) -> dict:
    """Write a new file of `total` bytes in `chunk`-byte writes, then read it back.

    Unbuffered FileIO (open(..., buffering=0)) so each Python call is one write/read
    of `chunk` bytes; the read uses readinto (no allocation per call).
    """
    path = f"{_root(fs)}/seq.bin"
    buf = b"\xa5" * chunk
    n = total // chunk
    t0 = perf()
    with open(path, "wb", buffering=0) as f:
        w = f.write
        for _ in range(n):
            w(buf)
    t1 = perf()
    got = 0
    rb = bytearray(chunk)
    with open(path, "rb", buffering=0) as f:
        r = f.readinto
        for _ in range(n):
            got += r(rb)
    t2 = perf()
    os.unlink(path)
    if got != total or rb[-1] != 0xA5:
        raise AssertionError(f"{fs}: read back {got} of {total} bytes")
    return {"write": total / MiB / (t1 - t0), "read": total / MiB / (t2 - t1)}


def _turns(fs: str, base: str, n: int, slices: int):
    """The slices of range(n) for the two file systems in turns: yields (k, start, stop),
    each slice first for one and then for the other, which goes first alternating."""
    per = max(1, -(-n // slices))
    for i, start in enumerate(range(0, n, per)):
        for k in (fs, base) if i % 2 == 0 else (base, fs):
            yield k, start, min(n, start + per)


def group_seq_pair(fs: str, base: str, total: int, chunk: int, slices: int) -> dict:
    """group_seq on `fs` and on `base` at once, interleaved in slices (as group_random_pair).

    Each file system writes a new file of `total` bytes in `chunk`-byte unbuffered
    writes, then reads it back with readinto: both files are open side by side, and the
    n = total / chunk calls of each phase run in `slices` slices, alternating which file
    system goes first, each one's slices added up. Whole repetitions one after the other
    saw MEMFS's own 4 KiB reads in Chrome swing between 2.9 and 8.7 GB/s within one run.
    Returns {fs: {"write", "read"}, base: {...}} in MiB/s.
    """
    paths = {k: f"{_root(k)}/seq.bin" for k in (fs, base)}
    buf = b"\xa5" * chunk
    n = total // chunk
    rb = bytearray(chunk)
    got = dict.fromkeys(paths, 0)
    spent = {k: {"write": 0.0, "read": 0.0} for k in paths}
    for op, mode in (("write", "wb"), ("read", "rb")):
        # (closed below, each close timed with its file system's phase)
        files = {k: open(p, mode, buffering=0) for k, p in paths.items()}  # noqa: SIM115
        try:
            for k, a, b in _turns(fs, base, n, slices):
                f = files[k]
                if op == "write":
                    w = f.write
                    t0 = perf()
                    for _ in range(a, b):
                        w(buf)
                    spent[k][op] += perf() - t0
                else:
                    r = f.readinto
                    g = 0
                    t0 = perf()
                    for _ in range(a, b):
                        g += r(rb)
                    spent[k][op] += perf() - t0
                    got[k] += g
        finally:
            for k, f in files.items():
                t0 = perf()
                f.close()
                spent[k][op] += perf() - t0
    for k, path in paths.items():
        os.unlink(path)
        if got[k] != total:
            raise AssertionError(f"{k}: read back {got[k]} of {total} bytes")
    return {k: {op: total / MiB / t for op, t in v.items()} for k, v in spent.items()}


def group_random(fs: str, size: int, nops: int, seed: int) -> dict:
    """Random 4 KiB os.pread / os.pwrite at 4 KiB-aligned offsets of a `size`-byte file."""
    path = f"{_root(fs)}/rand.bin"
    _fill(path, size)
    rng = random.Random(seed)
    offs = [rng.randrange(size // 4096) * 4096 for _ in range(nops)]
    buf = b"\x5a" * 4096
    pread, pwrite = os.pread, os.pwrite
    fd = os.open(path, os.O_RDONLY)
    try:
        t0 = perf()
        for o in offs:
            pread(fd, 4096, o)
        t1 = perf()
    finally:
        os.close(fd)
    # The write timing includes the close: ZenFS keeps written data in a per-file cache
    # and writes it back at close (for MEMFS and EXTMEMFS the close costs microseconds).
    fd = os.open(path, os.O_RDWR)
    try:
        t2 = perf()
        for o in offs:
            pwrite(fd, buf, o)
    finally:
        os.close(fd)
    t3 = perf()
    _check_and_remove(fs, path, offs[-1], buf)
    return {"read": nops / (t1 - t0), "write": nops / (t3 - t2)}


def _check_and_remove(fs: str, path: str, off: int, buf: bytes) -> None:
    """Check that the last random write reads back, then remove the file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.pread(fd, len(buf), off) != buf:
            raise AssertionError(f"{fs}: random write not read back")
    finally:
        os.close(fd)
        os.unlink(path)


def group_random_pair(fs: str, base: str, size: int, nops: int, seed: int, slices: int) -> dict:
    """group_random's calls on `fs` and on `base` at once, interleaved in slices.

    The same `nops` random 4 KiB os.pread calls (then os.pwrite calls) run on a file of
    each file system in `slices` slices of nops / slices calls, alternating which goes
    first, and each file system's slices are added up. Both see the machine in the same
    state: on a VM whose speed moves by 20-30% from one second to the next, whole
    repetitions run one after the other did not (their ratios ranged 0.6-1.0x for
    unchanged code). As in group_random, the writes are timed up to and including the
    close(). Returns {fs: {"read", "write"}, base: {...}} in calls per second.
    """
    paths = {k: f"{_root(k)}/rand.bin" for k in (fs, base)}
    for path in paths.values():
        _fill(path, size)
    rng = random.Random(seed)
    offs = [rng.randrange(size // 4096) * 4096 for _ in range(nops)]
    buf = b"\x5a" * 4096
    pread, pwrite = os.pread, os.pwrite
    spent = {k: {"read": 0.0, "write": 0.0} for k in paths}
    for op, flags in (("read", os.O_RDONLY), ("write", os.O_RDWR)):
        fds = {k: os.open(p, flags) for k, p in paths.items()}
        try:
            for k, a, b in _turns(fs, base, nops, slices):
                fd = fds[k]
                part = offs[a:b]
                t0 = perf()
                if op == "read":
                    for o in part:
                        pread(fd, 4096, o)
                else:
                    for o in part:
                        pwrite(fd, buf, o)
                spent[k][op] += perf() - t0
        finally:
            for k, fd in fds.items():
                t0 = perf()
                os.close(fd)
                if op == "write":
                    spent[k][op] += perf() - t0
    for k, path in paths.items():
        _check_and_remove(k, path, offs[-1], buf)
    return {k: {op: nops / t for op, t in v.items()} for k, v in spent.items()}


def group_small(fs: str, n: int, listdir_reps: int) -> dict:
    """n files of 100 bytes in one directory: create+write+close, stat, listdir, unlink."""
    d = f"{_root(fs)}/small"
    os.mkdir(d)
    paths = [f"{d}/f{i:05d}" for i in range(n)]
    data = b"x" * 100
    t0 = perf()
    for p in paths:
        with open(p, "wb") as f:
            f.write(data)
    t1 = perf()
    st = os.stat
    for p in paths:
        st(p)
    t2 = perf()
    for _ in range(listdir_reps):
        names = os.listdir(d)
    t3 = perf()
    unlink = os.unlink
    for p in paths:
        unlink(p)
    t4 = perf()
    os.rmdir(d)
    if len(names) != n:
        raise AssertionError(f"{fs}: listdir saw {len(names)} of {n} entries")
    return {
        "create": n / (t1 - t0),
        "stat": n / (t2 - t1),
        "listdir": listdir_reps / (t3 - t2),
        "unlink": n / (t4 - t3),
    }


def group_small_pair(fs: str, base: str, n: int, listdir_reps: int, slices: int) -> dict:
    """group_small on `fs` and on `base` at once, interleaved in slices (as
    group_random_pair): each phase (create, stat, listdir, unlink) runs on both
    directories in `slices` slices in turns, each file system's slices added up (the
    listdirs in turns, one at a time). Returns {fs: {...}, base: {...}} in calls per s.
    """
    keys = (fs, base)
    dirs = {k: f"{_root(k)}/small" for k in keys}
    paths = {k: [f"{d}/f{i:05d}" for i in range(n)] for k, d in dirs.items()}
    for d in dirs.values():
        os.mkdir(d)
    data = b"x" * 100
    spent = {k: dict.fromkeys(("create", "stat", "listdir", "unlink"), 0.0) for k in keys}

    def create(p: str) -> None:
        with open(p, "wb") as f:
            f.write(data)

    def phase(op: str, call) -> None:
        for k, a, b in _turns(fs, base, n, slices):
            part = paths[k][a:b]
            t0 = perf()
            for p in part:
                call(p)
            spent[k][op] += perf() - t0

    phase("create", create)
    phase("stat", os.stat)
    names = {}
    for k, _, _ in _turns(fs, base, listdir_reps, listdir_reps):
        t0 = perf()
        names[k] = os.listdir(dirs[k])
        spent[k]["listdir"] += perf() - t0
    phase("unlink", os.unlink)
    for k in keys:
        os.rmdir(dirs[k])
        if len(names[k]) != n:
            raise AssertionError(f"{k}: listdir saw {len(names[k])} of {n} entries")
    counts = {"create": n, "stat": n, "listdir": listdir_reps, "unlink": n}
    return {k: {op: counts[op] / t for op, t in v.items()} for k, v in spent.items()}


def group_rename_pair(fs: str, base: str, n: int, slices: int) -> dict:
    """group_rename on `fs` and on `base` at once, interleaved in slices (as
    group_small_pair). Returns {fs: {"within", "across"}, base: {...}} in calls per s."""
    keys = (fs, base)
    names = {}
    for k in keys:
        d1, d2 = f"{_root(k)}/ren1", f"{_root(k)}/ren2"
        os.mkdir(d1)
        os.mkdir(d2)
        a = [f"{d1}/a{i:05d}" for i in range(n)]
        for p in a:
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY))
        b = [f"{d1}/b{i:05d}" for i in range(n)]
        names[k] = (d1, d2, a, b, [f"{d2}/b{i:05d}" for i in range(n)])
    spent = {k: {"within": 0.0, "across": 0.0} for k in keys}
    rename = os.rename
    for op, frm, to in (("within", 2, 3), ("across", 3, 4)):
        for k, a, b in _turns(fs, base, n, slices):
            src, dst = names[k][frm][a:b], names[k][to][a:b]
            t0 = perf()
            for x, y in zip(src, dst):
                rename(x, y)
            spent[k][op] += perf() - t0
    for k in keys:
        d1, d2, _, _, c = names[k]
        _check_renamed(k, d1, d2, c)
    return {k: {op: n / t for op, t in v.items()} for k, v in spent.items()}


def _check_renamed(fs: str, d1: str, d2: str, moved: list) -> None:
    """Check that every file went from d1 to d2 (as `moved`), then remove them both."""
    if os.listdir(d1) or len(os.listdir(d2)) != len(moved):
        raise AssertionError(f"{fs}: renames lost files")
    for p in moved:
        os.unlink(p)
    os.rmdir(d1)
    os.rmdir(d2)


def group_rename(fs: str, n: int) -> dict:
    """os.rename of n empty files within a directory, then each into another directory."""
    d1, d2 = f"{_root(fs)}/ren1", f"{_root(fs)}/ren2"
    os.mkdir(d1)
    os.mkdir(d2)
    a = [f"{d1}/a{i:05d}" for i in range(n)]
    b = [f"{d1}/b{i:05d}" for i in range(n)]
    c = [f"{d2}/b{i:05d}" for i in range(n)]
    for p in a:
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY))
    rename = os.rename
    t0 = perf()
    for x, y in zip(a, b):
        rename(x, y)
    t1 = perf()
    for x, y in zip(b, c):
        rename(x, y)
    t2 = perf()
    _check_renamed(fs, d1, d2, c)
    return {"within": n / (t1 - t0), "across": n / (t2 - t1)}


def group_mmap(fs: str, size: int) -> dict:
    """mmap a `size`-byte file and copy it out in 1 MiB slices (read-only map); then map
    it read-write, overwrite it in 1 MiB slices and unmap (write-back). Each timing
    includes mmap() and close()."""
    path = f"{_root(fs)}/mmap.bin"
    _fill(path, size)
    buf = bytearray(MiB)
    src = b"\x3c" * MiB
    fd = os.open(path, os.O_RDWR)
    try:
        t0 = perf()
        mm = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        mv = memoryview(mm)
        for o in range(0, size, MiB):
            buf[:] = mv[o : o + MiB]
        mv.release()
        mm.close()
        t1 = perf()
        mm = mmap.mmap(fd, size)
        for o in range(0, size, MiB):
            mm[o : o + MiB] = src
        mm.close()
        t2 = perf()
        if buf[-1] != 0xA5 or os.pread(fd, 1, size - 1) != b"\x3c":
            raise AssertionError(f"{fs}: mmap content wrong")
    finally:
        os.close(fd)
        os.unlink(path)
    return {"read": size / MiB / (t1 - t0), "write": size / MiB / (t2 - t1)}


# ---- memory --------------------------------------------------------------------------


def memory_meta(n: int) -> dict:
    """Pool bytes per small file beyond its data and name: in a fresh pool, create n
    files of 100 B in a new directory and compare used_bytes before and after. The
    inode table grows in chunks; a fresh pool makes its growth count too."""
    import pyodide_extmemfs as xmfs

    p = xmfs.create_pool("16MiB", "1GiB")
    mnt = "/xmmeta"
    xmfs.mount(p, mnt)
    d = f"{mnt}/meta"
    os.mkdir(d)
    names = [f"m{i:05d}" for i in range(n)]
    data = b"y" * 100
    u0 = p.stats()["used_bytes"]
    for nm in names:
        with open(f"{d}/{nm}", "wb") as f:
            f.write(data)
    u1 = p.stats()["used_bytes"]
    name_bytes = sum(len(nm.encode()) for nm in names)
    for nm in names:
        os.unlink(f"{d}/{nm}")
    u2 = p.stats()["used_bytes"]
    os.rmdir(d)
    xmfs.unmount(mnt)
    return {
        "files": n,
        "used_delta": u1 - u0,
        "data_bytes": 100 * n,
        "name_bytes": name_bytes,
        "meta_per_file": (u1 - u0 - 100 * n - name_bytes) / n,
        "left_after_unlink": u2 - u0,
    }


def memory_churn(ops: int, seed: int, max_file: int, live_cap: int) -> dict:
    """A fresh pool, then `ops` seeded random operations on up to 400 files: create
    (64 B .. `max_file`, log-uniform), append (64 B .. 128 KiB), truncate to a random
    smaller size, delete; whenever the live bytes pass `live_cap`, delete. Reports the
    pool's size (Memory bytes, which never shrink) and used bytes against the bytes live
    in files at the end, and the peak of live bytes during the churn."""
    import pyodide_extmemfs as xmfs

    p = xmfs.create_pool("16MiB", "2GiB")
    mnt = "/xmchurn"
    xmfs.mount(p, mnt)
    rng = random.Random(seed)
    live: dict[str, int] = {}
    total = peak = serial = 0
    chunk = b"c" * max_file
    for _ in range(ops):
        r = rng.random()
        if live and (r < 0.2 or len(live) > 400 or total > live_cap):
            name = rng.choice(list(live))
            os.unlink(f"{mnt}/{name}")
            total -= live.pop(name)
        elif live and r < 0.3:
            name = rng.choice(list(live))
            size = rng.randrange(live[name] + 1)
            os.truncate(f"{mnt}/{name}", size)
            total += size - live[name]
            live[name] = size
        elif live and r < 0.55:
            name = rng.choice(list(live))
            add = int(2 ** rng.uniform(6, 17))
            with open(f"{mnt}/{name}", "ab") as f:
                f.write(chunk[:add])
            live[name] += add
            total += add
        else:
            serial += 1
            name = f"c{serial:06d}"
            size = int(2 ** rng.uniform(6, max_file.bit_length() - 1))
            with open(f"{mnt}/{name}", "wb") as f:
                f.write(chunk[:size])
            live[name] = size
            total += size
        peak = max(peak, total)
    s = p.stats()
    problems = p.check()
    for name in live:
        os.unlink(f"{mnt}/{name}")
    empty = p.stats()
    xmfs.unmount(mnt)
    return {
        "ops": ops,
        "files_live": len(live),
        "live_bytes": total,
        "peak_live_bytes": peak,
        "pool_size": s["size"],
        "used_bytes": s["used_bytes"],
        "free_bytes": s["free_bytes"],
        "largest_free_extent": s["largest_free_extent"],
        "size_per_live": s["size"] / max(1, total),
        "used_per_live": s["used_bytes"] / max(1, total),
        "size_per_peak_live": s["size"] / max(1, peak),
        "used_after_delete_all": empty["used_bytes"],
        "check": problems,
    }


# ---- worker cases (each runs in a worker that called setup_worker) --------------------


def unlink(path: str) -> None:
    os.unlink(path)


def create_file(path: str, size: int) -> None:
    with open(path, "wb") as f:
        f.write(b"\0" * size)


def touch_free(directory: str) -> int:
    """Write zeros over every free extent of this instance's pool of 2 MiB or more (files
    of the largest free extent's size less 1 MiB, made by truncate, which zero-fills
    them), then delete them: the pages the pool grew but never wrote are touched, so no
    timed round pays their first-touch faults (the copy limit's buffers are touched too).
    (Not the whole extent: creating the file takes its directory entry from that same
    extent when it is the only free one, and a truncate to the size measured before then
    no longer fits: the pool grew instead, by a sixteenth of itself or more.)
    Returns the bytes written."""
    made = []
    total = 0
    try:
        while (n := pool.stats()["largest_free_extent"] - (1 << 20)) >= 1 << 20 and len(
            made
        ) < 4096:
            path = f"{directory}/touch{len(made)}.bin"
            with open(path, "wb") as f:
                made.append(path)
                f.truncate(n)
            total += n
    finally:
        for p in made:
            os.unlink(p)
    return total


def _wait_barrier(bar, slot: int, parties: int) -> None:
    import js

    js.Atomics.add(bar, slot, 1)
    while js.Atomics.load(bar, slot) < parties:
        pass


def write_file(
    path: str, total: int, chunk: int, bar, slot: int, parties: int, kept: bool = False
) -> float:
    """Wait until `parties` workers reached barrier `slot`, then write a new file of
    `total` bytes in `chunk`-byte writes — or, `kept`, the same loop over an existing file
    of that size from its start: nothing to create or grow (over a file in a worker's own
    MEMFS, Python's ceiling that any file system meets). Returns seconds (open to close)."""
    buf = b"\xa5" * chunk
    n = total // chunk
    _wait_barrier(bar, slot, parties)
    t0 = perf()
    with open(path, "r+b" if kept else "wb", buffering=0) as f:
        w = f.write
        for _ in range(n):
            w(buf)
    return perf() - t0


def pingpong_file(path: str, role: int, seconds: float, stall: float = 5.0) -> dict:
    """Ping-pong through one shared file of 16 bytes. A (role 0) writes counter i at
    offset 0 and polls offset 8 until it reads i back; B (role 1) polls offset 0 for i
    and writes i at offset 8. A stops after `seconds` by writing SENTINEL.
    One untimed round first, so the figure does not include B's start-up.

    A file system that does not show one instance's writes to another (a per-instance
    cache) never answers: a side that sees no progress for `stall` seconds gives up
    and returns {"stalled": True, ...} instead of spinning forever."""
    fd = os.open(path, os.O_RDWR)
    pread, pwrite = os.pread, os.pwrite
    frm = int.from_bytes
    polls = 0
    try:
        if role == 0:
            i = 0
            t0 = deadline = None
            start = 0
            while True:
                i += 1
                pwrite(fd, i.to_bytes(8, "little"), 0)
                waited = perf()
                while frm(pread(fd, 8, 8), "little") != i:
                    polls += 1
                    if polls & 255 == 0 and perf() - waited > stall:
                        pwrite(fd, SENTINEL.to_bytes(8, "little"), 0)
                        return {
                            "stalled": True,
                            "round_trips": max(0, i - 1 - start),
                            "polls": polls,
                        }
                if t0 is None:
                    t0 = perf()
                    deadline = t0 + seconds
                    start = i
                elif perf() >= deadline:
                    break
            dt = perf() - t0
            pwrite(fd, SENTINEL.to_bytes(8, "little"), 0)
            return {
                "round_trips": i - start,
                "seconds": dt,
                "rate": (i - start) / dt,
                "polls": polls,
            }
        want = 1
        waited = perf()
        while True:
            v = frm(pread(fd, 8, 0), "little")
            if v == want:
                pwrite(fd, v.to_bytes(8, "little"), 8)
                want += 1
                waited = perf()
            elif v == SENTINEL:
                return {"round_trips": want - 1, "polls": polls}
            else:
                polls += 1
                if polls & 255 == 0 and perf() - waited > stall:
                    return {"stalled": True, "round_trips": want - 1, "polls": polls}
    finally:
        os.close(fd)


def pingpong_msg(port, role: int, seconds: float):
    """Ping-pong over a MessagePort with a Python message handler at both ends. A
    (role 0) posts i, B's handler posts it back, A's handler posts i+1 until `seconds`
    have passed, then -1. Returns an awaitable with A's figures."""
    from pyodide.ffi import create_proxy

    loop = asyncio.get_event_loop()
    done = loop.create_future()
    state = {"n": 0, "t0": None, "deadline": None}

    def finish(result):
        port.removeEventListener("message", proxy)
        proxy.destroy()
        done.set_result(result)

    if role == 0:

        def on_message(e):
            v = e.data
            if state["t0"] is None:  # the untimed first round
                state["t0"] = perf()
                state["deadline"] = state["t0"] + seconds
                port.postMessage(v + 1)
                return
            state["n"] += 1
            if perf() < state["deadline"]:
                port.postMessage(v + 1)
            else:
                dt = perf() - state["t0"]
                port.postMessage(-1)
                finish({"round_trips": state["n"], "seconds": dt, "rate": state["n"] / dt})
    else:

        def on_message(e):
            v = e.data
            if v < 0:
                finish({"round_trips": state["n"]})
            else:
                state["n"] += 1
                port.postMessage(v)

    proxy = create_proxy(on_message)
    port.addEventListener("message", proxy)
    if hasattr(port, "start"):
        port.start()
    if role == 0:
        port.postMessage(0)
    return done


# ---- main-thread wait: small calls while workers move large files ----------------------


def make_file(path: str, size: int) -> None:
    """A file of `size` bytes written in 1 MiB writes."""
    _fill(path, size)


def big_io(mode: str, path: str, size: int, chunk: int, flags, ready: int) -> dict:
    """Worker side of the main-thread wait case. Signals `ready` (flags[ready] += 1),
    then until flags[0] is set: mode "write" writes a new `size`-byte file at `path` in
    `chunk`-byte writes and unlinks it (the file grows, its extent moves); mode "read"
    reads the existing file at `path` in `chunk`-byte readinto calls. Returns the bytes
    moved and the rounds done."""
    import js

    buf = b"\xa5" * chunk if mode == "write" else None
    rb = bytearray(chunk) if mode == "read" else None
    moved = rounds = 0
    js.Atomics.add(flags, ready, 1)
    t0 = perf()
    while not js.Atomics.load(flags, 0):
        if mode == "write":
            with open(path, "wb", buffering=0) as f:
                for _ in range(size // chunk):
                    f.write(buf)
                    moved += chunk
                    if js.Atomics.load(flags, 0):
                        break
            os.unlink(path)
        else:
            with open(path, "rb", buffering=0) as f:
                for _ in range(size // chunk):
                    moved += f.readinto(rb)
                    if js.Atomics.load(flags, 0):
                        break
        rounds += 1
    return {"bytes": moved, "rounds": rounds, "seconds": perf() - t0}


def _summary(ms: list) -> dict:
    s = sorted(ms)
    n = len(s)
    if not n:
        return {"calls": 0}
    return {
        "calls": n,
        "median_ms": s[n // 2],
        "p99_ms": s[min(n - 1, int(n * 0.99))],
        "max_ms": s[-1],
        "top_ms": s[-10:][::-1],
    }


def small_calls(
    writer_path: str,
    reader_path: str,
    small_path: str,
    seconds: float,
    flags,
    ready: int,
    parties: int,
    seed: int = 3,
) -> dict:
    """Main-instance side (in a browser: the page's main thread, which cannot sleep on a
    lock and spins instead). Waits until `parties` workers signalled `ready`, then for
    `seconds` repeats small calls and times each one: os.stat of the file a worker is
    writing and of the file the other is reading; open + 4 KiB os.pread at a random offset
    + close of each of them; a 4 KiB os.pread from a small file held open. A call that
    meets a missing file (the writer unlinks and re-creates its file) is timed too; a call
    failing otherwise is timed and counted by errno name (after 1,000 failures it stops).
    Each round also times a control (pure Python, no file system). Then sets flags[0]
    (stop). Returns per-kind, overall and control summaries in ms, and this instance's
    waits for pool locks the workers held meanwhile (count, total and longest ms)."""
    import errno

    import js

    rng = random.Random(seed)
    while js.Atomics.load(flags, ready) < parties:
        pass
    times: dict[str, list] = {"stat": [], "open+read 4 KiB+close": [], "pread 4 KiB": []}
    # The control: pure Python of about a small call's length, timed the same way and
    # touching no file system. Its longest shows how long this thread itself went without
    # the CPU (three busy threads on two CPUs get preempted), lock or no lock.
    control: list = []
    errors: dict[str, int] = {}
    missing = 0
    rand = rng.randrange

    def open_read_close(path):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.pread(fd, 4096, rand(1 << 20))
        finally:
            os.close(fd)

    def timed(kind, fn, *args):
        nonlocal missing
        t = perf()
        try:
            fn(*args)
        except FileNotFoundError:
            missing += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            errors[name] = errors.get(name, 0) + 1
        times[kind].append((perf() - t) * 1000)

    fd_small = os.open(small_path, os.O_RDONLY)
    small_size = os.fstat(fd_small).st_size
    # This instance's waits for locks the workers held, over the loop (None: not a pool).
    wp = globals().get("worker_pool")
    if wp is not None:
        wp.reset_lock_waits()
    t_end = perf() + seconds
    try:
        while perf() < t_end and sum(errors.values()) < 1000:
            for path in (writer_path, reader_path):
                timed("stat", os.stat, path)
                timed("open+read 4 KiB+close", open_read_close, path)
            timed("pread 4 KiB", os.pread, fd_small, 4096, rand(max(1, small_size - 4096)))
            t = perf()
            sum(range(300))
            control.append((perf() - t) * 1000)
    finally:
        js.Atomics.store(flags, 0, 1)
        try:
            os.close(fd_small)
        except OSError:
            pass
    every = [x for v in times.values() for x in v]
    lock_waits = None
    if wp is not None:
        s = wp.stats()
        lock_waits = {
            "count": s["lock_waits"],
            "total_ms": s["lock_wait_ms"],
            "max_ms": s["longest_lock_wait_ms"],
            "on": s["longest_lock_wait_on"],
            "beside": s["reads_beside_writes"],
        }
    return {
        "seconds": seconds,
        "lock_waits": lock_waits,
        "missing": missing,
        "errors": errors,
        "all": _summary(every),
        "kinds": {k: _summary(v) for k, v in times.items()},
        "control": _summary(control),
    }


def worker_pool_attached() -> bool:
    """Whether this (the main) instance is still attached to the workers' pool: False if
    the others evicted it, taking it for dead."""
    try:
        return any(i["self"] for i in worker_pool.instances())
    except Exception:  # an evicted instance's pool object refuses every call
        return False


def moves_since() -> int:
    """Bytes this instance's extent moves copied since the last call (its files had to
    grow where the next block was taken): starts this instance's stats() figures over."""
    moved = pool.stats()["bytes_moved"]
    pool.reset_lock_waits()
    return moved


def file_sizes(paths: list) -> list:
    """Size in bytes of each path, -1 where it is missing."""
    out = []
    for p in paths:
        try:
            out.append(os.stat(p).st_size)
        except FileNotFoundError:
            out.append(-1)
    return out
