// jsglue/pool/content.js — file content: open/close (pins), read, write and truncate of a
// file's one contiguous extent, and moving the extent when it must grow elsewhere.
// Locks: a file's stripe lock (chosen by inode number) guards its content and its SIZE,
// EXTENT and CAP: read holds it shared, write and truncate exclusively. META is taken
// after the stripe, only to allocate or free (never the other way round). Bulk copies run
// under the stripe only, so copies of different files proceed in parallel. A long copy
// hands the stripe over between pieces when someone waits (PIECE); an extent move in
// progress (I_MOVING) lets readers in but makes writers of that file wait until it is done.
import { L } from "../layout.js";
import { fail } from "../errors.js";
import { FAST_MAX_LEN, FAST_MAX_POS } from "../fastio.js";
import { MAX_FILE, alignsBlock, blockFor, isAligned } from "./heap.js";
import { isDirMode, isRegMode } from "./inodes.js";


const SMALL_MOVE = 65536; // extent moves below this copy under META (cheaper)
const BIG_FILE = 1 << 20; // files at least this big move to the heap's end when they move
/**
 * Room a file of `cap` bytes of room that must grow asks for: a quarter more; double
 * once that is BIG_FILE or more while the pool has eight times that to spare (free
 * bytes and room to grow the Memory, `spare`). A 128 MiB file written in 1 MiB appends
 * then grows 8 times, not 28, each growth a META transaction and a write off the fast
 * path: two workers writing new 128 MiB files at once went from 0.92-0.95x to
 * 0.94-0.99x of Python's ceiling (benchmarks/suite.mjs, node 24, five runs and seven). Near the maximum a doubled file
 * would take the room another needs to grow (two files written side by side into a
 * pool of at most 512 MiB met ENOSPC at 161 MiB each with four times, 176 with eight).
 * close() gives back what is above HEADROOM when more than SLACK_MAX is left.
 */
const grownRoom = (cap, spare) => (cap >= BIG_FILE && spare >= 8 * cap ? 2 * cap : cap + Math.floor(cap / 4));
/** What a big file keeps beyond its size when closed: an eighth (MEMFS grows big files by an eighth). */
const HEADROOM = (size) => Math.floor(size / 8);
/** Room beyond a big file's size that close() gives back (what grownRoom can leave, and more). */
const SLACK_MAX = (size) => Math.floor(size / 4);
/** Files at least this big that must move and fit no hole grow the Memory for room. */
const ROOMY_GROWTH = 8 << 20;
/** Files up to this size move to an aligned block when they grow past ALIGN_MIN (heap.js). */
const REALIGN_MAX = 1 << 20;
/**
 * Long copies (reads, writes, extent moves) go in pieces of PIECE to 2 × PIECE bytes
 * (piece()); between two pieces the holder bumps its heartbeat and, if someone waits for
 * the file's stripe, hands it over and takes it back, so that a small call waits about
 * one piece, not the whole copy. The check between pieces costs ~0.1 µs. A piece is
 * sized for the slowest copies, into fresh pages the kernel still has to fault in
 * (~0.5 ms per MiB at 2 GB/s; ~7 ms at the 150 MiB/s seen on a loaded VM, where 4 MiB
 * pieces of an extent move made a page's small calls wait 20-30 ms each), and not below
 * 1 MiB: glibc's memmove (which V8 calls for memory.copy and TypedArray.set) copies with
 * `rep movsb` below its rep_movsb_stop_threshold, on AMD the L2 cache size (1 MiB on the
 * EPYC we measure on), and with a vector loop from there on, ~35% faster there: 1 MiB
 * writes copied as two 512 KiB pieces ran at 11 GB/s, as one piece at 15 GB/s (Chrome,
 * benchmarks/bulkprobe.mjs), and MEMFS copies a 1 MiB call in one.
 */
const PIECE = 1 << 20;
/** Bytes of the next piece of a long copy with `left` bytes to go (no short last piece). */
const piece = (left) => (left < 2 * PIECE ? left : PIECE);
// (The fast paths copy a call of under FAST_MAX_LEN bytes in one, as piece() does.)
if (FAST_MAX_LEN > 2 * PIECE) throw new Error("content.js: FAST_MAX_LEN is more than one piece");
/**
 * Where in a free block of `bsize` bytes a big file that moves with room for `roomy`
 * bytes goes: mid-way, so that the block before the hole keeps half the rest to grow into.
 */
const midWay = (bsize, roomy) => Math.max(L.MIN_BLOCK, Math.floor((bsize - roomy) / 16) * 8);
/** Thrown (never escapes this module) when an allocation should wait for a compaction. */
const NEED_COMPACTION = { reason: "fragmented: compact and retry" };

export class Content {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("../locks.js").Locks} locks
   * @param {import("./heap.js").Heap} heap
   * @param {import("./inodes.js").Inodes} inodes
   * @param {import("./pins.js").Pins} pins
   * @param {import("./compact.js").Compactor} compactor
   */
  constructor(views, tx, locks, heap, inodes, pins, compactor) {
    this.v = views;
    this.tx = tx;
    this.locks = locks;
    this.heap = heap;
    this.inodes = inodes;
    this.pins = pins;
    this.compactor = compactor;
    /** Reads this instance made beside another's bulk write (_readBeside). */
    this.readsBeside = 0;
    /** Extent moves this instance made (a file that had to grow elsewhere) and bytes they copied. */
    this.moves = 0;
    this.movedBytes = 0;
  }

  /**
   * Byte offset of the stripe lock of inode `ino`.
   * @param {number} ino
   */
  stripe(ino) {
    return L.LOCKS_AT + (ino % L.STRIPES) * L.LOCK_BYTES;
  }

  /**
   * Pin (ino, gen) for content access: called at open. No lock if this instance has
   * the file open or kept its pin (pool/keptpins.js); else META write.
   * @param {number} ino
   * @param {number} gen
   * @throws {import("../errors.js").PoolError} ENOENT (stale handle), ENOSPC
   */
  open(ino, gen) {
    if (this.pins.kept.tryOpen(ino, gen)) return; // (a file this instance had open or kept)
    this.tx.wlock();
    try {
      this.pins.pin(ino, gen, this.inodes.live(ino, gen) >>> 2);
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
    }
  }

  /**
   * Drop a pin taken by open(); the last pin of an unlinked inode frees it. No lock if
   * the pin is one of this instance's kept pins (it is kept); else META write.
   * @param {number} ino
   * @param {number} gen
   */
  close(ino, gen) {
    try {
      this._giveBackSlack(ino);
    } finally {
      const kept = this.pins.kept.tryClose(ino, gen); // (no lock: the pin is kept)
      if (kept !== 1) this.tx.withWrite(() => (kept === 2 ? this.pins.kept.settle(ino, gen) : this.pins.unpin(ino, gen)));
    }
  }

  /**
   * At a close of a big file (pinned) with more room than SLACK_MAX beyond its size (it
   * grew by doubling, grownRoom): give back all but HEADROOM, in place, as truncate
   * does. A hint read without a lock first (a close of a file that did not grow costs
   * two loads); then under the stripe write lock and META.
   * @param {number} ino
   */
  _giveBackSlack(ino) {
    let w = this.inodes.ib(ino) >>> 2;
    const over = () => {
      const u32 = this.v.u32; // (renewed by the lock if the Memory grew)
      const cap = u32[w + L.I_CAP];
      const size = u32[w + L.I_SIZE];
      return cap > BIG_FILE && cap - size > SLACK_MAX(size) + L.MIN_BLOCK && isRegMode(u32[w + L.I_MODE]);
    };
    if (!over()) return;
    const stripe = this.stripe(ino);
    w = this._lockForWrite(ino, stripe);
    try {
      if (!over()) return; // (another close did it, or a write filled the room meanwhile)
      const size = this.v.u32[w + L.I_SIZE];
      this._shrinkRoom(w, size + HEADROOM(size));
    } finally {
      this.locks.writeUnlock(stripe);
    }
  }

  /**
   * Copy up to `len` bytes at file offset `pos` into dst[dstOff..]. The inode must be
   * pinned (open). Stripe read lock. Returns the byte count (0 at or past the end).
   * @param {number} ino
   * @param {number} gen
   * @param {Uint8Array} dst
   * @param {number} dstOff
   * @param {number} len
   * @param {number} pos
   * @param {(dstOff: number, poolOffset: number, n: number) => void} [copyOut] does the
   *   copy instead of dst.set (a faster engine path, e.g. wasm memory.copy)
   * @param {import("../copier.js").Copier["read"]} [fastRead] the whole read as one wasm
   *   call (fastio.js), tried first for reads of under FAST_MAX_LEN bytes into the heap
   *   that copyOut copies into
   */
  read(ino, gen, dst, dstOff, len, pos, copyOut, fastRead) {
    const stripe = this.stripe(ino);
    const locks = this.locks;
    if (fastRead !== undefined && len < FAST_MAX_LEN && pos <= FAST_MAX_POS && !locks.dead) {
      const n = locks.fastDone(stripe, fastRead(stripe, locks.sw << 2, locks.gen, ino, dstOff, len, pos), false);
      if (n >= 0) return n;
      // It gave up: the JS path below handles (and reports) whatever made it.
    }
    if (Atomics.load(this.v.i32, (stripe >> 2) + L.LK_STATE) < 0) {
      const n = this._readBeside(ino, stripe, dst, dstOff, len, pos, copyOut);
      if (n >= 0) return n;
    }
    locks.readLock(stripe); // (renews the views if the Memory grew)
    try {
      let w = this.inodes.ib(ino) >>> 2;
      let size = this.v.u32[w + L.I_SIZE];
      if (pos >= size || len <= 0) return 0;
      let n = Math.min(len, size - pos);
      let ext = this.extent(ino, w, size);
      const bulk = n >= L.BULK_COPY;
      if (bulk) this.copyBegin();
      try {
        let done = 0;
        while (done < n) {
          const c = piece(n - done);
          const at = ext + pos + done;
          if (copyOut) copyOut(dstOff + done, at, c);
          else dst.set(this.v.u8.subarray(at, at + c), dstOff + done);
          done += c;
          if (done < n) {
            this.locks.pulse();
            if (this.locks.contended(stripe)) {
              // Hand over; the file may have been written, truncated or moved meanwhile.
              this.locks.readUnlock(stripe);
              this.locks.readLock(stripe);
              w = this.inodes.ib(ino) >>> 2;
              size = this.v.u32[w + L.I_SIZE];
              if (pos + done >= size) break;
              n = Math.min(n, size - pos);
              ext = this.extent(ino, w, size);
            }
          }
        }
        return done;
      } finally {
        if (bulk) this.copyEnd();
      }
    } finally {
      locks.readUnlock(stripe);
    }
  }


  /**
   * Write src[srcOff, srcOff+len) at file offset `pos` (at the end if `append`),
   * zero-filling any gap. The inode must be pinned. Stripe write lock (META only
   * for allocation). Returns the offset just past the written bytes.
   * @param {number} ino
   * @param {number} gen
   * @param {Uint8Array} src
   * @param {number} srcOff
   * @param {number} len
   * @param {number} pos
   * @param {boolean} [append]
   * @param {(poolOffset: number, srcOff: number, n: number) => void} [copyIn] does the
   *   copy instead of TypedArray.set (a faster engine path, e.g. wasm memory.copy)
   * @param {import("../copier.js").Copier["write"]} [fastWrite] the whole write as one
   *   wasm call (fastio.js), tried first for writes of under FAST_MAX_LEN bytes from the heap
   *   that copyIn copies from
   * @throws {PoolError} ENOSPC (nothing written), EFBIG
   */
  write(ino, gen, src, srcOff, len, pos, append, copyIn, fastWrite) {
    if (len === 0) return pos; // POSIX: writing nothing changes nothing, not even the size
    const locks = this.locks;
    if (fastWrite !== undefined && len < FAST_MAX_LEN && pos <= FAST_MAX_POS && !locks.dead &&
        this.tx._crashAt === undefined) {
      const stripe = this.stripe(ino);
      const end = locks.fastDone(stripe, fastWrite(stripe, locks.sw << 2, locks.gen, -locks.id, ino, srcOff, len,
        pos, append ? 1 : 0, this.tx.now()), true);
      if (end >= 0) return end;
      // It gave up: the JS path below handles (and reports) whatever made it.
    }
    try {
      // A Memory grow for room happens before anything is written, holding no lock.
      return this.heap.deferringGrow(() => this._write(ino, src, srcOff, len, pos, append, true, copyIn));
    } catch (e) {
      if (e !== NEED_COMPACTION) throw e;
    }
    this.compactor.compact();
    // (After a compaction the room may still have to be grown: holding no lock, too.)
    return this.heap.deferringGrow(() => this._write(ino, src, srcOff, len, pos, append, false, copyIn));
  }

  _write(ino, src, srcOff, len, pos, append, mayCompact, copyIn) {
    const stripe = this.stripe(ino);
    let w = this._lockForWrite(ino, stripe);
    try {
      const size = this.v.u32[w + L.I_SIZE];
      if (append) pos = size;
      const end = pos + len;
      if (end > MAX_FILE) fail("EFBIG", `file would be ${end} bytes`);
      if (end > this.v.u32[w + L.I_CAP]) this._reserve(ino, end, size, false, mayCompact);
      let ext = this.extent(ino, w, end);
      this.tx.hook();
      const from = Math.min(pos, size);
      this.tx.wrote(ext + from, end - from); // (SIZE's page: touch() below marks it)
      const bulk = len >= L.BULK_COPY;
      // A bulk write tells readers of the file's other bytes which ones it changes, so
      // that they read beside it instead of waiting (_readBeside).
      if (bulk) this.locks.writeBegin(ino, from, end);
      try {
        if (pos > size) this.v.zero(ext + size, ext + pos);
        if (bulk) this.copyBegin();
        try {
          for (let done = 0; done < len;) {
            const c = piece(len - done);
            if (copyIn) copyIn(ext + pos + done, srcOff + done, c);
            else this.v.u8.set(src.subarray(srcOff + done, srcOff + done + c), ext + pos + done);
            done += c;
            if (done < len) {
              this.locks.pulse();
              if (this.locks.contended(stripe)) {
                // Hand over, the bytes copied so far part of the file (a truncate meanwhile
                // acts on them as on any bytes written before it). Meanwhile the file may
                // be truncated (and lose the room for the rest) or moved, or compacted:
                // take room again and read the extent.
                if (pos + done > this.v.u32[w + L.I_SIZE]) Atomics.store(this.v.u32, w + L.I_SIZE, pos + done);
                this.locks.writeEnd();
                this.locks.writeUnlock(stripe);
                w = this._lockForWrite(ino, stripe);
                const now = this.v.u32[w + L.I_SIZE];
                if (end > this.v.u32[w + L.I_CAP]) this._reserve(ino, end, now, false, false, false);
                ext = this.extent(ino, w, end);
                // Cut below what was copied: the rest of this write leaves a hole there, of
                // zeros — not what the extent held (a move keeps only `now` bytes).
                if (now < pos + done) this.v.zero(ext + now, ext + pos + done);
                const lo = Math.min(pos + done, now);
                this.tx.wrote(ext + lo, end - lo);
                this.locks.writeBegin(ino, lo, end);
              }
            }
          }
        } finally {
          if (bulk) this.copyEnd();
        }
        if (end > this.v.u32[w + L.I_SIZE]) Atomics.store(this.v.u32, w + L.I_SIZE, end);
      } finally {
        if (bulk) this.locks.writeEnd();
      }
      this.tx.hook();
      this.inodes.touch(w * 4, true, true);
      return end;
    } finally {
      this.locks.writeUnlock(stripe);
    }
  }

  /**
   * A read while another instance holds the file's stripe for a bulk write it announced
   * (Locks.writeBegin: file, byte range): if the read wants none of the bytes that write
   * changes, copy them without the lock — the writer changes nothing else of the file
   * while it holds the stripe, and nobody else can — then check that the same write
   * still holds it (Locks.stillWriting); if not, the copy may be torn and the caller
   * takes the lock instead. Returns the byte count, or -1 (take the lock). A page's
   * main thread, which cannot sleep, otherwise spins for as long as the writer's hold
   * lasts, and longer when the writer is off the CPU.
   */
  _readBeside(ino, stripe, dst, dstOff, len, pos, copyOut) {
    const locks = this.locks;
    const p = locks.writeInProgress(stripe);
    if (p === null) return -1;
    locks.beat(); // (an evicted instance's pins are gone: it must not read, as readLock)
    locks.renewViews();
    const u32 = this.v.u32;
    const w = this.inodes.ib(ino) >>> 2;
    const size = Atomics.load(u32, w + L.I_SIZE);
    const n = pos >= size || len <= 0 ? 0 : Math.min(len, size - pos);
    if (n > 2 * PIECE) return -1; // (a long read takes the lock, and pieces)
    if (n > 0) {
      if (p.ino === ino && pos < p.hi && pos + n > p.lo) return -1; // bytes it changes
      if (Atomics.load(u32, w + L.I_MOVING) !== 0) return -1;
      const ext = u32[w + L.I_EXTENT];
      const cap = u32[w + L.I_CAP];
      if (pos + n > cap || ext < u32[L.SB_HEAP_START] || ext + cap > this.v.heapEnd) return -1;
      const at = ext + pos;
      if (copyOut) copyOut(dstOff, at, n);
      else dst.set(this.v.u8.subarray(at, at + n), dstOff);
    }
    if (!locks.stillWriting(p)) return -1;
    this.readsBeside++;
    return n;
  }

  /**
   * Take the stripe of `ino` for changing its content: exclusively, and with no extent
   * move of another instance in progress (a mover hands the stripe to readers between
   * pieces; writers must not write into the old extent behind its copy, so they wait).
   * @param {number} ino
   * @param {number} stripe
   * @returns {number} word index of the inode's record
   */
  _lockForWrite(ino, stripe) {
    for (;;) {
      this.locks.writeLock(stripe); // (renews the views if the Memory grew)
      const w = this.inodes.ib(ino) >>> 2;
      if (this.v.u32[w + L.I_MOVING] === 0 || !isRegMode(this.v.u32[w + L.I_MODE])) return w;
      this.locks.writeUnlock(stripe);
      this.locks.nap(1);
    }
  }


  /**
   * Set the size of file (ino, gen) in bytes, zero-filling growth. Pins the inode for
   * the call, so a path-based truncate is safe against a concurrent unlink.
   * @throws {PoolError} ENOENT, EISDIR, EINVAL, ENOSPC (size unchanged), EFBIG
   */
  truncate(ino, gen, newSize) {
    if (!(newSize >= 0) || newSize !== Math.floor(newSize)) fail("EINVAL", `bad size ${newSize}`);
    if (newSize > MAX_FILE) fail("EFBIG", `size ${newSize} is too large`);
    this.tx.wlock();
    try {
      const w = this.inodes.live(ino, gen) >>> 2;
      const mode = this.v.u32[w + L.I_MODE];
      if (isDirMode(mode)) fail("EISDIR", `inode ${ino} is a directory`);
      if (!isRegMode(mode)) fail("EINVAL", `inode ${ino} is not a regular file`);
      this.pins.pin(ino, gen, w);
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
    }
    try {
      try {
        this.heap.deferringGrow(() => this._truncate(ino, newSize, true));
      } catch (e) {
        if (e !== NEED_COMPACTION) throw e;
        this.compactor.compact();
        this.heap.deferringGrow(() => this._truncate(ino, newSize, false));
      }
    } finally {
      this.close(ino, gen);
    }
  }

  _truncate(ino, newSize, mayCompact) {
    const stripe = this.stripe(ino);
    const w = this._lockForWrite(ino, stripe);
    try {
      const size = this.v.u32[w + L.I_SIZE];
      if (newSize > size) {
        if (newSize > this.v.u32[w + L.I_CAP]) this._reserve(ino, newSize, size, true, mayCompact);
        const ext = this.v.u32[w + L.I_EXTENT];
        this.tx.wrote(ext + size, newSize - size);
        this.v.zero(ext + size, ext + newSize);
      }
      this.tx.wrote((w + L.I_SIZE) * 4, 4);
      Atomics.store(this.v.u32, w + L.I_SIZE, newSize);
      const cap = this.v.u32[w + L.I_CAP];
      // Give back slack above an eighth of the new size (in place: no copy).
      const slack = cap - newSize;
      if (newSize < size && (newSize === 0 ? cap > 0 : slack > 4096 && slack > newSize / 8)) {
        this._shrinkRoom(w, newSize);
      }
      this.inodes.touch(w * 4, true, true);
    } finally {
      this.locks.writeUnlock(stripe);
    }
  }

  /**
   * Give back the room of the file at inode record (word) `w` above `keep` bytes, in
   * place (no copy); `keep` 0 frees its whole extent. Stripe write lock held; a META
   * transaction (truncate and close's give-back).
   * @param {number} w
   * @param {number} keep
   */
  _shrinkRoom(w, keep) {
    this.tx.withWrite(() => {
      const ext = this.v.u32[w + L.I_EXTENT];
      if (keep === 0) {
        this.heap.free(ext - L.HDR);
        this.tx.st(w + L.I_EXTENT, 0);
        this.tx.st(w + L.I_CAP, 0);
      } else {
        const nb = this.heap.shrinkInPlace(ext - L.HDR, blockFor(keep));
        this.tx.st(w + L.I_CAP, nb - L.HDR - L.FTR);
      }
    });
  }

  /**
   * Where in free block `big` a big file that moves with room for `roomy` bytes goes
   * (offset into the block): mid-way when the block before the hole holds file data,
   * which may be a file growing too, so that it keeps half the rest to grow into; at
   * the start after anything else (a file placed mid-way after the pool's tables had
   * half the room it could have had, and outgrew it: 116 MiB copied, and the pool grew).
   */
  _placeIn(big, roomy) {
    const bsize = this.heap.bsize(big);
    if (bsize < 2 * roomy + L.MIN_BLOCK || this.heap.kindBefore(big) !== L.K_DATA) return 0;
    return midWay(bsize, roomy);
  }

  /**
   * Whether a file at extent `ext` (capacity `cap`) would have at least 1.5 times the
   * room to grow in the largest free block, placed as _reserve places a big file that
   * moves with a block of `roomy` bytes, than where it is (its capacity and the free
   * block after it). META write lock held.
   */
  _roomierElsewhere(ext, cap, roomy) {
    const heap = this.heap;
    const n = ext - L.HDR + heap.bsize(ext - L.HDR);
    const after = n < this.v.heapEnd && !heap.bused(n) ? n : 0;
    const here = cap + (after ? heap.bsize(after) : 0);
    const big = heap.largestFree();
    if (!big || big === after) return false;
    const bsize = heap.bsize(big);
    if (bsize < roomy) return false; // (it would not be placed there but by best fit)
    const there = bsize - this._placeIn(big, roomy);
    return 2 * there >= 3 * here;
  }

  /**
   * Make inode's extent hold at least `need` bytes, keeping `size` bytes of content.
   * Stripe write lock held; takes META. Grows in place when the next block is free
   * (or the Memory can grow behind it); otherwise moves, copying outside META. Inside
   * heap.deferringGrow, throws NEED_GROW (after undoing its stores) where the Memory must
   * grow, unless `mayDefer` is false (a write that has begun copying grows under META).
   */
  _reserve(ino, need, size, exact, mayCompact, mayDefer = true) {
    const u32 = this.v.u32;
    this.tx.wlock();
    let from;
    let to;
    let w;
    const deferred = this.heap.deferGrow;
    if (!mayDefer) this.heap.deferGrow = false;
    try {
      w = this.inodes.ib(ino) >>> 2;
      const ext = u32[w + L.I_EXTENT];
      const cap = u32[w + L.I_CAP];
      // Growing by a part of the room keeps appends amortised O(1) (grownRoom).
      const want = exact ? need : Math.min(MAX_FILE, Math.max(need,
        grownRoom(cap, u32[L.SB_FREE_BYTES] + this.v.maxBytes - this.v.heapEnd)));
      // A file that reaches ALIGN_MIN bytes in an unaligned block (it began small) moves
      // to an aligned one while that copy is cheap, rather than growing where it is.
      const realign = ext !== 0 && size <= REALIGN_MAX && !isAligned(ext - L.HDR) &&
        alignsBlock(L.K_DATA, blockFor(need));
      const inPlace = () => {
        const q = this.heap.growInPlace(ext - L.HDR, blockFor(need), blockFor(want), size, mayCompact);
        if (q) {
          this.tx.st(w + L.I_EXTENT, q + L.HDR);
          this.tx.st(w + L.I_CAP, this.heap.bsize(q) - L.HDR - L.FTR);
          if (q !== ext - L.HDR) this._counted(size); // (slid back before it: a copy too)
        }
        return q;
      };
      // A file that becomes big (its room passes BIG_FILE) where it has far less room
      // than the roomiest hole would give it moves there now, while the copy is cheap,
      // instead of filling its hole first (best fit puts a new file's first block in
      // the smallest hole that fits it: a 128 MiB file written in 1 MiB appends that
      // began in a 120 MiB hole copied 117 MiB each time it was written anew).
      // A big file that moves takes room to double (`roomy`, below).
      const roomy = blockFor(Math.min(MAX_FILE, Math.max(need, cap * 2)));
      const early = ext !== 0 && !exact && !realign && cap <= BIG_FILE && want > BIG_FILE &&
        this._roomierElsewhere(ext, cap, roomy);
      if (ext && !realign && !early && inPlace()) return;
      let p = 0;
      if (ext && (size >= BIG_FILE || early) && !exact) {
        // A big file that cannot grow where it is would soon be boxed in again by
        // its neighbours (two files growing side by side keep moving each other).
        // Move it, with room to double, into the largest free block: mid-way when file
        // data precedes the hole, so that both can go on growing in place (_placeIn).
        let big = this.heap.largestFree();
        let bsize = big ? this.heap.bsize(big) : 0;
        if (bsize < roomy && size >= ROOMY_GROWTH) {
          // No hole fits it, so the Memory grows anyway: grow it enough for the mid-way
          // placement too where file data ends the heap. Else two files growing side by
          // side at the end of the heap take turns moving behind each other, each move
          // copying the whole file (two 128 MiB files written in 1 MiB appends into a new
          // pool: 15 moves copying 940 MiB, against 3 moves and 93 MiB this way).
          const last = this.heap.kindBefore(this.heap.tailFree() || this.v.heapEnd);
          if (this.heap.growFor(roomy + (last === L.K_DATA ? roomy : 0) + L.MIN_BLOCK)) {
            big = this.heap.largestFree();
            bsize = big ? this.heap.bsize(big) : 0;
          }
        }
        if (bsize >= roomy) p = this.heap.takeFreeAligned(big, this._placeIn(big, roomy), roomy, L.K_DATA);
      }
      if (!p) p = this.heap.alloc(want, L.K_DATA, mayCompact);
      if (!p && want > need) p = this.heap.alloc(need, L.K_DATA, mayCompact);
      if (!p && mayCompact) {
        // No free block fits. If free space is plentiful (or the pool cannot grow
        // enough), the cause is fragmentation: compact, then try again. So too when
        // growing cannot make the room but the free bytes and the room left to grow can
        // together: compaction puts the free bytes at the end, where growing adds to
        // them (two big files written side by side met ENOSPC with a third of the
        // maximum free: a 512 MiB pool took 2 × 139 MiB, now 2 × 174 MiB).
        const block = blockFor(need);
        if (this.heap.fragmented(block) || this.heap.fitsOnlyAfterCompaction(block)) throw NEED_COMPACTION;
        p = this.heap.alloc(want, L.K_DATA) || (want > need && this.heap.alloc(need, L.K_DATA));
      }
      if (!p && realign && inPlace()) return; // no room elsewhere: grow where it is
      if (!p) fail("ENOSPC", `no room for ${need} bytes (pool maximum ${this.v.maxBytes} bytes)`);
      to = p + L.HDR;
      if (!ext || size === 0) {
        if (ext) this.heap.free(ext - L.HDR);
        this.tx.st(w + L.I_EXTENT, to);
        this.tx.st(w + L.I_CAP, this.heap.bsize(p) - L.HDR - L.FTR);
        return;
      }
      if (size <= SMALL_MOVE) {
        this.tx.wrote(to, size);
        this.v.move(to, ext, size); // into a fresh block: no undo needed
        this.heap.free(ext - L.HDR);
        this.tx.st(w + L.I_EXTENT, to);
        this.tx.st(w + L.I_CAP, this.heap.bsize(p) - L.HDR - L.FTR);
        this._counted(size);
        return;
      }
      from = ext;
      // Claimed by this inode while we copy outside META; our slot names the inode
      // so that the block is given back if we die copying.
      this.tx.st(w + L.I_MOVING, to);
      this.tx.st(this.locks.sw + L.S_MOVE_INO, ino);
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.heap.deferGrow = deferred;
      this.tx.wunlock();
    }
    // Bulk copy under the stripe lock only: other files' I/O goes on meanwhile. Between
    // pieces readers of this file may get in (they read the old extent, still whole);
    // its writers wait for the move (I_MOVING, see _lockForWrite); compaction refuses.
    this.v.ensure();
    this.copyBegin();
    this.tx.wrote(to, size);
    const stripe = this.stripe(ino);
    try {
      for (let done = 0; done < size;) {
        const c = piece(size - done);
        this.tx.hook();
        this.v.move(to + done, from + done, c);
        done += c;
        if (done < size) {
          this.locks.pulse();
          if (this.locks.contended(stripe)) {
            this.locks.writeUnlock(stripe);
            this.locks.writeLock(stripe);
            this.v.ensure();
          }
        }
      }
    } finally {
      if (!this.tx.dead) this.copyEnd();
    }
    this.tx.wlock();
    try {
      this.tx.st(w + L.I_MOVING, 0);
      this.tx.st(this.locks.sw + L.S_MOVE_INO, 0);
      this.heap.free(from - L.HDR);
      this.tx.st(w + L.I_EXTENT, to);
      this.tx.st(w + L.I_CAP, this.heap.bsize(to - L.HDR) - L.HDR - L.FTR);
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
    }
    this._counted(size);
  }

  /** Count an extent move of `size` bytes of content (Pool.stats() extent_moves, bytes_moved). */
  _counted(size) {
    if (size === 0) return;
    this.moves++;
    this.movedBytes += size;
  }

  /**
   * The extent of inode `ino` (record at word w), checked to hold `bytes` inside the heap, so a
   * corrupt inode gives EIO instead of reading or writing another file's data.
   */
  extent(ino, w, bytes) {
    const ext = this.v.u32[w + L.I_EXTENT];
    const cap = this.v.u32[w + L.I_CAP];
    if (bytes > cap || (cap && (ext < this.v.u32[L.SB_HEAP_START] || ext + cap > this.v.heapEnd))) {
      fail("EIO", `inode ${ino} has a corrupt extent (run Pool.check() for details)`);
    }
    return ext;
  }

  /** Count a bulk copy in progress (COPIERS) and keep COPY_PEAK. No lock needed. */
  copyBegin() {
    const now = Atomics.add(this.v.i32, L.SB_COPIERS, 1) + 1;
    for (let peak = Atomics.load(this.v.i32, L.SB_COPY_PEAK); now > peak;) {
      const seen = Atomics.compareExchange(this.v.i32, L.SB_COPY_PEAK, peak, now);
      if (seen === peak) break;
      peak = seen;
    }
  }

  copyEnd() {
    Atomics.sub(this.v.i32, L.SB_COPIERS, 1);
  }
}
