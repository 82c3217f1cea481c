// jsglue/pool/snapshot.js — a consistent image of the pool for persistence: a short global
// pause in which nothing in the pool changes (so what is copied is one state the pool was
// in), the pages changed since the last pause (pool/dirty.js), and the reverse: turning a
// saved image back into a live pool (restore).
// Locks: pause() takes every stripe lock (ascending, as compaction does) and then META,
// resume() releases them. Between the two the holder must not wait for anything and
// must not use the pool through another of its own paths: the pause is synchronous.
// restore() runs before anyone else can see the Memory, and takes no lock.
import { L } from "../layout.js";
import { fail } from "../errors.js";
import { Locks, slotWord } from "../locks.js";
import { Views } from "./views.js";
import { TxLog } from "./txlog.js";
import { Heap } from "./heap.js";
import { Inodes } from "./inodes.js";
import { Pins } from "./pins.js";
import { keptWord } from "./keptpins.js";
import { Instances } from "./instances.js";
import { Dirs } from "./dirs.js";
import { Namespace } from "./namespace.js";
import { Lookups } from "./lookups.js";
import { Flocks } from "./flocks.js";
import { settleMoves } from "./compact.js";

const now = () => (globalThis.performance ? performance.now() : Date.now());

/**
 * What a pause sees.
 * @typedef {object} PauseInfo
 * @property {number[]} dirty heap pages (64 KiB, page 0 excluded) written since the last
 *   pause, sorted; the bitmap is clear from now on
 * @property {number} pages the Memory's size in 64 KiB pages
 * @property {number} maxPages its maximum
 * @property {Uint8Array} u8 a view of the whole Memory, current for the pause
 */

export class Snapshots {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("../locks.js").Locks} locks
   */
  constructor(views, tx, locks) {
    this.v = views;
    this.tx = tx;
    this.locks = locks;
    this._taken = 0;
    this._t0 = 0;
  }

  /**
   * Stop every change to the pool in every instance: take every lock. Readers and
   * writers elsewhere wait (workers sleep, a browser main thread spins) until resume().
   * @returns {PauseInfo}
   */
  pause() {
    if (this._taken) throw new Error("extmemfs: snapshot pause taken twice");
    this._t0 = now();
    let taken = 0;
    try {
      for (; taken < L.STRIPES; taken++) this.locks.writeLock(L.LOCKS_AT + taken * L.LOCK_BYTES);
      this.tx.wlock();
    } catch (e) {
      while (taken > 0) this.locks.writeUnlock(L.LOCKS_AT + --taken * L.LOCK_BYTES);
      throw e;
    }
    this._taken = taken;
    const u32 = this.v.u32;
    return {
      dirty: this.tx.dirty.take(),
      pages: u32[L.SB_HEAP_PAGES],
      maxPages: u32[L.SB_MAX_PAGES],
      u8: this.v.u8,
    };
  }

  /**
   * Note the generation of the image being taken in the superblock (SYNC_GEN). During a
   * pause, before the first page is copied. (A plain store: page 0 is copied whole, and
   * the undo log must stay empty in the image.)
   * @param {number} gen
   */
  setGeneration(gen) {
    Atomics.store(this.v.u32, L.SB_SYNC_GEN, gen >>> 0);
  }

  /** Bump the heartbeat during a long copy under the pause (others must not take us for dead). */
  pulse() {
    this.locks.pulse();
  }

  /**
   * Let the pool go on. Returns how long it was paused, in ms.
   * @returns {number}
   */
  resume() {
    const ms = now() - this._t0;
    const us = Math.min(0xffffffff, Math.round(ms * 1000));
    const u32 = this.v.u32;
    if (us > u32[L.SB_SNAP_PAUSE_US]) Atomics.store(u32, L.SB_SNAP_PAUSE_US, us);
    try {
      this.tx.wunlock();
    } finally {
      let taken = this._taken;
      this._taken = 0;
      while (taken > 0) this.locks.writeUnlock(L.LOCKS_AT + --taken * L.LOCK_BYTES);
    }
    return ms;
  }
}

/**
 * Make a Memory that holds a saved image a live pool again, before anyone attaches: no
 * instance of the image runs any more, so every lock word is cleared, every instance's
 * unfinished extent move, file locks and pins (kept pins too) are given back (unlinked
 * files that were still open are freed, dot-lock directories it owned removed) and its
 * slot is freed; every inode's OPEN is 0 afterwards; a transaction left in the undo log
 * is undone. The
 * pool gets a new UID (its instances' Web Lock names must not meet the original's).
 * @param {WebAssembly.Memory} memory a shared Memory holding the image (checked by the
 *   caller: magic, sizes; an image of a version in L.UPGRADABLE is upgraded)
 */
export function restore(memory) {
  const locks = new Locks(true); // acts as no instance (slot -1): nobody else is here
  const v = new Views(memory, locks);
  const i32 = v.i32;
  const u32 = v.u32;
  const version = u32[L.SB_VERSION];
  if (version !== L.VERSION && !L.UPGRADABLE.includes(version)) {
    fail("EINVAL", `the image has pool layout version ${version}; this extmemfs reads version ${L.VERSION}`);
  }
  for (let k = -1; k < L.STRIPES; k++) {
    const w = (k < 0 ? L.SB_META_LOCK : L.LOCKS_AT + k * L.LOCK_BYTES) >> 2;
    for (let j = 0; j < L.LOCK_BYTES >> 2; j++) i32[w + j] = 0;
  }
  if (version < 10) {
    // Before version 10 the undo log began where the kept pins are now (images are taken
    // with no transaction open: its COUNT was 0): no kept pins, and an empty log.
    v.u8.fill(0, L.KEPT_AT, L.LOG_AT + L.LOG_HDR);
  }
  const tx = new TxLog(v, locks);
  const heap = new Heap(v, tx);
  const inodes = new Inodes(v, tx, heap);
  const pins = new Pins(v, tx, heap, inodes, locks);
  const inst = new Instances(v, tx, locks, heap, inodes, pins);
  // The image's instances are gone: their file locks go too, and the dot-lock directories
  // they owned (an SQLite unix-dotfile lock would otherwise hold the database forever).
  const ns = new Namespace(v, tx, heap, inodes, new Dirs(v, tx, heap, inodes), new Lookups(v));
  const flocks = new Flocks(v, tx, locks, heap, inodes, ns, inst);
  inodes.onFree((ino, gen) => flocks.dropInode(ino, gen));
  inst.onRelease((slot) => flocks.releaseSlot(slot));
  tx.begin(); // undoes a transaction left in the log (none in images we take)
  settleMoves(u32); // (an image of an older version may hold an odd MOVES)
  for (let s = 0; s < L.NSLOTS; s++) {
    const sw = slotWord(s);
    const state = u32[sw + L.S_STATE];
    if (state === L.SLOT_LIVE || state === L.SLOT_DEAD) inst.releaseResources(s);
    u32[sw + L.S_STATE] = L.SLOT_FREE;
    u32[sw + L.S_RLOCK] = 0;
    u32[sw + L.S_PINS] = 0;
    u32[sw + L.S_MOVE_INO] = 0;
    u32[sw + L.S_FLAGS] = 0;
    u32[sw + L.S_WSEQ] = 0;
    u32[sw + L.S_WINO] = 0;
    u32[sw + L.S_WLO] = 0;
    u32[sw + L.S_WHI] = 0;
    for (let k = 0; k < L.KP_N; k++) u32[keptWord(s, k)] = 0;
  }
  // Every pin went with its instance: no inode is open any more, and one without a name
  // is freed (this also settles OPEN counts an upgraded image's older layout kept
  // differently).
  const chunks = Math.min(u32[L.SB_INODE_CHUNKS], L.MAX_CHUNKS);
  for (let ino = 1; ino < chunks * L.INODES_PER_CHUNK; ino++) {
    const w = inodes.ib(ino) >>> 2;
    if (u32[w + L.I_MODE] === 0 || u32[w + L.I_OPEN] === 0) continue;
    tx.stA(w + L.I_OPEN, 0);
    inodes.maybeFree(ino);
    tx.commit();
  }
  tx.commit();
  tx.inTx = false;
  // The image was taken under META (TXSEQ odd), and an image of version 7 has no TXSEQ
  // (its word was always 0): even, no transaction open. Version 7 differs from 8 only
  // in that word, 8 from 9 only in the slots' write announcements (zeroed above), and 9
  // from 10 in the kept pins and where the log begins (made empty above), so such images
  // are upgraded by stamping the version.
  u32[L.SB_TXSEQ] = 0;
  u32[L.SB_VERSION] = L.VERSION;
  u32[L.SB_SLOTS_HIGH] = 0;
  u32[L.SB_COPIERS] = 0;
  u32[L.SB_FLOCK_SLEEPERS] = 0;
  u32[L.SB_UID] = (Math.random() * 0x100000000) >>> 0;
}
