#!/usr/bin/env bash
# Set up (node side only) and run the demo: four Pyodide workers in node share one
# pool while the main Pyodide watches the tree live (demo/demo.py).
#
#   bash scripts/demo.sh
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

log "node demo/demo.mjs"
exec node demo/demo.mjs
