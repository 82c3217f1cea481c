"""Build the Python API reference with pdoc into build/docs/python/ (run by
scripts/docs.sh). Fails on any pdoc warning and on public modules, classes, functions
and methods of the package that have no docstring, so the reference cannot rot.

    .venv/bin/python scripts/docs.py OUT_DIR
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pdoc
import pdoc.doc
import pdoc.render

ROOT = Path(__file__).resolve().parent.parent
# The package (its __all__) and the public submodules that __all__ does not list.
MODULES = ["pyodide_extmemfs", "pyodide_extmemfs.testing", "pyodide_extmemfs.pytest_plugin"]


def undocumented(mod: pdoc.doc.Module) -> list[str]:
    """Public classes, functions and methods of `mod` defined in this package that have no
    docstring (constants and attributes are described by their class or module)."""
    out = []

    def visit(obj: pdoc.doc.Doc) -> None:
        if obj.name.startswith("_") or not obj.taken_from[0].startswith("pyodide_extmemfs"):
            return
        if isinstance(obj, (pdoc.doc.Class, pdoc.doc.Function)) and not obj.docstring.strip():
            out.append(f"{obj.fullname} ({type(obj).__name__.lower()}) has no docstring")
        if isinstance(obj, pdoc.doc.Class):
            for member in obj.own_members:
                visit(member)

    if not mod.docstring.strip():
        out.append(f"{mod.fullname} (module) has no docstring")
    for member in mod.members.values():
        visit(member)
    return out


def main(out_dir: str) -> int:
    sys.path.insert(0, str(ROOT))
    out = Path(out_dir)
    pdoc.render.configure(
        docformat="google",
        footer_text="pyodide-extmemfs",
        search=True,
        show_source=False,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*MODULES, output_directory=out)
        problems = [p for m in MODULES for p in undocumented(pdoc.doc.Module.from_name(m))]
    ours = [w for w in caught if "pdoc" in w.filename or "pyodide_extmemfs" in str(w.message)]
    for w in ours:
        problems.append(f"pdoc warning: {w.message}")
    for p in problems:
        print(f"[docs] {p}", file=sys.stderr)
    pages = sorted(out.rglob("*.html"))
    if not (out / "pyodide_extmemfs.html").exists():
        problems.append("pdoc wrote no pyodide_extmemfs.html")
    print(f"[docs] Python: {len(pages)} pages in {out}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "docs" / "python")))
