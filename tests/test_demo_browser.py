"""The browser demo (demo/browser/, `bash scripts/demo.sh --browser`) in Chromium: four
Pyodide workers churn files in one pool while the page draws it; the page must finish
with every file verified and `pool.check() == []`, have drawn the memory map in several
kinds while the workers ran, and a screenshot of it must show a rendered page. The PNG is
kept in build/screenshots/demo-browser.png for people to look at."""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path

import pytest
from xmfs_fixtures import wait_for_page

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots"
# Fewer rounds than a person gets (200): enough to fill the pool to its maximum.
QUERY = "workers=4&rounds=45&pause=0.05"


def _distinct_colours(png: bytes, box: tuple[int, int, int, int] | None = None) -> int:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    if box:
        img = img.crop(box)
    return len(img.getcolors(maxcolors=1 << 20) or [])


@pytest.mark.driver_timeout(300)
def test_browser_demo_runs_draws_and_checks(chrome, repo_server):
    chrome.set_window_size(1300, 1500)
    chrome.get(f"{repo_server}/demo/browser/index.html?{QUERY}")
    # While the workers run: the page shows them at work (rounds under way).
    live = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and live is None:
        live = chrome.execute_script(
            """
            const s = globalThis.extmemfsDemo;
            if (!s || s.done) return s && s.done ? "done" : null;
            const rounds = [...document.querySelectorAll("#workers tbody tr td:nth-child(2)")]
              .map((td) => td.textContent);
            const card = document.querySelector("[data-card=files] .value");
            const files = card ? Number(card.textContent.replace(/,/g, "")) : 0;
            return (s.phase || "").includes("churning") && files >= 20 && rounds.length === 4 ? rounds : null;
            """
        )
        time.sleep(0.2)
    assert live not in (None, "done"), "never saw the workers at work"
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "demo-browser-live.png").write_bytes(chrome.get_screenshot_as_png())
    assert any(not r.startswith("45/45") for r in live), live
    state = wait_for_page(chrome, "globalThis.extmemfsDemo", timeout=240)
    chrome.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    png = chrome.get_screenshot_as_png()
    (SHOTS / "demo-browser.png").write_bytes(png)
    assert state.get("error") is None, state.get("error")
    assert state["ok"] is True
    assert state["check"] == []
    report = state["report"]
    assert report["check"] == []
    assert len(report["workers"]) == 4
    for w in report["workers"]:
        assert (w["round"], w["written"], w["renames"]) == (45, 45, 45)
        assert w["appends"] >= 10 and w["verified"] >= 30
    # The pool filled up: deleted files left gaps that new ones reused.
    assert sum(w["deleted"] for w in report["workers"]) > 0
    assert report["stats"]["size"] > 8 << 20
    ui = state["ui"]
    assert ui["renderErrors"] == []
    assert ui["renders"] >= 10, ui  # several updates a second while the workers ran
    assert ui["fileCounts"] >= 5, ui  # the numbers changed as they ran
    # free, inode chunks, directory tables, directory entries, file data, fixed tables
    # (codes of Pool.blockMap: jsglue/pool/diagnostics.js BLOCK_KINDS; 6 is the file-lock
    # table, which the demo's workers never make)
    assert {0, 1, 2, 3, 4, 7} <= set(ui["kindsDrawn"]), ui
    assert ui["lockSamples"] > 50, ui

    # The canvas holds several colours (kinds) — read back from the page itself.
    colours = chrome.execute_script(
        """
        const c = document.getElementById("map");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size;
        """
    )
    assert colours >= 6, colours
    text = chrome.find_element("id", "result").text
    assert "The pool is sound" in text and "pool.check() → []" in text

    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert _distinct_colours(png) > 200  # text, cards, the map: not a blank page
    rect = chrome.execute_script(
        "const r = document.getElementById('map').getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom].map(Math.round);"
    )
    ratio = chrome.execute_script("return window.devicePixelRatio") or 1
    box = tuple(int(v * ratio) for v in rect)
    assert _distinct_colours(png, box) >= 6  # the map, as it appears in the screenshot


def test_demo_sh_browser_serves_the_page_isolated():
    """`bash scripts/demo.sh --browser` prints a URL that serves the page cross-origin
    isolated (EXTMEMFS_SKIP_SETUP=1: the test run has set up already)."""
    import os
    import urllib.request

    env = dict(os.environ, EXTMEMFS_SKIP_SETUP="1")
    proc = subprocess.Popen(
        ["bash", "scripts/demo.sh", "--browser", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if " open http://" in line:
                url = line.split(" open ", 1)[1].split()[0]
        assert url and url.endswith("/demo/browser/"), lines
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin"
            assert r.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert "Content-Security-Policy" not in r.headers
            assert b'src="page.js"' in r.read()
        with urllib.request.urlopen(url + "page.js", timeout=30) as r:
            assert r.headers["Content-Type"].startswith("text/javascript")
        with urllib.request.urlopen(url.replace("/demo/browser/", "/build/dist/pyodide.mjs")) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
