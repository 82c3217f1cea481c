// jsglue/pool/keptpins.js — kept pins: after the last close of a file an instance keeps
// its pin, so that opening the file again (a loop that opens, reads and closes the same
// files; a page's main thread that must not wait on META behind a descheduled worker)
// takes no lock. Each instance slot has KP_N entries in a fixed area (layout.js "Kept
// pins": outside the heap, so compaction never moves them), each [STATE | INO, GEN], and
// every non-empty entry holds one of the inode's OPEN, as a pin-table entry does.
//
//   empty → OPEN     pin (the owner, META write, logged)
//   OPEN → KEPT      the owner's last close of the file: a CAS, no lock
//   KEPT → OPEN      the owner opens it again: a CAS, no lock
//   KEPT → REVOKE → empty   revoke (whoever holds META write: the file lost its last
//                    name, or the owner makes room): the CAS to REVOKE first, unlogged;
//                    then a logged store of empty and OPEN - 1
//   any → empty      releaseAll (the owner's slot is released: detach, death)
//
// The owner's CASes and a revoker's KEPT → REVOKE CAS meet on one word, so exactly one of
// a reopen and a revocation wins. The undo log never holds a word its owner may change
// without a lock: a revoker logs an entry only once it is REVOKE, which owners leave
// alone, and every rollback turns REVOKE entries back to KEPT (the revoker died or failed
// before its commit; it logged a store before its CAS, so its log is never empty then).
//
// A kept pin must not keep a removed file alive: removing the last name revokes the kept
// pins on the file (Inodes.maybeFree → revoke), and a close that keeps a pin then looks
// whether the file still has a name (the removal may have looked at the entry just
// before). Both sides store, then load, with sequentially consistent atomics, so at least
// one of them sees the other's store; a close that sees no name (or cannot tell: a
// compaction round was moving inode records) settles the pin under META.
// Locks: tryOpen/tryClose none (the owner only); everything else META write with a
// transaction open, except count (none: a diagnostic).
import { L } from "../layout.js";

const KP_WORDS = L.KP_BYTES >> 2;

/** Word index of entry k of slot s. */
export const keptWord = (s, k) => (L.KEPT_AT >> 2) + (s * L.KP_N + k) * KP_WORDS;

/**
 * @typedef {{k: number, gen: number, n: number}} Kept  entry k of this instance's slot
 *   holds (ino, gen); n: this instance's opens of the file now (0 = kept)
 */

export class KeptPins {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("./inodes.js").Inodes} inodes
   * @param {import("../locks.js").Locks} locks this instance's (its slot owns the entries)
   */
  constructor(views, tx, inodes, locks) {
    this.v = views;
    this.tx = tx;
    this.inodes = inodes;
    this.locks = locks;
    /** @type {Map<number, Kept>} inode → this instance's entry on it */
    this.mine = new Map();
    /** Last use of each of this slot's entries (a tick), for choosing which to give up. */
    this.used = new Float64Array(L.KP_N);
    this.tick = 0;
    /** Opens and closes this instance did without a lock (Pool.stats()). */
    this.unlocked = 0;
  }

  /**
   * Open (ino, gen) once more without a lock if this instance has it open or kept.
   * @param {number} ino
   * @param {number} gen
   * @returns {boolean} false: take META and pin
   */
  tryOpen(ino, gen) {
    const e = this.mine.get(ino);
    if (e === undefined || e.gen !== gen) return false;
    this.locks.beat(); // (an evicted instance's entries are gone: it must not use them)
    if (e.n > 0) {
      e.n++;
    } else {
      const w = keptWord(this.locks.slot, e.k);
      if (Atomics.compareExchange(this.v.i32, w, L.KP_KEPT | ino, L.KP_OPEN | ino) !== (L.KP_KEPT | ino)) {
        this.mine.delete(ino); // revoked meanwhile
        return false;
      }
      e.n = 1;
    }
    this.used[e.k] = ++this.tick;
    this.unlocked++;
    return true;
  }

  /**
   * Close (ino, gen) once without a lock if its pin is one of this instance's entries.
   * @param {number} ino
   * @param {number} gen
   * @returns {0 | 1 | 2} 1: done; 0: not here (a pin-table pin: unpin under META);
   *   2: kept, but the file may have lost its last name (settle under META)
   */
  tryClose(ino, gen) {
    const e = this.mine.get(ino);
    if (e === undefined || e.gen !== gen || e.n === 0) return 0;
    if (e.n > 1) {
      e.n--;
      this.unlocked++;
      return 1;
    }
    this.locks.beat();
    const w = keptWord(this.locks.slot, e.k);
    if (Atomics.compareExchange(this.v.i32, w, L.KP_OPEN | ino, L.KP_KEPT | ino) !== (L.KP_OPEN | ino)) {
      // Only a recovery clears an open entry: this instance was evicted just now (beat
      // says so, clearly); anything else is a corrupt pool.
      this.mine.delete(ino);
      this.locks.beat();
      throw new Error(`extmemfs: kept pin ${e.k} of inode ${ino} changed while open (run Pool.check())`);
    }
    e.n = 0;
    this.unlocked++;
    return this._named(ino, gen) ? 1 : 2;
  }

  /**
   * Whether (ino, gen) has a name, read without a lock (after a CAS: see the top);
   * false also when that cannot be told now.
   */
  _named(ino, gen) {
    const u32 = this.v.u32;
    const moves = Atomics.load(u32, L.SB_MOVES);
    if (moves & 1) return false; // a compaction round is moving inode records
    const c = ino >>> 10;
    if (c >= Atomics.load(u32, L.SB_INODE_CHUNKS)) return false;
    const w = (Atomics.load(u32, L.SB_CHUNK_DIR + c) + (ino & 1023) * L.INODE_BYTES) >>> 2;
    if (w + 16 > this.v.bytes / 4) return false;
    const g = Atomics.load(u32, w + L.I_GEN);
    const nlink = Atomics.load(u32, w + L.I_NLINK);
    const mode = Atomics.load(u32, w + L.I_MODE);
    return Atomics.load(u32, L.SB_MOVES) === moves && g === gen && mode !== 0 && nlink !== 0;
  }

  /**
   * tryClose answered 2: if (ino, gen) lost its last name, give the kept pin back (the
   * file is freed if nobody else has it open). META write held, transaction open.
   * @param {number} ino
   * @param {number} gen
   */
  settle(ino, gen) {
    const e = this.mine.get(ino);
    if (e === undefined || e.gen !== gen || e.n !== 0) return;
    const u32 = this.v.u32;
    const w = this.inodes.ib(ino) >>> 2;
    if (u32[w + L.I_GEN] !== gen || u32[w + L.I_MODE] === 0) {
      // The removal took the kept pin back (between that close and now) and freed it.
      this.mine.delete(ino);
      return;
    }
    if (Atomics.load(u32, w + L.I_NLINK) !== 0) return;
    this._revoke(keptWord(this.locks.slot, e.k), ino, w);
    this.mine.delete(ino);
    this.inodes.maybeFree(ino);
  }

  /**
   * Put a new pin of this instance on live inode (ino, gen), record at word w, into a
   * free entry, or into the one kept longest unused (whose pin is given back). META
   * write held, transaction open.
   * @returns {boolean} false: every entry is open (use the pin table)
   */
  pin(ino, gen, w) {
    const s = this.locks.slot;
    if (s < 0) return false;
    const e = this.mine.get(ino);
    if (e !== undefined) {
      if (e.gen === gen && (e.n > 0 || Atomics.compareExchange(this.v.i32, keptWord(s, e.k),
        L.KP_KEPT | ino, L.KP_OPEN | ino) === (L.KP_KEPT | ino))) {
        e.n++; // (open already, or kept: reopened as tryOpen does)
        this.used[e.k] = ++this.tick;
        return true;
      }
      this.mine.delete(ino); // revoked
    }
    const i32 = this.v.i32;
    let k = -1;
    let oldest = -1;
    for (let j = 0; j < L.KP_N; j++) {
      const x = Atomics.load(i32, keptWord(s, j));
      if (x === 0) {
        k = j;
        break;
      }
      if ((x & L.KP_STATE) === L.KP_KEPT && (oldest < 0 || this.used[j] < this.used[oldest])) oldest = j;
    }
    if (k < 0) {
      if (oldest < 0) return false;
      const kw = keptWord(s, oldest);
      const other = Atomics.load(i32, kw) & L.KP_INO;
      const ow = this.inodes.ib(other) >>> 2;
      this._revoke(kw, other, ow);
      this.mine.delete(other);
      this.inodes.maybeFree(other);
      k = oldest;
    }
    const kw = keptWord(s, k);
    for (const [i, x] of this.mine) if (x.k === k) this.mine.delete(i); // (revoked by others)
    this.tx.st(kw + 1, gen);
    this.tx.stA(kw, L.KP_OPEN | ino);
    this.tx.stA(w + L.I_OPEN, this.v.u32[w + L.I_OPEN] + 1);
    this.mine.set(ino, { k, gen, n: 1 });
    this.used[k] = ++this.tick;
    return true;
  }

  /**
   * Take back every kept pin on inode `ino` (record at word w): its last name is gone.
   * META write held, transaction open.
   * @param {number} ino
   * @param {number} w
   */
  revoke(ino, w) {
    const i32 = this.v.i32;
    // A full fence: the caller's store of NLINK 0 (maybe a plain one) is seen by an
    // owner's close before any entry is read here (see the top).
    Atomics.compareExchange(i32, w + L.I_NLINK, 0, 0);
    const gen = this.v.u32[w + L.I_GEN];
    const high = Math.min(L.NSLOTS, Atomics.load(i32, L.SB_SLOTS_HIGH));
    const want = L.KP_KEPT | ino;
    for (let s = 0; s < high; s++) {
      for (let k = 0; k < L.KP_N; k++) {
        const kw = keptWord(s, k);
        if (Atomics.load(i32, kw) === want && this.v.u32[kw + 1] === gen) this._revoke(kw, ino, w);
      }
    }
  }

  /** KEPT → REVOKE → empty, OPEN - 1 (if the CAS wins: an owner may reopen it first). */
  _revoke(kw, ino, w) {
    // Logged before the CAS: a rollback of this transaction finds its log non-empty and
    // turns the entry back from REVOKE (afterRollback).
    this.tx.logW(w + L.I_OPEN);
    const want = L.KP_KEPT | ino;
    if (Atomics.compareExchange(this.v.i32, kw, want, L.KP_REVOKE | ino) !== want) return;
    this.tx.stA(kw, 0);
    this.tx.stA(w + L.I_OPEN, this.v.u32[w + L.I_OPEN] - 1);
  }

  /**
   * Give back every entry of the instance in slot s (detaching or dead), freeing files
   * nobody else holds. META write held, transaction open; commits as it goes.
   * @param {number} s
   */
  releaseAll(s) {
    const u32 = this.v.u32;
    for (let k = 0; k < L.KP_N; k++) {
      const kw = keptWord(s, k);
      const x = Atomics.load(u32, kw);
      if (x === 0) continue;
      const ino = x & L.KP_INO;
      this.tx.stA(kw, 0); // (first: maybeFree's revoke must not find it)
      if (ino > 0 && (ino >>> 10) < u32[L.SB_INODE_CHUNKS]) {
        const w = this.inodes.ib(ino) >>> 2;
        if (u32[w + L.I_GEN] === u32[kw + 1] && u32[w + L.I_MODE] !== 0) {
          this.tx.stA(w + L.I_OPEN, Math.max(0, u32[w + L.I_OPEN] - 1));
          this.inodes.maybeFree(ino);
        }
      }
      this.tx.commit();
    }
    if (s === this.locks.slot) this.mine.clear();
  }

  /** After any rollback: entries a revoker left REVOKE are KEPT again (see the top). */
  afterRollback() {
    const i32 = this.v.i32;
    const high = Math.min(L.NSLOTS, Atomics.load(i32, L.SB_SLOTS_HIGH));
    for (let s = 0; s < high; s++) {
      for (let k = 0; k < L.KP_N; k++) {
        const kw = keptWord(s, k);
        const x = Atomics.load(i32, kw);
        if ((x & L.KP_STATE) === L.KP_REVOKE) Atomics.store(i32, kw, L.KP_KEPT | (x & L.KP_INO));
      }
    }
    // This instance's own pins of the undone transaction are gone again.
    const s = this.locks.slot;
    if (s < 0) return;
    for (const [ino, e] of this.mine) {
      const x = Atomics.load(i32, keptWord(s, e.k));
      if ((x & L.KP_INO) !== ino || (e.n > 0 ? x !== (L.KP_OPEN | ino) : x === 0)) this.mine.delete(ino);
    }
  }

  /**
   * [open, kept] entries of the instance in slot s (a diagnostic; no lock).
   * @param {number} s
   */
  count(s) {
    let open = 0;
    let kept = 0;
    for (let k = 0; k < L.KP_N; k++) {
      const st = Atomics.load(this.v.i32, keptWord(s, k)) & L.KP_STATE;
      if (st === L.KP_OPEN) open++;
      else if (st !== 0) kept++;
    }
    return [open, kept];
  }
}
