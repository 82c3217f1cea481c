#!/usr/bin/env bash
# The benchmark command: EXTMEMFS vs MEMFS from Python inside Pyodide (issue 6).
#
#   bash benchmarks/run.sh            node 20 and node 24 (2-3 minutes each on 2 CPUs)
#   bash benchmarks/run.sh --chrome   the same cases in headless Chromium (selenium,
#                                     cross-origin isolated page); node results from an
#                                     earlier run stay in the report
#   bash benchmarks/run.sh --all      node versions, then Chromium
#   bash benchmarks/run.sh --quick    small sizes, one repetition (to try it out)
#   bash benchmarks/run.sh --no-zenfs leave the ZenFS peer out
#   bash benchmarks/run.sh --no-persist leave the persistence benchmark out
#   bash benchmarks/run.sh --jupyterlite  the DriveFS comparison instead: /drive vs /tmp
#                                     vs the pool in a JupyterLite kernel (jupyterlite.py;
#                                     writes results/raw-jupyterlite.json, table-drivefs.md)
#
# Env: EXTMEMFS_NODES   node versions to run (default "20,24", see scripts/node_versions.sh)
#
# Output: a table on stdout, and benchmarks/results/raw-node20.json, raw-node24.json,
# raw-chrome.json, persist-node<N>.json and persist-chrome.json (persistence: persist.mjs,
# persist_chrome.py), results.json, table.md (for the README) and chart.png.
#
# Setup: runs scripts/setup.sh if build/dist, .venv or node 24 is missing; rebuilds our
# wheel (scripts/make_dist.py --wheel-only) if jsglue/ or pyodide_extmemfs/ changed since
# it was built, so the figures are for the current source; matplotlib (for the chart)
# goes into benchmarks/.venv from benchmarks/requirements.txt; the ZenFS peer and esbuild
# go into benchmarks/node_modules from benchmarks/package-lock.json (benchmark-only, not
# the product's), and esbuild bundles benchmarks/zenfs/peer.mjs into
# benchmarks/build/zenfs-peer.mjs for node and the browser.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export SE_OFFLINE=true

log() { echo "[run] $*" >&2; }

node_run=1
chrome_run=0
lite_run=0
quick=()
zenfs=1
persist=1
for a in "$@"; do
    case "$a" in
        --chrome) node_run=0; chrome_run=1 ;;
        --no-persist) persist=0 ;;
        --all) node_run=1; chrome_run=1 ;;
        --quick) quick=(--quick) ;;
        --no-zenfs) zenfs=0 ;;
        --jupyterlite) node_run=0; chrome_run=0; lite_run=1; zenfs=0 ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) log "unknown option $a"; exit 2 ;;
    esac
done

# --- the project's toolchain and dist -------------------------------------------------
source scripts/node_versions.sh
if [[ ! -f build/dist/pyodide.mjs || ! -f build/dist/pyodide-lock.json || ! -x .venv/bin/python ]] \
        || ! resolve_node_versions "$ROOT" 2>/dev/null; then
    log "build/dist, .venv or a node version missing: bash scripts/setup.sh"
    bash scripts/setup.sh >&2
    resolve_node_versions "$ROOT" || exit 2
else
    wheel="$(ls build/dist/pyodide_extmemfs-*.whl 2>/dev/null | head -1 || true)"
    if [[ -z "$wheel" ]] || [[ -n "$(find jsglue pyodide_extmemfs pyproject.toml -newer "$wheel" \
            -type f \( -name '*.js' -o -name '*.py' -o -name '*.json' -o -name '*.toml' \) \
            -not -path '*/__pycache__/*' 2>/dev/null | head -1)" ]]; then
        log "sources changed since the wheel was built: make_dist.py --wheel-only"
        MAKE_DIST_QUIET=1 .venv/bin/python scripts/make_dist.py --wheel-only >&2
    fi
fi

# --- benchmarks/.venv with matplotlib ----------------------------------------------------
venv="$HERE/.venv"
req="$HERE/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "creating $venv (matplotlib for the chart)"
    [[ -x "$venv/bin/python" ]] || "${PYTHON:-python3}" -m venv "$venv"
    if ! "$venv/bin/python" -m pip install -q -r "$req" >"$venv/pip-install.log" 2>&1; then
        tail -20 "$venv/pip-install.log" >&2
        log "pip install into $venv FAILED"
        exit 1
    fi
    echo "$want" >"$stamp"
fi

# --- the ZenFS peer: benchmarks/node_modules and the bundle ------------------------------
zenfs_args=()
if (( zenfs )); then
    stamp_npm="$HERE/node_modules/.package-lock.json"
    if [[ ! -f "$stamp_npm" || "$HERE/package-lock.json" -nt "$stamp_npm" ]]; then
        log "npm ci in benchmarks/ (ZenFS peer, esbuild)"
        (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error </dev/null >&2)
    fi
    bundle="$HERE/build/zenfs-peer.mjs"
    if [[ ! -f "$bundle" || -n "$(find "$HERE/zenfs" "$stamp_npm" -newer "$bundle" 2>/dev/null \
            | head -1)" ]]; then
        log "bundling the ZenFS peer: $bundle"
        "$HERE/node_modules/.bin/esbuild" "$HERE/zenfs/peer.mjs" --bundle --format=esm \
            --platform=browser --log-level=warning --outfile="$bundle" >&2
    fi
else
    zenfs_args=(--no-zenfs)
fi

mkdir -p "$HERE/results"
rm -f "$HERE/results/raw-node.json"  # before node columns were named after their version
status=0
if (( node_run )); then
    for d in "${NODE_DIRS[@]}"; do
        log "node: $("$d/node" --version), $(nproc) CPUs"
        PATH="$d:$PATH" node "$HERE/bench.mjs" "${quick[@]}" "${zenfs_args[@]}" || status=$?
        (( status == 0 )) || break
        if (( persist )); then
            major="$("$d/node" --version | sed 's/^v\([0-9]*\).*/\1/')"
            if (( ${#quick[@]} )); then sizes=(--pool-mib 128 --fill-mib 64); else sizes=(); fi
            PATH="$d:$PATH" node "$HERE/persist.mjs" "${sizes[@]}" \
                --json "$HERE/results/persist-node$major.json" || status=$?
            (( status == 0 )) || break
        fi
    done
fi
if (( chrome_run )) && (( status == 0 )); then
    log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
    .venv/bin/python "$HERE/chrome.py" "${quick[@]}" "${zenfs_args[@]}" || status=$?
    if (( persist )) && (( status == 0 )); then
        if (( ${#quick[@]} )); then sizes=(--pool-mib 128 --fill-mib 64); else sizes=(); fi
        .venv/bin/python "$HERE/persist_chrome.py" "${sizes[@]}" \
            --json "$HERE/results/persist-chrome.json" || status=$?
    fi
fi
if (( lite_run )); then
    .venv/bin/python "$HERE/jupyterlite.py" "${quick[@]}" || status=$?
    (( status == 0 )) || log "benchmark run FAILED (exit $status)"
    exit "$status"
fi
if (( status != 0 )); then
    log "benchmark run FAILED (exit $status)"
    exit "$status"
fi
"$venv/bin/python" "$HERE/report.py"
