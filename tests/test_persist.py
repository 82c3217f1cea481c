"""Persistence from Python (issue 11): open_pool / sync / close in node (a host directory)
with a new process reading what was synced; autosync; image files with save / load_pool in
node and Chrome; and the errors a user meets. The OPFS (browser) side is in
test_persist_browser.py, the protocol's crash tests in tests/js/persist*."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide

ROOT = Path(__file__).resolve().parent.parent

# The same digest as persist_digest() below, computed by a separate node process with the
# JavaScript API from the pool directory.
NODE_DIGEST = r"""
import * as x from %(index)s;
import { createHash } from "node:crypto";
const pool = await x.openPool(%(dir)s);
const out = [];
const walk = (h, prefix) => {
  for (const name of pool.readdir(h.ino, h.gen).sort()) {
    const c = pool.lookup(h.ino, h.gen, name);
    const a = pool.getattr(c.ino, c.gen);
    const p = prefix + "/" + name;
    const type = a.mode & 0o170000;
    if (type === 0o040000) { out.push(p + "/"); walk(c, p); }
    else if (type === 0o120000) out.push(p + " -> " + pool.readlink(c.ino, c.gen));
    else {
      const data = new Uint8Array(a.size);
      pool.open(c.ino, c.gen); pool.read(c.ino, c.gen, data, 0, a.size, 0); pool.close(c.ino, c.gen);
      out.push(p + " " + createHash("sha256").update(data).digest("hex"));
    }
  }
};
walk(pool.rootHandle(), "");
console.log(JSON.stringify({ lines: out, check: pool.validate(), gen: pool.stats().sync_generation }));
await pool.closeStorage({ sync: false });
"""


@run_in_pyodide(packages=["pyodide-extmemfs"])
async def _write_and_sync(selenium, directory):
    import hashlib
    import os

    import pyodide_extmemfs as xmfs

    pool = await xmfs.open_pool(directory, "1MiB", "256MiB")
    assert pool.persisted_at == directory
    xmfs.mount(pool, "/keep")
    os.makedirs("/keep/src/pkg/deep")
    for i in range(40):
        with open(f"/keep/src/pkg/m{i}.py", "w") as f:
            f.write(f"VALUE = {i}\n" * (i * 50))
    with open("/keep/src/pkg/deep/blob.bin", "wb") as f:
        f.write(os.urandom(3 << 20))
    os.symlink("src/pkg", "/keep/pkg")
    with open("/keep/tmp", "w") as f:
        f.write("removed before the sync")
    os.unlink("/keep/tmp")
    info = await pool.sync()
    assert info["generation"] >= 2 and info["bytes_written"] > 3 << 20, info
    assert set(info) >= {"generation", "bytes_written", "pages_written", "ms", "pause_ms"}

    lines = []

    def walk(d, prefix):
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            rel = f"{prefix}/{name}"
            if os.path.islink(p):
                lines.append(f"{rel} -> {os.readlink(p)}")
            elif os.path.isdir(p):
                lines.append(f"{rel}/")
                walk(p, rel)
            else:
                with open(p, "rb") as f:
                    lines.append(f"{rel} {hashlib.sha256(f.read()).hexdigest()}")

    walk("/keep", "")
    # A change after the sync is not on storage until the next sync.
    with open("/keep/after-sync.txt", "w") as f:
        f.write("not synced")
    await pool.close(sync=False)
    assert pool.persisted_at is None
    assert open("/keep/after-sync.txt").read() == "not synced"  # the pool goes on in memory
    xmfs.unmount("/keep")
    return lines, info["generation"]


@pytest.mark.only_node
@pytest.mark.driver_timeout(300)
def test_open_pool_sync_then_a_new_process_opens_it(selenium, tmp_path):
    directory = str(tmp_path / "pool")
    lines, gen = _write_and_sync(selenium, directory)
    script = NODE_DIGEST % {
        "index": json.dumps(str(ROOT / "jsglue/index.js")),
        "dir": json.dumps(directory),
    }
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out)
    assert got["check"] == []
    assert got["gen"] == gen
    assert got["lines"] == lines  # same tree, same bytes; /after-sync.txt is not there
    assert len(lines) == 45 and "/pkg -> src/pkg" in lines


@pytest.mark.only_node
def test_reopen_autosync_and_errors_in_node(selenium, tmp_path):
    _reopen_autosync_and_errors(selenium, str(tmp_path / "pool"))
    assert (tmp_path / "pool" / "head").exists() and not (tmp_path / "pool" / "owner.lock").exists()


@run_in_pyodide(packages=["pyodide-extmemfs"])
async def _reopen_autosync_and_errors(selenium, directory):
    import asyncio
    import errno

    import pytest

    import pyodide_extmemfs as xmfs

    pool = await xmfs.open_pool(directory, "1MiB")
    with pytest.raises(OSError) as e:
        await xmfs.open_pool(directory)
    assert e.value.errno == errno.EBUSY and "already open" in str(e.value)
    xmfs.mount(pool, "/auto")
    gen = pool.stats()["sync_generation"]
    pool.autosync(0.1)
    with open("/auto/later.txt", "w") as f:
        f.write("synced in the background")
    for _ in range(100):
        await asyncio.sleep(0.05)
        if pool.stats()["sync_generation"] > gen:
            break
    assert pool.stats()["sync_generation"] > gen, "autosync did not sync"
    pool.autosync(None)
    await pool.close(sync=False)
    xmfs.unmount("/auto")
    with pytest.raises(ValueError, match="closed"):
        await pool.sync()
    again = await xmfs.open_pool(directory, maximum_size="2GiB")
    xmfs.mount(again, "/auto")
    assert open("/auto/later.txt").read() == "synced in the background"
    assert again.stats()["maximum_size"] == 2 << 30  # raised on reopen
    assert again.check() == []
    await again.close()
    xmfs.unmount("/auto")
    with pytest.raises(ValueError, match="below the stored pool's size"):
        await xmfs.open_pool(directory, "128KiB", "128KiB")
    with pytest.raises(TypeError):
        await xmfs.open_pool(42)
    with pytest.raises(ValueError, match="not persisted"):
        await xmfs.create_pool("1MiB").sync()
    with pytest.raises(ValueError, match=r"at least 0\.05 s"):
        again.autosync(0.001)


@run_in_pyodide(packages=["pyodide-extmemfs"])
async def test_save_and_load_pool_images(selenium):
    import os

    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/img")
    os.makedirs("/img/a/b")
    with open("/img/a/b/data.bin", "wb") as f:
        f.write(os.urandom(700_000))
    os.symlink("a/b/data.bin", "/img/link")
    info = await pool.save("/tmp/pool.xmfs")  # a path in this instance's file system
    assert info["bytes"] == os.path.getsize("/tmp/pool.xmfs")
    with open("/img/a/b/data.bin", "rb") as f:
        want = f.read()
    for source in ("/tmp/pool.xmfs", open("/tmp/pool.xmfs", "rb").read()):
        copy = await xmfs.load_pool(source)
        assert copy.persisted_at is None
        xmfs.mount(copy, "/copy")
        assert open("/copy/a/b/data.bin", "rb").read() == want
        assert os.readlink("/copy/link") == "a/b/data.bin"
        assert copy.check() == []
        # an independent pool: changing the copy leaves the original alone
        os.unlink("/copy/link")
        assert os.path.islink("/img/link")
        xmfs.unmount("/copy")
    image = bytearray(open("/tmp/pool.xmfs", "rb").read())
    image[-3] ^= 0xFF
    with pytest.raises(ValueError, match="does not match its checksum"):
        await xmfs.load_pool(bytes(image))
    with pytest.raises(ValueError, match="truncated"):
        await xmfs.load_pool(bytes(image[:100_000]))
    with pytest.raises(ValueError, match="not a usable extmemfs pool image"):
        await xmfs.load_pool(b"\0" * 10_000)
    with pytest.raises(TypeError):
        await xmfs.load_pool(3.14)
    with pytest.raises(TypeError):
        await pool.save(42)
    xmfs.unmount("/img")


@pytest.mark.only_node
def test_foreign_directory_is_refused_and_left_alone(selenium, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    got = _open_foreign(selenium, str(tmp_path))
    assert "not a usable extmemfs pool" in got and "other files" in got
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


@run_in_pyodide(packages=["pyodide-extmemfs"])
async def _open_foreign(selenium, directory):
    import pyodide_extmemfs as xmfs

    try:
        await xmfs.open_pool(directory)
    except ValueError as e:
        return str(e)
    return "opened"
