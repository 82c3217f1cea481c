"""Run Python functions on a pool of Pyodide workers that all mount the same pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from . import _jsglue, _serialize


class Workers:
    """``n`` Pyodide workers (Web Workers in browsers, worker_threads in node), each
    with ``pool`` mounted at ``mount``.

    Functions defined in the calling script or notebook cell are sent by value;
    arguments and results must be picklable. An exception in a worker is raised in
    the caller with the worker's traceback as its ``__cause__``::

        async with xmfs.Workers(4, pool=pool, mount="/shared") as workers:
            total = await workers.run(count_lines, "/shared/data.csv")
            sizes = await workers.map(process_file, paths)

    Args:
        n: number of workers (≥ 1).
        pool: the :class:`~pyodide_extmemfs.Pool` to share.
        mount: absolute path where each worker mounts the pool.
        readonly: mount read-only in the workers.
        index_url: where workers load Pyodide from; default: where this one came from.
        packages: Pyodide packages each worker loads at start (e.g. ``["numpy"]``).
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
    ) -> None:
        from . import Pool

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"Workers needs n ≥ 1 workers, got {n!r}")
        if not isinstance(pool, Pool):
            raise TypeError(f"Workers needs a pyodide_extmemfs.Pool, got {type(pool).__name__}")
        if not isinstance(mount, str) or not mount.startswith("/"):
            raise ValueError(f"mount must be an absolute path, got {mount!r}")
        self.n = n
        self.pool = pool
        self.mount = mount
        self.readonly = readonly
        self.index_url = index_url
        self.packages = list(packages)
        self._workers: list[Any] = []
        self._idle: asyncio.Queue | None = None
        self._in_flight: set[asyncio.Future] = set()

    async def start(self) -> Workers:
        """Start the workers and wait until each has mounted the pool."""
        _jsglue.require_pyodide("Workers")
        if self._workers:
            return self
        files = _jsglue.package_files()
        url = self.index_url or _jsglue.index_url()
        starts = [
            _jsglue.start_worker(
                {
                    "indexURL": url,
                    "files": files,
                    "memory": self.pool.memory,
                    "mount": self.mount,
                    "readonly": self.readonly,
                    "index": i,
                    "packages": self.packages,
                }
            )
            for i in range(self.n)
        ]
        results = await asyncio.gather(*starts, return_exceptions=True)
        started = [w for w in results if not isinstance(w, BaseException)]
        errors = [e for e in results if isinstance(e, BaseException)]
        if errors:
            for w in started:
                await w.terminate()
            raise errors[0]
        self._workers = started
        self._idle = asyncio.Queue()
        for w in started:
            self._idle.put_nowait(w)
        return self

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the next free worker and return its result.

        Raises whatever ``fn`` raised (with the worker's traceback as ``__cause__``);
        TypeError if the call or its result cannot be pickled; RuntimeError if the
        workers are closed or a worker died.
        """
        if self._idle is None:
            raise RuntimeError("Workers are not running: use `async with Workers(...)` or start()")
        payload = _serialize.dumps_call(fn, args, kwargs)
        idle = self._idle
        worker = await idle.get()
        call = asyncio.ensure_future(_jsglue.worker_call(worker, payload))
        self._in_flight.add(call)
        try:
            out = await call
        finally:
            self._in_flight.discard(call)
            # A worker that died (crashed, or terminated by close()) is not reused,
            # and what it held in the pool is released at once.
            if worker.alive and self._idle is idle:
                idle.put_nowait(worker)
            else:
                if worker in self._workers:
                    self._workers.remove(worker)
                await self._evict(worker)
        return _serialize.loads_result(out)

    async def map(self, fn: Callable[[Any], Any], iterable: Iterable[Any]) -> list[Any]:
        """``[fn(x) for x in iterable]`` spread over the workers; results in order."""
        return list(await asyncio.gather(*(self.run(fn, x) for x in iterable)))

    async def close(self, timeout: float | None = None) -> None:
        """Let calls in progress finish, then terminate every worker. Files they wrote
        stay in the pool.

        Args:
            timeout: seconds to wait for calls in progress (default: as long as they
                take). Workers still busy after it are terminated mid-call; their
                unfinished change is undone and their locks and open files released
                (the pool is evicted of their instances), so nothing is left held.
        """
        workers, self._workers, self._idle = self._workers, [], None
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=timeout)
        for w in workers:
            await w.terminate()
        for w in workers:
            await self._evict(w)

    async def _evict(self, worker: Any) -> None:
        """Clean up after a terminated or dead worker's instance in the pool: undo
        its unfinished change, release its locks and open files."""
        instance_id = int(getattr(worker, "instanceId", -1))
        if instance_id >= 0:
            await self.pool.evict_when_stopped(instance_id)

    async def __aenter__(self) -> Workers:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __len__(self) -> int:
        return len(self._workers)


def worker_index() -> int | None:
    """Inside a :class:`Workers` worker: its index (0 .. n-1); elsewhere ``None``."""
    from . import _worker

    return _worker.index
