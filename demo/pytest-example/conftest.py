"""Make wordfreq.py importable in the Pyodide of each test.

The pyodide-extmemfs plugin (loaded by pytest through the package's entry point) serves
--dist-dir cross-origin isolated and provides ``selenium_extmemfs`` and ``extmemfs_pool``.
A real project would rather put its own wheel into --dist-dir and load it with
``@run_in_pyodide(packages=[...])``.
"""

from pathlib import Path

import pytest

HERE = Path(__file__).parent
LIB = "/home/pyodide/example"  # where wordfreq.py goes inside Pyodide


@pytest.fixture
def selenium_wordfreq(selenium_extmemfs):
    """``selenium_extmemfs`` with this project's wordfreq.py on Pyodide's sys.path."""
    source = (HERE / "wordfreq.py").read_text()
    selenium_extmemfs.run(
        "import os, sys\n"
        f"os.makedirs({LIB!r}, exist_ok=True)\n"
        f"open({LIB + '/wordfreq.py'!r}, 'w').write({source!r})\n"
        f"if {LIB!r} not in sys.path: sys.path.insert(0, {LIB!r})\n"
        "sys.modules.pop('wordfreq', None)\n"
    )
    return selenium_extmemfs
