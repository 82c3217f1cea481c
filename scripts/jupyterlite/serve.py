#!/usr/bin/env python3
"""Serve a built JupyterLite site on 127.0.0.1, cross-origin isolated.

Every response carries

    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp
    Cross-Origin-Resource-Policy: same-origin

so the pages, the kernel's worker and the Workers it starts have ``SharedArrayBuffer``
(``crossOriginIsolated`` is true). ``--no-isolation`` leaves the headers out (to see the
error a user gets on a host that does not send them).

    python scripts/jupyterlite/serve.py [--dir build/jupyterlite] [--port 8000] [--no-isolation]

Standard library only; also imported by tests/e2e and benchmarks/jupyterlite.py
(``start_server``).
"""

from __future__ import annotations

import argparse
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SITE = ROOT / "build" / "jupyterlite"

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files with the right types for a JupyterLite site, never cached (a rebuilt
    site is seen on the next reload), optionally cross-origin isolated."""

    isolate = True
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".ipynb": "application/json",
        ".whl": "application/zip",
        ".py": "text/plain",
    }

    def end_headers(self) -> None:
        if self.isolate:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)


def make_server(
    site: Path = SITE, port: int = 0, isolate: bool = True, verbose: bool = False
) -> ThreadingHTTPServer:
    """A server for ``site`` on 127.0.0.1:``port`` (0: any free port), not yet serving."""
    if not (site / "jupyter-lite.json").exists():
        raise FileNotFoundError(
            f"{site} is not a built JupyterLite site: run `bash scripts/jupyterlite.sh`"
        )
    handler = type("Handler", (SiteHandler,), {"isolate": isolate})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(site)))
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    return server


def start_server(site: Path = SITE, isolate: bool = True) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``site`` from a background thread; returns the server and its base URL
    (``http://127.0.0.1:PORT``). Stop it with ``server.shutdown()``."""
    server = make_server(site, 0, isolate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dir", type=Path, default=SITE, help="the built site (build/jupyterlite)")
    ap.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any)")
    ap.add_argument(
        "--no-isolation", action="store_true", help="leave out the COOP/COEP/CORP headers"
    )
    ap.add_argument("--quiet", action="store_true", help="do not log requests")
    args = ap.parse_args()
    server = make_server(args.dir, args.port, not args.no_isolation, not args.quiet)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    isolation = "NOT cross-origin isolated" if args.no_isolation else "cross-origin isolated"
    print(f"Serving {args.dir} at {url}/ ({isolation}); Ctrl-C stops it.", flush=True)
    print(f"  JupyterLab:   {url}/lab/index.html", flush=True)
    print(f"  the example:  {url}/notebooks/index.html?path=extmemfs.ipynb", flush=True)
    print(f"  REPL:         {url}/repl/index.html?kernel=python&toolbar=1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
