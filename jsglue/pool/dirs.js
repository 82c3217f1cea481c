// jsglue/pool/dirs.js — directories: open-addressing hash tables of (hash, entry) slots
// whose entries are separate blocks holding (ino, gen, hash, name) (layout.js: "Directory
// table", "Directory entry"). Names are compared as bytes with NAME (names.js).
// Locks: find and nameEq read and expect META held; every other method stores and expects
// META write held.
import { L } from "../layout.js";
import { PoolError, fail } from "../errors.js";
import { NAME, decodeBytes } from "./names.js";

export class Dirs {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("./heap.js").Heap} heap
   * @param {import("./inodes.js").Inodes} inodes
   */
  constructor(views, tx, heap, inodes) {
    this.v = views;
    this.tx = tx;
    this.heap = heap;
    this.inodes = inodes;
  }

  init(ino, parent) {
    const p = this.heap.alloc(L.DT_HDR + L.DT_MIN_SLOTS * L.DT_SLOT_BYTES, L.K_DIRTAB);
    if (!p) fail("ENOSPC", "no room for a directory");
    const t = p + L.HDR;
    this.tx.wrote(t, L.DT_HDR + L.DT_MIN_SLOTS * L.DT_SLOT_BYTES);
    this.v.zero(t, t + L.DT_HDR + L.DT_MIN_SLOTS * L.DT_SLOT_BYTES);
    this.v.u32[(t >>> 2) + L.DT_SLOTS] = L.DT_MIN_SLOTS;
    const w = this.inodes.ib(ino) >>> 2;
    this.tx.st(w + L.I_EXTENT, t);
    this.tx.st(w + L.I_CAP, this.heap.bsize(p) - L.HDR - L.FTR);
    this.tx.st(w + L.I_NLINK, 2);
    this.tx.st(w + L.I_PARENT, parent);
  }

  nameEq(e, len) {
    const u32 = this.v.u32;
    if (u32[(e >>> 2) + L.DE_LEN] !== len) return false;
    const u8 = this.v.u8;
    const s = e + L.DE_NAME;
    for (let i = 0; i < len; i++) if (u8[s + i] !== NAME.bytes[i]) return false;
    return true;
  }

  /** Slot byte offset holding the name in NAME.bytes[0,len), or -1 - firstFreeSlot. */
  find(t, len, hash) {
    const u32 = this.v.u32;
    const mask = u32[(t >>> 2) + L.DT_SLOTS] - 1;
    let i = hash & mask;
    let firstFree = -1;
    for (let probes = 0; probes <= mask; probes++) {
      const s = t + L.DT_HDR + i * L.DT_SLOT_BYTES;
      const e = u32[(s >>> 2) + 1];
      if (e === L.SLOT_EMPTY) return -1 - (firstFree >= 0 ? firstFree : s);
      if (e === L.SLOT_DELETED) {
        if (firstFree < 0) firstFree = s;
      } else if (u32[s >>> 2] === hash && this.nameEq(e, len)) {
        return s;
      }
      i = (i + 1) & mask;
    }
    if (firstFree < 0) fail("EIO", "directory table has no empty slot (corrupt)");
    return -1 - firstFree;
  }

  /** Rebuild directory `dirB`'s table with room for `count` entries. */
  resize(dirB, count, shrinking) {
    const u32 = this.v.u32;
    const dw = dirB >>> 2;
    const old = u32[dw + L.I_EXTENT];
    let slots = L.DT_MIN_SLOTS;
    while (slots < count * 2 + 2) slots *= 2;
    const bytes = L.DT_HDR + slots * L.DT_SLOT_BYTES;
    const p = this.heap.alloc(bytes, L.K_DIRTAB, shrinking);
    if (!p) fail("ENOSPC", "no room to grow a directory");
    const t = p + L.HDR;
    this.tx.wrote(t, bytes);
    this.v.zero(t, t + bytes);
    u32[(t >>> 2) + L.DT_SLOTS] = slots;
    const mask = slots - 1;
    const oldSlots = u32[(old >>> 2) + L.DT_SLOTS];
    let n = 0;
    for (let i = 0; i < oldSlots; i++) {
      const s = old + L.DT_HDR + i * L.DT_SLOT_BYTES;
      const e = u32[(s >>> 2) + 1];
      if (e <= L.SLOT_DELETED) continue;
      const h = u32[s >>> 2];
      let j = h & mask;
      while (u32[((t + L.DT_HDR + j * L.DT_SLOT_BYTES) >>> 2) + 1] !== 0) j = (j + 1) & mask;
      const d = (t + L.DT_HDR + j * L.DT_SLOT_BYTES) >>> 2;
      u32[d] = h;
      u32[d + 1] = e;
      n++;
    }
    u32[(t >>> 2) + L.DT_COUNT] = n;
    this.tx.st(dw + L.I_EXTENT, t);
    this.tx.st(dw + L.I_CAP, this.heap.bsize(p) - L.HDR - L.FTR);
    this.heap.free(old - L.HDR);
  }

  /** Make room in dir `dirB` for one more entry (may move its table). */
  reserve(dirB) {
    const t = this.v.u32[(dirB >>> 2) + L.I_EXTENT];
    const tw = t >>> 2;
    const count = this.v.u32[tw + L.DT_COUNT];
    if ((count + this.v.u32[tw + L.DT_TOMBS] + 1) * 2 > this.v.u32[tw + L.DT_SLOTS]) {
      this.resize(dirB, count + 1);
    }
  }

  /**
   * Give entry `e` the name in NAME.bytes[0, len) (hash `hash`) in place, if its block
   * has room for it (logged stores). Returns false, changing nothing, if not.
   * @param {number} e payload offset of a K_DENTRY block
   * @param {number} len
   * @param {number} hash
   */
  rename(e, len, hash) {
    if (this.heap.bsize(e - L.HDR) - L.HDR - L.FTR < L.DE_NAME + len) return false;
    const w = e >>> 2;
    const first = (e + L.DE_NAME) >>> 2;
    const words = (len + 3) >>> 2;
    for (let i = 0; i < words; i++) this.tx.logW(first + i);
    this.v.u8.set(NAME.bytes.subarray(0, len), e + L.DE_NAME);
    this.tx.st(w + L.DE_HASH, hash);
    this.tx.st(w + L.DE_LEN, len);
    return true;
  }

  /** New directory entry block for the name in NAME.bytes; returns payload offset. */
  dentryAlloc(ino, len, hash) {
    const p = this.heap.alloc(L.DE_NAME + len, L.K_DENTRY);
    if (!p) fail("ENOSPC", "no room for a directory entry");
    const e = p + L.HDR;
    const w = e >>> 2; // a fresh block: no undo entries needed
    this.tx.wrote(e, L.DE_NAME + len);
    this.v.u32[w + L.DE_INO] = ino;
    this.v.u32[w + L.DE_GEN] = this.inodes.gen(ino);
    this.v.u32[w + L.DE_HASH] = hash;
    this.v.u32[w + L.DE_LEN] = len;
    this.v.u8.set(NAME.bytes.subarray(0, len), e + L.DE_NAME);
    return e;
  }

  /**
   * Note a change of directory `dirB`'s entries (its DVER): instances' lookup caches
   * holding names of this directory are stale from now on. Part of the change's
   * transaction (undone with it).
   * @param {number} dirB byte offset of the directory's inode record
   */
  changed(dirB) {
    const w = (dirB >>> 2) + L.I_DVER;
    this.tx.stA(w, (this.v.u32[w] + 1) >>> 0);
  }

  /**
   * Point slot `s` of directory `dirB` (a live entry) at entry `e` instead.
   * @param {number} dirB
   * @param {number} s slot byte offset
   * @param {number} e payload offset of the new K_DENTRY block
   */
  replace(dirB, s, e) {
    this.tx.st((s >>> 2) + 1, e);
    this.changed(dirB);
  }

  /** Put entry e (hash h) into free slot s (from find) of directory dirB (inode record offset). */
  put(dirB, s, h, e) {
    const u32 = this.v.u32;
    const t = u32[(dirB >>> 2) + L.I_EXTENT];
    const tw = t >>> 2;
    this.changed(dirB);
    if (u32[(s >>> 2) + 1] === L.SLOT_DELETED) this.tx.st(tw + L.DT_TOMBS, u32[tw + L.DT_TOMBS] - 1);
    this.tx.st(s >>> 2, h);
    this.tx.st((s >>> 2) + 1, e);
    this.tx.st(tw + L.DT_COUNT, u32[tw + L.DT_COUNT] + 1);
  }

  /**
   * Remove the entry in slot s of dir `dirB`; frees the entry block unless `keepEntry`
   * (a rename that moved the entry to another slot).
   */
  remove(dirB, s, keepEntry = false) {
    this.changed(dirB);
    const t = this.v.u32[(dirB >>> 2) + L.I_EXTENT];
    const tw = t >>> 2;
    const e = this.v.u32[(s >>> 2) + 1];
    this.tx.st((s >>> 2) + 1, L.SLOT_DELETED);
    this.tx.st(s >>> 2, 0);
    this.tx.st(tw + L.DT_COUNT, this.v.u32[tw + L.DT_COUNT] - 1);
    this.tx.st(tw + L.DT_TOMBS, this.v.u32[tw + L.DT_TOMBS] + 1);
    if (!keepEntry) this.heap.free(e - L.HDR);
    const count = this.v.u32[tw + L.DT_COUNT];
    const slots = this.v.u32[tw + L.DT_SLOTS];
    if ((slots > L.DT_MIN_SLOTS && count * 8 < slots) || this.v.u32[tw + L.DT_TOMBS] > slots >>> 2) {
      try {
        this.resize(dirB, count, true);
      } catch (err) {
        if (!(err instanceof PoolError)) throw err; // compaction is optional: keep the old table
      }
    }
  }

  /**
   * Names in directory table `t`, without "." and "..". META held.
   * @param {number} t payload offset of the table
   * @returns {string[]}
   */
  names(t) {
    const u32 = this.v.u32;
    const u8 = this.v.u8;
    const slots = u32[(t >>> 2) + L.DT_SLOTS];
    const out = [];
    for (let i = 0; i < slots; i++) {
      const e = u32[((t + L.DT_HDR + i * L.DT_SLOT_BYTES) >>> 2) + 1];
      if (e > L.SLOT_DELETED) out.push(decodeBytes(u8, e + L.DE_NAME, u32[(e >>> 2) + L.DE_LEN]));
    }
    return out;
  }

  /**
   * Names in directory table `t` and the (ino, gen) each names. META held.
   * @param {number} t payload offset of the table
   * @returns {{names: string[], refs: Array<{ino: number, gen: number}>}}
   */
  entries(t) {
    const u32 = this.v.u32;
    const u8 = this.v.u8;
    const slots = u32[(t >>> 2) + L.DT_SLOTS];
    const names = [];
    const refs = [];
    for (let i = 0; i < slots; i++) {
      const e = u32[((t + L.DT_HDR + i * L.DT_SLOT_BYTES) >>> 2) + 1];
      if (e <= L.SLOT_DELETED) continue;
      const ew = e >>> 2;
      names.push(decodeBytes(u8, e + L.DE_NAME, u32[ew + L.DE_LEN]));
      refs.push({ ino: u32[ew + L.DE_INO], gen: u32[ew + L.DE_GEN] });
    }
    return { names, refs };
  }

  /**
   * The name held by directory entry `e`. META held.
   * @param {number} e payload offset of a K_DENTRY block
   */
  entryName(e) {
    return decodeBytes(this.v.u8, e + L.DE_NAME, this.v.u32[(e >>> 2) + L.DE_LEN]);
  }
}
