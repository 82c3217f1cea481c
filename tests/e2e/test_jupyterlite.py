"""End to end in the JupyterLite site (scripts/jupyterlite.sh), headless Chromium.

What a user does: `%pip install pyodide-extmemfs` in the Pyodide kernel (piplite finds
the wheel the site serves), create a pool, mount it, run Workers(2) that read and write
it, copy between the kernel's /drive (JupyterLite's DriveFS) and /shared with checksums,
`pool.check() == []`; the example notebook, run as a whole; and, on a server without
the isolation headers, the error that says why.

Results are read from what the kernel itself prints (a JSON line per page); what the
workers print must show in the output of the cell that ran them (stdout and stderr).
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from drive import KernelDied, format_cells


def _cells(*sources: str) -> list[str]:
    return [textwrap.dedent(s).strip() for s in sources]


def _result(cells, marker: str) -> dict:
    """The JSON the kernel printed after ``marker``; fails with the page's cells if a
    cell raised or nothing was printed."""
    for i, cell in enumerate(cells):
        assert cell.error is None, f"cell {i} raised:\n{cell.error}\n{format_cells(cells)}"
    for cell in cells:
        for line in cell.text.splitlines():
            if line.startswith(marker + " "):
                return json.loads(line[len(marker) + 1 :])
    raise AssertionError(f"no {marker} line in the output:\n{format_cells(cells)}")


SETUP = """
    import asyncio, hashlib, json, os, random, shutil
    import js
    import pyodide_extmemfs as xmfs

    assert js.crossOriginIsolated, "the page is not cross-origin isolated"
    pool = xmfs.create_pool("16MiB", "512MiB")
    xmfs.mount(pool, "/shared")

    def sha(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    print("mounted, layout", pool.stats()["layout_version"])
"""

DRIVE_TO_SHARED = """
    rng = random.Random(13)
    os.makedirs("/drive/e2e/in", exist_ok=True)  # (there if the cells run again)
    inputs = {}
    for i in range(6):
        data = rng.randbytes(1000 + 70_000 * i)
        with open(f"/drive/e2e/in/blob{i}.bin", "wb") as f:
            f.write(data)
        inputs[f"blob{i}.bin"] = hashlib.sha256(data).hexdigest()
    # JupyterLite's DriveFS stores a write after it returns, and under load has answered
    # ENOENT for a file it had just written (CI: blob3.bin; and blob5.bin once after it
    # had opened): every read of /drive is tried again for up to 20 s, the retries counted.
    drive_retries = 0
    async def from_drive(fn, path):
        global drive_retries
        for _ in range(200):
            try:
                return fn(path)
            except FileNotFoundError:
                drive_retries += 1
                await asyncio.sleep(0.1)
        return fn(path)
    os.makedirs("/shared/in")
    for name in inputs:
        await from_drive(lambda p: shutil.copyfile(p, f"/shared/in/{name}"), f"/drive/e2e/in/{name}")
    on_drive = {n: await from_drive(sha, f"/drive/e2e/in/{n}") for n in sorted(os.listdir("/drive/e2e/in"))}
    copied = {n: sha(f"/shared/in/{n}") for n in sorted(os.listdir("/shared/in"))}
    assert on_drive == copied == inputs, (on_drive, copied, inputs)
    print("copied", len(copied), "files /drive -> /shared;", drive_retries, "reads of /drive tried again")
"""

WORKERS = """
    def transform(name):
        import hashlib, os, sys
        import pyodide_extmemfs as xmfs
        print(f"E2E-WORKER-OUT reversing {name}")
        print(f"E2E-WORKER-ERR {name}", file=sys.stderr)
        with open(f"/shared/in/{name}", "rb") as f:
            data = f.read()
        os.makedirs("/shared/out", exist_ok=True)  # both workers race to make it
        out = f"/shared/out/{name}.rev"
        with open(out, "wb") as f:
            f.write(data[::-1])
        return xmfs.worker_index(), hashlib.sha256(data).hexdigest(), out

    def unreverse_sha(path):
        import hashlib
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()[::-1]).hexdigest()

    def try_lock(path):
        import fcntl
        with open(path, "wb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return "busy"
            return "got it"

    names = sorted(inputs)
    async with xmfs.Workers(2, pool=pool, mount="/shared") as workers:
        done = await workers.map(transform, names)
        rechecked = await workers.map(unreverse_sha, [out for _, _, out in reversed(done)])
        # file locks hold between the kernel and its workers (the kernel's fcntl is a
        # placeholder module that mounting fills in)
        import fcntl
        with open("/shared/lock", "wb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            locked = await workers.run(try_lock, "/shared/lock")
        unlocked = await workers.run(try_lock, "/shared/lock")
        assert (locked, unlocked) == ("busy", "got it"), (locked, unlocked)
    used = sorted({i for i, _, _ in done})
    assert used == [0, 1], used
    assert [s for _, s, _ in done] == [inputs[n] for n in names]
    assert rechecked == [inputs[n] for n in reversed(names)]
    for n in names:  # what the workers wrote, read here
        with open(f"/shared/out/{n}.rev", "rb") as f:
            assert hashlib.sha256(f.read()[::-1]).hexdigest() == inputs[n], n
    print("workers", used, "wrote", len(done), "files")
"""

SHARED_TO_DRIVE = """
    shutil.copytree("/shared/out", "/drive/e2e/out", dirs_exist_ok=True)
    in_pool = {n: sha(f"/shared/out/{n}") for n in sorted(os.listdir("/shared/out"))}
    saved = {n: sha(f"/drive/e2e/out/{n}") for n in sorted(os.listdir("/drive/e2e/out"))}
    assert saved == in_pool, (saved, in_pool)
    problems = pool.check()
    print("E2E-RESULT " + json.dumps({
        "isolated": bool(js.crossOriginIsolated), "inputs": inputs, "saved": saved,
        "workers": used, "check": problems, "stats": pool.stats(),
    }))
"""

# Right after a reload, JupyterLite's /drive (DriveFS, answered by the page through its
# service worker) once listed a file and then answered 404 for its content (a CI run
# that shared the machine with other jobs; the service worker was being re-registered
# as the page loaded). That is JupyterLite's, not the pool's (which is gone after a
# reload): a file /drive lists but cannot open yet is tried again for up to 20 s, and
# the retries are reported.
AFTER_RELOAD = """
    import hashlib, json, os, time
    retries = 0
    def sha(path):
        global retries
        for _ in range(40):
            try:
                with open(path, "rb") as f:
                    return hashlib.sha256(f.read()).hexdigest()
            except FileNotFoundError:
                retries += 1
                time.sleep(0.5)
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    saved = {n: sha(f"/drive/e2e/out/{n}") for n in sorted(os.listdir("/drive/e2e/out"))}
    print("E2E-AFTER " + json.dumps({"saved": saved, "shared": os.path.exists("/shared/in"),
                                     "retries": retries}))
"""


def test_repl_pool_workers_and_drive_copies(lite_url, lite_browser):
    reruns = len(lite_browser.drive_reruns)
    # (rerunnable: if JupyterLite's /drive garbles an answer and the kernel dies of it,
    # drive.py runs the cells again in a new kernel, once; they overwrite what they wrote)
    cells = lite_browser.repl(
        lite_url,
        [
            "%pip install pyodide-extmemfs",
            *_cells(SETUP, DRIVE_TO_SHARED, WORKERS, SHARED_TO_DRIVE),
        ],
        rerunnable=True,
    )
    r = _result(cells, "E2E-RESULT")
    # What the workers printed is in the output of the cell that ran them (marked with
    # the worker's index), not only in the browser's console.
    worker_cell = next(c for c in cells if "E2E-WORKER-OUT" in c.text)
    for i in range(6):
        line = next(
            (
                ln
                for ln in worker_cell.text.splitlines()
                if f"E2E-WORKER-OUT reversing blob{i}.bin" in ln
            ),
            None,
        )
        assert line is not None, format_cells(cells)
        assert line.startswith("[worker "), line
        assert f"E2E-WORKER-ERR blob{i}.bin" in worker_cell.text
    assert any(
        mime == "application/vnd.jupyter.stderr" and "E2E-WORKER-ERR" in text
        for mime, text in worker_cell.outputs
    ), worker_cell.outputs
    assert r["isolated"] is True
    assert r["check"] == []
    assert r["workers"] == [0, 1]
    assert sorted(r["saved"]) == [f"blob{i}.bin.rev" for i in range(6)]
    assert r["stats"]["files"] == 13  # 6 inputs + 6 outputs + the lock file, all in the pool
    assert len(set(r["inputs"].values())) == 6

    # A new kernel (the page reloaded): /drive kept the results, /shared is gone. (First
    # the page must have stored what the kernel wrote to /drive.)
    lite_browser.wait_stored([f"e2e/out/{n}" for n in sorted(r["saved"])])
    after = _result(lite_browser.repl(lite_url, _cells(AFTER_RELOAD), rerunnable=True), "E2E-AFTER")
    if after.pop("retries"):
        print("note: /drive listed files it could not open yet right after the reload")
    for death in lite_browser.drive_reruns[reruns:]:
        print(f"note: a kernel died of a garbled /drive answer; its cells ran again:\n{death}")
    assert after == {"saved": r["saved"], "shared": False}


def _check_notebook_run(cells) -> None:
    for i, cell in enumerate(cells):
        assert cell.error is None, f"cell {i} raised:\n{cell.error}"
        assert cell.executed, f"cell {i} did not run:\n{format_cells(cells)}"
    text = "\n".join(c.text for c in cells)
    assert "cross-origin isolated: True" in text
    assert "words counted by the workers: 339985" in text, format_cells(cells)
    assert text.count("pool.check(): []") == 2
    # The benchmark table (rendered Markdown) has the /drive, /tmp and pool columns.
    assert "pool ÷ /drive" in text and "pool ÷ /tmp" in text, format_cells(cells)


def test_example_notebook_runs_and_runs_again(lite_url, lite_browser):
    first = lite_browser.notebook(lite_url, "extmemfs.ipynb")
    _check_notebook_run(first)
    # Run ▸ Run All Cells once more in the same kernel: a new pool replaces the old one
    # at /shared, the files in /drive are overwritten.
    again = lite_browser.rerun_notebook(first)
    _check_notebook_run(again)
    assert min(c.number for c in again) > max(c.number for c in first)


NO_ISOLATION = """
    import json
    import js
    import pyodide_extmemfs as xmfs
    try:
        xmfs.create_pool("16MiB", "64MiB")
    except RuntimeError as e:
        error = str(e)
    else:
        error = None
    print("E2E-NOISO " + json.dumps({
        "isolated": bool(js.crossOriginIsolated),
        "sab": hasattr(js, "SharedArrayBuffer"),
        "error": error,
    }))
"""


def test_without_isolation_headers_create_pool_explains(lite_url_plain, lite_browser):
    cells = lite_browser.repl(
        lite_url_plain, ["%pip install pyodide-extmemfs", *_cells(NO_ISOLATION)]
    )
    r = _result(cells, "E2E-NOISO")
    assert r["isolated"] is False and r["sab"] is False
    assert r["error"] is not None, "create_pool worked without SharedArrayBuffer?"
    assert "SharedArrayBuffer" in r["error"]
    assert "cross-origin isolated" in r["error"]
    assert "Cross-Origin-Opener-Policy: same-origin" in r["error"]
    assert "Cross-Origin-Embedder-Policy: require-corp" in r["error"]


# A kernel's death as JupyterLite's /drive causes it: Pyodide's fatal error, its cause a
# JSON.parse of a garbled answer (drive.py _GARBLED_DRIVE). Only the first run dies (it
# leaves a mark in /drive).
DIE_ONCE = """
    import os, js, pyodide_js
    mark = "/drive/e2e-died-once"
    if os.path.exists(mark):
        print("E2E-AGAIN ran again")
    else:
        open(mark, "w").close()
        import time
        time.sleep(3)  # (until the page has stored the mark)
        pyodide_js._api.fatal_error(js.SyntaxError.new(
            "Bad control character in string literal in JSON at position 71"))
"""

DIE_OTHERWISE = """
    import js, pyodide_js
    pyodide_js._api.fatal_error(js.Error.new("E2E-OTHER a death of another cause"))
"""


def test_harness_runs_cells_again_only_when_drive_garbled_an_answer(lite_url, lite_browser):
    # A death of that kind: the page opens again and the cells run in a new kernel, once.
    reruns = len(lite_browser.drive_reruns)
    cells = lite_browser.repl(lite_url, _cells(DIE_ONCE), rerunnable=True)
    assert "E2E-AGAIN ran again" in cells[0].text, format_cells(cells)
    assert len(lite_browser.drive_reruns) == reruns + 1
    assert "Bad control character" in lite_browser.drive_reruns[-1]
    # Any other death, or cells that may not run again, fail at once (not after 300 s).
    t0 = time.monotonic()
    with pytest.raises(KernelDied, match="E2E-OTHER"):
        lite_browser.repl(lite_url, _cells(DIE_OTHERWISE), rerunnable=True)
    with pytest.raises(KernelDied, match="Bad control character"):
        lite_browser.repl(lite_url, _cells(DIE_ONCE.replace("e2e-died-once", "e2e-x")))
    assert time.monotonic() - t0 < 120
    assert len(lite_browser.drive_reruns) == reruns + 1
