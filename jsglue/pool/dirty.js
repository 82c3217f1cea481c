// jsglue/pool/dirty.js — the dirty-page bitmap: which 64 KiB pages of the Memory were
// written since the last snapshot (layout.js: "Dirty-page bitmap"), so that persistence
// writes only those. Every store into the heap marks its page, in every instance.
// Locks: mark while holding the lock that guards the stored bytes (META or the file's
// stripe); take() only under a snapshot's pause (every lock held), which is what makes a
// mark never lost: no store can be between its write and its mark while take() clears.
import { L } from "../layout.js";

const SHIFT = L.DIRTY_PAGE_SHIFT;
const WORD_SHIFT = SHIFT - 2; // u32 word index → page
const BM = L.DIRTY_AT >> 2; // word index of the bitmap's first word
const BM_WORDS = L.DIRTY_BYTES >> 2;

export class Dirty {
  /** @param {import("./views.js").Views} views */
  constructor(views) {
    this.v = views;
  }

  /**
   * Mark the page of u32 word `i` (about to be, or just, stored).
   * @param {number} i
   */
  word(i) {
    const p = i >>> WORD_SHIFT;
    const w = BM + (p >>> 5);
    const bit = 1 << (p & 31);
    const i32 = this.v.i32;
    if ((i32[w] & bit) === 0) Atomics.or(i32, w, bit);
  }

  /**
   * Mark every page that bytes [off, off + len) touch.
   * @param {number} off byte offset in the Memory
   * @param {number} len bytes
   */
  range(off, len) {
    if (len <= 0) return;
    const i32 = this.v.i32;
    const last = (off + len - 1) >>> SHIFT;
    for (let p = off >>> SHIFT; p <= last; p++) {
      const w = BM + (p >>> 5);
      const bit = 1 << (p & 31);
      if ((i32[w] & bit) === 0) Atomics.or(i32, w, bit);
    }
  }

  /**
   * The dirty pages (sorted page numbers; page 0 excluded), and clear the bitmap.
   * Only under a snapshot's pause (every lock held).
   * @returns {number[]}
   */
  take() {
    const i32 = this.v.i32;
    const out = [];
    for (let k = 0; k < BM_WORDS; k++) {
      let bits = i32[BM + k];
      if (bits === 0) continue;
      Atomics.store(i32, BM + k, 0);
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const p = k * 32 + b;
        if (p > 0) out.push(p);
      }
    }
    return out;
  }

  /** How many pages are marked now (no lock: an estimate while others write). */
  count() {
    const i32 = this.v.i32;
    let n = 0;
    for (let k = 0; k < BM_WORDS; k++) {
      let bits = i32[BM + k];
      while (bits !== 0) {
        bits &= bits - 1;
        n++;
      }
    }
    return n;
  }
}
