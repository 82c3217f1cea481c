"""Fixtures for tests that run inside Pyodide (imported by conftest.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

LIB = Path(__file__).parent / "pyodide_lib"

#: Per-script timeout of the runners, seconds (conftest.py sets it; the plugin test
#: hands it to its subprocesses). Kept here, not in conftest.py: "conftest" is not one
#: module (tests/e2e/ has its own), so tests cannot import from it.
DEFAULT_SCRIPT_TIMEOUT = float(os.environ.get("EXTMEMFS_SCRIPT_TIMEOUT", "180"))


@pytest.fixture
def selenium_xmfs(selenium):
    """``selenium`` with tests/pyodide_lib/*.py importable inside Pyodide (and the
    *.js files they read beside them)."""
    files = {p.name: p.read_text() for p in sorted([*LIB.glob("*.py"), *LIB.glob("*.js")])}
    selenium.run_js(
        f"""
        const files = {json.dumps(files)};
        pyodide.FS.mkdirTree("/tmp/xmfs_testlib");
        for (const [name, text] of Object.entries(files)) {{
          pyodide.FS.writeFile("/tmp/xmfs_testlib/" + name, text);
        }}
        pyodide.runPython(
          "import sys\\nif '/tmp/xmfs_testlib' not in sys.path: sys.path.insert(0, '/tmp/xmfs_testlib')"
        );
        """
    )
    yield selenium


# --- plain Chromium pages (not pytest-pyodide's): pages of the repository served -------
# cross-origin isolated on 127.0.0.1 (demo/js-host/serve.py), driven with selenium.
ROOT = Path(__file__).resolve().parent.parent


def _serve_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("js_host_serve", ROOT / "demo/js-host/serve.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def chrome(request):
    """A headless Chromium (selenium), if the chrome runtime is selected."""
    import os

    if "chrome" not in str(request.config.option.runtime):
        pytest.skip("the chrome runtime is not selected (--runtime)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    opts = Options()
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        opts.add_argument(flag)
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def repo_server():
    """Base URL of the repository served cross-origin isolated (no CSP)."""
    server, url = _serve_module().start(ROOT, csp=False)
    yield url
    server.shutdown()


def wait_for_page(driver, expr: str, timeout: float = 120):
    """Poll `expr` (a JS expression) until it is an object with done: true; return it."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script(f"return {expr} || null")
        if state and state.get("done"):
            return state
        time.sleep(0.25)
    logs = [e["message"] for e in driver.get_log("browser")]
    raise AssertionError(f"page did not finish in {timeout}s; console: {json.dumps(logs)[:3000]}")
