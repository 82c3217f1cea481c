// jsglue/pool/txlog.js — the META lock and its transactions: every metadata store made
// under META write goes through st/stA/stf, which first append [word, old value] to the
// undo log in the pool (layout.js: "Undo log"). Unlocking META commits; a holder that
// dies leaves the log non-empty and the next META writer undoes it (begin). TXSEQ in the
// superblock is odd while a transaction is open, so that readers without a lock can tell
// whether they overlapped one (a seqlock; Namespace.getattr). Every store
// it makes, logs or is told of (wrote) also marks its page dirty, for persistence.
// Locks: META, taken and released here; every store method expects META write held
// (wrote: the lock that guards the bytes written).
import { L } from "../layout.js";
import { PoolError } from "../errors.js";
import { Dirty } from "./dirty.js";

const META = L.SB_META_LOCK;
const TXSEQ = L.SB_TXSEQ;
const LOG_COUNT = L.LOG_AT >> 2; // word index of the undo log's COUNT
const LOG_E = (L.LOG_AT + L.LOG_HDR) >> 2; // word index of its first entry
const LOG_CAP = (L.DIRTY_AT - L.LOG_AT - L.LOG_HDR) >> 2; // words of entries
const MOVE_WORDS = 6; // [dst, src, len, chunk, done, MOVE_TAG]
/** Long moves bump the heartbeat at least this often (bytes). */
const BEAT_BYTES = 16 << 20;

/** Thrown by the crash hook (tests only): the instance is dead from here on. */
export const KILLED = Object.freeze({ killed: "extmemfs test kill" });

export class TxLog {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("../locks.js").Locks} locks
   */
  constructor(views, locks) {
    this.v = views;
    this.locks = locks;
    /** Pages written since the last snapshot (marked by every store made here). */
    this.dirty = new Dirty(views);
    /** True while a transaction is open (META write held). */
    this.inTx = false;
    this._logN = 0;
    /** @type {Array<() => void>} run by begin(), after a dead holder's log was undone */
    this._onBegin = [];
    /** @type {Array<() => void>} run by commit() before the log is emptied */
    this._onCommit = [];
    /** @type {Array<() => void>} run by abort() after the rollback */
    this._onAbort = [];
    /** @type {Array<() => void>} run at the end of every rollback (a dead holder's too) */
    this._onRollback = [];
    /** Crash points left before the test kill (see crashAfter); undefined in normal use. */
    this._crashAt = undefined;
    /** True once the test kill happened: this instance does nothing any more. */
    this.dead = false;
    /** The open transaction's time (ms), once asked for (see now); 0 before. */
    this._now = 0;
  }

  /**
   * The time to stamp (ms since the epoch): one clock read per transaction, however many
   * inodes it touches (a clock read costs about a tenth of a small transaction in some
   * VMs); outside a transaction, the clock.
   * @returns {number}
   */
  now() {
    if (!this.inTx) return Date.now();
    return this._now || (this._now = Date.now());
  }

  /**
   * Register hooks: begin (a transaction opens), commit (before the log is emptied: its
   * stores are still logged), abort (after a rollback), rollback (the end of any
   * rollback: an abort's, or a dead holder's undone by begin).
   * @param {{begin?: () => void, commit?: () => void, abort?: () => void,
   *   rollback?: () => void}} hooks
   */
  on(hooks) {
    if (hooks.rollback) this._onRollback.push(hooks.rollback);
    if (hooks.begin) this._onBegin.push(hooks.begin);
    if (hooks.commit) this._onCommit.push(hooks.commit);
    if (hooks.abort) this._onAbort.push(hooks.abort);
  }

  // ---- the META lock --------------------------------------------------------------

  /** Take META for reading. */
  rlock() {
    this.locks.readLock(META); // (renews the views if the Memory grew)
  }
  /** Release META's read hold. */
  runlock() {
    this.locks.readUnlock(META);
  }
  /** Take META for writing and open a transaction (undoing a dead holder's first). */
  wlock() {
    this.locks.writeLock(META); // (renews the views if the Memory grew)
    this.begin();
  }
  /** Commit the transaction and release META. */
  wunlock() {
    if (this.dead) return;
    try {
      if (this.inTx) this.commit();
      if (this._crashAt !== undefined) this.hook();
    } finally {
      this.inTx = false;
      // Even again, and new: lock-free readers that overlapped the transaction retry.
      if (!this.dead) {
        const u32 = this.v.u32;
        Atomics.store(u32, TXSEQ, (Atomics.load(u32, TXSEQ) | 1) + 1);
      }
      this.locks.writeUnlock(META);
    }
  }
  /** Undo the open transaction (an operation failed half-way): nothing it did stays. */
  abort() {
    if (this.inTx && !this.dead) {
      this.rollback();
      for (const f of this._onAbort) f();
    }
  }
  /**
   * Run fn under the META read lock.
   * @template T
   * @param {() => T} fn
   * @returns {T}
   */
  withRead(fn) {
    this.rlock();
    try {
      return fn();
    } finally {
      this.runlock();
    }
  }
  /**
   * Run fn as one transaction under the META write lock; undone if it throws.
   * @template T
   * @param {() => T} fn
   * @returns {T}
   */
  withWrite(fn) {
    this.wlock();
    try {
      return fn();
    } catch (e) {
      this.abort();
      throw e;
    } finally {
      this.wunlock();
    }
  }
  /** Throw unless this instance holds META for writing (or is formatting a new pool). */
  assertMetaWrite() {
    if (this.locks.slot >= 0 && !this.locks.isWriteHeld(META)) {
      throw new Error("extmemfs: META write lock not held");
    }
  }

  // ---- transactions -----------------------------------------------------------------

  /** Open a transaction. META write held. Undoes a dead holder's log first. */
  begin() {
    // TXSEQ odd from here to the release (it already is if a dead holder left it so):
    // before any store, the undo of a dead holder's log included.
    const u32 = this.v.u32;
    const seq = Atomics.load(u32, TXSEQ);
    if (!(seq & 1)) Atomics.store(u32, TXSEQ, seq + 1);
    if (Atomics.load(u32, LOG_COUNT) !== 0) this.rollback();
    this.inTx = true;
    this._logN = 0;
    this._now = 0;
    const hooks = this._onBegin;
    for (let i = 0; i < hooks.length; i++) hooks[i]();
  }

  /** End the transaction's log: what it did stays. The transaction remains open. */
  commit() {
    const hooks = this._onCommit;
    for (let i = 0; i < hooks.length; i++) hooks[i]();
    Atomics.store(this.v.u32, LOG_COUNT, 0);
    this._logN = 0;
  }

  _logFull() {
    throw new PoolError("EIO", `undo log full (${LOG_CAP} words): operation too large, undone`);
  }

  /**
   * Test hook: the instance "dies" at the k-th crash point from now (before each logged
   * store, each chunk of a move or copy, after each commit): it throws KILLED and from
   * then on does nothing, not even the unlocks in finally blocks, like a worker
   * terminated there.
   * @param {number} k
   */
  crashAfter(k) {
    this._crashAt = k;
  }

  /** A crash point (tests only: a no-op unless crashAfter was called). */
  hook() {
    if (this._crashAt !== undefined && --this._crashAt <= 0) {
      this._crashAt = undefined;
      this.dead = true;
      this.locks.dead = true;
      throw KILLED;
    }
  }

  /**
   * Log word i's current value (the caller is about to change it some other way).
   * @param {number} i u32 word index
   */
  logW(i) {
    if (this._crashAt !== undefined) this.hook();
    this.dirty.word(i);
    if (!this.inTx) return;
    const u32 = this.v.u32;
    const n = this._logN;
    if (n + 2 > LOG_CAP) this._logFull();
    u32[LOG_E + n] = u32[i];
    u32[LOG_E + n + 1] = i;
    this._logN = n + 2;
    // A plain store: a worker is only ever stopped between statements, and its
    // stores reach other threads in program order well before anyone recovers
    // (that happens after its heartbeat has stood still, or after it was
    // terminated). Atomics.store here cost a fifth of a metadata operation.
    u32[LOG_COUNT] = n + 2;
  }
  /**
   * Logged store of u32 word i.
   * @param {number} i
   * @param {number} v
   */
  st(i, v) {
    if (this.inTx) this.logW(i);
    else this.dirty.word(i);
    this.v.u32[i] = v;
  }
  /**
   * Logged store of u32 word i, as an Atomics.store (for words read without locks).
   * @param {number} i
   * @param {number} v
   */
  stA(i, v) {
    if (this.inTx) this.logW(i);
    else this.dirty.word(i);
    Atomics.store(this.v.u32, i, v);
  }
  /**
   * Logged store of f64 element fi.
   * @param {number} fi
   * @param {number} v
   */
  stf(fi, v) {
    if (this.inTx) {
      this.logW(fi * 2);
      this.logW(fi * 2 + 1);
    } else {
      this.dirty.word(fi * 2);
    }
    this.v.f64[fi] = v;
  }

  /**
   * Copy bytes [src, src+len) down to dst (< src) so that the copy can be undone: in
   * chunks no longer than src - dst (a chunk never overwrites its own source),
   * recording the bytes done after each chunk.
   * @param {number} dst
   * @param {number} src
   * @param {number} len
   */
  moveDown(dst, src, len) {
    if (len <= 0 || dst === src) return;
    if (!(dst < src)) throw new Error(`extmemfs: moveDown ${dst} > ${src}`);
    const u32 = this.v.u32;
    const chunk = Math.min(src - dst, len, BEAT_BYTES);
    let at = -1;
    if (this.inTx) {
      const n = this._logN;
      if (n + MOVE_WORDS > LOG_CAP) this._logFull();
      u32[LOG_E + n] = dst;
      u32[LOG_E + n + 1] = src;
      u32[LOG_E + n + 2] = len;
      u32[LOG_E + n + 3] = chunk;
      u32[LOG_E + n + 4] = 0;
      u32[LOG_E + n + 5] = L.MOVE_TAG;
      this._logN = n + MOVE_WORDS;
      Atomics.store(u32, LOG_COUNT, n + MOVE_WORDS);
      at = LOG_E + n + 4;
    }
    const v = this.v;
    this.dirty.range(dst, len);
    let sinceBeat = 0;
    for (let done = 0; done < len;) {
      const c = Math.min(chunk, len - done);
      if (this._crashAt !== undefined) this.hook();
      v.move(dst + done, src + done, c);
      done += c;
      if (at >= 0) Atomics.store(u32, at, done);
      if ((sinceBeat += c) >= BEAT_BYTES) {
        sinceBeat = 0;
        this.locks.pulse();
      }
    }
  }

  /** Undo the log newest first and empty it. META write lock held. */
  rollback() {
    const u32 = this.v.u32;
    const bytes = this.v.bytes;
    const words = bytes / 4; // (not >>> 2: a 4 GiB Memory has 2^32 bytes)
    let n = Atomics.load(u32, LOG_COUNT);
    if (n > LOG_CAP) n = 0; // a corrupt count: nothing trustworthy to undo
    while (n > 0) {
      if (u32[LOG_E + n - 1] === L.MOVE_TAG && n >= MOVE_WORDS) {
        const e = LOG_E + n - MOVE_WORDS;
        const dst = u32[e];
        const src = u32[e + 1];
        const len = u32[e + 2];
        const chunk = u32[e + 3];
        const done = Math.min(u32[e + 4], len);
        if (chunk > 0 && src + len <= bytes) {
          this.dirty.range(src, len);
          // Chunks put back last to first: each one's copy is still intact at dst.
          for (let i = Math.ceil(done / chunk) - 1; i >= 0; i--) {
            const off = i * chunk;
            const c = Math.min(chunk, len - off);
            this.v.move(src + off, dst + off, c);
          }
        }
        n -= MOVE_WORDS;
      } else {
        const i = u32[LOG_E + n - 1];
        if (i < words) {
          this.dirty.word(i);
          u32[i] = u32[LOG_E + n - 2];
        }
        n -= 2;
      }
    }
    Atomics.store(u32, LOG_COUNT, 0);
    this._logN = 0;
    for (const f of this._onRollback) f();
  }

  /**
   * Record bytes written without a logged store: payload of a block taken in this
   * transaction, or file content under its stripe lock. (Marks their pages dirty.)
   * @param {number} off byte offset
   * @param {number} len bytes
   */
  wrote(off, len) {
    this.dirty.range(off, len);
  }

  /** True when no transaction's log is pending in the pool (what validate checks). */
  get logEmpty() {
    return Atomics.load(this.v.u32, LOG_COUNT) === 0;
  }
}
