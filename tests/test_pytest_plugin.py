"""The package's pytest plugin as its users get it: our wheel from build/dist installed
into a fresh directory (its pytest11 entry point is what loads the plugin), and pytest run
in a subprocess on demo/pytest-example (a tiny project with its own code and tests) in
node and Chrome; then on a scratch project: the plugin is inert without pytest-pyodide,
an unknown marker option and a page without isolation fail with clear messages. And
inside Pyodide, importing the package does not import the plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide
from xmfs_fixtures import DEFAULT_SCRIPT_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "demo" / "pytest-example"


def _runtimes(request) -> list[str]:
    """The browser/node runtimes of this run (the subprocesses run in the same ones)."""
    out = []
    for rt in str(request.config.option.runtime).split(","):
        rt = rt.strip().removesuffix("-no-host")
        if rt in ("node", "chrome") and rt not in out:
            out.append(rt)
    return out


@pytest.fixture(scope="module")
def installed_wheel(request, tmp_path_factory) -> Path:
    """A directory with our wheel installed (pip --target): on PYTHONPATH, pytest finds
    the plugin through the wheel's entry point, as in a user's environment."""
    dist = Path(request.config.option.dist_dir).resolve()
    wheels = sorted(dist.glob("pyodide_extmemfs-*.whl"))
    assert len(wheels) == 1, wheels
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--target", str(target), str(wheels[0])],
        check=True,
        capture_output=True,
    )
    eps = (next(target.glob("pyodide_extmemfs-*.dist-info")) / "entry_points.txt").read_text()
    assert "[pytest11]" in eps and "pyodide_extmemfs = pyodide_extmemfs.pytest_plugin" in eps
    return target


def _pytest(request, site: Path, cwd: Path, junit: Path, *args: str, timeout: float = 600):
    """Run pytest in `cwd` with `site` on PYTHONPATH; returns (process, junit results:
    test name -> (outcome, message))."""
    # This machine is shared and slow at times: pytest-pyodide's 20 s for loading Pyodide
    # in Chrome is raised (as tests/conftest.py does for this project's own tests).
    slow = junit.parent / "slow_machine"
    slow.mkdir(exist_ok=True)
    (slow / "xmfs_slow_machine.py").write_text(
        "from pytest_pyodide.runner import _BrowserBaseRunner\n"
        f"_BrowserBaseRunner.script_timeout = {DEFAULT_SCRIPT_TIMEOUT}\n"
    )
    env = dict(
        os.environ,
        PYTHONPATH=f"{site}{os.pathsep}{slow}",
        SE_OFFLINE="true",
        PYTHONDONTWRITEBYTECODE="1",
    )
    dist = str(Path(request.config.option.dist_dir).resolve())
    cmd = [sys.executable, "-m", "pytest", f"--dist-dir={dist}", "-p", "no:cacheprovider"]
    cmd += ["-p", "xmfs_slow_machine"]
    cmd += ["-rA", f"--junitxml={junit}", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    results = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome = "passed"
            message = ""
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    outcome = tag
                    message = (node.get("message") or "") + (node.text or "")
            results[case.get("name")] = (outcome, message)
    return proc, results


@pytest.mark.driver_timeout(600)
def test_example_project_passes_with_the_installed_plugin(request, installed_wheel, tmp_path):
    runtimes = _runtimes(request)
    if not runtimes:
        pytest.skip("neither node nor chrome is among the runtimes")
    junit = tmp_path / "junit.xml"
    proc, results = _pytest(
        request, installed_wheel, EXAMPLE, junit, "--runtime", ",".join(runtimes)
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    # The plugin came from the installed wheel's entry point, not from this repository.
    assert "pyodide-extmemfs-0.1.0" in out.split("collected", 1)[0], out[:3000]
    tests = [
        "test_counts_in_the_pool_match_memfs",
        "test_workers_count_the_pool_in_parallel",
        "test_report_survives_a_full_pool",
    ]
    want = {f"{t}[{rt}]": ("passed", "") for t in tests for rt in runtimes}
    assert results == want, out[-6000:]


SCRATCH_CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def extmemfs_isolation_headers():
    return {}  # no COOP/COEP: browser pages are not cross-origin isolated
"""

SCRATCH_TESTS = """
import pytest

def test_isolation(selenium_extmemfs):
    assert selenium_extmemfs.run("import pyodide_extmemfs\\npyodide_extmemfs.__version__")

@pytest.mark.extmemfs_pool(bogus=1)
def test_bad_marker(selenium_extmemfs, extmemfs_pool):
    pass
"""


@pytest.mark.driver_timeout(600)
def test_plugin_errors_are_clear(request, installed_wheel, tmp_path):
    runtimes = _runtimes(request)
    if not runtimes:
        pytest.skip("neither node nor chrome is among the runtimes")
    (tmp_path / "conftest.py").write_text(SCRATCH_CONFTEST)
    (tmp_path / "test_scratch.py").write_text(SCRATCH_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    junit = tmp_path / "junit.xml"
    proc, results = _pytest(
        request, installed_wheel, tmp_path, junit, "--runtime", ",".join(runtimes)
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-4000:]
    for rt in runtimes:
        outcome, message = results[f"test_bad_marker[{rt}]"]
        assert outcome == "error", message
        # (in Chrome the page fails first: selenium_extmemfs is set up before the pool)
        gist = "unknown option(s) ['bogus']" if rt == "node" else "not cross-origin isolated"
        assert gist in message, message
        outcome, message = results[f"test_isolation[{rt}]"]
        if rt == "node":  # node needs no headers
            assert outcome == "passed", message
        else:
            assert outcome == "error", message
            assert "page is not cross-origin isolated" in message, message
            assert "extmemfs_isolation_headers" in message, message


def test_plugin_is_inert_without_pytest_pyodide(request, installed_wheel, tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_plain.py").write_text(
        "def test_plain(request):\n"
        "    assert request.config.pluginmanager.has_plugin('pyodide_extmemfs')\n"
        "    assert not request.config.pluginmanager.has_plugin("
        "'pyodide_extmemfs._pytest_fixtures')\n\n"
        "def test_no_fixture(extmemfs_pool):\n"
        "    pass\n"
    )
    env = dict(os.environ, PYTHONPATH=str(installed_wheel))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"]
        + ["-p", "no:pytest_pyodide", "-p", "no:pytest_pyodide_hook"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert "PASSED test_plain.py::test_plain" in out, out[-3000:]
    assert "fixture 'extmemfs_pool' not found" in out, out[-3000:]
    # The plugin module imports on a CPython without pytest-pyodide at all.
    code = (
        "import sys; sys.modules['pytest_pyodide'] = None\n"
        "import pyodide_extmemfs.pytest_plugin as p, pyodide_extmemfs.testing as t\n"
        "print(sorted(p.ISOLATION_HEADERS), t.MountedPool('/s', 'k', 1, 2).path)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "'/s'" not in done.stdout and done.stdout.strip().endswith("/s"), done.stdout


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_importing_the_package_in_pyodide_leaves_the_plugin_alone(selenium):
    import sys

    import pyodide_extmemfs  # noqa: F401

    assert "pyodide_extmemfs.pytest_plugin" not in sys.modules
    assert "pyodide_extmemfs._pytest_fixtures" not in sys.modules
    from pyodide_extmemfs.testing import MountedPool

    handle = MountedPool("/nowhere", "no-such-key", 1, 2)
    try:
        handle.pool  # noqa: B018
    except RuntimeError as e:
        assert "not set up in this interpreter" in str(e)
    else:
        raise AssertionError("MountedPool.pool of an unknown key did not raise")
