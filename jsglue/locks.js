// jsglue/locks.js — read-write locks in the shared Memory whose every hold names its
// holder, so that the holds of an instance that was killed can be found and dropped.
//
// Lock words (word offsets from the lock's first word; see layout.js):
//   STATE     0 = not write-held, -(slot+1) = write-held by instance slot `slot`.
//   WNEXT     slot+1 of the waiter that goes next (a writer, or a reader), 0 = none.
//             The first waiter to find it 0 names itself. While it is set nobody else
//             enters: other readers stay out (a stream of readers cannot starve a
//             writer) and writers do not barge in when the lock is released, so a
//             waiter that is slow to wake (a page's main thread spins with growing
//             pauses; a sleeper needs a wake-up) is not passed over again and again by
//             a holder that releases and takes the lock back within microseconds (a
//             worker writing a file in a loop, or handing a long copy over between
//             pieces). The named waiter clears it once in. One word naming one
//             waiter: a killed waiter's mark is dropped by recovery.
//   SEQ       a counter bumped by a release when SLEEPERS > 0. Sleepers wait on SEQ,
//             never on STATE, so a release between "check" and "sleep" is never lost:
//             the sleeper read SEQ before checking, and the release changed it.
//   SLEEPERS  threads in the slow path. A release only pays for Atomics.notify when
//             someone may be asleep. (A hint: a killed sleeper leaves it too high,
//             which only costs releases a notify.)
// Read holds live in the instance slots, not in the lock: slot.RLOCK is the byte
// offset of the one lock that instance holds for reading (an instance never holds two
// read locks at once). Reader and writer use the Dekker handshake, all seq-cst:
//   reader: RLOCK = lock; if STATE == 0 it is in, else RLOCK = 0 and wait.
//   writer: CAS STATE 0 → -(slot+1); then wait until no slot's RLOCK names the lock.
// One of the two always sees the other's store, so they never both get in.
// The uncontended paths of this protocol are written three times: here with JS Atomics,
// in lockcore.js (wasm, what this file calls first), and inlined in fastio.js (a whole
// small read or write as one wasm call). A change to the protocol changes all three;
// tests/js/locks.test.mjs and tests/js/fastio.test.mjs run them against each other.
//
// Waiting: a short spin on SEQ (SPIN_CHECKS), then Atomics.wait on SEQ in slices of
// WAIT_SLICE_MS; after each slice the waiter bumps its own heartbeat (slot.HB: a waiter
// may itself hold locks that others wait for) and calls onStall(slot of the holder in
// the way). The pool decides there whether that holder is dead (its heartbeat stood
// still for the lease) and recovers.
// Threads that may not block (a browser main thread: Atomics.wait throws there) spin
// instead, yielding the CPU with short busy pauses of growing length.
import { L } from "./layout.js";
import { lockCore } from "./lockcore.js";
import { FAST_WAKE } from "./fastio.js";
export const WAIT_SLICE_MS = 50;
/** Checks of the lock's SEQ before a waiter that may block goes to sleep (~2-5 µs). */
const SPIN_CHECKS = 64;
const SLOT_WORDS = L.SLOT_BYTES >> 2;

/** True where Atomics.wait may be called (workers, node); false on a page's main thread. */
export function detectCanBlock() {
  try {
    const probe = new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(probe, 0, 1, 0); // returns "not-equal" at once where allowed
    return true;
  } catch (e) {
    return false;
  }
}

function pause(spins) {
  // A busy pause of a few microseconds that the JIT cannot drop.
  let x = 0;
  for (let i = 0; i < spins; i++) x = (x + i) | 0;
  return x;
}

/** "META", "stripe K", or "lock @offset" for the lock at byte offset `base`. */
export function lockName(base) {
  if (base === L.SB_META_LOCK) return "META";
  const k = (base - L.LOCKS_AT) / L.LOCK_BYTES;
  return Number.isInteger(k) && k >= 0 && k < L.STRIPES ? `stripe ${k}` : `lock @${base}`;
}

/** Word index of slot s's first word. */
export const slotWord = (s) => (L.SLOTS_AT >> 2) + s * SLOT_WORDS;

/** Thrown when this instance finds it was evicted (presumed dead) by the others. */
export class EvictedError extends Error {
  constructor(message) {
    super(message);
    this.name = "EvictedError";
    this.code = "EIO";
  }
}

/**
 * The locks of one instance (one slot) over the pool's Int32Array view. `base`
 * arguments are byte offsets of a lock's first word. Not re-entrant.
 */
export class Locks {
  /** @param {boolean} canBlock may this thread Atomics.wait (false: spin instead) */
  constructor(canBlock) {
    /** @type {Int32Array} set by the pool whenever its views are refreshed */
    this.i32 = null;
    /** @type {import("./lockcore.js").LockCore | null} the wasm fast paths, see bind() */
    this.core = null;
    /** Memory pages the views over it cover (set with i32 by the pool's views). */
    this.pages = 0;
    /** @type {(() => void) | null} renews those views: every lock taken leaves them
     *  covering the heap as it is (SB_HEAP_PAGES, read with the lock held) */
    this.grown = null;
    this.canBlock = canBlock;
    this.slot = -1;
    this.id = 0;
    this.gen = 0;
    this.sw = 0; // word index of our slot
    /** @type {((slot: number) => void) | null} called while waiting, with the slot of a
     *  holder in the way or -1 */
    this.onStall = null;
    /** How many META drains are waiting for readers to leave (see pool recovery). */
    this.draining = 0;
    /** Set by the crash test hook: the instance is dead and does nothing more. */
    this.dead = false;
    this._spins = 0;
    /** @type {Int32Array | null} */
    this._napWord = null;
    /** This instance's waits for locks others held (slow paths only; see _waitDone);
     *  maxOn: what the longest one waited for, e.g. "read META", "write stripe 5". */
    this.waits = { count: 0, totalMs: 0, maxMs: 0, maxOn: "" };
    /** performance.now() when the current acquisition began to wait, or -1. */
    this._waitT0 = -1;
    /** The lock (byte offset) and kind of hold that wait is for. */
    this._waitBase = 0;
    this._waitKind = "";
    /** writeInProgress()'s answer (reused). */
    this._wip = { base: 0, state: 0, hw: 0, seq: 0, gen: 0, ino: 0, lo: 0, hi: 0 };
  }

  /**
   * Mark that the acquisition in progress has to wait (its first wait only counts).
   * @param {number} base @param {"read"|"write"} kind
   */
  _waitBegin(base, kind) {
    if (this._waitT0 >= 0) return;
    this._waitT0 = performance.now();
    this._waitBase = base;
    this._waitKind = kind;
  }

  /** The acquisition in progress is in (or gave up): count its wait, if it waited. */
  _waitDone() {
    if (this._waitT0 < 0) return;
    const ms = performance.now() - this._waitT0;
    this._waitT0 = -1;
    const w = this.waits;
    w.count++;
    w.totalMs += ms;
    if (ms > w.maxMs) {
      w.maxMs = ms;
      w.maxOn = `${this._waitKind} ${lockName(this._waitBase)}`;
    }
  }

  /**
   * Take the uncontended paths through the wasm module of lockcore.js over `memory`
   * (the Memory that i32 views); without it, or where the engine cannot compile it,
   * they use JS Atomics. Both follow the same protocol.
   * @param {WebAssembly.Memory} memory
   */
  bind(memory) {
    this.core = lockCore(memory);
  }

  /** Act as instance slot `slot` of generation `gen`. */
  setSlot(slot, gen) {
    this.slot = slot;
    this.id = slot + 1;
    this.gen = gen;
    this.sw = slotWord(slot);
  }

  /** Bump our heartbeat, and refuse to go on if the others evicted us. */
  beat() {
    if (this.dead) throw new EvictedError("extmemfs: this instance is dead (test kill)");
    const i32 = this.i32;
    const sw = this.sw;
    if (i32[sw + L.S_STATE] !== L.SLOT_LIVE || i32[sw + L.S_GEN] !== this.gen) {
      throw new EvictedError("extmemfs: this instance was evicted from the pool (it was " +
        "presumed dead, or detached); attach again");
    }
    this.pulse();
  }

  _sleep(w, seq) {
    if (this.canBlock) {
      // Most holds last a microsecond or two: spin that long before sleeping, since a
      // sleeper's wake-up costs tens of microseconds.
      for (let k = 0; k < SPIN_CHECKS; k++) {
        if (Atomics.load(this.i32, w + L.LK_SEQ) !== seq) return;
        pause(32);
      }
      Atomics.wait(this.i32, w + L.LK_SEQ, seq, WAIT_SLICE_MS);
    } else {
      this._spins = Math.min((this._spins || 64) * 2, 1 << 16);
      pause(this._spins);
    }
  }

  /**
   * Announce a bulk change of bytes [lo, hi) of file `ino`, whose stripe we hold for
   * writing: until writeEnd(), others may read the file's other bytes without the lock
   * (writeInProgress). Fields first, then WSEQ odd: a reader that sees it odd sees them.
   * @param {number} ino @param {number} lo @param {number} hi
   */
  writeBegin(ino, lo, hi) {
    const i32 = this.i32;
    const sw = this.sw;
    Atomics.store(i32, sw + L.S_WINO, ino | 0);
    Atomics.store(i32, sw + L.S_WLO, lo | 0);
    Atomics.store(i32, sw + L.S_WHI, hi | 0);
    Atomics.add(i32, sw + L.S_WSEQ, 1);
  }

  /** End the announcement of writeBegin (WSEQ even again); nothing if none is open. */
  writeEnd() {
    if (this.dead) return;
    const w = this.sw + L.S_WSEQ;
    // (Only this instance changes its WSEQ; readers' compareExchange leaves it as it is.)
    const seq = Atomics.load(this.i32, w);
    if (seq & 1) Atomics.store(this.i32, w, seq + 1);
  }

  /**
   * The bulk write another instance announced under lock `base`, which it holds now:
   * {ino, lo, hi} and what stillWriting() checks, or null (not write-held, or its holder
   * announced nothing). The object is reused by the next call.
   * @param {number} base
   */
  writeInProgress(base) {
    const i32 = this.i32;
    const state = Atomics.load(i32, (base >> 2) + L.LK_STATE);
    if (state >= 0) return null;
    const h = -state - 1;
    if (h === this.slot || h >= L.NSLOTS) return null;
    const hw = slotWord(h);
    const seq = Atomics.load(i32, hw + L.S_WSEQ);
    if (!(seq & 1)) return null;
    const p = this._wip;
    p.base = base;
    p.state = state;
    p.hw = hw;
    p.seq = seq;
    p.gen = Atomics.load(i32, hw + L.S_GEN);
    p.ino = Atomics.load(i32, hw + L.S_WINO) >>> 0;
    p.lo = Atomics.load(i32, hw + L.S_WLO) >>> 0;
    p.hi = Atomics.load(i32, hw + L.S_WHI) >>> 0;
    return p;
  }

  /**
   * Is the write `p` (from writeInProgress) still the one in progress: the same holder
   * (slot generation) holding the lock, the same announcement? Then nothing but that
   * write changed the file since. (An RMW: the loads of a copy before it stay before it.)
   * @param {NonNullable<ReturnType<Locks["writeInProgress"]>>} p
   */
  stillWriting(p) {
    const i32 = this.i32;
    return Atomics.compareExchange(i32, p.hw + L.S_WSEQ, p.seq, p.seq) === p.seq &&
      Atomics.load(i32, (p.base >> 2) + L.LK_STATE) === p.state &&
      Atomics.load(i32, p.hw + L.S_GEN) === p.gen;
  }

  /** Bump our heartbeat (during long work under a lock, and while waiting). */
  pulse() {
    const i32 = this.i32;
    i32[this.sw + L.S_HB] = (i32[this.sw + L.S_HB] + 1) | 0;
  }

  _stalled(holder) {
    this.pulse();
    if (this.onStall) this.onStall(holder);
  }

  /** Acquire `base` for reading; other readers may hold it too. */
  readLock(base) {
    this.beat();
    const i32 = this.i32;
    const w = base >> 2;
    const rw = this.sw + L.S_RLOCK;
    if (i32[rw] !== 0) throw new Error(`extmemfs: read lock @${base} taken while holding @${i32[rw]}`);
    const me = this.id;
    // Fast path: no writer in, nobody named next.
    const core = this.core;
    if (core !== null) {
      const r = core.tryRead(base, rw << 2, this.pages);
      if (r & 1) {
        if (r & 4 && this.grown !== null) this.grown();
        return;
      }
      if (r === 2) this.wakeSleepers(w); // stepped back
    } else if (Atomics.load(i32, w + L.LK_STATE) === 0 && Atomics.load(i32, w + L.LK_WNEXT) === 0) {
      Atomics.store(i32, rw, base);
      if (Atomics.load(i32, w + L.LK_STATE) === 0) {
        this.renewViews();
        return;
      }
      Atomics.store(i32, rw, 0); // a writer got in first: step back, let it drain
      this.wakeSleepers(w);
    }
    const outer = this._waitT0 >= 0; // (a lock taken while waiting: the outer one counts)
    this._waitBegin(base, "read");
    try {
      for (;;) {
        const nx = Atomics.load(i32, w + L.LK_WNEXT);
        if (Atomics.load(i32, w + L.LK_STATE) === 0 && (nx === 0 || nx === me)) {
          Atomics.store(i32, rw, base);
          if (Atomics.load(i32, w + L.LK_STATE) === 0) {
            this._spins = 0;
            this.renewViews();
            return;
          }
          Atomics.store(i32, rw, 0);
          this.wakeSleepers(w);
        }
        // Name ourselves next, so that a writer releasing and re-taking the lock in a
        // loop lets us in (see WNEXT).
        if (nx === 0) Atomics.compareExchange(i32, w + L.LK_WNEXT, 0, me);
        Atomics.add(i32, w + L.LK_SLEEPERS, 1);
        const seq = Atomics.load(i32, w + L.LK_SEQ);
        const s = Atomics.load(i32, w + L.LK_STATE);
        const n2 = Atomics.load(i32, w + L.LK_WNEXT);
        const deferring = n2 !== 0 && n2 !== me;
        if (s !== 0 || deferring) this._sleep(w, seq);
        Atomics.sub(i32, w + L.LK_SLEEPERS, 1);
        this._stalled(s < 0 ? -s - 1 : deferring ? n2 - 1 : -1);
      }
    } finally {
      if (!outer) this._waitDone();
      // Our turn is taken (or void: an eviction throws out of the wait): let the others on.
      if (Atomics.compareExchange(i32, w + L.LK_WNEXT, me, 0) === me &&
          Atomics.load(i32, w + L.LK_SLEEPERS) > 0) {
        this.wake(w);
      }
    }
  }

  /** Release our read hold of `base`. */
  readUnlock(base) {
    if (this.dead) return;
    const i32 = this.i32;
    const rw = this.sw + L.S_RLOCK;
    const core = this.core;
    let sleepers;
    if (core !== null) {
      sleepers = core.readExit(rw << 2, base);
    } else if (Atomics.load(i32, rw) === base) {
      Atomics.store(i32, rw, 0);
      sleepers = Atomics.load(i32, (base >> 2) + L.LK_SLEEPERS);
    } else {
      sleepers = -1;
    }
    if (sleepers < 0) throw this._notHeld(base, false);
    if (sleepers > 0) this.wake(base >> 2);
  }

  /** Acquire `base` exclusively. */
  writeLock(base) {
    this.beat();
    const i32 = this.i32;
    const w = base >> 2;
    const me = -this.id;
    const core = this.core;
    // got: 0 = not taken, 1 = taken and no reader holds it, 2 = taken, readers to drain;
    // | 4: the heap grew past our views (fresh: the core's answer says whether it did)
    let got;
    let fresh = false;
    if (core !== null) {
      got = core.tryWrite(base, me, this.id, this.pages);
      fresh = got !== 0;
    } else {
      const next = Atomics.load(i32, w + L.LK_WNEXT);
      const won = (next === 0 || next === this.id) && Atomics.compareExchange(i32, w + L.LK_STATE, 0, me) === 0;
      got = won ? 2 : 0;
    }
    if (got === 0) {
      const outer = this._waitT0 >= 0; // (a lock taken while waiting: the outer one counts)
      try {
        this._waitForWrite(base, me);
        this.drain(base); // (its wait for readers to leave is part of this one)
      } finally {
        if (!outer) this._waitDone();
      }
    } else if (got & 2) {
      this.drain(base);
    }
    this._spins = 0;
    if (!fresh) this.renewViews();
    else if (got & 4 && this.grown !== null) this.grown();
  }

  /** writeLock's slow path: wait until STATE is ours (`me`); then readers may drain. */
  _waitForWrite(base, me) {
    const i32 = this.i32;
    const w = base >> 2;
    if (Atomics.load(i32, w + L.LK_STATE) === me) {
      throw new Error(`extmemfs: write lock @${base} taken twice by one instance`);
    }
    this._waitBegin(base, "write");
    try {
      for (;;) {
        // A waiter named in WNEXT goes first: nobody else barges in when the lock is
        // released, so a waiter that is slow to wake (a page's main thread, which
        // spins) is not passed over again and again.
        const nx = Atomics.load(i32, w + L.LK_WNEXT);
        if ((nx === 0 || nx === this.id) && Atomics.compareExchange(i32, w + L.LK_STATE, 0, me) === 0) break;
        if (nx === 0) Atomics.compareExchange(i32, w + L.LK_WNEXT, 0, this.id);
        Atomics.add(i32, w + L.LK_SLEEPERS, 1);
        const seq = Atomics.load(i32, w + L.LK_SEQ);
        const s = Atomics.load(i32, w + L.LK_STATE);
        const n2 = Atomics.load(i32, w + L.LK_WNEXT);
        const deferring = n2 !== 0 && n2 !== this.id;
        if (s !== 0 || deferring) this._sleep(w, seq);
        Atomics.sub(i32, w + L.LK_SLEEPERS, 1);
        this._stalled(s < 0 ? -s - 1 : deferring ? n2 - 1 : -1);
      }
    } finally {
      Atomics.compareExchange(i32, w + L.LK_WNEXT, this.id, 0);
    }
    // We may have been evicted while we waited (presumed dead: a worker the browser
    // has not stopped yet after terminate(), or one stalled past the lease). Then our
    // recovery is done and nothing we change now would ever be undone or released:
    // give the lock back and stop.
    const sw = this.sw;
    if (Atomics.load(i32, sw + L.S_STATE) !== L.SLOT_LIVE || Atomics.load(i32, sw + L.S_GEN) !== this.gen) {
      Atomics.compareExchange(i32, w + L.LK_STATE, me, 0);
      this.wake(w);
      throw new EvictedError("extmemfs: this instance was evicted from the pool while it " +
        "waited for a lock (it was presumed dead); attach again");
    }
  }

  /**
   * Renew the views (grown) if SB_HEAP_PAGES is past the pages they cover. Taking a lock
   * does it; Views.ensure() asks for it otherwise.
   */
  renewViews() {
    if (this.grown === null) return;
    const pages = this.core !== null ? this.core.load32(L.SB_HEAP_PAGES << 2) : Atomics.load(this.i32, L.SB_HEAP_PAGES);
    if (pages > this.pages) this.grown();
  }

  /** Wait until no instance holds `base` for reading (we hold STATE). */
  drain(base) {
    const outer = this._waitT0 >= 0; // (a caller that is waiting already counts this one)
    try {
      this._drain(base);
    } finally {
      if (!outer) this._waitDone();
    }
  }

  _drain(base) {
    const i32 = this.i32;
    const w = base >> 2;
    // (The wasm core reads SLOTS_HIGH itself, at each call.)
    const high = this.core !== null ? 0 : Math.min(L.NSLOTS, Atomics.load(i32, L.SB_SLOTS_HIGH));
    const isMeta = base === L.SB_META_LOCK;
    for (let s = this._nextReader(base, 0, high); s >= 0; s = this._nextReader(base, s + 1, high)) {
      const rw = slotWord(s) + L.S_RLOCK;
      if (s === this.slot) throw new Error(`extmemfs: write lock @${base} taken while read-holding it`);
      if (isMeta) this.draining++;
      try {
        while (Atomics.load(i32, rw) === base) {
          this._waitBegin(base, "write");
          Atomics.add(i32, w + L.LK_SLEEPERS, 1);
          const seq = Atomics.load(i32, w + L.LK_SEQ);
          if (Atomics.load(i32, rw) === base) this._sleep(w, seq);
          Atomics.sub(i32, w + L.LK_SLEEPERS, 1);
          if (Atomics.load(i32, rw) === base) this._stalled(s);
        }
      } finally {
        if (isMeta) this.draining--;
      }
    }
  }

  /** The first slot from `from` on (below `high`, or SLOTS_HIGH) read-holding `base`, or -1. */
  _nextReader(base, from, high) {
    if (this.core !== null) return this.core.readerOf(base, from);
    for (let s = from; s < high; s++) {
      if (Atomics.load(this.i32, slotWord(s) + L.S_RLOCK) === base) return s;
    }
    return -1;
  }

  /** Release our exclusive hold of `base`. */
  writeUnlock(base) {
    if (this.dead) return;
    const i32 = this.i32;
    const w = base >> 2;
    const core = this.core;
    let sleepers;
    if (core !== null) {
      sleepers = core.writeExit(base, -this.id);
    } else if (Atomics.compareExchange(i32, w + L.LK_STATE, -this.id, 0) === -this.id) {
      sleepers = Atomics.load(i32, w + L.LK_SLEEPERS);
    } else {
      sleepers = -1;
    }
    if (sleepers < 0) throw this._notHeld(base, true);
    if (sleepers > 0) this.wake(w);
  }

  /** The error of an unlock of `base` (a write hold's if `write`) that we do not hold. */
  _notHeld(base, write) {
    return write
      ? new EvictedError(`extmemfs: write-unlock of lock @${base}, which this instance ` +
        `does not hold (were its locks reclaimed after it was presumed dead?)`)
      : new Error(`extmemfs: read-unlock of lock @${base}, which this instance does not hold`);
  }

  /**
   * End a hold that one wasm call took and gave back (fastio.js) as an unlock ends it:
   * `r` is the call's answer. Returns its result (≥ 0), or -1 when the caller must take
   * the JS path; throws as the unlock would if the lock was no longer ours (-3).
   * @param {number} base
   * @param {number} r
   * @param {boolean} write
   * @returns {number}
   */
  fastDone(base, r, write) {
    if (r >= 0) {
      if (r & FAST_WAKE) this.wake(base >> 2);
      return r & ~FAST_WAKE;
    }
    if (r === -3) throw this._notHeld(base, write);
    if (r === -2) this.wakeSleepers(base >> 2); // taken and given back
    return -1;
  }

  /** Wake the sleepers of the lock whose first word is `w` (a word index). */
  wake(w) {
    Atomics.add(this.i32, w + L.LK_SEQ, 1);
    Atomics.notify(this.i32, w + L.LK_SEQ);
  }

  /** Wake them if there are any (after stepping back from, or giving back, a lock). */
  wakeSleepers(w) {
    if (Atomics.load(this.i32, w + L.LK_SLEEPERS) > 0) this.wake(w);
  }

  /**
   * True if someone waits for `base` (a writer named in WNEXT, or threads in the slow
   * path): a long holder should hand the lock over between pieces of its work.
   */
  contended(base) {
    const w = base >> 2;
    return Atomics.load(this.i32, w + L.LK_WNEXT) !== 0 || Atomics.load(this.i32, w + L.LK_SLEEPERS) > 0;
  }

  /**
   * Wait about `ms` milliseconds without holding anything (Atomics.wait where allowed,
   * else a busy wait), bumping the heartbeat.
   * @param {number} ms
   */
  nap(ms) {
    this.pulse();
    if (this.canBlock) {
      if (!this._napWord) this._napWord = new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(this._napWord, 0, 0, ms);
    } else {
      for (const t = Date.now(); Date.now() - t < ms;) pause(256);
    }
  }

  /** True if this instance holds `base` for writing. */
  isWriteHeld(base) {
    return Atomics.load(this.i32, (base >> 2) + L.LK_STATE) === -this.id;
  }

  /** True if `base` is held at all (by a writer, or named by some reader slot). */
  isHeld(base) {
    const i32 = this.i32;
    if (Atomics.load(i32, (base >> 2) + L.LK_STATE) !== 0) return true;
    const high = Math.min(L.NSLOTS, Atomics.load(i32, L.SB_SLOTS_HIGH));
    for (let s = 0; s < high; s++) if (Atomics.load(i32, slotWord(s) + L.S_RLOCK) === base) return true;
    return false;
  }
}

