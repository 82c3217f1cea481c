"""Tests of wordfreq with pytest-pyodide and the pyodide-extmemfs fixtures; they run in
node and in Chrome (``--runtime node,chrome``)."""

import pytest
from pytest_pyodide import run_in_pyodide


@run_in_pyodide
def test_counts_in_the_pool_match_memfs(selenium_wordfreq, extmemfs_pool):
    """The same files in the pool and in MEMFS (/tmp) give the same counts."""
    import os

    import wordfreq

    texts = {
        "a.txt": "The pool is shared. The pool is one Memory.\n",
        "sub/b.txt": "Workers read the pool; workers write the pool.\n",
        "sub/deeper/c.txt": "One file system, many workers: the same files everywhere.\n",
    }
    for root in (extmemfs_pool.path, "/tmp/memfs-copy"):
        for name, text in texts.items():
            os.makedirs(os.path.dirname(f"{root}/{name}"), exist_ok=True)
            with open(f"{root}/{name}", "w") as f:
                f.write(text)
    in_pool = wordfreq.count_tree(extmemfs_pool.path)
    assert in_pool == wordfreq.count_tree("/tmp/memfs-copy")
    assert in_pool["pool"] == 4 and in_pool["workers"] == 3
    assert extmemfs_pool.pool.stats()["files"] == 3


@pytest.mark.driver_timeout(120)
@run_in_pyodide
async def test_workers_count_the_pool_in_parallel(selenium_wordfreq, extmemfs_pool):
    """Two Pyodide workers that mount the same pool count its files; their totals agree
    with one instance counting alone."""
    import wordfreq

    import pyodide_extmemfs as xmfs

    for i in range(12):
        with open(f"{extmemfs_pool.path}/doc{i}.txt", "w") as f:
            f.write(f"shared memory {i} " * (i + 1) + "pool\n")
    async with xmfs.Workers(2, pool=extmemfs_pool.pool, mount=extmemfs_pool.path) as workers:
        parallel = await wordfreq.count_tree_parallel(extmemfs_pool.path, workers)
    assert parallel == wordfreq.count_tree(extmemfs_pool.path)
    assert parallel["shared"] == sum(range(1, 13)) and parallel["pool"] == 12


@pytest.mark.extmemfs_pool(initial_size="256KiB", maximum_size="256KiB", mount="/small")
@run_in_pyodide
def test_report_survives_a_full_pool(selenium_wordfreq, extmemfs_pool):
    """A pool that is full (256 KiB at most) refuses the new report with ENOSPC; the old
    report stays as it was and no temporary file is left behind."""
    import errno
    import os
    from collections import Counter

    import pytest
    import wordfreq

    assert extmemfs_pool.path == "/small" and extmemfs_pool.maximum_size == 256 * 1024
    report = f"{extmemfs_pool.path}/report.tsv"
    wordfreq.write_report(Counter({"pool": 3, "memory": 1}), report)
    with open(report) as f:
        before = f.read()
    with open(f"{extmemfs_pool.path}/filler.bin", "wb", buffering=0) as f:  # take all space
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    huge = Counter({f"word{i:06d}" * 20: i for i in range(5000)})
    with pytest.raises(OSError) as info:
        wordfreq.write_report(huge, report, top=5000)
    assert info.value.errno == errno.ENOSPC
    with open(report) as f:
        assert f.read() == before
    assert sorted(os.listdir(extmemfs_pool.path)) == ["filler.bin", "report.tsv"]
