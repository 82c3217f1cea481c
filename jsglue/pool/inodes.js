// jsglue/pool/inodes.js — the inode table: 64-byte records in chunks of 1024, each slot
// with a generation bumped at reuse, so a handle (ino, gen) to a removed file is told from
// its successor (layout.js: "Inode record").
// Locks: alloc/free/maybeFree/touch store metadata and expect META write held (free calls
// the onFree hooks inside its transaction); ib, live, liveDir and gen read and expect
// META held (read or write), or a pin on the inode.
import { L } from "../layout.js";
import { fail } from "../errors.js";

/** @param {number} m mode */
export const isDirMode = (m) => (m & L.S_IFMT) === L.S_IFDIR;
/** @param {number} m mode */
export const isRegMode = (m) => (m & L.S_IFMT) === L.S_IFREG;
/** @param {number} m mode */
export const isLnkMode = (m) => (m & L.S_IFMT) === L.S_IFLNK;

export class Inodes {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("./heap.js").Heap} heap
   */
  constructor(views, tx, heap) {
    this.v = views;
    this.tx = tx;
    this.heap = heap;
    /** @type {Array<(ino: number, gen: number) => void>} called by free(), under META */
    this._onFree = [];
    /**
     * Takes back the kept pins on a nameless inode (ino, record at word w); set by
     * pool/pins.js. META write held, transaction open.
     * @type {((ino: number, w: number) => void) | null}
     */
    this.revokeKept = null;
  }

  /**
   * Call fn(ino, gen) whenever an inode is freed (inside the freeing transaction,
   * before its record is cleared): other tables drop what refers to it.
   * @param {(ino: number, gen: number) => void} fn
   */
  onFree(fn) {
    this._onFree.push(fn);
  }

  /** Inode number of the root directory. */
  get root() {
    return this.v.u32[L.SB_ROOT_INO];
  }

  /** Byte offset of inode `ino`'s record (no checks). */
  ib(ino) {
    return this.v.u32[L.SB_CHUNK_DIR + (ino >>> 10)] + (ino & 1023) * L.INODE_BYTES;
  }

  /**
   * Byte offset of the live inode (ino, gen), or throw `code` (ENOENT by default):
   * the handle is stale if the slot was freed or reused since.
   */
  live(ino, gen, code = "ENOENT") {
    if (!(ino > 0) || (ino >>> 10) >= this.v.u32[L.SB_INODE_CHUNKS]) fail("EINVAL", `no inode ${ino}`);
    const b = this.ib(ino);
    const w = b >>> 2;
    if (this.v.u32[w + L.I_MODE] === 0 || this.v.u32[w + L.I_GEN] !== gen) {
      fail(code, `inode ${ino} (generation ${gen}) no longer exists`);
    }
    return b;
  }

  liveDir(ino, gen) {
    const b = this.live(ino, gen);
    if (!isDirMode(this.v.u32[(b >>> 2) + L.I_MODE])) fail("ENOTDIR", `inode ${ino} is not a directory`);
    return b;
  }

  /** Take an inode slot. META write lock held (or formatting). Throws ENOSPC. */
  alloc(mode) {
    const u32 = this.v.u32;
    if (u32[L.SB_INODE_FREE] === 0) this.addChunk();
    const ino = u32[L.SB_INODE_FREE];
    const b = this.ib(ino);
    const w = b >>> 2;
    this.tx.st(L.SB_INODE_FREE, u32[w + L.I_NEXT]);
    let gen = (u32[w + L.I_GEN] + 1) >>> 0;
    if (gen === 0) gen = 1;
    // The whole record is rewritten: log it once, then store plainly.
    for (let i = 0; i < 16; i++) this.tx.logW(w + i);
    u32[w + L.I_GEN] = gen;
    u32[w + L.I_NLINK] = 0;
    u32[w + L.I_OPEN] = 0;
    u32[w + L.I_SIZE] = 0;
    u32[w + L.I_PARENT] = 0;
    u32[w + L.I_EXTENT] = 0;
    u32[w + L.I_CAP] = 0;
    u32[w + L.I_DENTRY] = 0;
    u32[w + L.I_MOVING] = 0;
    const now = this.tx.now();
    const f = b >>> 3;
    this.v.f64[f + L.I_ATIME] = now;
    this.v.f64[f + L.I_MTIME] = now;
    this.v.f64[f + L.I_CTIME] = now;
    Atomics.store(u32, w + L.I_MODE, mode);
    this.tx.st(L.SB_INODES_LIVE, u32[L.SB_INODES_LIVE] + 1);
    return ino;
  }

  addChunk() {
    const u32 = this.v.u32;
    const k = u32[L.SB_INODE_CHUNKS];
    if (k >= L.MAX_CHUNKS) fail("ENOSPC", `inode table full (${k * L.INODES_PER_CHUNK} inodes)`);
    const p = this.heap.alloc(L.INODES_PER_CHUNK * L.INODE_BYTES, L.K_INODES);
    if (!p) fail("ENOSPC", "no room for more inodes");
    const base = p + L.HDR;
    // A fresh block: its payload needs no undo entries.
    this.tx.wrote(base, L.INODES_PER_CHUNK * L.INODE_BYTES);
    this.v.zero(base, base + L.INODES_PER_CHUNK * L.INODE_BYTES);
    const first = k * L.INODES_PER_CHUNK + (k === 0 ? 1 : 0);
    const last = (k + 1) * L.INODES_PER_CHUNK - 1;
    this.tx.st(L.SB_CHUNK_DIR + k, base);
    // Link the new slots in order (ino 0 is never handed out).
    for (let ino = first; ino < last; ino++) u32[(this.ib(ino) >>> 2) + L.I_NEXT] = ino + 1;
    u32[(this.ib(last) >>> 2) + L.I_NEXT] = 0;
    this.tx.st(L.SB_INODE_CHUNKS, k + 1);
    this.tx.st(L.SB_INODE_FREE, first);
  }

  /** Free inode `ino` and its content. META write lock held. */
  free(ino) {
    this.tx.assertMetaWrite();
    const u32 = this.v.u32;
    const w = this.ib(ino) >>> 2;
    const mode = u32[w + L.I_MODE];
    for (const f of this._onFree) f(ino, u32[w + L.I_GEN]);
    const ext = u32[w + L.I_EXTENT];
    if (ext) this.heap.free(ext - L.HDR);
    const moving = u32[w + L.I_MOVING];
    if (moving && !isDirMode(mode)) this.heap.free(moving - L.HDR);
    this.tx.st(w + L.I_EXTENT, 0);
    this.tx.st(w + L.I_CAP, 0);
    this.tx.stA(w + L.I_SIZE, 0);
    this.tx.st(w + L.I_MOVING, 0);
    this.tx.stA(w + L.I_MODE, 0);
    this.tx.st(w + L.I_NEXT, u32[L.SB_INODE_FREE]);
    this.tx.st(L.SB_INODE_FREE, ino);
    this.tx.st(L.SB_INODES_LIVE, u32[L.SB_INODES_LIVE] - 1);
    if (isDirMode(mode)) this.tx.st(L.SB_N_DIRS, u32[L.SB_N_DIRS] - 1);
    else if (isRegMode(mode)) this.tx.st(L.SB_N_FILES, u32[L.SB_N_FILES] - 1);
    else if (isLnkMode(mode)) this.tx.st(L.SB_N_LINKS, u32[L.SB_N_LINKS] - 1);
  }

  /**
   * Free `ino` if nothing names it and nothing holds it open; a nameless inode's kept
   * pins (pool/keptpins.js: instances that closed it) are taken back first. META write
   * lock held.
   */
  maybeFree(ino) {
    const w = this.ib(ino) >>> 2;
    const u32 = this.v.u32;
    if (u32[w + L.I_MODE] === 0 || Atomics.load(u32, w + L.I_NLINK) !== 0) return; // (freed: once)
    if (Atomics.load(u32, w + L.I_OPEN) !== 0 && this.revokeKept !== null) this.revokeKept(ino, w);
    if (Atomics.load(u32, w + L.I_OPEN) === 0) this.free(ino);
  }

  gen(ino) {
    return this.v.u32[(this.ib(ino) >>> 2) + L.I_GEN];
  }

  touch(b, m, c) {
    const now = this.tx.now();
    const f = b >>> 3;
    if (m) this.tx.stf(f + L.I_MTIME, now);
    if (c) this.tx.stf(f + L.I_CTIME, now);
  }
}
