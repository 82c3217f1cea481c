// The backend's fast paths for small-file metadata (jsglue/backend.js): open(O_CREAT)
// makes the file with its final mode and pinned in one transaction; FS.unlink of a name
// in an EXTMEMFS directory goes to the pool after one directory lookup. Each is checked
// against MEMFS in the same Pyodide (the oracle), case by case, and for the pins it
// leaves behind.
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";
import * as xmfs from "../../jsglue/index.js";
import { ROOT } from "./helpers.mjs";

const indexURL = path.join(ROOT, "node_modules/pyodide/");
const havePyodide = fs.existsSync(path.join(indexURL, "pyodide.mjs"));
const skip = !havePyodide && "npm ci first";

let py;
let pool;
async function setup() {
  if (py) return;
  const { loadPyodide } = await import(path.join(indexURL, "pyodide.mjs"));
  py = await loadPyodide({ indexURL });
  pool = await xmfs.createPool({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  await xmfs.mountPool(py, pool, "/xm");
  await xmfs.mountPool(py, pool, "/ro", { readonly: true });
}
const pins = () => pool.instances().find((i) => i.self).open_pins;
/** The errno name an FS call fails with, or "ok". */
function outcome(fn) {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (e && e.name === "ErrnoError") return Object.keys(py.ERRNO_CODES).find((k) => py.ERRNO_CODES[k] === e.errno);
    throw e;
  }
}

test("open(O_CREAT): final mode with the umask, one pin while open, none after", { skip, timeout: 120000 }, async () => {
  await setup();
  const FS = py.FS;
  FS.mkdirTree("/xm/c");
  const before = pins();
  const s = FS.open("/xm/c/a", "w", 0o640);
  assert.equal(pins(), before + 1);
  FS.write(s, new Uint8Array([1, 2, 3]), 0, 3);
  FS.close(s);
  assert.equal(pins(), before);
  assert.equal(FS.stat("/xm/c/a").mode & 0o777, 0o640 & ~0o022);
  assert.equal(FS.stat("/xm/c/a").size, 3);
  // Python's os.open, and the default mode; an existing file keeps its mode (no chmod).
  py.runPython(`
import os
fd = os.open("/xm/c/b", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666); os.close(fd)
fd = os.open("/xm/c/s", os.O_WRONLY | os.O_CREAT, 0o4755); os.close(fd)
os.chmod("/xm/c/b", 0o600)
fd = os.open("/xm/c/b", os.O_WRONLY | os.O_CREAT, 0o777); os.close(fd)
with open("/xm/c/d", "w") as f: f.write("x")
`);
  assert.equal(FS.stat("/xm/c/b").mode & 0o7777, 0o600);
  assert.equal(FS.stat("/xm/c/s").mode & 0o7777, 0o755); // (FS.open's chmod keeps 0o777 bits, as MEMFS)
  assert.equal(FS.stat("/xm/c/d").mode & 0o777, 0o644);
  const ctime = FS.stat("/xm/c/d").ctime.getTime();
  assert.equal(FS.stat("/xm/c/d").mtime.getTime() >= ctime - 1, true);
  assert.equal(pins(), before);
  assert.deepEqual(pool.validate(), []);
});

test("open(O_CREAT) that fails after making the file (no descriptor free) leaves no pin", { skip, timeout: 120000 }, async () => {
  await setup();
  const FS = py.FS;
  FS.mkdirTree("/xm/e");
  FS.mkdirTree("/tmp/e");
  const before = pins();
  const max = FS.MAX_OPEN_FDS;
  try {
    FS.MAX_OPEN_FDS = -1; // (FS.nextfd finds no free descriptor)
    const xm = outcome(() => FS.open("/xm/e/f", "w"));
    const mem = outcome(() => FS.open("/tmp/e/f", "w"));
    assert.equal(xm, mem);
    assert.equal(xm, "EMFILE");
  } finally {
    FS.MAX_OPEN_FDS = max;
  }
  assert.equal(pins(), before, "the pin mknod took was dropped");
  // As in MEMFS, the file was made before the descriptor ran out.
  assert.equal(outcome(() => FS.stat("/xm/e/f")), outcome(() => FS.stat("/tmp/e/f")));
  FS.unlink("/xm/e/f");
  assert.deepEqual(pool.validate(), []);
});

test("unlink: every outcome as MEMFS's, by any route into the mount", { skip, timeout: 120000 }, async () => {
  await setup();
  const FS = py.FS;
  const make = (root) => {
    FS.mkdirTree(`${root}/u/dir`);
    FS.mkdirTree(`${root}/u/ro`);
    for (const f of ["a", "b", "c", "d", "e", "ro/f"]) FS.writeFile(`${root}/u/${f}`, "x");
    FS.symlink(`${root}/u/a`, `${root}/u/link`);
    FS.chmod(`${root}/u/ro`, 0o555);
  };
  // MEMFS oracle at /tmp/m; EXTMEMFS at /xm/m, also reached through a MEMFS symlink.
  make("/tmp/m");
  make("/xm/m");
  FS.symlink("/xm/m/u", "/tmp/into-xm");
  FS.symlink("/tmp/m/u", "/tmp/into-mem");
  const cases = [
    (r) => `${r}/u/a`,
    (r) => `${r}/u/a`, // again: ENOENT
    (r) => `${r}/u/missing`,
    (r) => `${r}/u/dir`, // EISDIR
    (r) => `${r}/u/b/x`, // ENOTDIR
    (r) => `${r}/u/nodir/x`, // ENOENT
    (r) => `${r}/u/ro/f`, // the directory is not writable
    (r) => `${r}/u/link`, // the link, not its target
    (r) => `${r}/u/..`,
    (r) => `${r}/u//d`,
    (r) => `${r}/u/dir/../e`,
  ];
  for (const c of cases) {
    const mem = outcome(() => FS.unlink(c("/tmp/m")));
    const xm = outcome(() => FS.unlink(c("/xm/m")));
    assert.equal(xm, mem, `unlink ${c("/xm/m")}`);
  }
  // Trailing "/" and "/.": Linux's answers (backend_paths.js), where MEMFS differs.
  assert.equal(outcome(() => FS.unlink("/xm/m/u/c/")), "ENOTDIR");
  assert.equal(outcome(() => FS.unlink("/xm/m/u/dir/.")), "EISDIR");
  assert.equal(outcome(() => FS.stat("/xm/m/u/c")), "ok");
  // Through a symlink in MEMFS, and relative to a current directory in the mount.
  FS.writeFile("/xm/m/u/s1", "x");
  FS.writeFile("/tmp/m/u/s1", "x");
  assert.equal(outcome(() => FS.unlink("/tmp/into-xm/s1")), outcome(() => FS.unlink("/tmp/into-mem/s1")));
  assert.equal(outcome(() => FS.stat("/xm/m/u/s1")), "ENOENT");
  FS.writeFile("/xm/m/u/s2", "x");
  FS.writeFile("/tmp/m/u/e2", "x");
  FS.chdir("/xm/m/u");
  try {
    assert.equal(outcome(() => FS.unlink("s2")), "ok");
    assert.equal(outcome(() => FS.unlink("s2")), "ENOENT");
    assert.equal(outcome(() => FS.unlink("../../../tmp/m/u/e2")), "ok"); // out of the mount
  } finally {
    FS.chdir("/");
  }
  assert.equal(outcome(() => FS.stat("/tmp/m/u/e2")), "ENOENT");
  // Another instance's unlink is seen at once; a read-only mount refuses (EROFS).
  FS.writeFile("/xm/m/u/t", "x");
  assert.equal(outcome(() => FS.unlink("/ro/m/u/t")), "EROFS");
  const other = await xmfs.attachPool(pool.memory);
  const u = other.lookup(other.rootHandle().ino, other.rootHandle().gen, "m");
  const uu = other.lookup(u.ino, u.gen, "u");
  other.unlink(uu.ino, uu.gen, "t");
  assert.equal(outcome(() => FS.unlink("/xm/m/u/t")), "ENOENT");
  other.detach();
  assert.deepEqual(pool.validate(), []);
});

test("open(O_CREAT): every outcome as MEMFS's (existing, missing, symlinks, permissions)", { skip, timeout: 120000 }, async () => {
  await setup();
  const FS = py.FS;
  const type = FS.filesystems.EXTMEMFS;
  const old = type.setUmask(0); // (MEMFS applies no umask: compare modes without one)
  try {
    const make = (root) => {
      FS.mkdirTree(`${root}/o/dir`);
      FS.mkdirTree(`${root}/o/ro`);
      FS.writeFile(`${root}/o/file`, "hello");
      FS.writeFile(`${root}/o/ro/in`, "x");
      FS.symlink(`${root}/o/file`, `${root}/o/link`);
      FS.symlink(`${root}/o/nowhere`, `${root}/o/dangling`);
      FS.symlink(`${root}/o/dir`, `${root}/o/dirlink`);
      FS.chmod(`${root}/o/ro`, 0o555);
    };
    make("/tmp/n");
    make("/xm/n");
    const O = { WR: 1, RDWR: 2, CREAT: 64, EXCL: 128, TRUNC: 512, DIRECTORY: 65536, NOFOLLOW: 131072 };
    const cases = [
      ["new", O.WR | O.CREAT, 0o640],
      ["new", O.WR | O.CREAT | O.EXCL, 0o600], // EEXIST now
      ["file", O.WR | O.CREAT, 0o777], // existing: mode kept
      ["file", O.RDWR | O.CREAT | O.TRUNC, 0o644],
      ["ro0444", O.WR | O.CREAT, 0o444], // made read-only, opened for writing
      ["ro0444", O.WR | O.CREAT, 0o444], // now EACCES? as MEMFS says
      ["link", O.WR | O.CREAT, 0o644], // follows to file
      ["link", O.WR | O.CREAT | O.NOFOLLOW, 0o644],
      ["dangling", O.WR | O.CREAT, 0o644], // creates the target
      ["dir", O.WR | O.CREAT, 0o644], // EISDIR
      ["dirlink/made", O.WR | O.CREAT, 0o644],
      ["missing/x", O.WR | O.CREAT, 0o644], // ENOENT
      ["file/x", O.WR | O.CREAT, 0o644], // ENOTDIR
      ["ro/new", O.WR | O.CREAT, 0o644], // directory not writable
      ["ro/in", O.WR | O.CREAT, 0o644], // exists in it: opens
      ["./dot", O.WR | O.CREAT, 0o644],
      ["dir/../up", O.WR | O.CREAT, 0o4755],
    ];
    for (const [rel, flags, mode] of cases) {
      const run = (root) => {
        let r;
        try {
          const s = FS.open(`${root}/o/${rel}`, flags, mode);
          if (flags & 3) FS.write(s, new Uint8Array([7]), 0, 1);
          FS.close(s);
          r = "ok";
        } catch (e) {
          if (e && e.name === "ErrnoError") r = Object.keys(py.ERRNO_CODES).find((k) => py.ERRNO_CODES[k] === e.errno);
          else throw e;
        }
        let after;
        try {
          const st = FS.stat(`${root}/o/${rel}`);
          after = `${(st.mode & 0o7777).toString(8)} ${st.size}`;
        } catch (e) {
          after = "none";
        }
        return `${r} ${after}`;
      };
      assert.equal(run("/xm/n"), run("/tmp/n"), `open ${rel} flags ${flags}`);
    }
    // O_CREAT | O_DIRECTORY: Emscripten makes a file, then fails (ENOTDIR); MEMFS's is left
    // with mode 0777, ours with the mode asked for (as an older Linux made it).
    assert.equal(outcome(() => FS.open("/xm/n/o/dir2", O.WR | O.CREAT | O.DIRECTORY, 0o644)), "ENOTDIR");
    assert.equal(FS.stat("/xm/n/o/dir2").mode & 0o7777, 0o644);
    // The same through a MEMFS symlink into the mount and relative to a directory in it.
    FS.symlink("/xm/n/o", "/tmp/n-into");
    const s = FS.open("/tmp/n-into/via", O.WR | O.CREAT, 0o600);
    FS.close(s);
    assert.equal(FS.stat("/xm/n/o/via").mode & 0o777, 0o600);
    FS.chdir("/xm/n/o/dir");
    try {
      FS.close(FS.open("rel", O.WR | O.CREAT, 0o640));
    } finally {
      FS.chdir("/");
    }
    assert.equal(FS.stat("/xm/n/o/dir/rel").mode & 0o777, 0o640);
  } finally {
    type.setUmask(old);
  }
  assert.equal(pins(), 0);
  assert.deepEqual(pool.validate(), []);
});

test("basename answers as Emscripten's PATH.basename (its regular expression) on every path", async () => {
  const { basename } = await import("../../jsglue/backend_paths.js");
  const emscripten = (p) => {
    const m = /([^/]+|\/)\/*$/.exec(p);
    return m ? m[1] : "";
  };
  const fixed = ["", "/", "//", "a", "a/", "a//", "/a", "/a/", "/a/b", "/a/b/", "a/b/c//", ".", "..", "/.", "a/.", "/x y/z"];
  for (const p of fixed) assert.equal(basename(p), emscripten(p), JSON.stringify(p));
  // every string of up to 7 characters over "/", "a", "." (3,280 of them)
  const walk = (p) => {
    assert.equal(basename(p), emscripten(p), JSON.stringify(p));
    if (p.length < 7) for (const c of "/a.") walk(p + c);
  };
  walk("");
});
