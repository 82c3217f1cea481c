"""The kill test from inside Pyodide: a JS worker (node worker_thread or browser Web
Worker) attached to the pool writes, appends, renames and deletes files and is
terminated at a random moment, again and again, while this instance keeps using the
pool through Python's file API. After each kill: the survivor was never stuck
(bounded wait), ``check() == []``, and every file whose close() returned before the
kill is intact (sizes and CRC-32s recorded by the worker in a shared journal)."""

from __future__ import annotations

import asyncio
import os
import random
import time
import zlib
from pathlib import Path

# The worker: tests/pyodide_lib/kill_worker.js (shared with tests/js/kill.test.js).
WORKER_JS = (Path(__file__).parent / "kill_worker.js").read_text()


def bundle() -> str:
    """The package's jsglue bundle, for JS workers to evaluate (see kill_worker.js)."""
    from pyodide_extmemfs import _jsglue

    return _jsglue.bundle_source()


async def _survive(mount: str, until: float, rnd: random.Random, stats: dict) -> None:
    """Use the pool through Python's file API until `until` (time.monotonic())."""
    mine = os.path.join(mount, "main")
    while time.monotonic() < until:
        t0 = time.monotonic()
        path = os.path.join(mine, f"m{rnd.randrange(10)}")
        data = rnd.randbytes(rnd.randrange(1, 40000))
        with open(path, "wb") as f:
            f.write(data)
        with open(path, "rb") as f:
            assert f.read() == data
        if rnd.randrange(4) == 0:
            os.unlink(path)
        os.listdir(mount)
        stats["max_op_s"] = max(stats["max_op_s"], time.monotonic() - t0)
        await asyncio.sleep(0.001)


async def kill_test(pool, mount: str, iterations: int, seed: int = 1) -> dict:
    """Run the kill test; returns figures. Raises AssertionError on any failure."""
    from js import Int32Array, Object, SharedArrayBuffer
    from pyodide.ffi import to_js

    from pyodide_extmemfs import _jsglue

    spawn = _jsglue.modules().spawnScript
    os.makedirs(os.path.join(mount, "w"))
    os.makedirs(os.path.join(mount, "main"))
    journal = SharedArrayBuffer.new(4 * (4 + 5 * 400000))
    J = Int32Array.new(journal)
    source = bundle()
    rnd = random.Random(seed)
    model: dict[int, tuple[int, int]] = {}
    next_name, seen = 1, 0
    stats = {"max_op_s": 0.0, "max_recover_s": 0.0, "evicted": 0, "found": 0, "idle": 0}
    for it in range(iterations):
        data = to_js(
            {
                "bundle": source,
                "memory": pool.memory,
                "journal": journal,
                "seed": seed * 1000003 + it,
                "dir": "w",  # looked up from the pool's root (= the mount point)
                "names": sorted(model),
                "nextName": next_name,
            },
            dict_converter=Object.fromEntries,
        )
        w = await spawn(WORKER_JS, data)
        instance_id = int(w.first.instanceId)
        await _survive(mount, time.monotonic() + 0.005 + rnd.random() * 0.12, rnd, stats)
        await w.terminate()
        assert list(w.errors) == [], f"iteration {it}: worker failed by itself: {list(w.errors)}"
        t0 = time.monotonic()
        if it % 2 == 0:
            assert await pool.evict_when_stopped(instance_id)
            stats["evicted"] += 1
        else:
            stats["found"] += 1  # the survivor runs into its locks, if it held any
        await _survive(mount, time.monotonic() + 0.001, rnd, stats)
        os.listdir(os.path.join(mount, "w"))
        pool.js.compact()  # takes every lock: whatever the dead worker held is reclaimed
        waited = time.monotonic() - t0
        stats["max_recover_s"] = max(stats["max_recover_s"], waited)
        assert waited < 5, f"iteration {it}: the survivor waited {waited:.1f} s"
        assert pool.check() == [], f"iteration {it}: {pool.check()}"
        if await pool.evict_when_stopped(
            instance_id
        ):  # held no lock: nobody noticed; the host evicts
            assert it % 2 == 1
            stats["idle"] += 1
            assert pool.check() == []
        assert len(pool.instances()) == 1, f"iteration {it}: {pool.instances()}"
        n = J[0]
        while seen < n:
            typ, a, b, size, crc = (J[4 + seen * 5 + k] for k in range(5))
            if typ == 1:
                model[a] = (size, crc & 0xFFFFFFFF)
            elif typ == 2:
                model[b] = model.pop(a)
            else:
                model.pop(a, None)
            next_name = max(next_name, a + 1, b + 1)
            seen += 1
        for busy in (J[1], J[2]):
            if busy:
                next_name = max(next_name, busy + 1)
                model.pop(busy, None)
                p = os.path.join(mount, "w", f"f{busy}")
                if os.path.exists(p):
                    os.unlink(p)
        J[1] = 0
        J[2] = 0
        names = sorted(os.listdir(os.path.join(mount, "w")))
        want = sorted(f"f{i}" for i in model)
        assert names == want, (
            f"iteration {it}: listing differs from the journal: extra "
            f"{sorted(set(names) - set(want))}, missing {sorted(set(want) - set(names))}; "
            f"last entries {[[J[4 + k * 5 + j] for j in range(4)] for k in range(max(0, n - 4), n)]}"
        )
        for i, (size, crc) in model.items():
            with open(os.path.join(mount, "w", f"f{i}"), "rb") as f:
                got = f.read()
            assert len(got) == size and zlib.crc32(got) == crc, f"iteration {it}: f{i} damaged"
        if len(model) > 30:
            for i in sorted(model)[:15]:
                os.unlink(os.path.join(mount, "w", f"f{i}"))
                del model[i]
    stats["journaled_ops"] = int(J[0])
    stats["recoveries"] = pool.stats()["recoveries"]
    return stats
