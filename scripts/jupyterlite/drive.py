"""Drive the built JupyterLite site in headless Chromium, as a person would: open the REPL
with cells in its URL, or open a notebook and choose Run ▸ Run All Cells; then read what
each cell printed from the page.

Used by tests/e2e (the end-to-end tests) and benchmarks/jupyterlite.py. Needs selenium
(the project's .venv) and Debian's chromium + chromedriver (scripts/setup.sh installs them).

    with LiteBrowser() as browser:
        cells = browser.repl(base_url, ["%pip install pyodide-extmemfs", "import ..."])
        cells[-1].text  # stdout/stderr of the last cell
"""

from __future__ import annotations

import os
import time
import urllib.parse
from dataclasses import dataclass, field

os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must not go online

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# One entry per code cell of the page: its prompt ("[3]:", "[*]:", "[ ]:") and its
# outputs as [mime type, text]. Runs in the page. textContent, not innerText: cells
# scrolled out of view are not rendered, and innerText is empty for them.
_READ_CELLS = """
const root = document.querySelector(arguments[0]);
if (!root) return null;
return [...root.querySelectorAll(arguments[1])].map(c => ({
  prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
  outputs: [...c.querySelectorAll('.jp-OutputArea-output')]
    .map(o => [o.getAttribute('data-mime-type') || '', o.textContent]),
}));
"""


class LiteError(AssertionError):
    """The page did not get through its cells (timeout, or a cell failed)."""


class KernelDied(LiteError):
    """The kernel's Pyodide suffered a fatal error (it runs nothing more)."""


# Pyodide's words when it dies (API.fatal_error), and what JupyterLite's DriveFS says when
# a synchronous request of the kernel's /drive gets a garbled answer: JSON.parse fails
# inside a file-system call, Pyodide dies of it (jupyterlite/jupyterlite#1412 is one such
# report). Seen here about once in eight runs of the e2e REPL test, in a zipimport stat
# while the kernel started (no cell of ours ran yet) or in the first import of a cell.
_FATAL = "Pyodide has suffered a fatal error"
_GARBLED_DRIVE = ("in JSON at position", "Unexpected end of JSON input")


@dataclass
class Cell:
    prompt: str
    outputs: list[list[str]] = field(default_factory=list)

    @property
    def number(self) -> int | None:
        """The execution count shown in the prompt (``[3]:`` is 3), if any."""
        p = self.prompt.strip()
        inner = p[1:-2].strip() if p.startswith("[") and p.endswith("]:") else ""
        return int(inner) if inner.isdigit() else None

    @property
    def executed(self) -> bool:
        return self.number is not None

    @property
    def running(self) -> bool:
        return self.prompt.strip() == "[*]:"

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.outputs)

    @property
    def error(self) -> str | None:
        """The traceback shown in this cell, if the code raised."""
        for mime, text in self.outputs:
            if mime == "application/vnd.jupyter.stderr" and "Traceback" in text:
                return text
        return None


def format_cells(cells: list[Cell], limit: int = 4000) -> str:
    out = []
    for i, c in enumerate(cells):
        out.append(f"--- cell {i} {c.prompt}\n{c.text}")
    return "\n".join(out)[-limit:]


class LiteBrowser:
    """One headless Chromium (a fresh profile: empty browser storage, so /drive starts
    with the site's contents only)."""

    def __init__(self, window: str = "1280,2000") -> None:
        for path in (CHROMIUM, CHROMEDRIVER):
            if not os.path.exists(path):
                raise FileNotFoundError(f"{path} missing: run `bash scripts/setup.sh`")
        options = Options()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            f"--window-size={window}",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        # The browser console, kept: ChromeDriver hands each message out only once.
        self._log: list[str] = []
        # Kernels that died of a garbled /drive answer and whose cells ran again (repl).
        self.drive_reruns: list[str] = []

    def __enter__(self) -> LiteBrowser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.driver.quit()

    # --- pages -------------------------------------------------------------------------
    def repl(
        self, base_url: str, cells: list[str], timeout: float = 300, rerunnable: bool = False
    ) -> list[Cell]:
        """Open the REPL app with ``cells`` in its URL (it runs them in order in a fresh
        kernel) and wait until every cell ran or one failed. Returns the cells.

        ``rerunnable``: the cells may run again from the start (what they did before is
        no obstacle). If the kernel then dies of a garbled answer of JupyterLite's /drive
        (``_GARBLED_DRIVE``, not ours to fix), the page is opened again once and the cells
        run in a new kernel; ``drive_reruns`` records it. Any other death fails at once."""
        query = urllib.parse.urlencode(
            [("kernel", "python"), ("toolbar", "1"), *(("code", c) for c in cells)]
        )
        for attempt in (1, 2):
            self.driver.get(f"{base_url}/repl/index.html?{query}")
            try:
                return self._wait_cells(
                    ".jp-CodeConsole", ".jp-CodeConsole-content .jp-CodeCell", len(cells), timeout
                )
            except KernelDied as e:
                if attempt == 2 or not rerunnable or not any(g in str(e) for g in _GARBLED_DRIVE):
                    raise
                self.drive_reruns.append(str(e))
        raise AssertionError("unreachable")

    def notebook(self, base_url: str, path: str, timeout: float = 300) -> list[Cell]:
        """Open notebook ``path`` of the site's contents in the Notebook app, choose
        Run ▸ Run All Cells and wait until every code cell ran or one failed."""
        query = urllib.parse.urlencode([("path", path)])
        self.driver.get(f"{base_url}/notebooks/index.html?{query}")
        count = self._wait(
            "return document.querySelectorAll('.jp-Notebook .jp-CodeCell').length",
            60,
            f"notebook {path} did not show its cells",
        )
        # Cells chosen to run while the kernel still starts wait for it in its queue.
        self._menu("Run", "Run All Cells")
        return self._wait_cells(".jp-Notebook", ".jp-Notebook .jp-CodeCell", count, timeout)

    def rerun_notebook(self, previous: list[Cell], timeout: float = 300) -> list[Cell]:
        """Run ▸ Run All Cells again in the open notebook (same kernel) and wait until
        every code cell ran again (a count above those of ``previous``) or one failed."""
        after = max((c.number or 0) for c in previous)
        self._menu("Run", "Run All Cells")
        return self._wait_cells(
            ".jp-Notebook", ".jp-Notebook .jp-CodeCell", len(previous), timeout, after
        )

    def wait_stored(self, paths: list[str], timeout: float = 60) -> None:
        """Wait until the page's browser storage (IndexedDB "JupyterLite Storage - ...",
        store "files", which backs the kernel's /drive) holds every file of ``paths``
        (relative to /drive) with content. DriveFS hands a file to the page when the
        kernel writes it, and the page stores it afterwards: a reload right after the
        last write can lose that write."""
        script = """
          const [paths, done] = [arguments[0], arguments[arguments.length - 1]];
          (async () => {
            const name = (await indexedDB.databases()).map((d) => d.name)
              .find((n) => n && n.startsWith("JupyterLite Storage"));
            if (!name) return false;
            const db = await new Promise((res, rej) => {
              const q = indexedDB.open(name);
              q.onsuccess = () => res(q.result);
              q.onerror = () => rej(q.error);
            });
            try {
              const store = db.transaction("files").objectStore("files");
              const got = await Promise.all(paths.map((p) => new Promise((res) => {
                const q = store.get(p);
                q.onsuccess = () => res(q.result);
                q.onerror = () => res(null);
              })));
              return got.every((m) => m && m.type === "file" && m.content && m.content.length > 0);
            } finally {
              db.close();
            }
          })().then(done, () => done(false));
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.driver.execute_async_script(script, paths):
                return
            time.sleep(0.5)
        raise LiteError(f"the page did not store {paths} within {timeout:.0f}s")

    def browser_log(self) -> list[str]:
        """Every browser console message so far (this page and the ones before)."""
        self._log += [e["message"] for e in self.driver.get_log("browser")]
        return self._log

    def screenshot(self, path: str) -> None:
        self.driver.save_screenshot(path)

    # --- helpers -----------------------------------------------------------------------
    def _menu(self, menu: str, item: str) -> None:
        for label in self.driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel"):
            if label.text == menu:
                label.click()
                break
        else:
            raise LiteError(f"no menu {menu!r} in the menu bar")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for label in self.driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel"):
                if label.text == item and label.is_displayed():
                    label.click()
                    return
            time.sleep(0.2)
        raise LiteError(f"no item {item!r} in menu {menu!r}")

    def _wait(self, script: str, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.driver.execute_script(script)
            if value:
                return value
            time.sleep(0.25)
        raise LiteError(f"{what} within {timeout:.0f}s")

    def _read(self, root: str, cells: str) -> list[Cell]:
        raw = self.driver.execute_script(_READ_CELLS, root, cells) or []
        return [Cell(c["prompt"], c["outputs"]) for c in raw]

    def _wait_cells(
        self, root: str, selector: str, count: int, timeout: float, after: int = 0
    ) -> list[Cell]:
        """Wait until ``count`` code cells ran (with an execution count above ``after``), or
        no cell runs and one of them failed (the rest are then never run)."""
        deadline = time.monotonic() + timeout
        cells: list[Cell] = []
        seen = len(self.browser_log())
        while time.monotonic() < deadline:
            cells = self._read(root, selector)
            if len(cells) >= count and not any(c.running for c in cells):
                ran = [(c.number or 0) > after for c in cells[:count]]
                if all(ran) or any(c.error for c, r in zip(cells, ran) if r):
                    return cells
            new = self.browser_log()[seen:]
            dead = next((i for i, m in enumerate(new) if _FATAL in m), None)
            if dead is not None:
                time.sleep(1)  # (what it says next: the cause, the Python stack)
                log = "\n".join(m[:300] for m in self.browser_log()[seen + dead :][:16])
                raise KernelDied(
                    f"the kernel died:\n{format_cells(cells)}\n--- browser console:\n{log}"
                )
            time.sleep(0.5)
        log = "\n".join(m[:300] for m in self.browser_log()[-12:])
        raise LiteError(
            f"the cells did not finish within {timeout:.0f}s:\n{format_cells(cells)}\n"
            f"--- browser console (last lines):\n{log}"
        )
