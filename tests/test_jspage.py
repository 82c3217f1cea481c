"""The JavaScript API in a real page: a page served with a Content-Security-Policy that
forbids eval (`script-src 'self' 'wasm-unsafe-eval'`) imports jsglue/index.js, creates a
pool, mounts it in its Pyodide, posts the Pool to a module worker that attaches and mounts
it in its own Pyodide, and then lets the page's Python use the same modules
(provideToPython), so that nothing anywhere is evaluated. The page is demo/js-host/."""

from __future__ import annotations

from pathlib import Path

from xmfs_fixtures import _serve_module, wait_for_page

ROOT = Path(__file__).resolve().parent.parent


def test_js_api_page_and_module_worker_under_strict_csp(chrome):
    server, url = _serve_module().start(ROOT, csp=True)
    try:
        chrome.get(f"{url}/demo/js-host/index.html")
        state = wait_for_page(chrome, "globalThis.jsHostDemo")
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
