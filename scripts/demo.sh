#!/usr/bin/env bash
# Set up (node side only) and run the demo: four Pyodide workers in node share one
# pool while the main Pyodide watches the tree live (demo/demo.py).
#
#   bash scripts/demo.sh
#   bash scripts/demo.sh --browser [--port 8000]
#
# --browser: the browser demo instead (demo/browser/): serves the repository on
# 127.0.0.1 cross-origin isolated and prints the URL to open in a browser (Chrome,
# Edge or Firefox); Pyodide workers churn files in one pool while the page draws the
# pool's memory, its files, instances and locks live. Ctrl-C stops the server.
#
# The first run installs node_modules/, .venv/ and build/dist/ through
# scripts/setup.sh --node-only (PyPI and npm only; no Chromium) and takes a few
# minutes; later runs take seconds. Needs node >= 20 and python3 with venv.
# Env: EXTMEMFS_SKIP_SETUP=1 skips setup.sh (build/dist must exist);
#      PYTHON (host interpreter for setup, default python3).
# Exits non-zero if setup or the demo fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { echo "[demo] $*"; }

BROWSER=0
PORT=8000
while (( $# )); do
    case "$1" in
        --browser) BROWSER=1 ;;
        --port) PORT="${2:?--port needs a number}"; shift ;;
        *) echo "usage: bash scripts/demo.sh [--browser [--port N]]" >&2; exit 2 ;;
    esac
    shift
done

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "node and npm are missing: trying apt-get install nodejs npm"
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then SUDO="sudo -n"; fi
    $SUDO apt-get update -qq </dev/null
    $SUDO apt-get install -y -qq nodejs npm </dev/null >/dev/null
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
    log "node $(node --version) is too old: the demo needs node >= 20"
    exit 1
fi

if [[ "${EXTMEMFS_SKIP_SETUP:-0}" == 1 ]]; then
    log "EXTMEMFS_SKIP_SETUP=1: not running scripts/setup.sh"
else
    bash scripts/setup.sh --node-only
fi

if (( BROWSER )); then
    py=python3
    [[ -x .venv/bin/python ]] && py=.venv/bin/python
    log "serving the browser demo (demo/browser/)"
    exec "$py" demo/js-host/serve.py --no-csp --page demo/browser/ --port "$PORT"
fi

log "node demo/demo.mjs"
exec node demo/demo.mjs
