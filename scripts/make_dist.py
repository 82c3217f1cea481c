#!/usr/bin/env python3
"""Assemble the offline Pyodide distribution used by the tests: build/dist/.

build/dist/ = the Pyodide core from node_modules/pyodide (npm pyodide@314.0.7)
            + pure-Python wheels from PyPI for the packages that pytest-pyodide's
              ``run_in_pyodide`` loads inside Pyodide (pytest and deps, tblib),
              micropip/packaging and hypothesis/sortedcontainers
            + our own wheel (pyodide_extmemfs-*.whl), built from the current source
            + pyodide-lock.json rewritten so every entry for a wheel we hold points
              at that file (file_name, sha256), plus a "pyodide-extmemfs" entry.

The npm package contains only the core; the default package source is the CDN,
which is unreachable here. Wheel versions are exactly those in the npm
package's pyodide-lock.json. Downloads are cached in build/wheelcache/.

Usage:
    python scripts/make_dist.py               # full (idempotent, fast when cached)
    python scripts/make_dist.py --wheel-only  # rebuild only our wheel + lock entry

Run it with the project venv's Python (.venv/bin/python): it needs ``build``
and ``hatchling`` (our wheel is built with --no-isolation, i.e. offline).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYODIDE_NPM = ROOT / "node_modules" / "pyodide"
BUILD = ROOT / "build"
DIST = BUILD / "dist"
CACHE = BUILD / "wheelcache"
WHEEL_OUT = BUILD / "wheel"

# Packages (lock-file keys) whose wheels we fetch from PyPI at the lock's version.
LOCK_PACKAGES = [
    # loaded by pytest-pyodide's run_in_pyodide (assert rewriting + tracebacks)
    "pytest",
    "atomicwrites",
    "attrs",
    "exceptiongroup",
    "iniconfig",
    "more-itertools",
    "pluggy",
    "py",
    "pygments",
    "pyparsing",
    "setuptools",
    "six",
    "tblib",
    # install tests
    "micropip",
    "packaging",
    # property tests inside Pyodide (hypothesis itself is added below)
    "sortedcontainers",
]

# Packages that have no sdist-free wheel on PyPI: build the wheel with pip.
BUILD_FROM_SDIST = {"atomicwrites"}

# Packages that are NOT in Pyodide's lock file but that we want available.
# name -> (version, depends, imports). Keep hypothesis in sync with
# requirements-test.txt (host and Pyodide then run the same version).
# Newer hypothesis releases ship only compiled (cp3xx-manylinux) wheels.
EXTRA_PACKAGES = {
    "hypothesis": ("6.155.7", ["sortedcontainers"], ["hypothesis"]),
    # Workers(map(..., progress=True)) draws a tqdm bar (tests/test_workers.py)
    "tqdm": ("4.70.1", [], ["tqdm"]),
    "filelock": ("4.2.11", [], ["filelock"]),  # file locks across workers (tests)
}

OUR_NAME = "pyodide-extmemfs"
OUR_IMPORT = "pyodide_extmemfs"
OUR_WHEEL_GLOB = "pyodide_extmemfs-*.whl"

# Files of the npm package that are not needed at run time.
CORE_SKIP = {"README.md", "package.json", "ffi.d.ts", "pyodide.d.ts"}


def log(msg: str) -> None:
    print(f"[make_dist] {msg}", flush=True)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd: list[str], **kw) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, **kw)


def copy_if_changed(src: Path, dst: Path) -> bool:
    if dst.exists():
        s, d = src.stat(), dst.stat()
        if s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime):
            return False
    shutil.copy2(src, dst)
    return True


def copy_core() -> None:
    if not (PYODIDE_NPM / "pyodide-lock.json").exists():
        sys.exit(
            f"[make_dist] {PYODIDE_NPM} is missing: run `npm ci` first (scripts/setup.sh does it)"
        )
    DIST.mkdir(parents=True, exist_ok=True)
    n = 0
    for src in sorted(PYODIDE_NPM.iterdir()):
        if src.is_file() and src.name not in CORE_SKIP and src.name != "pyodide-lock.json":
            n += copy_if_changed(src, DIST / src.name)
    log(f"core files: {n} copied/updated from {PYODIDE_NPM.relative_to(ROOT)}")


def original_lock() -> dict:
    return json.loads((PYODIDE_NPM / "pyodide-lock.json").read_text())


def cached_wheel(name: str, version: str) -> Path:
    """Return the path of the cached wheel for name==version, fetching it if needed."""
    d = CACHE / f"{name}-{version}"
    wheels = sorted(d.glob("*.whl")) if d.is_dir() else []
    if len(wheels) == 1:
        return wheels[0]
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=CACHE))
    try:
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        if name in BUILD_FROM_SDIST:
            run(pip + ["wheel", "--no-deps", "-q", "-w", str(tmp), f"{name}=={version}"])
        else:
            run(
                pip
                + [
                    "download",
                    "--no-deps",
                    "-q",
                    "--only-binary=:all:",
                    "--python-version",
                    "3.13",
                    "--implementation",
                    "py",
                    "-d",
                    str(tmp),
                    f"{name}=={version}",
                ]
            )
        got = sorted(tmp.glob("*.whl"))
        if len(got) != 1:
            raise RuntimeError(f"expected one wheel for {name}=={version}, got {got}")
        whl = got[0]
        if not whl.name.endswith("-none-any.whl"):
            raise RuntimeError(f"{whl.name} is not a pure-Python wheel")
        if d.exists():
            shutil.rmtree(d)
        tmp.rename(d)
        return d / whl.name
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def place_wheel(whl: Path, entry: dict) -> None:
    """Copy whl into DIST and point the lock entry at it."""
    copy_if_changed(whl, DIST / whl.name)
    entry["file_name"] = whl.name
    entry["sha256"] = sha256_of(DIST / whl.name)


def fetch_packages(lock: dict) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    pkgs = lock["packages"]
    for name in LOCK_PACKAGES:
        entry = pkgs[name]
        whl = cached_wheel(name, entry["version"])
        place_wheel(whl, entry)
        log(f"{name}=={entry['version']}: {whl.name}")
    template = pkgs["sortedcontainers"]
    for name, (version, depends, imports) in EXTRA_PACKAGES.items():
        entry = dict(template)
        entry.update(
            name=name,
            version=version,
            depends=list(depends),
            imports=list(imports),
            unvendored_tests=False,
            tool={},
        )
        whl = cached_wheel(name, version)
        place_wheel(whl, entry)
        pkgs[name] = entry
        log(f"{name}=={version}: {whl.name} (added to lock)")


def ensure_package_source() -> None:
    init = ROOT / "pyodide_extmemfs" / "__init__.py"
    if not init.exists():
        # Placeholder so the toolchain can be exercised before the product code
        # exists; the real package overwrites it.
        init.parent.mkdir(exist_ok=True)
        init.write_text('"""pyodide_extmemfs (placeholder)."""\n')
        log(f"created placeholder {init.relative_to(ROOT)}")


def build_our_wheel(lock: dict) -> Path:
    ensure_package_source()
    if WHEEL_OUT.exists():
        shutil.rmtree(WHEEL_OUT)
    run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(WHEEL_OUT),
            str(ROOT),
        ],
        stdout=subprocess.DEVNULL if os.environ.get("MAKE_DIST_QUIET") else None,
    )
    wheels = sorted(WHEEL_OUT.glob(OUR_WHEEL_GLOB))
    if len(wheels) != 1:
        sys.exit(f"[make_dist] expected one wheel in {WHEEL_OUT}, got {wheels}")
    whl = wheels[0]
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
    if f"{OUR_IMPORT}/__init__.py" not in names:
        sys.exit(f"[make_dist] {whl.name} lacks {OUR_IMPORT}/__init__.py")
    if not any(n.startswith(f"{OUR_IMPORT}/jsglue/") for n in names):
        log(f"WARNING: {whl.name} contains no {OUR_IMPORT}/jsglue/ files")
    shutil.copy2(whl, DIST / whl.name)
    version = whl.name.split("-")[1]
    template = lock["packages"]["sortedcontainers"]
    entry = dict(template)
    entry.update(
        name=OUR_NAME,
        version=version,
        file_name=whl.name,
        sha256=sha256_of(DIST / whl.name),
        imports=[OUR_IMPORT],
        depends=[],
        package_type="package",
        install_dir="site",
        unvendored_tests=False,
        tool={},
    )
    lock["packages"][OUR_NAME] = entry
    log(f"our wheel: {whl.name} ({len(names)} files) -> {DIST.relative_to(ROOT)}")
    return whl


def prune_dist(lock: dict) -> None:
    """Delete wheels in DIST that no lock entry refers to (stale versions)."""
    referenced = {e.get("file_name") for e in lock["packages"].values()}
    for whl in DIST.glob("*.whl"):
        if whl.name not in referenced:
            log(f"removing stale {whl.name}")
            whl.unlink()


def write_lock(lock: dict) -> None:
    out = DIST / "pyodide-lock.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(lock, indent=1, sort_keys=False) + "\n")
    tmp.replace(out)


# --- JupyterLite: a Pyodide distribution for the jupyterlite-pyodide-kernel -------------
# Used by scripts/jupyterlite/build_site.py (scripts/jupyterlite.sh). The kernel loads
# micropip, then piplite-installs ipykernel, comm, pyodide-kernel, jedi and ipython: those
# in Pyodide's lock (with their dependencies) must be wheels of the distribution; comm is
# not in the lock, so it is served from the site's pypi/ folder (piplite's index). Our own
# package is deliberately NOT put in this lock: `%pip install pyodide-extmemfs` then goes
# through piplite's index, as it does on a user's site.
LITE_LOCK_ROOTS = ["micropip", "ipython", "jedi"]
LITE_PIPLITE_WHEELS = {"comm": "0.2.3"}


def _norm(name: str) -> str:
    return "".join("-" if c in "_." else c for c in name.lower())


def lite_lock_closure(lock: dict, roots: list[str] = LITE_LOCK_ROOTS) -> list[str]:
    """Lock keys of ``roots`` and everything they depend on (names normalized as pip does)."""
    keys = {_norm(k): k for k in lock["packages"]}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        key = keys[_norm(todo.pop())]
        if key not in seen:
            seen.add(key)
            todo.extend(lock["packages"][key]["depends"])
    return sorted(seen)


def make_lite_dist(dest: Path) -> list[Path]:
    """Write a Pyodide distribution for the JupyterLite kernel into ``dest``: the core of
    node_modules/pyodide and the wheels of lite_lock_closure() with their lock entries
    rewritten (other wheels are removed). Returns the wheels of LITE_PIPLITE_WHEELS (in
    CACHE) for the site's pypi/ folder. Idempotent; downloads are cached in CACHE."""
    if not (PYODIDE_NPM / "pyodide-lock.json").exists():
        sys.exit(f"[make_dist] {PYODIDE_NPM} is missing: run `npm ci` (scripts/setup.sh)")
    dest.mkdir(parents=True, exist_ok=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    for src in sorted(PYODIDE_NPM.iterdir()):
        if src.is_file() and src.name not in CORE_SKIP and src.name != "pyodide-lock.json":
            copy_if_changed(src, dest / src.name)
    lock = original_lock()
    wanted = lite_lock_closure(lock)
    for name in wanted:
        entry = lock["packages"][name]
        whl = cached_wheel(name, entry["version"])
        copy_if_changed(whl, dest / whl.name)
        entry["file_name"] = whl.name
        entry["sha256"] = sha256_of(dest / whl.name)
    held = {lock["packages"][n]["file_name"] for n in wanted}
    for whl in dest.glob("*.whl"):
        if whl.name not in held:
            whl.unlink()
    out = dest / "pyodide-lock.json"
    text = json.dumps(lock, indent=1) + "\n"
    if not out.exists() or out.read_text() != text:
        out.write_text(text)
    piplite = [cached_wheel(n, v) for n, v in LITE_PIPLITE_WHEELS.items()]
    log(f"lite dist: {len(wanted)} wheels in {dest}; for piplite: {[w.name for w in piplite]}")
    return piplite


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--wheel-only",
        action="store_true",
        help="only rebuild our wheel and its lock entry (dist must exist)",
    )
    args = ap.parse_args()

    lock_path = DIST / "pyodide-lock.json"
    if args.wheel_only:
        if not lock_path.exists():
            sys.exit("[make_dist] build/dist does not exist yet: run without --wheel-only")
        lock = json.loads(lock_path.read_text())
    else:
        copy_core()
        lock = original_lock()
        fetch_packages(lock)
    build_our_wheel(lock)
    prune_dist(lock)
    write_lock(lock)
    log(f"done: {lock_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
