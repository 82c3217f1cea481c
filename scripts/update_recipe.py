"""Write the sha256 of the built wheel (build/wheel/*.whl) into meta.yaml.

Run after any change to the package: `python scripts/update_recipe.py` (it builds the
wheel first if build/wheel has none). tests/test_api.py checks they agree.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    out = ROOT / "build" / "wheel"
    if "--no-build" not in sys.argv:
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
            check=True, stdout=subprocess.DEVNULL,
        )
    wheels = sorted(out.glob("pyodide_extmemfs-*.whl"))
    if not wheels:
        print("no wheel in build/wheel", file=sys.stderr)
        return 1
    wheel = max(wheels, key=lambda p: p.stat().st_mtime)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    meta = ROOT / "meta.yaml"
    text = meta.read_text()
    new = re.sub(r"(?m)^(\s*sha256:\s*)[0-9a-f]{64}\s*$", rf"\g<1>{digest}", text)
    if new != text:
        meta.write_text(new)
        print(f"meta.yaml: sha256 {digest} ({wheel.name})")
    else:
        print(f"meta.yaml already has sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
