// jsglue/pool/lookups.js — this instance's cache of name lookups and directory listings,
// checked against the pool before every use: an entry of directory D holds only while D's
// version (its inode's DVER, bumped in the pool by every change of D's entries, by any
// instance) is the one it was made at. Checking needs no lock: a few atomic loads of D's
// inode record, between two loads of MOVES (odd while a compaction round moves blocks; a
// round in progress or in between makes the check fail, and the caller asks the pool
// under its lock instead). A check that passed holds until TXSEQ (the superblock's
// transaction counter) moves: while no META transaction happens anywhere, an answer
// checked once is given again without reading the pool (as DVER, a u32 that could only
// mislead after exactly 2^31 transactions in between).
// This instance's own changes do not throw its entries away: a change it made (and
// committed) from version v0 to v1 of a directory is applied to an entry that was current
// at v0 — nobody else can have changed the directory in between, as the change held META.
// An entry filled by a listing (or made with a new, empty directory) is complete: a name
// missing from it does not exist.
// Locks: none to read it; put(), putList() and applied() are called under META (read or
// write) or right after the change that held it, so the versions are the ones the answers
// were read at.
import { L } from "../layout.js";

const MAX_ENTRIES = 1 << 17; // names cached in all, before everything is dropped

/** @typedef {{ino: number, gen: number, seq?: number, mode?: number}} Ref  seq, mode: the
 * TXSEQ at which the ref was last checked, and its mode then (see get) */

export class Lookups {
  /** @param {import("./views.js").Views} views */
  constructor(views) {
    this.v = views;
    /** @type {Map<number, {gen: number, ver: number, names: Map<string, Ref | null>,
     *   list: string[] | null, complete: boolean, seq: number}>} directory inode → what is
     *   known of it; seq: the TXSEQ at which its version was last checked, -1 if not */
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
    if (moves & 1) return -1; // a compaction round is moving blocks
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
    let r = d.names.get(name);
    if (r === undefined) {
      if (!d.complete) return undefined;
      r = null; // a complete entry: a name it lacks does not exist (if it is current)
    }
    const u32 = this.v.u32;
    const moves = Atomics.load(u32, L.SB_MOVES);
    if (moves & 1) return undefined; // a compaction round is moving blocks
    // No META transaction since this answer was last checked (TXSEQ is the same even
    // value): nothing it rests on can have changed, the mode included.
    const seq = Atomics.load(u32, L.SB_TXSEQ);
    if (seq === d.seq) {
      if (r === null) return null;
      if (r.seq === seq) return { ino: r.ino, gen: r.gen, mode: r.mode };
    }
    // The directory's version and the inode's mode, in one window of MOVES.
    const dw = this._record(dir);
    if (dw < 0 || u32[dw + L.I_GEN] !== dirGen || Atomics.load(u32, dw + L.I_DVER) !== d.ver) {
      if (Atomics.load(u32, L.SB_MOVES) === moves) this._drop(dir, d);
      return undefined;
    }
    if (r === null) {
      if (Atomics.load(u32, L.SB_MOVES) !== moves) return undefined;
      this._checked(d, null, seq, 0);
      return null;
    }
    const cw = this._record(r.ino);
    if (cw < 0) return undefined;
    const mode = u32[cw + L.I_MODE];
    const gen = u32[cw + L.I_GEN];
    if (Atomics.load(u32, L.SB_MOVES) !== moves || gen !== r.gen || mode === 0) return undefined;
    this._checked(d, r, seq, mode);
    return { ino: r.ino, gen, mode };
  }

  /**
   * A check of entry d (and of ref r in it, with its mode) made after reading TXSEQ =
   * seq has passed: if TXSEQ is still that even value, no transaction overlapped the
   * check, and until TXSEQ moves the answer stands without another look at the pool.
   */
  _checked(d, r, seq, mode) {
    if (seq & 1 || Atomics.load(this.v.u32, L.SB_TXSEQ) !== seq) return;
    d.seq = seq;
    if (r !== null) {
      r.seq = seq;
      r.mode = mode;
    }
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
    d = { gen: dirGen, ver, names: new Map(), list: null, complete: false, seq: -1 };
    this.dirs.set(dir, d);
    return d;
  }

  /**
   * This instance changed (dir, dirGen) from version v0 to v1, and the change committed:
   * apply it to the entry if that was current at v0, else drop the entry.
   * @param {number} dir
   * @param {number} dirGen
   * @param {number} v0
   * @param {number} v1
   * @param {Array<string | Ref | null>} changes name, what it is now (null: gone), ...
   */
  applied(dir, dirGen, v0, v1, changes) {
    const d = this.dirs.get(dir);
    if (d === undefined) return;
    if (d.gen !== dirGen || d.ver !== v0) {
      this._drop(dir, d);
      return;
    }
    d.ver = v1;
    d.seq = -1;
    d.list = null;
    const names = d.names;
    for (let i = 0; i < changes.length; i += 2) {
      const size = names.size;
      names.set(/** @type {string} */ (changes[i]), /** @type {Ref | null} */ (changes[i + 1]));
      this.count += names.size - size; // (one hash lookup, not has() and set())
    }
  }

  /**
   * A directory this instance just made: empty, at version `ver`, so all is known of it.
   * @param {number} dir
   * @param {number} gen
   * @param {number} ver
   */
  made(dir, gen, ver) {
    const d = this._entry(dir, gen, ver);
    d.complete = true;
    d.list = [];
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
    const size = d.names.size;
    d.names.set(name, ref);
    this.count += d.names.size - size;
  }

  /**
   * The names of (dir, dirGen) if listed at its current version (a copy), else undefined.
   * @param {number} dir
   * @param {number} dirGen
   * @returns {string[] | undefined}
   */
  list(dir, dirGen) {
    const d = this._current(dir, dirGen);
    if (d === undefined) return undefined;
    if (d.list === null && d.complete) {
      d.list = [];
      for (const [name, ref] of d.names) if (ref !== null) d.list.push(name);
    }
    return d.list ? d.list.slice() : undefined;
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
    d.complete = true;
    for (let i = 0; i < names.length; i++) {
      if (!d.names.has(names[i])) this.count++;
      d.names.set(names[i], refs[i]);
    }
  }
}
