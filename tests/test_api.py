"""The Python API: sizes, bad input, read-only mounts, micropip install. Pyodide tests
run in node and Chrome; the host tests run on CPython."""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


# --- host CPython ------------------------------------------------------------------------
def test_imports_on_host_and_refuses_clearly():
    import pyodide_extmemfs as xmfs

    assert xmfs.parse_size("64MiB") == 64 << 20
    with pytest.raises(RuntimeError, match="runs inside Pyodide"):
        xmfs.create_pool()
    with pytest.raises(RuntimeError, match="runs inside Pyodide"):
        xmfs.attach(None)


@pytest.mark.parametrize(
    "value, want",
    [
        (16 * 2**20, 16 * 2**20),
        ("64MiB", 64 << 20),
        ("64 mib", 64 << 20),
        ("1.5GiB", 3 << 29),
        ("100MB", 100_000_000),
        ("512K", 512 << 10),
        ("4GiB", 4 << 30),
        ("131072", 131072),
    ],
)
def test_parse_size_accepts(value, want):
    from pyodide_extmemfs import parse_size

    assert parse_size(value) == want


@pytest.mark.parametrize(
    "value, exc, gist",
    [
        (-1, ValueError, "out of range"),
        (0, ValueError, "out of range"),
        ("5GiB", ValueError, "out of range"),
        (2**32 + 1, ValueError, "out of range"),
        ("lots", ValueError, "cannot parse"),
        ("12 parsecs", ValueError, "cannot parse"),
        ("0.5B", ValueError, "not a whole number"),
        (1.5, TypeError, "int or a str"),
        (True, TypeError, "int or a str"),
        (None, TypeError, "int or a str"),
    ],
)
def test_parse_size_rejects_with_the_accepted_range(value, exc, gist):
    from pyodide_extmemfs import parse_size

    with pytest.raises(exc, match=gist) as info:
        parse_size(value)
    assert "128 KiB" in str(info.value) and "4 GiB" in str(info.value)


SIZE_INPUTS = [
    16 * 2**20,
    "64MiB",
    "64 mib",
    "1.5GiB",
    "100MB",
    "512K",
    "4GiB",
    "131072",
    " 2 g ",
    "0.5B",
    "lots",
    "12 parsecs",
    "5GiB",
    "",
    ".5 MiB",
    "1.",
    -1,
    0,
    2**32 + 1,
    131071,
]


def test_js_and_python_parse_sizes_alike(request):
    """jsglue/sizes.js (JS hosts) and _sizes.py (Python) accept and refuse the same sizes."""
    import json
    import subprocess

    from pyodide_extmemfs import parse_size

    script = f"""
      import {{ parseSize }} from {json.dumps(str(request.config.rootpath / "jsglue/index.js"))};
      const out = {json.dumps(SIZE_INPUTS)}.map((v) => {{
        try {{ return parseSize(v); }} catch (e) {{ return "error: " + e.message; }}
      }});
      console.log(JSON.stringify(out));"""
    got = json.loads(
        subprocess.run(
            ["node", "--input-type=module", "-e", script],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    for value, js in zip(SIZE_INPUTS, got):
        try:
            want = parse_size(value)
        except ValueError as e:
            assert isinstance(js, str), f"{value!r}: Python refuses ({e}), JS gives {js}"
            # the same reason, in the same words
            for gist in ("out of range", "cannot parse", "not a whole number"):
                assert (gist in str(e)) == (gist in js), (value, str(e), js)
            assert "128 KiB" in js and "4 GiB" in js
        else:
            assert js == want, f"{value!r}: Python {want}, JS {js}"


def test_meta_yaml_is_a_valid_recipe(request):
    import hashlib
    from pathlib import Path

    import yaml

    root = Path(request.config.rootpath)
    meta = yaml.safe_load((root / "meta.yaml").read_text())
    assert meta["package"]["name"] == "pyodide-extmemfs"
    assert meta["package"]["top-level"] == ["pyodide_extmemfs"]
    assert meta["test"]["imports"] == ["pyodide_extmemfs"]
    assert meta["source"]["url"].endswith(".whl")
    import pyodide_extmemfs

    assert meta["package"]["version"] == pyodide_extmemfs.__version__
    # Validate with pyodide-build's own recipe loader.
    from pyodide_build.io import MetaConfig

    cfg = MetaConfig.from_yaml(root / "meta.yaml")
    assert cfg.package.name == "pyodide-extmemfs"
    # The recipe's sha256 is that of the wheel it names, when that wheel was built here.
    wheel = Path(request.config.option.dist_dir) / Path(meta["source"]["url"]).name
    if wheel.exists():
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == meta["source"]["sha256"]


# --- inside Pyodide ------------------------------------------------------------------------
@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_create_pool_rejects_bad_sizes(selenium):
    import pytest

    import pyodide_extmemfs as xmfs

    with pytest.raises(ValueError, match="above maximum_size"):
        xmfs.create_pool("64MiB", "1MiB")
    with pytest.raises(ValueError, match="out of range"):
        xmfs.create_pool("1MiB", "8GiB")
    with pytest.raises(ValueError, match="cannot parse"):
        xmfs.create_pool("big", "1GiB")
    with pytest.raises(TypeError, match="int or a str"):
        xmfs.create_pool(1.0, "1GiB")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_attach_rejects_bad_input_naming_the_problem(selenium):
    import js
    import pytest
    from pyodide.ffi import to_js

    import pyodide_extmemfs as xmfs

    def mem(shared):
        return js.WebAssembly.Memory.new(
            to_js(
                {"initial": 2, "maximum": 4, "shared": shared}, dict_converter=js.Object.fromEntries
            )
        )

    with pytest.raises(TypeError, match="got NoneType"):
        xmfs.attach(None)
    with pytest.raises(TypeError, match="got int"):
        xmfs.attach(42)
    with pytest.raises(TypeError, match="got ArrayBuffer"):
        xmfs.attach(js.ArrayBuffer.new(16))
    with pytest.raises(ValueError, match="not shared"):
        xmfs.attach(mem(False))
    with pytest.raises(ValueError, match="not an extmemfs pool"):
        xmfs.attach(mem(True))
    pool = xmfs.create_pool("1MiB", "4MiB")
    assert xmfs.attach(pool.memory).stats() == pool.stats()
    # This instance's lock waits (tests/js/locks.test.mjs makes real ones): none yet.
    s = pool.stats()
    waits = ("lock_waits", "lock_wait_ms", "longest_lock_wait_ms", "longest_lock_wait_on")
    assert [s[k] for k in waits] == [0, 0, 0, ""]
    assert s["reads_beside_writes"] == 0 and s["layout_version"] == 10
    pool.reset_lock_waits()
    assert pool.stats()["lock_waits"] == 0
    # A file this instance closed is opened again without a lock (kept pins): counted.
    xmfs.mount(pool, "/api_kept")
    with open("/api_kept/f", "wb") as f:
        f.write(b"x")
    pool.reset_lock_waits()
    for _ in range(3):
        with open("/api_kept/f", "rb") as f:
            assert f.read() == b"x"
    assert pool.stats()["opens_without_lock"] == 6
    pool.reset_lock_waits()
    assert pool.stats()["opens_without_lock"] == 0
    # A file that must grow where the next block is taken moves: counted, content kept.
    with open("/api_kept/a", "wb", buffering=0) as a, open("/api_kept/b", "wb", buffering=0) as b:
        a.write(b"a" * 65536)
        b.write(b"b" * 65536)
        pool.reset_lock_waits()
        a.write(b"c" * (1 << 20))
    s = pool.stats()
    assert (s["extent_moves"], s["bytes_moved"]) == (1, 65536)
    with open("/api_kept/a", "rb") as a:
        assert a.read() == b"a" * 65536 + b"c" * (1 << 20)
    pool.reset_lock_waits()
    assert (pool.stats()["extent_moves"], pool.stats()["bytes_moved"]) == (0, 0)
    xmfs.unmount("/api_kept")
    js.Uint32Array.new(pool.memory.buffer)[1] = 999  # the layout VERSION word
    with pytest.raises(ValueError, match="layout version 999"):
        xmfs.attach(pool.memory)


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_mount_errors(selenium):
    import errno

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "4MiB")
    with pytest.raises(TypeError, match=r"needs a pyodide_extmemfs\.Pool"):
        xmfs.mount(pool.memory, "/m")
    with pytest.raises(ValueError, match="absolute"):
        xmfs.mount(pool, "relative")
    xmfs.mount(pool, "/m")
    with pytest.raises(OSError) as info:
        xmfs.mount(pool, "/m")
    assert info.value.errno == errno.EBUSY
    xmfs.unmount("/m")
    with pytest.raises(OSError) as info:
        xmfs.unmount("/m")
    assert info.value.errno == errno.EINVAL


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_readonly_mount_refuses_every_change_with_erofs(selenium):
    import errno
    import os

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "8MiB")
    xmfs.mount(pool, "/rw")
    os.mkdir("/rw/d")
    with open("/rw/f", "w") as f:
        f.write("content")
    os.symlink("f", "/rw/ln")
    xmfs.mount(pool, "/ro", readonly=True)

    def erofs(fn, *args):
        with pytest.raises(OSError) as info:
            fn(*args)
        assert info.value.errno == errno.EROFS, (fn, args, info.value)

    erofs(open, "/ro/f", "w")
    erofs(open, "/ro/f", "a")
    erofs(open, "/ro/f", "r+")
    erofs(open, "/ro/new", "w")
    erofs(os.unlink, "/ro/f")
    erofs(os.rename, "/ro/f", "/ro/g")
    erofs(os.mkdir, "/ro/e")
    erofs(os.rmdir, "/ro/d")
    erofs(os.truncate, "/ro/f", 0)
    erofs(os.chmod, "/ro/f", 0o600)
    erofs(os.utime, "/ro/f", (1, 1))
    erofs(os.symlink, "f", "/ro/ln2")
    # reads still work, and nothing changed
    assert open("/ro/f").read() == "content"
    assert sorted(os.listdir("/ro")) == ["d", "f", "ln"]
    assert os.readlink("/ro/ln") == "f"
    assert os.stat("/ro/f").st_size == 7
    assert pool.check() == []
    xmfs.unmount("/ro")
    xmfs.unmount("/rw")


@run_in_pyodide(packages=["micropip"])
async def test_micropip_installed_wheel_mounts(selenium_standalone, extmemfs_wheel_url):
    import os

    import micropip

    await micropip.install(extmemfs_wheel_url)
    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "16MiB")
    xmfs.mount(pool, "/mp")
    with open("/mp/hello.txt", "w") as f:
        f.write("installed with micropip")
    assert os.listdir("/mp") == ["hello.txt"]
    assert open("/mp/hello.txt").read() == "installed with micropip"
    assert pool.stats()["files"] == 1
    assert pool.check() == []
    xmfs.unmount("/mp")
