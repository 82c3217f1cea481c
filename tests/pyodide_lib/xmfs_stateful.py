"""Runs inside Pyodide: a Hypothesis state machine applies random operation sequences
to a MEMFS directory (the oracle) and to an EXTMEMFS mount, and asserts identical
results, errno, contents and listings after every step, and a sound pool. With a
``peer``, every other operation on the EXTMEMFS side runs in a second Pyodide
instance that mounts the same pool."""

from __future__ import annotations

import itertools
import os
import stat

import xmfs_ops
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

NAMES = st.sampled_from(["a", "b", "c", "d"])
PATH = st.lists(NAMES, min_size=1, max_size=3).map("/".join)
DATA = st.one_of(st.binary(max_size=40), st.binary(min_size=1000, max_size=3000))
OFFSET = st.integers(0, 400)
OPS = st.one_of(
    st.tuples(st.just("write"), PATH, DATA, OFFSET),
    st.tuples(st.just("append"), PATH, DATA),
    st.tuples(st.just("create_excl"), PATH),
    st.tuples(st.just("read"), PATH),
    st.tuples(st.just("pread"), PATH, st.integers(0, 500), OFFSET),
    st.tuples(st.just("truncate"), PATH, st.integers(0, 600)),
    st.tuples(st.just("mkdir"), PATH),
    st.tuples(st.just("rmdir"), PATH),
    st.tuples(st.just("unlink"), PATH),
    st.tuples(st.just("rename"), PATH, PATH),
    st.tuples(st.just("symlink"), PATH, PATH),
    st.tuples(st.just("readlink"), PATH),
    st.tuples(st.just("listdir"), st.one_of(st.just(""), PATH)),
    st.tuples(st.just("stat"), PATH),
    st.tuples(st.just("lstat"), PATH),
    st.tuples(st.just("chmod"), PATH, st.sampled_from([0o600, 0o644, 0o755])),
)


def _remove_tree(path: str) -> None:
    # shutil.rmtree cannot enter a directory the sequence chmod-ed to 0o600.
    if stat.S_ISDIR(os.lstat(path).st_mode):
        os.chmod(path, 0o755)
        for name in os.listdir(path):
            _remove_tree(os.path.join(path, name))
        os.rmdir(path)
    else:
        os.unlink(path)


def run(memfs_root: str, pool_root: str, pool, examples: int, steps: int, peer=None) -> int:
    """Run the machine; returns the number of examples run. Raises on a divergence
    (Hypothesis prints the shrunk sequence of operations and a reproduction blob)."""
    counter = itertools.count()

    class FsMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            n = next(counter)
            self.a = os.path.join(memfs_root, f"ex{n}")
            self.b = os.path.join(pool_root, f"ex{n}")
            os.mkdir(self.a)
            os.mkdir(self.b)
            self.turn = 0

        @rule(op=OPS)
        def step(self, op):
            want = xmfs_ops.apply(self.a, op, oracle=True)
            if peer is not None and self.turn % 2:
                got = peer(self.b, repr(op))
                where = "EXTMEMFS (second instance)"
            else:
                got = xmfs_ops.apply(self.b, op)
                where = "EXTMEMFS"
            self.turn += 1
            assert got == want, f"{op!r}: MEMFS {want} != {where} {got}"

        @invariant()
        def same_tree(self):
            assert xmfs_ops.tree(self.b) == xmfs_ops.tree(self.a)
            problems = pool.check()
            assert problems == [], problems

        def teardown(self):
            _remove_tree(self.a)
            _remove_tree(self.b)

    run_state_machine_as_test(
        FsMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    return next(counter)
