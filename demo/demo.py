"""Four Pyodide workers share one pool while the main instance watches it live.

Run it with ``bash scripts/demo.sh`` (which runs ``node demo/demo.mjs``). The main
Pyodide creates a pool, mounts it at /shared and starts ``xmfs.Workers(4, ...)``. Each
worker writes files into /shared/work/, appends one line per file to /shared/log.txt,
renames the file into /shared/done/ and reads files other workers finished, checking
them against the sha256 their writer logged. Meanwhile the main instance polls the tree
with os.scandir / os.stat every few milliseconds: what it prints is read straight from
the shared Memory, with no message from the workers.

Functions run in workers are sent by value, so they import what they need themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import pyodide_extmemfs as xmfs

MOUNT = "/shared"
WORK = f"{MOUNT}/work"
DONE = f"{MOUNT}/done"
LOG = f"{MOUNT}/log.txt"
N_WORKERS = 4
FILES_PER_WORKER = 48
POLL_SECONDS = 0.004  # how often the main instance looks at the tree
PRINT_SECONDS = 0.1  # how often it says what it saw


async def produce(job: dict) -> dict:
    """In a worker: write, log, rename and cross-read ``job["n_files"]`` files under
    ``job["work"]`` / ``job["done"]``; return what was written, with sha256s."""
    import asyncio
    import hashlib
    import os
    import random
    import time

    import pyodide_extmemfs as xmfs

    me = xmfs.worker_index()
    sizes = random.Random(1000 + me)  # same files every run
    picks = random.Random()
    start = time.monotonic()
    written = []
    checked = checked_bytes = 0
    # One os.write per line on an O_APPEND descriptor: lines from different workers
    # never interleave, because the pool appends each write under the file's lock.
    log = os.open(job["log"], os.O_WRONLY | os.O_APPEND)
    try:
        for k in range(job["n_files"]):
            name = f"w{me}-{k:03d}.bin"
            size = sizes.choice([512, 4096, 20_000, 70_000, 150_000, 300_000])
            size += sizes.randrange(4096)
            data = sizes.randbytes(size)
            tmp = f"{job['work']}/{name}"
            with open(tmp, "wb") as f:
                for i in range(0, size, 65536):  # grows the file 64 KiB at a time
                    f.write(data[i : i + 65536])
            digest = hashlib.sha256(data).hexdigest()
            os.write(log, f"w{me} {name} {size} {digest}\n".encode())
            os.rename(tmp, f"{job['done']}/{name}")
            written.append((name, size, digest))

            # Read a file another worker finished and check it against its log line.
            others = [n for n in os.listdir(job["done"]) if not n.startswith(f"w{me}-")]
            if others:
                other = picks.choice(others)
                with open(job["log"]) as f:
                    logged = {ln.split()[1]: ln.split()[3] for ln in f}
                with open(f"{job['done']}/{other}", "rb") as f:
                    body = f.read()
                if hashlib.sha256(body).hexdigest() != logged[other]:
                    raise AssertionError(f"w{me} read {other}: sha256 differs from its log line")
                checked += 1
                checked_bytes += len(body)
            await asyncio.sleep(picks.uniform(0.005, 0.03))
    finally:
        os.close(log)
    return {
        "index": me,
        "files": written,
        "checked": checked,
        "checked_bytes": checked_bytes,
        "seconds": time.monotonic() - start,
    }


def count_log_lines(path: str) -> tuple[int | None, int]:
    """In a worker: (its index, the number of lines it sees in ``path``)."""
    import pyodide_extmemfs as xmfs

    with open(path) as f:
        return xmfs.worker_index(), sum(1 for _ in f)


def kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def spot_check(names: list[str]) -> int:
    """Read one of the files finished last (highest sequence number in its name,
    ``w<worker>-<seq>.bin``) and check it against its writer's log line."""
    name = max(names, key=lambda n: n.split("-", 1)[1])
    with open(LOG) as f:
        logged = {ln.split()[1]: ln.split()[3] for ln in f}
    with open(f"{DONE}/{name}", "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != logged[name]:
            raise AssertionError(f"main read {name} while workers ran: sha256 differs")
    return 1


async def watch(t0: float, stop: asyncio.Event) -> dict:
    """Poll the tree until ``stop``; print a line every PRINT_SECONDS while it changes,
    and then also check one finished file against the log."""
    polls = checked = 0
    states = set()
    last_print = -PRINT_SECONDS
    last_state = None
    while True:
        stopping = stop.is_set()
        with os.scandir(WORK) as it:
            in_work = sum(1 for _ in it)
        with os.scandir(DONE) as it:
            done_names = [e.name for e in it]
        in_done = len(done_names)
        log_bytes = os.stat(LOG).st_size
        polls += 1
        state = (in_work, in_done, log_bytes)
        states.add(state)
        t = time.monotonic() - t0
        if stopping or (state != last_state and t - last_print >= PRINT_SECONDS):
            print(
                f"t={t:5.2f}s main sees {in_work + in_done:3d} files, {in_done:3d} in done/, "
                f"log {kib(log_bytes)}"
            )
            last_print, last_state = t, state
            if done_names:
                checked += spot_check(done_names)
        if stopping:
            return {"polls": polls, "states": len(states), "checked": checked}
        await asyncio.sleep(POLL_SECONDS)


def verify(results: list[dict]) -> int:
    """Check every file against the sha256 its writer returned and logged; return N."""
    with open(LOG) as f:
        lines = f.read().splitlines()
    logged = {}
    for line in lines:
        tag, name, size, digest = line.split()  # a torn or interleaved line fails here
        if not name.startswith(f"{tag}-") or name in logged:
            raise AssertionError(f"bad log line {line!r}")
        logged[name] = (int(size), digest)
    n = 0
    for r in results:
        for name, size, digest in r["files"]:
            with open(f"{DONE}/{name}", "rb") as f:
                body = f.read()
            if len(body) != size or hashlib.sha256(body).hexdigest() != digest:
                raise AssertionError(f"{name}: content differs from what w{r['index']} wrote")
            if logged.get(name) != (size, digest):
                raise AssertionError(f"{name}: log line {logged.get(name)} disagrees")
            n += 1
    left = os.listdir(WORK)
    if n != len(logged) or left:
        raise AssertionError(f"{n} files returned, {len(logged)} logged, {len(left)} in work/")
    if sorted(os.listdir(DONE)) != sorted(logged):
        raise AssertionError("done/ does not hold exactly the logged files")
    return n


def print_summary(results: list[dict], pool: xmfs.Pool, problems: list[str]) -> None:
    print()
    print("worker  files    written   cross-read & verified   busy")
    tot_files = tot_bytes = tot_checked = tot_cbytes = 0
    for r in sorted(results, key=lambda r: r["index"]):
        nbytes = sum(size for _, size, _ in r["files"])
        print(
            f"  w{r['index']}    {len(r['files']):4d} {kib(nbytes):>10}   "
            f"{r['checked']:3d} files {kib(r['checked_bytes']):>10}   {r['seconds']:.2f} s"
        )
        tot_files += len(r["files"])
        tot_bytes += nbytes
        tot_checked += r["checked"]
        tot_cbytes += r["checked_bytes"]
    print(
        f"  total {tot_files:4d} {kib(tot_bytes):>10}   "
        f"{tot_checked:3d} files {kib(tot_cbytes):>10}"
    )
    print()
    stats = pool.stats()
    print("pool.stats():")
    byte_keys = (
        "size",
        "maximum_size",
        "used_bytes",
        "free_bytes",
        "available_bytes",
        "largest_free_extent",
    )
    for key, value in stats.items():
        shown = f"{value:>14,d}" + (f"  ({kib(value)})" if key in byte_keys else "")
        print(f"  {key:<22}{shown}")
    print(f"pool.check(): {problems!r}" + (" — pool is sound" if not problems else ""))


async def main() -> None:
    pool = xmfs.create_pool("8MiB", "1GiB")
    xmfs.mount(pool, MOUNT)
    os.makedirs(WORK)
    os.makedirs(DONE)
    open(LOG, "w").close()
    print(f"main: created {pool!r}, mounted at {MOUNT}")

    t_start = time.monotonic()
    async with xmfs.Workers(N_WORKERS, pool=pool, mount=MOUNT) as workers:
        print(
            f"main: {len(workers)} Pyodide workers up in {time.monotonic() - t_start:.1f} s, "
            f"each with the pool mounted at {MOUNT}"
        )
        t0 = time.monotonic()
        stop = asyncio.Event()
        watcher = asyncio.ensure_future(watch(t0, stop))
        job = {"work": WORK, "done": DONE, "log": LOG, "n_files": FILES_PER_WORKER}
        try:
            results = await workers.map(produce, [job] * N_WORKERS)
        finally:
            stop.set()
            seen = await watcher
        print(
            f"main: polled the tree {seen['polls']} times while the workers ran and saw "
            f"{seen['states']} different states, without a message from any worker; "
            f"read {seen['checked']} finished files as they appeared, all matching the log"
        )
        who, lines = await workers.run(count_log_lines, LOG)
        print(f"main: worker w{who} counts {lines} lines in {LOG}")

    if sorted(r["index"] for r in results) != list(range(N_WORKERS)):
        raise AssertionError(f"expected one job per worker, got {[r['index'] for r in results]}")
    n = verify(results)
    print(f"main: all {n} files verified (sha256 recorded by their writers; log intact)")
    problems = pool.check()
    print_summary(results, pool, problems)
    if problems:
        raise AssertionError(f"pool.check() found {len(problems)} problems")
    if seen["states"] < 3:
        raise AssertionError("the main instance did not see the tree change while it ran")
