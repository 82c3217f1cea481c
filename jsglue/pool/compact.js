// jsglue/pool/compact.js — compaction: slide every used block towards the heap start so
// that all free space becomes one block at the end, when free space is plentiful but cut
// into pieces. It must know every kind of block owner (inode chunks, extents, directory
// entries, pin tables, the file-lock table) because it rewrites the pointer to each block
// it moves.
// Locks: compact takes every stripe (in ascending order, so two compactors cannot
// deadlock) and then META: a rare stop-the-world copy. It works in rounds: after
// ROUND_MS of moving, if anyone waits for a lock, it lets go of them all and takes them
// again, so a small call elsewhere waits one round, not the whole compaction.
import { L } from "../layout.js";
import { slotWord } from "../locks.js";
import { isDirMode } from "./inodes.js";
import { alignsBlock, leadFor } from "./heap.js";

/** Moving time after which a compaction lets waiters in (ms). */
const ROUND_MS = 4;
/** What a round returns when it stopped to let others in. */
const AGAIN = "again";
const now = () => (globalThis.performance ? performance.now() : Date.now());

/**
 * Make MOVES even if it is odd. META write held, so no compaction round is in progress:
 * an odd value was left by a compactor that died in a round (or by an older version,
 * which bumped it once per round), and would send every lock-free lookup to the locks.
 * @param {Uint32Array} u32
 */
export function settleMoves(u32) {
  if (Atomics.load(u32, L.SB_MOVES) & 1) Atomics.add(u32, L.SB_MOVES, 1);
}

export class Compactor {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("../locks.js").Locks} locks
   * @param {import("./heap.js").Heap} heap
   * @param {import("./inodes.js").Inodes} inodes
   */
  constructor(views, tx, locks, heap, inodes) {
    this.v = views;
    this.tx = tx;
    this.locks = locks;
    this.heap = heap;
    this.inodes = inodes;
  }

  /**
   * Slide every used block towards the heap start so that all free space becomes
   * one block at the end. Stop-the-world: takes every stripe (in ascending order,
   * so two compactors cannot deadlock) and then META. Returns false, changing
   * nothing, if some used block has no owner or a block's size words are broken (a
   * corrupt pool).
   */
  compact() {
    for (;;) {
      let taken = 0;
      let done;
      try {
        for (; taken < L.STRIPES; taken++) this.locks.writeLock(L.LOCKS_AT + taken * L.LOCK_BYTES);
        this.tx.wlock();
        // Inode records may move: lock-free readers of them (pool/lookups.js) must notice.
        // MOVES is odd for the round (and its undo, if it fails).
        const u32 = this.v.u32;
        settleMoves(u32);
        Atomics.add(u32, L.SB_MOVES, 1);
        try {
          done = this._compactLocked();
        } catch (err) {
          this.tx.abort();
          throw err;
        } finally {
          if (!this.tx.dead) Atomics.add(u32, L.SB_MOVES, 1);
          this.tx.wunlock();
        }
      } finally {
        while (taken > 0) this.locks.writeUnlock(L.LOCKS_AT + --taken * L.LOCK_BYTES);
      }
      if (done !== AGAIN) return done;
      // Others ran in between: the next round looks at the heap afresh.
    }
  }

  /** True if anyone waits for META or for a stripe (all of which we hold). */
  _waited() {
    if (this.locks.contended(L.SB_META_LOCK)) return true;
    for (let k = 0; k < L.STRIPES; k++) if (this.locks.contended(L.LOCKS_AT + k * L.LOCK_BYTES)) return true;
    return false;
  }

  /** One round: true when done, false on a corrupt pool, AGAIN to let waiters in. */
  _compactLocked() {
    const t0 = now();
    const u32 = this.v.u32;
    // Owners by block offset, kept symbolic (chunk k / inode / dir slot / instance
    // slot) because the owner itself may move before the block it owns.
    const owners = new Map();
    const chunks = u32[L.SB_INODE_CHUNKS];
    for (let k = 0; k < chunks; k++) owners.set(u32[L.SB_CHUNK_DIR + k] - L.HDR, [0, k]);
    for (let ino = 1; ino < chunks * L.INODES_PER_CHUNK; ino++) {
      const w = this.inodes.ib(ino) >>> 2;
      const mode = u32[w + L.I_MODE];
      if (!mode) continue;
      const ext = u32[w + L.I_EXTENT];
      if (ext) owners.set(ext - L.HDR, [1, ino]);
      if (u32[w + L.I_MOVING] && !isDirMode(mode)) return false; // a move in flight
      if (isDirMode(mode)) {
        const slots = u32[(ext >>> 2) + L.DT_SLOTS];
        for (let i = 0; i < slots; i++) {
          const e = u32[((ext + L.DT_HDR + i * L.DT_SLOT_BYTES) >>> 2) + 1];
          if (e > L.SLOT_DELETED) owners.set(e - L.HDR, [2, ino, i]);
        }
      }
    }
    for (let s = 0; s < L.NSLOTS; s++) {
      const pt = u32[slotWord(s) + L.S_PINS];
      if (pt && u32[slotWord(s) + L.S_STATE] !== L.SLOT_FREE) owners.set(pt - L.HDR, [3, s]);
    }
    if (u32[L.SB_FLOCKS]) owners.set(u32[L.SB_FLOCKS] - L.HDR, [4]);
    const start = u32[L.SB_HEAP_START];
    const end = this.v.heapEnd;
    let dst = start;
    for (let p = start; p < end;) {
      const size = this.heap.bsize(p);
      // (A block whose size words are broken would walk off, or loop here forever.)
      if (size < L.MIN_BLOCK || p + size > end || u32[(p + size - 8) >>> 2] !== u32[p >>> 2]) return false;
      if (this.heap.bused(p) && !owners.has(p)) return false;
      if (dst === start && !this.heap.bused(p)) dst = p;
      p += size;
    }
    if (this.heap.bused(dst)) dst = end; // nothing free
    // Slide each used block down into the free block before it, one transaction per
    // block: the pool is whole after every step, so a compactor killed half-way
    // leaves a sound, partly compacted heap.
    while (dst < end) {
      const fsize = this.heap.bsize(dst);
      const bp = dst + fsize;
      if (bp >= end) break;
      const bsize = this.heap.bsize(bp);
      const np = bp + bsize;
      // File data that starts aligned (heap.js ALIGN) lands aligned: the bytes before
      // its new place (lead) stay a free block.
      const lead = alignsBlock(u32[(bp >>> 2) + 1], bsize) ? leadFor(dst) : 0;
      const by = fsize - lead;
      if (by <= 0 || bsize > by * 4096) {
        // Already as low as it goes aligned; or a huge block behind a tiny hole, which
        // would take too many undoable chunks: leave the hole, go on from the next
        // free block.
        let q = np;
        while (q < end && this.heap.bused(q)) q += this.heap.bsize(q);
        dst = q;
        continue;
      }
      const gsize = np < end && !this.heap.bused(np) ? this.heap.bsize(np) : 0;
      this.heap.binRemove(dst, fsize);
      if (gsize) this.heap.binRemove(np, gsize);
      if (lead) {
        this.heap.setBlock(dst, lead, 0, L.K_FREE);
        this.heap.binInsert(dst, lead);
      }
      const at = dst + lead;
      this.tx.moveDown(at, bp, bsize);
      const payload = at + L.HDR;
      const o = owners.get(bp);
      if (o[0] === 0) {
        this.tx.st(L.SB_CHUNK_DIR + o[1], payload);
      } else if (o[0] === 1) {
        this.tx.st((this.inodes.ib(o[1]) >>> 2) + L.I_EXTENT, payload);
      } else if (o[0] === 2) {
        const t = u32[(this.inodes.ib(o[1]) >>> 2) + L.I_EXTENT];
        this.tx.st(((t + L.DT_HDR + o[2] * L.DT_SLOT_BYTES) >>> 2) + 1, payload);
        const child = u32[(payload >>> 2) + L.DE_INO];
        const cw = this.inodes.ib(child) >>> 2;
        if (isDirMode(u32[cw + L.I_MODE])) this.tx.st(cw + L.I_DENTRY, payload);
      } else if (o[0] === 3) {
        this.tx.st(slotWord(o[1]) + L.S_PINS, payload);
      } else {
        this.tx.st(L.SB_FLOCKS, payload);
      }
      const free = at + bsize;
      this.heap.setBlock(free, by + gsize, 0, L.K_FREE);
      this.heap.binInsert(free, by + gsize);
      this.tx.commit();
      this.locks.pulse();
      dst = free;
      if (now() - t0 > ROUND_MS && this._waited()) return AGAIN;
    }
    this.tx.st(L.SB_COMPACTIONS, u32[L.SB_COMPACTIONS] + 1);
    return true;
  }
}
