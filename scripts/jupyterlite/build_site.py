#!/usr/bin/env python3
"""Build the JupyterLite site for pyodide-extmemfs into build/jupyterlite/, offline.

Run by scripts/jupyterlite.sh with the Python of build/lite-venv (jupyterlite-core and
jupyterlite-pyodide-kernel 0.8.6, pinned in scripts/jupyterlite/requirements.txt), after
build/dist/ holds our wheel (scripts/make_dist.py). It lays out a JupyterLite project
directory, build/lite-src/:

    jupyter-lite.json   the kernel's settings: pyodideUrl = ./static/pyodide/pyodide.mjs
                        (the local distribution, not the CDN) and no PyPI fallback
    static/pyodide/     Pyodide 314.0.7 from node_modules/pyodide plus the wheels the kernel
                        loads from the lock (make_dist.make_lite_dist)
    pypi/               wheels piplite offers to `%pip install`: our wheel, and comm
                        (the kernel needs it; Pyodide's lock does not have it)
    files/              the site's contents: the example notebook and the benchmark module

then runs `jupyter lite build` into build/jupyterlite/ and checks the result. A stamp of
every input (build/jupyterlite/.extmemfs-inputs.sha256) makes a rerun with nothing changed
return at once.

    build/lite-venv/bin/python scripts/jupyterlite/build_site.py [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import make_dist  # noqa: E402  (scripts/make_dist.py: the offline Pyodide distribution)

BUILD = ROOT / "build"
DIST = BUILD / "dist"
SRC = BUILD / "lite-src"
OUT = BUILD / "jupyterlite"
STAMP = OUT / ".extmemfs-inputs.sha256"

KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
PYODIDE_URL = "./static/pyodide/pyodide.mjs"

# What goes into the site's contents (shown in its file browser, /drive in the kernel).
CONTENTS = [
    ROOT / "demo" / "jupyterlite" / "extmemfs.ipynb",
    ROOT / "benchmarks" / "drivefs_bench.py",
]

LITE_JSON = {
    "jupyter-lite-schema-version": 0,
    "jupyter-config-data": {
        "appName": "pyodide-extmemfs on JupyterLite",
        "litePluginSettings": {
            KERNEL_PLUGIN: {
                "pyodideUrl": PYODIDE_URL,
                # Self-contained: `%pip install` finds only what the site serves.
                "disablePyPIFallback": True,
            }
        },
    },
}


def log(msg: str) -> None:
    print(f"[jupyterlite] {msg}", flush=True)


def our_wheel() -> Path:
    wheels = sorted(DIST.glob(make_dist.OUR_WHEEL_GLOB))
    if len(wheels) != 1:
        sys.exit(
            f"[jupyterlite] expected one {make_dist.OUR_WHEEL_GLOB} in {DIST}, found "
            f"{[w.name for w in wheels]}: run scripts/make_dist.py (scripts/setup.sh does)"
        )
    return wheels[0]


def sync_dir(files: list[Path], dest: Path) -> None:
    """Make ``dest`` hold exactly ``files`` (by name), copying only what changed."""
    dest.mkdir(parents=True, exist_ok=True)
    names = {f.name for f in files}
    for old in dest.iterdir():
        if old.name not in names:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    for f in files:
        make_dist.copy_if_changed(f, dest / f.name)


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def lay_out_source() -> None:
    SRC.mkdir(parents=True, exist_ok=True)
    piplite = make_dist.make_lite_dist(SRC / "static" / "pyodide")
    sync_dir([*piplite, our_wheel()], SRC / "pypi")
    missing = [p for p in CONTENTS if not p.exists()]
    if missing:
        sys.exit(f"[jupyterlite] missing contents: {missing}")
    sync_dir(CONTENTS, SRC / "files")
    write_if_changed(SRC / "jupyter-lite.json", json.dumps(LITE_JSON, indent=2) + "\n")


def inputs_digest() -> str:
    """sha256 over every file of the project directory, this script and the lite venv's
    requirements (the venv is rebuilt when they change)."""
    h = hashlib.sha256()
    files = sorted(p for p in SRC.rglob("*") if p.is_file() and not _is_build_state(p))
    files += [Path(__file__).resolve(), HERE / "requirements.txt"]
    for p in files:
        h.update(str(p.relative_to(ROOT)).encode() + b"\0")
        h.update(make_dist.sha256_of(p).encode() + b"\n")
    return h.hexdigest()


def _is_build_state(p: Path) -> bool:
    # doit's task database and the addons' caches live in the project directory too.
    rel = p.relative_to(SRC).parts
    return rel[0] in {".cache"} or rel[0].startswith(".jupyterlite.doit")


def jupyter_lite_build() -> None:
    jupyter = Path(sys.executable).parent / "jupyter"
    cmd = [
        str(jupyter),
        "lite",
        "build",
        "--lite-dir",
        str(SRC),
        "--output-dir",
        str(OUT),
        "--contents",
        str(SRC / "files"),
        "--no-sourcemaps",
    ]
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, cwd=SRC, check=True)


# A race in the Pyodide kernel's main-thread side, when the page is cross-origin isolated
# (jupyterlite-pyodide-kernel 0.8.6 and 0.8.7 bundle coincident for it): a call into the
# kernel's worker posts a request and then waits with `Atomics.waitAsync(sb, 0)`, using
# the result's `.value.then`. When the worker has already answered, which happens whenever
# the page's thread is delayed for a moment after posting (a loaded machine), waitAsync
# returns synchronously {async: false, value: "not-equal"}, `.then` is not a function, the
# answer is dropped and the kernel looks busy forever ("A(...).value.then is not a
# function" in the console). The patch turns a synchronous result into a promise that
# settles a little later: the worker writes the answer before it changes the word waited
# on (the length) or is one tight copy loop from finishing it (the text).
COINCIDENT_WAIT = re.compile(r"(\w+)=\((\w+),(\w+)\)=>\2\?(\w+)\(\3,0\):")
COINCIDENT_FIX = (
    r"\1=(\2,\3)=>\2?/*xmfs:sync-waitAsync*/((w)=>w.async===false?"
    r"{value:new Promise(ok=>setTimeout(ok,10))}:w)(\4(\3,0)):"
)
COINCIDENT_MARK = "/*xmfs:sync-waitAsync*/"


def patch_coincident_race() -> None:
    static = OUT / "extensions" / "@jupyterlite" / "pyodide-kernel-extension" / "static"
    patched = fixed = 0
    for js in sorted(static.glob("*.js")):
        text = js.read_text()
        if COINCIDENT_MARK in text:
            fixed += 1
            continue
        new, n = COINCIDENT_WAIT.subn(COINCIDENT_FIX, text)
        if n:
            js.write_text(new)
            patched += n
            log(f"patched the coincident waitAsync race in {js.relative_to(OUT)}")
    if patched + fixed == 0:  # the main-thread chunk, and the worker's unused copy
        sys.exit(
            f"[jupyterlite] found no coincident main-thread wait to patch in {static}: "
            "the kernel's bundle changed; check whether the race is fixed (build_site.py)"
        )


def check_site(wheel: Path) -> None:
    """The built site must use the local Pyodide and offer our wheel and comm to piplite."""
    problems = []
    cfg = json.loads((OUT / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = cfg.get("litePluginSettings", {}).get(KERNEL_PLUGIN, {})
    if kernel.get("pyodideUrl") != PYODIDE_URL:
        problems.append(f"pyodideUrl is {kernel.get('pyodideUrl')!r}, not {PYODIDE_URL!r}")
    if not (OUT / PYODIDE_URL).exists():
        problems.append(f"{PYODIDE_URL} missing from the site")
    urls = [u.split("?")[0] for u in kernel.get("pipliteUrls", [])]
    if "./pypi/all.json" not in urls:
        problems.append(f"pipliteUrls {urls} lack ./pypi/all.json")
    else:
        index = json.loads((OUT / "pypi" / "all.json").read_text())
        for name, whl in [(make_dist.OUR_NAME, wheel.name), ("comm", None)]:
            files = [
                a["filename"] for r in index.get(name, {}).get("releases", {}).values() for a in r
            ]
            if not files or (whl and whl not in files):
                problems.append(f"pypi/all.json does not offer {whl or name} ({files})")
        served = OUT / "pypi" / wheel.name
        if not served.exists() or make_dist.sha256_of(served) != make_dist.sha256_of(wheel):
            problems.append(f"pypi/{wheel.name} differs from {wheel}")
    lock = json.loads((OUT / "static" / "pyodide" / "pyodide-lock.json").read_text())
    for name in make_dist.lite_lock_closure(lock):
        entry = lock["packages"][name]
        f = OUT / "static" / "pyodide" / entry["file_name"]
        if not f.exists() or make_dist.sha256_of(f) != entry["sha256"]:
            problems.append(f"static/pyodide/{entry['file_name']} missing or sha256 wrong")
    for nb in CONTENTS:
        if not (OUT / "files" / nb.name).exists():
            problems.append(f"files/{nb.name} missing")
    if problems:
        sys.exit("[jupyterlite] the built site is broken:\n  " + "\n  ".join(problems))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    args = ap.parse_args()
    t0 = time.monotonic()
    wheel = our_wheel()
    lay_out_source()
    digest = inputs_digest()
    if not args.force and STAMP.exists() and STAMP.read_text().strip() == digest:
        log(f"{OUT.relative_to(ROOT)} up to date ({time.monotonic() - t0:.1f}s)")
        return 0
    if STAMP.exists():
        STAMP.unlink()
    jupyter_lite_build()
    patch_coincident_race()
    check_site(wheel)
    STAMP.write_text(digest + "\n")
    log(f"built {OUT.relative_to(ROOT)} in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
