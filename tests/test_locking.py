"""Advisory file locks across instances, with real workers (node worker_threads and Chrome
Web Workers): fcntl.flock, fcntl.lockf, fcntl.fcntl(F_SETLK/F_SETLKW/F_GETLK), os.lockf,
the filelock package, and SQLite through sqlite_connect; locks of killed or terminated
holders are released. The lock table's semantics in detail: tests/js/flocks.test.mjs."""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_lock_calls_map_to_linux_semantics(selenium):
    """Python's lock calls on EXTMEMFS descriptors, in one thread: a second Pool
    attached in this same Pyodide is another "process" (instance) of the pool."""
    import errno
    import fcntl
    import os
    import struct

    import pytest

    import pyodide_extmemfs as xmfs

    FL = struct.Struct("=hh4xqqi4x")
    pool = xmfs.create_pool("1MiB", "16MiB")
    xmfs.mount(pool, "/sem")
    other = xmfs.attach(pool.memory)
    xmfs.mount(other, "/sem_other")
    with open("/sem/f", "wb") as f:
        f.write(b"x" * 100)

    def getlk(f, type_=fcntl.F_WRLCK, start=0, length=0, cmd=fcntl.F_GETLK):
        return FL.unpack(fcntl.fcntl(f, cmd, FL.pack(type_, os.SEEK_SET, start, length, 0)))

    # flock belongs to the open file description: dup'd descriptors share it, another
    # open() of the same file (even in this instance) is another description.
    a = open("/sem/f", "r+b")
    b = open("/sem/f", "r+b")
    fcntl.flock(a, fcntl.LOCK_EX)
    with pytest.raises(BlockingIOError):
        fcntl.flock(b, fcntl.LOCK_SH | fcntl.LOCK_NB)
    dup = os.dup(a.fileno())
    a.close()  # the description lives on in `dup`: still locked
    with pytest.raises(BlockingIOError):
        fcntl.flock(b, fcntl.LOCK_SH | fcntl.LOCK_NB)
    fcntl.flock(dup, fcntl.LOCK_SH)  # converting through the dup: same lock
    fcntl.flock(b, fcntl.LOCK_SH | fcntl.LOCK_NB)
    os.close(dup)
    fcntl.flock(b, fcntl.LOCK_UN)
    with pytest.raises(OSError) as e:
        fcntl.flock(b, fcntl.LOCK_SH | fcntl.LOCK_EX)
    assert e.value.errno == errno.EINVAL

    # POSIX locks belong to the instance: two descriptors of this instance share them,
    # and closing either releases them all (the classic POSIX rule).
    fcntl.lockf(b, fcntl.LOCK_EX, 10, 0)
    c = open("/sem/f", "r+b")
    fcntl.lockf(c, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 5)  # ours already: no conflict
    assert [(x["start"], x["length"]) for x in pool.file_locks()] == [(0, 15)]  # merged
    theirs = open("/sem_other/f", "r+b")
    assert getlk(theirs)[0::4] == (fcntl.F_WRLCK, pool.instance_id)
    assert getlk(theirs)[2:4] == (0, 15)
    c.close()  # any close releases the instance's locks on the file
    assert pool.file_locks() == []
    assert getlk(theirs)[0] == fcntl.F_UNLCK

    # whence and negative lengths: lockf(f, cmd, len, start, whence)
    b.seek(40)
    fcntl.lockf(b, fcntl.LOCK_SH, 5, 2, os.SEEK_CUR)  # [42, 47)
    fcntl.lockf(b, fcntl.LOCK_EX, -10, 0, os.SEEK_END)  # [90, 100)
    fcntl.lockf(b, fcntl.LOCK_EX, 0, 200)  # [200, end of any file)
    rows = sorted((x["start"], x["length"], x["type"]) for x in pool.file_locks())
    assert rows == [(42, 5, "read"), (90, 10, "write"), (200, 0, "write")]
    got = getlk(theirs, fcntl.F_RDLCK, 0, 0)
    assert got == (fcntl.F_WRLCK, os.SEEK_SET, 90, 10, pool.instance_id)  # reads share
    with pytest.raises(BlockingIOError):
        fcntl.fcntl(theirs, fcntl.F_SETLK, FL.pack(fcntl.F_WRLCK, 0, 44, 1, 0))
    fcntl.fcntl(theirs, fcntl.F_SETLK, FL.pack(fcntl.F_RDLCK, 0, 44, 1, 0))  # shares
    fcntl.lockf(b, fcntl.LOCK_UN, 0, 0)
    assert [x["pid"] for x in pool.file_locks()] == [other.instance_id]
    theirs.close()

    # OFD locks: ranges owned by the description, l_pid -1, conflicting with POSIX
    # locks of the same instance.
    d = open("/sem/f", "r+b")
    fcntl.fcntl(d, fcntl.F_OFD_SETLK, FL.pack(fcntl.F_WRLCK, 0, 0, 10, 0))
    assert getlk(b, fcntl.F_RDLCK, 5, 1) == (fcntl.F_WRLCK, 0, 0, 10, -1)
    with pytest.raises(BlockingIOError):
        fcntl.lockf(b, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 5)
    assert getlk(d, fcntl.F_WRLCK, 5, 1, cmd=fcntl.F_OFD_GETLK)[0] == fcntl.F_UNLCK
    with pytest.raises(OSError) as e:  # F_OFD_* need l_pid 0
        fcntl.fcntl(d, fcntl.F_OFD_SETLK, FL.pack(fcntl.F_WRLCK, 0, 0, 10, 7))
    assert e.value.errno == errno.EINVAL
    b.close()  # a POSIX close does not release d's OFD lock
    assert [x["kind"] for x in pool.file_locks()] == ["ofd"]
    d.close()
    assert pool.file_locks() == []

    # os.lockf (musl's lockf(3)): from the current position.
    e1 = os.open("/sem/f", os.O_RDWR)
    e2 = os.open("/sem_other/f", os.O_RDWR)
    os.lseek(e1, 10, os.SEEK_SET)
    os.lockf(e1, os.F_TLOCK, 5)  # [10, 15)
    os.lseek(e2, 12, os.SEEK_SET)
    with pytest.raises(OSError) as e:
        os.lockf(e2, os.F_TEST, 1)
    assert e.value.errno == errno.EACCES
    with pytest.raises(BlockingIOError):
        os.lockf(e2, os.F_TLOCK, 1)
    os.lseek(e2, 15, os.SEEK_SET)
    assert os.lockf(e2, os.F_TEST, 10) is None
    os.lseek(e1, 10, os.SEEK_SET)
    os.lockf(e1, os.F_ULOCK, 5)
    os.lseek(e2, 12, os.SEEK_SET)
    os.lockf(e2, os.F_TLOCK, 1)
    os.close(e1)
    os.close(e2)

    # Bad input, as Linux and CPython report it.
    ro = open("/sem/f", "rb")
    wo = open("/sem/f", "ab")
    for f, cmd in ((ro, fcntl.LOCK_EX), (wo, fcntl.LOCK_SH)):
        with pytest.raises(OSError) as e:
            fcntl.lockf(f, cmd | fcntl.LOCK_NB)
        assert e.value.errno == errno.EBADF
    with pytest.raises(OSError) as e:
        fcntl.fcntl(ro, fcntl.F_SETLK, 0)  # no struct flock
    assert e.value.errno == errno.EFAULT
    with pytest.raises(OSError) as e:
        fcntl.lockf(ro, fcntl.LOCK_SH, 1, -5)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        fcntl.lockf(ro, fcntl.LOCK_SH, 1, 2**60)
    assert e.value.errno == errno.EOVERFLOW
    with pytest.raises(OSError) as e:
        getlk(ro, fcntl.F_UNLCK)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(ValueError, match="unrecognized"):
        fcntl.lockf(ro, fcntl.LOCK_NB)
    with pytest.raises(TypeError, match="fileno"):
        fcntl.flock("not a file", fcntl.LOCK_EX)
    with pytest.raises(ValueError, match="negative"):
        fcntl.flock(-1, fcntl.LOCK_EX)
    fcntl.flock(ro, fcntl.LOCK_SH)  # flock needs no particular access mode
    fcntl.flock(wo, fcntl.LOCK_SH)
    ro.close()
    wo.close()
    # F_GETLK of a shorter or longer buffer returns as many bytes as it was given
    with open("/sem/f", "rb") as f:
        assert len(fcntl.fcntl(f, fcntl.F_GETLK, FL.pack(fcntl.F_RDLCK, 0, 0, 0, 0) + b"pad")) == 35
    # Descriptors of other file systems go to the originals (Emscripten's stubs).
    with open("/tmp/memfs_file", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        fcntl.lockf(f, fcntl.LOCK_EX)
        assert fcntl.fcntl(f, fcntl.F_GETFD) >= 0
    assert fcntl.flock.__wrapped__ is not None
    xmfs.unmount("/sem_other")
    other.detach()
    assert pool.file_locks() == [] and pool.check() == []
    xmfs.unmount("/sem")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_an_empty_fcntl_placeholder_is_filled_in(selenium):
    """JupyterLite's Pyodide kernel puts an empty module in sys.modules["fcntl"]; the
    package fills it in from the real one, so file locks work there too."""
    import sys
    import types

    from pyodide_extmemfs import _posix

    real = sys.modules["fcntl"]
    placeholder = types.ModuleType("fcntl")
    sys.modules["fcntl"] = placeholder
    try:
        got = _posix._fcntl_module()
        assert got is placeholder and sys.modules["fcntl"] is placeholder
        assert placeholder.F_GETLK == real.F_GETLK and callable(placeholder.flock)
        assert placeholder.LOCK_EX == real.LOCK_EX
    finally:
        sys.modules["fcntl"] = real


@pytest.mark.driver_timeout(600)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_flock_and_record_locks_across_workers(selenium):
    import errno
    import fcntl
    import os
    import struct

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("4MiB", "128MiB")
    xmfs.mount(pool, "/lk")
    with open("/lk/f", "wb") as f:
        f.write(b"\0" * 100)
    FL = struct.Struct("=hh4xqqi4x")  # struct flock (musl, wasm32)

    def me():
        from pyodide_extmemfs import _worker

        return _worker.pool.instance_id

    def exclusion(args):
        """Each worker takes LOCK_EX `rounds` times and logs start/end while holding it."""
        import fcntl
        import time

        i, rounds = args
        for _ in range(rounds):
            with open("/lk/f", "rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                with open("/lk/log", "a") as log:
                    log.write(f"start {i}\n")
                time.sleep(0.005)
                with open("/lk/log", "a") as log:
                    log.write(f"end {i}\n")
                fcntl.flock(f, fcntl.LOCK_UN)
        return i

    def try_locks(_):
        """While the main instance holds locks: what a worker gets without waiting."""
        import errno
        import fcntl
        import struct

        FL = struct.Struct("=hh4xqqi4x")
        out = {}
        with open("/lk/f", "r+b") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                out["flock"] = "got it"
            except BlockingIOError as e:
                out["flock"] = errno.errorcode[e.errno]
            try:
                fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 10)
                out["lockf overlapping"] = "got it"
            except BlockingIOError as e:
                out["lockf overlapping"] = errno.errorcode[e.errno]
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50)  # [50, 60): free
            out["lockf elsewhere"] = "got it"
            got = fcntl.fcntl(f, fcntl.F_GETLK, FL.pack(fcntl.F_WRLCK, 0, 0, 0, 0))
            out["getlk"] = FL.unpack(got)
            try:
                os_lockf = __import__("os").lockf
                f.seek(12)
                os_lockf(f.fileno(), __import__("os").F_TLOCK, 1)
                out["os.lockf"] = "got it"
            except OSError as e:
                out["os.lockf"] = errno.errorcode[e.errno]
        return out

    def hold_range(args):
        """Lock [start, start+len) and report; keep it until /lk/go exists."""
        import fcntl
        import os
        import time

        start, length = args
        f = open("/lk/f", "r+b")
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
        open(f"/lk/holding{start}", "w").close()
        while not os.path.exists("/lk/go"):
            time.sleep(0.005)
        f.close()
        return start

    def deadlock(args):
        import fcntl
        import os
        import time

        from pyodide_extmemfs import _worker

        mine, other, second = args
        f = open("/lk/f", "r+b")
        fcntl.lockf(f, fcntl.LOCK_EX, 1, mine)
        open(f"/lk/dl{mine}", "w").close()
        while not os.path.exists(f"/lk/dl{other}"):
            time.sleep(0.002)
        if second:  # until the other one waits for us: this request closes the cycle
            me = _worker.pool.instance_id
            while not any(i["waiting_for"] == me for i in _worker.pool.instances()):
                time.sleep(0.005)
        try:
            fcntl.lockf(f, fcntl.LOCK_EX, 1, other)  # F_SETLKW: waits
            result = "got it"
        except OSError as e:
            result = e.errno
        f.close()  # releases: the other waiter goes on
        return mine, result

    def counter(args):
        import fcntl

        kind, n = args
        with open("/lk/counter", "r+b", buffering=0) as f:  # (no stale read buffer)
            for _ in range(n):
                if kind == "flock":
                    fcntl.flock(f, fcntl.LOCK_EX)
                else:
                    fcntl.lockf(f, fcntl.LOCK_EX, 8, 0)
                f.seek(0)
                v = int.from_bytes(f.read(8), "little")
                f.seek(0)
                f.write((v + 1).to_bytes(8, "little"))
                f.flush()
                if kind == "flock":
                    fcntl.flock(f, fcntl.LOCK_UN)
                else:
                    fcntl.lockf(f, fcntl.LOCK_UN, 8, 0)
        return n

    def with_filelock(n):
        import filelock

        lock = filelock.FileLock("/lk/fl.lock")
        for _ in range(n):
            with lock:
                with open("/lk/flcount", "r+") as f:
                    v = int(f.read() or 0)
                    f.seek(0)
                    f.write(str(v + 1))
                    f.truncate()
                with open("/lk/fllog", "a") as log:
                    log.write("in\nout\n")
        return n

    async with xmfs.Workers(4, pool=pool, mount="/lk", packages=["filelock"]) as workers:
        ids = set(await workers.map(lambda _: me(), range(4)))
        assert len(ids) == 4

        # 1. flock(LOCK_EX) excludes: two, then four workers.
        for n in (2, 4):
            if os.path.exists("/lk/log"):
                os.unlink("/lk/log")
            assert sorted(await workers.map(exclusion, [(i, 6) for i in range(n)])) == list(
                range(n)
            )
            lines = open("/lk/log").read().split()
            assert len(lines) == 4 * 6 * n
            for k in range(0, len(lines), 4):  # never two holders: start i, end i, ...
                w, a, w2, b = lines[k : k + 4]
                assert (w, w2) == ("start", "end") and a == b, (n, k, lines[k : k + 4])

        # 2. While this instance holds LOCK_EX and a record lock on [0, 20):
        #    LOCK_NB -> BlockingIOError, F_GETLK names us, other ranges are free.
        held = open("/lk/f", "r+b")
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.lockf(held, fcntl.LOCK_EX | fcntl.LOCK_NB, 20, 0)
        seen = await workers.run(try_locks, None)
        assert seen["flock"] in ("EAGAIN", "EWOULDBLOCK")
        assert seen["lockf overlapping"] in ("EAGAIN", "EWOULDBLOCK")
        assert seen["lockf elsewhere"] == "got it"
        assert seen["getlk"] == (fcntl.F_WRLCK, os.SEEK_SET, 0, 20, pool.instance_id)
        assert seen["os.lockf"] in ("EAGAIN", "EACCES")
        # ours: F_GETLK ignores our own locks; the worker's [50, 60) went with its close
        got = fcntl.fcntl(held, fcntl.F_GETLK, FL.pack(fcntl.F_WRLCK, 0, 0, 0, 0))
        assert FL.unpack(got)[0] == fcntl.F_UNLCK
        # 3. Released on close: now a worker gets both at once.
        held.close()
        seen = await workers.run(try_locks, None)
        assert seen["flock"] == "got it" and seen["lockf overlapping"] == "got it"
        assert pool.file_locks() == []

        # 4. lockf ranges that do not overlap do not conflict (two holders at once).
        for p in ("/lk/holding0", "/lk/holding10", "/lk/go"):
            if os.path.exists(p):
                os.unlink(p)
        holders = workers.map(hold_range, [(0, 10), (10, 10)])
        import asyncio

        task = asyncio.ensure_future(holders)
        for _ in range(2000):
            if os.path.exists("/lk/holding0") and os.path.exists("/lk/holding10"):
                break
            await asyncio.sleep(0.01)
        locks = sorted((x["start"], x["length"], x["pid"] in ids) for x in pool.file_locks())
        assert locks == [(0, 10, True), (10, 10, True)], pool.file_locks()
        probe = open("/lk/f", "r+b")
        with pytest.raises(BlockingIOError):
            fcntl.lockf(probe, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 15)
        got = FL.unpack(fcntl.fcntl(probe, fcntl.F_GETLK, FL.pack(fcntl.F_RDLCK, 0, 15, 1, 0)))
        assert got[0] == fcntl.F_WRLCK and got[2:4] == (10, 10) and got[4] in ids
        probe.close()
        open("/lk/go", "w").close()
        assert sorted(await task) == [0, 10]

        # 5. Two F_SETLKW waiters in a cycle: the second to wait gets EDEADLK.
        results = dict(await workers.map(deadlock, [(0, 1, False), (1, 0, True)]))
        assert results == {0: "got it", 1: errno.EDEADLK}, results

        # 6. Stress: 4 workers x 1,000 lock/increment/unlock cycles end at exactly 4,000
        #    (flock, then POSIX record locks).
        for kind in ("flock", "lockf"):
            with open("/lk/counter", "wb") as f:
                f.write((0).to_bytes(8, "little"))
            assert await workers.map(counter, [(kind, 1000)] * 4) == [1000] * 4
            with open("/lk/counter", "rb") as f:
                assert int.from_bytes(f.read(), "little") == 4000, kind

        # 7. The filelock package (flock underneath) excludes across workers.
        open("/lk/flcount", "w").close()
        assert await workers.map(with_filelock, [150] * 4) == [150] * 4
        assert open("/lk/flcount").read() == "600"
        assert open("/lk/fllog").read() == "in\nout\n" * 600

    assert pool.file_locks() == []
    assert pool.check() == []
    # Other descriptors are passed through unchanged.
    with open("/tmp/not_ours", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        assert fcntl.fcntl(f, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
    with pytest.raises(OSError) as e, open("/lk/f", "rb") as f:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # write lock, read-only fd
    assert e.value.errno == errno.EBADF
    with pytest.raises(ValueError, match="unrecognized"):
        fcntl.lockf(open("/lk/f", "rb"), 0)
    xmfs.unmount("/lk")


@pytest.mark.driver_timeout(600)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_locks_of_terminated_or_killed_holders_are_released(selenium):
    """A worker holding flock and record locks is closed mid-hold, or killed (its
    worker terminated under it, as a crash): its locks go at once, the others go on."""
    import asyncio
    import fcntl
    import os
    import random
    import time

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("4MiB", "64MiB")
    xmfs.mount(pool, "/kl")
    open("/kl/f", "wb").close()

    def hold_forever(tag):
        import fcntl
        import time

        f = open("/kl/f", "r+b")
        fcntl.flock(f, fcntl.LOCK_EX)
        fcntl.lockf(f, fcntl.LOCK_EX, 0, 0)
        open(f"/kl/{tag}", "w").close()
        while True:
            time.sleep(0.01)

    def churn(_):
        import fcntl

        f = open("/kl/f", "r+b")
        n = 0
        while True:
            fcntl.flock(f, fcntl.LOCK_EX)
            fcntl.lockf(f, fcntl.LOCK_EX, 10, n % 7)
            with open("/kl/count", "a") as c:
                c.write("x")
            fcntl.lockf(f, fcntl.LOCK_UN, 10, n % 7)
            fcntl.flock(f, fcntl.LOCK_UN)
            n += 1

    def wait_for_lock(_):
        import fcntl
        import time

        t0 = time.monotonic()
        with open("/kl/f", "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # blocks until the holder is gone
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
        return time.time(), time.monotonic() - t0  # (wall clock: comparable across threads)

    async def until(path):
        for _ in range(3000):
            if os.path.exists(path):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{path} never appeared")

    def hold_a_while(seconds):
        import fcntl
        import time

        with open("/kl/f", "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            open("/kl/held_a_while", "w").close()
            time.sleep(seconds)
        return "released"

    lease = pool.stats()["lease_ms"] / 1000
    async with xmfs.Workers(1, pool=pool, mount="/kl") as waiter:
        # This thread waits too: Atomics.wait in node; on a page's main thread, which
        # may not block, by spinning (the page is frozen meanwhile).
        held = asyncio.ensure_future(waiter.run(hold_a_while, 0.6))
        await until("/kl/held_a_while")
        t0 = time.monotonic()
        with open("/kl/f", "rb") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            waited = time.monotonic() - t0
        assert waited > 0.3, waited
        assert await held == "released"

        for how in ("close mid-hold", "killed"):
            holder = await xmfs.Workers(1, pool=pool, mount="/kl").start()
            call = asyncio.ensure_future(holder.run(hold_forever, how.replace(" ", "_")))
            await until(f"/kl/{how.replace(' ', '_')}")
            assert {x["kind"] for x in pool.file_locks()} == {"flock", "posix"}
            waiting = asyncio.ensure_future(waiter.run(wait_for_lock, None))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            t_kill = time.time()
            if how == "close mid-hold":
                await holder.close(timeout=0.05)
            else:
                # A crash: the worker is terminated under the call; Workers notices
                # its death and evicts it.
                await holder._workers[0].js.terminate()  # (jsglue PyWorker: as if it crashed)
            got_at, waited = await waiting
            print(f"{how}: the waiter got the lock {got_at - t_kill:.3f} s after the kill")
            assert got_at - t_kill < lease + 5, (how, got_at - t_kill)
            assert waited > 0.3
            try:
                await call
            except Exception:
                pass
            await holder.close()
            assert len(pool.instances()) == 2
            assert pool.file_locks() == [] and pool.check() == []

        # Killed at random moments while locking and unlocking in a loop.
        rnd = random.Random(3)
        for _ in range(6):
            holder = await xmfs.Workers(1, pool=pool, mount="/kl").start()
            call = asyncio.ensure_future(holder.run(churn, None))
            await asyncio.sleep(0.05 + rnd.random() * 0.3)
            await holder._workers[0].js.terminate()  # (jsglue PyWorker: as if it crashed)
            try:
                await call
            except Exception:
                pass
            await holder.close()
            _, waited = await waiter.run(wait_for_lock, None)
            assert waited < lease + 5
            assert pool.file_locks() == [] and pool.check() == []
    assert os.path.getsize("/kl/count") > 0
    fcntl.flock(open("/kl/f", "rb"), fcntl.LOCK_EX | fcntl.LOCK_NB)
    xmfs.unmount("/kl")


@pytest.mark.driver_timeout(900)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_sqlite_shared_by_workers(selenium):
    """The default VFS does not lock across workers (shown); sqlite_connect does:
    4 workers x 500 inserts give exactly 2,000 rows, and a worker killed while it
    holds the lock does not block the others past the lease."""
    import asyncio
    import os
    import sqlite3
    import time

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("4MiB", "128MiB")
    xmfs.mount(pool, "/db")

    def default_vfs_second_writer(path):
        import sqlite3

        conn = sqlite3.connect(path, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")  # must fail: the main instance is writing
        except sqlite3.OperationalError as e:
            return f"refused: {e}"
        conn.execute("INSERT INTO t VALUES ('worker')")
        conn.commit()
        conn.close()
        return "got the write lock"

    def safe_second_writer(path):
        import sqlite3

        import pyodide_extmemfs as xmfs

        conn = xmfs.sqlite_connect(path, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            return f"refused: {e}"
        conn.execute("INSERT INTO t VALUES ('worker')")
        conn.commit()
        conn.close()
        return "got the write lock"

    def inserts(args):
        import time

        import pyodide_extmemfs as xmfs

        path, n, base = args
        conn = xmfs.sqlite_connect(path)
        w = xmfs.worker_index()
        first = None
        for i in range(n):
            with conn:  # one transaction per insert
                conn.execute("INSERT INTO t (w, i) VALUES (?, ?)", (w, base + i))
            first = first or time.time()
        conn.close()
        return n, first

    def hold_write_lock(path):
        import time

        import pyodide_extmemfs as xmfs

        conn = xmfs.sqlite_connect(path)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (w, i) VALUES (-1, -1)")  # never committed
        open("/db/victim_holds", "w").close()
        while True:
            time.sleep(0.01)

    async with xmfs.Workers(4, pool=pool, mount="/db") as workers:
        # 1. The default VFS: the worker gets the write lock while we hold it, and one
        #    of the two transactions is lost (or the file is damaged).
        conn = sqlite3.connect("/db/plain.sqlite")
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES ('main')")
        assert (
            await workers.run(default_vfs_second_writer, "/db/plain.sqlite") == "got the write lock"
        )
        try:
            conn.commit()
            rows = sorted(r[0] for r in conn.execute("SELECT x FROM t"))
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            outcome = (rows, ok)
        except sqlite3.DatabaseError as e:
            outcome = str(e)
        conn.close()
        print("default VFS from two instances:", outcome)
        assert outcome != (["main", "worker"], "ok"), "both transactions survived?"

        # ... and through sqlite_connect the second writer is refused until we commit.
        conn = xmfs.sqlite_connect("/db/safe.sqlite")
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES ('main')")
        assert os.path.isdir("/db/safe.sqlite.lock")
        assert [x["kind"] for x in pool.file_locks()] == ["dir"]
        refused = await workers.run(safe_second_writer, "/db/safe.sqlite")
        assert refused.startswith("refused: database is locked"), refused
        conn.commit()
        assert not os.path.exists("/db/safe.sqlite.lock")
        assert await workers.run(safe_second_writer, "/db/safe.sqlite") == "got the write lock"
        assert sorted(r[0] for r in conn.execute("SELECT x FROM t")) == ["main", "worker"]
        conn.close()

        # 2. 4 workers x 500 inserts, one transaction each.
        conn = xmfs.sqlite_connect("/db/rows.sqlite")
        conn.execute("CREATE TABLE t (w INTEGER, i INTEGER)")
        conn.commit()
        conn.close()
        t0 = time.monotonic()
        done = await workers.map(inserts, [("/db/rows.sqlite", 500, 0)] * 4)
        assert [n for n, _ in done] == [500] * 4
        print(f"4 x 500 inserts in {time.monotonic() - t0:.1f} s")
        conn = xmfs.sqlite_connect("/db/rows.sqlite")
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2000
        assert conn.execute("SELECT COUNT(DISTINCT w * 10000 + i) FROM t").fetchone()[0] == 2000
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()

        # 3. A worker killed while it holds the lock: the others go on within the lease,
        #    and its unfinished transaction is rolled back from its journal.
        victim = await xmfs.Workers(1, pool=pool, mount="/db").start()
        held = asyncio.ensure_future(victim.run(hold_write_lock, "/db/rows.sqlite"))
        for _ in range(3000):
            if os.path.exists("/db/victim_holds"):
                break
            await asyncio.sleep(0.01)
        assert os.path.isdir("/db/rows.sqlite.lock")
        others = asyncio.ensure_future(workers.map(inserts, [("/db/rows.sqlite", 50, 1000)] * 3))
        await asyncio.sleep(0.5)
        assert not others.done()  # they wait for the victim's lock
        t_kill = time.time()
        await victim.close(timeout=0)  # terminated mid-transaction, evicted
        done = await others
        assert [n for n, _ in done] == [50] * 3
        after = min(t for _, t in done) - t_kill
        print(f"the first of the others wrote {after:.2f} s after the kill")
        lease = pool.stats()["lease_ms"] / 1000
        assert after < lease + 2, after
        with pytest.raises(RuntimeError, match="terminated"):
            await held
        conn = xmfs.sqlite_connect("/db/rows.sqlite")
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2150
        assert conn.execute("SELECT COUNT(*) FROM t WHERE w = -1").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()

    with pytest.raises(ValueError, match="not on an EXTMEMFS mount"):
        xmfs.sqlite_connect("/tmp/local.sqlite")
    with pytest.raises(ValueError, match="unix-dotfile"):
        xmfs.sqlite_connect("file:/db/x.sqlite?vfs=unix", uri=True)
    conn = xmfs.sqlite_connect("file:/db/uri.sqlite?mode=rwc", uri=True)
    conn.execute("CREATE TABLE u (x)")
    conn.close()
    assert pool.file_locks() == [] and pool.check() == []
    xmfs.unmount("/db")
