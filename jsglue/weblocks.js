// jsglue/weblocks.js — the Web Locks API where it coordinates what we need it to: the
// threads of one browser origin. Touches nothing; no locks.
//
// Browsers share one lock manager among a page and all its workers, and release a
// worker's locks when it is terminated or crashes: that is what liveness and ownership
// locks rely on. Node 24 has `navigator.locks` too, but it does not exclude across
// threads reliably (measured on v24.22.3: while a worker_thread holds a lock, inside its
// callback, a request with ifAvailable from the main thread was granted as well in 4 of
// 6 runs), so there a lock would make live instances look dead. In node the answer is
// null: callers use their node way (a worker's "exit" event, a lock file).

/**
 * The LockManager shared by a browser page and its workers, or null (node, or a host
 * without Web Locks).
 * @returns {LockManager | null}
 */
export function sharedWebLocks() {
  const g = /** @type {any} */ (globalThis);
  if (g.process && g.process.versions && g.process.versions.node) return null;
  const wl = g.navigator && g.navigator.locks;
  return wl && typeof wl.request === "function" && typeof wl.query === "function" ? wl : null;
}
