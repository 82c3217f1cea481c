// jsglue/pool.js — a whole file system inside one shared WebAssembly.Memory: the Pool
// that composes the parts in jsglue/pool/ and is all that other layers see of them.
// Locks: its methods take what they need themselves (see each part).
//
// The pool knows nothing about Emscripten or Python. It speaks inode handles (ino, gen)
// and throws PoolError whose `code` is an errno NAME ("ENOENT", ...); the FS backend turns
// those into the mounting instance's FS.ErrnoError. Every instance that holds the Memory
// makes its own Pool object, which keeps only views, a lock helper and this instance's
// slot: all state is in the Memory (layout.js), so any number of Pool objects, in any
// number of threads, see one file system.
//
// The parts (each file says which locks its code expects):
//   pool/views.js      typed-array views of the Memory, renewed when it grows
//   pool/txlog.js      the META lock and its transactions (the undo log)
//   pool/heap.js       blocks, free lists, growth of the Memory
//   pool/inodes.js     the inode table
//   pool/dirs.js       directory tables and entries
//   pool/names.js      names: UTF-8 bytes and their hash
//   pool/pins.js       open files: pins and the per-instance pin tables
//   pool/instances.js  instance slots, liveness, recovery after a killed instance
//   pool/compact.js    compaction of the heap
//   pool/content.js    open/close/read/write/truncate of file content
//   pool/namespace.js  lookup/create/unlink/rename/readdir/attributes
//   pool/lookups.js    this instance's cache of lookups, checked against directory versions
//   pool/flocks.js     advisory file locks of all instances (flock, POSIX, OFD, dot-locks)
//   pool/format.js     a new pool: sizes, the Memory, an empty file system
//   pool/dirty.js      which pages changed since the last snapshot
//   pool/snapshot.js   a consistent image for persistence (a global pause), restore
//   pool/validate.js   the invariant checker
//   pool/diagnostics.js  a read-only block map of the Memory (blockMap)
//
// File locks (flock, fcntl record locks, lockf) are records in a lock table in the pool,
// changed under META like any metadata; a blocking request waits holding no pool lock.
//
// Locks (locks.js):
//   META          one read-write lock for the namespace, the inode table and the heap
//                 allocator. Readers: lookup, getattr, readdir, readlink, statfs.
//                 Writers: every namespace change, every allocation or free, open and
//                 close (pins are recorded in the instance's pin table too).
//   stripe(ino)   one of STRIPES read-write locks, chosen by inode number, guarding a
//                 file's content and its SIZE/EXTENT/CAP. read() holds it shared;
//                 write()/truncate() exclusively.
//   Order: a stripe before META, never the other way round.
//
// Surviving killed instances: each Pool object takes an instance slot; every lock hold
// names its slot; every metadata store under META is a logged transaction. A waiter
// whose blocker's heartbeat stands still for the lease undoes the blocker's transaction
// and releases what it held (pool/instances.js).
//
// Only `memory` is an own enumerable property of a Pool: posting a Pool to a worker
// (postMessage, structuredClone) sends {memory}, which attachPool / new Pool accept.
import { L } from "./layout.js";
import { Locks, detectCanBlock } from "./locks.js";
import { fail, describe } from "./errors.js";
import { Views, checkMemory } from "./pool/views.js";
import { TxLog } from "./pool/txlog.js";
import { Heap } from "./pool/heap.js";
import { Inodes } from "./pool/inodes.js";
import { Dirs } from "./pool/dirs.js";
import { Pins } from "./pool/pins.js";
import { Instances } from "./pool/instances.js";
import { Compactor } from "./pool/compact.js";
import { Content } from "./pool/content.js";
import { Namespace } from "./pool/namespace.js";
import { Lookups } from "./pool/lookups.js";
import { Flocks, TYPE_NAMES, describeLock } from "./pool/flocks.js";
import { createMemory } from "./pool/format.js";
import { Snapshots, restore } from "./pool/snapshot.js";
import { validate } from "./pool/validate.js";
import { blockMap, DEFAULT_MAX_BLOCKS } from "./pool/diagnostics.js";

export { KILLED } from "./pool/txlog.js";

/** @typedef {import("./pool/format.js").CreateOptions} CreateOptions */
/** @typedef {import("./pool/namespace.js").Handle} Handle */

/**
 * The Memory of whatever names a pool: a Memory, a Pool, or a posted Pool ({memory}).
 * @param {any} x
 * @returns {WebAssembly.Memory}
 */
function memoryOf(x) {
  if (x instanceof Pool) return x.memory;
  if (x && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype && "memory" in x) {
    return x.memory; // a Pool that went through postMessage / structuredClone
  }
  return x;
}

/** @returns {import("./pool/flocks.js").LockRequest} */
function flockReq(ofd, op) {
  const type = { shared: L.FL_READ, exclusive: L.FL_WRITE, unlock: 0 }[op];
  if (type === undefined) fail("EINVAL", `flock op must be "shared", "exclusive" or "unlock", got ${op}`);
  return { kind: L.FLK_FLOCK, type, ofd, start: 0, end: Infinity };
}

/** @returns {import("./pool/flocks.js").LockRequest} */
function rangeReq(range) {
  if (!range || typeof range !== "object") fail("EINVAL", `a lock range must be an object, got ${describe(range)}`);
  const type = TYPE_NAMES[range.type];
  if (type === undefined) fail("EINVAL", `lock type must be "read", "write" or "unlock", got ${range.type}`);
  const start = range.start ?? 0;
  const length = range.length ?? 0;
  const ofd = range.ofd ?? 0;
  if (!Number.isInteger(length) || length < 0) fail("EINVAL", `lock length must be a whole number ≥ 0, got ${length}`);
  return { kind: ofd ? L.FLK_OFD : L.FLK_POSIX, type, ofd, start, end: length === 0 ? Infinity : start + length };
}

export class Pool {
  /** @type {Views} */ #v;
  /** @type {TxLog} */ #tx;
  /** @type {Heap} */ #heap;
  /** @type {Inodes} */ #inodes;
  /** @type {Instances} */ #inst;
  /** @type {Content} */ #content;
  /** @type {Namespace} */ #ns;
  /** @type {Compactor} */ #compactor;
  /** @type {Snapshots} */ #snap;
  /** @type {Flocks} */ #flocks;
  /** @type {(ino: number, gen: number) => void} pins a file create() just made */
  #pinNew;

  /**
   * Attach to a formatted pool.
   * @param {WebAssembly.Memory | Pool | {memory: WebAssembly.Memory}} memory the pool's
   *   shared Memory, or a Pool (also one that was posted to this thread)
   * @param {{canBlock?: boolean, lockCore?: boolean}} [opts] canBlock: may this thread
   *   Atomics.wait (detected if omitted); lockCore: false takes the lock words'
   *   uncontended paths with JS Atomics instead of the wasm module of lockcore.js (for
   *   tests and comparisons; the protocol is the same)
   * @throws {import("./errors.js").PoolError} EINVAL (not a shared Memory, not a pool,
   *   another layout version), EMFILE (all instance slots taken)
   */
  constructor(memory, opts = {}) {
    memory = memoryOf(memory);
    checkMemory(memory);
    /** The pool's shared Memory: post it (or the Pool) to other threads. */
    this.memory = memory;
    const locks = new Locks(opts.canBlock ?? detectCanBlock());
    const v = new Views(memory, locks, opts.lockCore ?? true);
    if (v.u8.length < L.HEAP_START) fail("EINVAL", "the Memory is too small to be a pool");
    const magic = Atomics.load(v.u32, L.SB_MAGIC) >>> 0;
    if (magic !== L.MAGIC) {
      fail("EINVAL", `the Memory is not an extmemfs pool (magic 0x${magic.toString(16)})`);
    }
    const version = v.u32[L.SB_VERSION];
    if (version !== L.VERSION) {
      fail("EINVAL", `pool layout version ${version}; this extmemfs reads version ${L.VERSION}`);
    }
    const tx = new TxLog(v, locks);
    const heap = new Heap(v, tx);
    const inodes = new Inodes(v, tx, heap);
    const dirs = new Dirs(v, tx, heap, inodes);
    const pins = new Pins(v, tx, heap, inodes, locks);
    const inst = new Instances(v, tx, locks, heap, inodes, pins);
    const compactor = new Compactor(v, tx, locks, heap, inodes);
    this.#v = v;
    this.#tx = tx;
    this.#heap = heap;
    this.#inodes = inodes;
    this.#inst = inst;
    this.#compactor = compactor;
    this.#content = new Content(v, tx, locks, heap, inodes, pins, compactor);
    this.#pinNew = (ino, gen) => pins.pin(ino, gen, inodes.ib(ino) >>> 2);
    const ns = new Namespace(v, tx, heap, inodes, dirs, new Lookups(v));
    this.#ns = ns;
    this.#snap = new Snapshots(v, tx, locks);
    // ---- file locks: their table, and the hooks that keep it true (issue 14) ----
    const flocks = new Flocks(v, tx, locks, heap, inodes, ns, inst);
    this.#flocks = flocks;
    inodes.onFree((ino, gen) => flocks.dropInode(ino, gen));
    inst.onRelease((slot) => flocks.releaseSlot(slot));
    inst.claimSlot();
    inst.holdWebLock();
  }

  /**
   * Make a new shared Memory, format an empty pool in it and attach to it.
   * @param {CreateOptions} [opts] sizes in bytes or as strings ("64MiB"); defaults 16 MiB
   *   initial and 1 GiB maximum, lease 1000 ms
   * @returns {any} a Pool (of the class it is called on)
   * @throws {import("./errors.js").PoolError} EINVAL (bad sizes or lease, no
   *   SharedArrayBuffer), ENOMEM (the Memory could not be reserved)
   */
  static create(opts = {}) {
    if (!opts || typeof opts !== "object") {
      fail("EINVAL", `pool options must be an object, got ${describe(opts)}`, "TypeError");
    }
    return new this(createMemory(opts), opts);
  }

  /**
   * A live pool from a saved image already copied into `memory` (a fresh shared Memory of
   * the image's size): no instance of the image runs any more, so everything they held is
   * given back first (pool/snapshot.js restore), then this instance attaches.
   * @param {WebAssembly.Memory} memory
   * @param {{canBlock?: boolean}} [opts]
   * @returns {any} a Pool (of the class it is called on)
   */
  static restore(memory, opts = {}) {
    checkMemory(memory);
    restore(memory);
    return new this(memory, opts);
  }

  // ---- instances --------------------------------------------------------------------

  /** This instance's id in the pool: generation × 256 + slot. */
  get instanceId() {
    return this.#inst.instanceId;
  }
  /** This instance's slot in the pool's instance table (0 .. 63). */
  get slot() {
    return this.#inst.slot;
  }
  /** True once detach() ran: the Pool cannot be used any more. */
  get detached() {
    return this.#inst.detached;
  }
  /**
   * The attached instances, this one included. `kept_pins`: files it closed and keeps
   * pinned to reopen without a lock (pool/keptpins.js). `file_locks`: records it has in the
   * file-lock table (flock, fcntl and lockf locks, owned dot-lock directories);
   * `waiting_for`: the id of the instance whose POSIX lock it waits for (F_SETLKW), or
   * null.
   * @returns {Array<{id: number, slot: number, self: boolean, state: string,
   *   open_pins: number, kept_pins: number, holds: string[], since: number, file_locks: number,
   *   waiting_for: number | null}>}
   */
  instances() {
    const counts = this.#flocks.countBySlot();
    const waits = this.#flocks.waitsBySlot();
    const list = this.#inst.list();
    const ids = new Map(list.map((i) => [i.slot, i.id]));
    return list.map((i) => ({
      ...i,
      file_locks: counts.get(i.slot) || 0,
      waiting_for: waits.has(i.slot) ? ids.get(waits.get(i.slot)) ?? null : null,
    }));
  }
  /**
   * Declare instance `id` dead and clean up after it now (for hosts that terminated its
   * worker), once its heartbeat has stood still for `stillMs`.
   * @param {number} id
   * @param {number} [stillMs]
   * @returns {boolean} false if no such instance is attached
   * @throws {import("./errors.js").PoolError} EINVAL (bad id, own id), EBUSY (it runs)
   */
  evict(id, stillMs = 60) {
    return this.#inst.evict(id, stillMs);
  }
  /**
   * evict() after waiting, without blocking, until the instance has stopped (use it
   * right after Worker.terminate() in a browser).
   * @param {number} id
   * @param {number} [stillMs]
   * @param {number} [timeoutMs]
   * @returns {Promise<boolean>}
   */
  evictWhenStopped(id, stillMs = 60, timeoutMs = 5000) {
    return this.#inst.evictWhenStopped(id, stillMs, timeoutMs);
  }
  /**
   * Evict instances that died unnoticed, found by their liveness Web Locks (browsers).
   * @returns {Promise<number[]>} the ids evicted
   */
  sweep() {
    return this.#inst.sweep();
  }
  /** Leave the pool: release this instance's pins and slot. Idempotent. */
  detach() {
    this.#inst.detach();
  }

  // ---- namespace --------------------------------------------------------------------

  /** Inode number of the root directory. */
  get root() {
    return this.#inodes.root;
  }
  /** @returns {{ino: number, gen: number}} the root directory's handle */
  rootHandle() {
    return this.#ns.rootHandle();
  }
  /**
   * Look `name` up in directory (dir, dirGen). META read lock.
   * @param {number} dir
   * @param {number} dirGen
   * @param {string} name
   * @returns {Handle}
   * @throws {import("./errors.js").PoolError} ENOENT, ENOTDIR, ENAMETOOLONG, EINVAL
   */
  lookup(dir, dirGen, name) {
    return this.#ns.lookup(dir, dirGen, name);
  }
  /**
   * Like lookup, but a missing name gives null.
   * @param {number} dir
   * @param {number} dirGen
   * @param {string} name
   * @returns {Handle | null}
   */
  find(dir, dirGen, name) {
    return this.#ns.find(dir, dirGen, name);
  }
  /**
   * Create `name` in (dir, dirGen): a file, directory or symlink by `mode`'s type.
   * @param {number} dir
   * @param {number} dirGen
   * @param {string} name
   * @param {number} mode type and permission bits
   * @param {string} [target] symlink target (for S_IFLNK)
   * @param {{owned?: boolean, pin?: boolean}} [opts] owned (directories only): the
   *   directory belongs to this instance and is removed, if empty, when it dies or is
   *   evicted — a dot-lock that a killed worker cannot leave behind (made in the same
   *   transaction); pin (files only): the file is also open() — pinned in the same
   *   transaction (open(O_CREAT)); drop the pin with close()
   * @returns {Handle}
   * @throws {import("./errors.js").PoolError} EEXIST, ENOENT, ENOTDIR, ENAMETOOLONG,
   *   ENOSPC (also: no room for a bigger table of open files, with pin), EINVAL, ENOLCK
   *   (owned: no room for the lock record)
   */
  create(dir, dirGen, name, mode, target, opts) {
    if (opts && opts.owned) {
      if ((mode & L.S_IFMT) !== L.S_IFDIR) fail("EINVAL", "only directories can be owned");
      const flocks = this.#flocks;
      return this.#ns.create(dir, dirGen, name, mode, target, (ino, gen) => flocks.addDirOwner(ino, gen));
    }
    if (opts && opts.pin) {
      if ((mode & L.S_IFMT) !== L.S_IFREG) fail("EINVAL", "only files are created open");
      return this.#ns.create(dir, dirGen, name, mode, target, this.#pinNew);
    }
    return this.#ns.create(dir, dirGen, name, mode, target);
  }
  /**
   * Remove a non-directory entry (its inode lives on while open anywhere).
   * @param {number} dir
   * @param {number} dirGen
   * @param {string} name
   * @throws {import("./errors.js").PoolError} ENOENT, ENOTDIR, EISDIR
   */
  unlink(dir, dirGen, name) {
    this.#ns.unlink(dir, dirGen, name);
  }
  /**
   * Remove an empty directory.
   * @param {number} dir
   * @param {number} dirGen
   * @param {string} name
   * @throws {import("./errors.js").PoolError} ENOENT, ENOTDIR, ENOTEMPTY, EBUSY
   */
  rmdir(dir, dirGen, name) {
    this.#ns.rmdir(dir, dirGen, name);
  }
  /**
   * Rename as POSIX rename(2).
   * @param {number} oldDir
   * @param {number} oldDirGen
   * @param {string} oldName
   * @param {number} newDir
   * @param {number} newDirGen
   * @param {string} newName
   * @throws {import("./errors.js").PoolError} ENOENT, ENOTDIR, EISDIR, ENOTEMPTY,
   *   EINVAL (a directory into itself), EBUSY, ENAMETOOLONG, ENOSPC
   */
  rename(oldDir, oldDirGen, oldName, newDir, newDirGen, newName) {
    this.#ns.rename(oldDir, oldDirGen, oldName, newDir, newDirGen, newName);
  }
  /**
   * Names in directory (ino, gen), without "." and "..".
   * @param {number} ino
   * @param {number} gen
   * @returns {string[]}
   */
  readdir(ino, gen) {
    return this.#ns.readdir(ino, gen);
  }
  /**
   * Names in directory (ino, gen) with each entry's inode, generation and mode, read
   * in one pass (for readdir's d_ino and d_type).
   * @param {number} ino
   * @param {number} gen
   * @returns {import("./pool/namespace.js").Listing} shared with later calls: do not
   *   change it; modes are right as to the file type (permission bits may be older)
   */
  readdirPlus(ino, gen) {
    return this.#ns.readdirPlus(ino, gen);
  }
  /**
   * Namespace changes so far in the whole pool (no lock): while it stays the same, no
   * name was added, removed or renamed anywhere, and a listing is still true.
   */
  changeCount() {
    return this.#ns.changeCount();
  }
  /**
   * Target of symlink (ino, gen).
   * @param {number} ino
   * @param {number} gen
   * @returns {string}
   */
  readlink(ino, gen) {
    return this.#ns.readlink(ino, gen);
  }
  /**
   * Attributes of (ino, gen); sizes in bytes, times in ms since the epoch.
   * @param {number} ino
   * @param {number} gen
   * @returns {{ino: number, mode: number, nlink: number, size: number, atime: number,
   *   mtime: number, ctime: number}}
   */
  getattr(ino, gen) {
    return this.#ns.getattr(ino, gen);
  }
  /**
   * Current mode of (ino, gen), or 0 if the handle is stale.
   * @param {number} ino
   * @param {number} gen
   */
  modeOf(ino, gen) {
    return this.#ns.modeOf(ino, gen);
  }
  /**
   * Set permission bits and/or times (ms).
   * @param {number} ino
   * @param {number} gen
   * @param {{mode?: number, atime?: number, mtime?: number, ctime?: number}} attr
   */
  setattr(ino, gen, attr) {
    this.#ns.setattr(ino, gen, attr);
  }
  /**
   * Path of directory (ino, gen) from the root ("/a/b"), or null if it was removed.
   * @param {number} ino
   * @param {number} gen
   * @returns {string | null}
   */
  dirPath(ino, gen) {
    return this.#ns.dirPath(ino, gen);
  }

  // ---- content ----------------------------------------------------------------------

  /**
   * Pin (ino, gen) for content access (at open()).
   * @param {number} ino
   * @param {number} gen
   */
  open(ino, gen) {
    this.#content.open(ino, gen);
  }
  /**
   * Drop a pin taken by open().
   * @param {number} ino
   * @param {number} gen
   */
  close(ino, gen) {
    this.#content.close(ino, gen);
  }
  /**
   * Copy up to `len` bytes at file offset `pos` into dst[dstOff..]; the inode must be
   * open. Returns the byte count (0 at or past the end).
   * @param {number} ino
   * @param {number} gen
   * @param {Uint8Array} dst
   * @param {number} dstOff
   * @param {number} len
   * @param {number} pos
   * @param {(dstOff: number, poolOffset: number, n: number) => void} [copyOut] does the
   *   copy instead of dst.set (a faster engine path, e.g. wasm memory.copy)
   * @param {import("./copier.js").Copier["read"]} [fastRead] a whole small read as one
   *   wasm call (the copier's read, over the heap copyOut copies into), tried first
   */
  read(ino, gen, dst, dstOff, len, pos, copyOut, fastRead) {
    return this.#content.read(ino, gen, dst, dstOff, len, pos, copyOut, fastRead);
  }
  /**
   * Write src[srcOff, srcOff+len) at `pos` (at the end if `append`), zero-filling a gap;
   * the inode must be open. Returns the offset just past the written bytes.
   * @param {number} ino
   * @param {number} gen
   * @param {Uint8Array} src
   * @param {number} srcOff
   * @param {number} len
   * @param {number} pos
   * @param {boolean} [append]
   * @param {(poolOffset: number, srcOff: number, n: number) => void} [copyIn] does the
   *   copy instead of TypedArray.set (a faster engine path, e.g. wasm memory.copy)
   * @param {import("./copier.js").Copier["write"]} [fastWrite] a whole small write as one
   *   wasm call (the copier's write, over the heap copyIn copies from), tried first
   * @throws {import("./errors.js").PoolError} ENOSPC (nothing written), EFBIG
   */
  write(ino, gen, src, srcOff, len, pos, append, copyIn, fastWrite) {
    return this.#content.write(ino, gen, src, srcOff, len, pos, append, copyIn, fastWrite);
  }
  /**
   * Set the size of file (ino, gen) in bytes, zero-filling growth.
   * @param {number} ino
   * @param {number} gen
   * @param {number} newSize
   * @throws {import("./errors.js").PoolError} ENOENT, EISDIR, EINVAL, ENOSPC, EFBIG
   */
  truncate(ino, gen, newSize) {
    this.#content.truncate(ino, gen, newSize);
  }

  // ---- file locks (pool/flocks.js) ---------------------------------------------------
  // Advisory locks shared by every instance attached to the pool. POSIX record locks
  // belong to this Pool object (the "process"); flock and OFD locks to an open file
  // description: a number from newOfd() that the caller keeps for one open file and
  // its duplicates. Blocking calls wait holding no pool lock (Atomics.wait in workers
  // and node; spinning with growing pauses where the thread may not block, as a
  // browser main thread: use the Async forms there).

  /** A new open-file-description number for flock and OFD locks, unique here. */
  newOfd() {
    return this.#flocks.newOfd();
  }
  /**
   * flock(2) on (ino, gen) for open file description `ofd`.
   * @param {number} ino
   * @param {number} gen
   * @param {number} ofd from newOfd()
   * @param {"shared" | "exclusive" | "unlock"} op
   * @param {{wait?: boolean}} [opts] wait (default true): block until granted;
   *   false: fail with EAGAIN at once if another description holds a conflicting lock
   * @throws {import("./errors.js").PoolError} EAGAIN, EINVAL, ENOENT, ENOLCK
   */
  flock(ino, gen, ofd, op, opts = {}) {
    this.#flocks.lock(ino, gen, flockReq(ofd, op), opts.wait !== false);
  }
  /**
   * A POSIX record lock (fcntl F_SETLK / F_SETLKW) on bytes [start, start + length)
   * of (ino, gen), owned by this instance — or by open file description `ofd` if it is
   * given (F_OFD_SETLK). Locking over one's own locks replaces, splits and merges them
   * as on Linux; "unlock" drops that range.
   * @param {number} ino
   * @param {number} gen
   * @param {{type: "read" | "write" | "unlock", start?: number, length?: number,
   *   ofd?: number}} range bytes; length 0 (default) = to the end of the file, always
   * @param {{wait?: boolean}} [opts] wait (default true) or fail with EAGAIN
   * @throws {import("./errors.js").PoolError} EAGAIN, EDEADLK (waiting would deadlock
   *   with another POSIX waiter), EINVAL, EOVERFLOW, ENOENT, ENOLCK
   */
  lockRange(ino, gen, range, opts = {}) {
    this.#flocks.lock(ino, gen, rangeReq(range), opts.wait !== false);
  }
  /**
   * The lock that would block `range` (fcntl F_GETLK), or null.
   * @param {number} ino
   * @param {number} gen
   * @param {{type: "read" | "write", start?: number, length?: number, ofd?: number}} range
   * @returns {{ino: number, gen: number, kind: string, type: string, start: number,
   *   length: number, pid: number, ofd: number} | null} pid: the holder's instance id
   * @throws {import("./errors.js").PoolError} EINVAL, ENOENT
   */
  testRange(ino, gen, range) {
    const r = this.#flocks.test(ino, gen, rangeReq(range));
    return r && describeLock(r);
  }
  /**
   * flock() that waits without blocking the thread (timers), for browser main threads.
   * @param {number} ino
   * @param {number} gen
   * @param {number} ofd
   * @param {"shared" | "exclusive" | "unlock"} op
   * @returns {Promise<void>}
   */
  flockAsync(ino, gen, ofd, op) {
    return this.#poll(() => this.#flocks.lock(ino, gen, flockReq(ofd, op), false));
  }
  /**
   * lockRange() that waits without blocking the thread (timers).
   * @param {number} ino
   * @param {number} gen
   * @param {{type: "read" | "write" | "unlock", start?: number, length?: number,
   *   ofd?: number}} range
   * @returns {Promise<void>}
   */
  lockRangeAsync(ino, gen, range) {
    return this.#poll(() => this.#flocks.lock(ino, gen, rangeReq(range), false));
  }
  async #poll(attempt) {
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        return attempt();
      } catch (e) {
        if (!(e && e.code === "EAGAIN")) throw e;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  /**
   * What closing a descriptor releases on Linux: this instance's POSIX locks on the
   * file, and, when `lastRef` (the last descriptor of `ofd` closes), `ofd`'s flock and
   * OFD locks. Takes no lock when this instance holds none on the file.
   * @param {number} ino
   * @param {number} gen
   * @param {number} ofd 0 if the description never locked
   * @param {boolean} lastRef
   */
  releaseLocks(ino, gen, ofd, lastRef) {
    this.#flocks.releaseOnClose(ino, gen, ofd, lastRef);
  }
  /**
   * Low-level lock call (the FS backend's): a request in layout terms.
   * @param {number} ino
   * @param {number} gen
   * @param {import("./pool/flocks.js").LockRequest} req
   * @param {boolean} wait
   */
  lock(ino, gen, req, wait) {
    this.#flocks.lock(ino, gen, req, wait);
  }
  /**
   * Low-level F_GETLK: the record that blocks `req`, or null.
   * @param {number} ino
   * @param {number} gen
   * @param {import("./pool/flocks.js").LockRequest} req
   * @returns {import("./pool/flocks.js").LockRecord | null}
   */
  testLock(ino, gen, req) {
    return this.#flocks.test(ino, gen, req);
  }
  /**
   * Every file lock in the pool (or on inode `ino`): kind ("flock", "posix", "ofd",
   * "dir"), type, start, length (0 = to the end), pid (holder's instance id), ofd.
   * @param {number} [ino]
   */
  fileLocks(ino) {
    return this.#flocks.list(ino).map(describeLock);
  }

  // ---- whole pool -------------------------------------------------------------------

  /** Bytes of the Memory now (= the heap's end). */
  get heapEnd() {
    return this.#v.heapEnd;
  }
  /** The most bytes the Memory may grow to. */
  get maxBytes() {
    return this.#v.maxBytes;
  }
  /**
   * Slide every used block together so that all free space is one block at the end
   * (stop-the-world). Returns false, changing nothing, on a corrupt pool.
   */
  compact() {
    return this.#compactor.compact();
  }
  /**
   * Usage figures in bytes and counts. META read lock.
   * @returns {{size: number, maximum_size: number, used_bytes: number, free_bytes: number,
   *   available_bytes: number, files: number, directories: number, symlinks: number,
   *   inodes: number, largest_free_extent: number, layout_version: number,
   *   peak_parallel_copies: number, compactions: number, recoveries: number,
   *   lease_ms: number, sync_generation: number, longest_pause_ms: number,
   *   lock_waits: number, lock_wait_ms: number, longest_lock_wait_ms: number,
   *   longest_lock_wait_on: string, reads_beside_writes: number, opens_without_lock: number,
   *   extent_moves: number, bytes_moved: number}}
   *   peak_parallel_copies: the most threads ever inside a bulk copy at once;
   *   compactions: times the heap was compacted; recoveries: dead or evicted instances
   *   cleaned up; sync_generation: the last image taken for persistence (0: none);
   *   longest_pause_ms: the longest pause an image took so far; lock_waits,
   *   lock_wait_ms, longest_lock_wait_ms: this instance's waits for pool locks other
   *   instances held (how many, their total and the longest, since it attached or
   *   since resetLockWaits()); longest_lock_wait_on: the lock and hold that longest wait
   *   was for ("read META", "write stripe 5"; "" if none); reads_beside_writes: reads
   *   this instance made without the lock beside another's bulk write of the file;
   *   opens_without_lock: opens and closes this instance did without a lock (a file it
   *   had open, or closed and kept pinned: pool/keptpins.js); extent_moves, bytes_moved:
   *   files this instance moved because they had to grow where they could not, and the
   *   bytes those moves copied
   */
  stats() {
    return this.#tx.withRead(() => {
      const v = this.#v;
      const u32 = v.u32;
      const size = v.heapEnd;
      return {
        size,
        maximum_size: v.maxBytes,
        used_bytes: u32[L.SB_HEAP_START] + u32[L.SB_USED_BYTES],
        free_bytes: u32[L.SB_FREE_BYTES],
        available_bytes: u32[L.SB_FREE_BYTES] + (v.maxBytes - size),
        files: u32[L.SB_N_FILES],
        directories: u32[L.SB_N_DIRS],
        symlinks: u32[L.SB_N_LINKS],
        inodes: u32[L.SB_INODES_LIVE],
        largest_free_extent: this.#heap.largestFreePayload(),
        layout_version: u32[L.SB_VERSION],
        peak_parallel_copies: Atomics.load(v.i32, L.SB_COPY_PEAK),
        compactions: u32[L.SB_COMPACTIONS],
        recoveries: u32[L.SB_RECOVERIES],
        lease_ms: u32[L.SB_LEASE_MS],
        sync_generation: u32[L.SB_SYNC_GEN],
        longest_pause_ms: u32[L.SB_SNAP_PAUSE_US] / 1000,
        lock_waits: this.#v.locks.waits.count,
        lock_wait_ms: this.#v.locks.waits.totalMs,
        longest_lock_wait_ms: this.#v.locks.waits.maxMs,
        longest_lock_wait_on: this.#v.locks.waits.maxOn,
        reads_beside_writes: this.#content.readsBeside,
        opens_without_lock: this.#content.pins.kept.unlocked,
        extent_moves: this.#content.moves,
        bytes_moved: this.#content.movedBytes,
      };
    });
  }
  /**
   * Start this instance's lock-wait figures of stats(), reads_beside_writes,
   * opens_without_lock, extent_moves and bytes_moved over.
   */
  resetLockWaits() {
    Object.assign(this.#v.locks.waits, { count: 0, totalMs: 0, maxMs: 0, maxOn: "" });
    this.#content.readsBeside = 0;
    this.#content.pins.kept.unlocked = 0;
    this.#content.moves = 0;
    this.#content.movedBytes = 0;
  }
  /** statfs figures (4096-byte blocks) for the whole pool, growth room included. */
  statfs() {
    const s = this.stats();
    const bsize = 4096;
    const files = L.MAX_CHUNKS * L.INODES_PER_CHUNK;
    return {
      bsize,
      frsize: bsize,
      blocks: Math.floor(s.maximum_size / bsize),
      bfree: Math.floor(s.available_bytes / bsize),
      bavail: Math.floor(s.available_bytes / bsize),
      files,
      ffree: files - s.inodes,
      namelen: L.NAME_MAX,
    };
  }
  /**
   * Walk the whole pool and list every violated invariant (layout.js); [] if sound.
   * META write lock (waits for namespace changes to finish).
   * @returns {string[]}
   */
  validate() {
    return this.#tx.withWrite(() => validate(this.#v));
  }

  // ---- diagnostics (pool/diagnostics.js) ---------------------------------------------

  /**
   * Which kind of block covers each of `buckets` equal stretches of the Memory
   * [0, heapEnd): file data, directory tables and entries, inode chunks, pin tables,
   * free, the fixed tables. For dashboards; O(blocks + buckets), and at most
   * `maxBlocks` blocks are walked (the rest is reported as not walked). META read lock.
   * @param {number} [buckets] 1 .. 1048576 (default 1024)
   * @param {{maxBlocks?: number}} [opts] maxBlocks: walk at most this many heap blocks
   *   (default 1048576)
   * @returns {import("./pool/diagnostics.js").BlockMap}
   * @throws {import("./errors.js").PoolError} EINVAL (bad buckets or maxBlocks)
   */
  blockMap(buckets = 1024, opts = {}) {
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1 << 20) {
      fail("EINVAL", `blockMap: buckets must be an integer 1 .. 1048576, got ${describe(buckets)}`);
    }
    const maxBlocks = opts?.maxBlocks ?? DEFAULT_MAX_BLOCKS;
    if (!Number.isInteger(maxBlocks) || maxBlocks < 1) {
      fail("EINVAL", `blockMap: maxBlocks must be a positive integer, got ${describe(maxBlocks)}`);
    }
    return this.#tx.withRead(() => blockMap(this.#v, buckets, maxBlocks));
  }

  // ---- snapshots (for persistence) ---------------------------------------------------

  /**
   * Stop every change to the pool, in every instance, until resume(): a consistent state
   * to copy. Returns the pages changed since the last pause (and clears that record).
   * Synchronous work only until resume(); keep it short (others wait).
   * @returns {import("./pool/snapshot.js").PauseInfo}
   */
  pause() {
    return this.#snap.pause();
  }
  /**
   * Record the generation of the image being taken (SYNC_GEN), during a pause.
   * @param {number} gen
   */
  setSyncGeneration(gen) {
    this.#snap.setGeneration(gen);
  }
  /** Keep this instance's heartbeat going during a long copy under a pause. */
  pulse() {
    this.#snap.pulse();
  }
  /** End a pause; returns how long it lasted in ms. */
  resume() {
    return this.#snap.resume();
  }
  /** Pages (64 KiB) changed since the last pause (an estimate while others write). */
  dirtyPages() {
    return this.#tx.dirty.count();
  }

  // ---- for tests --------------------------------------------------------------------

  /**
   * Test hook: "kill" this instance at the k-th crash point from now (before each
   * logged store, each chunk of a move or copy, after each commit) — see TxLog.hook.
   * @param {number} k
   */
  crashAfter(k) {
    this.#tx.crashAfter(k);
  }
  /** True once the test kill happened (crashAfter). */
  get killed() {
    return this.#tx.dead;
  }
  /** True if this instance takes its locks through the wasm module of lockcore.js. */
  get lockCore() {
    return this.#v.locks.core !== null;
  }
  /** Renew this instance's views of the Memory (after another instance grew it). */
  refreshViews() {
    this.#v.ensure();
  }
}
