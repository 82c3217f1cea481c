// jsglue/pool/lookups.js — this instance's cache of name lookups and directory listings,
// checked against the pool before every use: an entry of directory D holds only while D's
// version (its inode's DVER, bumped in the pool by every change of D's entries, by any
// instance) is the one it was made at. Checking needs no lock: a few atomic loads of D's
// inode record, between two loads of MOVES (a compaction that moved inode records in
// between makes the check fail, and the caller asks the pool under its lock instead).
// Locks: none to read it; put() is called under META (read or write), so the version it
// is given is the one the answer was read at.
import { L } from "../layout.js";

const MAX_ENTRIES = 1 << 17; // names cached in all, before everything is dropped

/** @typedef {{ino: number, gen: number}} Ref */

export class Lookups {
  /** @param {import("./views.js").Views} views */
  constructor(views) {
    this.v = views;
    /** @type {Map<number, {gen: number, ver: number, names: Map<string, Ref | null>,
     *   list: string[] | null}>} directory inode → what is known of it */
    this.dirs = new Map();
    this.count = 0;
  }

  /**
   * The version of directory (ino, gen) now, read without a lock; -1 if (ino, gen) is no
   * longer that directory, or if the answer cannot be trusted (a compaction moved inode
   * records while it was read, or this instance's views do not reach the record).
   * @param {number} ino
   * @param {number} gen
   * @returns {number}
   */
  version(ino, gen) {
    const u32 = this.v.u32;
    const moves = Atomics.load(u32, L.SB_MOVES);
    const k = ino >>> 10;
    if (k >= Atomics.load(u32, L.SB_INODE_CHUNKS)) return -1;
    const w = ((Atomics.load(u32, L.SB_CHUNK_DIR + k) + (ino & 1023) * L.INODE_BYTES) >>> 2);
    if (w + 16 > this.v.bytes / 4) return -1;
    const g = Atomics.load(u32, w + L.I_GEN);
    const mode = Atomics.load(u32, w + L.I_MODE);
    const ver = Atomics.load(u32, w + L.I_DVER);
    if (Atomics.load(u32, L.SB_MOVES) !== moves) return -1;
    if (g !== gen || (mode & L.S_IFMT) !== L.S_IFDIR) return -1;
    return ver;
  }

  /** The cache entry of directory (dir, dirGen) if it is current, else undefined. */
  _current(dir, dirGen) {
    const d = this.dirs.get(dir);
    if (d === undefined) return undefined;
    if (d.gen !== dirGen || this.version(dir, dirGen) !== d.ver) {
      this._drop(dir, d);
      return undefined;
    }
    return d;
  }

  /**
   * What `name` in (dir, dirGen) is, if known and current: a handle, null (known not to
   * exist), or undefined (ask the pool).
   * @param {number} dir
   * @param {number} dirGen
   * @param {string} name
   * @returns {{ino: number, gen: number, mode: number} | null | undefined}
   */
  get(dir, dirGen, name) {
    const d = this.dirs.get(dir);
    if (d === undefined || d.gen !== dirGen) return undefined;
    const r = d.names.get(name);
    if (r === undefined) return undefined;
    // The directory's version and the inode's mode, in one window of MOVES.
    const u32 = this.v.u32;
    const moves = Atomics.load(u32, L.SB_MOVES);
    const dw = this._record(dir);
    if (dw < 0 || u32[dw + L.I_GEN] !== dirGen || Atomics.load(u32, dw + L.I_DVER) !== d.ver) {
      if (Atomics.load(u32, L.SB_MOVES) === moves) this._drop(dir, d);
      return undefined;
    }
    if (r === null) return Atomics.load(u32, L.SB_MOVES) === moves ? null : undefined;
    const cw = this._record(r.ino);
    if (cw < 0) return undefined;
    const mode = u32[cw + L.I_MODE];
    const gen = u32[cw + L.I_GEN];
    if (Atomics.load(u32, L.SB_MOVES) !== moves || gen !== r.gen || mode === 0) return undefined;
    return { ino: r.ino, gen, mode };
  }

  /** Word index of inode `ino`'s record, or -1 if this instance's views cannot tell. */
  _record(ino) {
    const u32 = this.v.u32;
    const k = ino >>> 10;
    if (k >= u32[L.SB_INODE_CHUNKS]) return -1;
    const w = (u32[L.SB_CHUNK_DIR + k] + (ino & 1023) * L.INODE_BYTES) >>> 2;
    return w + 16 <= this.v.bytes / 4 ? w : -1;
  }

  _drop(dir, d) {
    this.count -= d.names.size;
    this.dirs.delete(dir);
  }

  /** The entry for (dir, dirGen) at version `ver`, made or reset as needed. */
  _entry(dir, dirGen, ver) {
    let d = this.dirs.get(dir);
    if (d && d.gen === dirGen && d.ver === ver) return d;
    if (d) this.count -= d.names.size;
    if (this.count >= MAX_ENTRIES) {
      this.dirs.clear();
      this.count = 0;
    }
    d = { gen: dirGen, ver, names: new Map(), list: null };
    this.dirs.set(dir, d);
    return d;
  }

  /**
   * Remember what `name` in (dir, dirGen) is at version `ver` (under META).
   * @param {number} dir
   * @param {number} dirGen
   * @param {number} ver
   * @param {string} name
   * @param {Ref | null} ref null: no such name
   */
  put(dir, dirGen, ver, name, ref) {
    const d = this._entry(dir, dirGen, ver);
    if (!d.names.has(name)) this.count++;
    d.names.set(name, ref);
  }

  /**
   * The names of (dir, dirGen) if listed at its current version (a copy), else undefined.
   * @param {number} dir
   * @param {number} dirGen
   * @returns {string[] | undefined}
   */
  list(dir, dirGen) {
    const d = this._current(dir, dirGen);
    return d && d.list ? d.list.slice() : undefined;
  }

  /**
   * Remember the listing of (dir, dirGen) at version `ver` and what each name is (under
   * META).
   * @param {number} dir
   * @param {number} dirGen
   * @param {number} ver
   * @param {string[]} names
   * @param {Ref[]} refs
   */
  putList(dir, dirGen, ver, names, refs) {
    const d = this._entry(dir, dirGen, ver);
    d.list = names;
    for (let i = 0; i < names.length; i++) {
      if (!d.names.has(names[i])) this.count++;
      d.names.set(names[i], refs[i]);
    }
  }
}
