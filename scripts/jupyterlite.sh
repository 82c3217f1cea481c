#!/usr/bin/env bash
# Build the JupyterLite site for pyodide-extmemfs into build/jupyterlite/, offline (PyPI,
# npm and apt only), and optionally serve it cross-origin isolated on 127.0.0.1.
#
#   bash scripts/jupyterlite.sh [--serve] [--port PORT] [--force]
#
#   --serve       after building, serve the site (COOP same-origin, COEP require-corp,
#                 CORP same-origin) and print its URLs; Ctrl-C stops it
#   --port PORT   port for --serve (default 8000; 0 picks a free one)
#   --force       rebuild the site even if no input changed
#
# What it does (idempotent; a rerun with nothing changed takes a few seconds):
#   - build/dist/ with our wheel: scripts/setup.sh --node-only when the toolchain is missing,
#     scripts/make_dist.py --wheel-only when jsglue/ or pyodide_extmemfs/ changed since
#   - build/lite-venv/: jupyterlite-core + jupyterlite-pyodide-kernel 0.8.6 from
#     scripts/jupyterlite/requirements.txt (apart from .venv)
#   - scripts/jupyterlite/build_site.py: the site, with a local Pyodide 314.0.7, our wheel
#     and comm for `%pip install` (piplite), and demo/jupyterlite/extmemfs.ipynb
#
# Env: PYTHON (host interpreter for the venv, default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1
PYTHON="${PYTHON:-python3}"

log() { echo "[jupyterlite] $*"; }
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

serve=0
port=8000
force=()
while (( $# )); do
    case "$1" in
        --serve) serve=1 ;;
        --port) shift; port="${1:?--port needs a number}" ;;
        --port=*) port="${1#--port=}" ;;
        --force) force=(--force) ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

# --- our wheel in build/dist ------------------------------------------------------------
if [[ ! -f node_modules/pyodide/pyodide-lock.json || ! -x .venv/bin/python \
        || ! -f build/dist/pyodide-lock.json ]]; then
    log "toolchain or build/dist missing: bash scripts/setup.sh --node-only"
    bash scripts/setup.sh --node-only
else
    wheel="$(ls build/dist/pyodide_extmemfs-*.whl 2>/dev/null | head -1 || true)"
    sources=(jsglue pyodide_extmemfs pyproject.toml scripts/hatch_build.py)
    if [[ -z "$wheel" ]] || [[ -n "$(find "${sources[@]}" -newer "$wheel" -type f \
            -not -path '*/__pycache__/*' 2>/dev/null | head -1)" ]]; then
        log "sources changed since the wheel was built: make_dist.py --wheel-only"
        MAKE_DIST_QUIET=1 .venv/bin/python scripts/make_dist.py --wheel-only
    fi
fi

# --- build/lite-venv ----------------------------------------------------------------------
venv=build/lite-venv
req=scripts/jupyterlite/requirements.txt
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/jupyter" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "$venv up to date"
else
    if [[ ! -x "$venv/bin/python" ]]; then
        log "creating $venv"
        mkdir -p build
        "$PYTHON" -m venv "$venv"
    fi
    log "pip install -r $req into $venv"
    pip_log="$venv/pip-install.log"
    if ! "$venv/bin/python" -m pip install -q -r "$req" </dev/null >"$pip_log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$pip_log" | tail -40
        log "pip install into $venv FAILED"
        exit 1
    fi
    echo "$want" >"$stamp"
fi

# --- the site -------------------------------------------------------------------------------
"$venv/bin/python" scripts/jupyterlite/build_site.py "${force[@]}"

if (( serve )); then
    exec "$venv/bin/python" scripts/jupyterlite/serve.py --dir build/jupyterlite --port "$port"
fi
