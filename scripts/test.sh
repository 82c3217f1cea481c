#!/usr/bin/env bash
# The single test command: setup, plain-node JS unit tests, then pytest in
# Pyodide (node and chrome runtimes, plus host-side tests).
#
#   bash scripts/test.sh [extra pytest args...]
#
# Env:
#   EXTMEMFS_RUNTIMES        pytest-pyodide runtimes (default "node,chrome")
#   EXTMEMFS_SKIP_SETUP=1    do not run scripts/setup.sh (dev loop; still
#                            rebuilds our wheel with make_dist.py --wheel-only)
#   EXTMEMFS_SCRIPT_TIMEOUT  default per-script timeout in seconds (conftest.py)
#   EXTMEMFS_PYTEST_TIMEOUT  overall limit for the pytest run in seconds (3600)
#   EXTMEMFS_NODE_TEST_TIMEOUT overall limit for `node --test` in seconds (900)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export SE_OFFLINE=true
export PYTHONDONTWRITEBYTECODE=1

log() { echo "[test] $*"; }
START=$SECONDS

if [[ "${EXTMEMFS_SKIP_SETUP:-0}" == 1 ]]; then
    .venv/bin/python scripts/make_dist.py --wheel-only
else
    bash scripts/setup.sh
fi
log "setup finished after $((SECONDS - START))s"

status=0

# --- lint, format and types ------------------------------------------------------------
# eslint (jsglue/, tests/js/, benchmarks/, demo/), tsc --checkJs of jsglue/'s JSDoc,
# ruff (lint + format check) for Python. A failure fails the run but the tests still run.
log "eslint, tsc, ruff"
node_modules/.bin/eslint . || { log "eslint FAILED"; status=1; }
node_modules/.bin/tsc -p tsconfig.json || { log "tsc FAILED"; status=1; }
.venv/bin/ruff check . || { log "ruff check FAILED"; status=1; }
.venv/bin/ruff format --check . || { log "ruff format FAILED (run .venv/bin/ruff format .)"; status=1; }

# --- plain-node unit tests of the JS glue ---------------------------------------------
shopt -s nullglob globstar
js_tests=(tests/js/**/*.test.js tests/js/**/*.test.mjs)
shopt -u globstar
if (( ${#js_tests[@]} == 0 )); then
    log "no tests/js/**/*.test.{js,mjs} yet: skipping node --test"
else
    log "node --test (${#js_tests[@]} files)"
    if ! timeout "${EXTMEMFS_NODE_TEST_TIMEOUT:-900}" node --test "${js_tests[@]}"; then
        log "node --test FAILED"
        status=1
    fi
fi

# --- pytest (host + Pyodide in node and chrome) -----------------------------------
runtimes="${EXTMEMFS_RUNTIMES:-node,chrome}"
log "pytest --runtime $runtimes"
set +e
timeout --kill-after=30 "${EXTMEMFS_PYTEST_TIMEOUT:-3600}" \
    .venv/bin/python -m pytest tests \
        --dist-dir=build/dist --runtime "$runtimes" \
        -p no:cacheprovider "$@"
rc=$?
set -e
case $rc in
    0) ;;
    5) log "pytest collected no tests: treating as failure"; status=1 ;;
    124|137) log "pytest timed out"; status=1 ;;
    *) log "pytest FAILED (exit $rc)"; status=1 ;;
esac

log "total $((SECONDS - START))s, exit $status"
exit $status
