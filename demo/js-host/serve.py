#!/usr/bin/env python3
"""Serve the repository on 127.0.0.1 the way a page that shares a pool must be served.

    python3 demo/js-host/serve.py [--port 8000] [--no-csp] [--page demo/browser/]

then open http://127.0.0.1:8000/demo/js-host/ (needs `bash scripts/setup.sh --node-only`
first, for build/dist). `--page` only changes the URL printed (the whole repository is
served); `bash scripts/demo.sh --browser` uses it for demo/browser/. If the port is taken,
a free one is used instead. Every response is cross-origin isolated (COOP/COEP/CORP: without
them there is no SharedArrayBuffer), scripts are sent as text/javascript (browsers refuse
module scripts of another MIME type, and some servers send .mjs as octet-stream), and the
page runs under a Content-Security-Policy that forbids eval (`--no-csp` to drop it).
"""

from __future__ import annotations

import argparse
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# No 'unsafe-eval': the JavaScript API is plain ES modules; wasm compiles are allowed.
CSP = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'"


def handler(headers: dict[str, str]):
    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {
            **SimpleHTTPRequestHandler.extensions_map,
            ".js": "text/javascript",
            ".mjs": "text/javascript",
            ".wasm": "application/wasm",
            ".json": "application/json",
        }

        def end_headers(self) -> None:
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler


def start(root: Path = ROOT, *, csp: bool = True, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve `root` in a background thread; returns the server and its base URL."""
    headers = dict(ISOLATION, **({"Content-Security-Policy": CSP} if csp else {}))
    server = ThreadingHTTPServer(
        ("127.0.0.1", port), partial(handler(headers), directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--no-csp", action="store_true", help="do not send the CSP header")
    ap.add_argument("--page", default="demo/js-host/", help="path of the page to print")
    args = ap.parse_args()
    try:
        server, url = start(csp=not args.no_csp, port=args.port)
    except OSError as e:  # the port is taken: any free one will do
        print(f"port {args.port}: {e.strerror}; using a free port", flush=True)
        server, url = start(csp=not args.no_csp, port=0)
    page = args.page.lstrip("/")
    print(
        f"serving {ROOT} (cross-origin isolated) — open {url}/{page}  (Ctrl-C to stop)", flush=True
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
