"""Word frequencies of the text files under a directory, counted by several Pyodide
workers that share the files through a pyodide-extmemfs pool (the example project's own
code: what its tests test)."""

from __future__ import annotations

import os
import re
from collections import Counter

WORD = re.compile(r"[a-z']+")


def count_file(path: str) -> dict[str, int]:
    """Lower-cased word counts of one UTF-8 text file."""
    with open(path, encoding="utf-8") as f:
        return dict(Counter(WORD.findall(f.read().lower())))


def text_files(root: str) -> list[str]:
    """Every ``*.txt`` under ``root``, sorted."""
    out = []
    for d, _dirs, files in os.walk(root):
        out += [os.path.join(d, n) for n in files if n.endswith(".txt")]
    return sorted(out)


def count_tree(root: str) -> Counter:
    """Word counts of every text file under ``root``, in this instance."""
    total: Counter = Counter()
    for path in text_files(root):
        total.update(count_file(path))
    return total


async def count_tree_parallel(root: str, workers) -> Counter:
    """The same, spread over ``workers`` (a ``pyodide_extmemfs.Workers`` with the pool that
    holds ``root`` mounted at the same path): each worker reads its files from the pool."""
    total: Counter = Counter()
    for counts in await workers.map(count_file, text_files(root)):
        total.update(counts)
    return total


def write_report(counts: Counter, path: str, top: int = 10) -> None:
    """Write the ``top`` words to ``path``, replacing it atomically: a reader sees the old
    report or the new one, and a failure (e.g. a full disk) leaves the old one intact."""
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for word, n in counts.most_common(top):
                f.write(f"{n}\t{word}\n")
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
