"""Model-based fuzzing against MEMFS with Hypothesis, inside Pyodide (issue 5 §4).

CI runs XMFS_STATEFUL_EXAMPLES (default 500) examples of up to XMFS_STATEFUL_STEPS (20)
operations each, single-instance and two-instance, in node; Chrome runs a smaller
number. A larger run on demand:

    XMFS_STATEFUL_EXAMPLES=5000 XMFS_STATEFUL_STEPS=50 EXTMEMFS_RUNTIMES=node \\
        bash scripts/test.sh tests/test_stateful.py

A divergence fails with Hypothesis's shrunk sequence of operations and a
``@reproduce_failure`` blob in the output.
"""

from __future__ import annotations

import os

import pytest
from pytest_pyodide import run_in_pyodide


@pytest.fixture
def fuzz_budget(runtime):
    examples = int(os.environ.get("XMFS_STATEFUL_EXAMPLES", "500"))
    steps = int(os.environ.get("XMFS_STATEFUL_STEPS", "20"))
    if runtime != "node":
        examples = min(examples, 60)
    return examples, steps


@pytest.mark.driver_timeout(1800)
@run_in_pyodide(packages=["pyodide-extmemfs", "hypothesis"])
def test_stateful_fuzz_single_instance(selenium_xmfs, fuzz_budget):
    import os

    import xmfs_stateful

    import pyodide_extmemfs as xmfs

    examples, steps = fuzz_budget
    pool = xmfs.create_pool("1MiB", "256MiB")
    xmfs.mount(pool, "/fz1")
    os.makedirs("/tmp/fz1_memfs")
    os.umask(0)  # MEMFS ignores the umask, EXTMEMFS applies it (test_fs.py checks that)
    ran = xmfs_stateful.run("/tmp/fz1_memfs", "/fz1", pool, examples, steps)
    assert ran >= examples
    assert os.listdir("/fz1") == []
    assert pool.check() == []
    xmfs.unmount("/fz1")


@pytest.mark.driver_timeout(1800)
@run_in_pyodide(packages=["pyodide-extmemfs", "hypothesis"])
async def test_stateful_fuzz_two_instances(selenium_xmfs, fuzz_budget):
    import os

    import pyodide_js
    import xmfs_stateful
    from pyodide.code import run_js

    import pyodide_extmemfs as xmfs

    examples, steps = fuzz_budget
    pool = xmfs.create_pool("1MiB", "256MiB")
    xmfs.mount(pool, "/fz2")
    os.makedirs("/tmp/fz2_memfs")
    # A second Pyodide instance in this thread mounts the same pool; every other
    # operation of a sequence runs there.
    ops_source = open("/tmp/xmfs_testlib/xmfs_ops.py").read()
    second = await run_js(
        """
        async (indexURL, opsSource) => {
          const { loadPyodide } = await import(indexURL + "pyodide.mjs");
          const py = await loadPyodide({ indexURL });
          await py.loadPackage("pyodide-extmemfs");
          py.FS.mkdirTree("/tmp/lib");
          py.FS.writeFile("/tmp/lib/xmfs_ops.py", opsSource);
          py.runPython("import sys; sys.path.insert(0, '/tmp/lib')");
          return py;
        }
        """
    )(pyodide_js._api.config.indexURL, ops_source)
    second.pyimport("pyodide_extmemfs._worker").setup(pool.memory, "/fz2", False, 1)
    # MEMFS ignores the umask, EXTMEMFS applies it (test_fs.py checks that)
    os.umask(0)
    second.runPython("import os; os.umask(0)")
    peer_ops = second.pyimport("xmfs_ops")
    ran = xmfs_stateful.run(
        "/tmp/fz2_memfs", "/fz2", pool, examples, steps, peer=peer_ops.apply_repr
    )
    assert ran >= examples
    assert os.listdir("/fz2") == []
    assert pool.check() == []
    xmfs.unmount("/fz2")
