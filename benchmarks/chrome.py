#!/usr/bin/env python3
"""Chrome variant of the benchmarks: the same suite (suite.mjs) in headless Chromium.

    .venv/bin/python benchmarks/chrome.py [--quick] [--timeout SECONDS] [--no-zenfs]
                                          [--only SECTIONS]

Serves build/dist at / and benchmarks/ at /bench/ from 127.0.0.1 with the COOP/COEP
headers that make the page cross-origin isolated (SharedArrayBuffer, shared
WebAssembly.Memory), opens /bench/page.html in Debian's chromium through selenium and
chromedriver (offline: SE_OFFLINE=true), follows its log and writes
benchmarks/results/raw-chrome.json. Needs the project .venv (selenium). Like bench.mjs,
it first waits (up to --wait-quiet seconds) for other processes to leave the CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("SE_OFFLINE", "true")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "build" / "dist"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# The same headers as tests/conftest.py's web server.
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


class Handler(SimpleHTTPRequestHandler):
    """build/dist at /, benchmarks/ at /bench/, every response cross-origin isolated."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".py": "text/plain",
    }

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith("/bench/"):
            rel = path[len("/bench/") :]
            base = HERE
        else:
            rel = path.lstrip("/")
            base = DIST
        target = (base / rel).resolve()
        if base not in target.parents and target != base:
            return str(base / "__outside__")
        return str(target)

    def end_headers(self) -> None:
        for k, v in ISOLATION_HEADERS.items():
            self.send_header(k, v)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # quiet
        pass


def serve() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(DIST)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}"


def cpu_busy(seconds: float) -> float | None:
    """Share of all CPUs busy over `seconds` (from /proc/stat); None if unavailable."""

    def sample():
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(f) - f[3] - f[4], sum(f)

    try:
        b0, t0 = sample()
        time.sleep(seconds)
        b1, t1 = sample()
    except (OSError, IndexError, ValueError):
        return None
    return (b1 - b0) / max(1, t1 - t0)


def wait_quiet(max_seconds: float) -> float | None:
    """Wait (up to max_seconds) until other processes use < 20% of the CPUs."""
    start = time.monotonic()
    load = cpu_busy(1.0)
    while load is not None and load > 0.2 and time.monotonic() - start < max_seconds:
        print(
            f"[chrome] other processes use {load:.0%} of the CPUs: waiting for quiet",
            file=sys.stderr,
            flush=True,
        )
        load = cpu_busy(5.0)
    return load


def cpu_model() -> str:
    try:
        m = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
        return m.group(1).strip() if m else "unknown"
    except OSError:
        return "unknown"


def print_self_time(profile: dict, top: int = 30) -> None:
    """The functions with most self time in a V8 .cpuprofile (as profile.mjs prints)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    self_us: dict[str, float] = {}
    for sample, dt in zip(profile["samples"], profile["timeDeltas"]):
        f = nodes[sample]["callFrame"]
        where = "/".join(f["url"].split("/")[-2:])
        key = f"{f['functionName'] or '(anonymous)'} {where}:{f['lineNumber'] + 1}"
        self_us[key] = self_us.get(key, 0.0) + dt
    total = sum(self_us.values()) or 1.0
    print(f"[chrome] self time ({total / 1000:.0f} ms sampled):", file=sys.stderr)
    for key, t in sorted(self_us.items(), key=lambda kv: -kv[1])[:top]:
        print(f"[chrome]   {100 * t / total:5.1f}%  {key}", file=sys.stderr)


def main() -> int:
    global DIST
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--no-zenfs",
        action="store_true",
        help="leave the ZenFS peer out (it runs when build/zenfs-peer.mjs exists)",
    )
    ap.add_argument("--only", help="sections: single,memory,workers,wait,zenfs")
    ap.add_argument(
        "--probe",
        help="run benchmarks/PROBE.mjs (its runProbe) in the page instead of the suite",
    )
    ap.add_argument(
        "--dist",
        type=Path,
        default=DIST,
        help="the Pyodide distribution to serve (default build/dist; another build for A/B)",
    )
    ap.add_argument(
        "--probe-args", default="", help="the probe's options as a query string (a=1&b=x)"
    )
    ap.add_argument(
        "--cpuprofile",
        type=Path,
        help="sample the page's main thread with the V8 CPU profiler (DevTools protocol) "
        "while it runs, save the .cpuprofile here and print the functions with most self time",
    )
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "raw-chrome.json")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="wait up to this many seconds for other processes to go quiet",
    )
    args = ap.parse_args()
    DIST = args.dist.resolve()
    if args.probe and args.out == ap.get_default("out"):
        args.out = HERE / "results" / f"probe-{args.probe}-chrome.json"

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (DIST / "pyodide.mjs").exists():
        print(f"[chrome] {DIST} is missing: run scripts/setup.sh", file=sys.stderr)
        return 1
    busy_before = wait_quiet(args.wait_quiet)
    server, base = serve()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--js-flags=--expose-gc",
    ):
        opts.add_argument(a)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    t0 = time.monotonic()
    try:
        driver.set_script_timeout(120)
        query = [
            q
            for q, on in (
                ("quick", args.quick),
                ("nozenfs", args.no_zenfs or not (HERE / "build" / "zenfs-peer.mjs").exists()),
            )
            if on
        ]
        if args.only:
            query.append(f"only={args.only}")
        if args.probe:
            query.append(f"probe={args.probe}")
            if args.probe_args:
                query.append(args.probe_args)
        url = f"{base}/bench/page.html" + ("?" + "&".join(query) if query else "")
        driver.get(url)
        if args.cpuprofile:
            driver.execute_cdp_cmd("Profiler.enable", {})
            driver.execute_cdp_cmd("Profiler.setSamplingInterval", {"interval": 100})
            driver.execute_cdp_cmd("Profiler.start", {})
        seen = 0
        while True:
            st = driver.execute_script(
                "const s = window.benchState; return s ? {done: s.done, error: s.error, "
                "log: s.log.slice(arguments[0])} : null",
                seen,
            )
            if st:
                for line in st["log"]:
                    print(f"[chrome] {line}", file=sys.stderr, flush=True)
                seen += len(st["log"])
                if st["done"]:
                    break
            if time.monotonic() - t0 > args.timeout:
                print(f"[chrome] timed out after {args.timeout:.0f} s", file=sys.stderr)
                return 1
            time.sleep(1.0)
        if st["error"]:
            print(f"[chrome] the page failed: {st['error']}", file=sys.stderr)
            return 1
        result = driver.execute_script("return window.benchState.result")
        if args.cpuprofile:
            profile = driver.execute_cdp_cmd("Profiler.stop", {})["profile"]
            args.cpuprofile.write_text(json.dumps(profile))
            print_self_time(profile)
    finally:
        driver.quit()
        server.shutdown()
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    result["machine"].update(
        cpu=cpu_model(),
        host_nproc=os.cpu_count(),
        runtime_version=version.strip() or result["machine"].get("runtime_version"),
        busy_before=busy_before,
    )
    result["seconds"] = time.monotonic() - t0
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "jsglue", "pyodide_extmemfs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        result["git"] = head + (" + uncommitted changes" if dirty else "")
    except OSError:
        pass
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"[chrome] done in {result['seconds']:.0f} s: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
