"""A worker's stdout/stderr as the caller sees them: decoded, marked with the worker's
index, and written to the caller's ``sys.stdout`` / ``sys.stderr`` — the ones that were
current when the call running in the worker was made (so in a notebook the output lands
in the cell that made the call, and ``contextlib.redirect_stdout`` catches it)."""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Callable
from typing import Any

STREAMS = {1: "stdout", 2: "stderr"}
_LINE_END = re.compile(r"(\r\n|\r|\n)")


def prefix_for(output_prefix: str | None, n: int, index: int) -> str:
    """The marker put before each line of worker ``index``'s output ("" for none)."""
    if output_prefix == "auto":
        output_prefix = "[worker {index}] " if n > 1 else None
    if not output_prefix:
        return ""
    return output_prefix.format(index=index)


class WorkerOutput:
    """Receives one worker's output bytes, in order, and writes them out."""

    def __init__(
        self,
        index: int,
        prefix: str,
        on_output: Callable[[int, str, str], Any] | None = None,
    ) -> None:
        self.index = index
        self.prefix = prefix
        self.on_output = on_output
        self.targets: tuple[Any, Any] | None = None
        self._decoders = {
            s: codecs.getincrementaldecoder("utf-8")(errors="replace") for s in STREAMS
        }
        self._line_start = dict.fromkeys(STREAMS, True)

    def begin_call(self, targets: tuple[Any, Any]) -> None:
        """A call starts: its output goes to ``targets`` (stdout, stderr), and a line
        the previous call left unfinished does not continue there."""
        self.targets = targets
        self._line_start = dict.fromkeys(STREAMS, True)

    def write(self, stream: int, data: bytes) -> None:
        text = self._decoders[stream].decode(data)
        if not text:
            return
        if self.on_output is not None:
            self.on_output(self.index, STREAMS[stream], text)
            return
        if self.prefix:
            text = self._mark(stream, text)
        targets = self.targets or (sys.stdout, sys.stderr)
        target = targets[stream - 1]
        target.write(text)
        flush = getattr(target, "flush", None)
        if flush is not None:
            flush()

    def _mark(self, stream: int, text: str) -> str:
        out = []
        at_start = self._line_start[stream]
        for piece in _LINE_END.split(text):
            if not piece:
                continue
            if _LINE_END.fullmatch(piece):
                out.append(piece)
                at_start = True
                continue
            if at_start:
                out.append(self.prefix)
            out.append(piece)
            at_start = False
        self._line_start[stream] = at_start
        return "".join(out)
