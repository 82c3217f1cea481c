// jsglue/pool.js — a whole file system inside one shared WebAssembly.Memory.
//
// The pool knows nothing about Emscripten or Python. It speaks inode handles
// (ino, gen) and throws PoolError whose `code` is an errno NAME ("ENOENT", ...);
// the FS backend turns those into the mounting instance's FS.ErrnoError.
//
// Every instance that holds the Memory makes its own Pool object; the object keeps
// only views and a lock helper. All state is in the Memory (layout.js), so any number
// of Pool objects, in any number of threads, see one file system.
//
// Locks (locks.js):
//   META          one read-write lock for the namespace, the inode table and the heap
//                 allocator. Readers: lookup, getattr, readdir, readlink, open, statfs.
//                 Writers: every namespace change and every allocation or free.
//   stripe(ino)   one of STRIPES read-write locks, chosen by inode number, guarding a
//                 file's content and its SIZE/EXTENT/CAP. read() holds it shared;
//                 write()/truncate() exclusively.
//   Order: a stripe before META, never the other way round. Bulk copies of file data
//   (reads, writes, extent moves) run under the stripe only, so workers copying
//   different files proceed in parallel.
//   Content is reached only through a pin (OPEN > 0, taken under META): an inode whose
//   last name is removed is freed when its last pin goes, by whoever drops it.
(function (modules) {
  "use strict";
  const L = modules.layout;
  const { Locks, detectCanBlock } = modules.locks;

  const PAGE = L.PAGE;
  const META = L.SB_META_LOCK;
  const MAX_FILE = 0xffffffff; // SIZE is a u32; the pool itself is below 4 GiB
  const SMALL_MOVE = 65536; // extent moves below this copy under META (cheaper)
  const SLIDE_MAX = 16 << 20; // files up to this may slide back into free space under META
  const BIG_FILE = 1 << 20; // files at least this big move to the heap's end when they move
  // Thrown (never escapes the pool) when an allocation should wait for a compaction.
  const NEED_COMPACTION = { reason: "fragmented: compact and retry" };

  /** An error whose `code` is an errno name. */
  class PoolError extends Error {
    /**
     * @param {string} code errno name
     * @param {string} message what went wrong, for people
     * @param {string} [pyType] Python exception class to raise instead of OSError
     */
    constructor(code, message, pyType) {
      super(`${code}: ${message}`);
      this.name = "PoolError";
      this.code = code;
      if (pyType) this.pyType = pyType;
    }
  }
  const fail = (code, message, pyType) => {
    throw new PoolError(code, message, pyType);
  };

  const textEncoder = new TextEncoder();
  const textDecoder = new TextDecoder("utf-8", { fatal: false });
  const nameScratch = new Uint8Array(4 * (L.NAME_MAX + 1));

  /** FNV-1a over bytes[0, len). */
  function fnv1a(bytes, start, len) {
    let h = 0x811c9dc5;
    for (let i = start, end = start + len; i < end; i++) {
      h = Math.imul(h ^ bytes[i], 0x01000193);
    }
    return h >>> 0;
  }

  /** FNV-1a hash of the name last encoded by encodeName (set by it). */
  let nameHash = 0;

  /**
   * Encode `name` as UTF-8 into nameScratch, set nameHash, return the byte length.
   * ASCII names (the common case) take one pass that also hashes.
   * @throws {PoolError} EINVAL (not a string, "/" or NUL inside), ENOENT (empty),
   *   ENAMETOOLONG (over NAME_MAX bytes)
   */
  function encodeName(name) {
    if (typeof name !== "string") fail("EINVAL", `name must be a string, got ${typeof name}`);
    const n = name.length;
    if (n === 0) fail("ENOENT", "empty name");
    if (n <= L.NAME_MAX) {
      let h = 0x811c9dc5;
      let i = 0;
      for (; i < n; i++) {
        const c = name.charCodeAt(i);
        if (c >= 0x80) break;
        if (c === 0x2f || c === 0) fail("EINVAL", "bad character in name");
        nameScratch[i] = c;
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (i === n) {
        nameHash = h >>> 0;
        return n;
      }
    }
    if (n > L.NAME_MAX * 4) fail("ENAMETOOLONG", `name of ${n} characters`);
    const r = textEncoder.encodeInto(name, nameScratch);
    if (r.read < n || r.written > L.NAME_MAX) {
      fail("ENAMETOOLONG", `name longer than ${L.NAME_MAX} bytes`);
    }
    const len = r.written;
    for (let i = 0; i < len; i++) {
      if (nameScratch[i] === 0x2f || nameScratch[i] === 0) fail("EINVAL", "bad character in name");
    }
    nameHash = fnv1a(nameScratch, 0, len);
    return len;
  }

  function decodeBytes(u8, start, len) {
    let ascii = true;
    for (let i = start, end = start + len; i < end; i++) {
      if (u8[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = "";
      for (let i = start, end = start + len; i < end; i += 4096) {
        s += String.fromCharCode.apply(null, u8.subarray(i, Math.min(end, i + 4096)));
      }
      return s;
    }
    // TextDecoder refuses views of shared memory in browsers: decode a private copy.
    return textDecoder.decode(u8.slice(start, start + len));
  }

  const roundUp8 = (n) => Math.ceil(n / 8) * 8;
  const blockFor = (payload) => Math.max(L.MIN_BLOCK, roundUp8(payload + L.HDR + L.FTR));
  const binOf = (size) => Math.min(L.NBINS - 1, Math.max(0, 31 - Math.clz32(size) - 5));
  const isDirMode = (m) => (m & L.S_IFMT) === L.S_IFDIR;
  const isRegMode = (m) => (m & L.S_IFMT) === L.S_IFREG;
  const isLnkMode = (m) => (m & L.S_IFMT) === L.S_IFLNK;
  const isSab = (b) => Object.prototype.toString.call(b) === "[object SharedArrayBuffer]";

  /** Describe what `memory` is, for error messages. */
  function describe(x) {
    if (x === null) return "null";
    if (x === undefined) return "undefined";
    const tag = Object.prototype.toString.call(x);
    return tag === "[object Object]" && x.constructor ? x.constructor.name : tag.slice(8, -1);
  }

  /** Check that `memory` is a shared WebAssembly.Memory; throws PoolError(EINVAL). */
  function checkMemory(memory) {
    const isMem = memory && typeof memory === "object" && typeof memory.grow === "function" &&
      Object.prototype.toString.call(memory) === "[object WebAssembly.Memory]";
    if (!isMem) {
      fail("EINVAL", `expected a shared WebAssembly.Memory, got ${describe(memory)}`, "TypeError");
    }
    if (!isSab(memory.buffer)) {
      fail("EINVAL", "the WebAssembly.Memory is not shared (create it with shared: true)");
    }
  }

  class Pool {
    /**
     * Attach to a formatted pool.
     * @param {WebAssembly.Memory} memory shared Memory holding a pool
     * @param {{canBlock?: boolean}} [opts] canBlock: may this thread Atomics.wait
     * @throws {PoolError} EINVAL (not a shared Memory, not a pool, other layout version)
     */
    constructor(memory, opts = {}) {
      checkMemory(memory);
      this.memory = memory;
      this.locks = new Locks(opts.canBlock ?? detectCanBlock());
      this._refresh();
      if (this.u8.length < L.HEAP_START) fail("EINVAL", "the Memory is too small to be a pool");
      const magic = Atomics.load(this.u32, L.SB_MAGIC) >>> 0;
      if (magic !== L.MAGIC) {
        fail("EINVAL", `the Memory is not an extmemfs pool (magic 0x${magic.toString(16)})`);
      }
      const version = this.u32[L.SB_VERSION];
      if (version !== L.VERSION) {
        fail("EINVAL", `pool layout version ${version}; this extmemfs reads version ${L.VERSION}`);
      }
    }

    /**
     * Make a new shared Memory and format it as an empty pool.
     * @param {{initialBytes: number, maximumBytes: number, canBlock?: boolean}} opts bytes,
     *   rounded up to 64 KiB pages; maximum ≤ 4 GiB
     * @throws {PoolError} EINVAL bad sizes / no SharedArrayBuffer; ENOMEM the Memory
     *   could not be reserved
     */
    static create(opts) {
      const { initialPages, maximumPages } = Pool.checkSizes(opts.initialBytes, opts.maximumBytes);
      if (typeof SharedArrayBuffer === "undefined") {
        fail("EINVAL", "SharedArrayBuffer is not available: the page must be cross-origin " +
          "isolated (serve it with Cross-Origin-Opener-Policy: same-origin and " +
          "Cross-Origin-Embedder-Policy: require-corp)");
      }
      let memory;
      try {
        memory = new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared: true });
      } catch (e) {
        fail("ENOMEM", `could not reserve a shared Memory of ${initialPages} to ` +
          `${maximumPages} pages: ${e.message}`);
      }
      Pool.format(memory, maximumPages);
      return new Pool(memory, opts);
    }

    /** Validate sizes in bytes; returns page counts. @throws {PoolError} EINVAL */
    static checkSizes(initialBytes, maximumBytes) {
      const max = L.MAX_MEMORY_PAGES * PAGE;
      for (const [what, v] of [["initial size", initialBytes], ["maximum size", maximumBytes]]) {
        if (typeof v !== "number" || !Number.isFinite(v) || v !== Math.floor(v)) {
          fail("EINVAL", `${what} must be a whole number of bytes, got ${v}`);
        }
        if (v < 2 * PAGE || v > max) {
          fail("EINVAL", `${what} ${v} out of range: ${2 * PAGE} (128 KiB) to ${max} (4 GiB)`);
        }
      }
      if (initialBytes > maximumBytes) {
        fail("EINVAL", `initial size ${initialBytes} is above maximum size ${maximumBytes}`);
      }
      return { initialPages: Math.ceil(initialBytes / PAGE), maximumPages: Math.ceil(maximumBytes / PAGE) };
    }

    /** Format a fresh (all-zero) shared Memory, whose maximum is `maximumPages`. */
    static format(memory, maximumPages) {
      checkMemory(memory);
      const buf = memory.buffer;
      const u32 = new Uint32Array(buf);
      if (u32[L.SB_MAGIC] !== 0) fail("EEXIST", "the Memory already holds a pool");
      const pages = buf.byteLength / PAGE;
      u32[L.SB_VERSION] = L.VERSION;
      u32[L.SB_HEAP_START] = L.HEAP_START;
      u32[L.SB_HEAP_PAGES] = pages;
      // A Memory does not tell its maximum, so the creator's figure is kept here.
      if (!(maximumPages >= pages && maximumPages <= L.MAX_MEMORY_PAGES)) {
        fail("EINVAL", `maximum of ${maximumPages} pages is not between ${pages} and ` +
          `${L.MAX_MEMORY_PAGES}`);
      }
      u32[L.SB_MAX_PAGES] = maximumPages;
      const heapBytes = buf.byteLength - L.HEAP_START;
      const p = L.HEAP_START;
      u32[p >>> 2] = heapBytes;
      u32[(p >>> 2) + 1] = L.K_FREE;
      u32[(p + heapBytes - 8) >>> 2] = heapBytes;
      u32[(p + heapBytes - 4) >>> 2] = L.K_FREE;
      u32[L.SB_FREE_BYTES] = heapBytes;
      const b = binOf(heapBytes);
      u32[L.SB_BINS + b] = p;
      u32[L.SB_BIN_MAP] = (1 << b) >>> 0;
      // Root directory: allocate with the ordinary machinery, under no lock (nobody
      // else can see this Memory before MAGIC is written).
      const pool = Object.create(Pool.prototype);
      pool.memory = memory;
      pool.locks = new Locks(true);
      pool._refresh();
      const root = pool._inodeAlloc(L.S_IFDIR | 0o777);
      pool._dirInit(root, root);
      u32[L.SB_ROOT_INO] = root;
      u32[L.SB_N_DIRS] = 1;
      Atomics.store(u32, L.SB_MAGIC, L.MAGIC);
    }

    // ---- views ----------------------------------------------------------------

    _refresh() {
      const buf = this.memory.buffer;
      this.u8 = new Uint8Array(buf);
      this.u32 = new Uint32Array(buf);
      this.i32 = new Int32Array(buf);
      this.f64 = new Float64Array(buf);
      this.locks.i32 = this.i32;
    }

    /** Refresh the views if another instance grew the Memory. Call after locking. */
    _ensure() {
      if (Atomics.load(this.u32, L.SB_HEAP_PAGES) * PAGE > this.u8.length) this._refresh();
    }

    _rlock() {
      this.locks.readLock(META);
      this._ensure();
    }
    _runlock() {
      this.locks.readUnlock(META);
    }
    _wlock() {
      this.locks.writeLock(META);
      this._ensure();
    }
    _wunlock() {
      this.locks.writeUnlock(META);
    }
    _stripe(ino) {
      return L.LOCKS_AT + (ino % L.STRIPES) * L.LOCK_BYTES;
    }
    /** Run fn under the META read lock. */
    withRead(fn) {
      this._rlock();
      try {
        return fn();
      } finally {
        this._runlock();
      }
    }
    /** Run fn under the META write lock. */
    withWrite(fn) {
      this._wlock();
      try {
        return fn();
      } finally {
        this._wunlock();
      }
    }
    _assertMetaWrite() {
      if (!this.locks.isWriteHeld(META)) throw new Error("extmemfs: META write lock not held");
    }

    get heapEnd() {
      return this.u32[L.SB_HEAP_PAGES] * PAGE;
    }
    get maxBytes() {
      return this.u32[L.SB_MAX_PAGES] * PAGE;
    }

    // ---- heap blocks ----------------------------------------------------------

    _bsize(p) {
      const v = this.u32[p >>> 2];
      return v - (v & 7);
    }
    _bused(p) {
      return this.u32[p >>> 2] & L.USED_BIT;
    }
    _setBlock(p, size, used, kind) {
      const u32 = this.u32;
      const head = (size + used) >>> 0;
      u32[p >>> 2] = head;
      u32[(p >>> 2) + 1] = kind;
      u32[(p + size - 8) >>> 2] = head;
      u32[(p + size - 4) >>> 2] = kind;
    }
    _binInsert(p, size) {
      const u32 = this.u32;
      const b = binOf(size);
      const head = u32[L.SB_BINS + b];
      u32[(p >>> 2) + L.B_NEXT] = head;
      u32[(p >>> 2) + L.B_PREV] = 0;
      if (head) u32[(head >>> 2) + L.B_PREV] = p;
      u32[L.SB_BINS + b] = p;
      u32[L.SB_BIN_MAP] = (u32[L.SB_BIN_MAP] | (1 << b)) >>> 0;
    }
    _binRemove(p, size) {
      const u32 = this.u32;
      const b = binOf(size);
      const next = u32[(p >>> 2) + L.B_NEXT];
      const prev = u32[(p >>> 2) + L.B_PREV];
      if (prev) {
        u32[(prev >>> 2) + L.B_NEXT] = next;
      } else {
        u32[L.SB_BINS + b] = next;
        if (!next) u32[L.SB_BIN_MAP] = (u32[L.SB_BIN_MAP] & ~(1 << b)) >>> 0;
      }
      if (next) u32[(next >>> 2) + L.B_PREV] = prev;
    }

    /**
     * A free block of at least `need` bytes, or 0. Best fit among a bounded number of
     * candidates: in the need's own size class, then in the smallest non-empty larger
     * class (any block there fits). META write lock held.
     */
    _findFree(need) {
      const u32 = this.u32;
      const b = binOf(need);
      let best = 0;
      let bestSize = Infinity;
      let p = u32[L.SB_BINS + b];
      for (let steps = 0; p && steps < 64; steps++) {
        const size = this._bsize(p);
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
          const size = this._bsize(p);
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
        if (this._bsize(p) >= need) return p;
        p = u32[(p >>> 2) + L.B_NEXT];
      }
      return 0;
    }

    /**
     * Check that p is an intact free block of at least `need` bytes before anything is
     * written into it: a corrupt free list must give EIO, never overwrite a file.
     */
    _checkFree(p, need) {
      const u32 = this.u32;
      const size = this._bsize(p);
      if (p < u32[L.SB_HEAP_START] || p % 8 || size < need || p + size > this.heapEnd ||
          this._bused(p) || u32[(p + size - 8) >>> 2] !== u32[p >>> 2]) {
        fail("EIO", `free block @${p} is corrupt (run Pool.check() for details)`);
      }
      return size;
    }

    /** Mark free block p used with `need` bytes (splitting off the rest). */
    _takeFree(p, need, kind) {
      const size = this._checkFree(p, need);
      this._binRemove(p, size);
      let used = size;
      if (size - need >= L.MIN_BLOCK) {
        used = need;
        const rest = p + need;
        this._setBlock(rest, size - need, 0, L.K_FREE);
        this._binInsert(rest, size - need);
      }
      this._setBlock(p, used, L.USED_BIT, kind);
      this.u32[L.SB_USED_BYTES] += used;
      this.u32[L.SB_FREE_BYTES] -= used;
      return p;
    }

    /** The largest free block (offset), or 0. META write lock held. */
    _largestFree() {
      const u32 = this.u32;
      const map = u32[L.SB_BIN_MAP];
      if (!map) return 0;
      let best = 0;
      let bestSize = 0;
      const top = 31 - Math.clz32(map);
      for (let p = u32[L.SB_BINS + top], n = 0; p && n < 4096; p = u32[(p >>> 2) + L.B_NEXT], n++) {
        if (this._bsize(p) > bestSize) {
          best = p;
          bestSize = this._bsize(p);
        }
      }
      return best;
    }

    /**
     * Mark `need` bytes at offset `off` inside free block p used, leaving free blocks
     * before (off ≥ MIN_BLOCK, or 0) and after it. Returns the used block's offset.
     */
    _takeFreeAt(p, off, need, kind) {
      const size = this._checkFree(p, off + need);
      this._binRemove(p, size);
      if (off) {
        this._setBlock(p, off, 0, L.K_FREE);
        this._binInsert(p, off);
      }
      const q = p + off;
      let used = size - off;
      if (used - need >= L.MIN_BLOCK) {
        this._setBlock(q + need, used - need, 0, L.K_FREE);
        this._binInsert(q + need, used - need);
        used = need;
      }
      this._setBlock(q, used, L.USED_BIT, kind);
      this.u32[L.SB_USED_BYTES] += used;
      this.u32[L.SB_FREE_BYTES] -= used;
      return q;
    }

    /**
     * Allocate a block with `payload` bytes of payload; returns the block offset or 0
     * when the pool cannot hold it even at its maximum. META write lock held.
     */
    _alloc(payload, kind, noGrow) {
      const need = blockFor(payload);
      if (need > MAX_FILE) return 0;
      let p = this._findFree(need);
      if (!p) {
        if (noGrow) return 0;
        if (!this._growFor(need)) return 0;
        p = this._findFree(need);
        if (!p) return 0;
      }
      return this._takeFree(p, need, kind);
    }

    /** Free block p, merging it with free neighbours. META write lock held. */
    _free(p) {
      const u32 = this.u32;
      let size = this._bsize(p);
      u32[L.SB_USED_BYTES] -= size;
      u32[L.SB_FREE_BYTES] += size;
      const start = u32[L.SB_HEAP_START];
      if (p > start && !(u32[(p - 8) >>> 2] & L.USED_BIT)) {
        const psize = u32[(p - 8) >>> 2] - (u32[(p - 8) >>> 2] & 7);
        const q = p - psize;
        this._binRemove(q, psize);
        p = q;
        size += psize;
      }
      const n = p + size;
      if (n < this.heapEnd && !this._bused(n)) {
        const nsize = this._bsize(n);
        this._binRemove(n, nsize);
        size += nsize;
      }
      this._setBlock(p, size, 0, L.K_FREE);
      this._binInsert(p, size);
    }

    /** The free block at the end of the heap, or 0. */
    _tailFree() {
      const end = this.heapEnd;
      const v = this.u32[(end - 8) >>> 2];
      if (v & L.USED_BIT) return 0;
      return end - (v - (v & 7));
    }

    /**
     * Grow the Memory so that a block of `need` bytes fits at the end of the heap.
     * Returns false at the maximum. META write lock held.
     */
    _growFor(need) {
      this._assertMetaWrite();
      const tail = this._tailFree();
      const have = tail ? this._bsize(tail) : 0;
      const curPages = this.u32[L.SB_HEAP_PAGES];
      const maxPages = this.u32[L.SB_MAX_PAGES];
      const bufPages = this.memory.buffer.byteLength / PAGE; // adopt an interrupted grow
      let needPages = Math.ceil(Math.max(0, need - have) / PAGE) - (bufPages - curPages);
      if (needPages > maxPages - bufPages) return false;
      if (needPages > 0) {
        // Grow geometrically (a sixteenth of the pool at least) to keep grows rare.
        const want = Math.min(maxPages - bufPages, Math.max(needPages, bufPages >>> 4, 16));
        try {
          this.memory.grow(want);
        } catch (e) {
          try {
            this.memory.grow(needPages);
          } catch (e2) {
            return false;
          }
        }
      }
      this._adoptGrowth();
      return true;
    }

    /** Make the heap cover the whole Memory (after a grow). META write lock held. */
    _adoptGrowth() {
      const oldEnd = this.heapEnd;
      const newEnd = this.memory.buffer.byteLength;
      if (newEnd <= oldEnd) return;
      this._refresh();
      const tail = this._tailFree();
      let p = oldEnd;
      let size = newEnd - oldEnd;
      if (tail) {
        const tsize = this._bsize(tail);
        this._binRemove(tail, tsize);
        p = tail;
        size += tsize;
        this.u32[L.SB_FREE_BYTES] -= tsize;
      }
      this._setBlock(p, size, 0, L.K_FREE);
      this._binInsert(p, size);
      this.u32[L.SB_FREE_BYTES] += size;
      Atomics.store(this.u32, L.SB_HEAP_PAGES, newEnd / PAGE);
    }

    /**
     * Try to grow used block p (holding `content` bytes of payload) to `need` bytes, or
     * up to `want`, without a second copy of the data: absorb the free block after it;
     * else slide back into a free block before it (small files only: that copy runs
     * under META); else, if p is last and no free block could take the file, grow the
     * Memory behind it. Returns the (possibly moved) block offset, or 0.
     */
    _growInPlace(p, need, want, content, mayCompact) {
      const size = this._bsize(p);
      const kind = this.u32[(p >>> 2) + 1];
      const end = this.heapEnd;
      let n = p + size;
      let next = n < end && !this._bused(n) ? this._bsize(n) : 0;
      let start = p;
      let prev = 0;
      if (size + next < need) {
        const heapStart = this.u32[L.SB_HEAP_START];
        const pf = p > heapStart ? this.u32[(p - 8) >>> 2] : L.USED_BIT;
        prev = pf & L.USED_BIT ? 0 : pf - (pf & 7);
        if (prev && prev + size + next >= need && content <= SLIDE_MAX) {
          start = p - prev;
        } else {
          prev = 0;
          // Growing the Memory behind the last block is cheap (no copy) but only right
          // when no free block could take the file anyway: otherwise the pool would
          // swell while free space sits unused (fragmentation).
          const last = n >= end || n + next >= end;
          if (!last || this._findFree(need) || (mayCompact && this._fragmented(need))) return 0;
          if (!this._growFor(need - size)) return 0;
          next = n < this.heapEnd && !this._bused(n) ? this._bsize(n) : 0;
          if (size + next < need) return 0;
        }
      }
      if (next) this._binRemove(n, next);
      if (prev) this._binRemove(start, prev);
      const avail = prev + size + next;
      let newSize = Math.min(Math.max(need, want), avail);
      if (avail - newSize < L.MIN_BLOCK) newSize = avail;
      if (prev) this.u8.copyWithin(start + L.HDR, p + L.HDR, p + L.HDR + content);
      if (avail > newSize) {
        const rest = start + newSize;
        this._setBlock(rest, avail - newSize, 0, L.K_FREE);
        this._binInsert(rest, avail - newSize);
      }
      this._setBlock(start, newSize, L.USED_BIT, kind);
      this.u32[L.SB_USED_BYTES] += newSize - size;
      this.u32[L.SB_FREE_BYTES] -= newSize - size;
      return start;
    }

    /**
     * True when a block of `need` bytes does not fit only because free space is cut
     * into pieces: enough is free in all, and either an eighth of the heap is free or
     * the pool cannot grow by `need`. Then compaction beats growing.
     */
    _fragmented(need) {
      const free = this.u32[L.SB_FREE_BYTES];
      return free >= need && (free >= this.heapEnd / 8 || this.maxBytes - this.heapEnd < need);
    }

    /** Shrink used block p to `need` bytes, freeing the tail. META write lock held. */
    _shrinkInPlace(p, need) {
      const size = this._bsize(p);
      if (size - need < L.MIN_BLOCK) return size;
      const kind = this.u32[(p >>> 2) + 1];
      this._setBlock(p, need, L.USED_BIT, kind);
      const rest = p + need;
      this._setBlock(rest, size - need, L.USED_BIT, L.K_DATA);
      this._free(rest);
      return need;
    }

    // ---- inodes ---------------------------------------------------------------

    /** Byte offset of inode `ino`'s record (no checks). */
    _ib(ino) {
      return this.u32[L.SB_CHUNK_DIR + (ino >>> 10)] + (ino & 1023) * L.INODE_BYTES;
    }

    /**
     * Byte offset of the live inode (ino, gen), or throw `code` (ENOENT by default):
     * the handle is stale if the slot was freed or reused since.
     */
    _live(ino, gen, code = "ENOENT") {
      if (!(ino > 0) || (ino >>> 10) >= this.u32[L.SB_INODE_CHUNKS]) fail("EINVAL", `no inode ${ino}`);
      const b = this._ib(ino);
      const w = b >>> 2;
      if (this.u32[w + L.I_MODE] === 0 || this.u32[w + L.I_GEN] !== gen) {
        fail(code, `inode ${ino} (generation ${gen}) no longer exists`);
      }
      return b;
    }

    _liveDir(ino, gen) {
      const b = this._live(ino, gen);
      if (!isDirMode(this.u32[(b >>> 2) + L.I_MODE])) fail("ENOTDIR", `inode ${ino} is not a directory`);
      return b;
    }

    /** Take an inode slot. META write lock held (or formatting). Throws ENOSPC. */
    _inodeAlloc(mode) {
      const u32 = this.u32;
      if (u32[L.SB_INODE_FREE] === 0) this._inodeChunk();
      const ino = u32[L.SB_INODE_FREE];
      const b = this._ib(ino);
      const w = b >>> 2;
      u32[L.SB_INODE_FREE] = u32[w + L.I_NEXT];
      let gen = (u32[w + L.I_GEN] + 1) >>> 0;
      if (gen === 0) gen = 1;
      u32[w + L.I_GEN] = gen;
      u32[w + L.I_NLINK] = 0;
      u32[w + L.I_OPEN] = 0;
      u32[w + L.I_SIZE] = 0;
      u32[w + L.I_PARENT] = 0;
      u32[w + L.I_EXTENT] = 0;
      u32[w + L.I_CAP] = 0;
      u32[w + L.I_DENTRY] = 0;
      u32[w + L.I_MOVING] = 0;
      const now = Date.now();
      const f = b >>> 3;
      this.f64[f + L.I_ATIME] = now;
      this.f64[f + L.I_MTIME] = now;
      this.f64[f + L.I_CTIME] = now;
      Atomics.store(u32, w + L.I_MODE, mode);
      u32[L.SB_INODES_LIVE]++;
      return ino;
    }

    _inodeChunk() {
      const u32 = this.u32;
      const k = u32[L.SB_INODE_CHUNKS];
      if (k >= L.MAX_CHUNKS) fail("ENOSPC", `inode table full (${k * L.INODES_PER_CHUNK} inodes)`);
      const p = this._alloc(L.INODES_PER_CHUNK * L.INODE_BYTES, L.K_INODES);
      if (!p) fail("ENOSPC", "no room for more inodes");
      const base = p + L.HDR;
      this.u8.fill(0, base, base + L.INODES_PER_CHUNK * L.INODE_BYTES);
      u32[L.SB_CHUNK_DIR + k] = base;
      u32[L.SB_INODE_CHUNKS] = k + 1;
      // Link the new slots in order (ino 0 is never handed out).
      const first = k * L.INODES_PER_CHUNK + (k === 0 ? 1 : 0);
      const last = (k + 1) * L.INODES_PER_CHUNK - 1;
      for (let ino = first; ino < last; ino++) u32[(this._ib(ino) >>> 2) + L.I_NEXT] = ino + 1;
      u32[(this._ib(last) >>> 2) + L.I_NEXT] = 0;
      u32[L.SB_INODE_FREE] = first;
    }

    /** Free inode `ino` and its content. META write lock held. */
    _inodeFree(ino) {
      this._assertMetaWrite();
      const u32 = this.u32;
      const w = this._ib(ino) >>> 2;
      const mode = u32[w + L.I_MODE];
      const ext = u32[w + L.I_EXTENT];
      if (ext) this._free(ext - L.HDR);
      const moving = u32[w + L.I_MOVING];
      if (moving && !isDirMode(mode)) this._free(moving - L.HDR);
      u32[w + L.I_EXTENT] = 0;
      u32[w + L.I_CAP] = 0;
      u32[w + L.I_SIZE] = 0;
      u32[w + L.I_MOVING] = 0;
      Atomics.store(u32, w + L.I_MODE, 0);
      u32[w + L.I_NEXT] = u32[L.SB_INODE_FREE];
      u32[L.SB_INODE_FREE] = ino;
      u32[L.SB_INODES_LIVE]--;
      if (isDirMode(mode)) u32[L.SB_N_DIRS]--;
      else if (isRegMode(mode)) u32[L.SB_N_FILES]--;
      else if (isLnkMode(mode)) u32[L.SB_N_LINKS]--;
    }

    /** Free `ino` if nothing names it and nothing holds it open. META write lock held. */
    _maybeFree(ino) {
      const w = this._ib(ino) >>> 2;
      if (Atomics.load(this.u32, w + L.I_NLINK) === 0 && Atomics.load(this.u32, w + L.I_OPEN) === 0) {
        this._inodeFree(ino);
      }
    }

    _gen(ino) {
      return this.u32[(this._ib(ino) >>> 2) + L.I_GEN];
    }

    _touch(b, m, c) {
      const now = Date.now();
      const f = b >>> 3;
      if (m) this.f64[f + L.I_MTIME] = now;
      if (c) this.f64[f + L.I_CTIME] = now;
    }

    // ---- directories ----------------------------------------------------------

    _dirInit(ino, parent) {
      const p = this._alloc(L.DT_HDR + L.DT_MIN_SLOTS * L.DT_SLOT_BYTES, L.K_DIRTAB);
      if (!p) fail("ENOSPC", "no room for a directory");
      const t = p + L.HDR;
      this.u8.fill(0, t, t + L.DT_HDR + L.DT_MIN_SLOTS * L.DT_SLOT_BYTES);
      this.u32[(t >>> 2) + L.DT_SLOTS] = L.DT_MIN_SLOTS;
      const w = this._ib(ino) >>> 2;
      this.u32[w + L.I_EXTENT] = t;
      this.u32[w + L.I_CAP] = this._bsize(p) - L.HDR - L.FTR;
      this.u32[w + L.I_NLINK] = 2;
      this.u32[w + L.I_PARENT] = parent;
    }

    _nameEq(e, len) {
      const u32 = this.u32;
      if (u32[(e >>> 2) + L.DE_LEN] !== len) return false;
      const u8 = this.u8;
      const s = e + L.DE_NAME;
      for (let i = 0; i < len; i++) if (u8[s + i] !== nameScratch[i]) return false;
      return true;
    }

    /** Slot byte offset holding the name in nameScratch[0,len), or -1 - firstFreeSlot. */
    _dtFind(t, len, hash) {
      const u32 = this.u32;
      const mask = u32[(t >>> 2) + L.DT_SLOTS] - 1;
      let i = hash & mask;
      let firstFree = -1;
      for (let probes = 0; probes <= mask; probes++) {
        const s = t + L.DT_HDR + i * L.DT_SLOT_BYTES;
        const e = u32[(s >>> 2) + 1];
        if (e === L.SLOT_EMPTY) return -1 - (firstFree >= 0 ? firstFree : s);
        if (e === L.SLOT_DELETED) {
          if (firstFree < 0) firstFree = s;
        } else if (u32[s >>> 2] === hash && this._nameEq(e, len)) {
          return s;
        }
        i = (i + 1) & mask;
      }
      if (firstFree < 0) fail("EIO", "directory table has no empty slot (corrupt)");
      return -1 - firstFree;
    }

    /** Rebuild directory `dirB`'s table with room for `count` entries. */
    _dtResize(dirB, count, shrinking) {
      const u32 = this.u32;
      const dw = dirB >>> 2;
      const old = u32[dw + L.I_EXTENT];
      let slots = L.DT_MIN_SLOTS;
      while (slots < count * 2 + 2) slots *= 2;
      const bytes = L.DT_HDR + slots * L.DT_SLOT_BYTES;
      const p = this._alloc(bytes, L.K_DIRTAB, shrinking);
      if (!p) fail("ENOSPC", "no room to grow a directory");
      const t = p + L.HDR;
      this.u8.fill(0, t, t + bytes);
      u32[(t >>> 2) + L.DT_SLOTS] = slots;
      const mask = slots - 1;
      const oldSlots = u32[(old >>> 2) + L.DT_SLOTS];
      let n = 0;
      for (let i = 0; i < oldSlots; i++) {
        const s = old + L.DT_HDR + i * L.DT_SLOT_BYTES;
        const e = u32[(s >>> 2) + 1];
        if (e <= L.SLOT_DELETED) continue;
        const h = u32[s >>> 2];
        let j = h & mask;
        while (u32[((t + L.DT_HDR + j * L.DT_SLOT_BYTES) >>> 2) + 1] !== 0) j = (j + 1) & mask;
        const d = (t + L.DT_HDR + j * L.DT_SLOT_BYTES) >>> 2;
        u32[d] = h;
        u32[d + 1] = e;
        n++;
      }
      u32[(t >>> 2) + L.DT_COUNT] = n;
      u32[dw + L.I_EXTENT] = t;
      u32[dw + L.I_CAP] = this._bsize(p) - L.HDR - L.FTR;
      this._free(old - L.HDR);
    }

    /** Make room in dir `dirB` for one more entry (may move its table). */
    _dtReserve(dirB) {
      const t = this.u32[(dirB >>> 2) + L.I_EXTENT];
      const tw = t >>> 2;
      const count = this.u32[tw + L.DT_COUNT];
      if ((count + this.u32[tw + L.DT_TOMBS] + 1) * 2 > this.u32[tw + L.DT_SLOTS]) {
        this._dtResize(dirB, count + 1);
      }
    }

    /** New directory entry block for the name in nameScratch; returns payload offset. */
    _dentryAlloc(ino, len, hash) {
      const p = this._alloc(L.DE_NAME + len, L.K_DENTRY);
      if (!p) fail("ENOSPC", "no room for a directory entry");
      const e = p + L.HDR;
      const w = e >>> 2;
      this.u32[w + L.DE_INO] = ino;
      this.u32[w + L.DE_GEN] = this._gen(ino);
      this.u32[w + L.DE_HASH] = hash;
      this.u32[w + L.DE_LEN] = len;
      this.u8.set(nameScratch.subarray(0, len), e + L.DE_NAME);
      return e;
    }

    /** Put entry e (hash h) into slot s (from _dtFind) of table t. */
    _dtPut(t, s, h, e) {
      const tw = t >>> 2;
      if (this.u32[(s >>> 2) + 1] === L.SLOT_DELETED) this.u32[tw + L.DT_TOMBS]--;
      this.u32[s >>> 2] = h;
      this.u32[(s >>> 2) + 1] = e;
      this.u32[tw + L.DT_COUNT]++;
    }

    /** Remove the entry in slot s of dir `dirB`; frees the entry block. */
    _dtDelete(dirB, s) {
      const t = this.u32[(dirB >>> 2) + L.I_EXTENT];
      const tw = t >>> 2;
      const e = this.u32[(s >>> 2) + 1];
      this.u32[(s >>> 2) + 1] = L.SLOT_DELETED;
      this.u32[s >>> 2] = 0;
      this.u32[tw + L.DT_COUNT]--;
      this.u32[tw + L.DT_TOMBS]++;
      this._free(e - L.HDR);
      const count = this.u32[tw + L.DT_COUNT];
      const slots = this.u32[tw + L.DT_SLOTS];
      if ((slots > L.DT_MIN_SLOTS && count * 8 < slots) || this.u32[tw + L.DT_TOMBS] > slots >>> 2) {
        try {
          this._dtResize(dirB, count, true);
        } catch (err) {
          if (!(err instanceof PoolError)) throw err; // compaction is optional: keep the old table
        }
      }
    }

    // ---- public: namespace ----------------------------------------------------

    /** Inode number of the root directory. */
    get root() {
      return this.u32[L.SB_ROOT_INO];
    }

    /** Handle {ino, gen} of the root directory. */
    rootHandle() {
      const ino = this.root;
      return { ino, gen: this.withRead(() => this._gen(ino)) };
    }

    /**
     * Look `name` up in directory (dir, dirGen). META read lock.
     * @returns {{ino:number, gen:number, mode:number}}
     * @throws {PoolError} ENOENT, ENOTDIR, ENAMETOOLONG
     */
    lookup(dir, dirGen, name) {
      const h = this.find(dir, dirGen, name);
      if (h === null) fail("ENOENT", `no entry ${JSON.stringify(name)}`);
      return h;
    }

    /**
     * Like lookup, but a missing name gives null instead of an error: lookups of names
     * that do not exist yet are common (every create makes two) and must be cheap.
     * @returns {{ino:number, gen:number, mode:number} | null}
     * @throws {PoolError} ENOTDIR, ENOENT (the directory itself is gone), ENAMETOOLONG
     */
    find(dir, dirGen, name) {
      const len = encodeName(name);
      const hash = nameHash;
      this._rlock();
      try {
        const db = this._liveDir(dir, dirGen);
        const t = this.u32[(db >>> 2) + L.I_EXTENT];
        const s = this._dtFind(t, len, hash);
        if (s < 0) return null;
        const e = this.u32[(s >>> 2) + 1];
        const ino = this.u32[(e >>> 2) + L.DE_INO];
        const gen = this.u32[(e >>> 2) + L.DE_GEN];
        return { ino, gen, mode: this.u32[(this._ib(ino) >>> 2) + L.I_MODE] };
      } finally {
        this._runlock();
      }
    }

    /**
     * Create `name` in (dir, dirGen): a file, directory or symlink by `mode`'s type.
     * META write lock. Nothing changes if it fails.
     * @param {string} [target] symlink target (for S_IFLNK)
     * @returns {{ino:number, gen:number, mode:number}}
     * @throws {PoolError} EEXIST, ENOENT (dir gone), ENOTDIR, ENAMETOOLONG, ENOSPC, EINVAL
     */
    create(dir, dirGen, name, mode, target) {
      const type = mode & L.S_IFMT;
      if (type !== L.S_IFREG && type !== L.S_IFDIR && type !== L.S_IFLNK) {
        fail("EINVAL", `unsupported file type 0o${type.toString(8)}`);
      }
      let tbytes = null;
      if (type === L.S_IFLNK) {
        if (typeof target !== "string") fail("EINVAL", "symlink target must be a string");
        tbytes = textEncoder.encode(target);
        if (tbytes.length > 4095) fail("ENAMETOOLONG", "symlink target longer than 4095 bytes");
      }
      const len = encodeName(name);
      const hash = nameHash;
      this._wlock();
      try {
        const db = this._liveDir(dir, dirGen);
        if (this.u32[(db >>> 2) + L.I_NLINK] === 0) fail("ENOENT", "directory was removed");
        let s = this._dtFind(this.u32[(db >>> 2) + L.I_EXTENT], len, hash);
        if (s >= 0) fail("EEXIST", `${JSON.stringify(name)} exists`);
        this._dtReserve(db);
        s = -1 - this._dtFind(this.u32[(db >>> 2) + L.I_EXTENT], len, hash);
        // Allocate everything before linking anything, undoing on ENOSPC.
        const ino = this._inodeAlloc(mode);
        const b = this._ib(ino);
        let e = 0;
        try {
          if (type === L.S_IFDIR) {
            this._dirInit(ino, dir);
          } else if (type === L.S_IFLNK) {
            if (tbytes.length) {
              const p = this._alloc(tbytes.length, L.K_DATA);
              if (!p) fail("ENOSPC", "no room for a symlink");
              this.u8.set(tbytes, p + L.HDR);
              this.u32[(b >>> 2) + L.I_EXTENT] = p + L.HDR;
              this.u32[(b >>> 2) + L.I_CAP] = this._bsize(p) - L.HDR - L.FTR;
              this.u32[(b >>> 2) + L.I_SIZE] = tbytes.length;
            }
            this.u32[(b >>> 2) + L.I_NLINK] = 1;
          } else {
            this.u32[(b >>> 2) + L.I_NLINK] = 1;
          }
          e = this._dentryAlloc(ino, len, hash);
        } catch (err) {
          this.u32[(b >>> 2) + L.I_NLINK] = 0;
          this._inodeFree(ino);
          if (type === L.S_IFDIR) this.u32[L.SB_N_DIRS]++; // _inodeFree counted it down
          else if (type === L.S_IFREG) this.u32[L.SB_N_FILES]++;
          else this.u32[L.SB_N_LINKS]++;
          throw err;
        }
        this._dtPut(this.u32[(db >>> 2) + L.I_EXTENT], s, hash, e);
        if (type === L.S_IFDIR) {
          this.u32[(b >>> 2) + L.I_DENTRY] = e;
          this.u32[(db >>> 2) + L.I_NLINK]++;
          this.u32[L.SB_N_DIRS]++;
        } else if (type === L.S_IFREG) {
          this.u32[L.SB_N_FILES]++;
        } else {
          this.u32[L.SB_N_LINKS]++;
        }
        this._touch(db, true, true);
        this.u32[L.SB_CHANGE]++;
        return { ino, gen: this._gen(ino), mode };
      } finally {
        this._wunlock();
      }
    }

    /**
     * Remove a non-directory entry. Its inode lives on while open anywhere.
     * @throws {PoolError} ENOENT, ENOTDIR, EISDIR
     */
    unlink(dir, dirGen, name) {
      this._remove(dir, dirGen, name, false);
    }

    /**
     * Remove an empty directory.
     * @throws {PoolError} ENOENT, ENOTDIR, ENOTEMPTY, EBUSY (root)
     */
    rmdir(dir, dirGen, name) {
      this._remove(dir, dirGen, name, true);
    }

    _remove(dir, dirGen, name, wantDir) {
      const len = encodeName(name);
      const hash = nameHash;
      this._wlock();
      try {
        const db = this._liveDir(dir, dirGen);
        const s = this._dtFind(this.u32[(db >>> 2) + L.I_EXTENT], len, hash);
        if (s < 0) fail("ENOENT", `no entry ${JSON.stringify(name)}`);
        const e = this.u32[(s >>> 2) + 1];
        const ino = this.u32[(e >>> 2) + L.DE_INO];
        const w = this._ib(ino) >>> 2;
        const isDir = isDirMode(this.u32[w + L.I_MODE]);
        if (wantDir && !isDir) fail("ENOTDIR", `${JSON.stringify(name)} is not a directory`);
        if (!wantDir && isDir) fail("EISDIR", `${JSON.stringify(name)} is a directory`);
        if (isDir) {
          if (ino === this.root) fail("EBUSY", "cannot remove the root");
          const t = this.u32[w + L.I_EXTENT];
          if (this.u32[(t >>> 2) + L.DT_COUNT] !== 0) fail("ENOTEMPTY", `${JSON.stringify(name)} is not empty`);
          this.u32[(db >>> 2) + L.I_NLINK]--;
          this.u32[w + L.I_DENTRY] = 0;
        }
        this._dtDelete(db, s);
        Atomics.store(this.u32, w + L.I_NLINK, 0);
        this._touch(this._ib(ino), false, true);
        this._touch(db, true, true);
        this.u32[L.SB_CHANGE]++;
        this._maybeFree(ino);
      } finally {
        this._wunlock();
      }
    }

    /**
     * Rename (oldDir, oldName) to (newDir, newName), replacing a file by a non-dir or
     * an empty directory by a directory, as POSIX rename(2).
     * @throws {PoolError} ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL (into itself),
     *   EBUSY (root), ENAMETOOLONG, ENOSPC
     */
    rename(oldDir, oldDirGen, oldName, newDir, newDirGen, newName) {
      const nlen = encodeName(newName);
      const nhash = nameHash;
      const newBytes = nameScratch.slice(0, nlen);
      const olen = encodeName(oldName);
      const ohash = nameHash;
      this._wlock();
      try {
        const u32 = this.u32;
        const odb = this._liveDir(oldDir, oldDirGen);
        const ndb = this._liveDir(newDir, newDirGen);
        const os = this._dtFind(u32[(odb >>> 2) + L.I_EXTENT], olen, ohash);
        if (os < 0) fail("ENOENT", `no entry ${JSON.stringify(oldName)}`);
        const oe = u32[(os >>> 2) + 1];
        const src = u32[(oe >>> 2) + L.DE_INO];
        const sw = this._ib(src) >>> 2;
        const srcDir = isDirMode(u32[sw + L.I_MODE]);
        if (u32[(ndb >>> 2) + L.I_NLINK] === 0) fail("ENOENT", "target directory was removed");
        if (srcDir) {
          if (src === this.root) fail("EBUSY", "cannot move the root");
          // newDir must not be src or inside it (checked first, as Linux does)
          for (let d = newDir, hops = 0; ; hops++) {
            if (d === src) fail("EINVAL", "cannot move a directory into itself");
            if (d === this.root || hops > 1 << 20) break;
            d = u32[(this._ib(d) >>> 2) + L.I_PARENT];
          }
        }
        nameScratch.set(newBytes);
        let ns = this._dtFind(u32[(ndb >>> 2) + L.I_EXTENT], nlen, nhash);
        let dst = 0;
        if (ns >= 0) {
          const ne = u32[(ns >>> 2) + 1];
          dst = u32[(ne >>> 2) + L.DE_INO];
          if (dst === src) return; // same file: POSIX says do nothing
          const dmode = u32[(this._ib(dst) >>> 2) + L.I_MODE];
          if (srcDir && !isDirMode(dmode)) fail("ENOTDIR", `${JSON.stringify(newName)} is not a directory`);
          if (!srcDir && isDirMode(dmode)) fail("EISDIR", `${JSON.stringify(newName)} is a directory`);
          if (isDirMode(dmode)) {
            const t = u32[(this._ib(dst) >>> 2) + L.I_EXTENT];
            if (u32[(t >>> 2) + L.DT_COUNT] !== 0) fail("ENOTEMPTY", `${JSON.stringify(newName)} is not empty`);
          }
        }
        // Allocate first (new entry, maybe a bigger table); nothing is changed yet.
        if (ns < 0) {
          this._dtReserve(ndb);
          nameScratch.set(newBytes);
          ns = this._dtFind(u32[(ndb >>> 2) + L.I_EXTENT], nlen, nhash);
        }
        nameScratch.set(newBytes);
        const ne = this._dentryAlloc(src, nlen, nhash);
        // Link the new name, dropping any replaced inode.
        const nt = u32[(ndb >>> 2) + L.I_EXTENT];
        if (ns >= 0) {
          const old = u32[(ns >>> 2) + 1];
          u32[(ns >>> 2) + 1] = ne;
          this._free(old - L.HDR);
          const dwr = this._ib(dst) >>> 2;
          if (isDirMode(u32[dwr + L.I_MODE])) {
            u32[(ndb >>> 2) + L.I_NLINK]--;
            u32[dwr + L.I_DENTRY] = 0;
          }
          Atomics.store(u32, dwr + L.I_NLINK, 0);
          this._touch(this._ib(dst), false, true);
          this._maybeFree(dst);
        } else {
          this._dtPut(nt, -1 - ns, nhash, ne);
        }
        // Unlink the old name. (Find it again: the table may have moved.)
        nameScratch.set(textEncoder.encode(oldName));
        const os2 = this._dtFind(u32[(odb >>> 2) + L.I_EXTENT], olen, ohash);
        const oe2 = u32[(os2 >>> 2) + 1];
        if (oe2 === ne) fail("EIO", "rename found its own new entry (corrupt table)");
        this._dtDelete(odb, os2);
        if (srcDir) {
          u32[sw + L.I_DENTRY] = ne;
          if (oldDir !== newDir) {
            u32[sw + L.I_PARENT] = newDir;
            u32[(odb >>> 2) + L.I_NLINK]--;
            u32[(ndb >>> 2) + L.I_NLINK]++;
          }
        }
        this._touch(this._ib(src), false, true);
        this._touch(odb, true, true);
        this._touch(ndb, true, true);
        u32[L.SB_CHANGE]++;
      } finally {
        this._wunlock();
      }
    }

    /**
     * Names in directory (ino, gen), without "." and "..". META read lock.
     * @throws {PoolError} ENOENT, ENOTDIR
     */
    readdir(ino, gen) {
      this._rlock();
      try {
        const db = this._liveDir(ino, gen);
        const u32 = this.u32;
        const t = u32[(db >>> 2) + L.I_EXTENT];
        const slots = u32[(t >>> 2) + L.DT_SLOTS];
        const names = [];
        for (let i = 0; i < slots; i++) {
          const e = u32[((t + L.DT_HDR + i * L.DT_SLOT_BYTES) >>> 2) + 1];
          if (e > L.SLOT_DELETED) names.push(decodeBytes(this.u8, e + L.DE_NAME, u32[(e >>> 2) + L.DE_LEN]));
        }
        return names;
      } finally {
        this._runlock();
      }
    }

    /** Target of symlink (ino, gen). @throws {PoolError} ENOENT, EINVAL (not a link) */
    readlink(ino, gen) {
      this._rlock();
      try {
        const b = this._live(ino, gen);
        const w = b >>> 2;
        if (!isLnkMode(this.u32[w + L.I_MODE])) fail("EINVAL", `inode ${ino} is not a symlink`);
        return decodeBytes(this.u8, this.u32[w + L.I_EXTENT], this.u32[w + L.I_SIZE]);
      } finally {
        this._runlock();
      }
    }

    /**
     * Attributes of (ino, gen). Sizes in bytes, times in ms. META read lock.
     * @returns {{ino, mode, nlink, size, atime, mtime, ctime}}
     * @throws {PoolError} ENOENT (stale handle)
     */
    getattr(ino, gen) {
      this._rlock();
      try {
        const b = this._live(ino, gen);
        const w = b >>> 2;
        const f = b >>> 3;
        const u32 = this.u32;
        return {
          ino,
          mode: u32[w + L.I_MODE],
          nlink: u32[w + L.I_NLINK],
          size: u32[w + L.I_SIZE],
          atime: this.f64[f + L.I_ATIME],
          mtime: this.f64[f + L.I_MTIME],
          ctime: this.f64[f + L.I_CTIME],
        };
      } finally {
        this._runlock();
      }
    }

    /** Current mode of (ino, gen), or 0 if the handle is stale. META read lock. */
    modeOf(ino, gen) {
      this._rlock();
      try {
        const w = this._ib(ino) >>> 2;
        return this.u32[w + L.I_GEN] === gen ? this.u32[w + L.I_MODE] : 0;
      } finally {
        this._runlock();
      }
    }

    /**
     * Set mode permission bits and/or times (ms). META write lock.
     * @param {{mode?:number, atime?:number, mtime?:number, ctime?:number}} attr
     * @throws {PoolError} ENOENT
     */
    setattr(ino, gen, attr) {
      this._wlock();
      try {
        const b = this._live(ino, gen);
        const w = b >>> 2;
        const f = b >>> 3;
        if (attr.mode != null) {
          const cur = this.u32[w + L.I_MODE];
          this.u32[w + L.I_MODE] = ((cur & L.S_IFMT) | (attr.mode & 0o7777)) >>> 0;
        }
        if (attr.atime != null) this.f64[f + L.I_ATIME] = +attr.atime;
        if (attr.mtime != null) this.f64[f + L.I_MTIME] = +attr.mtime;
        this.f64[f + L.I_CTIME] = attr.ctime != null ? +attr.ctime : Date.now();
      } finally {
        this._wunlock();
      }
    }

    /**
     * Path of directory (ino, gen) from the root, by PARENT/DENTRY links, e.g. "/a/b";
     * null if it was removed. META read lock.
     */
    dirPath(ino, gen) {
      this._rlock();
      try {
        const w0 = this._ib(ino) >>> 2;
        if (this.u32[w0 + L.I_GEN] !== gen || !isDirMode(this.u32[w0 + L.I_MODE])) return null;
        const parts = [];
        let d = ino;
        for (let hops = 0; d !== this.root; hops++) {
          const w = this._ib(d) >>> 2;
          const e = this.u32[w + L.I_DENTRY];
          if (!e || this.u32[w + L.I_NLINK] === 0 || hops > 4096) return null;
          parts.push(decodeBytes(this.u8, e + L.DE_NAME, this.u32[(e >>> 2) + L.DE_LEN]));
          d = this.u32[w + L.I_PARENT];
        }
        return "/" + parts.reverse().join("/");
      } finally {
        this._runlock();
      }
    }

    // ---- public: content ------------------------------------------------------

    /**
     * Pin (ino, gen) for content access: called at open. META read lock.
     * @throws {PoolError} ENOENT (stale)
     */
    open(ino, gen) {
      this._rlock();
      try {
        const w = this._live(ino, gen) >>> 2;
        Atomics.add(this.u32, w + L.I_OPEN, 1);
      } finally {
        this._runlock();
      }
    }

    /** Drop a pin; the last pin of an unlinked inode frees it. */
    close(ino, gen) {
      this._ensure();
      const w = this._ib(ino) >>> 2;
      if (this.u32[w + L.I_GEN] !== gen) throw new Error(`extmemfs: close of stale inode ${ino}`);
      const prev = Atomics.sub(this.u32, w + L.I_OPEN, 1);
      if (prev === 0) {
        Atomics.add(this.u32, w + L.I_OPEN, 1);
        throw new Error(`extmemfs: close of inode ${ino} that is not open`);
      }
      if (prev === 1 && Atomics.load(this.u32, w + L.I_NLINK) === 0) {
        this._wlock();
        try {
          const w2 = this._ib(ino) >>> 2;
          if (this.u32[w2 + L.I_GEN] === gen && this.u32[w2 + L.I_MODE] !== 0) this._maybeFree(ino);
        } finally {
          this._wunlock();
        }
      }
    }

    /**
     * Copy up to `len` bytes at file offset `pos` into dst[dstOff..]. The inode must be
     * pinned (open). Stripe read lock. Returns the byte count (0 at or past the end).
     * @param {function(number, number, number)} [copyOut] copyOut(dstOff, poolOffset, n)
     *   does the copy instead of dst.set (a faster engine path, e.g. wasm memory.copy)
     */
    read(ino, gen, dst, dstOff, len, pos, copyOut) {
      const stripe = this._stripe(ino);
      this.locks.readLock(stripe);
      try {
        this._ensure();
        const w = this._ib(ino) >>> 2;
        const size = this.u32[w + L.I_SIZE];
        if (pos >= size || len <= 0) return 0;
        const n = Math.min(len, size - pos);
        const ext = this._extent(ino, w, size);
        if (n >= L.BULK_COPY) this._copyBegin();
        if (copyOut) copyOut(dstOff, ext + pos, n);
        else dst.set(this.u8.subarray(ext + pos, ext + pos + n), dstOff);
        if (n >= L.BULK_COPY) this._copyEnd();
        return n;
      } finally {
        this.locks.readUnlock(stripe);
      }
    }

    /**
     * Write src[srcOff, srcOff+len) at file offset `pos` (at the end if `append`),
     * zero-filling any gap. The inode must be pinned. Stripe write lock (META only
     * for allocation). Returns the offset just past the written bytes.
     * @throws {PoolError} ENOSPC (nothing written), EFBIG
     */
    write(ino, gen, src, srcOff, len, pos, append) {
      if (len === 0) return pos; // POSIX: writing nothing changes nothing, not even the size
      try {
        return this._write(ino, src, srcOff, len, pos, append, true);
      } catch (e) {
        if (e !== NEED_COMPACTION) throw e;
      }
      this.compact();
      return this._write(ino, src, srcOff, len, pos, append, false);
    }

    _write(ino, src, srcOff, len, pos, append, mayCompact) {
      const stripe = this._stripe(ino);
      this.locks.writeLock(stripe);
      try {
        this._ensure();
        const w = this._ib(ino) >>> 2;
        const size = this.u32[w + L.I_SIZE];
        if (append) pos = size;
        const end = pos + len;
        if (end > MAX_FILE) fail("EFBIG", `file would be ${end} bytes`);
        if (end > this.u32[w + L.I_CAP]) this._reserve(ino, end, size, false, mayCompact);
        const ext = this._extent(ino, w, end);
        if (pos > size) this.u8.fill(0, ext + size, ext + pos);
        if (len >= L.BULK_COPY) this._copyBegin();
        if (len) this.u8.set(src.subarray(srcOff, srcOff + len), ext + pos);
        if (len >= L.BULK_COPY) this._copyEnd();
        if (end > size) Atomics.store(this.u32, w + L.I_SIZE, end);
        this._touch(w * 4, true, true);
        return end;
      } finally {
        this.locks.writeUnlock(stripe);
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
      this._rlock();
      let w;
      try {
        w = this._live(ino, gen) >>> 2;
        const mode = this.u32[w + L.I_MODE];
        if (isDirMode(mode)) fail("EISDIR", `inode ${ino} is a directory`);
        if (!isRegMode(mode)) fail("EINVAL", `inode ${ino} is not a regular file`);
        Atomics.add(this.u32, w + L.I_OPEN, 1);
      } finally {
        this._runlock();
      }
      try {
        try {
          this._truncate(ino, newSize, true);
        } catch (e) {
          if (e !== NEED_COMPACTION) throw e;
          this.compact();
          this._truncate(ino, newSize, false);
        }
      } finally {
        this.close(ino, gen);
      }
    }

    _truncate(ino, newSize, mayCompact) {
      const stripe = this._stripe(ino);
      this.locks.writeLock(stripe);
      try {
        this._ensure();
        const w = this._ib(ino) >>> 2;
        const size = this.u32[w + L.I_SIZE];
        if (newSize > size) {
          if (newSize > this.u32[w + L.I_CAP]) this._reserve(ino, newSize, size, true, mayCompact);
          const ext = this.u32[w + L.I_EXTENT];
          this.u8.fill(0, ext + size, ext + newSize);
        }
        Atomics.store(this.u32, w + L.I_SIZE, newSize);
        const cap = this.u32[w + L.I_CAP];
        // Give back slack above an eighth of the new size (in place: no copy).
        const slack = cap - newSize;
        if (newSize < size && (newSize === 0 ? cap > 0 : slack > 4096 && slack > newSize / 8)) {
          this._wlock();
          try {
            const ext = this.u32[w + L.I_EXTENT];
            if (newSize === 0) {
              this._free(ext - L.HDR);
              this.u32[w + L.I_EXTENT] = 0;
              this.u32[w + L.I_CAP] = 0;
            } else {
              const nb = this._shrinkInPlace(ext - L.HDR, blockFor(newSize));
              this.u32[w + L.I_CAP] = nb - L.HDR - L.FTR;
            }
          } finally {
            this._wunlock();
          }
        }
        this._touch(w * 4, true, true);
      } finally {
        this.locks.writeUnlock(stripe);
      }
    }

    /**
     * Make inode's extent hold at least `need` bytes, keeping `size` bytes of content.
     * Stripe write lock held; takes META. Grows in place when the next block is free
     * (or the Memory can grow behind it); otherwise moves, copying outside META.
     */
    _reserve(ino, need, size, exact, mayCompact) {
      const u32 = this.u32;
      this._wlock();
      let from = 0;
      let to = 0;
      let w;
      try {
        w = this._ib(ino) >>> 2;
        const ext = u32[w + L.I_EXTENT];
        const cap = u32[w + L.I_CAP];
        // Headroom of a quarter keeps appends amortised O(1) without much slack.
        const want = exact ? need : Math.min(MAX_FILE, Math.max(need, cap + Math.floor(cap / 4)));
        if (ext) {
          const q = this._growInPlace(ext - L.HDR, blockFor(need), blockFor(want), size, mayCompact);
          if (q) {
            u32[w + L.I_EXTENT] = q + L.HDR;
            u32[w + L.I_CAP] = this._bsize(q) - L.HDR - L.FTR;
            return;
          }
        }
        let p = 0;
        if (ext && size >= BIG_FILE && !exact) {
          // A big file that cannot grow where it is would soon be boxed in again by
          // its neighbours (two files growing side by side keep moving each other).
          // Move it, with room to double, into the middle of the largest free block,
          // so that it and whatever precedes the hole can both go on growing in place.
          const roomy = blockFor(Math.min(MAX_FILE, Math.max(need, cap * 2)));
          const big = this._largestFree();
          const bsize = big ? this._bsize(big) : 0;
          if (bsize >= 2 * roomy + L.MIN_BLOCK) {
            // Mid-way: the block before the hole keeps half of it to grow into.
            const off = Math.max(L.MIN_BLOCK, Math.floor((bsize - roomy) / 16) * 8);
            p = this._takeFreeAt(big, off, roomy, L.K_DATA);
          } else if (bsize >= roomy) {
            p = this._takeFree(big, roomy, L.K_DATA);
          }
        }
        if (!p) p = this._alloc(want, L.K_DATA, mayCompact);
        if (!p && want > need) p = this._alloc(need, L.K_DATA, mayCompact);
        if (!p && mayCompact) {
          // No free block fits. If free space is plentiful (or the pool cannot grow
          // enough), the cause is fragmentation: compact, then try again.
          if (this._fragmented(blockFor(need))) throw NEED_COMPACTION;
          p = this._alloc(want, L.K_DATA) || (want > need && this._alloc(need, L.K_DATA));
        }
        if (!p) fail("ENOSPC", `no room for ${need} bytes (pool maximum ${this.maxBytes} bytes)`);
        to = p + L.HDR;
        if (!ext || size === 0) {
          if (ext) this._free(ext - L.HDR);
          u32[w + L.I_EXTENT] = to;
          u32[w + L.I_CAP] = this._bsize(p) - L.HDR - L.FTR;
          return;
        }
        if (size <= SMALL_MOVE) {
          this.u8.copyWithin(to, ext, ext + size);
          this._free(ext - L.HDR);
          u32[w + L.I_EXTENT] = to;
          u32[w + L.I_CAP] = this._bsize(p) - L.HDR - L.FTR;
          return;
        }
        from = ext;
        u32[w + L.I_MOVING] = to; // claimed by this inode while we copy outside META
      } finally {
        this._wunlock();
      }
      // Bulk copy under the stripe lock only: other files' I/O goes on meanwhile.
      this._ensure();
      this._copyBegin();
      this.u8.copyWithin(to, from, from + size);
      this._copyEnd();
      this._wlock();
      try {
        u32[w + L.I_MOVING] = 0;
        this._free(from - L.HDR);
        u32[w + L.I_EXTENT] = to;
        u32[w + L.I_CAP] = this._bsize(to - L.HDR) - L.HDR - L.FTR;
      } finally {
        this._wunlock();
      }
    }

    /**
     * Slide every used block towards the heap start so that all free space becomes
     * one block at the end. Stop-the-world: takes every stripe (in ascending order,
     * so two compactors cannot deadlock) and then META. Returns false, changing
     * nothing, if some used block has no owner (a corrupt pool).
     */
    compact() {
      let taken = 0;
      try {
        for (; taken < L.STRIPES; taken++) this.locks.writeLock(L.LOCKS_AT + taken * L.LOCK_BYTES);
        this._wlock();
        try {
          return this._compactLocked();
        } finally {
          this._wunlock();
        }
      } finally {
        while (taken > 0) this.locks.writeUnlock(L.LOCKS_AT + --taken * L.LOCK_BYTES);
      }
    }

    _compactLocked() {
      const u32 = this.u32;
      // Owners by block offset, kept symbolic (chunk k / inode / dir slot) because the
      // owner itself may move before the block it owns.
      const owners = new Map();
      const chunks = u32[L.SB_INODE_CHUNKS];
      for (let k = 0; k < chunks; k++) owners.set(u32[L.SB_CHUNK_DIR + k] - L.HDR, [0, k]);
      for (let ino = 1; ino < chunks * L.INODES_PER_CHUNK; ino++) {
        const w = this._ib(ino) >>> 2;
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
      const start = u32[L.SB_HEAP_START];
      const end = this.heapEnd;
      for (let p = start; p < end; p += this._bsize(p)) {
        if (this._bused(p) && !owners.has(p)) return false;
      }
      let dst = start;
      for (let p = start; p < end;) {
        const size = this._bsize(p);
        if (this._bused(p)) {
          if (p !== dst) {
            this.u8.copyWithin(dst, p, p + size);
            const np = dst + L.HDR;
            const o = owners.get(p);
            if (o[0] === 0) {
              u32[L.SB_CHUNK_DIR + o[1]] = np;
            } else if (o[0] === 1) {
              u32[(this._ib(o[1]) >>> 2) + L.I_EXTENT] = np;
            } else {
              const t = u32[(this._ib(o[1]) >>> 2) + L.I_EXTENT];
              u32[((t + L.DT_HDR + o[2] * L.DT_SLOT_BYTES) >>> 2) + 1] = np;
              const child = u32[(np >>> 2) + L.DE_INO];
              const cw = this._ib(child) >>> 2;
              if (isDirMode(u32[cw + L.I_MODE])) u32[cw + L.I_DENTRY] = np;
            }
          }
          dst += size;
        }
        p += size;
      }
      for (let b = 0; b < L.NBINS; b++) u32[L.SB_BINS + b] = 0;
      u32[L.SB_BIN_MAP] = 0;
      if (dst < end) {
        this._setBlock(dst, end - dst, 0, L.K_FREE);
        this._binInsert(dst, end - dst);
      }
      u32[L.SB_COMPACTIONS]++;
      return true;
    }

    /**
     * The extent of inode `ino` (record at word w), checked to hold `bytes` inside the heap, so a
     * corrupt inode gives EIO instead of reading or writing another file's data.
     */
    _extent(ino, w, bytes) {
      const ext = this.u32[w + L.I_EXTENT];
      const cap = this.u32[w + L.I_CAP];
      if (bytes > cap || (cap && (ext < this.u32[L.SB_HEAP_START] || ext + cap > this.heapEnd))) {
        fail("EIO", `inode ${ino} has a corrupt extent (run Pool.check() for details)`);
      }
      return ext;
    }

    /** Count a bulk copy in progress (COPIERS) and keep COPY_PEAK. No lock needed. */
    _copyBegin() {
      const now = Atomics.add(this.i32, L.SB_COPIERS, 1) + 1;
      for (let peak = Atomics.load(this.i32, L.SB_COPY_PEAK); now > peak;) {
        const seen = Atomics.compareExchange(this.i32, L.SB_COPY_PEAK, peak, now);
        if (seen === peak) break;
        peak = seen;
      }
    }
    _copyEnd() {
      Atomics.sub(this.i32, L.SB_COPIERS, 1);
    }

    // ---- public: whole pool ---------------------------------------------------

    /**
     * Usage figures in bytes and counts. META read lock.
     * @returns {{size, maximum_size, used_bytes, free_bytes, available_bytes, files,
     *   directories, symlinks, inodes, largest_free_extent, layout_version,
     *   peak_parallel_copies, compactions}} peak_parallel_copies: the most threads ever
     *   inside a bulk copy at once; compactions: times the heap was compacted
     */
    stats() {
      this._rlock();
      try {
        const u32 = this.u32;
        let largest = 0;
        const map = u32[L.SB_BIN_MAP];
        if (map) {
          const top = 31 - Math.clz32(map);
          for (let p = u32[L.SB_BINS + top], n = 0; p && n < 1 << 20; p = u32[(p >>> 2) + L.B_NEXT], n++) {
            largest = Math.max(largest, this._bsize(p) - L.HDR - L.FTR);
          }
        }
        const size = this.heapEnd;
        return {
          size,
          maximum_size: this.maxBytes,
          used_bytes: u32[L.SB_HEAP_START] + u32[L.SB_USED_BYTES],
          free_bytes: u32[L.SB_FREE_BYTES],
          available_bytes: u32[L.SB_FREE_BYTES] + (this.maxBytes - size),
          files: u32[L.SB_N_FILES],
          directories: u32[L.SB_N_DIRS],
          symlinks: u32[L.SB_N_LINKS],
          inodes: u32[L.SB_INODES_LIVE],
          largest_free_extent: largest,
          layout_version: u32[L.SB_VERSION],
          peak_parallel_copies: Atomics.load(this.i32, L.SB_COPY_PEAK),
          compactions: u32[L.SB_COMPACTIONS],
        };
      } finally {
        this._runlock();
      }
    }

    /** statfs figures (4096-byte blocks) for the whole pool, growth room included. */
    statfs() {
      const s = this.stats();
      const bsize = 4096;
      const files = L.MAX_CHUNKS * L.INODES_PER_CHUNK;
      return {
        bsize,
        frsize: bsize,
        blocks: Math.floor(s.maximum_size / bsize),
        bfree: Math.floor(s.available_bytes / bsize),
        bavail: Math.floor(s.available_bytes / bsize),
        files,
        ffree: files - s.inodes,
        namelen: L.NAME_MAX,
      };
    }

    /**
     * Walk the whole pool and list every violated invariant (layout.js); [] if sound.
     * META write lock (waits for namespace changes to finish).
     */
    validate() {
      this._wlock();
      try {
        return modules.validate.validate(this, L);
      } finally {
        this._wunlock();
      }
    }
  }

  return { Pool, PoolError, fnv1a, checkMemory, describe };
});
