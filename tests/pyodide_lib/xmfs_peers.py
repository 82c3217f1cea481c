"""Runs inside Pyodide: other Pyodide instances ("peers") that mount the same pool.

``await peer.run(fn, *args)`` runs ``fn`` in the peer and returns its result (or
raises its exception), whatever the peer is:
  * ``InThreadPeer``: a second ``loadPyodide()`` in this same JS thread;
  * ``WorkerPeer``: one ``pyodide_extmemfs.Workers`` worker (node worker_threads or a
    browser Web Worker).
"""

from __future__ import annotations

from pyodide.code import run_js
from pyodide.ffi import to_js

import pyodide_extmemfs as xmfs
from pyodide_extmemfs import _serialize

_LOAD_SECOND = run_js(
    """
    async (indexURL) => {
      const { loadPyodide } = await import(indexURL + "pyodide.mjs");
      const py = await loadPyodide({ indexURL });
      await py.loadPackage("pyodide-extmemfs");
      return py;
    }
    """
)


class InThreadPeer:
    kind = "same thread"

    @classmethod
    async def start(cls, pool, mount: str):
        import pyodide_js

        self = cls()
        self.py = await _LOAD_SECOND(pyodide_js._api.config.indexURL)
        self.mod = self.py.pyimport("pyodide_extmemfs._worker")
        self.mod.setup(pool.memory, mount, False, 1)
        return self

    async def run(self, fn, *args, **kwargs):
        payload = _serialize.dumps_call(fn, args, kwargs)
        out = await self.mod.handle(to_js(payload))
        return _serialize.loads_result(out.to_bytes())

    async def close(self):
        self.mod = None
        self.py = None


class WorkerPeer:
    kind = "worker"

    @classmethod
    async def start(cls, pool, mount: str):
        self = cls()
        self.workers = await xmfs.Workers(1, pool=pool, mount=mount).start()
        return self

    async def run(self, fn, *args, **kwargs):
        return await self.workers.run(fn, *args, **kwargs)

    async def close(self):
        await self.workers.close()
