"""Checks that the offline test toolchain itself works, in node and in Chrome.

These are deliberately independent of the product code: they only need
build/dist (scripts/make_dist.py) and the package to be importable.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide


# --- host-side checks of build/dist ---------------------------------------------
def test_dist_lock_has_our_wheel(request, extmemfs_wheel_name):
    dist = Path(request.config.option.dist_dir)
    lock = json.loads((dist / "pyodide-lock.json").read_text())
    entry = lock["packages"]["pyodide-extmemfs"]
    assert entry["file_name"] == extmemfs_wheel_name
    assert entry["imports"] == ["pyodide_extmemfs"]
    assert extmemfs_wheel_name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(dist / extmemfs_wheel_name) as z:
        names = z.namelist()
    assert "pyodide_extmemfs/__init__.py" in names
    # jsglue/ at the repo root is shipped as pyodide_extmemfs/jsglue/
    repo_js = sorted(
        p.relative_to(request.config.rootpath / "jsglue").as_posix()
        for p in (request.config.rootpath / "jsglue").rglob("*.js")
    )
    for rel in repo_js:
        assert f"pyodide_extmemfs/jsglue/{rel}" in names
    # ... with type declarations for JavaScript hosts, made from the JSDoc at build time
    for mod in ("index", "pool", "errors", "sizes", "backend"):
        assert f"pyodide_extmemfs/jsglue/types/{mod}.d.ts" in names
    assert "pyodide_extmemfs/jsglue/package.json" in names


def test_wheel_bundle_is_current(request, extmemfs_wheel_name, tmp_path):
    """The bundle the Python package loads is esbuild's bundle of the current jsglue/
    sources (the sources are the truth; scripts/hatch_build.py makes the bundle)."""
    import sys

    sys.path.insert(0, str(request.config.rootpath / "scripts"))
    try:
        import hatch_build
    finally:
        sys.path.pop(0)
    fresh = hatch_build.bundle_jsglue(tmp_path / "jsglue.bundle.js").read_bytes()
    dist = Path(request.config.option.dist_dir)
    with zipfile.ZipFile(dist / extmemfs_wheel_name) as z:
        shipped = z.read("pyodide_extmemfs/jsglue.bundle.js")
    assert shipped == fresh, "the wheel's bundle is stale: rebuild it (scripts/make_dist.py)"
    text = fresh.decode()
    assert text.count("var pyodideExtmemfs = ") == 1  # one classic script, one global


def test_jsglue_is_es_modules_without_a_loader(request):
    """jsglue/ files are ES modules that import each other: no eval'd factories, no
    manifest giving a load order, and the pool parts never reach the backend layer."""
    root = request.config.rootpath / "jsglue"
    assert not (root / "manifest.json").exists()
    files = sorted(root.rglob("*.js"))
    assert len(files) >= 15
    for f in files:
        text = f.read_text()
        rel = f.relative_to(root).as_posix()
        assert "(function (modules)" not in text, rel
        assert "eval(" not in text, rel
        assert "export " in text, rel
        # the leaves: the layout, the errors, the persistence format, the path fixes and
        # the fast path walk, which Web Locks to trust, the wasm byte helpers, and the two
        # whose source text runs in Workers' workers (jsglue/workers.js sends it; they
        # must stay self-contained)
        leaves = (
            "layout.js",
            "wasm_encode.js",
            "errors.js",
            "persist/format.js",
            "backend_paths.js",
            "backend_resolve.js",
            "weblocks.js",
            "workerio.js",
            "lineage.js",
        )
        if rel not in leaves:
            assert "import " in text, rel
        if rel.startswith("pool/") or rel in ("pool.js", "layout.js", "locks.js"):
            for upper in ("backend.js", "workers.js", "index.js"):
                assert f'/{upper}"' not in text, f"{rel} imports the upper layer {upper}"


def test_dist_lock_files_exist(request):
    """Every wheel the lock file names for the packages we ship is present."""
    import hashlib

    dist = Path(request.config.option.dist_dir)
    lock = json.loads((dist / "pyodide-lock.json").read_text())
    for name in ["pytest", "tblib", "micropip", "hypothesis", "pyodide-extmemfs"]:
        entry = lock["packages"][name]
        f = dist / entry["file_name"]
        assert f.exists(), f
        assert hashlib.sha256(f.read_bytes()).hexdigest() == entry["sha256"]


# --- runtime checks -------------------------------------------------------------
def test_cross_origin_isolated_page(selenium, runtime):
    """The Chrome page is cross-origin isolated thanks to our web_server_main."""
    if runtime == "node":
        pytest.skip("crossOriginIsolated is a browser concept")
    assert selenium.run_js("return self.crossOriginIsolated") is True


@run_in_pyodide
def test_shared_wasm_memory(selenium, runtime):
    import js
    from pyodide.ffi import to_js

    if runtime == "chrome":
        assert js.crossOriginIsolated is True
    assert hasattr(js, "SharedArrayBuffer")

    desc = to_js(
        {"initial": 1, "maximum": 4, "shared": True},
        dict_converter=js.Object.fromEntries,
    )
    mem = js.WebAssembly.Memory.new(desc)
    buf = mem.buffer
    assert js.Object.prototype.toString.call(buf) == "[object SharedArrayBuffer]"
    assert buf.byteLength == 65536
    assert mem.grow(1) == 1
    assert mem.buffer.byteLength == 2 * 65536

    ia = js.Int32Array.new(mem.buffer)
    js.Atomics.store(ia, 3, 42)
    assert js.Atomics.load(ia, 3) == 42
    assert js.Atomics.add(ia, 3, 1) == 42
    assert ia[3] == 43


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_import_package_from_lock(selenium):
    import pyodide_extmemfs

    assert pyodide_extmemfs.__name__ == "pyodide_extmemfs"
    version = getattr(pyodide_extmemfs, "__version__", None)
    assert version is None or isinstance(version, str)


@run_in_pyodide(packages=["micropip"])
async def test_micropip_install_wheel_from_server(selenium_standalone, extmemfs_wheel_url):
    """A fresh Pyodide installs our wheel over http with micropip."""
    import sys
    from pathlib import Path

    import micropip

    assert "pyodide_extmemfs" not in sys.modules
    await micropip.install(extmemfs_wheel_url)
    import pyodide_extmemfs

    pkg_dir = Path(pyodide_extmemfs.__file__).parent
    assert (pkg_dir / "jsglue").is_dir()
    assert "pyodide-extmemfs" in micropip.list()


@run_in_pyodide(packages=["hypothesis"])
def test_hypothesis_inside_pyodide(selenium):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    seen = []

    @settings(max_examples=20, database=None, deadline=None)
    @given(st.binary(max_size=64))
    def prop(b):
        seen.append(b)
        assert bytes(bytearray(b)) == b

    prop()
    assert len(seen) >= 1


@pytest.mark.only_node
def test_only_node_marker(selenium, runtime):
    assert runtime == "node"


@pytest.mark.only_chrome
def test_only_chrome_marker(selenium, runtime):
    assert runtime == "chrome"


# --- workers: a second Pyodide sharing a WebAssembly.Memory -------------------------
# These double as examples for product tests. Inside Pyodide,
# ``pyodide_js._api.config.indexURL`` is where Pyodide was loaded from: a
# directory path in node (build/dist/), the dist base URL in chrome.


@pytest.mark.only_node
@run_in_pyodide
async def test_node_worker_thread_shares_memory(selenium):
    import pyodide_js
    from pyodide.code import run_js

    start = run_js(
        """
        async (indexURL) => {
          const { Worker } = await import("node:worker_threads");
          const mem = new WebAssembly.Memory({ initial: 1, maximum: 8, shared: true });
          const w = new Worker(`
            const { parentPort, workerData } = require("node:worker_threads");
            const { loadPyodide } = require(workerData.indexURL + "pyodide.js");
            (async () => {
              const py = await loadPyodide({ indexURL: workerData.indexURL });
              const ia = new Int32Array(workerData.mem.buffer);
              Atomics.store(ia, 0, py.runPython("6 * 7"));
              Atomics.notify(ia, 0);
              workerData.mem.grow(1);
              parentPort.postMessage({ ok: true });
            })().catch((e) => parentPort.postMessage({ err: String(e && e.stack || e) }));
          `, { eval: true, workerData: { mem, indexURL } });
          try {
            const msg = await new Promise((res, rej) => { w.once("message", res); w.once("error", rej); });
            return { msg, v: Atomics.load(new Int32Array(mem.buffer), 0), len: mem.buffer.byteLength };
          } finally {
            await w.terminate();
          }
        }
        """
    )
    r = (await start(pyodide_js._api.config.indexURL)).to_py()
    assert "err" not in r["msg"], r["msg"]
    assert r["v"] == 42
    assert r["len"] == 2 * 65536  # the worker's grow() is seen here


@pytest.mark.only_chrome
@run_in_pyodide
async def test_chrome_blob_module_worker_shares_memory(selenium):
    import js
    import pyodide_js
    from pyodide.code import run_js

    assert js.crossOriginIsolated
    start = run_js(
        """
        async (indexURL) => {
          const mem = new WebAssembly.Memory({ initial: 1, maximum: 8, shared: true });
          const src = `
            import { loadPyodide } from "${indexURL}pyodide.mjs";
            self.onmessage = async (e) => {
              try {
                const py = await loadPyodide({ indexURL: "${indexURL}" });
                const ia = new Int32Array(e.data.mem.buffer);
                Atomics.store(ia, 0, py.runPython("6 * 7"));
                const waited = Atomics.wait(ia, 1, 0, 5);  // allowed in a worker
                e.data.mem.grow(1);
                self.postMessage({ waited, coi: self.crossOriginIsolated });
              } catch (err) {
                self.postMessage({ err: String(err && err.stack || err) });
              }
            };
          `;
          const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
          const w = new Worker(url, { type: "module" });
          try {
            const msg = await new Promise((res, rej) => {
              w.onmessage = (e) => res(e.data);
              w.onerror = (e) => rej(new Error("worker error: " + e.message));
              w.postMessage({ mem });
            });
            return { msg, v: Atomics.load(new Int32Array(mem.buffer), 0), len: mem.buffer.byteLength };
          } finally {
            w.terminate();
            URL.revokeObjectURL(url);
          }
        }
        """
    )
    r = (await start(pyodide_js._api.config.indexURL)).to_py()
    assert "err" not in r["msg"], r["msg"]
    assert r["msg"] == {"waited": "timed-out", "coi": True}
    assert r["v"] == 42
    assert r["len"] == 2 * 65536


@run_in_pyodide
def test_realms_are_consistent(selenium):
    """to_js() results and js.* constructors are the same realm as run_js code."""
    import js
    from pyodide.code import run_js
    from pyodide.ffi import to_js

    check = run_js("(a, m) => a instanceof Uint8Array && m instanceof WebAssembly.Memory")
    desc = to_js({"initial": 1, "maximum": 1, "shared": True}, dict_converter=js.Object.fromEntries)
    assert check(to_js(b"abc"), js.WebAssembly.Memory.new(desc)) is True


@pytest.mark.only_node
def test_node_runtime_runs_the_node_first_on_path(selenium, node_major):
    """scripts/test.sh picks the node version by PATH (EXTMEMFS_NODES); the test id
    (node20 / node24) and the node that runs the tests must agree."""
    version = selenium.run_js("return process.versions.node")
    assert int(version.split(".")[0]) == node_major
