// jsglue/backend_locks.js — advisory locks for descriptors on EXTMEMFS mounts: the entry
// points behind Python's fcntl.flock / fcntl.lockf / fcntl.fcntl(F_*LK) / os.lockf, which
// pyodide_extmemfs replaces for such descriptors (_posix.py). Emscripten's own fcntl and
// flock syscalls are stubs inside the wasm (fcntl "succeeds", flock does nothing) that no
// JS can reach, so the route is: Python → these functions → the pool's lock table.
//
// Ownership as on Linux, with one Pyodide instance (one attached Pool) as the process:
//   flock and OFD locks belong to the open file description — stream.shared, which
//   dup'd descriptors share; POSIX locks (F_SETLK, lockf) belong to the instance.
// Releasing at close is the backend's stream close (backend.js).
// Locks: none of its own; the pool takes META per attempt and blocking calls wait
// holding no pool lock.
import { L } from "./layout.js";
import { PoolError } from "./errors.js";

const O_ACCMODE = 3;
const O_RDONLY = 0;
const O_WRONLY = 1;
const TYPES = { read: L.FL_READ, write: L.FL_WRITE, unlock: 0 };
const NAMES = { [L.FL_READ]: "read", [L.FL_WRITE]: "write" };

/**
 * @param {{FS: any, nodeOps: object, mountState: (node: any) => any,
 *   errnoName: (errno: number) => string}} em errnoName: an errno number's name
 * @returns {{ownsFd: (fd: number) => boolean, lockFd: (fd: number, op: string,
 *   kind: string, type: string, whence: number, start: number, len: number,
 *   wait: boolean) => any}}
 */
export function fdLocks({ FS, nodeOps, mountState, errnoName }) {
  // Errors leave as PoolErrors raised as OSError in Python: an FS.ErrnoError is not an
  // Error, and crossing into Python would lose its errno.
  const asOSError = (e) => {
    if (e && e.name === "ErrnoError") return new PoolError(errnoName(e.errno), e.message || "lock call failed", "OSError");
    if (e && e.name === "PoolError" && !e.pyType) e.pyType = "OSError";
    return e;
  };
  /** True if descriptor fd is open on an EXTMEMFS node. */
  function ownsFd(fd) {
    const s = typeof fd === "number" ? FS.getStream(fd) : null;
    return !!(s && s.node && s.node.node_ops === nodeOps);
  }

  /**
   * A lock call on descriptor fd.
   *   op "flock":  type "read" (LOCK_SH), "write" (LOCK_EX) or "unlock"; whole file.
   *   op "set":    fcntl F_SETLK(W) (kind "posix") or F_OFD_SETLK(W) (kind "ofd"):
   *                bytes from `start` relative to `whence` (0 SEEK_SET, 1 SEEK_CUR,
   *                2 SEEK_END), `len` bytes (0: to the end, always; negative: the
   *                `-len` bytes before start, as POSIX allows).
   *   op "get":    fcntl F_GETLK / F_OFD_GETLK: returns undefined, or the lock in the way
   *                as {type, start, len, pid} (pid: the holder's pool instance id; -1
   *                for OFD locks, as on Linux).
   * wait: block until granted (F_SETLKW, flock without LOCK_NB).
   * @throws {PoolError} (raised as OSError in Python) EBADF (not open; a read lock on a write-only descriptor or
   *   the converse), EINVAL, EOVERFLOW, EAGAIN (held, not waiting), EDEADLK, ENOLCK
   */
  function lockFd(fd, op, kind, type, whence, start, len, wait) {
    try {
      const stream = FS.getStream(fd);
      if (!stream) throw new PoolError("EBADF", `descriptor ${fd} is not open`);
      const node = stream.node;
      if (!node || node.node_ops !== nodeOps) throw new PoolError("EBADF", `descriptor ${fd} is not on EXTMEMFS`);
      const pool = mountState(node).pool;
      const t = TYPES[type];
      if (t === undefined) throw new PoolError("EINVAL", `bad lock type ${type}`);
      const sh = stream.shared;
      if (op === "flock") {
        if (!sh.xofd) sh.xofd = pool.newOfd();
        pool.lock(node.xino, node.xgen, { kind: L.FLK_FLOCK, type: t, ofd: sh.xofd, start: 0, end: Infinity }, !!wait);
        return undefined;
      }
      if (op !== "set" && op !== "get") throw new PoolError("EINVAL", `bad lock operation ${op}`);
      if (kind !== "posix" && kind !== "ofd") throw new PoolError("EINVAL", `bad lock kind ${kind}`);
      if (op === "set") {
        const acc = stream.flags & O_ACCMODE;
        if ((t === L.FL_READ && acc === O_WRONLY) || (t === L.FL_WRITE && acc === O_RDONLY)) {
          throw new PoolError("EBADF", `a ${type} lock needs a descriptor open for ${t === L.FL_READ ? "reading" : "writing"}`);
        }
      } else if (!t) {
        throw new PoolError("EINVAL", "F_GETLK of F_UNLCK");
      }
      let base;
      if (whence === 0) base = 0;
      else if (whence === 1) base = stream.position;
      else if (whence === 2) base = pool.getattr(node.xino, node.xgen).size;
      else throw new PoolError("EINVAL", `bad l_whence ${whence}`);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(len)) {
        throw new PoolError("EOVERFLOW", `lock offsets beyond ${L.FL_MAX_OFFSET} are not supported`);
      }
      let s = base + start;
      let e = len === 0 ? Infinity : s + len;
      if (len < 0) {
        e = s;
        s += len;
      }
      if (s < 0) throw new PoolError("EINVAL", `lock range starts before the file (${s})`);
      if (e !== Infinity && e <= s) throw new PoolError("EINVAL", "empty lock range");
      const ofd = kind === "ofd" ? sh.xofd || (sh.xofd = pool.newOfd()) : 0;
      const req = { kind: kind === "ofd" ? L.FLK_OFD : L.FLK_POSIX, type: t, ofd, start: s, end: e };
      if (op === "get") {
        const r = pool.testLock(node.xino, node.xgen, req);
        if (!r) return undefined;
        return {
          type: NAMES[r.type],
          start: r.start,
          len: r.end === Infinity ? 0 : r.end - r.start,
          pid: r.kind === L.FLK_POSIX ? r.owner : -1,
        };
      }
      pool.lock(node.xino, node.xgen, req, !!wait);
      return undefined;
    } catch (e) {
      throw asOSError(e);
    }
  }

  return { ownsFd, lockFd };
}
