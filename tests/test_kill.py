"""Surviving killed workers, from Python: the kill test with real workers (node
worker_threads, Chrome Web Workers) and this Pyodide instance as the survivor; the
instance API (instances, evict, detach, lease_ms) and Workers evicting what it kills.
The plain-node kill test (tests/js/kill.test.mjs) runs 200 iterations; these add
Pyodide and the browser."""

from __future__ import annotations

import os

import pytest
from pytest_pyodide import run_in_pyodide


@pytest.fixture
def kill_iterations() -> int:
    """Kills of the Pyodide kill test: XMFS_PYKILL_ITERS (default 30)."""
    return int(os.environ.get("XMFS_PYKILL_ITERS", "30"))


@pytest.mark.driver_timeout(600)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_kill_test_with_real_workers(selenium_xmfs, kill_iterations):
    import xmfs_kill

    import pyodide_extmemfs as xmfs

    # A live worker that the OS does not run for longer than the lease while it holds a
    # lock is taken for dead (see README, Limitations): on a loaded 2-CPU machine running
    # several browsers, 200 ms was too short. 1000 ms is the default lease.
    pool = xmfs.create_pool("4MiB", "256MiB", lease_ms=1000)
    xmfs.mount(pool, "/kill")
    stats = await xmfs_kill.kill_test(pool, "/kill", iterations=kill_iterations, seed=7)
    print("kill test (Pyodide survivor):", stats)
    assert stats["recoveries"] == kill_iterations
    assert stats["journaled_ops"] > 30
    assert pool.check() == []
    xmfs.unmount("/kill")


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_instance_api_and_bad_input(selenium):
    import errno
    import os

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "16MiB")
    other = xmfs.attach(pool.memory)
    assert other.instance_id != pool.instance_id
    mine = [i for i in pool.instances() if i["self"]]
    assert [i["id"] for i in mine] == [pool.instance_id]
    assert {i["id"] for i in pool.instances()} == {pool.instance_id, other.instance_id}

    # A file held open by `other` keeps its space after unlink; evicting `other`
    # (as a host does after terminating its worker) gives it back.
    xmfs.mount(pool, "/inst")
    xmfs.mount(other, "/inst_other")
    with open("/inst/f", "wb") as f:
        f.write(b"x" * 100000)
    held = open("/inst_other/f", "rb")
    used_before = pool.stats()["used_bytes"]
    os.unlink("/inst/f")
    assert pool.stats()["used_bytes"] > used_before - 1000  # (only the name's bytes went)
    assert [i["open_pins"] for i in pool.instances() if i["id"] == other.instance_id] == [1]
    # A file closed is kept pinned, to be opened again without a lock; removing it takes
    # the kept pin back at once.
    with open("/inst/k", "wb") as f:
        f.write(b"k" * 50000)
    with open("/inst_other/k", "rb") as f:
        assert f.read(1) == b"k"
    kept = {i["id"]: i["kept_pins"] for i in pool.instances()}
    assert kept[other.instance_id] >= 1 and kept[pool.instance_id] >= 1
    used_k = pool.stats()["used_bytes"]
    os.unlink("/inst/k")
    assert pool.stats()["used_bytes"] < used_k - 45000
    xmfs.unmount("/inst_other")
    assert pool.evict(other.instance_id) is True
    assert pool.stats()["used_bytes"] < used_before - 90000
    assert pool.stats()["recoveries"] == 1
    assert pool.check() == []
    assert pool.evict(other.instance_id) is False  # already gone
    with pytest.raises(OSError) as e:
        other.stats()
    assert "evicted" in str(e.value)
    try:  # its descriptor died with its instance
        held.close()
    except OSError as err:
        assert err.errno == errno.EIO

    with pytest.raises(ValueError, match="itself"):
        pool.evict(pool.instance_id)
    with pytest.raises(TypeError, match="int"):
        pool.evict("1")
    with pytest.raises(TypeError, match="int"):
        await pool.evict_when_stopped(1.0)
    with pytest.raises(ValueError, match="whole number"):
        pool.evict(-5)
    for bad in (0, 9, 600001):
        with pytest.raises(ValueError, match="10 to 600000"):
            xmfs.create_pool("1MiB", "2MiB", lease_ms=bad)
    with pytest.raises(TypeError, match="lease_ms"):
        xmfs.create_pool("1MiB", "2MiB", lease_ms=1.5)
    assert xmfs.create_pool("1MiB", "2MiB", lease_ms=250).stats()["lease_ms"] == 250

    third = xmfs.attach(pool)
    third.detach()
    assert len(pool.instances()) == 1
    assert pool.check() == []
    xmfs.unmount("/inst")


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_workers_close_mid_call_leaves_nothing_held(selenium):
    import asyncio

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("4MiB", "256MiB")
    xmfs.mount(pool, "/wk")

    def churn(i):
        import os

        n = 0
        while True:  # never returns: close() must terminate it mid-call
            p = f"/wk/c{i}_{n % 20}"
            with open(p, "wb") as f:
                f.write(os.urandom(50000))
            held = open(p, "rb")
            os.rename(p, p + "r")
            os.unlink(p + "r")
            del held
            n += 1

    async with xmfs.Workers(2, pool=pool, mount="/wk") as workers:
        assert len(pool.instances()) == 3
        calls = [asyncio.ensure_future(workers.run(churn, i)) for i in range(2)]
        await asyncio.sleep(1.5)
        await workers.close(timeout=0.1)
    for c in calls:
        try:
            await c
        except Exception:
            pass
    assert len(pool.instances()) == 1, pool.instances()
    assert pool.check() == []
    # and the survivor is not stuck on anything the workers held
    with open("/wk/after", "wb") as f:
        f.write(b"ok")
    xmfs.unmount("/wk")


@pytest.mark.only_chrome
@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_sweep_finds_workers_that_died_holding_no_lock(selenium_xmfs):
    """A Web Worker attached to the pool, holding an unlinked file open, is terminated
    while idle: nobody is blocked, so only its liveness Web Lock tells it is gone;
    sweep() evicts it and the file's space comes back. Live workers are left alone."""
    import asyncio
    import os

    import xmfs_kill
    from js import Object
    from pyodide.ffi import to_js

    import pyodide_extmemfs as xmfs
    from pyodide_extmemfs import _jsglue

    idle_worker = r"""
    function start(data, post) {
      (0, eval)(data.bundle);  // the package's jsglue.bundle.js: defines pyodideExtmemfs
      const pool = new globalThis.pyodideExtmemfs.Pool(data.memory);
      const root = pool.rootHandle();
      const h = pool.lookup(root.ino, root.gen, data.name);
      pool.open(h.ino, h.gen);              // held open, never closed
      setTimeout(() => post({ instanceId: pool.instanceId }), 200);  // Web Lock granted by then
    }
    """
    pool = xmfs.create_pool("4MiB", "64MiB")
    xmfs.mount(pool, "/sweep")
    spawn = _jsglue.modules().spawnScript
    workers = []
    for name in ("a", "b"):
        with open(f"/sweep/{name}", "wb") as f:
            f.write(os.urandom(1 << 20))
        data = to_js(
            {"bundle": xmfs_kill.bundle(), "memory": pool.memory, "name": name},
            dict_converter=Object.fromEntries,
        )
        workers.append(await spawn(idle_worker, data))
    used = pool.stats()["used_bytes"]
    os.unlink("/sweep/a")
    os.unlink("/sweep/b")
    assert pool.stats()["used_bytes"] > used - 4096  # both still held open
    assert await pool.sweep() == []  # both alive: nothing to do
    dead, alive = workers
    await dead.terminate()
    await asyncio.sleep(0.3)  # let the browser tear the worker down
    assert await pool.sweep() == [int(dead.first.instanceId)]
    assert pool.stats()["used_bytes"] < used - (1 << 20) + 4096  # a's megabyte came back
    assert {i["id"] for i in pool.instances()} == {pool.instance_id, int(alive.first.instanceId)}
    assert pool.check() == []
    await alive.terminate()
    await asyncio.sleep(0.3)
    assert await pool.sweep() == [int(alive.first.instanceId)]
    assert len(pool.instances()) == 1
    assert pool.check() == []
    xmfs.unmount("/sweep")
