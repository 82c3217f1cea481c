"""Fixtures for the end-to-end tests of the JupyterLite site (tests/e2e).

The site is built by ``bash scripts/jupyterlite.sh`` (scripts/setup.sh runs it too; a
rerun with nothing changed takes a second, and one after our wheel changed rebuilds the
site) and served from this process on 127.0.0.1, once with the cross-origin isolation
headers and once without. The pages run in headless Chromium through selenium
(scripts/jupyterlite/drive.py). These tests run when the chrome runtime is selected
(``--runtime`` includes chrome, as in ``bash scripts/test.sh``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "jupyterlite"))

import drive  # noqa: E402  (scripts/jupyterlite/drive.py)
import serve  # noqa: E402  (scripts/jupyterlite/serve.py)


def pytest_collection_modifyitems(config, items):
    # pytest-pyodide's --runtime: "node,chrome", "chrome-no-host", ...
    runtimes = {r.strip().removesuffix("-no-host") for r in config.option.runtime.split(",")}
    if "chrome" in runtimes:
        return
    skip = pytest.mark.skip(reason="JupyterLite e2e tests run with --runtime chrome")
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lite_site() -> Path:
    """build/jupyterlite, built (or found up to date) by scripts/jupyterlite.sh."""
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "jupyterlite.sh")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        pytest.fail(f"scripts/jupyterlite.sh failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return serve.SITE


@pytest.fixture(scope="session")
def lite_url(lite_site) -> str:
    """Base URL of the site, served cross-origin isolated (COOP/COEP/CORP)."""
    server, url = serve.start_server(lite_site, isolate=True)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def lite_url_plain(lite_site) -> str:
    """Base URL of the same site served WITHOUT the isolation headers."""
    server, url = serve.start_server(lite_site, isolate=False)
    yield url
    server.shutdown()


@pytest.fixture
def lite_browser(request):
    """A fresh headless Chromium (empty browser storage). On failure its log and a
    screenshot go to build/e2e-failures/."""
    browser = drive.LiteBrowser()
    yield browser
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        out = ROOT / "build" / "e2e-failures"
        out.mkdir(parents=True, exist_ok=True)
        browser.screenshot(str(out / f"{request.node.name}.png"))
        (out / f"{request.node.name}.log").write_text("\n".join(browser.browser_log()))
    browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
