"""Fixtures for tests that run inside Pyodide (imported by conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LIB = Path(__file__).parent / "pyodide_lib"


@pytest.fixture
def selenium_xmfs(selenium):
    """``selenium`` with tests/pyodide_lib/*.py importable inside Pyodide (and the
    *.js files they read beside them)."""
    files = {p.name: p.read_text() for p in sorted([*LIB.glob("*.py"), *LIB.glob("*.js")])}
    selenium.run_js(
        f"""
        const files = {json.dumps(files)};
        pyodide.FS.mkdirTree("/tmp/xmfs_testlib");
        for (const [name, text] of Object.entries(files)) {{
          pyodide.FS.writeFile("/tmp/xmfs_testlib/" + name, text);
        }}
        pyodide.runPython(
          "import sys\\nif '/tmp/xmfs_testlib' not in sys.path: sys.path.insert(0, '/tmp/xmfs_testlib')"
        );
        """
    )
    yield selenium
