// jsglue/pool/flocks.js — advisory file locks of every instance, kept in the pool (layout.js:
// "File-lock table", "Lock record"):
//   FLK_FLOCK  flock(2): whole file, shared or exclusive, owned by an open file
//              description (OFD: one open(), shared by its dup'd descriptors).
//   FLK_POSIX  fcntl(F_SETLK/F_SETLKW), lockf: byte ranges owned by the instance (the
//              "process"), split, merged and replaced as on Linux.
//   FLK_OFD    fcntl(F_OFD_SETLK/F_OFD_SETLKW): byte ranges owned by an OFD.
//   FLK_DIR    a directory owned by the instance that made it (a dot-lock, as SQLite's
//              unix-dotfile VFS makes): removed, if empty, when that instance dies.
// flock locks conflict only with flock locks; POSIX and OFD range locks conflict with each
// other, as on Linux. An instance's locks are released by recovery when it dies or is
// evicted (releaseSlot, called from pool/instances.js), so a dead holder blocks nobody
// once it is found dead.
//
// Waiting. A blocking request holds no pool lock while it waits. It counts itself in
// FLOCK_SLEEPERS, reads FLOCK_SEQ, tries once more under META and, if still blocked,
// sleeps on FLOCK_SEQ (Atomics.wait, WAIT_SLICE_MS slices; a thread that may not block —
// a browser main thread — spins on the word with growing pauses instead), then bumps its
// heartbeat and tries again: it never trusts one wake-up. Every release that may unblock
// someone bumps FLOCK_SEQ and notifies when FLOCK_SLEEPERS > 0; since the sleeper read
// FLOCK_SEQ before its last try, a release after that try is never missed. POSIX waiters
// record whose lock they wait for (WAITS) so that a request closing a cycle of waiters
// fails with EDEADLK, as Linux's F_SETLKW does.
//
// Locks: lock/test/releaseOnClose/list take META themselves (one transaction per try)
// and expect no pool lock held; releaseSlot, dropInode and addDirOwner expect META write
// held with a transaction open; countBySlot and waitsBySlot take none.
import { L } from "../layout.js";
import { slotWord, WAIT_SLICE_MS } from "../locks.js";
import { fail } from "../errors.js";

/** @typedef {import("../errors.js").PoolError} PoolError */

/**
 * A lock request.
 * @typedef {object} LockRequest
 * @property {number} kind L.FLK_FLOCK, L.FLK_POSIX or L.FLK_OFD
 * @property {number} type L.FL_READ (shared), L.FL_WRITE (exclusive) or 0 (unlock)
 * @property {number} ofd the open file description (FLK_FLOCK, FLK_OFD; > 0), 0 for
 *   FLK_POSIX
 * @property {number} start first byte (0 for flock)
 * @property {number} end the byte after the last; Infinity = to the end (flock: Infinity)
 */

/**
 * A lock as found in the table.
 * @typedef {{ino: number, gen: number, owner: number, ofd: number, kind: number,
 *   type: number, start: number, end: number}} LockRecord
 */

const BLOCKED = 1;
const DEADLOCK = 2;
const now = () => (globalThis.performance ? globalThis.performance.now() : Date.now());

export class Flocks {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("../locks.js").Locks} locks this instance's
   * @param {import("./heap.js").Heap} heap
   * @param {import("./inodes.js").Inodes} inodes
   * @param {import("./namespace.js").Namespace} ns
   * @param {import("./instances.js").Instances} inst
   */
  constructor(views, tx, locks, heap, inodes, ns, inst) {
    this.v = views;
    this.tx = tx;
    this.locks = locks;
    this.heap = heap;
    this.inodes = inodes;
    this.ns = ns;
    this.inst = inst;
    /** Inodes on which this instance may hold locks: a superset, never a subset. */
    this.mine = new Set();
    /** True while WAITS names a holder for our slot (we wait for a POSIX lock). */
    this._waiting = false;
    /** Set by a try: the instance id of the holder in the way. */
    this._blocker = 0;
    this._nextOfd = 1;
  }

  /** A new open-file-description number, unique in this instance. */
  newOfd() {
    return this._nextOfd++;
  }

  /** This instance's id (owner of its records). */
  get me() {
    return this.locks.gen * 256 + this.locks.slot;
  }

  // ---- the table ------------------------------------------------------------------

  _t() {
    return this.v.u32[L.SB_FLOCKS];
  }
  /** Word index of record k of table t. */
  _rw(t, k) {
    return (t + L.FT_HDR + k * L.FL_BYTES) >>> 2;
  }
  /** Read record k of table t. */
  _rec(t, k) {
    const w = this._rw(t, k);
    const u32 = this.v.u32;
    return {
      ino: u32[w + L.FL_INO],
      gen: u32[w + L.FL_GEN],
      owner: u32[w + L.FL_OWNER],
      ofd: u32[w + L.FL_OFD],
      kind: u32[w + L.FL_KIND],
      type: u32[w + L.FL_TYPE],
      start: this.v.f64[(w >>> 1) + L.FL_START],
      end: this.v.f64[(w >>> 1) + L.FL_END],
    };
  }

  /** Make room for `extra` more records (may move the table). META write held. */
  _ensure(extra) {
    const u32 = this.v.u32;
    const t = this._t();
    const n = t ? u32[(t >>> 2) + L.FT_N] : 0;
    const cap = t ? u32[(t >>> 2) + L.FT_CAP] : 0;
    if (n + extra <= cap) return t;
    const newCap = Math.max(L.FT_MIN_CAP, cap * 2, n + extra);
    const bytes = L.FT_HDR + newCap * L.FL_BYTES;
    const p = this.heap.alloc(bytes, L.K_FLOCKS);
    if (!p) fail("ENOLCK", `no room in the pool for a lock table of ${newCap} locks`);
    const nt = p + L.HDR; // a fresh block: no undo entries needed
    if (t) {
      this.v.u8.copyWithin(nt, t, t + L.FT_HDR + n * L.FL_BYTES);
      this.heap.free(t - L.HDR);
    } else {
      this.v.zero(nt, nt + L.FT_HDR);
    }
    u32[(nt >>> 2) + L.FT_CAP] = newCap;
    this.tx.st(L.SB_FLOCKS, nt);
    return nt;
  }

  /** Append a record. META write held. */
  _add(ino, gen, owner, ofd, kind, type, start, end) {
    const t = this._ensure(1);
    const u32 = this.v.u32;
    const n = u32[(t >>> 2) + L.FT_N];
    const w = this._rw(t, n);
    this.tx.st(w + L.FL_INO, ino);
    this.tx.st(w + L.FL_GEN, gen);
    this.tx.st(w + L.FL_OWNER, owner);
    this.tx.st(w + L.FL_OFD, ofd);
    this.tx.st(w + L.FL_KIND, kind);
    this.tx.st(w + L.FL_TYPE, type);
    this.tx.stf((w >>> 1) + L.FL_START, start);
    this.tx.stf((w >>> 1) + L.FL_END, end);
    this.tx.st((t >>> 2) + L.FT_N, n + 1);
  }

  /** Remove record k (the last record takes its place). META write held. */
  _del(t, k) {
    const u32 = this.v.u32;
    const n = u32[(t >>> 2) + L.FT_N];
    const last = n - 1;
    if (k !== last) {
      const w = this._rw(t, k);
      const lw = this._rw(t, last);
      for (let i = 0; i < L.FL_BYTES >>> 2; i++) this.tx.st(w + i, u32[lw + i]);
    }
    this.tx.st((t >>> 2) + L.FT_N, last);
  }

  /** Set WAITS[our slot] (0 = not waiting). META write held. */
  _setWaits(t, v) {
    const i = (t >>> 2) + L.FT_WAITS + this.locks.slot;
    if (this.v.u32[i] !== v) this.tx.st(i, v);
    this._waiting = v !== 0;
  }

  // ---- requests -------------------------------------------------------------------

  /**
   * Check a request's fields. @param {LockRequest} req
   * @throws {PoolError} EINVAL
   */
  check(req) {
    const { kind, type, ofd, start, end } = req;
    if (kind !== L.FLK_FLOCK && kind !== L.FLK_POSIX && kind !== L.FLK_OFD) fail("EINVAL", `bad lock kind ${kind}`);
    if (type !== 0 && type !== L.FL_READ && type !== L.FL_WRITE) fail("EINVAL", `bad lock type ${type}`);
    if (kind === L.FLK_POSIX ? ofd !== 0 : !(Number.isInteger(ofd) && ofd > 0 && ofd <= 0xffffffff)) {
      fail("EINVAL", `bad open file description ${ofd} for a lock of kind ${kind}`);
    }
    if (kind === L.FLK_FLOCK) {
      if (start !== 0 || end !== Infinity) fail("EINVAL", "a flock lock covers the whole file");
    } else if (start > L.FL_MAX_OFFSET || (end !== Infinity && end > L.FL_MAX_OFFSET + 1)) {
      fail("EOVERFLOW", `lock range [${start}, ${end}) beyond the largest offset ${L.FL_MAX_OFFSET}`);
    } else if (!(Number.isInteger(start) && start >= 0 && (end === Infinity || (Number.isInteger(end) && end > start)))) {
      fail("EINVAL", `bad lock range [${start}, ${end})`);
    }
  }

  /**
   * Take, change or drop a lock. A conflicting request waits (wait = true) or fails
   * with EAGAIN. Takes META per try; call it holding no pool lock.
   * @param {number} ino
   * @param {number} gen
   * @param {LockRequest} req
   * @param {boolean} wait
   * @throws {PoolError} EAGAIN (conflict, not waiting), EDEADLK (waiting would close a
   *   cycle of POSIX waiters), ENOLCK (no room for the table), ENOENT (stale handle),
   *   EINVAL, EOVERFLOW
   */
  lock(ino, gen, req, wait) {
    this.check(req);
    if (req.type) this.mine.add(ino);
    if (this._try(ino, gen, req, false) === 0) return;
    if (!wait) {
      fail("EAGAIN", `the file is locked by instance ${this._blocker} (a conflicting lock)`);
    }
    const i32 = this.v.i32;
    Atomics.add(i32, L.SB_FLOCK_SLEEPERS, 1);
    let pause = 0;
    try {
      for (;;) {
        const seq = Atomics.load(i32, L.SB_FLOCK_SEQ);
        const r = this._try(ino, gen, req, true);
        if (r === 0) return;
        if (r === DEADLOCK) {
          fail("EDEADLK", `waiting would deadlock: instance ${this._blocker} holds the range ` +
            "and waits, directly or through others, for a lock this instance holds");
        }
        const holder = this._blocker % 256;
        if (holder < L.NSLOTS && Atomics.load(i32, slotWord(holder) + L.S_STATE) === L.SLOT_DEAD) {
          this.inst.recover(holder); // its recovery was left half-done: finish it
          continue;
        }
        if (this.locks.canBlock) {
          Atomics.wait(i32, L.SB_FLOCK_SEQ, seq, WAIT_SLICE_MS);
        } else {
          // May not block (a browser main thread): spin on the word, pausing longer
          // each time (up to 4 ms) so that a long wait does not hog META.
          pause = Math.min(pause ? pause * 2 : 0.05, 4);
          const until = now() + pause;
          while (now() < until && Atomics.load(i32, L.SB_FLOCK_SEQ) === seq);
        }
        this.locks.beat(); // alive while we wait (and EvictedError if we were evicted)
      }
    } finally {
      Atomics.sub(i32, L.SB_FLOCK_SLEEPERS, 1);
      if (this._waiting && !this.locks.dead) this._clearWaits();
    }
  }

  _clearWaits() {
    try {
      this.tx.withWrite(() => {
        const t = this._t();
        if (t) this._setWaits(t, 0);
      });
    } catch (e) {
      if (!(e && e.name === "EvictedError")) throw e; // (evicted: recovery cleared it)
    }
    this._waiting = false;
  }

  /**
   * One attempt under META: 0 done, BLOCKED, or DEADLOCK. `waiting`: a blocking
   * request that would sleep (POSIX: record what we wait for, detect cycles).
   */
  _try(ino, gen, req, waiting) {
    let released = false;
    const r = this.tx.withWrite(() => {
      this.inodes.live(ino, gen);
      const out = req.kind === L.FLK_FLOCK ? this._flockLocked(ino, gen, req) : this._rangeLocked(ino, gen, req);
      released = out.released;
      const t = this._t();
      if (!out.blocker) {
        if (t && this._waiting) this._setWaits(t, 0);
        return 0;
      }
      this._blocker = out.blocker.owner;
      if (!waiting || req.kind !== L.FLK_POSIX) return BLOCKED;
      if (out.blocker.kind !== L.FLK_POSIX) {
        this._setWaits(t, 0);
        return BLOCKED;
      }
      // Follow the chain of POSIX waiters from the holder: back to us = deadlock.
      const u32 = this.v.u32;
      const waits = (t >>> 2) + L.FT_WAITS;
      let s = out.blocker.owner % 256;
      for (let hops = 0; hops <= L.NSLOTS; hops++) {
        if (s === this.locks.slot) {
          this._setWaits(t, 0);
          return DEADLOCK;
        }
        const next = s < L.NSLOTS ? u32[waits + s] : 0;
        if (!next) break;
        s = next - 1;
      }
      this._setWaits(t, (out.blocker.owner % 256) + 1);
      return BLOCKED;
    });
    if (released) this.wake();
    return r;
  }

  /** True if a record's owner is no longer attached (a stale record: drop it). */
  _gone(owner) {
    const slot = owner % 256;
    if (slot >= L.NSLOTS) return true;
    const sw = slotWord(slot);
    const i32 = this.v.i32;
    return Atomics.load(i32, sw + L.S_GEN) !== Math.floor(owner / 256) ||
      Atomics.load(i32, sw + L.S_STATE) === L.SLOT_FREE;
  }

  /** flock: {released, blocker}. META write held, transaction open. */
  _flockLocked(ino, gen, req) {
    const me = this.me;
    let released = false;
    const t = this._t();
    if (t) {
      const u32 = this.v.u32;
      for (let k = u32[(t >>> 2) + L.FT_N] - 1; k >= 0; k--) {
        const w = this._rw(t, k);
        if (u32[w + L.FL_INO] !== ino || u32[w + L.FL_KIND] !== L.FLK_FLOCK) continue;
        if (u32[w + L.FL_OWNER] !== me || u32[w + L.FL_OFD] !== req.ofd) continue;
        if (u32[w + L.FL_TYPE] === req.type) return { released, blocker: null };
        // Linux converts by dropping the old lock first (not atomically): a failed
        // LOCK_NB conversion leaves none.
        this._del(t, k);
        released = true;
      }
    }
    if (!req.type) return { released, blocker: null };
    const blocker = this._conflict(ino, req, true);
    if (blocker) return { released, blocker };
    this._add(ino, gen, me, req.ofd, L.FLK_FLOCK, req.type, 0, Infinity);
    return { released, blocker: null };
  }

  /**
   * The first record of another owner that conflicts with `req` on `ino`, or null.
   * Records of owners that are gone are dropped on the way (`drop`). META held.
   * @returns {LockRecord | null}
   */
  _conflict(ino, req, drop) {
    const t = this._t();
    if (!t) return null;
    const u32 = this.v.u32;
    const f64 = this.v.f64;
    const me = this.me;
    const flock = req.kind === L.FLK_FLOCK;
    let best = null;
    for (let k = u32[(t >>> 2) + L.FT_N] - 1; k >= 0; k--) {
      const w = this._rw(t, k);
      if (u32[w + L.FL_INO] !== ino) continue;
      const kind = u32[w + L.FL_KIND];
      if (flock ? kind !== L.FLK_FLOCK : kind !== L.FLK_POSIX && kind !== L.FLK_OFD) continue;
      const owner = u32[w + L.FL_OWNER];
      if (owner === me && u32[w + L.FL_OFD] === req.ofd && kind === req.kind) continue;
      if (req.type !== L.FL_WRITE && u32[w + L.FL_TYPE] !== L.FL_WRITE) continue;
      const start = f64[(w >>> 1) + L.FL_START];
      const end = f64[(w >>> 1) + L.FL_END];
      if (!(start < req.end && req.start < end)) continue;
      if (this._gone(owner)) {
        if (drop) this._del(t, k);
        continue;
      }
      const rec = this._rec(t, k);
      if (!best || rec.start < best.start || (rec.start === best.start && rec.type > best.type)) best = rec;
    }
    return best;
  }

  /** POSIX / OFD range lock: {released, blocker}. META write held, transaction open. */
  _rangeLocked(ino, gen, req) {
    if (req.type) {
      const blocker = this._conflict(ino, req, true);
      if (blocker) return { released: false, blocker };
    }
    const t = this._t();
    if (!t) {
      if (req.type) this._add(ino, gen, this.me, req.ofd, req.kind, req.type, req.start, req.end);
      return { released: false, blocker: null };
    }
    // Our own records that the request touches: overlapping ones (cut or replaced) and,
    // when locking, adjacent ones of the same type (merged).
    const u32 = this.v.u32;
    const f64 = this.v.f64;
    const me = this.me;
    const { type, ofd, kind } = req;
    let s = req.start;
    let e = req.end;
    const touched = [];
    const pieces = [];
    let released = false;
    for (let k = u32[(t >>> 2) + L.FT_N] - 1; k >= 0; k--) {
      const w = this._rw(t, k);
      if (u32[w + L.FL_INO] !== ino || u32[w + L.FL_OWNER] !== me) continue;
      if (u32[w + L.FL_KIND] !== kind || u32[w + L.FL_OFD] !== ofd) continue;
      const rs = f64[(w >>> 1) + L.FL_START];
      const re = f64[(w >>> 1) + L.FL_END];
      const rt = u32[w + L.FL_TYPE];
      const overlaps = rs < req.end && req.start < re;
      const adjacent = type !== 0 && rt === type && (re === req.start || rs === req.end);
      if (!overlaps && !adjacent) continue;
      if (overlaps && rt === type && rs <= req.start && re >= req.end) {
        return { released: false, blocker: null }; // already held exactly so: no change
      }
      touched.push(k);
      if (overlaps) {
        if (rt !== type) released = true;
        if (rs < req.start) {
          if (rt === type) s = Math.min(s, rs);
          else pieces.push([rs, req.start, rt]);
        }
        if (re > req.end) {
          if (rt === type) e = Math.max(e, re);
          else pieces.push([req.end, re, rt]);
        }
      } else {
        s = Math.min(s, rs);
        e = Math.max(e, re);
      }
    }
    // touched is in descending index order: deleting keeps the lower indexes valid.
    for (const k of touched) this._del(this._t(), k);
    for (const [ps, pe, pt] of pieces) this._add(ino, gen, me, ofd, kind, pt, ps, pe);
    if (type) this._add(ino, gen, me, ofd, kind, type, s, e);
    return { released, blocker: null };
  }

  /**
   * The lock that would block `req` (a lock of another owner), or null. META read.
   * @param {number} ino
   * @param {number} gen
   * @param {LockRequest} req its type must not be 0
   * @returns {LockRecord | null}
   * @throws {PoolError} EINVAL, ENOENT
   */
  test(ino, gen, req) {
    this.check(req);
    if (!req.type) fail("EINVAL", "F_GETLK of an unlock request");
    return this.tx.withRead(() => {
      this.inodes.live(ino, gen);
      return this._conflict(ino, req, false);
    });
  }

  /**
   * Release what closing a descriptor of (ino, gen) releases on Linux: every POSIX lock
   * this instance holds on the file, and, if `lastRef` (the last descriptor of open
   * file description `ofd` closes), that OFD's flock and OFD locks. No lock is taken
   * when this instance holds none on the file (the common case).
   * @param {number} ino
   * @param {number} gen
   * @param {number} ofd 0 if the description never locked
   * @param {boolean} lastRef
   */
  releaseOnClose(ino, gen, ofd, lastRef) {
    if (!this.mine.has(ino)) return;
    let released = false;
    let left = 0;
    this.tx.withWrite(() => {
      const t = this._t();
      if (!t) return;
      const u32 = this.v.u32;
      const me = this.me;
      for (let k = u32[(t >>> 2) + L.FT_N] - 1; k >= 0; k--) {
        const w = this._rw(t, k);
        if (u32[w + L.FL_INO] !== ino || u32[w + L.FL_GEN] !== gen || u32[w + L.FL_OWNER] !== me) continue;
        const kind = u32[w + L.FL_KIND];
        if (kind === L.FLK_POSIX || (lastRef && ofd && u32[w + L.FL_OFD] === ofd && kind !== L.FLK_DIR)) {
          this._del(t, k);
          released = true;
        } else {
          left++;
        }
      }
    });
    if (!left) this.mine.delete(ino);
    if (released) this.wake();
  }

  /** Wake file-lock sleepers of all instances (after a release). No lock needed. */
  wake() {
    const i32 = this.v.i32;
    if (Atomics.load(i32, L.SB_FLOCK_SLEEPERS) > 0) {
      Atomics.add(i32, L.SB_FLOCK_SEQ, 1);
      Atomics.notify(i32, L.SB_FLOCK_SEQ);
    }
  }

  /**
   * Every lock in the pool (for diagnostics), or those on `ino`. META read.
   * @param {number} [ino]
   * @returns {LockRecord[]}
   */
  list(ino) {
    return this.tx.withRead(() => {
      const t = this._t();
      const out = [];
      if (!t) return out;
      const n = this.v.u32[(t >>> 2) + L.FT_N];
      for (let k = 0; k < n; k++) {
        const r = this._rec(t, k);
        if (ino === undefined || r.ino === ino) out.push(r);
      }
      return out;
    });
  }

  /** Records per instance slot (diagnostics; no lock). @returns {Map<number, number>} */
  countBySlot() {
    const out = new Map();
    const t = this._t();
    if (!t || t + L.FT_HDR > this.v.heapEnd) return out;
    const u32 = this.v.u32;
    const n = Math.min(u32[(t >>> 2) + L.FT_N], u32[(t >>> 2) + L.FT_CAP]);
    for (let k = 0; k < n; k++) {
      const s = u32[this._rw(t, k) + L.FL_OWNER] % 256;
      out.set(s, (out.get(s) || 0) + 1);
    }
    return out;
  }

  /**
   * Per instance slot, the slot of the holder whose POSIX lock it waits for (WAITS;
   * diagnostics, no lock). @returns {Map<number, number>}
   */
  waitsBySlot() {
    const out = new Map();
    const t = this._t();
    if (!t || t + L.FT_HDR > this.v.heapEnd) return out;
    for (let s = 0; s < L.NSLOTS; s++) {
      const w = Atomics.load(this.v.u32, (t >>> 2) + L.FT_WAITS + s);
      if (w) out.set(s, w - 1);
    }
    return out;
  }

  // ---- under META, inside other transactions --------------------------------------

  /**
   * Record that this instance owns directory (ino, gen), which it just made: the
   * directory is removed, if empty, when this instance dies. META write held.
   */
  addDirOwner(ino, gen) {
    this._add(ino, gen, this.me, 0, L.FLK_DIR, L.FL_WRITE, 0, Infinity);
    this.mine.add(ino);
  }

  /**
   * Drop every record of inode (ino, gen), which is being freed. META write held,
   * transaction open (called by Inodes.free).
   */
  dropInode(ino, gen) {
    const t = this._t();
    if (!t) return;
    const u32 = this.v.u32;
    for (let k = u32[(t >>> 2) + L.FT_N] - 1; k >= 0; k--) {
      const w = this._rw(t, k);
      if (u32[w + L.FL_INO] === ino && u32[w + L.FL_GEN] === gen) this._del(t, k);
    }
  }

  /**
   * Release every lock of dead (or detaching) instance slot x, one transaction per
   * record, and remove the empty directories it owned. META write held, transaction
   * open; commits as it goes (called by recovery).
   * @param {number} x
   */
  releaseSlot(x) {
    let t = this._t();
    if (!t) return;
    const u32 = this.v.u32;
    // Its own wait, and the waits for it (those waiters look again when woken).
    for (let s = 0; s < L.NSLOTS; s++) {
      const wi = (t >>> 2) + L.FT_WAITS + s;
      if (s === x ? u32[wi] !== 0 : u32[wi] === x + 1) this.tx.st(wi, 0);
    }
    let any = false;
    // One pass from the end (a removal moves the last record, already seen, into the
    // hole); again if a removed directory's records were dropped meanwhile.
    for (let again = true; again;) {
      again = false;
      t = this._t();
      for (let k = Math.min(u32[(t >>> 2) + L.FT_N], u32[(t >>> 2) + L.FT_CAP]) - 1; k >= 0; k--) {
        if (k >= u32[(t >>> 2) + L.FT_N]) continue;
        const w = this._rw(t, k);
        if (u32[w + L.FL_OWNER] % 256 !== x) continue;
        const kind = u32[w + L.FL_KIND];
        const ino = u32[w + L.FL_INO];
        const gen = u32[w + L.FL_GEN];
        this._del(t, k);
        if (kind === L.FLK_DIR && this.ns.removeEmptyDirLocked(ino, gen)) again = true;
        this.tx.commit();
        any = true;
      }
    }
    if (any) this.wake();
  }
}

/** Lock type names of the JS API ("read", "write", "unlock"). */
export const TYPE_NAMES = { read: L.FL_READ, shared: L.FL_READ, write: L.FL_WRITE, exclusive: L.FL_WRITE, unlock: 0 };

/**
 * A record for people and JS hosts: kind and type by name, length 0 = to the end.
 * @param {LockRecord} r
 */
export function describeLock(r) {
  const kinds = { [L.FLK_POSIX]: "posix", [L.FLK_OFD]: "ofd", [L.FLK_FLOCK]: "flock", [L.FLK_DIR]: "dir" };
  return {
    ino: r.ino,
    gen: r.gen,
    kind: kinds[r.kind] || String(r.kind),
    type: r.type === L.FL_WRITE ? "write" : "read",
    start: r.start,
    length: r.end === Infinity ? 0 : r.end - r.start,
    pid: r.owner,
    ofd: r.ofd,
  };
}
