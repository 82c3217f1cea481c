// jsglue/errors.js — the pool's one error type. Touches nothing; no locks.
//
// The pool reports errno NAMES ("ENOENT", "ENOSPC", ...), never numbers: each Pyodide
// instance has its own errno table, and the backend (backend.js) turns a name into that
// instance's FS.ErrnoError at its one error boundary.

/** An error whose `code` is an errno name. */
export class PoolError extends Error {
  /**
   * @param {string} code errno name, e.g. "ENOENT"
   * @param {string} message what went wrong, for people
   * @param {"TypeError" | "OSError"} [pyType] the Python exception to raise instead of the
   *   default (ValueError for EINVAL, MemoryError for ENOMEM, OSError otherwise)
   */
  constructor(code, message, pyType) {
    super(`${code}: ${message}`);
    this.name = "PoolError";
    /** @type {string} */
    this.code = code;
    if (pyType) this.pyType = pyType;
  }
}

/**
 * Throw a PoolError.
 * @param {string} code errno name
 * @param {string} message
 * @param {"TypeError" | "OSError"} [pyType]
 * @returns {never}
 */
export function fail(code, message, pyType) {
  throw new PoolError(code, message, pyType);
}

/** Describe what `x` is, for error messages ("null", "Number", "ArrayBuffer", "Pool"). */
export function describe(x) {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  const tag = Object.prototype.toString.call(x);
  return tag === "[object Object]" && x.constructor ? x.constructor.name : tag.slice(8, -1);
}
