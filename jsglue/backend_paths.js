// jsglue/backend_paths.js — Linux path semantics that Emscripten's generic FS code (not a
// file system's node_ops) decides, fixed for paths into EXTMEMFS by wrapping the FS
// functions that decide them; paths into other file systems keep Emscripten's behaviour:
//   - A trailing slash ("file/", "file/.") must name a directory: ENOTDIR for anything
//     else, and a final symlink is followed (lstat("link/") is its target's). unlink of
//     such a path always fails (ENOENT, EISDIR, ENOTDIR); rename needs a directory when
//     either path has one (ENOTDIR); symlink refuses one (EEXIST, ENOENT), and so does
//     open(O_CREAT) (EISDIR). Emscripten drops trailing slashes: it opened, stat'ed and
//     even unlinked "file/".
//   - open(O_CREAT | O_EXCL) never follows a final symlink: a dangling one is EEXIST
//     (Emscripten followed it and created its target).
//   - The umask is applied to the modes of files and directories made in EXTMEMFS.
//     Emscripten never applies it, and CPython's port keeps one only on node's main
//     thread (process.umask; elsewhere os.umask always says 0). This instance's mask is
//     set with setUmask — pyodide_extmemfs makes os.umask do that (_posix.py).
// Locks: none of its own (the wrapped functions call the backend, which takes pool locks).

/**
 * Emscripten's PATH.basename: the last component, trailing slashes dropped ("/" for a path
 * of slashes only, "" for ""). What /([^/]+|\/)\/*$/ matches, without a regular
 * expression: tried at every position, that one cost ~0.3 µs of a ~4 µs unlink.
 * @param {string} path
 * @returns {string}
 */
export function basename(path) {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  if (end === 0) return path.length > 0 ? "/" : "";
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}

const O_CREAT = 64;
const O_EXCL = 128;
const MODE_FLAGS = { r: 0, "r+": 2, w: 577, "w+": 578, a: 1089, "a+": 1090 };

/** Ends in "/" or "/." (and is not just "/"). */
const trailing = (p) => typeof p === "string" && p.length > 1 && (p.endsWith("/") || p.endsWith("/."));

/**
 * Wrap FS.lookupPath, FS.open, FS.unlink, FS.rename and FS.symlink of one Emscripten
 * instance. Idempotent per FS only through backend.install (which runs once).
 * @param {{FS: any, ERRNO_CODES: Record<string, number>, isOurs: (node: any) => boolean,
 *   openDone: (node: any) => void}} em the instance's FS and errno table; isOurs tells
 *   EXTMEMFS nodes; openDone(node) is called when an FS.open(O_CREAT) that made `node`
 *   returns or fails
 * @returns {{umask: () => number, setUmask: (mask: number) => number,
 *   openMode: () => number, created: (node: any) => void}} the umask applied to new
 *   files and directories; openMode: inside FS.open(O_CREAT), the permission bits it
 *   will chmod the file it makes to (else -1); created(node) is called by mknod for
 *   each node it makes
 */
export function installPathFixes({ FS, ERRNO_CODES, isOurs, openDone }) {
  let mask = 0o022; // Linux's usual default; os.umask sets it (see top)
  let creating = -1; // inside FS.open(O_CREAT): the permission bits it asks for, else -1
  let createdNode = null;
  const err = (name, why) => {
    const e = new FS.ErrnoError(ERRNO_CODES[name]);
    e.message = `${name}: ${why}`;
    return e;
  };
  const origLookupPath = FS.lookupPath;
  const lookup = (path, opts) => origLookupPath.call(FS, path, opts);
  /** True if the directory that would hold `path`'s last component is in EXTMEMFS. */
  const parentOurs = (path) => {
    try {
      const r = lookup(path, { parent: true });
      return !!(r.node && isOurs(r.node));
    } catch (e) {
      return false; // (the real call reports the error)
    }
  };
  /** The node `path` names without following a final symlink, or null. */
  const lnode = (path) => {
    try {
      return lookup(path, { follow: false, noent_okay: true }).node || null;
    } catch (e) {
      return null;
    }
  };

  FS.lookupPath = function (path, opts = {}) {
    const r = origLookupPath.call(FS, path, opts);
    const node = r.node;
    if (node && !opts.parent && trailing(path) && !FS.isDir(node.mode) && isOurs(node)) {
      if (FS.isLink(node.mode) && !opts.follow) {
        const t = origLookupPath.call(FS, path, { ...opts, follow: true });
        if (!t.node || FS.isDir(t.node.mode)) return t;
      }
      throw err("ENOTDIR", `${path}: a path ending in "/" names a directory`);
    }
    return r;
  };

  const origOpen = FS.open;
  FS.open = function (path, flags, mode) {
    const f = typeof flags === "string" ? MODE_FLAGS[flags] : flags;
    if (typeof path !== "string" || typeof f !== "number" || !(f & O_CREAT)) {
      return origOpen.call(FS, path, flags, mode);
    }
    if (trailing(path) && parentOurs(path)) throw err("EISDIR", `${path}: O_CREAT of a path ending in "/"`);
    if (f & O_EXCL) {
      const node = lnode(path);
      if (node && FS.isLink(node.mode) && isOurs(node)) {
        throw err("EEXIST", `${path} exists (a symlink: O_EXCL does not follow it)`);
      }
    }
    // (Emscripten's FS.open makes the file with mode 0777, then chmods it to these bits.)
    creating = (mode ?? 0o666) & 0o777;
    try {
      return origOpen.call(FS, path, flags, mode);
    } finally {
      creating = -1;
      if (createdNode) {
        const node = createdNode;
        createdNode = null;
        openDone(node);
      }
    }
  };

  const origUnlink = FS.unlink;
  FS.unlink = function (path) {
    if (trailing(path) && parentOurs(path)) {
      const node = lnode(path);
      if (!node) throw err("ENOENT", `${path}: no such file`);
      throw FS.isDir(node.mode) ? err("EISDIR", `${path} is a directory`) : err("ENOTDIR", `${path}: not a directory`);
    }
    return origUnlink.call(FS, path);
  };

  const origRename = FS.rename;
  FS.rename = function (oldPath, newPath) {
    if ((trailing(oldPath) || trailing(newPath)) && parentOurs(oldPath)) {
      const node = lnode(oldPath);
      if (node && !FS.isDir(node.mode)) throw err("ENOTDIR", `${oldPath}: a path ending in "/" names a directory`);
    }
    return origRename.call(FS, oldPath, newPath);
  };

  const origSymlink = FS.symlink;
  FS.symlink = function (target, linkPath) {
    if (trailing(linkPath) && parentOurs(linkPath)) {
      throw lnode(linkPath) ? err("EEXIST", `${linkPath} exists`) : err("ENOENT", `${linkPath}: a symlink's name cannot end in "/"`);
    }
    return origSymlink.call(FS, target, linkPath);
  };

  return {
    umask: () => mask,
    setUmask(m) {
      const old = mask;
      mask = m & 0o777;
      return old;
    },
    openMode: () => creating,
    created(node) {
      if (creating >= 0) createdNode = node;
    },
  };
}
