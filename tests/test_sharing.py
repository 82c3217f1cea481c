"""Several Pyodide instances on one pool: coherence, open files across instances,
parallel copies, the Workers API. Runs in node (a second instance in the same thread,
and worker_threads) and in Chrome (page + Web Workers)."""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_coherence_matrix_two_instances(selenium_xmfs):
    import os

    import xmfs_coherence
    import xmfs_peers

    import pyodide_extmemfs as xmfs

    for kind in (xmfs_peers.InThreadPeer, xmfs_peers.WorkerPeer):
        pool = xmfs.create_pool("1MiB", "64MiB")
        mount = f"/coh{kind.__name__}"
        xmfs.mount(pool, mount)
        peer = await kind.start(pool, mount)
        try:
            assert await xmfs_coherence.matrix(peer, mount) == []
            assert pool.check() == []
        finally:
            await peer.close()
        assert sorted(os.listdir(mount)) == sorted(["d2", "r", "t", "t1", "t2", "ln"])
        xmfs.unmount(mount)


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_unlink_and_rename_while_open_across_instances(selenium_xmfs):
    import xmfs_coherence
    import xmfs_peers

    import pyodide_extmemfs as xmfs

    for kind in (xmfs_peers.InThreadPeer, xmfs_peers.WorkerPeer):
        pool = xmfs.create_pool("1MiB", "64MiB")
        mount = f"/open{kind.__name__}"
        xmfs.mount(pool, mount)
        peer = await kind.start(pool, mount)
        try:
            assert await xmfs_coherence.open_file_semantics(peer, mount, pool) == []
            assert pool.check() == []
        finally:
            await peer.close()
        xmfs.unmount(mount)


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_workers_run_map_exceptions_and_shutdown(selenium):
    import os
    import traceback

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/wk")
    with open("/wk/data.csv", "w") as f:
        f.write("".join(f"{i},{i * i}\n" for i in range(1000)))

    def count_lines(path):
        with open(path) as f:
            return sum(1 for _ in f)

    def square_to_file(n):
        import pyodide_extmemfs

        path = f"/wk/sq{n}"
        with open(path, "w") as f:
            f.write(str(n * n))
        return n * n, pyodide_extmemfs.worker_index()

    def fails(x):
        def inner():
            raise KeyError(f"no such key {x}")

        inner()

    async with xmfs.Workers(2, pool=pool, mount="/wk") as workers:
        assert len(workers) == 2
        assert await workers.run(count_lines, "/wk/data.csv") == 1000
        results = await workers.map(square_to_file, range(8))
        assert [r[0] for r in results] == [n * n for n in range(8)]
        assert {r[1] for r in results} <= {0, 1}
        with pytest.raises(KeyError, match="no such key 7") as info:
            await workers.run(fails, 7)
        remote = "".join(traceback.format_exception(info.value))
        assert "in inner" in remote and "in fails" in remote
        # still usable after an exception
        assert await workers.run(count_lines, "/wk/data.csv") == 1000
    with pytest.raises(RuntimeError, match="not running"):
        await workers.run(count_lines, "/wk/data.csv")

    # close() lets a call in progress finish (a worker killed mid-operation could
    # leave a pool lock held), then terminates.
    def slow_write(path):
        import time

        with open(path, "w") as f:
            for i in range(50):
                f.write(f"line {i}\n")
                f.flush()
                time.sleep(0.01)
        return "finished"

    import asyncio

    workers = await xmfs.Workers(1, pool=pool, mount="/wk").start()
    pending = asyncio.ensure_future(workers.run(slow_write, "/wk/slow.txt"))
    await asyncio.sleep(0.1)
    await workers.close()
    assert await pending == "finished"
    assert open("/wk/slow.txt").read().count("\n") == 50
    os.unlink("/wk/slow.txt")
    assert sorted(os.listdir("/wk")) == ["data.csv"] + sorted(f"sq{n}" for n in range(8))
    assert [open(f"/wk/sq{n}").read() for n in range(8)] == [str(n * n) for n in range(8)]
    assert pool.check() == []
    xmfs.unmount("/wk")


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_two_workers_copy_different_files_in_parallel(selenium):
    import hashlib

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("16MiB", "1GiB")
    xmfs.mount(pool, "/par")

    def write_big(name, mib):
        import hashlib
        import time

        h = hashlib.sha256()
        t0 = time.time()
        with open(f"/par/{name}", "wb") as f:
            for i in range(mib):
                chunk = bytes([i & 0xFF, len(name)]) * (1 << 19)
                h.update(chunk)
                f.write(chunk)
        return h.hexdigest(), t0, time.time()

    async with xmfs.Workers(2, pool=pool, mount="/par") as workers:
        # Both workers copy 1 MiB chunks of their own 128 MiB file at the same time.
        # COPY_PEAK counts threads inside a bulk copy at once: 2 proves no global lock
        # is held while file data is copied. Retry a few times on a loaded machine.
        for attempt in range(5):
            results = await workers.map(
                lambda a: write_big(*a), [(f"a{attempt}", 128), (f"b{attempt}", 128)]
            )
            (_, a0, a1), (_, b0, b1) = results
            if pool.stats()["peak_parallel_copies"] >= 2:
                break
    assert pool.stats()["peak_parallel_copies"] >= 2, (pool.stats(), results)
    for name, (digest, _, _) in zip([f"a{attempt}", f"b{attempt}"], results):
        with open(f"/par/{name}", "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest
    assert pool.check() == []
    xmfs.unmount("/par")


@pytest.mark.driver_timeout(900)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_stress_four_workers_random_operations(selenium, runtime):
    """4 workers × 10,000 random operations on one overlapping tree (fixed seeds).
    Afterwards the pool is sound and every file holds exactly what its last writer
    recorded (writes go to a temporary name and are renamed into place)."""
    import hashlib
    import os

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("4MiB", "512MiB")
    xmfs.mount(pool, "/st")
    for i in range(4):
        os.makedirs(f"/st/d{i}")
    os.makedirs("/st/tmp")

    def churn(seed, w, n_ops):
        import errno
        import hashlib
        import os
        import random

        rnd = random.Random(seed)
        allowed = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR}
        written = {}
        counts = {}
        unexpected = []

        def path():
            d = f"/st/d{rnd.randrange(4)}"
            if rnd.random() < 0.3:
                d += f"/s{rnd.randrange(3)}"
            return f"{d}/f{rnd.randrange(8)}"

        for seq in range(n_ops):
            op = rnd.choice(
                [
                    "write",
                    "write",
                    "append",
                    "read",
                    "truncate",
                    "rename",
                    "unlink",
                    "mkdir",
                    "rmdir",
                    "renamedir",
                ]
            )
            counts[op] = counts.get(op, 0) + 1
            try:
                if op == "write":
                    p = path()
                    body = rnd.randbytes(rnd.choice([0, 10, 300, 5000, 70000]))
                    digest = hashlib.sha256(body).hexdigest()
                    data = f"{w} {seq} {digest}\n".encode() + body
                    # /st/tmp never moves, so a temp file can always be cleaned up
                    tmp = f"/st/tmp/.tmp-{w}-{seq}"
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                    try:
                        os.write(fd, data)
                    finally:
                        os.close(fd)
                    try:
                        os.rename(tmp, p)
                    except OSError:
                        os.unlink(tmp)
                        raise
                    written[f"{w} {seq}"] = digest
                elif op == "append":
                    line = f"{w} {seq} " + hashlib.sha1(f"{w}/{seq}".encode()).hexdigest() + "\n"
                    fd = os.open(
                        f"/st/log{rnd.randrange(3)}", os.O_WRONLY | os.O_CREAT | os.O_APPEND
                    )
                    try:
                        os.write(fd, line.encode())
                    finally:
                        os.close(fd)
                elif op == "read":
                    with open(path(), "rb") as f:
                        f.read()
                elif op == "truncate":
                    os.truncate(path(), 0)
                elif op == "rename":
                    os.rename(path(), path())
                elif op == "unlink":
                    os.unlink(path())
                elif op == "mkdir":
                    os.mkdir(f"/st/d{rnd.randrange(4)}/s{rnd.randrange(3)}")
                elif op == "rmdir":
                    os.rmdir(f"/st/d{rnd.randrange(4)}/s{rnd.randrange(3)}")
                elif op == "renamedir":
                    os.rename(
                        f"/st/d{rnd.randrange(4)}/s{rnd.randrange(3)}",
                        f"/st/d{rnd.randrange(4)}/s{rnd.randrange(3)}",
                    )
            except OSError as e:
                if e.errno not in allowed:
                    unexpected.append(f"{op} seq {seq}: {e!r}")
        return written, counts, unexpected

    N_OPS = 10_000
    async with xmfs.Workers(4, pool=pool, mount="/st") as workers:
        results = await workers.map(lambda a: churn(*a), [(1000 + w, w, N_OPS) for w in range(4)])

    assert pool.check() == []
    written = {}
    for w, (wr, counts, unexpected) in enumerate(results):
        assert unexpected == [], unexpected[:10]
        assert sum(counts.values()) == N_OPS
        written.update(wr)
    verified = 0
    for dirpath, dirnames, filenames in os.walk("/st"):
        for name in filenames:
            p = os.path.join(dirpath, name)
            data = open(p, "rb").read()
            assert not name.startswith(".tmp"), p
            if name.startswith("log"):
                for line in data.decode().splitlines():
                    w, seq, digest = line.split(" ")
                    assert digest == hashlib.sha1(f"{w}/{seq}".encode()).hexdigest(), (p, line)
                continue
            if not data:
                continue  # its last operation was a truncate
            header, _, body = data.partition(b"\n")
            w, seq, digest = header.decode().split(" ")
            assert hashlib.sha256(body).hexdigest() == digest, p
            assert written[f"{w} {seq}"] == digest, p
            verified += 1
    assert verified > 0
    assert pool.check() == []
    xmfs.unmount("/st")


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_workers_started_from_inside_a_worker(selenium):
    """A JupyterLite kernel runs in a Web Worker: Workers must work from there too."""
    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/nest")

    async def outer(n):
        import pyodide_extmemfs as xmfs
        from pyodide_extmemfs import _worker

        def inner(x):
            import pyodide_extmemfs

            with open("/nest/inner.txt", "w") as f:
                f.write(f"{x} from a nested worker")
            return x * 2, pyodide_extmemfs.worker_index()

        async with xmfs.Workers(1, pool=_worker.pool, mount="/nest") as nested:
            return await nested.run(inner, n), xmfs.worker_index()

    async with xmfs.Workers(1, pool=pool, mount="/nest") as workers:
        (doubled, inner_index), outer_index = await workers.run(outer, 21)
    assert (doubled, inner_index, outer_index) == (42, 0, 0)
    assert open("/nest/inner.txt").read() == "21 from a nested worker"
    assert pool.check() == []
    xmfs.unmount("/nest")
