"""Runs inside Pyodide: a wheel holding a real Python extension module (a ``.so``), made
without a compiler.

The offline distribution has no package with a shared library (Pyodide's compiled
packages come from its CDN only), so this writes one by hand: a WebAssembly side module
in the form Emscripten's dynamic linker loads (a ``dylink.0`` section first, memory and
``__memory_base`` imported, Python's C API imported by name from the main module). Its
``PyInit_<name>`` fills a ``PyModuleDef`` in its data segment, calls
``PyModule_Create2`` and adds one integer, ``answer``. ``wheel(name, value)`` packs it
as ``<name>.cpython-314-wasm32-emscripten.so`` in a wheel tagged for this Pyodide.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.machinery
import io
import zipfile

I32 = 0x7F
# PyModuleDef on wasm32: PyModuleDef_Base (ob_refcnt, ob_type, m_init, m_index, m_copy:
# 4 bytes each), then m_name at 20, m_doc, m_size, m_methods, m_slots, m_traverse,
# m_clear, m_free: 52 bytes. The names live after it in the same data segment.
M_NAME = 20
NAME_AT = 64
ANSWER_AT = 96
DATA_BYTES = 128
PYTHON_API_VERSION = 1013


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def _name(s: str) -> bytes:
    b = s.encode()
    return _uleb(len(b)) + b


def _vec(items: list[bytes]) -> bytes:
    return _uleb(len(items)) + b"".join(items)


def _section(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _uleb(len(body)) + body


def _functype(params: list[int], results: list[int]) -> bytes:
    return b"\x60" + _vec([bytes([p]) for p in params]) + _vec([bytes([r]) for r in results])


def side_module(modname: str, value: int) -> bytes:
    """The bytes of a wasm side module defining extension module ``modname``."""
    data = bytearray(DATA_BYTES)
    data[0:4] = (1 << 30).to_bytes(4, "little")  # ob_refcnt: never reaches zero
    name = modname.encode() + b"\0"
    data[NAME_AT : NAME_AT + len(name)] = name
    data[ANSWER_AT : ANSWER_AT + 7] = b"answer\0"
    mem_info = _uleb(DATA_BYTES) + _uleb(4) + _uleb(0) + _uleb(0)  # size, 2^4 align, table
    dylink = _name("dylink.0") + b"\x01" + _uleb(len(mem_info)) + mem_info
    types = _vec(
        [
            _functype([I32, I32], [I32]),  # PyModule_Create2(def, api)
            _functype([I32, I32, I32], [I32]),  # PyModule_AddIntConstant(mod, name, v)
            _functype([], [I32]),  # PyInit_<name>()
        ]
    )
    imports = _vec(
        [
            _name("env") + _name("memory") + b"\x02\x00" + _uleb(0),
            _name("env") + _name("__memory_base") + b"\x03" + bytes([I32]) + b"\x00",
            _name("env") + _name("PyModule_Create2") + b"\x00" + _uleb(0),
            _name("env") + _name("PyModule_AddIntConstant") + b"\x00" + _uleb(1),
        ]
    )
    base = b"\x23\x00"  # global.get $__memory_base

    def addr(offset: int) -> bytes:
        return base + b"\x41" + _sleb(offset) + b"\x6a"  # base + offset

    body = (
        _vec([_uleb(1) + bytes([I32])])  # one local: the module
        + base
        + addr(NAME_AT)
        + b"\x36\x02"
        + _uleb(M_NAME)  # def->m_name = name
        + base
        + b"\x41"
        + _sleb(PYTHON_API_VERSION)
        + b"\x10\x00"  # call PyModule_Create2
        + b"\x22\x00"  # local.tee 0
        + b"\x45\x04\x40\x41\x00\x0f\x0b"  # if (!mod) return 0
        + b"\x20\x00"
        + addr(ANSWER_AT)
        + b"\x41"
        + _sleb(value)
        + b"\x10\x01\x1a"  # call PyModule_AddIntConstant; drop
        + b"\x20\x00\x0b"  # return mod
    )
    return (
        b"\0asm\x01\0\0\0"
        + _section(0, dylink)
        + _section(1, types)
        + _section(2, imports)
        + _section(3, _vec([_uleb(2)]))
        + _section(7, _vec([_name(f"PyInit_{modname}") + b"\x00" + _uleb(2)]))
        + _section(10, _vec([_uleb(len(body)) + body]))
        + _section(11, _vec([b"\x00" + base + b"\x0b" + _uleb(len(data)) + bytes(data)]))
    )


def wheel_tag() -> str:
    """The most specific wheel tag of this Pyodide (e.g. cp314-cp314-pyemscripten_...)."""
    from micropip._utils import sys_tags

    return str(next(iter(sys_tags())))


def wheel(modname: str, value: int, version: str = "1.0") -> tuple[str, bytes]:
    """(file name, bytes) of a wheel with the extension module ``modname``."""
    so_name = modname + importlib.machinery.EXTENSION_SUFFIXES[0]
    info = f"{modname}-{version}.dist-info"
    tag = wheel_tag()
    files = {
        so_name: side_module(modname, value),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {modname}\nVersion: {version}\n"
        ).encode(),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: xmfs_native\nRoot-Is-Purelib: false\nTag: {tag}\n"
        ).encode(),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return f"{modname}-{version}-{tag}.whl", buf.getvalue()
