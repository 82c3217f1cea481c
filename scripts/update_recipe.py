"""Write the sha256 of our wheel, as the test setup builds it, into meta.yaml.

Run after any change to the package: `.venv/bin/python scripts/update_recipe.py`.
It rebuilds the wheel with `scripts/make_dist.py --wheel-only` (hatchling builds
reproducibly, so the same sources give the same bytes) and rewrites `source.sha256`.
tests/test_api.py checks that they agree.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_dist.py"), "--wheel-only"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wheels = sorted((ROOT / "build" / "dist").glob("pyodide_extmemfs-*.whl"))
    if len(wheels) != 1:
        print(f"expected one wheel in build/dist, found {wheels}", file=sys.stderr)
        return 1
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    meta = ROOT / "meta.yaml"
    text = meta.read_text()
    new = re.sub(r'(?m)^(\s*sha256:\s*)"?[0-9a-f]{64}"?\s*$', rf'\g<1>"{digest}"', text)
    meta.write_text(new)
    print(f"meta.yaml: sha256 {digest} ({wheels[0].name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
