// jsglue/pool/heap.js — the heap: boundary-tagged blocks covering the Memory after the
// fixed tables, segregated free lists (best fit), merging on free, growth of the Memory,
// and growing or shrinking a block in place (layout.js: "Heap block").
// Locks: every method expects META write held (the allocator is metadata; its stores go
// through the undo log). Blocks freed inside a transaction are freed at its commit.
import { L } from "../layout.js";
import { fail } from "../errors.js";

const PAGE = L.PAGE;
/** Largest file (bytes): SIZE is a u32, and the pool itself is below 4 GiB. */
export const MAX_FILE = 0xffffffff;
const SLIDE_MAX = 16 << 20; // files up to this may slide back into free space under META

const roundUp8 = (n) => Math.ceil(n / 8) * 8;
/**
 * Bytes of the block that holds `payload` bytes (header and footer included).
 * @param {number} payload
 */
export const blockFor = (payload) => Math.max(L.MIN_BLOCK, roundUp8(payload + L.HDR + L.FTR));
/**
 * File data of at least ALIGN_MIN bytes starts on an ALIGN-byte boundary of the pool (its
 * extent, the payload): a 4 KiB read or write at a 4 KiB file offset then touches one
 * memory page, not two, and its copy has the alignment of MEMFS's page-aligned arrays
 * and of the caller's buffer. Random 4 KiB reads out of a file 288 bytes past a page
 * boundary ran ~35% slower in Chromium than out of an aligned one (benchmarks/callcost.mjs
 * in Chrome, 2-CPU AMD EPYC: 0.59-0.66 µs against 0.42). The free bytes before an aligned
 * block (under ALIGN + MIN_BLOCK) stay a free block for smaller things; ALIGN_MIN keeps
 * that under 7% of the block.
 */
export const ALIGN = 4096;
export const ALIGN_MIN = 64 << 10;
/**
 * Bytes from block offset p to the first block offset q ≥ p whose payload is ALIGN-aligned
 * and that leaves either nothing or a whole free block (≥ MIN_BLOCK) before it.
 * @param {number} p
 */
export const leadFor = (p) => {
  const lead = (ALIGN - ((p + L.HDR) % ALIGN)) % ALIGN;
  return lead && lead < L.MIN_BLOCK ? lead + ALIGN : lead;
};
/** True if a block of `size` bytes of `kind` should start aligned (see ALIGN). */
export const alignsBlock = (kind, size) => kind === L.K_DATA && size - L.HDR - L.FTR >= ALIGN_MIN;
/** True if the payload of block p is ALIGN-aligned. */
export const isAligned = (p) => (p + L.HDR) % ALIGN === 0;

/**
 * The free-list size class of a block of `size` bytes.
 * @param {number} size
 */
export const binOf = (size) => Math.min(L.NBINS - 1, Math.max(0, 31 - Math.clz32(size) - 5));

/**
 * Thrown by growFor while `deferGrow` is set, instead of growing the Memory under META:
 * the caller aborts, releases its locks, calls growUnlocked() and tries again (the retry
 * adopts the new pages). Growing a big Memory takes milliseconds (5-30 ms for a few
 * thousand pages in Chrome), and every open and close in the pool waits for META.
 */
export const NEED_GROW = { reason: "grow the Memory outside META and retry" };
/**
 * How many times an operation that needs the Memory to grow grows it holding no lock and
 * tries again before it grows it under META as it goes (another instance may take the
 * new pages first).
 */
const GROW_RETRIES = 3;

export class Heap {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   */
  constructor(views, tx) {
    this.v = views;
    this.tx = tx;
    /** @type {number[]} blocks freed in the open transaction, freed at its commit */
    this._deferred = [];
    /** Set by a caller that can retry: growFor throws NEED_GROW instead of growing. */
    this.deferGrow = false;
    /** Pages growUnlocked should add: [geometric, at least] (set with NEED_GROW). */
    this._pendingGrow = [0, 0];
    tx.on({
      begin: () => {
        if (this._deferred.length) this._deferred.length = 0;
      },
      commit: () => {
        const d = this._deferred;
        if (!d.length) return;
        for (let i = 0; i < d.length; i++) this.freeNow(d[i], true);
        d.length = 0;
      },
      abort: () => {
        if (this._deferred.length) this._deferred.length = 0;
      },
    });
  }

  bsize(p) {
    const v = this.v.u32[p >>> 2];
    return v - (v & 7);
  }

  bused(p) {
    return this.v.u32[p >>> 2] & L.USED_BIT;
  }

  /** The kind of the block that ends where block p begins (its footer), or -1 at the heap's start. */
  kindBefore(p) {
    return p > this.v.u32[L.SB_HEAP_START] ? this.v.u32[(p - 4) >>> 2] : -1;
  }

  setBlock(p, size, used, kind) {
    const head = (size + used) >>> 0;
    this.tx.st(p >>> 2, head);
    this.tx.st((p >>> 2) + 1, kind);
    this.tx.st((p + size - 8) >>> 2, head);
    this.tx.st((p + size - 4) >>> 2, kind);
  }

  binInsert(p, size) {
    const u32 = this.v.u32;
    const b = binOf(size);
    const head = u32[L.SB_BINS + b];
    this.tx.st((p >>> 2) + L.B_NEXT, head);
    this.tx.st((p >>> 2) + L.B_PREV, 0);
    if (head) this.tx.st((head >>> 2) + L.B_PREV, p);
    this.tx.st(L.SB_BINS + b, p);
    this.tx.st(L.SB_BIN_MAP, (u32[L.SB_BIN_MAP] | (1 << b)) >>> 0);
  }

  /**
   * Unlink free block p from its bin. Its own words (header, links, footer) are
   * logged too: whoever takes the block may overwrite them with payload unlogged —
   * unless `merging`: a free at commit merges p into its neighbour, and nothing but
   * logged stores follows before the log is emptied (no block is taken at commit), so
   * p's words, which it does not change, need no undo entries.
   */
  binRemove(p, size, merging = false) {
    const u32 = this.v.u32;
    const b = binOf(size);
    const w = p >>> 2;
    if (this.tx.inTx && !merging) {
      this.tx.logW(w);
      this.tx.logW(w + 1);
      this.tx.logW(w + L.B_NEXT);
      this.tx.logW(w + L.B_PREV);
      this.tx.logW((p + size - 8) >>> 2);
      this.tx.logW((p + size - 4) >>> 2);
    }
    const next = u32[w + L.B_NEXT];
    const prev = u32[w + L.B_PREV];
    if (prev) {
      this.tx.st((prev >>> 2) + L.B_NEXT, next);
    } else {
      this.tx.st(L.SB_BINS + b, next);
      if (!next) this.tx.st(L.SB_BIN_MAP, (u32[L.SB_BIN_MAP] & ~(1 << b)) >>> 0);
    }
    if (next) this.tx.st((next >>> 2) + L.B_PREV, prev);
  }

  /**
   * A free block of at least `need` bytes, or 0. Best fit among a bounded number of
   * candidates: in the need's own size class, then in the smallest non-empty larger
   * class (any block there fits). META write lock held.
   */
  findFree(need) {
    const u32 = this.v.u32;
    const b = binOf(need);
    let best = 0;
    let bestSize = Infinity;
    let p = u32[L.SB_BINS + b];
    for (let steps = 0; p && steps < 64; steps++) {
      const size = this.bsize(p);
      if (size >= need && size < bestSize) {
        best = p;
        bestSize = size;
        if (size - need < L.MIN_BLOCK) return p;
      }
      p = u32[(p >>> 2) + L.B_NEXT];
    }
    if (best) return best;
    const higher = u32[L.SB_BIN_MAP] >>> (b + 1);
    if (higher) {
      p = u32[L.SB_BINS + b + 1 + (31 - Math.clz32(higher & -higher))];
      for (let steps = 0; p && steps < 16; steps++) {
        const size = this.bsize(p);
        if (size < bestSize) {
          best = p;
          bestSize = size;
        }
        p = u32[(p >>> 2) + L.B_NEXT];
      }
      return best;
    }
    // Last resort before growing: the rest of the own class (bounded by the heap).
    for (let steps = 0; p && steps < 1 << 24; steps++) {
      if (this.bsize(p) >= need) return p;
      p = u32[(p >>> 2) + L.B_NEXT];
    }
    return 0;
  }

  /**
   * Check that p is an intact free block of at least `need` bytes before anything is
   * written into it: a corrupt free list must give EIO, never overwrite a file.
   */
  checkFree(p, need) {
    const u32 = this.v.u32;
    const size = this.bsize(p);
    if (p < u32[L.SB_HEAP_START] || p % 8 || size < need || p + size > this.v.heapEnd ||
        this.bused(p) || u32[(p + size - 8) >>> 2] !== u32[p >>> 2]) {
      fail("EIO", `free block @${p} is corrupt (run Pool.check() for details)`);
    }
    return size;
  }

  /** Mark free block p used with `need` bytes (splitting off the rest). */
  takeFree(p, need, kind) {
    const size = this.checkFree(p, need);
    this.binRemove(p, size);
    let used = size;
    if (size - need >= L.MIN_BLOCK) {
      used = need;
      const rest = p + need;
      this.setBlock(rest, size - need, 0, L.K_FREE);
      this.binInsert(rest, size - need);
    }
    this.setBlock(p, used, L.USED_BIT, kind);
    this.tx.st(L.SB_USED_BYTES, this.v.u32[L.SB_USED_BYTES] + used);
    this.tx.st(L.SB_FREE_BYTES, this.v.u32[L.SB_FREE_BYTES] - used);
    return p;
  }

  /** The largest free block (offset), or 0. META write lock held. */
  largestFree() {
    const u32 = this.v.u32;
    const map = u32[L.SB_BIN_MAP];
    if (!map) return 0;
    let best = 0;
    let bestSize = 0;
    const top = 31 - Math.clz32(map);
    for (let p = u32[L.SB_BINS + top], n = 0; p && n < 4096; p = u32[(p >>> 2) + L.B_NEXT], n++) {
      if (this.bsize(p) > bestSize) {
        best = p;
        bestSize = this.bsize(p);
      }
    }
    return best;
  }

  /**
   * Mark `need` bytes at offset `off` inside free block p used, leaving free blocks
   * before (off ≥ MIN_BLOCK, or 0) and after it. Returns the used block's offset.
   */
  takeFreeAt(p, off, need, kind) {
    const size = this.checkFree(p, off + need);
    this.binRemove(p, size);
    if (off) {
      this.setBlock(p, off, 0, L.K_FREE);
      this.binInsert(p, off);
    }
    const q = p + off;
    let used = size - off;
    if (used - need >= L.MIN_BLOCK) {
      this.setBlock(q + need, used - need, 0, L.K_FREE);
      this.binInsert(q + need, used - need);
      used = need;
    }
    this.setBlock(q, used, L.USED_BIT, kind);
    this.tx.st(L.SB_USED_BYTES, this.v.u32[L.SB_USED_BYTES] + used);
    this.tx.st(L.SB_FREE_BYTES, this.v.u32[L.SB_FREE_BYTES] - used);
    return q;
  }

  /**
   * Mark `need` bytes of free block p used, at the first offset from `off` on where a
   * block of its kind and size starts aligned (see ALIGN), if it fits there; else at
   * `off` itself. Returns the used block's offset.
   */
  takeFreeAligned(p, off, need, kind) {
    if (alignsBlock(kind, need)) {
      // (off is 0 or ≥ MIN_BLOCK, and so is off + leadFor: the bytes before stay a block)
      const at = off + leadFor(p + off);
      if (at + need <= this.bsize(p)) return this.takeFreeAt(p, at, need, kind);
    }
    return off ? this.takeFreeAt(p, off, need, kind) : this.takeFree(p, need, kind);
  }

  /**
   * Allocate a block with `payload` bytes of payload; returns the block offset or 0
   * when the pool cannot hold it even at its maximum. File data of ALIGN_MIN bytes or
   * more starts aligned (see ALIGN) where a free block, or the Memory grown, has room
   * for that; else anywhere it fits. META write lock held.
   */
  alloc(payload, kind, noGrow) {
    const need = blockFor(payload);
    if (need > MAX_FILE) return 0;
    if (alignsBlock(kind, need)) {
      const roomy = need + ALIGN + L.MIN_BLOCK;
      let p = this.findFree(roomy);
      if (!p && !noGrow && roomy <= MAX_FILE && this.growFor(roomy)) p = this.findFree(roomy);
      if (p) return this.takeFreeAt(p, leadFor(p), need, kind);
    }
    let p = this.findFree(need);
    if (!p) {
      if (noGrow) return 0;
      if (!this.growFor(need)) return 0;
      p = this.findFree(need);
      if (!p) return 0;
    }
    return this.takeFree(p, need, kind);
  }

  /**
   * Free block p. Inside a transaction the free happens at commit, so that no
   * block allocated later in the same transaction overwrites a payload that an
   * undo would need (a removed directory entry, an old directory table, ...).
   */
  free(p) {
    if (this.tx.inTx) this._deferred.push(p);
    else this.freeNow(p);
  }

  /**
   * Free block p now, merging it with free neighbours. META write lock held.
   * @param {number} p
   * @param {boolean} [atCommit] called by commit (the deferred frees of a transaction)
   */
  freeNow(p, atCommit = false) {
    const u32 = this.v.u32;
    let size = this.bsize(p);
    this.tx.st(L.SB_USED_BYTES, u32[L.SB_USED_BYTES] - size);
    this.tx.st(L.SB_FREE_BYTES, u32[L.SB_FREE_BYTES] + size);
    const start = u32[L.SB_HEAP_START];
    if (p > start && !(u32[(p - 8) >>> 2] & L.USED_BIT)) {
      const psize = u32[(p - 8) >>> 2] - (u32[(p - 8) >>> 2] & 7);
      const q = p - psize;
      this.binRemove(q, psize, atCommit);
      p = q;
      size += psize;
    }
    const n = p + size;
    if (n < this.v.heapEnd && !this.bused(n)) {
      const nsize = this.bsize(n);
      this.binRemove(n, nsize, atCommit);
      size += nsize;
    }
    this.setBlock(p, size, 0, L.K_FREE);
    this.binInsert(p, size);
  }

  /** The free block at the end of the heap, or 0. */
  tailFree() {
    const end = this.v.heapEnd;
    const v = this.v.u32[(end - 8) >>> 2];
    if (v & L.USED_BIT) return 0;
    return end - (v - (v & 7));
  }

  /**
   * Grow the Memory so that a block of `need` bytes fits at the end of the heap.
   * Returns false at the maximum. META write lock held. With `deferGrow` set, throws
   * NEED_GROW where it would call memory.grow (pages already grown are adopted).
   */
  growFor(need) {
    this.tx.assertMetaWrite();
    const tail = this.tailFree();
    const have = tail ? this.bsize(tail) : 0;
    const curPages = this.v.u32[L.SB_HEAP_PAGES];
    const maxPages = this.v.u32[L.SB_MAX_PAGES];
    const bufPages = this.v.memoryPages(); // (more than curPages: adopt an interrupted grow)
    const needPages = Math.ceil(Math.max(0, need - have) / PAGE) - (bufPages - curPages);
    if (needPages > maxPages - bufPages) return false;
    if (needPages > 0) {
      // Grow geometrically (a sixteenth of the pool at least) to keep grows rare.
      const want = Math.min(maxPages - bufPages, Math.max(needPages, bufPages >>> 4, 16));
      if (this.deferGrow) {
        this._pendingGrow = [want, needPages];
        throw NEED_GROW;
      }
      try {
        this.v.memory.grow(want);
      } catch (e) {
        try {
          this.v.memory.grow(needPages);
        } catch (e2) {
          return false;
        }
      }
    }
    this.adoptGrowth();
    return true;
  }

  /**
   * Grow the Memory by what the last NEED_GROW asked for, holding no lock: the new pages
   * lie past SB_HEAP_PAGES, so nothing uses them until a META holder adopts them (growFor
   * does; two instances growing at once both add pages, and both are adopted). Returns
   * false if the Memory could not grow (the retry then reports ENOSPC as before).
   */
  growUnlocked() {
    const [want, need] = this._pendingGrow;
    this._pendingGrow = [0, 0];
    for (const pages of [want, need]) {
      try {
        this.v.memory.grow(pages);
        return true;
      } catch (e) {
        // at the maximum, or the engine could not reserve that much: try the least
      }
    }
    return false;
  }

  /**
   * Run `fn`, one whole operation that takes and releases META itself and undoes its
   * stores if it throws, so that a Memory grow it needs happens holding no lock: on
   * NEED_GROW, grow and run it again (up to GROW_RETRIES times, then growing under
   * META). Holds no lock itself.
   * @template T
   * @param {() => T} fn
   * @returns {T}
   */
  deferringGrow(fn) {
    if (this.deferGrow) return fn(); // inside another deferringGrow: that one retries
    for (let tries = 0; ; tries++) {
      this.deferGrow = tries < GROW_RETRIES;
      try {
        return fn();
      } catch (e) {
        if (e !== NEED_GROW) throw e;
      } finally {
        this.deferGrow = false;
      }
      this.growUnlocked();
    }
  }

  /** Make the heap cover the whole Memory (after a grow). META write lock held. */
  adoptGrowth() {
    const oldEnd = this.v.heapEnd;
    const newEnd = this.v.memoryPages() * PAGE;
    if (newEnd <= oldEnd) return;
    this.v.refresh();
    const tail = this.tailFree();
    let p = oldEnd;
    let size = newEnd - oldEnd;
    if (tail) {
      const tsize = this.bsize(tail);
      this.binRemove(tail, tsize);
      p = tail;
      size += tsize;
      this.tx.st(L.SB_FREE_BYTES, this.v.u32[L.SB_FREE_BYTES] - tsize);
    }
    this.setBlock(p, size, 0, L.K_FREE);
    this.binInsert(p, size);
    this.tx.st(L.SB_FREE_BYTES, this.v.u32[L.SB_FREE_BYTES] + size);
    this.tx.stA(L.SB_HEAP_PAGES, newEnd / PAGE);
  }

  /**
   * Try to grow used block p (holding `content` bytes of payload) to `need` bytes, or
   * up to `want`, without a second copy of the data: absorb the free block after it;
   * else slide back into a free block before it (small files only: that copy runs
   * under META); else, if p is last and no free block could take the file, grow the
   * Memory behind it. Returns the (possibly moved) block offset, or 0.
   */
  growInPlace(p, need, want, content, mayCompact) {
    const size = this.bsize(p);
    const kind = this.v.u32[(p >>> 2) + 1];
    const end = this.v.heapEnd;
    const n = p + size;
    let next = n < end && !this.bused(n) ? this.bsize(n) : 0;
    let start = p;
    let prev = 0;
    let lead = 0; // bytes of the free block before that stay free (to slide to alignment)
    if (size + next < need) {
      const heapStart = this.v.u32[L.SB_HEAP_START];
      const pf = p > heapStart ? this.v.u32[(p - 8) >>> 2] : L.USED_BIT;
      prev = pf & L.USED_BIT ? 0 : pf - (pf & 7);
      if (prev && alignsBlock(kind, need)) lead = leadFor(p - prev);
      const by = prev - lead;
      // (Slides overlapping by far more than the gap would take too many chunks.)
      if (by > 0 && by + size + next >= need && content <= SLIDE_MAX && content <= by * 4096) {
        start = p - by;
      } else {
        prev = 0;
        lead = 0;
        // Growing the Memory behind the last block is cheap (no copy) but only right
        // when no free block could take the file anyway: otherwise the pool would
        // swell while free space sits unused (fragmentation).
        const last = n >= end || n + next >= end;
        if (!last || this.findFree(need) || (mayCompact && this.fragmented(need))) return 0;
        // (Room for `want` where the Memory can grow that far: else a file appended
        // at the heap's end grows the Memory at every append, by a sixteenth.)
        if (!(want > need && this.growFor(want - size)) && !this.growFor(need - size)) return 0;
        next = n < this.v.heapEnd && !this.bused(n) ? this.bsize(n) : 0;
        if (size + next < need) return 0;
      }
    }
    if (next) this.binRemove(n, next);
    if (prev) {
      this.binRemove(p - prev, prev);
      if (lead) {
        this.setBlock(p - prev, lead, 0, L.K_FREE);
        this.binInsert(p - prev, lead);
      }
    }
    const avail = prev - lead + size + next;
    let newSize = Math.min(Math.max(need, want), avail);
    if (avail - newSize < L.MIN_BLOCK) newSize = avail;
    if (prev) {
      // The slide overwrites p's header and footer: log them (the payload itself is
      // put back by undoing the move).
      this.tx.logW(p >>> 2);
      this.tx.logW((p >>> 2) + 1);
      this.tx.logW((p + size - 8) >>> 2);
      this.tx.logW((p + size - 4) >>> 2);
      this.tx.moveDown(start + L.HDR, p + L.HDR, content);
    }
    if (avail > newSize) {
      const rest = start + newSize;
      this.setBlock(rest, avail - newSize, 0, L.K_FREE);
      this.binInsert(rest, avail - newSize);
    }
    this.setBlock(start, newSize, L.USED_BIT, kind);
    this.tx.st(L.SB_USED_BYTES, this.v.u32[L.SB_USED_BYTES] + newSize - size);
    this.tx.st(L.SB_FREE_BYTES, this.v.u32[L.SB_FREE_BYTES] - (newSize - size));
    return start;
  }

  /**
   * True when a block of `need` bytes does not fit only because free space is cut
   * into pieces: enough is free in all, and either an eighth of the heap is free or
   * the pool cannot grow by `need`. Then compaction beats growing.
   */
  fragmented(need) {
    const free = this.v.u32[L.SB_FREE_BYTES];
    return free >= need && (free >= this.v.heapEnd / 8 || this.v.maxBytes - this.v.heapEnd < need);
  }

  /**
   * True when a block of `need` bytes fits only once compaction gathers every free byte
   * at the heap's end: growing the Memory behind the free block at the end, as far as
   * the maximum allows, is not enough, but all free bytes and that room are.
   * @param {number} need
   */
  fitsOnlyAfterCompaction(need) {
    const room = this.v.maxBytes - this.v.heapEnd;
    const tail = this.tailFree();
    return this.v.u32[L.SB_FREE_BYTES] + room >= need && (tail ? this.bsize(tail) : 0) + room < need;
  }

  /** Shrink used block p to `need` bytes, freeing the tail. META write lock held. */
  shrinkInPlace(p, need) {
    const size = this.bsize(p);
    if (size - need < L.MIN_BLOCK) return size;
    const kind = this.v.u32[(p >>> 2) + 1];
    this.setBlock(p, need, L.USED_BIT, kind);
    const rest = p + need;
    this.setBlock(rest, size - need, L.USED_BIT, L.K_DATA);
    this.free(rest);
    return need;
  }

  /** Payload bytes of the largest free block (a bounded walk of the top bin). */
  largestFreePayload() {
    const u32 = this.v.u32;
    let largest = 0;
    const map = u32[L.SB_BIN_MAP];
    if (map) {
      const top = 31 - Math.clz32(map);
      for (let p = u32[L.SB_BINS + top], n = 0; p && n < 1 << 20; p = u32[(p >>> 2) + L.B_NEXT], n++) {
        largest = Math.max(largest, this.bsize(p) - L.HDR - L.FTR);
      }
    }
    return largest;
  }
}
