"""EXTMEMFS in one Pyodide instance: behaviour against MEMFS, big files, growth,
ENOSPC, read-only mounts and the Python API. Runs in node and in Chrome."""

from __future__ import annotations

import pytest
from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_behaviour_matches_memfs(selenium_xmfs):
    import os

    import xmfs_oracle

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/beh")
    os.makedirs("/tmp/memfs_oracle")
    old = os.umask(0)  # MEMFS ignores the umask, EXTMEMFS applies it (posix_checks)
    try:
        memfs = xmfs_oracle.scenario("/tmp/memfs_oracle")
        ours = xmfs_oracle.scenario("/beh")
    finally:
        os.umask(old)
    assert len(memfs) > 100
    assert xmfs_oracle.compare(memfs, ours) == []
    assert pool.check() == []
    xmfs.unmount("/beh")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_posix_where_emscripten_differs_from_linux(selenium_xmfs):
    """Trailing slashes, O_EXCL on dangling symlinks, umask, st_blocks, DirEntry.inode(),
    listings during removals: EXTMEMFS answers as Linux (xmfs_oracle.LINUX)."""
    import xmfs_oracle

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "16MiB")
    xmfs.mount(pool, "/px")
    got = xmfs_oracle.posix_checks("/px")
    diffs = {k: (got.get(k), want) for k, want in xmfs_oracle.LINUX.items() if got.get(k) != want}
    assert diffs == {}, diffs
    assert set(got) == set(xmfs_oracle.LINUX)
    assert pool.check() == []
    xmfs.unmount("/px")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_path_walk_matches_emscripten_on_memfs(selenium):
    """FS.lookupPath into EXTMEMFS (plain absolute paths take backend_resolve.js's walk)
    answers as Emscripten's own walk does on the same tree in MEMFS: symlinks in the
    middle and at the end, dangling ones and loops, "." and "..", doubled slashes, a
    file used as a directory, a MEMFS mounted inside, and every option."""
    from pyodide.code import run_js

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "16MiB")
    xmfs.mount(pool, "/pw")
    got = run_js(
        """(FS) => {
          const build = (root) => {
            FS.mkdir(`${root}/d`);
            FS.mkdir(`${root}/d/e`);
            FS.writeFile(`${root}/f`, "x");
            FS.writeFile(`${root}/d/f2`, "y");
            FS.symlink("f", `${root}/ln_f`);
            FS.symlink("d", `${root}/ln_d`);
            FS.symlink("../f", `${root}/d/up`);
            FS.symlink(`${root}/d`, `${root}/abs_d`);
            FS.symlink("nowhere", `${root}/dangling`);
            FS.symlink("loop", `${root}/loop`);
            FS.symlink("ln_d/e", `${root}/chain`);
            FS.mkdir(`${root}/d/m`);
            FS.mount(FS.filesystems.MEMFS, {}, `${root}/d/m`);
            FS.writeFile(`${root}/d/m/x`, "z");
          };
          FS.mkdir("/tmp/pw");
          build("/tmp/pw");
          build("/pw");
          const rels = ["f", "d", "d/f2", "d/", "d/.", "d/..", "d/../f", "d/./f2", "d//f2",
            "ln_f", "ln_d", "ln_d/f2", "ln_d/e", "d/up", "abs_d", "abs_d/f2", "dangling",
            "dangling/x", "loop", "loop/x", "chain", "chain/..", "d/m", "d/m/x", "d/m/..",
            "missing", "missing/x", "f/x", "d/e/missing", "ln_d/missing"];
          const optsList = [{}, { follow: true }, { parent: true }, { noent_okay: true },
            { follow_mount: false }, { follow: true, noent_okay: true },
            { parent: true, follow: true }, { follow_mount: false, follow: true }];
          const out = [];
          for (const rel of rels) {
            for (const opts of optsList) {
              const one = (root) => {
                try {
                  const r = FS.lookupPath(`${root}/${rel}`, { ...opts });
                  const p = r.path.startsWith(root) ? "ROOT" + r.path.slice(root.length) : r.path;
                  const n = r.node;
                  const name = r.path === root ? "(the tree's root)" : n && n.name;
                  return n ? `${p} ${name} ${(n.mode & 0o170000).toString(8)}` : `${p} (no node)`;
                } catch (e) {
                  return `errno ${e.errno}`;
                }
              };
              out.push([rel, JSON.stringify(opts), one("/tmp/pw"), one("/pw")]);
            }
          }
          FS.unmount("/tmp/pw/d/m");
          FS.unmount("/pw/d/m");
          return out;
        }"""
    )(__import__("pyodide_js").FS).to_py()
    diffs = [(rel, opts, memfs, ours) for rel, opts, memfs, ours in got if memfs != ours]
    assert len(got) == 240
    assert diffs == [], "\n".join(map(str, diffs))
    assert pool.check() == []
    xmfs.unmount("/pw")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_listing_answers_from_one_pass_and_follows_the_open_directory(selenium):
    """os.listdir asks the pool once per listing, not once per entry; a directory
    opened before another instance renamed it is still the one listed."""
    import os

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "16MiB")
    xmfs.mount(pool, "/one")
    os.mkdir("/one/d")
    for i in range(300):
        open(f"/one/d/f{i}", "w").close()
    from pyodide.code import run_js

    # Count the pool calls from JS (a Python callback inside a syscall would re-enter).
    count = run_js(
        """(pool) => {
          const calls = { find: 0, readdirPlus: 0 };
          for (const name of Object.keys(calls)) {
            const orig = pool[name];
            pool[name] = (...args) => { calls[name]++; return orig.apply(pool, args); };
          }
          return () => { delete pool.find; delete pool.readdirPlus; return calls; };
        }"""
    )(pool.js)
    names = os.listdir("/one/d")
    entries = {e.name: (e.inode(), e.is_file()) for e in os.scandir("/one/d")}
    calls = count().to_py()
    assert len(names) == len(entries) == 300
    assert calls["readdirPlus"] == 2, calls
    assert calls["find"] <= 6, calls  # the path's components, not the 300 entries
    assert all(ino == os.stat(f"/one/d/{n}").st_ino and f for n, (ino, f) in entries.items())

    other = xmfs.attach(pool.memory)  # a second instance renames the open directory
    xmfs.mount(other, "/one_other")
    fd = os.open("/one/d", os.O_RDONLY)
    os.rename("/one_other/d", "/one_other/renamed")
    open("/one_other/renamed/new", "w").close()
    assert len(os.listdir(fd)) == 301
    os.close(fd)
    xmfs.unmount("/one_other")
    other.detach()
    assert pool.check() == []
    xmfs.unmount("/one")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_listing_entries_carry_the_pools_types_and_inodes_even_as_they_change(selenium):
    """getdents answers d_ino/d_type from the listing (no node per entry): the types of
    files, directories and symlinks are right; an entry another instance replaces
    between two getdents calls of one scandir is reported as it is now; and neither a
    listing that getdents leaves by an exception nor a program's lseek(SEEK_CUR) on the
    directory makes the listing answer anyone else's lookups."""
    import os

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "16MiB")
    xmfs.mount(pool, "/ty")
    other = xmfs.attach(pool.memory)
    xmfs.mount(other, "/ty_other")
    try:
        os.mkdir("/ty/d")
        for i in range(400):
            if i % 3 == 0:
                os.mkdir(f"/ty/d/e{i:03d}")
            elif i % 3 == 1:
                open(f"/ty/d/e{i:03d}", "w").close()
            else:
                os.symlink("e000", f"/ty/d/e{i:03d}")
        kinds = {
            e.name: (e.inode(), e.is_dir(follow_symlinks=False), e.is_symlink())
            for e in os.scandir("/ty/d")
        }
        assert len(kinds) == 400
        for name, (ino, is_dir, is_link) in kinds.items():
            st = os.lstat(f"/ty/d/{name}")
            assert ino == st.st_ino, name
            assert (is_dir, is_link) == (int(name[1:]) % 3 == 0, int(name[1:]) % 3 == 2), name

        # scandir reads 7 entries per getdents call: after the first entry, the other
        # instance replaces the last file in listing order by a directory of that name.
        last = [n for n in os.listdir("/ty/d") if int(n[1:]) % 3 == 1][-1]
        seen = {}
        with os.scandir("/ty/d") as it:
            for k, e in enumerate(it):
                if k == 0:
                    os.unlink(f"/ty_other/d/{last}")
                    os.mkdir(f"/ty_other/d/{last}")
                seen[e.name] = (e.inode(), e.is_dir(follow_symlinks=False))
        assert len(seen) == 400
        assert seen[last] == (os.stat(f"/ty/d/{last}").st_ino, True), last

        # getdents' state must not outlive it: a listing left by an exception (its walk
        # of "..", or a lookup) answers nobody else's lookups afterwards.
        import pyodide_js
        from pyodide.code import run_js

        res = run_js(
            """(FS) => {
              const out = [];
              for (const fail of ["path", "lookup"]) {
                const s = FS.open("/ty/d", 0);
                const names = s.getdents;           // the listing, as getdents reads it
                FS.llseek(s, 0, 1);                 // getdents begins
                try {
                  if (fail === "path") FS.lookupPath("/ty/no/such", { parent: true });
                  else FS.lookupNode(s.node, "no-such-name");
                } catch (e) { out.push(e.name); }
                const n = FS.lookupNode(s.node, names[2]);   // someone else's lookup
                out.push(typeof n.node_ops === "object" && n.name === names[2]);
                FS.close(s);
              }
              // A program's lseek(fd, 0, SEEK_CUR) on a listed directory (fd_seek reads
              // stream.getdents once after its llseek), then a lookup of the next name.
              const s = FS.open("/ty/d", 0);
              const names = s.getdents;
              FS.llseek(s, 0, 1);
              void s.getdents;
              const n = FS.lookupNode(s.node, names[2]);
              out.push(typeof n.node_ops === "object" && n.name === names[2]);
              FS.close(s);
              return out;
            }"""
        )(pyodide_js.FS).to_py()
        assert res == ["ErrnoError", True, "ErrnoError", True, True], res
        assert pool.check() == []
    finally:
        xmfs.unmount("/ty_other")
        other.detach()
        xmfs.unmount("/ty")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_directory_nlink_follows_posix(selenium_xmfs):
    import xmfs_oracle

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "8MiB")
    xmfs.mount(pool, "/nl")
    # MEMFS says 1 for every directory; POSIX says 2 + subdirectories.
    assert xmfs_oracle.nlink_checks("/nl") == [
        ("n", 4),
        ("n/a", 3),
        ("n/b", 2),
        ("n/f", 1),
        ("n after rmdir", 3),
    ]
    assert pool.check() == []
    xmfs.unmount("/nl")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_300mib_file_growth_to_512mib_and_enospc(selenium):
    import errno
    import hashlib
    import os

    import pyodide_extmemfs as xmfs

    MiB = 1 << 20
    pool = xmfs.create_pool("1MiB", "512MiB")
    xmfs.mount(pool, "/big")
    assert pool.stats()["size"] == MiB

    def chunk(i):
        return i.to_bytes(4, "little") * (MiB // 4)

    h = hashlib.sha256()
    with open("/big/file300", "wb") as f:
        for i in range(300):
            c = chunk(i)
            h.update(c)
            f.write(c)
    want = h.hexdigest()
    assert os.path.getsize("/big/file300") == 300 * MiB
    h2 = hashlib.sha256()
    with open("/big/file300", "rb") as f:
        while data := f.read(MiB):
            h2.update(data)
    assert h2.hexdigest() == want
    assert pool.check() == []

    # Keep writing other files until the pool is full at its 512 MiB maximum.
    sums = {}
    failed = None
    for n in range(1000):
        path = f"/big/more{n}"
        hh = hashlib.sha256()
        try:
            with open(path, "wb") as f:
                for i in range(8):
                    c = chunk(1000 + n * 8 + i)
                    f.write(c)
                    hh.update(c)
        except OSError as e:
            failed = e
            break
        sums[path] = hh.hexdigest()
    assert failed is not None and failed.errno == errno.ENOSPC, failed
    stats = pool.stats()
    assert stats["size"] == 512 * MiB == stats["maximum_size"]
    assert len(sums) >= 20
    # Everything written before ENOSPC is intact.
    h3 = hashlib.sha256()
    with open("/big/file300", "rb") as f:
        while data := f.read(MiB):
            h3.update(data)
    assert h3.hexdigest() == want
    for path, s in sums.items():
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == s
    assert pool.check() == []
    # Space is reused after deleting.
    os.unlink("/big/file300")
    with open("/big/after", "wb") as f:
        f.write(b"x" * (100 * MiB))
    assert os.path.getsize("/big/after") == 100 * MiB
    assert pool.check() == []
    xmfs.unmount("/big")


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_statvfs_reports_the_pools_real_free_space(selenium):
    import os

    import pyodide_extmemfs as xmfs

    pool = xmfs.create_pool("1MiB", "32MiB")
    xmfs.mount(pool, "/sv")
    before = os.statvfs("/sv")
    with open("/sv/f", "wb") as f:
        f.write(b"\1" * (5 << 20))
    after = os.statvfs("/sv")
    assert before.f_blocks * before.f_frsize == 32 << 20
    freed = (before.f_bavail - after.f_bavail) * after.f_frsize
    assert 5 << 20 <= freed < (5 << 20) + (1 << 20)
    assert after.f_bavail == pool.stats()["available_bytes"] // 4096
    assert after.f_namemax == 255
    xmfs.unmount("/sv")


@pytest.fixture
def engine_has_multi_memory(runtime, node_major) -> bool:
    """Chromium and node >= 24 have wasm multi-memory; node 20 has not."""
    return runtime == "chrome" or (runtime == "node" and (node_major or 0) >= 24)


@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_reads_and_writes_take_the_multi_memory_copier_exactly_where_the_engine_has_it(
    selenium, engine_has_multi_memory
):
    import os
    import random

    import pyodide_js
    from js import Uint8Array, WebAssembly
    from pyodide.ffi import to_js

    import pyodide_extmemfs as xmfs

    # A module importing two memories validates only where multi-memory is supported.
    two_memories = [
        0,
        0x61,
        0x73,
        0x6D,
        1,
        0,
        0,
        0,
        2,
        15,
        2,
        1,
        0x65,
        1,
        0x61,
        2,
        0,
        1,
        1,
        0x65,
        1,
        0x62,
        2,
        0,
        1,
    ]
    assert WebAssembly.validate(Uint8Array.new(to_js(two_memories))) == engine_has_multi_memory
    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/mm")
    assert pyodide_js.FS.filesystems.EXTMEMFS.fastReads("/mm") == engine_has_multi_memory
    with open("/mm/f", "wb") as f:
        f.write(bytes(range(256)) * 4096)
    with open("/mm/f", "rb") as f:
        f.seek(12345)
        assert f.read(70000) == (bytes(range(256)) * 4096)[12345 : 12345 + 70000]
    # Writes from the heap (the copier's copyIn where there is one): odd offsets and
    # lengths, one longer than a copy piece, checked by a read that does not take the
    # copier (FS.readFile reads into a fresh array) and by Python's reads (which do).
    want = bytearray(bytes(range(256)) * 4096)
    rng = random.Random(7)
    fd = os.open("/mm/f", os.O_RDWR)
    for k in range(300):
        off = rng.randrange(0, min(len(want) + 5000, 6 << 20))
        data = rng.randbytes(rng.choice([1, 7, 4096, 65537]) if k % 50 else (5 << 20) + 3)
        os.pwrite(fd, data, off)
        if off > len(want):
            want.extend(bytes(off - len(want)))
        want[off : off + len(data)] = data
    os.close(fd)
    assert bytes(pyodide_js.FS.readFile("/mm/f").to_py()) == bytes(want)
    with open("/mm/f", "rb") as f:
        assert f.read() == bytes(want)
    assert pool.check() == []
    xmfs.unmount("/mm")


@pytest.mark.only_chrome
@run_in_pyodide(packages=["pyodide-extmemfs"])
def test_chrome_reads_through_the_wasm_multi_memory_copier(selenium):
    import os
    import random

    import pyodide_extmemfs as xmfs
    from pyodide_extmemfs import _jsglue

    pool = xmfs.create_pool("1MiB", "64MiB")
    xmfs.mount(pool, "/fr")
    assert _jsglue.fs_type().fastReads("/fr") is True  # Chrome has wasm multi-memory
    data = random.Random(5).randbytes(5 << 20)
    with open("/fr/blob", "wb") as f:
        f.write(data)
    rnd = random.Random(6)
    fd = os.open("/fr/blob", os.O_RDONLY)
    try:
        for _ in range(200):
            offset = rnd.randrange(len(data) + 10)
            n = rnd.choice([1, 7, 4096, 65536, 1 << 20, 3 << 20])
            assert os.pread(fd, n, offset) == data[offset : offset + n]
    finally:
        os.close(fd)
    with open("/fr/blob", "rb") as f:
        assert f.read() == data
    assert pool.check() == []
    xmfs.unmount("/fr")
