"""Shared pytest configuration for pyodide_extmemfs tests (pytest-pyodide 0.59.2).

Run through scripts/test.sh, which passes ``--dist-dir=build/dist`` and
``--runtime node,chrome``. What this file adds on top of pytest-pyodide:

* the package's own pytest plugin (``pyodide_extmemfs.pytest_plugin``, what users
  get through its ``pytest11`` entry point) serves the dist with COOP/COEP/CORP:
  the Chrome page is then ``crossOriginIsolated`` and has ``SharedArrayBuffer`` /
  shared ``WebAssembly.Memory``. It is loaded from the source tree here, unless the
  package is installed in this environment (then its entry point loads it).
* markers ``only_node`` / ``only_chrome`` skip a runtime-parametrized test in
  the other runtime (decided at collection time, so no browser is started).
* script timeouts: the default per-``run_js`` timeout is raised (pytest-pyodide
  uses 20 s in Chrome; in node the effective limit was pexpect's fixed 60 s).
  Set ``EXTMEMFS_SCRIPT_TIMEOUT`` (seconds) to change the default, or mark a test
  with ``@pytest.mark.driver_timeout(SECONDS)`` (works in node too, see below).
* in the node runtime, pytest-pyodide evaluates test JS (``selenium.run_js``,
  and also Pyodide's ``js`` module and ``pyodide.code.run_js``, because it
  passes ``jsglobals: self``) in a ``vm`` context, while Pyodide itself and any
  module loaded with ``import()`` live in the main realm. The main realm's
  ``WebAssembly``, ``SharedArrayBuffer``, ``ArrayBuffer``, typed arrays,
  ``Atomics``, ``console`` etc. are exposed in the vm context so binary data is
  of one realm (``instanceof`` works as in a real single-realm program).
* fixtures ``dist_base_url`` (base URL of build/dist on the test server) and
  ``extmemfs_wheel_url`` (URL of our built wheel there, for micropip tests).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# selenium-manager must not try to download drivers/browsers (no network here);
# Debian's /usr/bin/chromedriver is found on PATH.
os.environ.setdefault("SE_OFFLINE", "true")

from pytest_pyodide import decorator as _pyodide_decorator
from pytest_pyodide import fixture as _pyodide_fixture
from pytest_pyodide import get_global_config
from pytest_pyodide.runner import NodeRunner, _BrowserBaseRunner

ROOT = Path(__file__).resolve().parent.parent

# --- the package's pytest plugin: cross-origin isolated web servers ------------------
# Installed, the package registers it as the pytest11 entry point "pyodide_extmemfs";
# from the source tree (not installed) it is loaded here.
if not any(
    ep.name == "pyodide_extmemfs" for ep in importlib.metadata.entry_points(group="pytest11")
):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    pytest_plugins = ["pyodide_extmemfs.pytest_plugin"]


from xmfs_fixtures import DEFAULT_SCRIPT_TIMEOUT  # noqa: E402  (tests/ is on sys.path)

# --- timeouts ---------------------------------------------------------------
# Class default used by every runner when it is created (Chrome: WebDriver
# script timeout; node: see below).
_BrowserBaseRunner.script_timeout = DEFAULT_SCRIPT_TIMEOUT


def _node_set_script_timeout(self, timeout):
    # pytest-pyodide's NodeRunner only stores the value; the wait for a result
    # uses the pexpect default timeout (60 s). Make both follow the setting.
    self.script_timeout = timeout
    p = getattr(self, "p", None)
    if p is not None:
        p.timeout = timeout


NodeRunner.set_script_timeout = _node_set_script_timeout


@contextlib.contextmanager
def _set_webdriver_script_timeout(selenium, script_timeout):
    # pytest-pyodide's version "restores" selenium.script_timeout after it has
    # already overwritten it, so a driver_timeout mark leaks into later tests
    # sharing the module-scoped runtime. Restore the real previous value.
    if script_timeout is None:
        yield
        return
    previous = selenium.script_timeout
    selenium.set_script_timeout(script_timeout)
    try:
        yield
    finally:
        selenium.set_script_timeout(previous)


_pyodide_fixture.set_webdriver_script_timeout = _set_webdriver_script_timeout


# --- exceptions from Pyodide whose class the host cannot import -------------------
class PyodideOnlyException(Exception):
    """Stands for an exception raised inside Pyodide whose class does not exist
    on the host (typically ``pyodide.ffi.JsException``: a JS error escaped into
    Python). Its message is the ``repr`` of the original exception."""


_orig_decode = _pyodide_decorator._decode


def _decode(selenium, result, status, repr):
    try:
        return _orig_decode(selenium, result, status, repr)
    except (ImportError, AttributeError):
        if status:  # an exception was raised in Pyodide: report it readably
            return PyodideOnlyException(repr)
        raise


_pyodide_decorator._decode = _decode

# --- node runtime globals ---------------------------------------------------
_cfg = get_global_config()
# What these tests use beyond the globals the plugin adds for pools and binary data
# (pyodide_extmemfs/pytest_plugin.py NODE_GLOBALS, added when pytest is configured).
_NODE_EXTRA_GLOBALS = [
    "console",
    "BroadcastChannel",
    "queueMicrotask",
    "setImmediate",
    "Response",
    "Headers",
]
for _g in _NODE_EXTRA_GLOBALS:
    if _g not in _cfg.get_node_extra_globals():
        _cfg.add_node_extra_globals([_g])


# --- fixtures shared with the product tests -------------------------------------------
if (ROOT / "tests" / "xmfs_fixtures.py").exists():
    from xmfs_fixtures import *  # noqa: F403  (tests/ is on sys.path)


# --- the test web server and our wheel on it ---------------------------------------
@pytest.fixture(scope="session")
def dist_base_url(web_server_main) -> str:
    """Base URL (no trailing slash) under which build/dist is served."""
    host, port, _log = web_server_main
    return f"http://{host}:{port}"


@pytest.fixture(scope="session")
def extmemfs_wheel_name(request) -> str:
    dist = Path(request.config.option.dist_dir)
    wheels = sorted(dist.glob("pyodide_extmemfs-*.whl"))
    if len(wheels) != 1:
        pytest.fail(
            f"expected exactly one pyodide_extmemfs wheel in {dist}, got {wheels}; "
            "run scripts/make_dist.py"
        )
    return wheels[0].name


@pytest.fixture(scope="session")
def extmemfs_wheel_url(dist_base_url, extmemfs_wheel_name) -> str:
    """URL of our wheel on the test web server (for micropip.install)."""
    return f"{dist_base_url}/{extmemfs_wheel_name}"


# --- which node: in test ids and the report header ---------------------------------
# pytest-pyodide's NodeRunner starts `node` from PATH; scripts/test.sh runs pytest once
# per node version (EXTMEMFS_NODES) with that version first on PATH. The id of the
# runtime parameter says which one ran: test_x[node20], test_x[node24]. The parameter's
# value stays "node" (markers and `runtime == "node"` checks are unchanged).
@functools.cache
def _node_on_path() -> tuple[str, str] | None:
    """(path, version) of the `node` that pytest-pyodide will start, or None."""
    path = shutil.which("node")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path, out.stdout.strip()


# --- Chrome's own log, shown when a tab crashed ------------------------------------
# Now and then (about one full run in ten, in different tests: test_locking,
# test_toolchain, test_sharing, test_stateful) a Chrome test fails with "tab crashed":
# Chrome's renderer process died. Chrome writes its log (browser and renderer processes)
# to CHROME_LOG; a failed test whose error names a crashed tab gets the end of it in its
# report, so that the next one says why.
CHROME_LOG = ROOT / "build" / "test-logs" / "chrome.log"
CHROME_LOG.parent.mkdir(parents=True, exist_ok=True)
_cfg.set_flags(
    "chrome", [*_cfg.get_flags("chrome"), "--enable-logging", f"--log-file={CHROME_LOG}", "--v=0"]
)
_CRASH_WORDS = ("tab crashed", "page crash", "target crashed")


def _chrome_log_tail(lines: int = 80) -> str:
    try:
        text = CHROME_LOG.read_text(errors="replace")
    except OSError as e:
        return f"(no Chrome log at {CHROME_LOG}: {e})"
    # (Chrome's complaints about a missing D-Bus, every start: noise here.)
    kept = [line for line in text.splitlines() if "dbus/" not in line]
    return "\n".join(kept[-lines:]) or f"({CHROME_LOG} holds nothing but D-Bus noise)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and any(w in str(report.longrepr).lower() for w in _CRASH_WORDS):
        report.sections.append((f"Chrome log, last lines ({CHROME_LOG})", _chrome_log_tail()))


def pytest_make_parametrize_id(config, val, argname):
    if argname == "runtime" and val == "node":
        node = _node_on_path()
        if node and re.fullmatch(r"v\d+\..*", node[1]):
            return "node" + node[1][1:].split(".")[0]
    return None


@pytest.fixture(scope="session")
def node_major() -> int | None:
    """Major version of the node that the node runtime runs on (None: no node)."""
    node = _node_on_path()
    m = re.fullmatch(r"v(\d+)\..*", node[1]) if node else None
    return int(m.group(1)) if m else None


def pytest_report_header(config):
    node = _node_on_path()
    if node is None:
        return "node runtime: no node on PATH"
    return f"node runtime: {node[1]} ({os.path.realpath(node[0])})"


# --- markers -------------------------------------------------------------------
_ONLY_MARKERS = {"only_node": "node", "only_chrome": "chrome"}


def pytest_configure(config):
    config.addinivalue_line("markers", "only_node: run this runtime-parametrized test only in node")
    config.addinivalue_line(
        "markers", "only_chrome: run this runtime-parametrized test only in chrome"
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        runtime = callspec.params.get("runtime") if callspec else None
        if runtime is None:
            continue
        for marker, wanted in _ONLY_MARKERS.items():
            if item.get_closest_marker(marker) and runtime != wanted:
                item.add_marker(pytest.mark.skip(reason=f"{marker}: not run in {runtime}"))
