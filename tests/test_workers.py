"""Workers a notebook can live with (issue 12), in node (worker_threads) and Chrome (Web
Workers): output in the caller's streams, interrupt and cancel, maps at scale with
progress, packages installed once in the pool, lifecycle and start failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide

DIST = Path(__file__).resolve().parent.parent / "build" / "dist"


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_worker_output_arrives_in_order_while_the_call_runs(selenium):
    import asyncio
    import contextlib
    import io
    import time

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/out")

    def chatty(n):
        import sys

        for i in range(n):
            print(f"out {i}")
            print(f"err {i}", file=sys.stderr)
        sys.stdout.write("no newline é")  # flushed at the end of the call; UTF-8 whole
        return n

    def announce_then_wait(path):
        import os
        import time

        print("started")
        t0 = time.time()
        while not os.path.exists(path):
            if time.time() - t0 > 60:
                return "the caller never saw the output"
            time.sleep(0.005)
        print("finished")
        return "ok"

    async with xmfs.Workers(2, pool=pool, mount="/out") as workers:
        # 1,000 lines to stdout and 1,000 to stderr, interleaved; one stream catches both
        both = io.StringIO()
        with contextlib.redirect_stdout(both), contextlib.redirect_stderr(both):
            assert await workers.run(chatty, 1000) == 1000
        lines = both.getvalue().split("\n")
        index = lines[0][len("[worker ") :].split("]")[0]
        p = f"[worker {index}] "
        want = [f"{p}{s} {i}" for i in range(1000) for s in ("out", "err")]
        assert lines == [*want, f"{p}no newline é"]
        # each to its own stream, in order
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            await workers.run(chatty, 300)
        p = out.getvalue().split("] ")[0] + "] "  # whichever worker ran it
        assert out.getvalue() == "".join(f"{p}out {i}\n" for i in range(300)) + (f"{p}no newline é")
        assert err.getvalue() == "".join(f"{p}err {i}\n" for i in range(300))
        # batched: far fewer wake-up messages than lines
        assert sum(int(w.js.wakeups) for w in workers._workers) < 2 * 1300 / 4

        # while the call runs: the worker waits until the caller has seen its output
        seen = io.StringIO()
        with contextlib.redirect_stdout(seen):
            call = asyncio.ensure_future(workers.run(announce_then_wait, "/out/go"))
            t0 = time.time()
            while "started" not in seen.getvalue():
                assert time.time() - t0 < 30, "no output while the call ran"
                await asyncio.sleep(0.01)
            assert not call.done()
            open("/out/go", "w").close()
            assert await call == "ok"
        marked = seen.getvalue().splitlines()
        assert [m.split("] ", 1)[1] for m in marked] == ["started", "finished"]
        assert marked[0].split("] ")[0] == marked[1].split("] ")[0]

    # one worker: no marker by default; a format of one's own; a callback instead
    async with xmfs.Workers(1, pool=pool, mount="/out") as one:
        plain = io.StringIO()
        with contextlib.redirect_stdout(plain):
            await one.run(print, "hello", "world")
        assert plain.getvalue() == "hello world\n"
    async with xmfs.Workers(1, pool=pool, mount="/out", output_prefix="w{index}| ") as one:
        mine = io.StringIO()
        with contextlib.redirect_stdout(mine):
            await one.run(print, "a\nb")
        assert mine.getvalue() == "w0| a\nw0| b\n"
    got = []
    async with xmfs.Workers(1, pool=pool, mount="/out", on_output=lambda *a: got.append(a)) as one:
        await one.run(chatty, 2)
    assert "".join(t for _, s, t in got if s == "stdout") == "out 0\nout 1\nno newline é"
    assert "".join(t for _, s, t in got if s == "stderr") == "err 0\nerr 1\n"
    assert {i for i, _, _ in got} == {0}
    assert len(pool.instances()) == 1
    xmfs.unmount("/out")


# (Under the 120 s read timeout of the driver's HTTP client: a hang ends as a script
# timeout with the page's log, whose "[ki]" lines name the step it hung in.)
@pytest.mark.driver_timeout(100)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_keyboard_interrupt_reaches_a_spinning_worker_which_stays_usable(selenium):
    import asyncio
    import os
    import time
    import traceback

    import pyodide_js
    import pytest
    from pyodide.code import run_js

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/ki")

    def spin(path, run_on=False):
        import time

        open(path, "w").close()
        try:
            while True:
                pass
        except KeyboardInterrupt:
            with open(path, "w") as f:
                f.write(repr(time.time()))
            if not run_on:
                raise
        while True:  # run_on: as if the KeyboardInterrupt had been lost
            pass

    def mark():
        import builtins

        builtins._xmfs_mark = "the same worker"
        return whoami()

    def whoami():
        import builtins

        from pyodide_extmemfs import _worker

        return builtins._xmfs_mark, _worker.pool.instance_id

    async def started(path):
        t0 = time.time()
        while not os.path.exists(path):
            assert time.time() - t0 < 60
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # in `while True: pass` by now

    async def interrupted_at(path):
        t0 = time.time()
        while not open(path).read():
            assert time.time() - t0 < 10, "the worker never got KeyboardInterrupt"
            await asyncio.sleep(0.01)
        return float(open(path).read())

    # a long interrupt_timeout: a replaced worker would not pass for the same one
    async with xmfs.Workers(1, pool=pool, mount="/ki", interrupt_timeout=60) as workers:
        me = await workers.run(mark)

        # 1. cancelling the awaiting task
        print("[ki] 1. cancel", flush=True)
        call = asyncio.ensure_future(workers.run(spin, "/ki/a"))
        await started("/ki/a")
        t0 = time.time()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await workers.run(whoami) == me
        assert await interrupted_at("/ki/a") - t0 < 1.0

        print("[ki] 2. workers.interrupt()", flush=True)

        # 2. workers.interrupt(): the caller gets KeyboardInterrupt, with the worker's
        # traceback
        async def interrupt_when_spinning(path):
            await started(path)
            assert workers.interrupt() == 1

        helper = asyncio.ensure_future(interrupt_when_spinning("/ki/b"))
        t0 = time.time()
        with pytest.raises(KeyboardInterrupt) as info:
            await workers.run(spin, "/ki/b")
        await helper
        assert "in spin" in "".join(traceback.format_exception(info.value))
        assert await interrupted_at("/ki/b") - t0 < 2.0
        assert await workers.run(whoami) == me
        assert workers.interrupt() == 0  # nothing running
        print(f"[ki] 2. done; sent again: {workers.interrupts_repeated}", flush=True)

        # 2b. a call that runs on after its KeyboardInterrupt (as when CPython drops one
        # that lands in a finalizer) gets another a second later, like a second Ctrl-C
        before = workers.interrupts_repeated
        helper = asyncio.ensure_future(interrupt_when_spinning("/ki/s"))
        t0 = time.time()
        with pytest.raises(KeyboardInterrupt):
            await workers.run(spin, "/ki/s", True)
        await helper
        assert await interrupted_at("/ki/s") - t0 < 2.0  # the first one reached it
        assert workers.interrupts_repeated > before
        assert time.time() - t0 < 10
        assert await workers.run(whoami) == me
        print("[ki] 2b. done", flush=True)

        print("[ki] 3. the caller's own interrupt", flush=True)
        # 3. the calling instance's own interrupt (a notebook's interrupt button writes
        # SIGINT into the kernel's interrupt buffer while the cell awaits): JavaScript
        # writes it once the worker spins, and KeyboardInterrupt is raised where we await
        old = getattr(pyodide_js._module, "Py_EmscriptenSignalBuffer", None)
        buf = run_js("new Int32Array(new SharedArrayBuffer(4))")
        pyodide_js.setInterruptBuffer(buf)
        try:
            run_js(
                """(b, FS, path) => {
                  const t = setInterval(() => {
                    try { FS.stat(path); } catch { return; }
                    clearInterval(t);
                    setTimeout(() => { b[0] = 2; }, 100);
                  }, 10);
                }"""
            )(buf, pyodide_js.FS, "/ki/c")
            with pytest.raises(KeyboardInterrupt):
                await workers.run(spin, "/ki/c")
        finally:
            pyodide_js.setInterruptBuffer(old)
        await interrupted_at("/ki/c")
        assert await workers.run(whoami) == me

        print("[ki] 4. a coroutine cancelled", flush=True)

        # 4. a coroutine function is cancelled at its await
        async def sleeper(path):
            import asyncio

            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                open(path, "w").write("cancelled")
                raise

        call = asyncio.ensure_future(workers.run(sleeper, "/ki/d"))
        await asyncio.sleep(0.5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await workers.run(whoami) == me
        assert open("/ki/d").read() == "cancelled"
        print("[ki] closing", flush=True)
    assert len(pool.instances()) == 1
    assert pool.check() == []
    xmfs.unmount("/ki")


@pytest.mark.driver_timeout(600)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_map_of_100000_items_in_chunks_and_the_async_iterators(selenium):
    import asyncio
    import contextlib

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/map")
    N = 100_000

    def sq(x):
        return x * x

    async with xmfs.Workers(2, pool=pool, mount="/map") as workers:
        assert await workers.map(sq, range(N), chunksize=1000) == [x * x for x in range(N)]
        # as they complete: every result exactly once
        seen = [r async for r in workers.imap_unordered(lambda x: x + 1, range(N), chunksize=250)]
        assert len(seen) == N
        assert sorted(seen) == list(range(1, N + 1))

        # bounded: items are taken lazily, a few chunks ahead; few tasks at any time
        taken = 0

        def items():
            nonlocal taken
            for i in range(N):
                taken += 1
                yield i

        first_taken = None
        most_tasks = 0
        k = 0
        async for r in workers.imap(sq, items(), chunksize=1000):
            assert r == k * k
            if k == 0:
                first_taken = taken
            if k % 5000 == 0:
                most_tasks = max(most_tasks, len(asyncio.all_tasks()))
            k += 1
        assert k == N
        assert first_taken <= 2 * len(workers) * 1000, first_taken
        assert most_tasks < 20, most_tasks

        # an exception is raised at its item's turn, after every earlier result
        def bad(x):
            if x == 7777:
                raise ValueError(f"bad item {x}")
            return x

        got = []
        with pytest.raises(ValueError, match="bad item 7777"):
            async for r in workers.imap(bad, range(20_000), chunksize=100):
                got.append(r)
        assert got == list(range(7777))

        # leaving a loop early interrupts the chunks still running
        def slow(x):
            import time

            t0 = time.time()
            while x and time.time() - t0 < 600:  # all but the first item: "forever"
                pass
            return x

        async with contextlib.aclosing(workers.imap(slow, range(10))) as it:
            async for _ in it:
                break
        assert await asyncio.wait_for(workers.run(sq, 3), timeout=60) == 9

        # progress: a callback, called per chunk
        calls = []
        await workers.map(sq, range(10_000), chunksize=1000, progress=lambda *a: calls.append(a))
        assert calls == [(d, 10_000) for d in range(1000, 10_001, 1000)]
        assert await workers.map(sq, []) == []
        with pytest.raises(ValueError, match="chunksize"):
            await workers.map(sq, range(3), chunksize=0)
    assert len(pool.instances()) == 1
    xmfs.unmount("/map")


@pytest.mark.driver_timeout(300)
@run_in_pyodide(packages=["pyodide-extmemfs", "tqdm"])
async def test_map_progress_bar_with_and_without_tqdm(selenium):
    import contextlib
    import io
    import sys

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/bar")
    async with xmfs.Workers(2, pool=pool, mount="/bar") as workers:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            await workers.map(abs, range(5000), chunksize=500, progress=True)
        assert "5000/5000" in err.getvalue() and "100%" in err.getvalue(), err.getvalue()

        saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith("tqdm")}
        sys.modules["tqdm"] = None  # as if tqdm were not installed
        try:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                await workers.map(abs, range(5000), chunksize=500, progress=True)
        finally:
            del sys.modules["tqdm"]
            sys.modules.update(saved)
        assert err.getvalue().endswith("\rmap: 5,000/5,000 (100%)\n"), err.getvalue()
        # a bar of one's own is updated and left open
        from tqdm import tqdm

        bar = tqdm(total=5000, file=io.StringIO())
        await workers.map(abs, range(5000), chunksize=500, progress=bar)
        assert bar.n == 5000
        bar.close()
    xmfs.unmount("/bar")


# ---- packages installed once in the pool ------------------------------------------------


def _wheel(glob: str) -> str:
    found = sorted(DIST.glob(glob))
    assert len(found) == 1, found
    return found[0].name


@run_in_pyodide(packages=["pyodide-extmemfs", "micropip"])
async def _install_phase(selenium, six_url):
    """Cell 1: a worker started before anything is installed; pool.install of a package
    from the lock file, a wheel URL and a wheel with a shared library."""
    import os

    import xmfs_native

    import pyodide_extmemfs as xmfs
    from pyodide_extmemfs import _jsglue

    pool = xmfs.create_pool("4MiB", "256MiB")
    xmfs.mount(pool, "/pk")
    early = await xmfs.Workers(1, pool=pool, mount="/early").start()
    name, data = xmfs_native.wheel("xmfs_ext", 42)
    with open(f"/tmp/{name}", "wb") as f:
        f.write(data)
    installed = await pool.install("attrs", six_url, f"emfs:/tmp/{name}")
    assert sorted(p["name"] for p in installed) == ["attrs", "six", "xmfs_ext"]
    listed = {p["name"]: p for p in pool.packages()}
    assert sorted(listed) == ["attrs", "six", "xmfs_ext"]
    assert listed["attrs"]["source"] == "pyodide"
    assert listed["six"]["source"] == six_url
    assert listed["attrs"]["location"] == "/pk/.site-packages"
    site = "/pk/.site-packages"
    assert os.path.exists(f"{site}/attr/__pycache__/_make.cpython-314.pyc")  # compiled once
    assert not os.path.exists(f"{site}/.staging") and not os.path.exists(f"{site}/.install-lock")
    # importable here at once; the shared library already loaded (asynchronously)
    so = f"{site}/xmfs_ext.cpython-314-wasm32-emscripten.so"
    assert so in _jsglue.loaded_dynlibs()
    import six
    import xmfs_ext

    assert six.__file__ == f"{site}/six.py"
    assert xmfs_ext.answer == 42 and xmfs_ext.__file__ == so
    # again: nothing to do
    assert await pool.install("attrs", "six") == []
    xmfs_native.state = {"pool": pool, "early": early}


@run_in_pyodide(packages=["pyodide-extmemfs"])
async def _workers_phase(selenium):
    """Cell 2: the early worker sees the new packages; four new workers (packages= goes
    through the pool) import them from the pool: nothing fetched, nothing compiled."""
    import xmfs_native

    import pyodide_extmemfs as xmfs

    pool = xmfs_native.state["pool"]
    early = xmfs_native.state["early"]

    def imports():
        import importlib.machinery

        import pyodide_js

        from pyodide_extmemfs import _jsglue, worker_index

        compiled = []
        to_code = importlib.machinery.SourceFileLoader.source_to_code

        def spy(self, data, path, *args, **kwargs):
            compiled.append(path)
            return to_code(self, data, path, *args, **kwargs)

        importlib.machinery.SourceFileLoader.source_to_code = spy
        import attrs
        import six
        import xmfs_ext

        @attrs.define
        class P:
            x: int

        loaded = pyodide_js.loadedPackages.to_py()
        return {
            "index": worker_index(),
            "files": [attrs.__file__, six.__file__, xmfs_ext.__file__],
            "compiled": [c for c in compiled if ".site-packages" in c],
            "by_pyodide": sorted(set(loaded) & {"attrs", "six", "xmfs_ext"}),
            "answer": xmfs_ext.answer,
            "libs": [p for p in _jsglue.loaded_dynlibs() if "xmfs_ext" in p],
            "attrs": repr(P(3)),
        }

    r = await early.run(imports)
    assert r["files"][1] == "/early/.site-packages/six.py", r

    # two instances install the same package at once: one installs, the other waits for
    # the install lock and finds it there
    async def install_in_worker(req):
        from pyodide_extmemfs import _worker

        return await _worker.pool.install(req)

    import asyncio

    here, there = await asyncio.gather(
        pool.install("more-itertools"), early.run(install_in_worker, "more-itertools")
    )
    assert sorted([len(here), len(there)]) == [0, 1], (here, there)
    assert [p["name"] for p in pool.packages()].count("more-itertools") == 1
    async with xmfs.Workers(4, pool=pool, mount="/mnt", packages=["attrs", "six"]) as workers:
        # four chunks, four idle workers: one first import in each
        results = await workers.map(lambda _: imports(), range(4), chunksize=1)
    assert sorted(r["index"] for r in results) == [0, 1, 2, 3]
    so = "/mnt/.site-packages/xmfs_ext.cpython-314-wasm32-emscripten.so"
    for r in results:
        assert r["files"] == [
            "/mnt/.site-packages/attrs/__init__.py",
            "/mnt/.site-packages/six.py",
            so,
        ], r
        assert r["compiled"] == [], r  # the .pyc files written at install were used
        assert r["by_pyodide"] == [], r  # no package loaded by Pyodide itself
        assert r["answer"] == 42 and r["libs"] == [so], r
        assert r["attrs"] == "P(x=3)"
    assert len(pool.instances()) == 2  # this instance and the early worker


@run_in_pyodide(packages=["pyodide-extmemfs"])
async def _errors_phase(selenium):
    """Cell 3: what cannot be installed or started says which package or worker, and why;
    nothing stays attached."""
    import os

    import pytest
    import xmfs_native

    import pyodide_extmemfs as xmfs
    from pyodide_extmemfs import _jsglue

    pool = xmfs_native.state["pool"]
    early = xmfs_native.state["early"]
    # an install lock left by an instance that died is broken
    os.mkdir("/pk/.site-packages/.install-lock")
    with open("/pk/.site-packages/.install-lock/owner", "w") as f:
        f.write("123456")  # no such instance in the pool
    assert [p["name"] for p in await pool.install("sortedcontainers")] == ["sortedcontainers"]
    assert not os.path.exists("/pk/.site-packages/.install-lock")
    with pytest.raises(xmfs.InstallError, match="'no-such-package-xyz'") as info:
        await pool.install("no-such-package-xyz")
    assert "Can't" in str(info.value) or "cannot" in str(info.value).lower()
    with pytest.raises(
        xmfs.InstallError, match=r"attrs==26\.1\.0 is already installed in the pool"
    ):
        await pool.install("attrs==1.0")
    with pytest.raises(xmfs.InstallError, match="no-such-package-xyz"):
        await xmfs.Workers(2, pool=pool, mount="/mnt", packages=["no-such-package-xyz"]).start()
    url = _jsglue.index_url()
    bad = "http://127.0.0.1:9/no-pyodide-here/" if "://" in url else "/no-pyodide-here/"
    with pytest.raises(RuntimeError) as info:
        await xmfs.Workers(2, pool=pool, mount="/mnt", index_url=bad).start()
    text = str(info.value)
    assert "2 of 2 workers failed to start" in text
    assert f"worker 0: loading Pyodide from {bad} failed" in text
    assert f"worker 1: loading Pyodide from {bad} failed" in text
    with pytest.raises(RuntimeError) as info:
        await xmfs.Workers(1, pool=pool, mount="/mnt", worker_packages=["no-such-pkg"]).start()
    assert "worker 0: loading the packages no-such-pkg failed" in str(info.value)
    assert "no-such-pkg" in str(info.value).split("failed", 1)[1]
    assert len(pool.instances()) == 2
    await early.close()
    assert len(pool.instances()) == 1
    assert pool.check() == []
    del xmfs_native.state


@pytest.mark.driver_timeout(600)
def test_pool_install_once_then_workers_import_from_the_pool(selenium_xmfs, web_server_main):
    host, port, log = web_server_main
    six = _wheel("six-*.whl")
    attrs = _wheel("attrs-*.whl")
    six_url = f"http://{host}:{port}/{six}?pool-install-test"  # a URL nothing else fetches

    def gets(name):
        return sum(f"GET /{name}" in line for line in log.read_text().splitlines())

    before = gets(f"{six}?pool-install-test")
    _install_phase(selenium_xmfs, six_url)
    assert gets(f"{six}?pool-install-test") == before + 1  # fetched once, by the install
    counts = gets(six), gets(attrs)
    _workers_phase(selenium_xmfs)
    assert (gets(six), gets(attrs)) == counts  # the workers fetched neither
    _errors_phase(selenium_xmfs)


# ---- memory snapshots --------------------------------------------------------------------


@pytest.mark.driver_timeout(600)
@run_in_pyodide(packages=["pyodide-extmemfs", "micropip"])
async def test_workers_start_from_a_memory_snapshot(selenium_xmfs):
    """Workers start from one memory snapshot with the pool's packages imported: each
    still draws its own random numbers and temporary names; the snapshot is made once per
    key (a new one after an install); a package whose import fails or that holds a JS
    object, and a snapshot that does not restore, give a warning naming it, and the
    workers start anyway; packages with shared libraries are left out of it (their wasm
    code is not in the heap); the instance that made the snapshot leaves no trace."""
    import os
    import warnings

    import pytest
    from pyodide.ffi import to_js

    import pyodide_extmemfs as xmfs
    from pyodide_extmemfs import _snapshots

    pool = xmfs.create_pool("16MiB", "1GiB")
    xmfs.mount(pool, "/snap")
    await pool.install("attrs")

    def probe(_):
        import random
        import sys
        import tempfile

        import pyodide_extmemfs as xmfs

        loaded = "attr" in sys.modules  # before anything here imports it
        main = sorted(n for n in vars(sys.modules["__main__"]) if not n.startswith("__"))
        import attr

        return {
            "index": xmfs.worker_index(),
            "loaded": loaded,
            "attr": attr.__file__,
            "random": random.random(),
            "temp": next(tempfile._get_candidate_names()),
            "main": main,
        }

    def fake_dist(name, module, source):
        site = "/snap/.site-packages"
        info = f"{site}/{name.replace('-', '_')}-1.0.dist-info"
        os.makedirs(info)
        with open(f"{info}/METADATA", "w") as f:
            f.write(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        with open(f"{info}/top_level.txt", "w") as f:
            f.write(module + "\n")
        os.makedirs(f"{site}/{module}")
        with open(f"{site}/{module}/__init__.py", "w") as f:
            f.write(source)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on the good path
        async with xmfs.Workers(3, pool=pool, mount="/snap", packages=["attrs"]) as w:
            assert [x.js.restored for x in w._workers] == [True] * 3
            snap = w._snap
            got = await w.map(probe, range(3), chunksize=1)
    assert snap is not None and list(_snapshots._made.values())[-1] is snap  # the newest
    assert all(r["loaded"] for r in got), got  # imported in the snapshot
    assert all(r["attr"].startswith("/snap/.site-packages/") for r in got), got
    assert len({r["random"] for r in got}) == 3, got  # reseeded in each worker
    assert len({r["temp"] for r in got}) == 3, got
    assert len(pool.instances()) == 1  # the snapshot's maker was evicted

    # the same key: the same snapshot, not made again
    async with xmfs.Workers(2, pool=pool, mount="/snap", packages=["attrs"]) as w:
        assert w._snap is snap and all(x.js.restored for x in w._workers)
        assert all(r["loaded"] for r in await w.map(probe, range(2), chunksize=1))
    # stored in the pool too: an instance without it in memory (here: after forgetting
    # the in-memory ones) starts from the pool's copy, without making one
    store = "/snap/.site-packages/.snapshots"
    assert [n[-5:] for n in os.listdir(store)] == [".snap"]
    _snapshots._made.clear()
    make = _snapshots._make

    async def must_not_make(*args):
        raise AssertionError("a snapshot was made again")

    _snapshots._make = must_not_make
    try:
        async with xmfs.Workers(1, pool=pool, mount="/snap", packages=["attrs"]) as w:
            assert w._workers[0].js.restored and (await w.run(probe, 0))["loaded"]
    finally:
        _snapshots._make = make
    # a package installed since: another snapshot
    assert [p["name"] for p in await pool.install("sortedcontainers")] == ["sortedcontainers"]
    async with xmfs.Workers(1, pool=pool, mount="/snap", packages=["attrs"]) as w:
        assert w._snap is not None and w._snap is not snap
        assert w._workers[0].js.restored
    assert len(os.listdir(store)) == 2
    # snapshot=False: the ordinary start
    async with xmfs.Workers(1, pool=pool, mount="/snap", snapshot=False) as w:
        assert w._snap is None and not w._workers[0].js.restored
        plain = await w.run(probe, 0)
        assert plain["loaded"] is False
    # nothing of the snapshot's maker is left in the workers' __main__
    assert all(r["main"] == plain["main"] for r in got), (plain, got)

    # an import that fails: named, and the snapshot is made without it
    fake_dist("xmfs-bad-import", "xmfs_bad_import", "raise ValueError('boom at import')\n")
    bad = ["xmfs-bad-import"]
    with pytest.warns(RuntimeWarning, match="xmfs_bad_import: ValueError: boom at import"):
        w = await xmfs.Workers(1, pool=pool, mount="/snap", packages=bad).start()
    assert w._workers[0].js.restored
    key = next(k for k, v in _snapshots._made.items() if v is w._snap)
    await w.close()
    assert len(os.listdir(store)) == 2  # (the oldest was removed)
    assert os.path.exists(_snapshots._path(pool, key))
    # a snapshot that does not restore: the worker loads Pyodide itself, and that
    # snapshot is not offered again
    _snapshots._made[key] = to_js(bytes(4096))
    with pytest.warns(RuntimeWarning, match="could not start from the memory snapshot"):
        w = await xmfs.Workers(1, pool=pool, mount="/snap", packages=bad).start()
    assert not w._workers[0].js.restored and w._snap is None
    assert _snapshots._made[key] is None
    assert not os.path.exists(_snapshots._path(pool, key))  # nor offered from the pool
    assert await w.run(lambda: 6 * 7) == 42
    await w.close()
    # a package that keeps a JS object: no snapshot can be made; the workers start anyway
    fake_dist("xmfs-js-holder", "xmfs_js_holder", "import js\nHELD = js.Object.new()\n")
    with pytest.warns(RuntimeWarning, match="without a memory snapshot"):
        w = await xmfs.Workers(1, pool=pool, mount="/snap", packages=["xmfs-js-holder"]).start()
    assert w._snap is None and not w._workers[0].js.restored
    assert await w.run(lambda: __import__("xmfs_js_holder").HELD is not None)
    await w.close()

    # shared libraries: a package that has one is not imported in the snapshot; one that
    # loads one when imported makes the snapshot be made again without the packages
    import xmfs_native

    name, data = xmfs_native.wheel("xmfs_snapext", 7)
    with open(f"/tmp/{name}", "wb") as f:
        f.write(data)
    await pool.install(f"emfs:/tmp/{name}")

    def ext_state(_):
        import sys

        was = "xmfs_snapext" in sys.modules
        import xmfs_snapext

        return was, xmfs_snapext.answer

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        async with xmfs.Workers(2, pool=pool, mount="/snap", packages=["xmfs_snapext"]) as w:
            assert all(x.js.restored for x in w._workers)
            assert await w.map(ext_state, range(2), chunksize=1) == [(False, 7)] * 2
    fake_dist("xmfs-uses-ext", "xmfs_uses_ext", "import xmfs_snapext\n")
    with pytest.warns(RuntimeWarning, match=r"made without the packages.*xmfs_snapext"):
        w = await xmfs.Workers(1, pool=pool, mount="/snap", packages=["xmfs-uses-ext"]).start()
    assert w._workers[0].js.restored
    assert await w.run(ext_state, 0) == (False, 7)
    await w.close()
    assert len(pool.instances()) == 1
    assert pool.check() == []


# ---- lifecycle ---------------------------------------------------------------------------


@pytest.mark.driver_timeout(600)
@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_workers_of_a_worker_are_cleaned_up_when_it_goes(selenium):
    """The caller's instance disappearing (a kernel restart, a worker terminated): the
    workers it started die with it, and the pool is evicted of all of them — their slots,
    locks and open files — by whoever saw it go."""
    import asyncio
    import os
    import time

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("4MiB", "256MiB")
    xmfs.mount(pool, "/life")

    def start_children(tag):
        import builtins

        import pyodide_extmemfs as xmfs
        from pyodide_extmemfs import _worker

        async def go():
            children = await xmfs.Workers(2, pool=_worker.pool, mount="/life").start()
            builtins._children = children  # kept: used by later calls

            def hold(i):
                import builtins

                with open(f"/life/{tag}{i}", "wb") as f:
                    f.write(b"x" * 1_000_000)
                builtins._held = open(f"/life/{tag}{i}", "rb")  # held open, never closed
                return 1

            await children.map(hold, range(2), chunksize=1)
            return sorted(w.instance_id for w in children._workers)

        return go()

    def children_still_answer():
        import builtins

        return builtins._children.run(lambda: "yes")

    def die():
        import js

        if hasattr(js, "process") and hasattr(js.process, "exit"):
            js.process.exit(3)  # node: ends this worker thread
        js.close()  # a browser worker: stops once this task ends
        raise SystemExit("closing")

    async def wait_for(cond, what):
        t0 = time.time()
        while not cond():
            assert time.time() - t0 < 30, what
            await asyncio.sleep(0.05)

    for how in ("terminated", "died"):
        workers = await xmfs.Workers(1, pool=pool, mount="/life").start()
        kids = await workers.run(start_children, how)
        assert await workers.run(children_still_answer) == "yes"
        ids = {i["id"] for i in pool.instances()}
        assert set(kids) <= ids and len(ids) == 4
        for i in range(2):
            os.unlink(f"/life/{how}{i}")  # removed, but held open by the children
        used = pool.stats()["used_bytes"]
        if how == "terminated":
            await workers.close(timeout=0)
        else:
            try:
                await workers.run(die)
            except (SystemExit, RuntimeError):
                pass
            await wait_for(lambda w=workers: len(w) == 0, "the death was not noticed")
        await wait_for(lambda: len(pool.instances()) == 1, f"{how}: instances left")
        assert pool.stats()["used_bytes"] < used - 2_000_000  # their open files released
        assert pool.check() == []
        if how == "died":
            import pytest

            with pytest.raises(RuntimeError, match="every worker has died"):
                await workers.run(abs, -1)
            await workers.close()
    # and the survivor works on
    with open("/life/after", "w") as f:
        f.write("ok")
    xmfs.unmount("/life")
