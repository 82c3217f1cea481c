# Run by persist.js in the page or in its worker: STEP, NAME are set before.
import hashlib
import os

import pyodide_extmemfs as xmfs


def digest(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(filenames):
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                out.append(f"{p} -> {os.readlink(p)}")
            else:
                with open(p, "rb") as f:
                    out.append(f"{p} {hashlib.sha256(f.read()).hexdigest()}")
    return hashlib.sha256("\n".join(out).encode()).hexdigest(), len(out)


async def main(step, name):
    try:
        pool = await xmfs.open_pool(name, "1MiB", "256MiB")
    except OSError as e:
        return {"error": f"OSError {e.errno}: {e}"}
    xmfs.mount(pool, "/p")
    res = {}
    if step == "write":
        os.makedirs("/p/a/b", exist_ok=True)
        for i in range(30):
            with open(f"/p/a/f{i}.bin", "wb") as f:
                f.write(bytes((i * j) & 255 for j in range(i * 997)))
        with open("/p/a/b/big.bin", "wb") as f:
            f.write(hashlib.sha256(b"x").digest() * (3 << 16))  # 6 MiB
        os.symlink("a/b/big.bin", "/p/link")
        res["sync"] = await pool.sync()
    res["digest"], res["files"] = digest("/p")
    res["check"] = pool.check()
    res["generation"] = pool.stats()["sync_generation"]
    res["at"] = pool.persisted_at
    if step == "close":
        await pool.close()
    return res
