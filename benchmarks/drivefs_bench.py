"""The DriveFS comparison: one file-system workload on JupyterLite's ``/drive``, on
``/tmp`` (MEMFS) and on a pyodide-extmemfs pool, timed from Python inside the kernel.

Runs in a JupyterLite Pyodide kernel (the site that scripts/jupyterlite.sh builds ships
this file beside the example notebook, so it is ``/drive/drivefs_bench.py`` there)::

    import sys; sys.path.insert(0, "/drive")
    import drivefs_bench
    result = drivefs_bench.run({"/drive": "/drive", "/tmp": "/tmp", "pool": "/shared"})
    print(drivefs_bench.table(result))

benchmarks/jupyterlite.py (``bash benchmarks/run.sh --jupyterlite``) drives it in
headless Chromium and writes benchmarks/results/. Nothing here asserts a speed.

Workload, per file system, in a fresh directory that is removed afterwards:

- ``create``  ``files`` new files of ``size`` bytes each: open, write, close
- ``stat``    ``os.stat`` of each
- ``listdir`` ``os.listdir`` of the directory (entries per second)
- ``read``    open, read whole, close each (content checked)
- ``unlink``  ``os.unlink`` of each
- ``write``   one file of ``big_mib`` MiB in 1 MiB unbuffered writes, closed (MiB/s)
- ``readbig`` that file read back in 1 MiB ``readinto`` calls (MiB/s, checksum checked)

Each repetition runs every file system once, in an order that rotates between
repetitions; a figure is the median over the repetitions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import time

CASES = [
    # key, unit, description
    ("create", "files/s", "create+write+close"),
    ("stat", "stats/s", "stat"),
    ("listdir", "entries/s", "listdir"),
    ("read", "files/s", "open+read+close"),
    ("unlink", "files/s", "unlink"),
    ("write", "MiB/s", "sequential write, 1 MiB chunks"),
    ("readbig", "MiB/s", "sequential read, 1 MiB chunks"),
]

MIB = 1 << 20
_serial = 0


def _workdir(root: str) -> str:
    global _serial
    _serial += 1
    d = os.path.join(root, f"xmfs-bench-{os.getpid()}-{_serial}")
    os.makedirs(d)
    return d


def _read(path: str) -> bytes:
    """The whole file. JupyterLite's DriveFS (/drive) now and then answers the read of a
    file it has just written, stat-ed and listed with ENOENT (its service worker is
    restarting): that read is tried again for up to 5 s, and said so."""
    deadline = time.monotonic() + 5
    while True:
        try:
            with open(path, "rb", buffering=0) as f:
                return f.read()
        except FileNotFoundError:
            if time.monotonic() > deadline:
                raise
            print(f"note: {path}: ENOENT for a file just written and listed; reading again")
            time.sleep(0.1)


def once(root: str, files: int, size: int, big_mib: int) -> dict[str, float]:
    """Run the workload once under ``root``; returns a rate per case (see CASES)."""
    d = _workdir(root)
    clock = time.perf_counter
    rates: dict[str, float] = {}
    try:
        payload = os.urandom(size)
        paths = [os.path.join(d, f"f{i:05d}.bin") for i in range(files)]

        t = clock()
        for p in paths:
            with open(p, "wb", buffering=0) as f:
                f.write(payload)
        rates["create"] = files / (clock() - t)

        t = clock()
        for p in paths:
            if os.stat(p).st_size != size:
                raise AssertionError(f"{p}: wrong size")
        rates["stat"] = files / (clock() - t)

        rounds = 5
        t = clock()
        for _ in range(rounds):
            names = os.listdir(d)
        rates["listdir"] = rounds * files / (clock() - t)
        if len(names) != files:
            raise AssertionError(f"listdir {d}: {len(names)} entries, expected {files}")

        t = clock()
        for p in paths:
            if _read(p) != payload:
                raise AssertionError(f"{p}: content differs")
        rates["read"] = files / (clock() - t)

        t = clock()
        for p in paths:
            os.unlink(p)
        rates["unlink"] = files / (clock() - t)

        chunk = os.urandom(MIB)
        want = hashlib.sha256(chunk * big_mib).hexdigest()
        big = os.path.join(d, "big.bin")
        t = clock()
        with open(big, "wb", buffering=0) as f:
            for _ in range(big_mib):
                f.write(chunk)
        rates["write"] = big_mib / (clock() - t)

        buf = bytearray(MIB)
        got = 0
        t = clock()
        with open(big, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                got += n
        rates["readbig"] = big_mib / (clock() - t)
        h = hashlib.sha256()  # checked after the timed read: hashing is slower than reading
        with open(big, "rb") as f:
            while block := f.read(MIB):
                h.update(block)
        if got != big_mib * MIB or h.hexdigest() != want:
            raise AssertionError(f"{big}: {got} bytes read back, checksum differs")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return rates


def run(
    roots: dict[str, str],
    files: int = 200,
    size: int = 4096,
    big_mib: int = 4,
    repeats: int = 3,
) -> dict:
    """Time the workload on every ``label: directory`` of ``roots``.

    Returns ``{"params", "labels", "samples": {label: {case: [rate, ...]}},
    "median": {label: {case: rate}}}``; rates in the units of CASES.
    """
    labels = list(roots)
    samples = {label: {c: [] for c, _, _ in CASES} for label in labels}
    for r in range(repeats):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        for label in order:
            for case, rate in once(roots[label], files, size, big_mib).items():
                samples[label][case].append(rate)
    median = {
        label: {c: statistics.median(v) for c, v in cases.items()}
        for label, cases in samples.items()
    }
    return {
        "params": {
            "files": files,
            "size": size,
            "big_mib": big_mib,
            "repeats": repeats,
            "roots": roots,
        },
        "labels": labels,
        "samples": samples,
        "median": median,
    }


def table(
    result: dict, against: tuple[str, ...] = ("/drive", "/tmp"), subject: str = "pool"
) -> str:
    """A Markdown table: the median rate on each file system, and ``subject``'s rate
    divided by each of ``against`` (so 10× means the pool is ten times as fast)."""
    labels = result["labels"]
    med = result["median"]
    p = result["params"]
    head = [
        "case",
        *[f"{label}" for label in labels],
        *[f"{subject} ÷ {a}" for a in against if a in med and subject in med],
    ]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for case, unit, what in CASES:
        if case in ("create", "stat", "read", "unlink"):
            what = f"{what}, {p['files']:,} × {p['size']:,} B"
        elif case == "listdir":
            what = f"{what}, {p['files']:,} entries"
        else:
            what = f"{what}, {p['big_mib']} MiB"
        row = [f"{what} ({unit})", *[_fmt(med[label][case]) for label in labels]]
        for a in against:
            if a in med and subject in med:
                row.append(f"{med[subject][case] / med[a][case]:.2f}×")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"
