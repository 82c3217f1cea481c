// jsglue/backend.js — EXTMEMFS: the Emscripten FS type that stores everything in a pool.
//
// The backend keeps no file state. Its FSNode objects are caches holding an inode
// handle (xino, xgen); every operation hands the handle to the pool, which checks it
// under its lock and fails with ENOENT when another instance removed or replaced the
// file. Pool errors carry errno names; one boundary (`errnoError`) turns them into the
// mounting instance's own FS.ErrnoError with that instance's ERRNO_CODES.
//
// Emscripten resolves names through FS.lookupNode, which answers from its own name
// cache (FS.nameTable) before asking the file system. A cached answer would hide other
// instances' changes, so `install` wraps FS.lookupNode: under an EXTMEMFS directory
// every lookup goes to the pool. Our nodes are never put in FS.nameTable.
//
// Directory listings: readdir reads names, inode numbers and modes in one pass, and
// Emscripten's getdents (which looks every name up again to fill d_ino and d_type) is
// answered from that listing — one pool call per listing instead of one per entry, and
// an entry removed meanwhile by another instance no longer fails the whole listing. An
// FSNode's id is its pool inode number, so d_ino equals st_ino (DirEntry.inode()).
//
// Small-file fast paths (issue 15): FS.open(O_CREAT) and FS.unlink of a name in one of
// our directories walk the path once and ask the pool directly, instead of Emscripten's
// repeated walks and lookups; a file made by open(O_CREAT) is created with its final
// mode and pinned in the same pool transaction. Unusual cases take Emscripten's route.
// Plain absolute paths into our mounts are walked by backend_resolve.js, without the
// string building of Emscripten's FS.lookupPath.
//
// Linux semantics that Emscripten's generic FS code decides are fixed for paths into
// EXTMEMFS in backend_paths.js (trailing slashes, O_EXCL on dangling symlinks, umask);
// fcntl/flock/lockf locks for our descriptors enter through backend_locks.js.
import { L } from "./layout.js";
import { PoolError } from "./errors.js";
import { basename, installPathFixes } from "./backend_paths.js";
import { installFastResolve } from "./backend_resolve.js";
import { fdLocks } from "./backend_locks.js";
import { makeCopier } from "./copier.js";

const O_ACCMODE = 3;
const O_CREAT = 64;
const O_EXCL = 128;
const O_TRUNC = 512;
const O_APPEND = 1024;
const O_DIRECTORY = 65536;
const O_NOFOLLOW = 131072;
const MODE_FLAGS = { r: 0, "r+": 2, w: 577, "w+": 578, a: 1089, "a+": 1090 };
export const DEV = 0x584d; // st_dev of EXTMEMFS files ("XM"), distinct from MEMFS's 1

/**
 * @typedef {object} ExtmemfsType the EXTMEMFS file-system type of one Emscripten instance
 * @property {(mount: any) => any} mount called by FS.mount(EXTMEMFS, {pool, readonly}, path)
 * @property {object} node_ops
 * @property {object} stream_ops
 * @property {(opts: {pool: import("./pool.js").Pool, readonly?: boolean}, path: string) => void} mountAt
 *   FS.mount of a pool at `path`; errors as PoolError with the errno name
 * @property {(path: string) => void} unmountAt FS.unmount(path); errors as PoolError
 * @property {(path: string) => boolean} fastReads true where reads of `path` use the wasm
 *   multi-memory copier
 * @property {(fd: number) => boolean} ownsFd true if descriptor `fd` is a file of an
 *   EXTMEMFS mount (its locks are the pool's)
 * @property {(fd: number, op: string, kind: string, type: string, whence: number,
 *   start: number, len: number, wait: boolean) => any} lockFd a lock call on an EXTMEMFS
 *   descriptor (see backend_locks.js); errors as PoolError (OSError in Python)
 * @property {(mask: number) => number} setUmask set the umask applied to files and
 *   directories made in EXTMEMFS mounts; returns the previous one
 * @property {(path: string) => boolean} ownDirectory a directory made at `path` from now
 *   on (by this instance) belongs to it: removed, if empty, when it dies (dot-locks);
 *   false if `path` is not in an EXTMEMFS mount
 */

/**
 * Make the EXTMEMFS type for one Emscripten instance and register it as
 * FS.filesystems.EXTMEMFS. Idempotent per FS.
 * @param {{FS: any, ERRNO_CODES: Record<string, number>, Module?: any}} em the instance's
 *   FS, its errno table and its Module (for mmap: HEAPU8 and the allocator; optional)
 * @returns {ExtmemfsType} the FS type; mount with FS.mount(type, {pool, readonly}, path)
 */
export function install(em) {
  const { FS, ERRNO_CODES, Module } = em;
  if (FS.filesystems && FS.filesystems.EXTMEMFS) return FS.filesystems.EXTMEMFS;

  function errnoError(e) {
    if (e && e.name === "ErrnoError") return e;
    if (e instanceof PoolError || (e && e.name === "PoolError")) {
      const code = ERRNO_CODES[e.code];
      if (code === undefined) return new Error(`extmemfs: unknown errno name ${e.code}`);
      const err = new FS.ErrnoError(code);
      err.message = e.message;
      return err;
    }
    if (e && e.name === "EvictedError") {
      const err = new FS.ErrnoError(ERRNO_CODES.EIO);
      err.message = e.message;
      return err;
    }
    if (e instanceof RangeError) {
      // An offset outside the Memory: the pool is corrupt. Never let it look like data.
      const err = new FS.ErrnoError(ERRNO_CODES.EIO);
      err.message = `EIO: pool access out of range (${e.message})`;
      return err;
    }
    return e;
  }
  const erofs = () => {
    const err = new FS.ErrnoError(ERRNO_CODES.EROFS);
    err.message = "EROFS: the EXTMEMFS mount is read-only";
    return err;
  };

  /** Per-mount state: the pool, and a cache of nodes by inode number. */
  function mountState(node) {
    return node.mount.xmfs;
  }

  function makeNode(st, parent, name, h) {
    const node = new FS.FSNode(parent || null, name, h.mode, 0);
    node.id = h.ino; // getdents reports node ids as d_ino: make them st_ino
    node.node_ops = nodeOps;
    node.stream_ops = streamOps;
    node.xino = h.ino;
    node.xgen = h.gen;
    if (parent) node.mount = parent.mount;
    st.nodes.set(h.ino, node);
    return node;
  }

  /**
   * The node for (parent, name), fresh from the pool. A cached node is reused only if
   * its generation matches; a stale one (its inode number was reused) is replaced.
   */
  function lookup(parent, name) {
    const st = mountState(parent);
    const h = st.pool.find(parent.xino, parent.xgen, name);
    if (h === null) throw new FS.ErrnoError(ERRNO_CODES.ENOENT); // cheap: not an Error
    return nodeFor(st, parent, name, h);
  }

  /** The cached node of handle h (if its generation matches), else a new one. */
  function nodeFor(st, parent, name, h) {
    const node = st.nodes.get(h.ino);
    if (node && node.xgen === h.gen) {
      node.parent = parent;
      node.name = name;
      node.mode = h.mode;
      return node;
    }
    return makeNode(st, parent, name, h);
  }

  /** The mount's copier if `buffer` is this instance's whole heap (offsets are heap
   * addresses then), else null. Emscripten's read/write syscalls pass its current HEAP8
   * view: that identity is tested first (reading Memory.buffer costs ~25 ns a call). */
  const heapCopier = (st, buffer) =>
    st.copier && (buffer === Module.HEAP8 || buffer === Module.HEAPU8 ||
      (buffer.buffer === Module.memory.buffer && buffer.byteOffset === 0)) ? st.copier : null;

  const nodeOps = {
    getattr(node) {
      const st = mountState(node);
      const a = st.pool.getattr(node.xino, node.xgen);
      node.mode = a.mode;
      const type = a.mode & L.S_IFMT;
      const size = type === L.S_IFDIR ? 4096 : a.size;
      // As ext4: 512-byte units of whole 4 KiB blocks; a symlink of under 60 bytes
      // lives in its inode (0 blocks).
      const blocks = type === L.S_IFLNK && size < 60 ? 0 : Math.ceil(size / 4096) * 8;
      return {
        dev: DEV,
        ino: a.ino,
        mode: a.mode,
        nlink: a.nlink,
        uid: 0,
        gid: 0,
        rdev: 0,
        size,
        atime: new Date(a.atime),
        mtime: new Date(a.mtime),
        ctime: new Date(a.ctime),
        blksize: 4096,
        blocks,
      };
    },
    setattr(node, attr) {
      const st = mountState(node);
      if (st.readonly) throw erofs();
      if (attr.size !== undefined && attr.size !== null) {
        st.pool.truncate(node.xino, node.xgen, attr.size);
      }
      if (attr.mode != null && node.xcreated) {
        // The chmod FS.open makes right after creating the file: mknod already gave it
        // that mode (with the umask), as Linux's open(O_CREAT) does — nothing to store.
        node.xcreated = false;
        attr = { ...attr, mode: undefined };
      }
      const set = {};
      let any = false;
      for (const key of ["mode", "atime", "mtime"]) {
        if (attr[key] !== undefined && attr[key] !== null) {
          set[key] = attr[key];
          any = true;
        }
      }
      if (any) {
        st.pool.setattr(node.xino, node.xgen, set);
        if (set.mode !== undefined) node.mode = (node.mode & L.S_IFMT) | (set.mode & 0o7777);
      }
    },
    lookup(parent, name) {
      return lookup(parent, name);
    },
    mknod(parent, name, mode, dev) {
      const st = mountState(parent);
      if (st.readonly) throw erofs();
      const type = mode & L.S_IFMT;
      if (type !== L.S_IFREG && type !== L.S_IFDIR) {
        throw new PoolError("EPERM", `EXTMEMFS stores files, directories and symlinks only`);
      }
      const mask = paths.umask();
      // Inside FS.open(O_CREAT) (a file made with mode 0777, then chmod-ed to the bits
      // asked for): make it with those bits at once, and pinned for the open that
      // follows — one transaction instead of three (create, open's pin, chmod).
      const want = type === L.S_IFREG ? paths.openMode() : -1;
      mode = want >= 0 ? (mode & L.S_IFMT) | (want & ~mask) : (mode & ~0o777) | (mode & 0o777 & ~mask);
      const owned = type === L.S_IFDIR && st.owned.size > 0 && st.owned.has(`${parent.xino}/${parent.xgen}/${name}`);
      const opts = owned ? { owned } : want >= 0 ? { pin: true } : undefined;
      const h = st.pool.create(parent.xino, parent.xgen, name, mode, undefined, opts);
      const node = makeNode(st, parent, name, h);
      if (want >= 0) {
        node.xcreated = true; // (setattr: FS.open's chmod is already done)
        node.xprepinned = true; // (stream open: the pin is already taken)
        paths.created(node); // (openDone, below, when FS.open returns)
      }
      return node;
    },
    rename(oldNode, newDir, newName) {
      const st = mountState(oldNode);
      if (st.readonly) throw erofs();
      const oldDir = oldNode.parent;
      st.pool.rename(oldDir.xino, oldDir.xgen, oldNode.name, newDir.xino, newDir.xgen, newName);
      oldNode.name = newName;
    },
    unlink(parent, name) {
      const st = mountState(parent);
      if (st.readonly) throw erofs();
      st.pool.unlink(parent.xino, parent.xgen, name);
    },
    rmdir(parent, name) {
      const st = mountState(parent);
      if (st.readonly) throw erofs();
      st.pool.rmdir(parent.xino, parent.xgen, name);
    },
    readdir(node) {
      return [".", "..", ...mountState(node).pool.readdirPlus(node.xino, node.xgen).names];
    },
    symlink(parent, newName, oldPath) {
      const st = mountState(parent);
      if (st.readonly) throw erofs();
      const h = st.pool.create(parent.xino, parent.xgen, newName, L.S_IFLNK | 0o777, oldPath);
      return makeNode(st, parent, newName, h);
    },
    readlink(node) {
      return mountState(node).pool.readlink(node.xino, node.xgen);
    },
  };

  const streamOps = {
    open(stream) {
      const st = mountState(stream.node);
      if (st.readonly && (stream.flags & O_ACCMODE) !== 0) throw erofs();
      if (stream.node.xprepinned) stream.node.xprepinned = false; // (taken by mknod)
      else st.pool.open(stream.node.xino, stream.node.xgen);
      stream.xpinned = true;
      // stream.shared is the open file description, shared by dup'd descriptors: count
      // them (flock and OFD locks go when the last one closes).
      stream.shared.xrefs = 1;
      if ((stream.node.mode & L.S_IFMT) === L.S_IFDIR) listOpenDirectory(stream);
    },
    dup(stream) {
      const st = mountState(stream.node);
      st.pool.open(stream.node.xino, stream.node.xgen);
      stream.xpinned = true;
      stream.shared.xrefs = (stream.shared.xrefs || 0) + 1;
      if ((stream.node.mode & L.S_IFMT) === L.S_IFDIR) listOpenDirectory(stream);
    },
    close(stream) {
      if (!stream.xpinned) return;
      stream.xpinned = false;
      const node = stream.node;
      const pool = mountState(node).pool;
      const sh = stream.shared;
      sh.xrefs = (sh.xrefs || 1) - 1;
      try {
        pool.releaseLocks(node.xino, node.xgen, sh.xofd || 0, sh.xrefs === 0);
      } finally {
        pool.close(node.xino, node.xgen);
      }
    },
    read(stream, buffer, offset, length, position) {
      const node = stream.node;
      const st = mountState(node);
      // Reads into the instance's own heap (what Python's read() does) take the
      // wasm copier where there is one; offsets into HEAP8 are heap addresses.
      const c = heapCopier(st, buffer);
      return c
        ? st.pool.read(node.xino, node.xgen, buffer, offset, length, position, c.copyOut, c.read)
        : st.pool.read(node.xino, node.xgen, buffer, offset, length, position);
    },
    write(stream, buffer, offset, length, position) {
      const node = stream.node;
      const st = mountState(node);
      if (st.readonly) throw erofs();
      // Writes from the instance's own heap (Python's write()) take the copier too.
      const c = heapCopier(st, buffer);
      const append = (stream.flags & O_APPEND) !== 0;
      if (c) st.pool.write(node.xino, node.xgen, buffer, offset, length, position, append, c.copyIn, c.write);
      else st.pool.write(node.xino, node.xgen, buffer, offset, length, position, append);
      return length;
    },
    llseek(stream, offset, whence) {
      let position = offset;
      if (whence === 1) {
        position += stream.position;
      } else if (whence === 2) {
        const node = stream.node;
        if ((node.mode & L.S_IFMT) === L.S_IFREG) {
          position += mountState(node).pool.getattr(node.xino, node.xgen).size;
        }
      }
      if (position < 0) throw new PoolError("EINVAL", `seek to negative offset ${position}`);
      const dir = stream.node;
      if ((dir.mode & L.S_IFMT) === L.S_IFDIR) {
        if (whence === 1 && offset === 0 && dir.xlist && dir.xlist.stream === stream) {
          activeDir = dir; // getdents begins (see "directory listings")
          listReads = 0;
          listAnswered = false;
          dir.xlist.next = Math.max(2, Math.floor(position / DIRENT_BYTES));
        } else {
          activeDir = null;
        }
      }
      return position;
    },
    mmap(stream, length, position, prot, flags) {
      const node = stream.node;
      if ((node.mode & L.S_IFMT) !== L.S_IFREG) throw new PoolError("ENODEV", "mmap of a non-file");
      const aligned = Math.ceil(length / 65536) * 65536;
      const ptr = Module._emscripten_builtin_memalign(65536, aligned);
      if (!ptr) throw new PoolError("ENOMEM", `cannot map ${length} bytes`);
      const heap = Module.HEAPU8;
      const st = mountState(node);
      // Read straight into the mapping (the wasm copier where there is one), then zero
      // only what the file did not fill: past its end, and the alignment tail.
      let n;
      try {
        n = st.pool.read(node.xino, node.xgen, heap, ptr, length, position, st.copier ? st.copier.copyOut : undefined);
      } catch (err) {
        Module._emscripten_builtin_free(ptr);
        throw err;
      }
      heap.fill(0, ptr + n, ptr + aligned);
      return { ptr, allocated: true };
    },
    msync(stream, buffer, offset, length, mmapFlags) {
      const node = stream.node;
      const st = mountState(node);
      if (st.readonly) throw erofs();
      // As on Linux, a mapping does not extend the file: bytes past its end are dropped.
      const size = st.pool.getattr(node.xino, node.xgen).size;
      const n = Math.max(0, Math.min(length, size - offset));
      if (n) st.pool.write(node.xino, node.xgen, buffer, 0, n, offset, false);
      return 0;
    },
  };

  // ---- directory listings (see the top of this file) -------------------------------
  // Emscripten's getdents runs, for each call: llseek(stream, 0, SEEK_CUR); then for each
  // entry from position / DIRENT_BYTES on, reads the name from stream.getdents and calls
  // FS.lookupNode(dir, name) for its d_ino and d_type; then llseek(stream, end, SEEK_SET).
  // Between the two llseeks (`activeDir`), lookups of the listed directory that ask for
  // the next name in order are answered from the listing: as it was read if no name
  // changed anywhere in the pool since (changeCount), else afresh from the pool — and
  // from the listing only if the entry has gone meanwhile (a removal during a listing
  // does not fail it; Linux may return such an entry too). getdents reads only the
  // answer's id and mode, so the answer is one reused {id, mode} record, not a node:
  // no node is made or touched per entry (that was most of a listing's cost). That
  // record must never reach another caller, so it is handed out only on getdents' own
  // pattern: after its llseek, getdents reads stream.getdents (our getter) at least twice
  // before its first lookup (the length, then the entry) and once before each further
  // one; a program's lseek(fd, 0, SEEK_CUR) on the directory (Emscripten's fd_seek reads
  // the getter once after it) followed by a path lookup does not match, and ends the
  // listing's answers. Should getdents leave between the llseeks by an exception (its
  // lookups, its walk of ".."), activeDir is cleared on the way out too.
  const DIRENT_BYTES = 280; // Emscripten's struct dirent stride in getdents
  /** The directory whose getdents is running, or null. */
  let activeDir = null;
  /** Reads of activeDir's stream.getdents since its llseek or the last answer. */
  let listReads = 0;
  /** Whether a lookup was answered from the listing since the llseek. */
  let listAnswered = false;

  /** [".", "..", names...] of directory node `dir`, read in one pass, kept on `dir`. */
  function listing(dir, stream) {
    const d = mountState(dir).pool.readdirPlus(dir.xino, dir.xgen);
    const all = [".", "..", ...d.names];
    dir.xlist = { all, d, next: 2, stream };
    return all;
  }

  /** Answer getdents' lookup of entry `name` of `dir` from its listing, or null. */
  function listedNode(dir, name) {
    const l = dir.xlist;
    const i = l.next;
    if (l.all[i] !== name) return null;
    l.next = i + 1;
    const st = mountState(dir);
    const d = l.d;
    const k = i - 2;
    if (st.pool.changeCount() !== d.change) {
      const h = st.pool.find(dir.xino, dir.xgen, name);
      if (h !== null) {
        listed.id = h.ino;
        listed.mode = h.mode;
        return listed;
      }
    }
    listed.id = d.inos[k];
    listed.mode = d.modes[k];
    return listed;
  }
  /** What listedNode answers getdents: the entry's d_ino and mode (see above). */
  const listed = { id: 0, mode: 0 };

  /**
   * getdents lists `stream.path` (FS.readdir of a path) at its first call: a directory
   * renamed since it was opened would be missed or another one listed. Linux lists the
   * directory that was opened: give the stream a getdents that reads its own node when
   * first read, and again after a rewind (Emscripten's lseek to 0 sets it to null).
   */
  function listOpenDirectory(stream) {
    let cached;
    Object.defineProperty(stream, "getdents", {
      configurable: true,
      enumerable: false,
      get() {
        if (activeDir === stream.node) listReads++;
        if (cached === undefined) {
          try {
            cached = listing(stream.node, stream);
            // getdents looks ".." up by stream.path: follow a rename since the open
            const path = pathOf(stream.node);
            if (path !== null) stream.path = path;
          } catch (err) {
            throw errnoError(err);
          }
        }
        return cached;
      },
      set(v) {
        cached = v == null ? undefined : v;
      },
    });
  }

  /** The absolute path of our directory node now (from the pool), or null if removed. */
  function pathOf(dir) {
    const rel = mountState(dir).pool.dirPath(dir.xino, dir.xgen);
    if (rel === null) return null;
    const mp = dir.mount.mountpoint;
    return rel === "/" ? mp : mp === "/" ? rel : mp + rel;
  }

  // One error boundary: every op converts pool errors to this instance's ErrnoError.
  // read and write, the calls made most often, get a boundary each of their own: one
  // wrapper shared by every op calls its op through a call site that sees them all,
  // which the engine cannot inline (~20-40 ns a call).
  const { read: readOp, write: writeOp } = streamOps;
  for (const table of [nodeOps, streamOps]) {
    for (const [key, op] of Object.entries(table)) {
      if (op === readOp || op === writeOp) continue;
      const fn = /** @type {(...args: any[]) => any} */ (op);
      table[key] = function (a, b, c, d, e, f) {
        try {
          return fn.call(this, a, b, c, d, e, f);
        } catch (err) {
          throw errnoError(err);
        }
      };
    }
  }
  streamOps.read = function (stream, buffer, offset, length, position) {
    try {
      return readOp(stream, buffer, offset, length, position);
    } catch (err) {
      throw errnoError(err);
    }
  };
  streamOps.write = function (stream, buffer, offset, length, position) {
    try {
      return writeOp(stream, buffer, offset, length, position);
    } catch (err) {
      throw errnoError(err);
    }
  };

  /** @type {ExtmemfsType} */
  const EXTMEMFS = /** @type {any} */ ({
    /** Called by FS.mount(EXTMEMFS, {pool, readonly}, mountpoint). */
    mount(mount) {
      const opts = mount.opts || {};
      const pool = opts.pool;
      if (!pool || typeof pool.lookup !== "function") {
        throw errnoError(new PoolError("EINVAL", "FS.mount(EXTMEMFS, {pool}) needs a Pool"));
      }
      const st = {
        pool,
        readonly: !!opts.readonly,
        nodes: new Map(),
        /** @type {Set<string>} "dirIno/dirGen/name" of directories made owned (dot-locks) */
        owned: new Set(),
        copier: Module && Module.memory ? makeCopier(pool.memory, Module.memory) : null,
      };
      mount.xmfs = st;
      if (!mountPoints.includes(mount.mountpoint)) mountPoints.push(mount.mountpoint);
      const root = pool.rootHandle();
      const node = new FS.FSNode(null, "/", L.S_IFDIR | 0o777, 0);
      node.node_ops = nodeOps;
      node.stream_ops = streamOps;
      node.xino = root.ino;
      node.xgen = root.gen;
      node.id = root.ino;
      node.mount = mount;
      node.mode = pool.modeOf(root.ino, root.gen);
      st.nodes.set(root.ino, node);
      return node;
    },
    node_ops: nodeOps,
    stream_ops: streamOps,
  });

  // Name resolution under our directories always asks the pool (see top), except the
  // lookup getdents makes right after reading an entry of a listing.
  const origLookupNode = FS.lookupNode;
  FS.lookupNode = function (parent, name) {
    if (parent.node_ops === nodeOps) {
      if (activeDir === parent) {
        if (listReads < (listAnswered ? 1 : 2)) {
          activeDir = null; // not getdents asking (see "directory listings")
        } else {
          listReads = 0;
          listAnswered = true;
          try {
            const node = listedNode(parent, name);
            if (node !== null) return node;
          } catch (err) {
            activeDir = null; // getdents leaves by this exception
            throw errnoError(err);
          }
        }
      }
      try {
        const errCode = FS.mayLookup(parent);
        if (errCode) throw new FS.ErrnoError(errCode);
        return lookup(parent, name);
      } catch (err) {
        if (activeDir === parent) activeDir = null;
        throw errnoError(err);
      }
    }
    return origLookupNode.call(FS, parent, name);
  };
  // statfs: Emscripten asks node_ops.statfs(opts.root); answer from the pool.
  const origStatfsNode = FS.statfsNode;
  FS.statfsNode = function (node) {
    if (node.node_ops === nodeOps) {
      const rtn = origStatfsNode.call(FS, { node_ops: {}, mount: node.mount });
      try {
        return Object.assign(rtn, mountState(node).pool.statfs(), { fsid: DEV });
      } catch (err) {
        throw errnoError(err);
      }
    }
    return origStatfsNode.call(FS, node);
  };
  // FS.rename re-adds the moved node to FS.nameTable; keep our nodes out of it.
  const origHashAddNode = FS.hashAddNode;
  FS.hashAddNode = function (node) {
    if (node.node_ops === nodeOps) return;
    return origHashAddNode.call(FS, node);
  };

  // The current directory. Emscripten keeps it as a path string; Linux keeps the
  // directory itself. When it is in an EXTMEMFS mount we remember its inode and
  // recompute the path from the pool, so a rename by another instance is followed
  // and a removal makes getcwd() and relative lookups fail with ENOENT, as on Linux.
  let cwd = null;
  let mayDeleteDepth = 0;
  const origChdir = FS.chdir;
  FS.chdir = function (path) {
    origChdir.call(FS, path);
    const node = FS.lookupPath(FS.currentPath, { follow: true }).node;
    cwd = node.node_ops === nodeOps ? { node, ino: node.xino, gen: node.xgen } : null;
  };
  const origCwd = FS.cwd;
  FS.cwd = function () {
    if (cwd) {
      const path = pathOf(cwd.node);
      if (path === null) {
        // FS.mayDelete compares paths with the cwd; it must not fail for that.
        if (mayDeleteDepth > 0) return FS.currentPath;
        const err = new FS.ErrnoError(ERRNO_CODES.ENOENT);
        err.message = "ENOENT: the current directory was removed";
        throw err;
      }
      FS.currentPath = path;
    }
    return origCwd.call(FS);
  };
  const origMayDelete = FS.mayDelete;
  FS.mayDelete = function (dir, name, isdir) {
    mayDeleteDepth++;
    try {
      return origMayDelete.call(FS, dir, name, isdir);
    } finally {
      mayDeleteDepth--;
    }
  };

  // FS.close tests stream.getdents (to drop it): for our directory streams that must
  // not read the directory just to throw the listing away.
  const origClose = FS.close;
  FS.close = function (stream) {
    if (stream && stream.node && stream.node.node_ops === nodeOps) {
      const d = Object.getOwnPropertyDescriptor(stream, "getdents");
      if (d && d.get) delete stream.getdents; // (never read: nothing to list)
      const node = stream.node;
      if (node.xlist && node.xlist.stream === stream) delete node.xlist;
      if (activeDir === node) activeDir = null;
    }
    return origClose.call(FS, stream);
  };

  // FS.unlink of a name in one of our directories: Emscripten looks the name up twice
  // (FS.unlink, then FS.mayDelete) only to find out what the pool's unlink tells by
  // itself (ENOENT, EISDIR). For such paths: one lookup of the directory, the same
  // permission checks, then the pool. Anything unusual (a read-only mount, a denied
  // permission, ".", "..", tracking delegates) takes Emscripten's path, as before. Other
  // paths go straight to Emscripten's FS.unlink (the mount-point prefix test, mayBeOurs,
  // only chooses the route; both routes give the same result).
  const origUnlink = FS.unlink;
  FS.unlink = function (path) {
    if (typeof path !== "string" || !mayBeOurs(path)) return origUnlink.call(FS, path);
    const parent = FS.lookupPath(path, { parent: true }).node; // (as FS.unlink's first step)
    const td = FS.trackingDelegate;
    if (!parent || parent.node_ops !== nodeOps || mountState(parent).readonly ||
        (td && (td.willDeletePath || td.onDeletePath))) {
      return origUnlink.call(FS, path);
    }
    const name = basename(path);
    if (!name || name === "/" || name === "." || name === ".." || FS.mayLookup(parent) ||
        FS.nodePermissions(parent, "wx")) {
      return origUnlink.call(FS, path);
    }
    try {
      mountState(parent).pool.unlink(parent.xino, parent.xgen, name);
    } catch (err) {
      throw errnoError(err);
    }
  };

  // FS.open(O_CREAT) of a path in one of our directories: Emscripten walks the path to
  // find nothing, walks it again to its directory (FS.mknod), looks the name up once
  // more (FS.mayCreate), then chmods the new file. Here: one walk to the directory, one
  // pool lookup of the name; an existing file is opened by its node (FS.open of a node:
  // what follows the walk in Emscripten), a missing one made by our mknod (final mode,
  // pinned) and opened as Emscripten opens a file it made. Anything else — symlinks,
  // mount points, O_DIRECTORY, denied permissions, read-only mounts, tracking delegates,
  // odd names — takes Emscripten's route.
  const origOpen = FS.open;
  FS.open = function (path, flags, mode) {
    const f = typeof flags === "string" ? MODE_FLAGS[flags] : flags;
    if (typeof path !== "string" || typeof f !== "number" || (f & (O_CREAT | O_DIRECTORY)) !== O_CREAT ||
        path === "" || path.endsWith("/") || !mayBeOurs(path)) {
      return origOpen.call(FS, path, flags, mode);
    }
    const td = FS.trackingDelegate;
    if (td && td.onOpenFile) return origOpen.call(FS, path, flags, mode);
    let parent;
    try {
      parent = FS.lookupPath(path, { parent: true }).node;
    } catch (e) {
      return origOpen.call(FS, path, flags, mode); // (it reports the error)
    }
    const name = basename(path);
    if (!parent || parent.node_ops !== nodeOps || !name || name === "/" || name === "." || name === ".." ||
        FS.mayLookup(parent)) {
      return origOpen.call(FS, path, flags, mode);
    }
    const st = mountState(parent);
    let node;
    try {
      const h = st.pool.find(parent.xino, parent.xgen, name);
      if (h !== null) node = nodeFor(st, parent, name, h);
    } catch (err) {
      return origOpen.call(FS, path, flags, mode);
    }
    if (node) {
      if (FS.isLink(node.mode) || FS.isMountpoint(node)) return origOpen.call(FS, path, flags, mode);
      return origOpen.call(FS, node, flags, mode);
    }
    if (st.readonly || FS.nodePermissions(parent, "wx")) return origOpen.call(FS, path, flags, mode);
    // As Emscripten's FS.open after its FS.mknod: a file made by the open is not
    // permission-checked (Linux: open(O_CREAT) of a mode-0444 file for writing works).
    node = nodeOps.mknod(parent, name, ((mode ?? 0o666) & 4095) | L.S_IFREG | 0o777, 0);
    const stream = FS.createStream({
      node,
      path: FS.getPath(node),
      flags: f & ~(O_EXCL | O_TRUNC | O_NOFOLLOW),
      seekable: true,
      position: 0,
      stream_ops: node.stream_ops,
      ungotten: [],
      error: false,
    });
    stream.stream_ops.open(stream);
    return stream;
  };

  /** Mount points of EXTMEMFS in this FS (a hint: may hold unmounted ones). */
  const mountPoints = [];
  /** Could `path` lead into an EXTMEMFS mount? False only when it surely cannot. */
  function mayBeOurs(path) {
    if (path.charCodeAt(0) !== 47) return cwd !== null || mayBeOurs(`${FS.currentPath}/${path}`);
    for (let i = 0; i < mountPoints.length; i++) {
      const mp = mountPoints[i];
      if (mp === "/" || (path.startsWith(mp) && (path.length === mp.length || path.charCodeAt(mp.length) === 47))) {
        return true;
      }
    }
    // (A path that reaches a mount through a symlink or "..": Emscripten's route, which
    // ends in our node_ops.unlink — slower, same result.)
    return false;
  }

  // Linux path semantics Emscripten's generic code gets wrong (backend_paths.js), and
  // the lock calls for our descriptors (backend_locks.js).
  const paths = installPathFixes({
    FS,
    ERRNO_CODES,
    isOurs: (node) => node.node_ops === nodeOps,
    openDone(node) {
      // FS.open(O_CREAT) made `node` and returned or failed: a pin mknod took that no
      // stream took over (the open failed after mknod) is dropped.
      node.xcreated = false;
      if (node.xprepinned) {
        node.xprepinned = false;
        try {
          mountState(node).pool.close(node.xino, node.xgen);
        } catch (err) {
          throw errnoError(err);
        }
      }
    },
  });
  // Plain absolute paths into our mounts: walked without Emscripten's string building
  // (backend_resolve.js); it wraps the fixed lookupPath, which handles everything else.
  installFastResolve({ FS, mayBeOurs });
  // getdents walks the path of ".." while a listing is active: if that throws, getdents
  // leaves before its closing llseek, and the listing must stop answering lookups.
  const resolvePath = FS.lookupPath;
  FS.lookupPath = function (path, opts) {
    if (activeDir === null) return resolvePath.call(FS, path, opts);
    try {
      return resolvePath.call(FS, path, opts);
    } catch (err) {
      activeDir = null;
      throw err;
    }
  };
  const locks = fdLocks({ FS, nodeOps, mountState, errnoName: (n) => errnoName(n) });
  EXTMEMFS.ownsFd = locks.ownsFd;
  EXTMEMFS.lockFd = locks.lockFd;
  EXTMEMFS.setUmask = (mask) => paths.setUmask(mask);
  EXTMEMFS.ownDirectory = (path) => {
    const r = FS.lookupPath(path, { parent: true });
    if (!r.node || r.node.node_ops !== nodeOps) return false;
    const name = path.replace(/\/+$/, "").split("/").pop();
    mountState(r.node).owned.add(`${r.node.xino}/${r.node.xgen}/${name}`);
    return true;
  };

  // FS.mount / FS.unmount throw ErrnoError, which is not an Error: JS-to-Python
  // conversion would lose its errno. These rethrow it as a PoolError by errno name.
  const errnoName = (n) => Object.keys(ERRNO_CODES).find((k) => ERRNO_CODES[k] === n) || "EIO";
  const fsCall = (what, fn) => {
    try {
      return fn();
    } catch (e) {
      if (e && e.name === "ErrnoError") throw new PoolError(errnoName(e.errno), what, "OSError");
      throw e;
    }
  };
  /** True where reads use the wasm multi-memory copier (see makeCopier). */
  EXTMEMFS.fastReads = (path) => !!FS.lookupPath(path, { follow: true }).node.mount.xmfs?.copier;
  /** FS.mount(EXTMEMFS, opts, path); errors as PoolError (errno names). */
  EXTMEMFS.mountAt = (opts, path) => fsCall(`cannot mount at ${path}`, () => FS.mount(EXTMEMFS, opts, path));
  /** FS.unmount(path); errors as PoolError. */
  EXTMEMFS.unmountAt = (path) => fsCall(`cannot unmount ${path}`, () => FS.unmount(path));

  FS.filesystems.EXTMEMFS = EXTMEMFS;
  return EXTMEMFS;
}

