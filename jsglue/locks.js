// jsglue/locks.js — read-write locks made of four i32 words in the shared Memory.
//
// Lock words (word offsets from the lock's first word; see layout.js):
//   STATE     0 = free, n > 0 = n readers inside, -1 = one writer inside.
//   WWAIT     writers waiting to enter. While it is non-zero new readers stay out,
//             so a stream of readers cannot starve a writer.
//   SEQ       a counter bumped by a release when SLEEPERS > 0. Sleepers wait on SEQ,
//             never on STATE, so a release between "check" and "sleep" is never lost:
//             the sleeper read SEQ before checking, and the release changed it.
//   SLEEPERS  threads in the slow path. A release only pays for Atomics.notify when
//             someone may be asleep.
//
// Handshake, acquire (reader or writer):
//   1. fast path: one compare-exchange on STATE.
//   2. slow path: SLEEPERS += 1; seq = SEQ; re-check the condition; if still blocked,
//      Atomics.wait(SEQ, seq, WAIT_SLICE_MS); SLEEPERS -= 1; go to 1. Every wake-up is
//      only a hint: the loop re-checks.
// Release: update STATE; if SLEEPERS > 0 then SEQ += 1 and notify all on SEQ.
//
// Threads that may not block (a browser main thread: Atomics.wait throws there) spin
// instead, yielding the CPU with short busy pauses of growing length.
(function (modules) {
  "use strict";
  const L = modules.layout;
  const WAIT_SLICE_MS = 50;

  /** True where Atomics.wait may be called (workers, node); false on a page's main thread. */
  function detectCanBlock() {
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

  /**
   * Locks over one Int32Array view of the pool. `base` arguments are byte offsets of
   * a lock's first word. Not re-entrant: a thread must not acquire a lock it holds.
   */
  class Locks {
    constructor(canBlock) {
      this.i32 = null; // set by the pool whenever its views are refreshed
      this.canBlock = canBlock;
    }

    _sleep(w, seq) {
      const i32 = this.i32;
      if (this.canBlock) {
        Atomics.wait(i32, w + L.LK_SEQ, seq, WAIT_SLICE_MS);
      } else {
        this._spins = Math.min((this._spins || 64) * 2, 1 << 16);
        pause(this._spins);
      }
    }

    /** Acquire `base` for reading; other readers may hold it too. */
    readLock(base) {
      const i32 = this.i32;
      const w = base >> 2;
      for (;;) {
        const s = Atomics.load(i32, w + L.LK_STATE);
        if (s >= 0 && Atomics.load(i32, w + L.LK_WWAIT) === 0 &&
            Atomics.compareExchange(i32, w + L.LK_STATE, s, s + 1) === s) {
          this._spins = 0;
          return;
        }
        Atomics.add(i32, w + L.LK_SLEEPERS, 1);
        const seq = Atomics.load(i32, w + L.LK_SEQ);
        const s2 = Atomics.load(i32, w + L.LK_STATE);
        if (s2 < 0 || Atomics.load(i32, w + L.LK_WWAIT) !== 0) this._sleep(w, seq);
        Atomics.sub(i32, w + L.LK_SLEEPERS, 1);
      }
    }

    /** Release a read hold of `base`. */
    readUnlock(base) {
      const i32 = this.i32;
      const w = base >> 2;
      const prev = Atomics.sub(i32, w + L.LK_STATE, 1);
      if (prev <= 0) throw new Error(`extmemfs: read-unlock of lock @${base} not read-held`);
      if (prev === 1 && Atomics.load(i32, w + L.LK_SLEEPERS) > 0) this._wake(w);
    }

    /** Acquire `base` exclusively. */
    writeLock(base) {
      const i32 = this.i32;
      const w = base >> 2;
      if (Atomics.compareExchange(i32, w + L.LK_STATE, 0, -1) === 0) return;
      Atomics.add(i32, w + L.LK_WWAIT, 1);
      for (;;) {
        if (Atomics.compareExchange(i32, w + L.LK_STATE, 0, -1) === 0) break;
        Atomics.add(i32, w + L.LK_SLEEPERS, 1);
        const seq = Atomics.load(i32, w + L.LK_SEQ);
        if (Atomics.load(i32, w + L.LK_STATE) !== 0) this._sleep(w, seq);
        Atomics.sub(i32, w + L.LK_SLEEPERS, 1);
      }
      this._spins = 0;
      Atomics.sub(i32, w + L.LK_WWAIT, 1);
      // Readers that backed off for us may be asleep; they wake at our release.
    }

    /** Release an exclusive hold of `base`. */
    writeUnlock(base) {
      const i32 = this.i32;
      const w = base >> 2;
      if (Atomics.compareExchange(i32, w + L.LK_STATE, -1, 0) !== -1) {
        throw new Error(`extmemfs: write-unlock of lock @${base} not write-held`);
      }
      if (Atomics.load(i32, w + L.LK_SLEEPERS) > 0) this._wake(w);
    }

    _wake(w) {
      Atomics.add(this.i32, w + L.LK_SEQ, 1);
      Atomics.notify(this.i32, w + L.LK_SEQ);
    }

    /** True if `base` is held for writing (by anyone): for debug assertions. */
    isWriteHeld(base) {
      return Atomics.load(this.i32, (base >> 2) + L.LK_STATE) === -1;
    }

    /** True if `base` is held at all. */
    isHeld(base) {
      return Atomics.load(this.i32, (base >> 2) + L.LK_STATE) !== 0;
    }
  }

  return { Locks, detectCanBlock, WAIT_SLICE_MS };
});
