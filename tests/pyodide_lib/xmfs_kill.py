"""The kill test from inside Pyodide: a JS worker (node worker_thread or browser Web
Worker) attached to the pool writes, appends, renames and deletes files and is
terminated at a random moment, again and again, while this instance keeps using the
pool through Python's file API. After each kill: the survivor was never stuck
(bounded wait), ``check() == []``, and every file whose close() returned before the
kill is intact (sizes and CRC-32s recorded by the worker in a shared journal)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import zlib

# Runs in the worker. Journal (Int32Array on a SharedArrayBuffer): [count, intentA,
# intentB, 0], then entries [type, a, b, size, crc]; types 1 put, 2 mv, 3 rm.
WORKER_JS = r"""
function start(data, post) {
  const mods = {};
  for (const [name, src] of data.sources) mods[name] = (0, eval)(src)(mods);
  const P = mods.pool, L = mods.layout;
  const pool = new P.Pool(data.memory);
  const J = new Int32Array(data.journal);
  const FILE = L.S_IFREG | 0o644;
  let x = data.seed | 1;
  const rnd = (n) => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n; };
  const T = new Int32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; T[n] = c; }
  const crc = (a) => { let c = -1; for (let i = 0; i < a.length; i++) c = T[(c ^ a[i]) & 255] ^ (c >>> 8); return (c ^ -1) | 0; };
  const fill = (n, seed) => { const a = new Uint8Array(n); let y = seed | 1;
    for (let i = 0; i < n; i++) { y = (Math.imul(y, 1103515245) + 12345) | 0; a[i] = y >>> 24; } return a; };
  const root = pool.rootHandle();
  const dir = pool.lookup(root.ino, root.gen, data.dir);
  const names = new Set(data.names);
  let nextName = data.nextName;
  const readAll = (h) => { const size = pool.getattr(h.ino, h.gen).size; const out = new Uint8Array(size);
    pool.open(h.ino, h.gen); try { pool.read(h.ino, h.gen, out, 0, size, 0); } finally { pool.close(h.ino, h.gen); } return out; };
  const journal = (type, a, b, size, sum) => {
    const n = J[0]; const e = 4 + n * 5;
    J[e] = type; J[e + 1] = a; J[e + 2] = b; J[e + 3] = size; J[e + 4] = sum;
    Atomics.store(J, 0, n + 1); Atomics.store(J, 1, 0); Atomics.store(J, 2, 0);
  };
  const intent = (a, b) => { Atomics.store(J, 1, a); Atomics.store(J, 2, b); };
  const kept = [];
  const pick = () => { const arr = [...names]; return arr.length ? arr[rnd(arr.length)] : 0; };
  post({ instanceId: pool.instanceId });
  const cap = (J.length - 4) / 5 - 10;
  for (;;) {
    while (Atomics.load(J, 0) >= cap) Atomics.wait(J, 3, 0, 20); // journal full: idle
    const op = names.size > 40 ? 9 : rnd(10); // (bounded: the pool must not fill up)
    if (op < 4 || names.size < 3) {
      const id = nextName++;
      intent(id, 0);
      const h = pool.create(dir.ino, dir.gen, "f" + id, FILE);
      const size = rnd(8) === 0 ? 1 + rnd(2 << 20) : 1 + rnd(150000);
      const buf = fill(size, id);
      pool.open(h.ino, h.gen);
      for (let at = 0; at < size;) {
        const n = Math.min(size - at, 1 + rnd(70000));
        pool.write(h.ino, h.gen, buf, at, n, at, false);
        at += n;
      }
      pool.close(h.ino, h.gen);
      names.add(id);
      journal(1, id, 0, size, crc(buf));
    } else if (op < 6) {
      const id = pick();
      intent(id, 0);
      const h = pool.lookup(dir.ino, dir.gen, "f" + id);
      const more = fill(1 + rnd(60000), id * 7 + op);
      pool.open(h.ino, h.gen);
      pool.write(h.ino, h.gen, more, 0, more.length, 0, true);
      pool.close(h.ino, h.gen);
      const all = readAll(h);
      journal(1, id, 0, all.length, crc(all));
    } else if (op < 8) {
      const a = pick();
      const b = rnd(2) ? pick() : nextName++;
      if (a === b) continue;
      intent(a, b);
      pool.rename(dir.ino, dir.gen, "f" + a, dir.ino, dir.gen, "f" + b);
      names.delete(a); names.add(b);
      journal(2, a, b, 0, 0);
    } else {
      const id = pick();
      intent(id, 0);
      const h = pool.lookup(dir.ino, dir.gen, "f" + id);
      if (rnd(2) === 0) { // still open when unlinked (and maybe when killed)
        pool.open(h.ino, h.gen);
        kept.push(h);
        if (kept.length > 8) { const k = kept.shift(); pool.close(k.ino, k.gen); }
      }
      pool.unlink(dir.ino, dir.gen, "f" + id);
      names.delete(id);
      journal(3, id, 0, 0, 0);
    }
  }
}
"""


def _sources() -> list[list[str]]:
    from pyodide_extmemfs import _jsglue

    order = json.loads(_jsglue.jsglue_source("manifest.json"))["modules"]
    return [[n, _jsglue.jsglue_source(f"{n}.js")] for n in order if n in ("layout", "locks", "pool")]


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

    spawn = _jsglue.modules().workers.spawnScript
    os.makedirs(os.path.join(mount, "w"))
    os.makedirs(os.path.join(mount, "main"))
    journal = SharedArrayBuffer.new(4 * (4 + 5 * 400000))
    J = Int32Array.new(journal)
    sources = _sources()
    rnd = random.Random(seed)
    model: dict[int, tuple[int, int]] = {}
    next_name, seen = 1, 0
    stats = {"max_op_s": 0.0, "max_recover_s": 0.0, "evicted": 0, "found": 0, "idle": 0}
    for it in range(iterations):
        data = to_js(
            {
                "sources": sources,
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
        if await pool.evict_when_stopped(instance_id):  # held no lock: nobody noticed; the host evicts
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
        assert names == sorted(f"f{i}" for i in model), f"iteration {it}: listing {names}"
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
