"""Python of the browser demo (demo/browser/index.html): several Pyodide workers churn
files in one pool while the page draws the pool live.

The page's own Pyodide runs this file as ``__main__`` (so ``churn`` travels to the workers
by value) and awaits ``main(ui, options)``. It creates a pool, mounts it at /shared and
starts ``xmfs.Workers``. Every worker, round after round:

* writes a new file into /shared/work/ in 64 KiB writes (the file grows as it is written),
* logs it — one ``os.write`` per line on an ``O_APPEND`` descriptor of /shared/log.txt,
  shared by all workers — and renames it into /shared/done/,
* now and then appends to one of its older files in place (one ``os.write``, logged first),
* reads a file another worker finished and checks its sha256 against the log,
* deletes its oldest files when it holds more than its share of bytes,
* publishes what it is doing in /shared/status/w<i>.json (a temporary file renamed over
  the old one: readers always see a whole status).

The pool is small for the work (its maximum is reached early), so files are placed in
the gaps that deletions leave, and the pool compacts when no gap is large enough. The page
reads the files, the status and the pool's block map straight from the shared Memory; no
worker sends it a message. At the end the main instance replays the log, checks every file
in /shared/done/ against it and runs ``pool.check()``.
"""

from __future__ import annotations

import hashlib
import os
import time

import pyodide_extmemfs as xmfs

MOUNT = "/shared"
WORK = f"{MOUNT}/work"
DONE = f"{MOUNT}/done"
STATUS = f"{MOUNT}/status"
LOG = f"{MOUNT}/log.txt"


async def churn(job: dict) -> dict:
    """In a worker: ``job["rounds"]`` rounds of write, log, rename, append, cross-read
    and delete (see the module docstring). Returns this worker's totals and the files it
    still holds (name -> (size, sha256))."""
    import asyncio
    import hashlib
    import json
    import os
    import random
    import time

    import pyodide_extmemfs as xmfs

    me = xmfs.worker_index()
    rng = random.Random(7000 + me)
    mine: dict[str, tuple[int, str]] = {}  # my live files, oldest first
    totals = {
        "index": me,
        "written": 0,
        "bytes": 0,
        "appends": 0,
        "renames": 0,
        "verified": 0,
        "verified_bytes": 0,
        "vanished": 0,
        "deleted": 0,
        "op": "starting",
        "round": 0,
        "rounds": job["rounds"],
        "t": time.time(),
    }
    status_path = f"{job['status']}/w{me}.json"

    def publish(op: str) -> None:
        totals["op"] = op
        totals["t"] = time.time()
        tmp = f"{job['status']}/.w{me}.tmp"
        with open(tmp, "w") as f:
            json.dump(totals, f)
        os.replace(tmp, status_path)  # readers see the old status or the new one

    def pick_size() -> int:
        r = rng.random()
        if r < 0.45:
            return rng.randrange(1_000, 40_000)
        if r < 0.85:
            return rng.randrange(40_000, 400_000)
        return rng.randrange(400_000, job["max_file"])

    log = os.open(job["log"], os.O_WRONLY | os.O_APPEND)
    try:
        for k in range(job["rounds"]):
            totals["round"] = k + 1
            name = f"w{me}-{k:03d}.bin"
            size = pick_size()
            data = rng.randbytes(size)
            publish(f"writing {name} ({size:,} B)")
            tmp = f"{job['work']}/{name}"
            with open(tmp, "wb") as f:
                for i in range(0, size, 65536):
                    f.write(data[i : i + 65536])
            digest = hashlib.sha256(data).hexdigest()
            os.write(log, f"w{me} put {name} {size} {digest}\n".encode())
            os.rename(tmp, f"{job['done']}/{name}")
            mine[name] = (size, digest)
            totals["written"] += 1
            totals["bytes"] += size
            totals["renames"] += 1

            if k % 3 == 2 and len(mine) > 1:  # grow an older file in place
                old = rng.choice(list(mine)[:-1])
                extra = rng.randbytes(rng.randrange(8_000, 160_000))
                publish(f"appending {len(extra):,} B to {old}")
                path = f"{job['done']}/{old}"
                with open(path, "rb") as f:
                    h = hashlib.sha256(f.read())
                h.update(extra)
                new_size = mine[old][0] + len(extra)
                # Log first: a reader that sees the longer file finds its digest.
                os.write(log, f"w{me} app {old} {new_size} {h.hexdigest()}\n".encode())
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, extra)  # one write: readers see all of it or none
                finally:
                    os.close(fd)
                mine[old] = (new_size, h.hexdigest())
                totals["appends"] += 1
                totals["bytes"] += len(extra)

            others = [n for n in os.listdir(job["done"]) if not n.startswith(f"w{me}-")]
            if others:
                other = rng.choice(others)
                publish(f"reading {other}")
                try:
                    with open(f"{job['done']}/{other}", "rb") as f:
                        body = f.read()
                except FileNotFoundError:
                    totals["vanished"] += 1  # its writer deleted it meanwhile
                else:
                    got = hashlib.sha256(body).hexdigest()
                    with open(job["log"]) as f:
                        versions = {ln.split()[4] for ln in f if ln.split()[2] == other}
                    if got not in versions:
                        raise AssertionError(f"w{me} read {other}: its sha256 was never logged")
                    totals["verified"] += 1
                    totals["verified_bytes"] += len(body)

            while sum(s for s, _ in mine.values()) > job["budget"] and len(mine) > 1:
                oldest = next(iter(mine))
                publish(f"deleting {oldest}")
                os.write(log, f"w{me} del {oldest} 0 -\n".encode())
                os.unlink(f"{job['done']}/{oldest}")
                del mine[oldest]
                totals["deleted"] += 1

            publish("resting")
            await asyncio.sleep(rng.uniform(*job["pause"]))
    finally:
        os.close(log)
    publish("finished")
    return {**totals, "files": mine}


def replay_log() -> dict[str, tuple[int, str]]:
    """The files the log says exist (name -> (size, sha256)); raises on a bad line."""
    files: dict[str, tuple[int, str]] = {}
    with open(LOG) as f:
        for line in f:
            tag, what, name, size, digest = line.split()  # a torn line fails here
            if not name.startswith(f"{tag}-"):
                raise AssertionError(f"log line from {tag} names {name}: {line!r}")
            grows = what == "app" and name in files and int(size) > files[name][0]
            if (what == "put" and name not in files) or grows:
                files[name] = (int(size), digest)
            elif what == "del" and name in files:
                del files[name]
            else:
                raise AssertionError(f"log line out of order: {line!r}")
    return files


def verify(results: list[dict]) -> dict:
    """Every file in done/ matches the log's last version and what its worker returned."""
    logged = replay_log()
    returned = {n: tuple(v) for r in results for n, v in r["files"].items()}
    if logged != returned:
        raise AssertionError("the log and the workers disagree on which files exist")
    names = sorted(os.listdir(DONE))
    if names != sorted(logged):
        raise AssertionError(f"done/ holds {len(names)} files, the log {len(logged)}")
    total = 0
    for name in names:
        with open(f"{DONE}/{name}", "rb") as f:
            body = f.read()
        if (len(body), hashlib.sha256(body).hexdigest()) != logged[name]:
            raise AssertionError(f"{name}: content differs from its last logged version")
        total += len(body)
    if os.listdir(WORK):
        raise AssertionError(f"work/ is not empty: {os.listdir(WORK)}")
    return {"files": len(names), "bytes": total}


async def main(ui, options) -> None:
    """Run the demo; ``ui`` is the page's JavaScript object (phase, poolReady, finished)."""
    from js import Object
    from pyodide.ffi import to_js

    opts = options.to_py() if hasattr(options, "to_py") else dict(options)
    n = int(opts.get("workers", 4))
    pool = xmfs.create_pool(opts.get("initial", "4MiB"), opts.get("maximum", "40MiB"))
    xmfs.mount(pool, MOUNT)
    for d in (WORK, DONE, STATUS):
        os.makedirs(d)
    open(LOG, "w").close()
    ui.poolReady(pool.js, n)
    ui.phase(f"starting {n} Pyodide workers (each loads its own Pyodide)…")
    t0 = time.monotonic()
    job = {
        "work": WORK,
        "done": DONE,
        "status": STATUS,
        "log": LOG,
        "rounds": int(opts.get("rounds", 200)),
        "budget": pool.stats()["maximum_size"] // (n + 2),
        "max_file": int(opts.get("max_file", 2_500_000)),
        "pause": (0.01, float(opts.get("pause", 0.15))),
    }
    async with xmfs.Workers(n, pool=pool, mount=MOUNT) as workers:
        started = time.monotonic() - t0
        ui.phase(f"{n} workers up in {started:.1f} s — churning files in one pool")
        t1 = time.monotonic()
        results = await workers.map(churn, [job] * n)
        seconds = time.monotonic() - t1
    ui.phase("verifying every file against the log, then pool.check()…")
    summary = verify(results)
    problems = pool.check()
    report = {
        "ok": not problems,
        "check": problems,
        "seconds": seconds,
        "startup_seconds": started,
        "files": summary["files"],
        "bytes": summary["bytes"],
        "stats": pool.stats(),
        "workers": [{k: v for k, v in r.items() if k != "files"} for r in results],
    }
    ui.finished(to_js(report, dict_converter=Object.fromEntries))
