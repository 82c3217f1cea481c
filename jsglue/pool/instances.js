// jsglue/pool/instances.js — the instances attached to a pool: their slots (layout.js:
// "Instance slot"), liveness (heartbeats and, in browsers, Web Locks), and cleaning up
// after one that died: undo its transaction, drop the extent move it was copying, release
// what other tables hold for it (onRelease: its file locks, pool/flocks.js), its pins,
// then its lock holds and its slot (recover). Also detach, evict, sweep.
// Locks: recover takes META itself (from the dead holder if it held it); recoverLocked
// expects META write held with a transaction open; list and the id helpers take none.
import { L } from "../layout.js";
import { slotWord } from "../locks.js";
import { fail } from "../errors.js";
import { sharedWebLocks } from "../weblocks.js";
import { isRegMode } from "./inodes.js";
import { settleMoves } from "./compact.js";

const META = L.SB_META_LOCK;
/**
 * A waiter looks at the holder in its way after every wait slice (locks.js WAIT_SLICE_MS,
 * 50 ms) or spin pause. Two looks further apart than this mean the waiter did not run
 * in between: that time does not count towards the holder's lease (onStall).
 */
export const WATCH_GAP_MS = 250;

export class Instances {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("../locks.js").Locks} locks
   * @param {import("./heap.js").Heap} heap
   * @param {import("./inodes.js").Inodes} inodes
   * @param {import("./pins.js").Pins} pins
   */
  constructor(views, tx, locks, heap, inodes, pins) {
    this.v = views;
    this.tx = tx;
    this.locks = locks;
    this.heap = heap;
    this.inodes = inodes;
    this.pins = pins;
    /** This instance's slot and its generation (set by claimSlot). */
    this.slot = -1;
    this.gen = 0;
    this.detached = false;
    /** @type {Set<number>} slots found dead, to recover once META is fully ours */
    this.pending = new Set();
    /** @type {Array<(slot: number) => void>} see onRelease */
    this._releasers = [];
    this._watch = { slot: -1, hb: 0, last: 0, watched: 0, state: 0 };
    /** @type {Promise<void> | null} */
    this._webLockHeld = null;
    /** @type {(() => void) | null} */
    this._releaseWebLock = null;
    tx.on({
      begin: () => {
        if (this.pending.size) this.recoverPending();
      },
    });
    locks.onStall = (holder) => this.onStall(holder);
  }

  /**
   * Call fn(slot) while recovering (or detaching) instance `slot`, after its extent
   * move was dropped and before its pins are: other tables release what it held.
   * fn runs with META write held and a transaction open and may commit as it goes.
   * @param {(slot: number) => void} fn
   */
  onRelease(fn) {
    this._releasers.push(fn);
  }

  /** Name of the liveness Web Lock of instance (slot, gen) of this pool. */
  webLockName(slot, gen) {
    return `extmemfs:${this.v.u32[L.SB_UID].toString(16)}:${slot}:${gen}`;
  }

  /**
   * Where the Web Locks API exists (browsers, pages and workers), hold a lock named
   * after this instance for as long as it is attached. The browser releases it when
   * the worker is terminated or crashes, so sweep() in any other instance can tell a
   * dead instance from an idle one, even if it held no pool lock.
   */
  holdWebLock() {
    const wl = sharedWebLocks();
    if (!wl) return;
    const sw = this.locks.sw;
    const gen = this.gen;
    const i32 = this.v.i32;
    this._webLockHeld = new Promise((resolve) => {
      this._releaseWebLock = resolve;
    });
    wl.request(this.webLockName(this.slot, gen), () => {
      if (Atomics.load(i32, sw + L.S_GEN) === gen && Atomics.load(i32, sw + L.S_STATE) === L.SLOT_LIVE) {
        Atomics.or(i32, sw + L.S_FLAGS, L.SF_WEBLOCK);
      }
      return this._webLockHeld;
    }).catch(() => {});
  }

  /**
   * Find instances that died without anyone noticing (terminated or crashed while
   * holding no pool lock), by their liveness Web Locks, and evict them. Only in
   * browsers (elsewhere it returns [] at once). @returns {Promise<number[]>} ids evicted
   */
  async sweep() {
    const wl = sharedWebLocks();
    if (!wl) return [];
    const snap = await wl.query();
    const held = new Set((snap.held || []).map((l) => l.name));
    const i32 = this.v.i32;
    const out = [];
    const high = Math.min(L.NSLOTS, Atomics.load(i32, L.SB_SLOTS_HIGH));
    for (let s = 0; s < high; s++) {
      if (s === this.slot) continue;
      const sw = slotWord(s);
      const gen = Atomics.load(i32, sw + L.S_GEN);
      if (Atomics.load(i32, sw + L.S_STATE) === L.SLOT_FREE) continue;
      if (!(Atomics.load(i32, sw + L.S_FLAGS) & L.SF_WEBLOCK)) continue; // never held one
      if (held.has(this.webLockName(s, gen))) continue;
      if (await this.evictWhenStopped(gen * 256 + s)) out.push(gen * 256 + s);
    }
    return out;
  }

  /** Take a free instance slot (the one with the lowest index). */
  claimSlot() {
    const i32 = this.v.i32;
    for (let s = 0; s < L.NSLOTS; s++) {
      const sw = slotWord(s);
      if (Atomics.compareExchange(i32, sw + L.S_STATE, L.SLOT_FREE, L.SLOT_LIVE) !== L.SLOT_FREE) continue;
      const gen = ((i32[sw + L.S_GEN] + 1) & 0x7fffff) || 1;
      Atomics.store(i32, sw + L.S_GEN, gen);
      Atomics.store(i32, sw + L.S_RLOCK, 0);
      Atomics.store(i32, sw + L.S_PINS, 0);
      Atomics.store(i32, sw + L.S_MOVE_INO, 0);
      Atomics.store(i32, sw + L.S_FLAGS, 0);
      // (Even: no write announced. Readers also check GEN, so an odd WSEQ left by the
      // slot's previous instance would not be believed either.)
      Atomics.store(i32, sw + L.S_WSEQ, (Atomics.load(i32, sw + L.S_WSEQ) + 1) & ~1);
      this.v.f64[(sw >>> 1) + L.S_SINCE] = Date.now();
      for (let high = Atomics.load(i32, L.SB_SLOTS_HIGH); high < s + 1;) {
        const seen = Atomics.compareExchange(i32, L.SB_SLOTS_HIGH, high, s + 1);
        if (seen === high) break;
        high = seen;
      }
      this.slot = s;
      this.gen = gen;
      this.locks.setSlot(s, gen);
      return;
    }
    fail("EMFILE", `all ${L.NSLOTS} instance slots of the pool are taken: detach instances ` +
      "you no longer use, or evict the ones whose workers were terminated (pool.instances())", "OSError");
  }

  /** This instance's id in the pool: generation × 256 + slot. */
  get instanceId() {
    return this.gen * 256 + this.slot;
  }

  /**
   * Called by the locks while waiting, with the slot of the holder in the way. The
   * holder is presumed dead once its heartbeat has stood still for the lease (SB_LEASE_MS)
   * of *watched* time: time in which this waiter itself ran, looking at least every
   * WATCH_GAP_MS. A longer gap between two looks means the waiter was off the CPU too (an
   * overloaded machine, a VM whose CPUs stopped, a laptop that slept): it saw nothing of
   * the holder then, and the gap does not count. A live holder taken for dead would go
   * on writing into what recovery gave back — cleaning up after it is only safe once it
   * has stopped for certain.
   */
  onStall(holder) {
    if (holder < 0 || holder === this.slot || holder >= L.NSLOTS) return;
    const i32 = this.v.i32;
    const sw = slotWord(holder);
    const state = Atomics.load(i32, sw + L.S_STATE);
    const hb = Atomics.load(i32, sw + L.S_HB);
    const now = performance.now(); // (monotonic: the lease is not fooled by clock changes)
    const wt = this._watch;
    if (wt.slot !== holder || wt.hb !== hb || wt.state !== state) {
      wt.slot = holder;
      wt.hb = hb;
      wt.state = state;
      wt.last = now;
      wt.watched = 0;
      if (state !== L.SLOT_DEAD) return; // half-recovered: finish at once
    } else {
      const gap = now - wt.last;
      wt.last = now;
      if (gap >= 0 && gap < WATCH_GAP_MS) wt.watched += gap;
      if (wt.watched < Atomics.load(this.v.u32, L.SB_LEASE_MS)) return;
    }
    wt.slot = -1;
    this.recover(holder);
  }

  /**
   * Clean up after dead instance slot x: undo its open transaction, drop the move it
   * was making, release its pins, then free its locks and its slot. Safe to call
   * again for a slot half-recovered by someone who died meanwhile.
   */
  recover(x) {
    const i32 = this.v.i32;
    const sw = slotWord(x);
    if (this.locks.draining) {
      // We hold META's STATE and wait for readers, x among them: dropping its read
      // hold is all that can be done now; the rest waits until META is fully ours.
      if (Atomics.load(i32, sw + L.S_STATE) !== L.SLOT_FREE) {
        const held = Atomics.load(i32, sw + L.S_RLOCK);
        if (held && Atomics.compareExchange(i32, sw + L.S_RLOCK, held, 0) === held) this.locks.wake(held >> 2);
        this.pending.add(x);
      }
      return;
    }
    const mw = META >> 2;
    const me = -this.locks.id;
    if (Atomics.load(i32, mw + L.LK_STATE) === me) {
      throw new Error("extmemfs: recovery started while this instance holds META");
    }
    this.pending.add(x);
    // A dead waiter named as META's next (WNEXT) would keep every other writer out, this
    // one included: its turn is void (a live one that was only presumed dead names
    // itself again, and then finds it was evicted).
    if (Atomics.compareExchange(i32, mw + L.LK_WNEXT, x + 1, 0) === x + 1) this.locks.wake(mw);
    if (Atomics.compareExchange(i32, mw + L.LK_STATE, -(x + 1), me) === -(x + 1)) {
      this.locks.drain(META); // META was x's: it is ours now, undo log and all
    } else {
      this.locks.writeLock(META);
    }
    try {
      this.v.ensure();
      this.tx.begin(); // undoes a dead holder's log, then recovers _pending (x among them)
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
    }
  }

  /** Recover every slot in _pending. META write held, transaction open. */
  recoverPending() {
    for (const x of this.pending) {
      this.pending.delete(x);
      if (x !== this.slot) this.recoverLocked(x);
    }
  }

  /**
   * Give back what the instance in slot `x` holds in the pool: the block of an extent
   * move it was copying outside META (the old extent is still whole), its file locks
   * (the onRelease hooks: pool/flocks.js), and its pins (freeing unlinked files nobody
   * else holds). META write held, transaction open; commits as it goes.
   * @param {number} x slot
   */
  releaseResources(x) {
    const u32 = this.v.u32;
    const sw = slotWord(x);
    const mi = u32[sw + L.S_MOVE_INO];
    if (mi && (mi >>> 10) < u32[L.SB_INODE_CHUNKS]) {
      const w = this.inodes.ib(mi) >>> 2;
      const moving = u32[w + L.I_MOVING];
      if (moving && isRegMode(u32[w + L.I_MODE])) {
        this.heap.free(moving - L.HDR);
        this.tx.st(w + L.I_MOVING, 0);
      }
    }
    this.tx.st(sw + L.S_MOVE_INO, 0);
    this.tx.commit();
    for (const release of this._releasers) release(x);
    this.pins.releaseAll(x);
  }

  /**
   * Release everything slot x holds. META write held with a transaction open, and
   * x's own transaction (if any) already undone. Commits as it goes.
   */
  recoverLocked(x, detaching) {
    const u32 = this.v.u32;
    const i32 = this.v.i32;
    const sw = slotWord(x);
    const state = Atomics.load(i32, sw + L.S_STATE);
    if (state === L.SLOT_FREE) return;
    settleMoves(u32); // x may have died compacting
    if (state === L.SLOT_LIVE) {
      this.releaseResources(x);
      this.tx.stA(sw + L.S_STATE, L.SLOT_DEAD);
      if (!detaching) this.tx.st(L.SB_RECOVERIES, u32[L.SB_RECOVERIES] + 1);
      this.tx.commit();
    }
    // Committed: now drop its holds (lock words are never logged or undone).
    const id = x + 1;
    for (let k = 0; k < L.STRIPES; k++) this.dropHold(L.LOCKS_AT + k * L.LOCK_BYTES, id);
    if (!detaching) this.dropHold(META, id); // (a detaching instance holds META itself)
    const held = Atomics.load(i32, sw + L.S_RLOCK);
    Atomics.store(i32, sw + L.S_RLOCK, 0);
    if (held) this.locks.wake(held >> 2);
    if (detaching) return; // the caller frees the slot once it released META
    Atomics.store(i32, sw + L.S_FLAGS, 0);
    Atomics.store(i32, sw + L.S_STATE, L.SLOT_FREE);
  }

  dropHold(base, id) {
    const i32 = this.v.i32;
    const w = base >> 2;
    let woke = Atomics.compareExchange(i32, w + L.LK_STATE, -id, 0) === -id;
    woke = Atomics.compareExchange(i32, w + L.LK_WNEXT, id, 0) === id || woke;
    if (woke) this.locks.wake(w);
  }

  /**
   * Release this instance's pins and slot. Its open files become unusable; the
   * Pool object cannot be used afterwards. Idempotent.
   */
  detach() {
    if (this.detached) return;
    this.tx.wlock();
    try {
      this.recoverLocked(this.slot, true);
    } catch (e) {
      this.tx.abort();
      throw e;
    } finally {
      this.tx.wunlock();
    }
    const sw = slotWord(this.slot);
    Atomics.store(this.v.i32, sw + L.S_FLAGS, 0);
    Atomics.store(this.v.i32, sw + L.S_STATE, L.SLOT_FREE);
    this.detached = true;
    if (this._releaseWebLock) this._releaseWebLock();
  }

  /**
   * Declare instance `id` (its instanceId) dead and clean up after it now: for
   * hosts that terminated its worker. First waits until its heartbeat has stood
   * still for `stillMs` (a terminated browser worker may run on briefly).
   * Returns false if no such instance is attached.
   * @throws {PoolError} EINVAL (bad id, or this instance's own id), EBUSY (it keeps
   *   running)
   */
  evict(id, stillMs = 60) {
    const { slot, gen } = this.parseId(id);
    if (!this.attached(slot, gen)) return false;
    this.locks.beat();
    if (stillMs > 0) {
      const still = this.stillWatch(slot, gen, stillMs, Math.max(Atomics.load(this.v.u32, L.SB_LEASE_MS), 2 * stillMs));
      const nap = this.locks.canBlock ? new Int32Array(new SharedArrayBuffer(4)) : null;
      while (!still()) {
        if (nap) Atomics.wait(nap, 0, 0, 5);
        else for (const t = Date.now(); Date.now() - t < 5;);
      }
      if (!this.attached(slot, gen)) return false;
    }
    this.recover(slot);
    return true;
  }

  /**
   * Like evict(), but waits without blocking the thread (timers) until the instance
   * has stopped: its heartbeat unchanged for `stillMs`. Use it right after
   * Worker.terminate() in a browser, where the worker stops only once the
   * terminating thread has returned to its event loop.
   * @returns {Promise<boolean>} as evict()
   * @throws {PoolError} EBUSY if it still runs after `timeoutMs`
   */
  async evictWhenStopped(id, stillMs = 60, timeoutMs = 5000) {
    const { slot, gen } = this.parseId(id);
    const still = this.stillWatch(slot, gen, stillMs, timeoutMs);
    while (!still()) await new Promise((r) => setTimeout(r, 10));
    // A heartbeat that stood still is not proof: a worker that is slow to stop (the
    // browser stops it some time after terminate()) may just be busy outside the pool,
    // or not be scheduled, on a loaded machine. Where the instance holds a liveness Web
    // Lock, wait until the browser has released it: then it has stopped for certain.
    await this.webLockReleased(slot, gen, timeoutMs);
    return this.evict(id, 0);
  }

  /**
   * Resolve once the liveness Web Lock of instance (slot, gen) is no longer held (at once
   * where there are no Web Locks, or the instance never held one).
   * @throws {import("../errors.js").PoolError} EBUSY if it is still held after `timeoutMs`
   */
  async webLockReleased(slot, gen, timeoutMs) {
    const wl = sharedWebLocks();
    if (!wl) return;
    const name = this.webLockName(slot, gen);
    for (const limit = Date.now() + timeoutMs; ;) {
      if (!this.attached(slot, gen)) return;
      // Held, or still pending (granted to a worker that has not run its callback yet):
      // either way the worker that asked for it is alive.
      const snap = await wl.query();
      const mine = (l) => l.name === name;
      if (!(snap.held || []).some(mine) && !(snap.pending || []).some(mine)) return;
      if (Date.now() > limit) {
        fail("EBUSY", "that instance is still running (its liveness lock is still held): " +
          "terminate its worker before evicting it");
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Slot and generation of instance id `id`. @throws {PoolError} EINVAL */
  parseId(id) {
    if (typeof id !== "number" || !(id >= 0) || id !== Math.floor(id) || id > 0xffffffff) {
      fail("EINVAL", `instance id must be a whole number, got ${id}`);
    }
    const slot = id % 256;
    if (slot >= L.NSLOTS) fail("EINVAL", `no instance slot ${slot} (the pool has ${L.NSLOTS})`);
    if (slot === this.slot) fail("EINVAL", "an instance cannot evict itself (use detach())");
    return { slot, gen: Math.floor(id / 256) };
  }

  /** True while instance (slot, gen) is attached (its slot not freed or retaken). */
  attached(slot, gen) {
    const sw = slotWord(slot);
    return Atomics.load(this.v.i32, sw + L.S_GEN) === gen &&
      Atomics.load(this.v.i32, sw + L.S_STATE) !== L.SLOT_FREE;
  }

  /**
   * A watch on instance (slot, gen): each call of the returned function is true once
   * its heartbeat has stood still for `stillMs` or it is gone. A browser's
   * Worker.terminate() returns before the worker has stopped, and cleaning up after
   * an instance that still runs would undo work it is doing.
   * @throws {PoolError} EBUSY (from the returned function) if it beats for `timeoutMs`
   */
  stillWatch(slot, gen, stillMs, timeoutMs) {
    const i32 = this.v.i32;
    const hw = slotWord(slot) + L.S_HB;
    const limit = Date.now() + timeoutMs;
    let hb = Atomics.load(i32, hw);
    let since = Date.now();
    return () => {
      if (!this.attached(slot, gen)) return true;
      const h = Atomics.load(i32, hw);
      const now = Date.now();
      if (h !== hb) {
        hb = h;
        since = now;
      } else if (now - since >= stillMs) {
        return true;
      }
      if (now > limit) {
        fail("EBUSY", "that instance is still running (its heartbeat keeps changing): " +
          "terminate its worker before evicting it");
      }
      return false;
    };
  }

  /**
   * The attached instances: [{id, slot, self, state, open_pins, kept_pins, holds, since}].
   * `holds` lists the locks it holds ("meta", "stripe N", "read meta", ...).
   */
  list() {
    const i32 = this.v.i32;
    const out = [];
    const high = Math.min(L.NSLOTS, Atomics.load(i32, L.SB_SLOTS_HIGH));
    for (let s = 0; s < high; s++) {
      const sw = slotWord(s);
      const state = Atomics.load(i32, sw + L.S_STATE);
      if (state === L.SLOT_FREE) continue;
      const holds = [];
      if (Atomics.load(i32, (META >> 2) + L.LK_STATE) === -(s + 1)) holds.push("meta");
      for (let k = 0; k < L.STRIPES; k++) {
        if (Atomics.load(i32, ((L.LOCKS_AT + k * L.LOCK_BYTES) >> 2) + L.LK_STATE) === -(s + 1)) holds.push(`stripe ${k}`);
      }
      const r = Atomics.load(i32, sw + L.S_RLOCK);
      if (r) holds.push(r === META ? "read meta" : `read stripe ${(r - L.LOCKS_AT) / L.LOCK_BYTES}`);
      const pins = this.pins.count(s);
      out.push({
        id: Atomics.load(i32, sw + L.S_GEN) * 256 + s,
        slot: s,
        self: s === this.slot,
        state: state === L.SLOT_LIVE ? "live" : "dead",
        open_pins: pins,
        kept_pins: this.pins.kept.count(s)[1],
        holds,
        since: this.v.f64[(sw >>> 1) + L.S_SINCE],
      });
    }
    return out;
  }
}
