"""The JavaScript API in a real page: a page served with a Content-Security-Policy that
forbids eval (`script-src 'self' 'wasm-unsafe-eval'`) imports jsglue/index.js, creates a
pool, mounts it in its Pyodide, posts the Pool to a module worker that attaches and mounts
it in its own Pyodide, and then lets the page's Python use the same modules
(provideToPython), so that nothing anywhere is evaluated. The page is demo/js-host/."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _serve_module():
    spec = importlib.util.spec_from_file_location("js_host_serve", ROOT / "demo/js-host/serve.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def chrome(request):
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


def _wait_for(driver, expr: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script(f"return {expr} || null")
        if state and state.get("done"):
            return state
        time.sleep(0.25)
    logs = [e["message"] for e in driver.get_log("browser")]
    raise AssertionError(f"page did not finish in {timeout}s; console: {json.dumps(logs)[:3000]}")


def test_js_api_page_and_module_worker_under_strict_csp(chrome):
    serve = _serve_module()
    server, url = serve.start(ROOT, csp=True)
    try:
        chrome.get(f"{url}/demo/js-host/index.html")
        state = _wait_for(chrome, "globalThis.jsHostDemo")
    finally:
        server.shutdown()
    assert state["evalRefused"] is True  # the CSP is in force in the page
    assert state.get("error") is None, state.get("error")
    assert state["workerSaw"] == "hello from the page"
    assert state["fromWorker"] == "hello from the worker"
    assert state["python"] == ["from-page.txt", "from-python.txt", "from-worker.txt"]
    assert state["check"] == []
    assert state["instances"] == 3  # the page's JS Pool, the worker's, the page's Python one
    assert state["ok"] is True
