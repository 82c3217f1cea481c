// jsglue/pool/pins.js — open files: a pin is OPEN + 1 in the inode, shared by all
// instances, and an entry in the pinning instance's own records, so that the pins of an
// instance that dies can be dropped exactly: first its kept pins (pool/keptpins.js: a few
// entries per instance, reopened and closed without a lock), then, when those are all
// open, its pin table (a K_PINS block named by its slot, entries [ino, gen, count];
// layout.js: "Pin table"). An inode whose last name is gone is freed when its last pin
// goes. Locks: every method expects META write held, except count (no lock: a
// diagnostic) and the kept pins' lock-free tryOpen / tryClose.
import { L } from "../layout.js";
import { fail } from "../errors.js";
import { KeptPins } from "./keptpins.js";
import { slotWord } from "../locks.js";

export class Pins {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("./heap.js").Heap} heap
   * @param {import("./inodes.js").Inodes} inodes
   * @param {import("../locks.js").Locks} locks this instance's (its slot owns the table)
   */
  constructor(views, tx, heap, inodes, locks) {
    this.v = views;
    this.tx = tx;
    this.heap = heap;
    this.inodes = inodes;
    this.locks = locks;
    this.kept = new KeptPins(views, tx, inodes, locks);
    inodes.revokeKept = (ino, w) => this.kept.revoke(ino, w);
    tx.on({ rollback: () => this.kept.afterRollback() });
  }

  /**
   * Take a pin on live inode ino (record at word w) for this instance.
   * @param {number} ino
   * @param {number} gen
   * @param {number} w word index of its inode record
   * @throws {import("../errors.js").PoolError} ENOSPC (no room for a bigger pin table)
   */
  pin(ino, gen, w) {
    if (this.kept.pin(ino, gen, w)) return;
    const u32 = this.v.u32;
    const sw = this.locks.sw;
    let pt = u32[sw + L.S_PINS];
    let n = 0;
    if (pt) {
      n = u32[(pt >>> 2) + L.PT_N];
      for (let k = 0; k < n; k++) {
        const ew = (pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2;
        if (u32[ew] === ino && u32[ew + 1] === gen) {
          this.tx.st(ew + 2, u32[ew + 2] + 1);
          this.tx.stA(w + L.I_OPEN, u32[w + L.I_OPEN] + 1);
          return;
        }
      }
    }
    if (!pt || n >= u32[(pt >>> 2) + L.PT_CAP]) {
      const cap = pt ? u32[(pt >>> 2) + L.PT_CAP] * 2 : 8;
      const p = this.heap.alloc(L.PT_HDR + cap * L.PT_ENTRY, L.K_PINS);
      if (!p) fail("ENOSPC", "no room for this instance's table of open files");
      const t = p + L.HDR; // a fresh block: no undo entries needed
      this.tx.wrote(t, L.PT_HDR + cap * L.PT_ENTRY);
      if (pt) this.v.u8.copyWithin(t + L.PT_HDR, pt + L.PT_HDR, pt + L.PT_HDR + n * L.PT_ENTRY);
      u32[(t >>> 2) + L.PT_N] = n;
      u32[(t >>> 2) + L.PT_CAP] = cap;
      if (pt) this.heap.free(pt - L.HDR);
      this.tx.st(sw + L.S_PINS, t);
      pt = t;
    }
    const ew = (pt + L.PT_HDR + n * L.PT_ENTRY) >>> 2;
    this.tx.st(ew, ino);
    this.tx.st(ew + 1, gen);
    this.tx.st(ew + 2, 1);
    this.tx.st((pt >>> 2) + L.PT_N, n + 1);
    this.tx.stA(w + L.I_OPEN, u32[w + L.I_OPEN] + 1);
  }

  /**
   * Drop one of this instance's pins on (ino, gen); the last pin of an unlinked inode
   * frees it.
   * @param {number} ino
   * @param {number} gen
   */
  unpin(ino, gen) {
    const u32 = this.v.u32;
    const w = this.inodes.ib(ino) >>> 2;
    if (u32[w + L.I_GEN] !== gen || u32[w + L.I_MODE] === 0) {
      throw new Error(`extmemfs: close of stale inode ${ino}`);
    }
    const sw = this.locks.sw;
    const pt = u32[sw + L.S_PINS];
    const n = pt ? u32[(pt >>> 2) + L.PT_N] : 0;
    let k = 0;
    let ew = 0;
    for (; k < n; k++) {
      ew = (pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2;
      if (u32[ew] === ino && u32[ew + 1] === gen) break;
    }
    const open = u32[w + L.I_OPEN];
    if (k === n || open === 0) throw new Error(`extmemfs: close of inode ${ino} that this instance has not open`);
    if (u32[ew + 2] > 1) {
      this.tx.st(ew + 2, u32[ew + 2] - 1);
    } else {
      const lw = (pt + L.PT_HDR + (n - 1) * L.PT_ENTRY) >>> 2;
      if (lw !== ew) {
        this.tx.st(ew, u32[lw]);
        this.tx.st(ew + 1, u32[lw + 1]);
        this.tx.st(ew + 2, u32[lw + 2]);
      }
      // (The table stays when it empties: files are opened and closed all the time, and
      // a table made and freed at every open would cost an allocation each. It is given
      // back when the instance detaches or is recovered.)
      this.tx.st((pt >>> 2) + L.PT_N, n - 1);
    }
    this.tx.stA(w + L.I_OPEN, open - 1);
    if (open === 1) this.inodes.maybeFree(ino);
  }

  /**
   * Drop every pin of the instance in slot `s` (a dead or detaching instance), one
   * transaction each (a table may be long; the undo log is bounded), then free its
   * table. META write held with a transaction open; commits as it goes.
   * @param {number} s the instance's slot
   */
  releaseAll(s) {
    this.kept.releaseAll(s);
    const u32 = this.v.u32;
    const sw = slotWord(s);
    const pt = u32[sw + L.S_PINS];
    if (!pt) return;
    const n = Math.min(u32[(pt >>> 2) + L.PT_N], u32[(pt >>> 2) + L.PT_CAP]);
    for (let k = 0; k < n; k++) {
      const ew = (pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2;
      const count = u32[ew + 2];
      if (!count) continue;
      const ino = u32[ew];
      if (ino > 0 && (ino >>> 10) < u32[L.SB_INODE_CHUNKS]) {
        const w = this.inodes.ib(ino) >>> 2;
        if (u32[w + L.I_GEN] === u32[ew + 1] && u32[w + L.I_MODE] !== 0) {
          this.tx.stA(w + L.I_OPEN, Math.max(0, u32[w + L.I_OPEN] - count));
          this.inodes.maybeFree(ino);
        }
      }
      this.tx.st(ew + 2, 0);
      this.tx.commit();
    }
    this.heap.free(pt - L.HDR);
    this.tx.st(sw + L.S_PINS, 0);
  }

  /**
   * Files the instance in slot `s` holds open, each counted once however often it is
   * open (for diagnostics; no lock): kept pins of files it closed are not counted.
   * @param {number} s
   */
  count(s) {
    const u32 = this.v.u32;
    const sw = slotWord(s);
    const pt = u32[sw + L.S_PINS];
    let pins = 0;
    if (pt && pt + L.PT_HDR <= this.v.heapEnd) {
      const n = Math.min(u32[(pt >>> 2) + L.PT_N], u32[(pt >>> 2) + L.PT_CAP]);
      for (let k = 0; k < n; k++) if (u32[((pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2) + 2] !== 0) pins++;
    }
    return pins + this.kept.count(s)[0];
  }
}
