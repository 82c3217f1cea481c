#!/usr/bin/env python3
"""Benchmark (issue 12): time until 4 Workers have each imported a sizeable pure-Python
package — every worker loading it itself vs. importing it from the pool — and the memory
each worker holds. Not a test: it prints figures and the ratio against the target (≥ 3×
faster to the first results).

    .venv/bin/python benchmarks/workers_packages.py            # sympy, 3 runs per mode
    .venv/bin/python benchmarks/workers_packages.py --runs 1 --package sympy

It makes a benchmark-only distribution, build/bench-dist/ (build/dist plus the package's
wheels from PyPI, added to the lock file as make_dist.py adds its extras), then runs each
mode in a fresh node process (benchmarks/workers_packages.mjs), the modes alternating.
See benchmarks/workers_packages_run.py for what each mode does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIST = ROOT / "build" / "bench-dist"
# package -> (module to import, the lock entries whose wheels are fetched from PyPI at the
# lock's version: the package and its dependencies)
PACKAGES = {
    "sympy": ("sympy", ["mpmath", "sympy"]),
}
MODES = [
    "bare-nosnap",
    "bare",
    "per-worker-nosnap",
    "per-worker",
    "pool-nosnap",
    "pool",
    "pool-again",
    "pool-fresh",
]
TARGET = 3.0


def make_dist_module():
    spec = importlib.util.spec_from_file_location("make_dist", ROOT / "scripts" / "make_dist.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bench_dist(package: str) -> Path:
    """build/bench-dist: build/dist (linked) plus the package's wheels in its lock."""
    md = make_dist_module()
    src = ROOT / "build" / "dist"
    if not (src / "pyodide-lock.json").exists():
        sys.exit("build/dist is missing: run `bash scripts/setup.sh` first")
    BENCH_DIST.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        dst = BENCH_DIST / f.name
        if f.name == "pyodide-lock.json" or (
            dst.exists() and dst.stat().st_size == f.stat().st_size
        ):
            continue
        if dst.exists():
            dst.unlink()
        try:
            os.link(f, dst)
        except OSError:
            shutil.copy2(f, dst)
    lock = json.loads((src / "pyodide-lock.json").read_text())
    md.CACHE.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES[package][1]:
        entry = lock["packages"][name]
        whl = md.cached_wheel(name, entry["version"])
        shutil.copy2(whl, BENCH_DIST / whl.name)
        entry.update(file_name=whl.name, sha256=md.sha256_of(BENCH_DIST / whl.name))
    (BENCH_DIST / "pyodide-lock.json").write_text(json.dumps(lock, indent=1) + "\n")
    return BENCH_DIST


def run_mode(dist: Path, mode: str, package: str, workers: int) -> dict:
    module = PACKAGES[package][0]
    cmd = [
        "node",
        str(ROOT / "benchmarks" / "workers_packages.mjs"),
        str(dist),
        mode,
        package,
        module,
        str(workers),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.exit(f"{mode} failed (exit {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", default="sympy", choices=sorted(PACKAGES))
    ap.add_argument("--runs", type=int, default=3, help="runs per mode (median shown)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--json", type=Path, help="also write every run here")
    args = ap.parse_args()

    dist = bench_dist(args.package)
    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    for r in range(args.runs):
        order = MODES if r % 2 == 0 else MODES[::-1]
        for mode in order:
            res = run_mode(dist, mode, args.package, args.workers)
            runs[mode].append(res)
            print(
                f"[run {r + 1}/{args.runs}] {mode:10s} first results after "
                f"{res['first_results_s']:6.2f} s",
                file=sys.stderr,
                flush=True,
            )

    def med(mode, key):
        return statistics.median(x[key] for x in runs[mode])

    def med_worker(mode, key):
        return statistics.median(w[key] for x in runs[mode] for w in x["per_worker"])

    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"\n{args.workers} workers, each importing {args.package} "
        f"(median of {args.runs}; node {node}, {os.cpu_count()} CPUs)\n"
    )
    print(
        "| mode | first results | import in a worker | started from the snapshot "
        "| wasm heap / worker | package files / worker |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for mode in MODES:
        restored = statistics.median(x.get("restored", 0) for x in runs[mode])
        print(
            f"| {mode} | {med(mode, 'first_results_s'):.2f} s "
            f"| {med_worker(mode, 'import_s'):.2f} s | {restored:g} of {args.workers} "
            f"| {mib(med_worker(mode, 'wasm_heap'))} | {mib(med_worker(mode, 'local_files'))} |"
        )
    install = statistics.median(x["install_s"] for x in runs["pool"])
    pool_bytes = statistics.median(x["pool_bytes_for_packages"] for x in runs["pool-fresh"])
    print(f"\npool.install({args.package!r}) once: {install:.2f} s, {mib(pool_bytes)} of pool")

    def ratio(a, b):
        return med(a, "first_results_s") / med(b, "first_results_s")

    for b, what in [
        ("pool-again", "a later start of Workers: the snapshot made by an earlier start"),
        ("pool", "the first start of Workers after the install: it makes the snapshot"),
    ]:
        r = ratio("per-worker-nosnap", b)
        ok = "meets" if r >= TARGET else "MISSES"
        print(
            f"per-worker-nosnap / {b} (each worker loading Pyodide and {args.package} itself "
            f"vs. the pool, {what}): {r:.2f}x faster to the first results ({ok} the "
            f"target of {TARGET:g}x)"
        )
    for a, b, what in [
        ("per-worker", "pool", "both starting from a memory snapshot"),
        ("per-worker-nosnap", "pool-fresh", "including the one install"),
        ("pool-nosnap", "pool", "what the snapshot adds to the pool"),
        ("bare-nosnap", "bare", "the snapshot, no package"),
    ]:
        print(f"{a} / {b} ({what}): {ratio(a, b):.2f}x")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
