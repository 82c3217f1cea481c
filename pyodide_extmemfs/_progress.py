"""Progress of a map: a callback, the caller's own bar, a tqdm bar, or a plain text line."""

from __future__ import annotations

import sys
import time
from typing import Any


class _Callback:
    def __init__(self, fn: Any, total: int | None) -> None:
        self.fn, self.total, self.done = fn, total, 0

    def update(self, n: int) -> None:
        self.done += n
        self.fn(self.done, self.total)

    def close(self) -> None:
        pass


class _Text:
    """Without tqdm: ``map: 4,000/10,000 (40%)`` rewritten in place on stderr, at most
    ten times a second."""

    def __init__(self, total: int | None, desc: str) -> None:
        self.total, self.desc, self.done, self.shown = total, desc, 0, 0.0

    def _show(self, end: str = "") -> None:
        pct = f" ({100 * self.done // self.total}%)" if self.total else ""
        of = f"/{self.total:,}" if self.total is not None else ""
        sys.stderr.write(f"\r{self.desc}: {self.done:,}{of}{pct}{end}")

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.shown >= 0.1:
            self.shown = now
            self._show()

    def close(self) -> None:
        self._show("\n")


class _Owned:
    """A bar this module made (closed at the end) or the caller's (left open)."""

    def __init__(self, bar: Any, owned: bool) -> None:
        self.bar, self.owned = bar, owned

    def update(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        if self.owned:
            self.bar.close()


def make(progress: Any, total: int | None, desc: str = "map") -> Any:
    """``progress``: None/False (nothing), True (a tqdm bar if tqdm is installed, else a
    text line on stderr), a callable ``progress(done, total)``, or an object with
    ``update(n)`` such as a tqdm bar of your own. Returns an object with update/close,
    or None."""
    if progress is None or progress is False:
        return None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _Text(total, desc)
        return _Owned(tqdm(total=total, desc=desc, unit="item"), True)
    if hasattr(progress, "update"):
        return _Owned(progress, False)
    if callable(progress):
        return _Callback(progress, total)
    raise TypeError(
        f"progress must be True, a callable (done, total) or a bar with update(n), "
        f"got {type(progress).__name__}"
    )
