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
import { L } from "./layout.js";
import { PoolError } from "./errors.js";

/**
 * A tiny wasm module (multi-memory) that imports the pool's shared Memory and the
 * instance's own heap Memory and copies pool → heap with one memory.copy: reading
 * out of shared memory this way is ~40% faster in V8 than TypedArray.set. Returns
 * copyOut(dst, src, n), or null where the engine has no multi-memory (node 20).
 */
function makeCopier(poolMemory, heapMemory) {
  if (!heapMemory || typeof WebAssembly.Instance !== "function") return null;
  // (module (import "e" "pool" (memory 1 65536 shared)) (import "e" "heap" (memory 1))
  //   (func (export "copyOut") (param i32 i32 i32)
  //     local.get 0 local.get 1 local.get 2 memory.copy 1 0))
  const leb = (n) => {
    const out = [];
    do {
      out.push((n & 0x7f) | (n >>> 7 ? 0x80 : 0));
      n >>>= 7;
    } while (n);
    return out;
  };
  const name = (t) => [t.length, ...Array.from(t, (c) => c.charCodeAt(0))];
  const section = (id, body) => [id, ...leb(body.length), ...body];
  const code = [0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x01, 0x00, 0x0b];
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]), // type (i32 i32 i32) -> ()
    ...section(2, [2, ...name("e"), ...name("pool"), 0x02, 0x03, ...leb(1), ...leb(65536),
      ...name("e"), ...name("heap"), 0x02, 0x00, ...leb(1)]), // memories 0 and 1
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name("copyOut"), 0x00, 0]), // export it
    ...section(10, [1, code.length, ...code]), // memory.copy heap(1) <- pool(0)
  ]);
  try {
    const mod = new WebAssembly.Module(bytes);
    return new WebAssembly.Instance(mod, { e: { pool: poolMemory, heap: heapMemory } }).exports.copyOut;
  } catch (e) {
    return null;
  }
}

const O_ACCMODE = 3;
const O_APPEND = 1024;
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
    const node = st.nodes.get(h.ino);
    if (node && node.xgen === h.gen) {
      node.parent = parent;
      node.name = name;
      node.mode = h.mode;
      return node;
    }
    return makeNode(st, parent, name, h);
  }

  const nodeOps = {
    getattr(node) {
      const st = mountState(node);
      const a = st.pool.getattr(node.xino, node.xgen);
      node.mode = a.mode;
      const isDir = (a.mode & L.S_IFMT) === L.S_IFDIR;
      const size = isDir ? 4096 : a.size;
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
        blocks: Math.ceil(size / 4096),
      };
    },
    setattr(node, attr) {
      const st = mountState(node);
      if (st.readonly) throw erofs();
      if (attr.size !== undefined && attr.size !== null) {
        st.pool.truncate(node.xino, node.xgen, attr.size);
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
      const h = st.pool.create(parent.xino, parent.xgen, name, mode);
      return makeNode(st, parent, name, h);
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
      const st = mountState(node);
      return [".", "..", ...st.pool.readdir(node.xino, node.xgen)];
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
      st.pool.open(stream.node.xino, stream.node.xgen);
      stream.xpinned = true;
    },
    dup(stream) {
      const st = mountState(stream.node);
      st.pool.open(stream.node.xino, stream.node.xgen);
      stream.xpinned = true;
    },
    close(stream) {
      if (!stream.xpinned) return;
      stream.xpinned = false;
      mountState(stream.node).pool.close(stream.node.xino, stream.node.xgen);
    },
    read(stream, buffer, offset, length, position) {
      const node = stream.node;
      const st = mountState(node);
      // Reads into the instance's own heap (what Python's read() does) take the
      // wasm copier where there is one; offsets into HEAP8 are heap addresses.
      const fast = st.copyOut && buffer.buffer === Module.memory.buffer && buffer.byteOffset === 0;
      return st.pool.read(node.xino, node.xgen, buffer, offset, length, position, fast ? st.copyOut : undefined);
    },
    write(stream, buffer, offset, length, position) {
      const node = stream.node;
      const st = mountState(node);
      if (st.readonly) throw erofs();
      st.pool.write(node.xino, node.xgen, buffer, offset, length, position, (stream.flags & O_APPEND) !== 0);
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
      return position;
    },
    mmap(stream, length, position, prot, flags) {
      const node = stream.node;
      if ((node.mode & L.S_IFMT) !== L.S_IFREG) throw new PoolError("ENODEV", "mmap of a non-file");
      const aligned = Math.ceil(length / 65536) * 65536;
      const ptr = Module._emscripten_builtin_memalign(65536, aligned);
      if (!ptr) throw new PoolError("ENOMEM", `cannot map ${length} bytes`);
      const heap = Module.HEAPU8;
      heap.fill(0, ptr, ptr + aligned);
      mountState(node).pool.read(node.xino, node.xgen, heap, ptr, length, position);
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

  // One error boundary: every op converts pool errors to this instance's ErrnoError.
  for (const table of [nodeOps, streamOps]) {
    for (const [key, op] of Object.entries(table)) {
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
        copyOut: Module && Module.memory ? makeCopier(pool.memory, Module.memory) : null,
      };
      mount.xmfs = st;
      const root = pool.rootHandle();
      const node = new FS.FSNode(null, "/", L.S_IFDIR | 0o777, 0);
      node.node_ops = nodeOps;
      node.stream_ops = streamOps;
      node.xino = root.ino;
      node.xgen = root.gen;
      node.mount = mount;
      node.mode = pool.modeOf(root.ino, root.gen);
      st.nodes.set(root.ino, node);
      return node;
    },
    node_ops: nodeOps,
    stream_ops: streamOps,
  });

  // Name resolution under our directories always asks the pool (see top).
  const origLookupNode = FS.lookupNode;
  FS.lookupNode = function (parent, name) {
    if (parent.node_ops === nodeOps) {
      const errCode = FS.mayLookup(parent);
      if (errCode) throw new FS.ErrnoError(errCode);
      try {
        return lookup(parent, name);
      } catch (err) {
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
      const mount = cwd.node.mount;
      const rel = mount.xmfs.pool.dirPath(cwd.ino, cwd.gen);
      if (rel === null) {
        // FS.mayDelete compares paths with the cwd; it must not fail for that.
        if (mayDeleteDepth > 0) return FS.currentPath;
        const err = new FS.ErrnoError(ERRNO_CODES.ENOENT);
        err.message = "ENOENT: the current directory was removed";
        throw err;
      }
      const mp = mount.mountpoint;
      FS.currentPath = rel === "/" ? mp : mp === "/" ? rel : mp + rel;
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
  EXTMEMFS.fastReads = (path) => !!FS.lookupPath(path, { follow: true }).node.mount.xmfs?.copyOut;
  /** FS.mount(EXTMEMFS, opts, path); errors as PoolError (errno names). */
  EXTMEMFS.mountAt = (opts, path) => fsCall(`cannot mount at ${path}`, () => FS.mount(EXTMEMFS, opts, path));
  /** FS.unmount(path); errors as PoolError. */
  EXTMEMFS.unmountAt = (path) => fsCall(`cannot unmount ${path}`, () => FS.unmount(path));

  FS.filesystems.EXTMEMFS = EXTMEMFS;
  return EXTMEMFS;
}

