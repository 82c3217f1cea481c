#!/usr/bin/env bash
# The benchmark command: EXTMEMFS vs MEMFS from Python inside Pyodide (issue 6).
#
#   bash benchmarks/run.sh            node (about 1-2 minutes on 2 CPUs)
#   bash benchmarks/run.sh --chrome   the same cases in headless Chromium (selenium,
#                                     cross-origin isolated page); node results from an
#                                     earlier run stay in the report
#   bash benchmarks/run.sh --all      node, then Chromium
#   bash benchmarks/run.sh --quick    small sizes, one repetition (to try it out)
#   bash benchmarks/run.sh --jupyterlite  the DriveFS comparison instead: /drive vs /tmp
#                                     vs the pool in a JupyterLite kernel (jupyterlite.py;
#                                     writes results/raw-jupyterlite.json, table-drivefs.md)
#
# Output: a table on stdout, and benchmarks/results/{raw-node,raw-chrome,results}.json,
# table.md (for the README) and chart.png.
#
# Setup: runs scripts/setup.sh if build/dist or .venv is missing; rebuilds our wheel
# (scripts/make_dist.py --wheel-only) if jsglue/ or pyodide_extmemfs/ changed since it
# was built, so the figures are for the current source; matplotlib (for the chart) goes
# into benchmarks/.venv from benchmarks/requirements.txt.
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
for a in "$@"; do
    case "$a" in
        --chrome) node_run=0; chrome_run=1 ;;
        --all) node_run=1; chrome_run=1 ;;
        --quick) quick=(--quick) ;;
        --jupyterlite) node_run=0; chrome_run=0; lite_run=1 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) log "unknown option $a"; exit 2 ;;
    esac
done

# --- the project's toolchain and dist -------------------------------------------------
if [[ ! -f build/dist/pyodide.mjs || ! -f build/dist/pyodide-lock.json || ! -x .venv/bin/python ]]; then
    log "build/dist or .venv missing: bash scripts/setup.sh"
    bash scripts/setup.sh >&2
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

mkdir -p "$HERE/results"
status=0
if (( node_run )); then
    log "node: $(node --version), $(nproc) CPUs"
    node "$HERE/bench.mjs" "${quick[@]}" || status=$?
fi
if (( chrome_run )) && (( status == 0 )); then
    log "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
    .venv/bin/python "$HERE/chrome.py" "${quick[@]}" || status=$?
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
