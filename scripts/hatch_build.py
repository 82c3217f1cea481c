"""Hatch build hook: bundle the jsglue ES modules for the Python package.

The ES modules under ``jsglue/`` are the source of truth. At wheel build time this hook
runs esbuild (from ``node_modules``, installed by ``npm ci``; see package.json) to make

* ``pyodide_extmemfs/jsglue.bundle.js`` — every module bundled into one classic script
  that defines ``globalThis.pyodideExtmemfs`` (the namespace of ``jsglue/index.js``).
  ``_jsglue.py`` evaluates it once per Pyodide instance (synchronously, so that
  ``create_pool()`` needs no ``await``), unless the host already provided the modules.

and TypeScript (``tsc``) to make ``pyodide_extmemfs/jsglue/types/*.d.ts`` from the JSDoc
types, for JavaScript hosts. Both tools are deterministic, so the wheel stays
reproducible. ``bundle_jsglue(out)`` is also what the tests call to check that a wheel
holds the bundle of the current sources.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"
GLOBAL_NAME = "pyodideExtmemfs"


def _tool(name: str) -> str:
    exe = BIN / name
    if not exe.exists():
        raise RuntimeError(
            f"building pyodide-extmemfs needs {name} from node_modules ({exe} is missing): "
            "run `npm ci` in the repository first (scripts/setup.sh does it)"
        )
    return str(exe)


def bundle_jsglue(out: Path) -> Path:
    """Bundle jsglue/index.js and its imports into the classic script `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            _tool("esbuild"),
            str(ROOT / "jsglue" / "index.js"),
            "--bundle",
            "--format=iife",
            f"--global-name={GLOBAL_NAME}",
            "--platform=neutral",
            "--target=es2022",
            "--external:node:*",
            "--legal-comments=none",
            "--charset=utf8",
            "--log-level=warning",
            "--banner:js=// pyodide-extmemfs: jsglue/*.js bundled by scripts/hatch_build.py",
            f"--outfile={out}",
        ],
        check=True,
        cwd=ROOT,
    )
    return out


def declarations(outdir: Path) -> Path:
    """Write .d.ts files for jsglue/ (from its JSDoc) into `outdir`."""
    if outdir.exists():
        shutil.rmtree(outdir)
    subprocess.run(
        [
            _tool("tsc"),
            "-p",
            str(ROOT / "scripts" / "tsconfig.types.json"),
            "--outDir",
            str(outdir),
        ],
        check=True,
        cwd=ROOT,
    )
    return outdir


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # imported by the tests without hatchling: only bundle_jsglue is used
    BuildHookInterface = object  # type: ignore[assignment,misc]


class JsglueBundleHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    """Adds the bundle and the type declarations to the wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        self._tmp = Path(tempfile.mkdtemp(prefix="xmfs-build-"))
        bundle = bundle_jsglue(self._tmp / "jsglue.bundle.js")
        types = declarations(self._tmp / "types")
        build_data["force_include"][str(bundle)] = "pyodide_extmemfs/jsglue.bundle.js"
        for d in sorted(types.rglob("*.d.ts")):
            rel = d.relative_to(types).as_posix()
            build_data["force_include"][str(d)] = f"pyodide_extmemfs/jsglue/types/{rel}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
