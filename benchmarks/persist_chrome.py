#!/usr/bin/env python3
"""Persistence benchmark in headless Chromium (issue 11): opens benchmarks/persist.html
served cross-origin isolated from 127.0.0.1 and prints its figures, page (OPFS async API)
and worker (sync access handles).

    .venv/bin/python benchmarks/persist_chrome.py [--pool-mib 256] [--fill-mib 192] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("SE_OFFLINE", "true")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pool-mib", type=int, default=256)
    ap.add_argument("--fill-mib", type=int, default=192)
    ap.add_argument("--json")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("serve", ROOT / "demo/js-host/serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        opts.add_argument(flag)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    server, url = serve.start(ROOT, csp=False)
    try:
        driver.get(f"{url}/benchmarks/persist.html?pool={args.pool_mib}&fill={args.fill_mib}")
        deadline = time.monotonic() + args.timeout
        while True:
            out = driver.execute_script("return window.persistBench || null")
            if out and out.get("done"):
                break
            if time.monotonic() > deadline:
                print("timed out", file=sys.stderr)
                return 1
            time.sleep(0.5)
        version = driver.capabilities.get("browserVersion", "?")
    finally:
        driver.quit()
        server.shutdown()
    if out.get("error"):
        print(out["error"], file=sys.stderr)
        return 1
    print(
        f"persistence (Chromium {version}, OPFS, {args.pool_mib} MiB pool, "
        f"{args.fill_mib} MiB of files):"
    )
    for where, label in (
        ("page", "page (helper worker)"),
        ("pageAsync", "page, async API"),
        ("worker", "worker, sync access handles"),
    ):
        r = out[where]
        print(
            f"  {label:28s} full sync {r['fullSyncMiBs']:.0f} MiB/s (raw {r['rawMiBs']:.0f} MiB/s: "
            f"{r['fullVsRaw']:.2f}×); small change: {r['smallSync']['bytes']} bytes in "
            f"{r['smallSync']['ms']:.1f} ms, writers paused {r['smallSync']['pauseMs']:.2f} ms; "
            f"open {r['openMs']:.0f} ms"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
