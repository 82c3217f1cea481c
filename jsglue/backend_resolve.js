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
    // Plain components only: no "" (a "//" or a trailing "/"), "." or "..".
    const n = path.length;
    for (let i = 0; i < n; i++) {
      if (path.charCodeAt(i) !== 47) continue;
      const c1 = i + 1 < n ? path.charCodeAt(i + 1) : 47;
      if (c1 === 47) return slow.call(FS, path, opts);
      if (c1 === 46) {
        const c2 = i + 2 < n ? path.charCodeAt(i + 2) : 47;
        if (c2 === 47 || (c2 === 46 && (i + 3 >= n || path.charCodeAt(i + 3) === 47))) return slow.call(FS, path, opts);
      }
    }
    opts.follow_mount ??= true; // (as Emscripten's, which sets it on the caller's object)
    let current = FS.root;
    // Component by component, without splitting the path: [start, end) is the next one.
    for (let start = 1; start < n;) {
      let end = path.indexOf("/", start);
      if (end < 0) end = n;
      const last = end === n;
      if (last && opts.parent) return { path: start === 1 ? "/" : path.slice(0, start - 1), node: current };
      try {
        current = FS.lookupNode(current, path.slice(start, end));
      } catch (e) {
        if (e?.errno === 44 && last && opts.noent_okay) return { path };
        throw e;
      }
      if (FS.isMountpoint(current) && (!last || opts.follow_mount)) current = current.mounted.root;
      // A symlink to follow: Emscripten's walk resolves it (it repeats the lookups so far,
      // which changed nothing).
      if (FS.isLink(current.mode) && (!last || opts.follow)) return slow.call(FS, path, opts);
      start = end + 1;
    }
    return { path, node: current };
  };
}
