"""Fixtures of the pytest plugin (:mod:`pyodide_extmemfs.pytest_plugin` registers this
module when pytest-pyodide is active; it imports pytest-pyodide)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_pyodide import spawn_web_server

from .pytest_plugin import ISOLATION_HEADERS
from .testing import MountedPool

PACKAGE = "pyodide-extmemfs"
_keys = itertools.count(1)


@pytest.fixture(scope="session")
def extmemfs_isolation_headers() -> dict[str, str]:
    """Headers the test web servers send (COOP/COEP/CORP). Override this fixture to
    send others, e.g. ``{}`` to test how your code fails without isolation."""
    return dict(ISOLATION_HEADERS)


@pytest.fixture(scope="session")
def web_server_main(request, extmemfs_isolation_headers):
    """pytest-pyodide's main web server for ``--dist-dir``, cross-origin isolated."""
    with spawn_web_server(
        request.config.option.dist_dir, extra_headers=extmemfs_isolation_headers
    ) as server:
        yield server


@pytest.fixture(scope="session")
def web_server_secondary(request, extmemfs_isolation_headers):
    """pytest-pyodide's secondary web server (another origin), cross-origin isolated."""
    with spawn_web_server(
        request.config.option.dist_dir, extra_headers=extmemfs_isolation_headers
    ) as server:
        yield server


def _dist_dir(config: pytest.Config) -> Path:
    return Path(config.option.dist_dir).resolve()


def _in_lock(dist: Path) -> bool:
    try:
        lock = json.loads((dist / "pyodide-lock.json").read_text())
    except (OSError, ValueError):
        return False
    return PACKAGE in lock.get("packages", {})


def _load(selenium: Any, config: pytest.Config, server: tuple) -> None:
    """Make ``import pyodide_extmemfs`` work in the runtime's Pyodide."""
    found = "import importlib.util\nimportlib.util.find_spec('pyodide_extmemfs') is not None"
    if selenium.run(found):
        return
    dist = _dist_dir(config)
    if _in_lock(dist):
        selenium.load_package(PACKAGE)
        return
    wheels = sorted(dist.glob("pyodide_extmemfs-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        pytest.fail(
            f"pyodide-extmemfs is neither in {dist / 'pyodide-lock.json'} nor a wheel in "
            f"{dist}: put pyodide_extmemfs-*.whl into --dist-dir (or add it to the lock file)",
            pytrace=False,
        )
    host, port, _log = server
    url = f"http://{host}:{port}/{wheels[-1].name}"
    selenium.load_package("micropip")
    selenium.run_async(f"import micropip\nawait micropip.install({url!r})")


@pytest.fixture
def selenium_extmemfs(request, selenium, web_server_main):
    """``selenium`` (pytest-pyodide's runtime) with pyodide-extmemfs importable in its
    Pyodide; in a browser, the page is checked to be cross-origin isolated first."""
    isolated = selenium.browser == "node" or selenium.run_js("return !!crossOriginIsolated")
    if not isolated:
        pytest.fail(
            f"the {selenium.browser} page is not cross-origin isolated, so it has no "
            "SharedArrayBuffer: the web server must send the headers of the "
            "extmemfs_isolation_headers fixture (is web_server_main overridden, e.g. in a "
            "conftest.py, without them?)",
            pytrace=False,
        )
    _load(selenium, request.config, web_server_main)
    return selenium


def _pool_options(request) -> dict[str, Any]:
    opts = {
        "initial_size": "4MiB",
        "maximum_size": "256MiB",
        "mount": "/shared",
        "lease_ms": 1000,
        "check": True,
    }
    marker = request.node.get_closest_marker("extmemfs_pool")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.extmemfs_pool takes keyword arguments only")
        unknown = set(marker.kwargs) - set(opts)
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.extmemfs_pool: unknown option(s) {sorted(unknown)}; "
                f"known: {sorted(opts)}"
            )
        opts.update(marker.kwargs)
    if not isinstance(opts["mount"], str) or not opts["mount"].startswith("/"):
        raise pytest.UsageError(f"extmemfs_pool: mount must be an absolute path: {opts['mount']!r}")
    return opts


@pytest.fixture
def extmemfs_pool(request, selenium_extmemfs) -> MountedPool:
    """A new pool mounted for this test (``/shared`` by default) in the Pyodide of
    ``selenium_extmemfs``: a :class:`pyodide_extmemfs.testing.MountedPool`. Afterwards
    it is unmounted, checked (``check()`` must be ``[]``) and detached."""
    opts = _pool_options(request)
    key = f"pool{next(_keys)}"
    args = (key, opts["mount"], opts["initial_size"], opts["maximum_size"], int(opts["lease_ms"]))
    created = json.loads(
        selenium_extmemfs.run(
            f"from pyodide_extmemfs import testing as _xmfs_testing\n_xmfs_testing._setup{args!r}"
        )
    )
    handle = MountedPool(opts["mount"], key, created["size"], created["maximum_size"])
    yield handle
    teardown = (key, opts["mount"], bool(opts["check"]))
    problems = json.loads(
        selenium_extmemfs.run(
            f"from pyodide_extmemfs import testing as _xmfs_testing\n"
            f"_xmfs_testing._teardown{teardown!r}"
        )
    )
    if problems:
        pytest.fail(
            f"pool.check() after the test found {len(problems)} problem(s): {problems[:20]}",
            pytrace=False,
        )
