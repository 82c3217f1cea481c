// jsglue/backend_resolve.js — a faster FS.lookupPath for plain absolute paths into
// EXTMEMFS. Emscripten's lookupPath builds the path it has walked so far with PATH.join2
// at every component, and join2 normalizes the whole string again each time: for
// "/mnt/dir/file" that string work costs several times the lookups themselves. A path
// that starts at one of our mount points and has only plain components (no "", ".",
// "..") is walked here with the same steps — FS.lookupNode per component (permission
// check and the pool's validated lookup for our directories), mount points followed,
// noent_okay and parent as Emscripten has them — without building strings. Anything
// else, or a symlink to follow on the way, goes to the wrapped lookupPath (Emscripten's,
// with the Linux fixes of backend_paths.js), which then gives the answer.
// Locks: none of its own (FS.lookupNode calls the backend, which takes pool locks).

/**
 * Wrap FS.lookupPath of one Emscripten instance with the fast walk.
 * @param {{FS: any, mayBeOurs: (path: string) => boolean}} em the instance's FS; mayBeOurs
 *   tells paths that may lead into an EXTMEMFS mount (false only when they surely cannot)
 */
export function installFastResolve({ FS, mayBeOurs }) {
  const slow = FS.lookupPath;
  FS.lookupPath = function (path, opts = {}) {
    if (typeof path !== "string" || path.charCodeAt(0) !== 47 || !mayBeOurs(path)) {
      return slow.call(FS, path, opts);
    }
    const parts = path.split("/"); // parts[0] is "" (the path is absolute)
    const n = parts.length;
    for (let i = 1; i < n; i++) {
      const p = parts[i];
      if (p === "" || p === "." || p === "..") return slow.call(FS, path, opts);
    }
    opts.follow_mount ??= true; // (as Emscripten's, which sets it on the caller's object)
    let current = FS.root;
    for (let i = 1; i < n; i++) {
      const last = i === n - 1;
      if (last && opts.parent) {
        return { path: i === 1 ? "/" : path.slice(0, path.length - parts[i].length - 1), node: current };
      }
      try {
        current = FS.lookupNode(current, parts[i]);
      } catch (e) {
        if (e?.errno === 44 && last && opts.noent_okay) return { path };
        throw e;
      }
      if (FS.isMountpoint(current) && (!last || opts.follow_mount)) current = current.mounted.root;
      // A symlink to follow: Emscripten's walk resolves it (it repeats the lookups so far,
      // which changed nothing).
      if (FS.isLink(current.mode) && (!last || opts.follow)) return slow.call(FS, path, opts);
    }
    return { path, node: current };
  };
}
