"""Run Python functions on a pool of Pyodide workers that all mount the same pool.

The JavaScript half is jsglue/workers.js (the worker's control block: output ring,
interrupt word; jsglue/workerio.js). Here: which worker runs what, the caller's side of
output, interrupts and cancellation, maps in chunks, and cleaning up after workers that
die or are terminated — and after the workers *they* started (jsglue/lineage.js).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import math
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from . import _jsglue, _output, _progress, _serialize, _snapshots
from . import _worker as _worker_module

_REPEAT = 0.25  # seconds between interrupts of a call that was given up
_AGAIN = 1.0  # seconds between interrupt()'s KeyboardInterrupts of a call that runs on


class _Interrupted:
    """A chunk's call ended by KeyboardInterrupt: re-raised by the map's iterator (in the
    caller's task; a KeyboardInterrupt escaping a helper task would reach the event loop)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Worker:
    """One worker as the caller sees it."""

    def __init__(self, owner: Workers, js: Any, index: int) -> None:
        self.js = js
        self.index = index
        self.instance_id = int(js.instanceId)
        self.call: Any = None  # the JS call running now ({id, promise, done, finished})
        self.terminating = False
        self.lost = False
        self.output = _output.WorkerOutput(
            index, _output.prefix_for(owner.output_prefix, owner.n, index), owner.on_output
        )
        self._proxies = [
            _jsglue.proxy(lambda stream, data: self.output.write(int(stream), data.to_bytes())),
            _jsglue.proxy(lambda reason: owner._on_exit(self, str(reason))),
        ]
        js.onExit = self._proxies[1]
        js.setOutput(self._proxies[0])

    @property
    def busy(self) -> bool:
        return self.call is not None and not self.call.finished

    def release_proxies(self) -> None:
        self.js.onExit = None
        self.js.setOutput(None)
        for p in self._proxies:
            p.destroy()
        self._proxies = []


class Workers:
    """``n`` Pyodide workers (Web Workers in browsers, worker_threads in node), each
    with ``pool`` mounted at ``mount``.

    Functions defined in the calling script or notebook cell are sent by value;
    arguments and results must be picklable. An exception in a worker is raised in
    the caller with the worker's traceback as its ``__cause__``. What a worker prints
    appears in the caller's ``sys.stdout`` / ``sys.stderr`` while the call runs::

        await pool.install("sympy")                  # once, into the pool
        async with xmfs.Workers(4, pool=pool, mount="/shared") as workers:
            total = await workers.run(count_lines, "/shared/data.csv")
            sizes = await workers.map(process_file, paths, progress=True)
            async for r in workers.imap_unordered(simulate, range(100_000), chunksize=500):
                ...

    Cancelling the task that awaits a call (or the notebook's interrupt button) raises
    KeyboardInterrupt in the worker's Python; the worker stays usable.

    Args:
        n: number of workers (≥ 1).
        pool: the :class:`~pyodide_extmemfs.Pool` to share.
        mount: absolute path where each worker mounts the pool.
        readonly: mount read-only in the workers.
        index_url: where workers load Pyodide from; default: where this one came from.
        packages: requirements installed into the pool before the workers start
            (:meth:`Pool.install`: once, for all workers); the workers import them
            from the pool.
        worker_packages: Pyodide packages each worker loads itself at start (downloaded
            and unpacked once per worker; for what cannot go into a pool).
        output_prefix: put before each line a worker prints: a format string with
            ``{index}``, ``None`` for nothing, or ``"auto"`` (the default):
            ``"[worker {index}] "`` when there is more than one worker, else nothing.
        on_output: instead of writing to the caller's streams, call
            ``on_output(index, "stdout" | "stderr", text)`` for each piece of output.
        interrupt_timeout: seconds a worker has to stop after an interrupt; one that
            does not (it caught KeyboardInterrupt and went on, or it is stuck outside
            Python) is terminated and replaced by a new worker.
        snapshot: start the workers from a memory snapshot of a Pyodide that has this
            package and ``packages`` imported (made once per instance, by the first
            start: see :mod:`pyodide_extmemfs._snapshots`); False: each worker loads
            Pyodide and imports everything itself.
    """

    def __init__(
        self,
        n: int,
        pool: Any,
        mount: str = "/shared",
        *,
        readonly: bool = False,
        index_url: str | None = None,
        packages: Iterable[str] = (),
        worker_packages: Iterable[str] = (),
        output_prefix: str | None = "auto",
        on_output: Callable[[int, str, str], Any] | None = None,
        interrupt_timeout: float = 5.0,
        snapshot: bool = True,
    ) -> None:
        from . import Pool

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"Workers needs n ≥ 1 workers, got {n!r}")
        if not isinstance(pool, Pool):
            raise TypeError(f"Workers needs a pyodide_extmemfs.Pool, got {type(pool).__name__}")
        if not isinstance(mount, str) or not mount.startswith("/"):
            raise ValueError(f"mount must be an absolute path, got {mount!r}")
        if isinstance(packages, str) or isinstance(worker_packages, str):
            raise TypeError("packages and worker_packages are lists of names, not a string")
        if output_prefix is not None and not isinstance(output_prefix, str):
            raise TypeError(f"output_prefix must be a str or None, got {output_prefix!r}")
        self.n = n
        self.pool = pool
        self.mount = mount
        self.readonly = readonly
        self.index_url = index_url
        self.packages = list(packages)
        self.worker_packages = list(worker_packages)
        self.output_prefix = output_prefix
        self.on_output = on_output
        self.interrupt_timeout = float(interrupt_timeout)
        #: KeyboardInterrupts that interrupt() had to send again (a call ran on)
        self.interrupts_repeated = 0
        self.snapshot = bool(snapshot)
        self._snap: Any = None  # the JS Uint8Array the workers start from, or None
        self._workers: list[_Worker] = []
        self._idle: collections.deque[_Worker] = collections.deque()
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._running = False
        self._background: set[asyncio.Task] = set()
        # cleanups of workers that died: close() waits for them (never cancels them)
        self._evictions: set[asyncio.Task] = set()

    # ---- starting ------------------------------------------------------------------------

    async def start(self) -> Workers:
        """Install ``packages`` into the pool, start the workers and wait until each has
        mounted the pool.

        Raises:
            InstallError: a package cannot be installed (named, with the reason).
            RuntimeError: workers failed to start; the message names each failed worker,
                the step that failed (loading Pyodide from the index URL, loading
                packages, mounting) and why. The workers that did start are stopped.
        """
        _jsglue.require_pyodide("Workers")
        if self._running:
            return self
        await self.pool.sweep()  # browsers: slots of instances that died unnoticed
        if self.packages:
            await self.pool.install(*self.packages)
        if self.snapshot:
            self._snap = await _snapshots.snapshot_for(
                self.pool,
                self.index_url or _jsglue.index_url(),
                _jsglue.package_files(),
                self.mount,
                self.packages,
            )
        results = await asyncio.gather(
            *(self._start_one(i) for i in range(self.n)), return_exceptions=True
        )
        started = [w for w in results if isinstance(w, _Worker)]
        failed = [(i, e) for i, e in enumerate(results) if isinstance(e, BaseException)]
        if failed:
            for w in started:
                await self._stop(w)
            lines = "\n".join(f"  worker {i}: {e}" for i, e in failed)
            raise RuntimeError(
                f"Workers: {len(failed)} of {self.n} workers failed to start:\n{lines}"
            )
        self._workers = started
        self._idle = collections.deque(started)
        self._running = True
        self._check_restored(started)
        return self

    def _check_restored(self, started: list[_Worker]) -> None:
        if self._snap is None:
            return
        why = next((str(w.js.snapshotError) for w in started if w.js.snapshotError), "")
        if why:
            _snapshots.forget(self.pool, self._snap)
            self._snap = None
            warnings.warn(
                f"Workers: a worker could not start from the memory snapshot and loaded "
                f"Pyodide itself: {why}",
                RuntimeWarning,
                stacklevel=3,
            )

    async def _start_one(self, index: int) -> _Worker:
        js = await _jsglue.start_worker(
            {
                "indexURL": self.index_url or _jsglue.index_url(),
                "files": _jsglue.package_files(),
                "memory": self.pool.memory,
                "mount": self.mount,
                "readonly": self.readonly,
                "index": index,
                "packages": self.worker_packages,
                "parentId": self.pool.instance_id,
                "hostModule": _jsglue.host_module(),
                **({"snapshot": self._snap} if self._snap is not None else {}),
            }
        )
        return _Worker(self, js, index)

    # ---- which worker runs what ----------------------------------------------------------

    def _check_running(self) -> None:
        if not self._running:
            raise RuntimeError("Workers are not running: use `async with Workers(...)` or start()")

    async def _acquire(self) -> _Worker:
        while True:
            self._check_running()
            if self._idle:
                return self._idle.popleft()
            if not self._workers:
                raise RuntimeError("Workers: every worker has died")
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                w = await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled() and fut.result() is not None:
                    self._release(fut.result())
                raise
            if w is not None:
                return w

    def _release(self, w: _Worker) -> None:
        w.call = None
        if not self._running or w not in self._workers or not w.js.alive:
            return
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(w)
                return
        self._idle.append(w)

    def _wake_waiters(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    async def _call(self, payload: bytes) -> bytes:
        """Run a pickled call on the next free worker; the pickled result."""
        w = await self._acquire()
        w.output.begin_call((sys.stdout, sys.stderr))
        call = _jsglue.begin_call(w.js, payload)
        w.call = call
        try:
            out = await _jsglue.await_result(call.promise)
        except (asyncio.CancelledError, KeyboardInterrupt):
            if call.finished:  # interrupted in the worker, which is free again
                self._after(w)
            else:  # the caller gave up: stop the call in the worker, in the background
                self._spawn(self._reap(w, call))
            raise
        except RuntimeError as e:
            self._after(w)
            if not w.js.alive:
                raise RuntimeError(f"worker {w.index} died during the call: {e}") from None
            raise
        self._release(w)
        return out

    def _after(self, w: _Worker) -> None:
        if w.js.alive:
            self._release(w)
        else:
            self._lost(w)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reap(self, w: _Worker, call: Any) -> None:
        """Interrupt an abandoned call and wait for the worker to be free; replace the
        worker if it does not stop within ``interrupt_timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.interrupt_timeout
        how = str(w.js.interrupt(call.id))
        sent = loop.time()
        done = asyncio.ensure_future(_jsglue.settled(call.done))
        while not done.done() and loop.time() < deadline:
            await asyncio.wait({done}, timeout=min(0.05, max(0.0, deadline - loop.time())))
            # Again if it had not begun; and again every REPEAT s, like a second Ctrl-C:
            # a KeyboardInterrupt that fires inside a finalizer (a file closed by the
            # garbage collector, say) is printed and lost, and the function runs on.
            if not done.done() and (how == "none" or loop.time() - sent > _REPEAT):
                how = str(w.js.interrupt(call.id))
                sent = loop.time()
        if done.done():
            self._after(w)
            return
        done.cancel()
        if w.js.alive and w in self._workers:
            print(
                f"Workers: worker {w.index} did not stop within {self.interrupt_timeout:g} s "
                "of an interrupt; it is terminated and replaced",
                file=sys.stderr,
            )
            await self._replace(w)

    def _lost(self, w: _Worker) -> None:
        """A worker died: drop it, clean up after it and its descendants in the pool."""
        if w.lost:
            return
        w.lost = True
        if w in self._workers:
            self._workers.remove(w)
        if w in self._idle:
            self._idle.remove(w)
        w.call = None
        task = asyncio.ensure_future(self._evict_tree(w))
        self._evictions.add(task)
        task.add_done_callback(self._evictions.discard)
        self._wake_waiters()

    def _on_exit(self, w: _Worker, reason: str) -> None:
        # From jsglue when the worker died on its own (not when we terminate it).
        if not w.terminating and w in self._workers:
            print(f"Workers: worker {w.index} died: {reason}", file=sys.stderr)
            self._lost(w)

    async def _stop(self, w: _Worker) -> None:
        """Terminate a worker and evict it and the workers it started from the pool."""
        w.terminating = True
        await w.js.terminate()
        await self._evict_tree(w)
        w.release_proxies()

    async def _evict_tree(self, w: _Worker) -> None:
        memory = self.pool.memory
        ids = [w.instance_id] + [
            int(i) for i in _jsglue.modules().PyWorker.descendants(memory, w.instance_id)
        ]
        for instance_id in ids:
            try:
                await self.pool.evict_when_stopped(instance_id)
            except Exception as e:  # report, and go on with the others
                print(f"Workers: could not clean up instance {instance_id}: {e}", file=sys.stderr)
            _jsglue.modules().PyWorker.forget(memory, instance_id)

    async def _replace(self, w: _Worker) -> None:
        if w in self._workers:
            self._workers.remove(w)
        if w in self._idle:
            self._idle.remove(w)
        await self._stop(w)
        if not self._running:
            return
        try:
            new = await self._start_one(w.index)
        except Exception as e:
            print(f"Workers: could not restart worker {w.index}: {e}", file=sys.stderr)
            self._wake_waiters()
            return
        if not self._running:
            await self._stop(new)
            return
        self._workers.append(new)
        self._release(new)

    # ---- calls ---------------------------------------------------------------------------

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the next free worker and return its result.

        Raises whatever ``fn`` raised (with the worker's traceback as ``__cause__``);
        TypeError if the call or its result cannot be pickled; RuntimeError if the
        workers are closed or the worker died; KeyboardInterrupt if the call was
        interrupted (:meth:`interrupt`, or the calling instance's interrupt).
        Cancelling the awaiting task interrupts the call in the worker.
        """
        self._check_running()
        payload = _serialize.dumps_call(fn, args, kwargs)
        return _serialize.loads_result(await self._call(payload))

    def interrupt(self) -> int:
        """Raise KeyboardInterrupt in every call running now (a coroutine function is
        cancelled at its next ``await``); the callers get KeyboardInterrupt. A function
        still running a second after its KeyboardInterrupt gets another, every second,
        like a second Ctrl-C, until ``interrupt_timeout``: CPython prints and drops a
        KeyboardInterrupt that lands in a finalizer or a callback. Returns how many
        calls were interrupted."""
        n = 0
        for w in self._workers:
            if w.busy:
                self._spawn(self._deliver(w, w.call))
                n += 1
        return n

    async def _deliver(self, w: _Worker, call: Any) -> None:
        """Interrupt ``call`` (retried for a second if it has not begun), and again every
        ``_AGAIN`` s while it runs Python, until ``interrupt_timeout`` (see interrupt)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = None
        while not call.finished and loop.time() - start < self.interrupt_timeout:
            if sent is None or loop.time() - sent >= _AGAIN:
                how = str(w.js.interrupt(call.id))
                if how == "async":
                    return  # a coroutine: its cancel was sent, and is not lost
                if how == "sync":
                    if sent is not None:
                        self.interrupts_repeated += 1
                    sent = loop.time()
                elif sent is None and loop.time() - start > 1.0:
                    return  # it never began
            await asyncio.sleep(0.02)

    def imap(
        self,
        fn: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int = 1,
        *,
        progress: Any = None,
    ) -> AsyncIterator[Any]:
        """``fn(x)`` for each ``x``, as an async iterator of the results in order.

        Items are sent ``chunksize`` at a time, and at most two chunks per worker are
        taken from ``iterable`` ahead of the results (any length, lazily, also a
        generator). An exception of ``fn`` is raised when its result's turn comes;
        leaving the loop early interrupts the chunks still running. ``progress``: True
        (a tqdm bar, or a text line without tqdm), a callable ``(done, total)``, or a
        bar of yours with ``update(n)``.
        """
        return self._imap(fn, iterable, chunksize, progress, ordered=True)

    def imap_unordered(
        self,
        fn: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int = 1,
        *,
        progress: Any = None,
    ) -> AsyncIterator[Any]:
        """Like :meth:`imap`, but yields results as they complete (chunk by chunk)."""
        return self._imap(fn, iterable, chunksize, progress, ordered=False)

    async def map(
        self,
        fn: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        *,
        progress: Any = None,
    ) -> list[Any]:
        """``[fn(x) for x in iterable]`` spread over the workers; results in order.
        ``chunksize`` defaults as in multiprocessing: about four chunks per worker when
        the length is known, else 1. See :meth:`imap` for ``progress``."""
        if chunksize is None:
            size = len(iterable) if hasattr(iterable, "__len__") else 0
            chunksize = max(1, math.ceil(size / (4 * max(1, len(self._workers))))) if size else 1
        return [x async for x in self._imap(fn, iterable, chunksize, progress, ordered=True)]

    async def _imap(
        self, fn: Any, iterable: Iterable[Any], chunksize: int, progress: Any, ordered: bool
    ) -> AsyncIterator[Any]:
        self._check_running()
        if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
            raise ValueError(f"chunksize must be an int ≥ 1, got {chunksize!r}")
        if not callable(fn):
            raise TypeError(f"map needs a callable, got {type(fn).__name__}")
        total = len(iterable) if hasattr(iterable, "__len__") else None
        bar = _progress.make(progress, total)
        items = iter(iterable)
        limit = 2 * max(1, len(self._workers))
        in_flight: dict[asyncio.Task, int] = {}
        ready: dict[int, Any] = {}  # (ordered) finished chunks waiting for their turn
        sent = turn = 0
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) + len(ready) < limit:
                    chunk = list(itertools.islice(items, chunksize))
                    if not chunk:
                        exhausted = True
                        break
                    payload = _serialize.dumps_call(_worker_module.run_chunk, (fn, chunk), {})
                    in_flight[asyncio.ensure_future(self._chunk(payload))] = sent
                    sent += 1
                while turn in ready:
                    for r in self._chunk_results(ready.pop(turn)):
                        yield r
                    turn += 1
                if not in_flight:
                    if exhausted:
                        break
                    continue  # what was waiting is out: take more items
                finished, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for t in sorted(finished, key=in_flight.__getitem__):
                    k = in_flight.pop(t)
                    results = _decode_chunk(t.result())
                    if bar is not None and isinstance(results, list):
                        bar.update(len(results))
                    if ordered:
                        ready[k] = results
                    else:
                        for r in self._chunk_results(results):
                            yield r
        finally:
            for t in in_flight:
                t.cancel()  # interrupts the worker running it
            if bar is not None:
                bar.close()

    async def _chunk(self, payload: bytes) -> Any:
        try:
            return await self._call(payload)
        except KeyboardInterrupt as e:
            return _Interrupted(e)

    @staticmethod
    def _chunk_results(results: Any) -> Iterable[Any]:
        if isinstance(results, _Interrupted):
            raise results.exc
        for ok, value, tb in results:
            if ok:
                yield value
            else:
                _serialize.raise_remote(value, tb)

    # ---- closing -------------------------------------------------------------------------

    async def close(self, timeout: float | None = None) -> None:
        """Let calls in progress finish, then terminate every worker. Files they wrote
        stay in the pool.

        Args:
            timeout: seconds to wait for calls in progress (default: as long as they
                take). Workers still busy after it are terminated mid-call; their
                unfinished change is undone and their locks and open files released
                (the pool is evicted of their instances, and of the instances of any
                workers they started), so nothing is left held.
        """
        if not self._running:
            return
        self._running = False
        workers, self._workers, self._idle = list(self._workers), [], collections.deque()
        self._wake_waiters()
        busy = [asyncio.ensure_future(_jsglue.settled(w.call.done)) for w in workers if w.busy]
        if busy:
            await asyncio.wait(busy, timeout=timeout)
            for b in busy:
                b.cancel()
        for w in workers:
            w.terminating = True
            await w.js.terminate()
        for w in workers:
            await self._evict_tree(w)
            w.release_proxies()
        # Workers that died before: their cleanup (waiting until the browser has really
        # stopped them, then evicting them) finishes before close() returns, so that no
        # lock or open file of theirs is left behind.
        if self._evictions:
            await asyncio.gather(*list(self._evictions), return_exceptions=True)
        for t in list(self._background):
            t.cancel()

    async def __aenter__(self) -> Workers:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __len__(self) -> int:
        return len(self._workers)

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        busy = sum(w.busy for w in self._workers)
        return f"<pyodide_extmemfs.Workers {len(self._workers)}/{self.n} {state}, {busy} busy>"


def _decode_chunk(out: Any) -> Any:
    """A finished chunk: its list of ``(ok, value, traceback)``, or _Interrupted if the
    whole chunk was interrupted (raised by the iterator, in the caller's task)."""
    if isinstance(out, _Interrupted):
        return out
    try:
        return _serialize.loads_result(out)
    except KeyboardInterrupt as e:
        return _Interrupted(e)
    except Exception as e:  # raised when the chunk's turn comes
        return [(False, e, None)]


def worker_index() -> int | None:
    """Inside a :class:`Workers` worker: its index (0 .. n-1); elsewhere ``None``."""
    return _worker_module.index
