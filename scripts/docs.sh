#!/usr/bin/env bash
# Build the API reference into build/docs/ (run by scripts/test.sh, so it cannot rot):
#
#   bash scripts/docs.sh
#
#   build/docs/index.html    links to both
#   build/docs/python/       pdoc, from the docstrings of pyodide_extmemfs (scripts/docs.py)
#   build/docs/js/           typedoc, from the .d.ts that the wheel ships (jsglue/'s JSDoc,
#                            made by scripts/hatch_build.py's declarations())
#
# Fails if either tool warns, or if a public class, function or method has no docs.
# Needs scripts/setup.sh first (.venv with pdoc; node_modules with the docs tools of
# scripts/docs/, a file: devDependency of package.json).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT=build/docs
log() { echo "[docs] $*"; }
SECONDS=0
TYPEDOC=scripts/docs/node_modules/.bin/typedoc
if [[ ! -x "$TYPEDOC" ]]; then
    log "$TYPEDOC is missing: run bash scripts/setup.sh (npm ci)"
    exit 2
fi

rm -rf "$OUT"
mkdir -p "$OUT"
status=0
.venv/bin/python scripts/docs.py "$OUT/python" || { log "Python reference FAILED"; status=1; }

.venv/bin/python -c '
import sys
from pathlib import Path
sys.path.insert(0, "scripts")
import hatch_build
hatch_build.declarations(Path(sys.argv[1]))
' "$OUT/.types"
if ! (cd scripts/docs && node_modules/.bin/typedoc --options typedoc.json --tsconfig tsconfig.json \
        --entryPoints ../../$OUT/.types/index.d.ts --out ../../$OUT/js --logLevel Warn); then
    log "JavaScript reference FAILED"
    status=1
fi
rm -rf "$OUT/.types"

cat >"$OUT/index.html" <<'HTML'
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pyodide-extmemfs API reference</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;line-height:1.5}</style>
</head><body>
<h1>pyodide-extmemfs API reference</h1>
<ul>
<li><a href="python/pyodide_extmemfs.html">Python</a>: <code>import pyodide_extmemfs</code>,
  and the pytest plugin (<code>pyodide_extmemfs.pytest_plugin</code>, <code>pyodide_extmemfs.testing</code>)</li>
<li><a href="js/index.html">JavaScript</a>: <code>jsglue/index.js</code> (the wheel's <code>pyodide_extmemfs/jsglue/</code>)</li>
</ul>
<p>Built by <code>bash scripts/docs.sh</code>.</p>
</body></html>
HTML
log "build/docs/ in ${SECONDS}s (exit $status)"
exit $status
