"""pytest plugin for testing code that uses pyodide-extmemfs with pytest-pyodide.

Installed with the package and registered through the ``pytest11`` entry point
``pyodide_extmemfs``; it does nothing unless pytest-pyodide is active too. Then it

* serves ``--dist-dir`` **cross-origin isolated**: it replaces pytest-pyodide's
  ``web_server_main`` and ``web_server_secondary`` with servers that send
  ``Cross-Origin-Opener-Policy: same-origin``, ``Cross-Origin-Embedder-Policy: require-corp``
  and ``Cross-Origin-Resource-Policy: cross-origin`` (fixture
  ``extmemfs_isolation_headers``), so that the Chrome and Firefox pages have
  ``SharedArrayBuffer`` — without it ``create_pool`` fails in a browser;
* exposes ``WebAssembly``, ``SharedArrayBuffer``, ``Atomics`` and the typed arrays to the
  node runtime's script context (pytest-pyodide evaluates JavaScript there);
* offers fixtures:

  ``selenium_extmemfs``
      pytest-pyodide's ``selenium`` with pyodide-extmemfs loaded in its Pyodide: from the
      dist's ``pyodide-lock.json`` if it lists ``pyodide-extmemfs``, else with micropip
      from the ``pyodide_extmemfs-*.whl`` in ``--dist-dir``. In a browser it fails the test
      at once, with the reason, if the page is not cross-origin isolated.
  ``extmemfs_pool``
      a new pool mounted at ``/shared`` for the test: a picklable
      :class:`pyodide_extmemfs.testing.MountedPool` (``.path``; inside Pyodide ``.pool``,
      ``.memory``). After the test it is unmounted, ``check()`` must return ``[]`` (else
      the test errors) and the pool is detached. Configure it per test with
      ``@pytest.mark.extmemfs_pool(initial_size="4MiB", maximum_size="256MiB",
      mount="/shared", lease_ms=1000, check=True)``.

Example (``pytest --runtime node,chrome --dist-dir=dist``)::

    from pytest_pyodide import run_in_pyodide

    @run_in_pyodide
    def test_one_file(selenium_extmemfs, extmemfs_pool):
        with open(f"{extmemfs_pool.path}/a.txt", "w") as f:
            f.write("hello")
        assert extmemfs_pool.pool.stats()["files"] == 1

Disable it with ``-p no:pyodide_extmemfs``. A ``web_server_main`` fixture of your own
(in a conftest.py) takes precedence; give it the headers of ``extmemfs_isolation_headers``.
"""

from __future__ import annotations

import pytest

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
"""The headers that make a page cross-origin isolated (and let it load our files)."""

NODE_GLOBALS = (
    "WebAssembly",
    "SharedArrayBuffer",
    "ArrayBuffer",
    "DataView",
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "Atomics",
    "URL",
    "Blob",
    "MessageChannel",
    "structuredClone",
    "performance",
)
"""Globals of node's main realm that the node runtime's script context must see, so that
pools (SharedArrayBuffer, Atomics, WebAssembly.Memory) and binary data work there."""

_FIXTURES = "pyodide_extmemfs._pytest_fixtures"


def _pytest_pyodide_active(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("pytest_pyodide")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures (when pytest-pyodide is active): after every plugin loaded
    from entry points, so that our ``web_server_main`` replaces pytest-pyodide's."""
    if not _pytest_pyodide_active(config) or config.pluginmanager.has_plugin(_FIXTURES):
        return
    config.addinivalue_line(
        "markers",
        "extmemfs_pool(initial_size='4MiB', maximum_size='256MiB', mount='/shared', "
        "lease_ms=1000, check=True): options of the extmemfs_pool fixture",
    )
    from pytest_pyodide import get_global_config

    node_globals = get_global_config().get_node_extra_globals()
    missing = [g for g in NODE_GLOBALS if g not in node_globals]
    if missing:
        get_global_config().add_node_extra_globals(missing)
    config.pluginmanager.import_plugin(_FIXTURES)
