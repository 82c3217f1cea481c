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
#   EXTMEMFS_NODES           node versions, by major (default "20,24"): the plain-node
#                            tests and the pytest node runtime run once on each; host
#                            and chrome tests run with the first
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

# --- API reference (pdoc + typedoc into build/docs/, scripts/docs.sh) ----------------
# A warning, or a public class / function / method without docs, fails the run.
log "API reference (scripts/docs.sh)"
bash scripts/docs.sh || { log "API reference FAILED"; status=1; }

# --- node versions (EXTMEMFS_NODES) -------------------------------------------------
# Each run puts its node's directory first on PATH: `node --test` and pytest-pyodide's
# NodeRunner (it starts `node` from PATH) use it, and tests/conftest.py names it in the
# test ids (test_x[node20], test_x[node24]).
source scripts/node_versions.sh
resolve_node_versions "$ROOT" || exit 2
node_paths=()
for d in "${NODE_DIRS[@]}"; do node_paths+=("$d:$PATH"); done
node_version() { PATH="$1" node --version; }  # a PATH value -> the version of its node

# --- plain-node unit tests of the JS glue ---------------------------------------------
shopt -s nullglob globstar
js_tests=(tests/js/**/*.test.js tests/js/**/*.test.mjs)
shopt -u globstar
if (( ${#js_tests[@]} == 0 )); then
    log "no tests/js/**/*.test.{js,mjs} yet: skipping node --test"
else
    # The node versions run side by side (each `node --test` runs its files one at a
    # time on 2 CPUs); their logs are printed one after the other when all are done.
    node_logs=()
    node_pids=()
    for i in "${!node_paths[@]}"; do
        np="${node_paths[$i]}"
        nv="$(node_version "$np")"
        # Further node versions run every test too, the random kill tests with smaller
        # budgets (the same code paths; the first version runs the full ones).
        budget=()
        if (( i > 0 )); then
            budget=(XMFS_KILL_ITERS="${XMFS_KILL_ITERS_MORE:-50}"
                    XMFS_PERSIST_KILLS="${XMFS_PERSIST_KILLS_MORE:-25}")
        fi
        log "node --test on node $nv (${#js_tests[@]} files) ${budget[*]}: started"
        node_logs+=("$(mktemp "${TMPDIR:-/tmp}/xmfs-node-test.XXXXXX")")
        env "${budget[@]}" PATH="$np" timeout "${EXTMEMFS_NODE_TEST_TIMEOUT:-900}" \
            node --test "${js_tests[@]}" >"${node_logs[$i]}" 2>&1 &
        node_pids+=($!)
    done
    for i in "${!node_paths[@]}"; do
        nv="$(node_version "${node_paths[$i]}")"
        rc=0
        wait "${node_pids[$i]}" || rc=$?
        log "node --test on node $nv: output"
        cat "${node_logs[$i]}"
        rm -f "${node_logs[$i]}"
        if (( rc != 0 )); then
            log "node --test on node $nv FAILED (exit $rc)"
            status=1
        else
            log "node --test on node $nv passed"
        fi
    done
    log "node --test finished after $((SECONDS - START))s"
fi

# --- pytest (host + Pyodide in node and chrome) -----------------------------------
# The first node version runs everything; each further one runs the node runtime only
# (node-no-host: the host tests are not repeated).
runtimes="${EXTMEMFS_RUNTIMES:-node,chrome}"
has_node=0
IFS=, read -r -a rt_list <<<"$runtimes"
for rt in "${rt_list[@]}"; do
    rt="${rt// /}"
    [[ "${rt%-no-host}" == node ]] && has_node=1
done
for i in "${!node_paths[@]}"; do
    np="${node_paths[$i]}"
    rts="$runtimes"
    budget=()
    if (( i > 0 )); then
        (( has_node )) || break
        rts=node-no-host
        # every test again, the randomized long ones with smaller budgets
        budget=(XMFS_STATEFUL_EXAMPLES="${XMFS_STATEFUL_EXAMPLES_MORE:-100}"
                XMFS_PYKILL_ITERS="${XMFS_PYKILL_ITERS_MORE:-10}")
    fi
    nv="$(node_version "$np")"
    log "pytest --runtime $rts (node runtime on node $nv) ${budget[*]}"
    set +e
    env "${budget[@]}" PATH="$np" timeout --kill-after=30 "${EXTMEMFS_PYTEST_TIMEOUT:-3600}" \
        .venv/bin/python -m pytest tests \
            --dist-dir=build/dist --runtime "$rts" \
            -p no:cacheprovider "$@"
    rc=$?
    set -e
    case $rc in
        0) ;;
        5) if (( i == 0 )); then
               log "pytest collected no tests: treating as failure"; status=1
           else
               log "pytest on node $nv: no node tests selected"
           fi ;;
        124|137) log "pytest on node $nv timed out"; status=1 ;;
        *) log "pytest on node $nv FAILED (exit $rc)"; status=1 ;;
    esac
done

log "total $((SECONDS - START))s, exit $status"
exit $status
