"""Bad input, missing browser features and corrupted pools give clear errors and harm
nothing (issue 5 §2–3). Runs in node and Chrome."""

from __future__ import annotations

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_without_shared_memory_create_pool_names_the_headers(selenium):
    import pytest
    from pyodide.code import run_js

    import pyodide_extmemfs as xmfs

    run_js(
        "globalThis.__xmfsSAB = globalThis.SharedArrayBuffer; delete globalThis.SharedArrayBuffer;"
    )
    try:
        with pytest.raises(RuntimeError) as info:
            xmfs.create_pool("1MiB", "8MiB")
    finally:
        run_js("globalThis.SharedArrayBuffer = globalThis.__xmfsSAB; delete globalThis.__xmfsSAB;")
    message = str(info.value)
    assert "cross-origin isolated" in message
    assert "Cross-Origin-Opener-Policy: same-origin" in message
    assert "Cross-Origin-Embedder-Policy: require-corp" in message
    assert xmfs.create_pool("1MiB", "8MiB").check() == []  # fine again with it back


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_a_maximum_the_browser_cannot_reserve_is_a_clear_error(selenium):
    import pytest
    from pyodide.code import run_js

    import pyodide_extmemfs as xmfs

    # Stand in for a browser that refuses the reservation (as 32-bit or memory-starved
    # browsers do): WebAssembly.Memory throws RangeError.
    run_js(
        """
        globalThis.__xmfsWA = globalThis.WebAssembly;
        globalThis.WebAssembly = Object.assign(Object.create(globalThis.__xmfsWA), {
          Memory: function () { throw new RangeError("WebAssembly.Memory(): could not allocate memory"); },
        });
        """
    )
    try:
        with pytest.raises(
            MemoryError, match="could not reserve a shared Memory of 16 to 65536 pages"
        ):
            xmfs.create_pool("1MiB", "4GiB")
    finally:
        run_js("globalThis.WebAssembly = globalThis.__xmfsWA; delete globalThis.__xmfsWA;")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_corrupted_pool_is_reported_precisely_and_fails_with_eio(selenium):
    import errno
    import os

    import js
    import pytest

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "16MiB")
    xmfs.mount(pool, "/cor")
    with open("/cor/keep", "wb") as f:
        f.write(b"k" * 5000)
    with open("/cor/victim", "wb") as f:
        f.write(b"v" * 5000)
    assert pool.check() == []
    u32 = js.Uint32Array.new(pool.memory.buffer)
    ino = os.stat("/cor/victim").st_ino
    # inode record: chunk directory at word 128, 64-byte records; EXTENT is word 6
    rec = (u32[128 + (ino >> 10)] + (ino & 1023) * 64) // 4
    good_extent = u32[rec + 6]
    u32[rec + 6] = 0xFFFFFF00  # point the file's data outside the Memory
    problems = pool.check()
    assert any(f"inode {ino}:" in p and "not a block payload" in p for p in problems), problems
    with pytest.raises(OSError) as info:
        open("/cor/victim", "rb").read()
    assert info.value.errno == errno.EIO
    with pytest.raises(OSError) as info, open("/cor/victim", "r+b") as f:
        f.write(b"x" * 10)
    assert info.value.errno == errno.EIO
    assert open("/cor/keep", "rb").read() == b"k" * 5000  # others untouched
    u32[rec + 6] = good_extent
    assert pool.check() == []

    # A free block's size word: check() names it; allocation refuses with EIO instead
    # of writing over another file.
    stats = pool.stats()
    heap_end = stats["size"]
    tail_footer = (heap_end - 8) // 4
    tail = heap_end - u32[tail_footer]  # the free block at the end of the heap
    saved = u32[tail // 4]
    u32[tail // 4] = 0x7FFFFFF0  # claims to run far past the end of the Memory
    problems = pool.check()
    assert any(f"@{tail}" in p for p in problems), problems
    with pytest.raises(OSError) as info, open("/cor/big", "wb") as f:
        f.write(b"b" * 600_000)
    assert info.value.errno == errno.EIO
    assert open("/cor/keep", "rb").read() == b"k" * 5000
    assert open("/cor/victim", "rb").read() == b"v" * 5000
    u32[tail // 4] = saved
    if os.path.exists("/cor/big"):  # its creation may itself have failed with EIO
        os.unlink("/cor/big")
    assert pool.check() == []
    with open("/cor/big", "wb") as f:  # sound again: the same write now succeeds
        f.write(b"b" * 600_000)
    assert os.path.getsize("/cor/big") == 600_000
    assert pool.check() == []

    # The superblock: another MAGIC is reported and refused by attach.
    u32[0] = 0x12345678
    assert any("bad magic" in p for p in pool.check())
    with pytest.raises(ValueError, match="not an extmemfs pool"):
        xmfs.attach(pool.memory)
    u32[0] = 0x53464D58
    assert pool.check() == []
    xmfs.unmount("/cor")
