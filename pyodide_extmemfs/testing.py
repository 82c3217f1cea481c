"""Test helpers that run inside Pyodide: the pool that the pytest plugin's
``extmemfs_pool`` fixture mounts for a test (see :mod:`pyodide_extmemfs.pytest_plugin`).

The fixture hands the test a :class:`MountedPool`. It pickles, so a
``@run_in_pyodide`` test receives it as an argument; inside Pyodide its :attr:`pool`
is the live :class:`~pyodide_extmemfs.Pool`::

    @run_in_pyodide
    def test_report(selenium_extmemfs, extmemfs_pool):
        import mypkg
        mypkg.write_report(f"{extmemfs_pool.path}/report.txt")
        assert extmemfs_pool.pool.stats()["files"] == 1

This module imports anywhere (it is plain data on the host); only :attr:`MountedPool.pool`
and :attr:`MountedPool.memory` need the Pyodide where the fixture set the pool up.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

# key -> Pool, in the Pyodide where the fixture set them up
_pools: dict[str, Any] = {}


@dataclass(frozen=True)
class MountedPool:
    """A pool mounted for one test by the ``extmemfs_pool`` fixture.

    Attributes:
        path: where it is mounted (``"/shared"`` unless the test's
            ``@pytest.mark.extmemfs_pool(mount=...)`` says otherwise).
        key: the fixture's name for it in this Pyodide.
        initial_size: bytes it was created with.
        maximum_size: bytes it may grow to.
    """

    path: str
    key: str
    initial_size: int
    maximum_size: int

    @property
    def pool(self) -> Any:
        """The :class:`~pyodide_extmemfs.Pool` (inside the Pyodide of the test).

        Raises:
            RuntimeError: this is not the Pyodide where the fixture set it up (e.g. on
                the host, or after the test).
        """
        try:
            return _pools[self.key]
        except KeyError:
            raise RuntimeError(
                f"the pool {self.key!r} is not set up in this interpreter: MountedPool.pool "
                "works inside the Pyodide of the test that requested extmemfs_pool"
            ) from None

    @property
    def memory(self) -> Any:
        """The pool's shared ``WebAssembly.Memory`` (to post to workers, or to attach)."""
        return self.pool.memory

    def check(self) -> list[str]:
        """``pool.check()``: every violated invariant, ``[]`` when the pool is sound."""
        return self.pool.check()


def _setup(key: str, path: str, initial_size: Any, maximum_size: Any, lease_ms: int) -> str:
    """Create and mount the pool of ``key`` (called by the fixture inside Pyodide)."""
    import pyodide_extmemfs as xmfs

    if key in _pools:
        raise RuntimeError(f"extmemfs_pool {key!r} is already set up")
    pool = xmfs.create_pool(initial_size, maximum_size, lease_ms=lease_ms)
    xmfs.mount(pool, path)
    _pools[key] = pool
    stats = pool.stats()
    return json.dumps({"size": stats["size"], "maximum_size": stats["maximum_size"]})


def _teardown(key: str, path: str, check: bool) -> str:
    """Unmount, check and detach the pool of ``key``; returns the problems as JSON."""
    import pyodide_extmemfs as xmfs

    pool = _pools.pop(key, None)
    if pool is None:
        return json.dumps([])
    cwd = os.getcwd()
    if cwd == path or cwd.startswith(path.rstrip("/") + "/"):
        os.chdir("/")  # a mount point in use cannot be unmounted
    try:
        xmfs.unmount(path)
    except OSError:
        pass  # the test unmounted it itself
    problems = pool.check() if check else []
    pool.detach()
    return json.dumps(problems)
