#!/usr/bin/env python3
"""The DriveFS comparison: the same file-system workload in a JupyterLite Pyodide kernel on
``/drive`` (JupyterLite's DriveFS, the notebook's folder), ``/tmp`` (MEMFS) and a pool
mounted at ``/shared`` (EXTMEMFS), in headless Chromium.

    .venv/bin/python benchmarks/jupyterlite.py [--quick] [--files N] [--size BYTES]
                                               [--big-mib M] [--repeats R]
    bash benchmarks/run.sh --jupyterlite      (the same, after the usual setup checks)

Builds the site if needed (scripts/jupyterlite.sh, cached), serves it cross-origin
isolated on 127.0.0.1, opens the REPL with the workload (benchmarks/drivefs_bench.py,
which the site ships as /drive/drivefs_bench.py), reads back the JSON the kernel prints,
prints the table and writes benchmarks/results/raw-jupyterlite.json and
benchmarks/results/table-drivefs.md. Figures are medians; ratios are the pool's rate over
/drive's and over /tmp's. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT / "scripts" / "jupyterlite"))
sys.path.insert(0, str(HERE))

import chrome  # noqa: E402  (benchmarks/chrome.py: CPU load helpers)
import drive  # noqa: E402  (scripts/jupyterlite/drive.py)
import drivefs_bench  # noqa: E402
import serve  # noqa: E402  (scripts/jupyterlite/serve.py)

MARKER = "XMFS-DRIVEFS-RESULT"

KERNEL_CODE = """
import json, sys, time
import js
import pyodide_extmemfs as xmfs
sys.path.insert(0, "/drive")
import drivefs_bench

pool = xmfs.create_pool("64MiB", "1GiB")
xmfs.mount(pool, "/shared")
t0 = time.perf_counter()
result = drivefs_bench.run(
    {{"/drive": "/drive", "/tmp": "/tmp", "pool": "/shared"}},
    files={files}, size={size}, big_mib={big_mib}, repeats={repeats},
)
result["seconds"] = time.perf_counter() - t0
result["isolated"] = bool(js.crossOriginIsolated)
result["check"] = pool.check()
result["user_agent"] = str(js.navigator.userAgent)
print("{marker} " + json.dumps(result))
"""


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    ap.add_argument("--files", type=int, default=500, help="small files per repetition")
    ap.add_argument("--size", type=int, default=4096, help="bytes per small file")
    ap.add_argument("--big-mib", type=int, default=16, help="MiB of the sequential file")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1200, help="seconds for the page")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=60,
        help="wait up to this long for other processes to leave the CPUs",
    )
    args = ap.parse_args()
    if args.quick:
        args.files, args.big_mib, args.repeats = 100, 2, 1

    subprocess.run(
        ["bash", str(ROOT / "scripts" / "jupyterlite.sh")], cwd=ROOT, check=True, stdout=sys.stderr
    )
    load_before = chrome.wait_quiet(args.wait_quiet)
    server, url = serve.start_server()
    code = (
        textwrap.dedent(KERNEL_CODE)
        .strip()
        .format(
            files=args.files,
            size=args.size,
            big_mib=args.big_mib,
            repeats=args.repeats,
            marker=MARKER,
        )
    )
    started = time.time()
    try:
        with drive.LiteBrowser() as browser:
            cells = browser.repl(url, ["%pip install pyodide-extmemfs", code], args.timeout)
    finally:
        server.shutdown()
    errors = [c.error for c in cells if c.error]
    lines = [ln for c in cells for ln in c.text.splitlines() if ln.startswith(MARKER + " ")]
    if errors or not lines:
        print(drive.format_cells(cells), file=sys.stderr)
        print("[jupyterlite] the benchmark did not finish in the kernel", file=sys.stderr)
        return 1
    result = json.loads(lines[-1][len(MARKER) + 1 :])
    if not result["isolated"] or result["check"]:
        print(
            f"[jupyterlite] isolated={result['isolated']} check={result['check']}", file=sys.stderr
        )
        return 1

    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    result["machine"] = {
        "cpus": os.cpu_count(),
        "cpu": chrome.cpu_model(),
        "browser": result.pop("user_agent"),
        "cpu_busy_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    result["git"] = head
    result["when"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
    table = drivefs_bench.table(result)
    p = result["params"]
    note = (
        f"JupyterLite 0.8.6 Pyodide kernel (Pyodide 314.0.7), headless Chromium, "
        f"{os.cpu_count()} CPUs; {p['files']} files of {p['size']} B, {p['big_mib']} MiB "
        f"sequential, median of {p['repeats']}; {result['when']}, commit {head}."
    )
    busy = load_before if load_before is not None else 0.0
    if busy > 0.2:
        note += f" Other processes used {busy:.0%} of the CPUs before the run."
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "raw-jupyterlite.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / "table-drivefs.md").write_text(table + "\n\n" + note + "\n")
    print(table)
    print()
    print(note)
    print(
        f"[jupyterlite] wrote {RESULTS.relative_to(ROOT)}/raw-jupyterlite.json, table-drivefs.md",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
