"""Parse byte sizes such as ``16 * 2**20``, ``"64MiB"`` or ``"1.5 GiB"``."""

from __future__ import annotations

import re

PAGE = 65536
#: Smallest pool: two 64 KiB pages (superblock, lock table and a first heap block).
MIN_POOL_BYTES = 2 * PAGE
#: Largest pool: a wasm32 Memory holds at most 65536 pages of 64 KiB.
MAX_POOL_BYTES = 65536 * PAGE

_UNITS = {
    "": 1,
    "b": 1,
    "k": 2**10,
    "kib": 2**10,
    "kb": 10**3,
    "m": 2**20,
    "mib": 2**20,
    "mb": 10**6,
    "g": 2**30,
    "gib": 2**30,
    "gb": 10**9,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")

ACCEPTED = (
    f"a whole number of bytes from {MIN_POOL_BYTES} (128 KiB) to {MAX_POOL_BYTES} (4 GiB), "
    "as an int or a string such as '64MiB', '512 KiB', '1.5GiB', '100MB'"
)


def parse_size(value: int | str, what: str = "size") -> int:
    """Return ``value`` in bytes.

    Accepts an ``int`` (bytes) or a string: a number followed by an optional unit
    B, KiB/K, MiB/M, GiB/G (powers of 1024) or KB, MB, GB (powers of 1000),
    case-insensitive.

    Raises:
        ValueError: unparsable, fractional bytes, or outside 128 KiB .. 4 GiB.
        TypeError: neither an ``int`` nor a ``str``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"{what} must be an int or a str, not {type(value).__name__}; {ACCEPTED}")
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"cannot parse {what} {value!r}; {ACCEPTED}")
        number, unit = m.group(1), m.group(2).lower()
        scaled = float(number) * _UNITS[unit] if "." in number else int(number) * _UNITS[unit]
        if scaled != int(scaled):
            raise ValueError(f"{what} {value!r} is not a whole number of bytes; {ACCEPTED}")
        nbytes = int(scaled)
    else:
        nbytes = value
    if nbytes < MIN_POOL_BYTES or nbytes > MAX_POOL_BYTES:
        raise ValueError(f"{what} {value!r} is out of range; {ACCEPTED}")
    return nbytes
