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
//                 allocator. Readers: lookup, getattr, readdir, readlink, statfs.
//                 Writers: every namespace change, every allocation or free, open and
//                 close (pins are recorded in the instance's pin table too).
//   stripe(ino)   one of STRIPES read-write locks, chosen by inode number, guarding a
//                 file's content and its SIZE/EXTENT/CAP. read() holds it shared;
//                 write()/truncate() exclusively.
//   Order: a stripe before META, never the other way round. Bulk copies of file data
//   (reads, writes, extent moves) run under the stripe only, so workers copying
//   different files proceed in parallel.
//   Content is reached only through a pin (OPEN > 0, taken under META): an inode whose
//   last name is removed is freed when its last pin goes, by whoever drops it.
//
// Surviving killed instances: each Pool object takes an instance slot; every lock hold
// names its slot; every metadata store under META is a logged transaction (see
// "transactions" and "instances" below, and layout.js). A waiter whose blocker's
// heartbeat stands still for the lease undoes the blocker's transaction and releases
// what it held (_recover).
(function (modules) {
  "use strict";
  const L = modules.layout;
  const { Locks, EvictedError, detectCanBlock, slotWord } = modules.locks;

  const PAGE = L.PAGE;
  const META = L.SB_META_LOCK;
  const MAX_FILE = 0xffffffff; // SIZE is a u32; the pool itself is below 4 GiB
  const SMALL_MOVE = 65536; // extent moves below this copy under META (cheaper)
  const SLIDE_MAX = 16 << 20; // files up to this may slide back into free space under META
  const BIG_FILE = 1 << 20; // files at least this big move to the heap's end when they move
  // Thrown (never escapes the pool) when an allocation should wait for a compaction.
  const NEED_COMPACTION = { reason: "fragmented: compact and retry" };
  const LOG_COUNT = L.LOG_AT >> 2; // word index of the undo log's COUNT
  const LOG_E = (L.LOG_AT + L.LOG_HDR) >> 2; // word index of its first entry
  const LOG_CAP = (L.HEAP_START - L.LOG_AT - L.LOG_HDR) >> 2; // words of entries
  const MOVE_WORDS = 6; // [dst, src, len, chunk, done, MOVE_TAG]
  const BEAT_BYTES = 16 << 20; // long copies beat the heartbeat at least this often
  const LONG_COPY = 4 * BEAT_BYTES; // reads and writes longer than this go in pieces
  /** Thrown by the crash hook (tests only): the instance is dead from here on. */
  const KILLED = Object.freeze({ killed: "extmemfs test kill" });

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
      this._inTx = false;
      this._logN = 0;
      this._deferred = [];
      this._pending = new Set();
      this._watch = { slot: -1, hb: 0, since: 0 };
      this.detached = false;
      this._claimSlot();
      this.locks.onStall = (holder) => this._onStall(holder);
      this._holdWebLock();
    }

    /** Name of the liveness Web Lock of instance (slot, gen) of this pool. */
    _webLockName(slot, gen) {
      return `extmemfs:${this.u32[L.SB_UID].toString(16)}:${slot}:${gen}`;
    }

    /**
     * Where the Web Locks API exists (browsers, pages and workers), hold a lock named
     * after this instance for as long as it is attached. The browser releases it when
     * the worker is terminated or crashes, so sweep() in any other instance can tell a
     * dead instance from an idle one, even if it held no pool lock.
     */
    _holdWebLock() {
      const nav = globalThis.navigator;
      const wl = nav && nav.locks;
      if (!wl || typeof wl.request !== "function") return;
      const sw = this.locks.sw;
      const gen = this.gen;
      const i32 = this.i32;
      this._webLockHeld = new Promise((resolve) => {
        this._releaseWebLock = resolve;
      });
      wl.request(this._webLockName(this.slot, gen), () => {
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
      const nav = globalThis.navigator;
      const wl = nav && nav.locks;
      if (!wl || typeof wl.query !== "function") return [];
      const snap = await wl.query();
      const held = new Set((snap.held || []).map((l) => l.name));
      const i32 = this.i32;
      const out = [];
      const high = Math.min(L.NSLOTS, Atomics.load(i32, L.SB_SLOTS_HIGH));
      for (let s = 0; s < high; s++) {
        if (s === this.slot) continue;
        const sw = slotWord(s);
        const gen = Atomics.load(i32, sw + L.S_GEN);
        if (Atomics.load(i32, sw + L.S_STATE) === L.SLOT_FREE) continue;
        if (!(Atomics.load(i32, sw + L.S_FLAGS) & L.SF_WEBLOCK)) continue; // never held one
        if (held.has(this._webLockName(s, gen))) continue;
        if (await this.evictWhenStopped(gen * 256 + s)) out.push(gen * 256 + s);
      }
      return out;
    }

    /** Take a free instance slot (the one with the lowest index). */
    _claimSlot() {
      const i32 = this.i32;
      for (let s = 0; s < L.NSLOTS; s++) {
        const sw = slotWord(s);
        if (Atomics.compareExchange(i32, sw + L.S_STATE, L.SLOT_FREE, L.SLOT_LIVE) !== L.SLOT_FREE) continue;
        const gen = ((i32[sw + L.S_GEN] + 1) & 0x7fffff) || 1;
        Atomics.store(i32, sw + L.S_GEN, gen);
        Atomics.store(i32, sw + L.S_RLOCK, 0);
        Atomics.store(i32, sw + L.S_PINS, 0);
        Atomics.store(i32, sw + L.S_MOVE_INO, 0);
        Atomics.store(i32, sw + L.S_FLAGS, 0);
        this.f64[(sw >>> 1) + L.S_SINCE] = Date.now();
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
      if (opts.leaseMs != null) {
        const ms = opts.leaseMs;
        if (typeof ms !== "number" || !(ms >= 10 && ms <= 600000) || ms !== Math.floor(ms)) {
          fail("EINVAL", `lease must be a whole number of milliseconds from 10 to 600000, got ${ms}`);
        }
        new Uint32Array(memory.buffer)[L.SB_LEASE_MS] = ms;
      }
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
      u32[L.SB_LEASE_MS] = L.DEFAULT_LEASE_MS;
      u32[L.SB_UID] = (Math.random() * 0x100000000) >>> 0;
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
    /** Take META for writing and open a transaction (undoing a dead holder's first). */
    _wlock() {
      this.locks.writeLock(META);
      this._ensure();
      this._txBegin();
    }
    /** Commit the transaction and release META. */
    _wunlock() {
      if (this._dead) return;
      try {
        if (this._inTx) this._commit();
        if (this._crashAt !== undefined) this._hook();
      } finally {
        this._inTx = false;
        this.locks.writeUnlock(META);
      }
    }
    /** Undo the open transaction (an operation failed half-way): nothing it did stays. */
    _abort() {
      if (this._inTx && !this._dead) {
        this._rollback();
        this._deferred.length = 0;
      }
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
      } catch (e) {
        this._abort();
        throw e;
      } finally {
        this._wunlock();
      }
    }
    _assertMetaWrite() {
      if (this.slot !== undefined && !this.locks.isWriteHeld(META)) {
        throw new Error("extmemfs: META write lock not held");
      }
    }

    // ---- transactions: the undo log ------------------------------------------
    //
    // Every metadata store under META write goes through _st/_stA/_stf, which first
    // append [word, old value] to the log in the pool. A holder that dies leaves the
    // log non-empty; the next META writer undoes it (_txBegin). See layout.js.

    _txBegin() {
      if (Atomics.load(this.u32, LOG_COUNT) !== 0) this._rollback();
      this._inTx = true;
      this._logN = 0;
      this._deferred.length = 0;
      if (this._pending.size) this._recoverPending();
    }

    /** Do the frees put off to the end of the transaction, then empty the log. */
    _commit() {
      const d = this._deferred;
      for (let i = 0; i < d.length; i++) this._freeNow(d[i]);
      d.length = 0;
      Atomics.store(this.u32, LOG_COUNT, 0);
      this._logN = 0;
    }

    _logFull() {
      throw new PoolError("EIO", `undo log full (${LOG_CAP} words): operation too large, undone`);
    }

    /**
     * Test hook: with `_crashAt` set to k, the instance "dies" at the k-th crash
     * point (before each logged store, each chunk of a move or copy, after each
     * commit): it throws KILLED and from then on does nothing, not even the unlocks
     * in finally blocks, like a worker terminated there. Unset in normal use.
     */
    _hook() {
      if (this._crashAt !== undefined && --this._crashAt <= 0) {
        this._crashAt = undefined;
        this._dead = true;
        this.locks.dead = true;
        throw KILLED;
      }
    }

    /** Log word i's current value (the caller is about to change it some other way). */
    _logW(i) {
      if (this._crashAt !== undefined) this._hook();
      if (!this._inTx) return;
      const u32 = this.u32;
      const n = this._logN;
      if (n + 2 > LOG_CAP) this._logFull();
      u32[LOG_E + n] = u32[i];
      u32[LOG_E + n + 1] = i;
      this._logN = n + 2;
      // A plain store: a worker is only ever stopped between statements, and its
      // stores reach other threads in program order well before anyone recovers
      // (that happens after its heartbeat has stood still, or after it was
      // terminated). Atomics.store here cost a fifth of a metadata operation.
      u32[LOG_COUNT] = n + 2;
    }
    /** Logged store of u32 word i. */
    _st(i, v) {
      if (this._inTx) this._logW(i);
      this.u32[i] = v;
    }
    /** Logged store of u32 word i, as an Atomics.store (for words read without locks). */
    _stA(i, v) {
      if (this._inTx) this._logW(i);
      Atomics.store(this.u32, i, v);
    }
    /** Logged store of f64 element fi. */
    _stf(fi, v) {
      if (this._inTx) {
        this._logW(fi * 2);
        this._logW(fi * 2 + 1);
      }
      this.f64[fi] = v;
    }

    /**
     * Copy bytes [src, src+len) down to dst (< src) so that the copy can be undone:
     * in chunks no longer than src - dst (a chunk never overwrites its own source),
     * recording the bytes done after each chunk.
     */
    _moveDown(dst, src, len) {
      if (len <= 0 || dst === src) return;
      if (!(dst < src)) throw new Error(`extmemfs: _moveDown ${dst} > ${src}`);
      const u32 = this.u32;
      const chunk = Math.min(src - dst, len, BEAT_BYTES);
      let at = -1;
      if (this._inTx) {
        const n = this._logN;
        if (n + MOVE_WORDS > LOG_CAP) this._logFull();
        u32[LOG_E + n] = dst;
        u32[LOG_E + n + 1] = src;
        u32[LOG_E + n + 2] = len;
        u32[LOG_E + n + 3] = chunk;
        u32[LOG_E + n + 4] = 0;
        u32[LOG_E + n + 5] = L.MOVE_TAG;
        this._logN = n + MOVE_WORDS;
        Atomics.store(u32, LOG_COUNT, n + MOVE_WORDS);
        at = LOG_E + n + 4;
      }
      const u8 = this.u8;
      let sinceBeat = 0;
      for (let done = 0; done < len;) {
        const c = Math.min(chunk, len - done);
        if (this._crashAt !== undefined) this._hook();
        u8.copyWithin(dst + done, src + done, src + done + c);
        done += c;
        if (at >= 0) Atomics.store(u32, at, done);
        if ((sinceBeat += c) >= BEAT_BYTES) {
          sinceBeat = 0;
          this.locks.pulse();
        }
      }
    }

    /**
     * Run copy(done, n) over [0, total) in pieces of BEAT_BYTES, bumping our heartbeat
     * between them: for copies so long that the others could take us for dead.
     */
    _inPieces(total, copy) {
      for (let done = 0; done < total; done += BEAT_BYTES) {
        if (done) this.locks.pulse();
        copy(done, Math.min(BEAT_BYTES, total - done));
      }
    }

    /** Undo the log newest first and empty it. META write lock held. */
    _rollback() {
      const u32 = this.u32;
      const u8 = this.u8;
      let n = Atomics.load(u32, LOG_COUNT);
      if (n > LOG_CAP) n = 0; // a corrupt count: nothing trustworthy to undo
      while (n > 0) {
        if (u32[LOG_E + n - 1] === L.MOVE_TAG && n >= MOVE_WORDS) {
          const e = LOG_E + n - MOVE_WORDS;
          const dst = u32[e];
          const src = u32[e + 1];
          const len = u32[e + 2];
          const chunk = u32[e + 3];
          const done = Math.min(u32[e + 4], len);
          if (chunk > 0 && src + len <= u8.length) {
            // Chunks put back last to first: each one's copy is still intact at dst.
            for (let i = Math.ceil(done / chunk) - 1; i >= 0; i--) {
              const off = i * chunk;
              const c = Math.min(chunk, len - off);
              u8.copyWithin(src + off, dst + off, dst + off + c);
            }
          }
          n -= MOVE_WORDS;
        } else {
          const i = u32[LOG_E + n - 1];
          if (i < u32.length) u32[i] = u32[LOG_E + n - 2];
          n -= 2;
        }
      }
      Atomics.store(u32, LOG_COUNT, 0);
      this._logN = 0;
    }

    // ---- instances: liveness, recovery, detach, evict --------------------------

    /** Called by the locks while waiting, with the slot of the holder in the way. */
    _onStall(holder) {
      if (holder < 0 || holder === this.slot || holder >= L.NSLOTS) return;
      const i32 = this.i32;
      const sw = slotWord(holder);
      const state = Atomics.load(i32, sw + L.S_STATE);
      const hb = Atomics.load(i32, sw + L.S_HB);
      const now = Date.now();
      const wt = this._watch;
      if (wt.slot !== holder || wt.hb !== hb || wt.state !== state) {
        wt.slot = holder;
        wt.hb = hb;
        wt.state = state;
        wt.since = now;
        if (state !== L.SLOT_DEAD) return; // half-recovered: finish at once
      } else if (now - wt.since < Atomics.load(this.u32, L.SB_LEASE_MS)) {
        return;
      }
      wt.slot = -1;
      this._recover(holder);
    }

    /**
     * Clean up after dead instance slot x: undo its open transaction, drop the move it
     * was making, release its pins, then free its locks and its slot. Safe to call
     * again for a slot half-recovered by someone who died meanwhile.
     */
    _recover(x) {
      const i32 = this.i32;
      const sw = slotWord(x);
      if (this.locks.draining) {
        // We hold META's STATE and wait for readers, x among them: dropping its read
        // hold is all that can be done now; the rest waits until META is fully ours.
        if (Atomics.load(i32, sw + L.S_STATE) !== L.SLOT_FREE) {
          const held = Atomics.load(i32, sw + L.S_RLOCK);
          if (held && Atomics.compareExchange(i32, sw + L.S_RLOCK, held, 0) === held) this.locks._wake(held >> 2);
          this._pending.add(x);
        }
        return;
      }
      const mw = META >> 2;
      const me = -this.locks.id;
      if (Atomics.load(i32, mw + L.LK_STATE) === me) {
        throw new Error("extmemfs: recovery started while this instance holds META");
      }
      this._pending.add(x);
      if (Atomics.compareExchange(i32, mw + L.LK_STATE, -(x + 1), me) === -(x + 1)) {
        this.locks.drain(META); // META was x's: it is ours now, undo log and all
      } else {
        this.locks.writeLock(META);
      }
      try {
        this._ensure();
        this._txBegin(); // undoes a dead holder's log, then recovers _pending (x among them)
      } catch (err) {
        this._abort();
        throw err;
      } finally {
        this._wunlock();
      }
    }

    /** Recover every slot in _pending. META write held, transaction open. */
    _recoverPending() {
      for (const x of this._pending) {
        this._pending.delete(x);
        if (x !== this.slot) this._recoverLocked(x);
      }
    }

    /**
     * Release everything slot x holds. META write held with a transaction open, and
     * x's own transaction (if any) already undone. Commits as it goes.
     */
    _recoverLocked(x, detaching) {
      const u32 = this.u32;
      const i32 = this.i32;
      const sw = slotWord(x);
      const state = Atomics.load(i32, sw + L.S_STATE);
      if (state === L.SLOT_FREE) return;
      if (state === L.SLOT_LIVE) {
        // An extent move it was copying outside META: the old extent is still whole.
        const mi = u32[sw + L.S_MOVE_INO];
        if (mi && (mi >>> 10) < u32[L.SB_INODE_CHUNKS]) {
          const w = this._ib(mi) >>> 2;
          const moving = u32[w + L.I_MOVING];
          if (moving && isRegMode(u32[w + L.I_MODE])) {
            this._free(moving - L.HDR);
            this._st(w + L.I_MOVING, 0);
          }
        }
        this._st(sw + L.S_MOVE_INO, 0);
        this._commit();
        // Its pins, one transaction each (a table may be long; the log is bounded).
        const pt = u32[sw + L.S_PINS];
        if (pt) {
          const n = Math.min(u32[(pt >>> 2) + L.PT_N], u32[(pt >>> 2) + L.PT_CAP]);
          for (let k = 0; k < n; k++) {
            const ew = (pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2;
            const count = u32[ew + 2];
            if (!count) continue;
            const ino = u32[ew];
            if (ino > 0 && (ino >>> 10) < u32[L.SB_INODE_CHUNKS]) {
              const w = this._ib(ino) >>> 2;
              if (u32[w + L.I_GEN] === u32[ew + 1] && u32[w + L.I_MODE] !== 0) {
                this._stA(w + L.I_OPEN, Math.max(0, u32[w + L.I_OPEN] - count));
                this._maybeFree(ino);
              }
            }
            this._st(ew + 2, 0);
            this._commit();
          }
          this._free(pt - L.HDR);
          this._st(sw + L.S_PINS, 0);
        }
        this._stA(sw + L.S_STATE, L.SLOT_DEAD);
        if (!detaching) this._st(L.SB_RECOVERIES, u32[L.SB_RECOVERIES] + 1);
        this._commit();
      }
      // Committed: now drop its holds (lock words are never logged or undone).
      const id = x + 1;
      for (let k = 0; k < L.STRIPES; k++) this._dropHold(L.LOCKS_AT + k * L.LOCK_BYTES, id);
      if (!detaching) this._dropHold(META, id); // (a detaching instance holds META itself)
      const held = Atomics.load(i32, sw + L.S_RLOCK);
      Atomics.store(i32, sw + L.S_RLOCK, 0);
      if (held) this.locks._wake(held >> 2);
      if (detaching) return; // the caller frees the slot once it released META
      Atomics.store(i32, sw + L.S_FLAGS, 0);
      Atomics.store(i32, sw + L.S_STATE, L.SLOT_FREE);
    }

    _dropHold(base, id) {
      const i32 = this.i32;
      const w = base >> 2;
      let woke = Atomics.compareExchange(i32, w + L.LK_STATE, -id, 0) === -id;
      woke = Atomics.compareExchange(i32, w + L.LK_WNEXT, id, 0) === id || woke;
      if (woke) this.locks._wake(w);
    }

    /**
     * Release this instance's pins and slot. Its open files become unusable; the
     * Pool object cannot be used afterwards. Idempotent.
     */
    detach() {
      if (this.detached) return;
      this._wlock();
      try {
        this._recoverLocked(this.slot, true);
      } catch (e) {
        this._abort();
        throw e;
      } finally {
        this._wunlock();
      }
      const sw = slotWord(this.slot);
      Atomics.store(this.i32, sw + L.S_FLAGS, 0);
      Atomics.store(this.i32, sw + L.S_STATE, L.SLOT_FREE);
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
      const { slot, gen } = this._parseId(id);
      if (!this._attached(slot, gen)) return false;
      this.locks.beat();
      if (stillMs > 0) {
        const still = this._stillWatch(slot, gen, stillMs, Math.max(Atomics.load(this.u32, L.SB_LEASE_MS), 2 * stillMs));
        const nap = this.locks.canBlock ? new Int32Array(new SharedArrayBuffer(4)) : null;
        while (!still()) {
          if (nap) Atomics.wait(nap, 0, 0, 5);
          else for (const t = Date.now(); Date.now() - t < 5;);
        }
        if (!this._attached(slot, gen)) return false;
      }
      this._recover(slot);
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
      const { slot, gen } = this._parseId(id);
      const still = this._stillWatch(slot, gen, stillMs, timeoutMs);
      while (!still()) await new Promise((r) => setTimeout(r, 10));
      return this.evict(id, 0);
    }

    /** Slot and generation of instance id `id`. @throws {PoolError} EINVAL */
    _parseId(id) {
      if (typeof id !== "number" || !(id >= 0) || id !== Math.floor(id) || id > 0xffffffff) {
        fail("EINVAL", `instance id must be a whole number, got ${id}`);
      }
      const slot = id % 256;
      if (slot >= L.NSLOTS) fail("EINVAL", `no instance slot ${slot} (the pool has ${L.NSLOTS})`);
      if (slot === this.slot) fail("EINVAL", "an instance cannot evict itself (use detach())");
      return { slot, gen: Math.floor(id / 256) };
    }

    /** True while instance (slot, gen) is attached (its slot not freed or retaken). */
    _attached(slot, gen) {
      const sw = slotWord(slot);
      return Atomics.load(this.i32, sw + L.S_GEN) === gen &&
        Atomics.load(this.i32, sw + L.S_STATE) !== L.SLOT_FREE;
    }

    /**
     * A watch on instance (slot, gen): each call of the returned function is true once
     * its heartbeat has stood still for `stillMs` or it is gone. A browser's
     * Worker.terminate() returns before the worker has stopped, and cleaning up after
     * an instance that still runs would undo work it is doing.
     * @throws {PoolError} EBUSY (from the returned function) if it beats for `timeoutMs`
     */
    _stillWatch(slot, gen, stillMs, timeoutMs) {
      const i32 = this.i32;
      const hw = slotWord(slot) + L.S_HB;
      const limit = Date.now() + timeoutMs;
      let hb = Atomics.load(i32, hw);
      let since = Date.now();
      return () => {
        if (!this._attached(slot, gen)) return true;
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
     * The attached instances: [{id, slot, self, state, open_pins, holds, since}].
     * `holds` lists the locks it holds ("meta", "stripe N", "read meta", ...).
     */
    instances() {
      const i32 = this.i32;
      const u32 = this.u32;
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
        let pins = 0;
        const pt = u32[sw + L.S_PINS];
        if (pt && pt + L.PT_HDR <= this.heapEnd) {
          const n = Math.min(u32[(pt >>> 2) + L.PT_N], u32[(pt >>> 2) + L.PT_CAP]);
          for (let k = 0; k < n; k++) pins += u32[((pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2) + 2];
        }
        out.push({
          id: Atomics.load(i32, sw + L.S_GEN) * 256 + s,
          slot: s,
          self: s === this.slot,
          state: state === L.SLOT_LIVE ? "live" : "dead",
          open_pins: pins,
          holds,
          since: this.f64[(sw >>> 1) + L.S_SINCE],
        });
      }
      return out;
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
      const head = (size + used) >>> 0;
      this._st(p >>> 2, head);
      this._st((p >>> 2) + 1, kind);
      this._st((p + size - 8) >>> 2, head);
      this._st((p + size - 4) >>> 2, kind);
    }
    _binInsert(p, size) {
      const u32 = this.u32;
      const b = binOf(size);
      const head = u32[L.SB_BINS + b];
      this._st((p >>> 2) + L.B_NEXT, head);
      this._st((p >>> 2) + L.B_PREV, 0);
      if (head) this._st((head >>> 2) + L.B_PREV, p);
      this._st(L.SB_BINS + b, p);
      this._st(L.SB_BIN_MAP, (u32[L.SB_BIN_MAP] | (1 << b)) >>> 0);
    }
    /**
     * Unlink free block p from its bin. Its own words (header, links, footer) are
     * logged too: whoever takes the block may overwrite them with payload unlogged.
     */
    _binRemove(p, size) {
      const u32 = this.u32;
      const b = binOf(size);
      const w = p >>> 2;
      if (this._inTx) {
        this._logW(w);
        this._logW(w + 1);
        this._logW(w + L.B_NEXT);
        this._logW(w + L.B_PREV);
        this._logW((p + size - 8) >>> 2);
        this._logW((p + size - 4) >>> 2);
      }
      const next = u32[w + L.B_NEXT];
      const prev = u32[w + L.B_PREV];
      if (prev) {
        this._st((prev >>> 2) + L.B_NEXT, next);
      } else {
        this._st(L.SB_BINS + b, next);
        if (!next) this._st(L.SB_BIN_MAP, (u32[L.SB_BIN_MAP] & ~(1 << b)) >>> 0);
      }
      if (next) this._st((next >>> 2) + L.B_PREV, prev);
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
      this._st(L.SB_USED_BYTES, this.u32[L.SB_USED_BYTES] + used);
      this._st(L.SB_FREE_BYTES, this.u32[L.SB_FREE_BYTES] - used);
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
      this._st(L.SB_USED_BYTES, this.u32[L.SB_USED_BYTES] + used);
      this._st(L.SB_FREE_BYTES, this.u32[L.SB_FREE_BYTES] - used);
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

    /**
     * Free block p. Inside a transaction the free happens at commit, so that no
     * block allocated later in the same transaction overwrites a payload that an
     * undo would need (a removed directory entry, an old directory table, ...).
     */
    _free(p) {
      if (this._inTx) this._deferred.push(p);
      else this._freeNow(p);
    }

    /** Free block p now, merging it with free neighbours. META write lock held. */
    _freeNow(p) {
      const u32 = this.u32;
      let size = this._bsize(p);
      this._st(L.SB_USED_BYTES, u32[L.SB_USED_BYTES] - size);
      this._st(L.SB_FREE_BYTES, u32[L.SB_FREE_BYTES] + size);
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
        this._st(L.SB_FREE_BYTES, this.u32[L.SB_FREE_BYTES] - tsize);
      }
      this._setBlock(p, size, 0, L.K_FREE);
      this._binInsert(p, size);
      this._st(L.SB_FREE_BYTES, this.u32[L.SB_FREE_BYTES] + size);
      this._stA(L.SB_HEAP_PAGES, newEnd / PAGE);
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
        // (Slides overlapping by far more than the gap would take too many chunks.)
        if (prev && prev + size + next >= need && content <= SLIDE_MAX && content <= prev * 4096) {
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
      if (prev) {
        // The slide overwrites p's header and footer: log them (the payload itself is
        // put back by undoing the move).
        this._logW(p >>> 2);
        this._logW((p >>> 2) + 1);
        this._logW((p + size - 8) >>> 2);
        this._logW((p + size - 4) >>> 2);
        this._moveDown(start + L.HDR, p + L.HDR, content);
      }
      if (avail > newSize) {
        const rest = start + newSize;
        this._setBlock(rest, avail - newSize, 0, L.K_FREE);
        this._binInsert(rest, avail - newSize);
      }
      this._setBlock(start, newSize, L.USED_BIT, kind);
      this._st(L.SB_USED_BYTES, this.u32[L.SB_USED_BYTES] + newSize - size);
      this._st(L.SB_FREE_BYTES, this.u32[L.SB_FREE_BYTES] - (newSize - size));
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
      this._st(L.SB_INODE_FREE, u32[w + L.I_NEXT]);
      let gen = (u32[w + L.I_GEN] + 1) >>> 0;
      if (gen === 0) gen = 1;
      // The whole record is rewritten: log it once, then store plainly.
      for (let i = 0; i < 16; i++) this._logW(w + i);
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
      this._st(L.SB_INODES_LIVE, u32[L.SB_INODES_LIVE] + 1);
      return ino;
    }

    _inodeChunk() {
      const u32 = this.u32;
      const k = u32[L.SB_INODE_CHUNKS];
      if (k >= L.MAX_CHUNKS) fail("ENOSPC", `inode table full (${k * L.INODES_PER_CHUNK} inodes)`);
      const p = this._alloc(L.INODES_PER_CHUNK * L.INODE_BYTES, L.K_INODES);
      if (!p) fail("ENOSPC", "no room for more inodes");
      const base = p + L.HDR;
      // A fresh block: its payload needs no undo entries.
      this.u8.fill(0, base, base + L.INODES_PER_CHUNK * L.INODE_BYTES);
      const first = k * L.INODES_PER_CHUNK + (k === 0 ? 1 : 0);
      const last = (k + 1) * L.INODES_PER_CHUNK - 1;
      this._st(L.SB_CHUNK_DIR + k, base);
      // Link the new slots in order (ino 0 is never handed out).
      for (let ino = first; ino < last; ino++) u32[(this._ib(ino) >>> 2) + L.I_NEXT] = ino + 1;
      u32[(this._ib(last) >>> 2) + L.I_NEXT] = 0;
      this._st(L.SB_INODE_CHUNKS, k + 1);
      this._st(L.SB_INODE_FREE, first);
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
      this._st(w + L.I_EXTENT, 0);
      this._st(w + L.I_CAP, 0);
      this._stA(w + L.I_SIZE, 0);
      this._st(w + L.I_MOVING, 0);
      this._stA(w + L.I_MODE, 0);
      this._st(w + L.I_NEXT, u32[L.SB_INODE_FREE]);
      this._st(L.SB_INODE_FREE, ino);
      this._st(L.SB_INODES_LIVE, u32[L.SB_INODES_LIVE] - 1);
      if (isDirMode(mode)) this._st(L.SB_N_DIRS, u32[L.SB_N_DIRS] - 1);
      else if (isRegMode(mode)) this._st(L.SB_N_FILES, u32[L.SB_N_FILES] - 1);
      else if (isLnkMode(mode)) this._st(L.SB_N_LINKS, u32[L.SB_N_LINKS] - 1);
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
      if (m) this._stf(f + L.I_MTIME, now);
      if (c) this._stf(f + L.I_CTIME, now);
    }

    // ---- directories ----------------------------------------------------------

    _dirInit(ino, parent) {
      const p = this._alloc(L.DT_HDR + L.DT_MIN_SLOTS * L.DT_SLOT_BYTES, L.K_DIRTAB);
      if (!p) fail("ENOSPC", "no room for a directory");
      const t = p + L.HDR;
      this.u8.fill(0, t, t + L.DT_HDR + L.DT_MIN_SLOTS * L.DT_SLOT_BYTES);
      this.u32[(t >>> 2) + L.DT_SLOTS] = L.DT_MIN_SLOTS;
      const w = this._ib(ino) >>> 2;
      this._st(w + L.I_EXTENT, t);
      this._st(w + L.I_CAP, this._bsize(p) - L.HDR - L.FTR);
      this._st(w + L.I_NLINK, 2);
      this._st(w + L.I_PARENT, parent);
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
      this._st(dw + L.I_EXTENT, t);
      this._st(dw + L.I_CAP, this._bsize(p) - L.HDR - L.FTR);
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
      const w = e >>> 2; // a fresh block: no undo entries needed
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
      const u32 = this.u32;
      if (u32[(s >>> 2) + 1] === L.SLOT_DELETED) this._st(tw + L.DT_TOMBS, u32[tw + L.DT_TOMBS] - 1);
      this._st(s >>> 2, h);
      this._st((s >>> 2) + 1, e);
      this._st(tw + L.DT_COUNT, u32[tw + L.DT_COUNT] + 1);
    }

    /** Remove the entry in slot s of dir `dirB`; frees the entry block. */
    _dtDelete(dirB, s) {
      const t = this.u32[(dirB >>> 2) + L.I_EXTENT];
      const tw = t >>> 2;
      const e = this.u32[(s >>> 2) + 1];
      this._st((s >>> 2) + 1, L.SLOT_DELETED);
      this._st(s >>> 2, 0);
      this._st(tw + L.DT_COUNT, this.u32[tw + L.DT_COUNT] - 1);
      this._st(tw + L.DT_TOMBS, this.u32[tw + L.DT_TOMBS] + 1);
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
              this._st((b >>> 2) + L.I_EXTENT, p + L.HDR);
              this._st((b >>> 2) + L.I_CAP, this._bsize(p) - L.HDR - L.FTR);
              this._stA((b >>> 2) + L.I_SIZE, tbytes.length);
            }
          }
          if (type !== L.S_IFDIR) this._st((b >>> 2) + L.I_NLINK, 1);
          e = this._dentryAlloc(ino, len, hash);
        } catch (err) {
          this._abort(); // undoes the inode and whatever was allocated for it
          throw err;
        }
        const u32 = this.u32;
        this._dtPut(u32[(db >>> 2) + L.I_EXTENT], s, hash, e);
        if (type === L.S_IFDIR) {
          this._st((b >>> 2) + L.I_DENTRY, e);
          this._st((db >>> 2) + L.I_NLINK, u32[(db >>> 2) + L.I_NLINK] + 1);
          this._st(L.SB_N_DIRS, u32[L.SB_N_DIRS] + 1);
        } else if (type === L.S_IFREG) {
          this._st(L.SB_N_FILES, u32[L.SB_N_FILES] + 1);
        } else {
          this._st(L.SB_N_LINKS, u32[L.SB_N_LINKS] + 1);
        }
        this._touch(db, true, true);
        this._st(L.SB_CHANGE, u32[L.SB_CHANGE] + 1);
        return { ino, gen: this._gen(ino), mode };
      } catch (err) {
        this._abort();
        throw err;
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
          this._st((db >>> 2) + L.I_NLINK, this.u32[(db >>> 2) + L.I_NLINK] - 1);
          this._st(w + L.I_DENTRY, 0);
        }
        this._dtDelete(db, s);
        this._stA(w + L.I_NLINK, 0);
        this._touch(this._ib(ino), false, true);
        this._touch(db, true, true);
        this._st(L.SB_CHANGE, this.u32[L.SB_CHANGE] + 1);
        this._maybeFree(ino);
      } catch (err) {
        this._abort();
        throw err;
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
          this._st((ns >>> 2) + 1, ne);
          this._free(old - L.HDR);
          const dwr = this._ib(dst) >>> 2;
          if (isDirMode(u32[dwr + L.I_MODE])) {
            this._st((ndb >>> 2) + L.I_NLINK, u32[(ndb >>> 2) + L.I_NLINK] - 1);
            this._st(dwr + L.I_DENTRY, 0);
          }
          this._stA(dwr + L.I_NLINK, 0);
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
          this._st(sw + L.I_DENTRY, ne);
          if (oldDir !== newDir) {
            this._st(sw + L.I_PARENT, newDir);
            this._st((odb >>> 2) + L.I_NLINK, u32[(odb >>> 2) + L.I_NLINK] - 1);
            this._st((ndb >>> 2) + L.I_NLINK, u32[(ndb >>> 2) + L.I_NLINK] + 1);
          }
        }
        this._touch(this._ib(src), false, true);
        this._touch(odb, true, true);
        this._touch(ndb, true, true);
        this._st(L.SB_CHANGE, u32[L.SB_CHANGE] + 1);
      } catch (err) {
        this._abort();
        throw err;
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
          this._stA(w + L.I_MODE, ((cur & L.S_IFMT) | (attr.mode & 0o7777)) >>> 0);
        }
        if (attr.atime != null) this._stf(f + L.I_ATIME, +attr.atime);
        if (attr.mtime != null) this._stf(f + L.I_MTIME, +attr.mtime);
        this._stf(f + L.I_CTIME, attr.ctime != null ? +attr.ctime : Date.now());
      } catch (err) {
        this._abort();
        throw err;
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
      this._wlock();
      try {
        this._pin(ino, gen, this._live(ino, gen) >>> 2);
      } catch (err) {
        this._abort();
        throw err;
      } finally {
        this._wunlock();
      }
    }

    /**
     * Take a pin on live inode ino (record at word w): OPEN + 1, and an entry in this
     * instance's pin table so that the pin can be dropped if the instance dies.
     */
    _pin(ino, gen, w) {
      const u32 = this.u32;
      const sw = this.locks.sw;
      let pt = u32[sw + L.S_PINS];
      let n = 0;
      if (pt) {
        n = u32[(pt >>> 2) + L.PT_N];
        for (let k = 0; k < n; k++) {
          const ew = (pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2;
          if (u32[ew] === ino && u32[ew + 1] === gen) {
            this._st(ew + 2, u32[ew + 2] + 1);
            this._stA(w + L.I_OPEN, u32[w + L.I_OPEN] + 1);
            return;
          }
        }
      }
      if (!pt || n >= u32[(pt >>> 2) + L.PT_CAP]) {
        const cap = pt ? u32[(pt >>> 2) + L.PT_CAP] * 2 : 8;
        const p = this._alloc(L.PT_HDR + cap * L.PT_ENTRY, L.K_PINS);
        if (!p) fail("ENOSPC", "no room for this instance's table of open files");
        const t = p + L.HDR; // a fresh block: no undo entries needed
        if (pt) this.u8.copyWithin(t + L.PT_HDR, pt + L.PT_HDR, pt + L.PT_HDR + n * L.PT_ENTRY);
        u32[(t >>> 2) + L.PT_N] = n;
        u32[(t >>> 2) + L.PT_CAP] = cap;
        if (pt) this._free(pt - L.HDR);
        this._st(sw + L.S_PINS, t);
        pt = t;
      }
      const ew = (pt + L.PT_HDR + n * L.PT_ENTRY) >>> 2;
      this._st(ew, ino);
      this._st(ew + 1, gen);
      this._st(ew + 2, 1);
      this._st((pt >>> 2) + L.PT_N, n + 1);
      this._stA(w + L.I_OPEN, u32[w + L.I_OPEN] + 1);
    }

    /** Drop a pin; the last pin of an unlinked inode frees it. */
    close(ino, gen) {
      this._wlock();
      try {
        const u32 = this.u32;
        const w = this._ib(ino) >>> 2;
        if (u32[w + L.I_GEN] !== gen || u32[w + L.I_MODE] === 0) {
          throw new Error(`extmemfs: close of stale inode ${ino}`);
        }
        const pt = u32[this.locks.sw + L.S_PINS];
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
          this._st(ew + 2, u32[ew + 2] - 1);
        } else {
          const lw = (pt + L.PT_HDR + (n - 1) * L.PT_ENTRY) >>> 2;
          if (lw !== ew) {
            this._st(ew, u32[lw]);
            this._st(ew + 1, u32[lw + 1]);
            this._st(ew + 2, u32[lw + 2]);
          }
          this._st((pt >>> 2) + L.PT_N, n - 1);
          if (n === 1) {
            // No pins left: an instance with no files open holds no space.
            this._free(pt - L.HDR);
            this._st(this.locks.sw + L.S_PINS, 0);
          }
        }
        this._stA(w + L.I_OPEN, open - 1);
        if (open === 1) this._maybeFree(ino);
      } catch (err) {
        this._abort();
        throw err;
      } finally {
        this._wunlock();
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
        const at = ext + pos;
        if (n > LONG_COPY) {
          this._inPieces(n, (d, c) => {
            if (copyOut) copyOut(dstOff + d, at + d, c);
            else dst.set(this.u8.subarray(at + d, at + d + c), dstOff + d);
          });
        } else if (copyOut) {
          copyOut(dstOff, at, n);
        } else {
          dst.set(this.u8.subarray(at, at + n), dstOff);
        }
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
        if (this._crashAt !== undefined) this._hook();
        if (pos > size) this.u8.fill(0, ext + size, ext + pos);
        if (len >= L.BULK_COPY) this._copyBegin();
        if (len > LONG_COPY) {
          this._inPieces(len, (d, c) => this.u8.set(src.subarray(srcOff + d, srcOff + d + c), ext + pos + d));
        } else {
          this.u8.set(src.subarray(srcOff, srcOff + len), ext + pos);
        }
        if (len >= L.BULK_COPY) this._copyEnd();
        if (end > size) Atomics.store(this.u32, w + L.I_SIZE, end);
        if (this._crashAt !== undefined) this._hook();
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
      this._wlock();
      try {
        const w = this._live(ino, gen) >>> 2;
        const mode = this.u32[w + L.I_MODE];
        if (isDirMode(mode)) fail("EISDIR", `inode ${ino} is a directory`);
        if (!isRegMode(mode)) fail("EINVAL", `inode ${ino} is not a regular file`);
        this._pin(ino, gen, w);
      } catch (err) {
        this._abort();
        throw err;
      } finally {
        this._wunlock();
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
              this._st(w + L.I_EXTENT, 0);
              this._st(w + L.I_CAP, 0);
            } else {
              const nb = this._shrinkInPlace(ext - L.HDR, blockFor(newSize));
              this._st(w + L.I_CAP, nb - L.HDR - L.FTR);
            }
          } catch (err) {
            this._abort();
            throw err;
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
            this._st(w + L.I_EXTENT, q + L.HDR);
            this._st(w + L.I_CAP, this._bsize(q) - L.HDR - L.FTR);
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
          this._st(w + L.I_EXTENT, to);
          this._st(w + L.I_CAP, this._bsize(p) - L.HDR - L.FTR);
          return;
        }
        if (size <= SMALL_MOVE) {
          this.u8.copyWithin(to, ext, ext + size); // into a fresh block: no undo needed
          this._free(ext - L.HDR);
          this._st(w + L.I_EXTENT, to);
          this._st(w + L.I_CAP, this._bsize(p) - L.HDR - L.FTR);
          return;
        }
        from = ext;
        // Claimed by this inode while we copy outside META; our slot names the inode
        // so that the block is given back if we die copying.
        this._st(w + L.I_MOVING, to);
        this._st(this.locks.sw + L.S_MOVE_INO, ino);
      } catch (err) {
        this._abort();
        throw err;
      } finally {
        this._wunlock();
      }
      // Bulk copy under the stripe lock only: other files' I/O goes on meanwhile.
      this._ensure();
      this._copyBegin();
      try {
        this._inPieces(size, (d, c) => {
          if (this._crashAt !== undefined) this._hook();
          this.u8.copyWithin(to + d, from + d, from + d + c);
        });
      } finally {
        if (!this._dead) this._copyEnd();
      }
      this._wlock();
      try {
        this._st(w + L.I_MOVING, 0);
        this._st(this.locks.sw + L.S_MOVE_INO, 0);
        this._free(from - L.HDR);
        this._st(w + L.I_EXTENT, to);
        this._st(w + L.I_CAP, this._bsize(to - L.HDR) - L.HDR - L.FTR);
      } catch (err) {
        this._abort();
        throw err;
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
        } catch (err) {
          this._abort();
          throw err;
        } finally {
          this._wunlock();
        }
      } finally {
        while (taken > 0) this.locks.writeUnlock(L.LOCKS_AT + --taken * L.LOCK_BYTES);
      }
    }

    _compactLocked() {
      const u32 = this.u32;
      // Owners by block offset, kept symbolic (chunk k / inode / dir slot / instance
      // slot) because the owner itself may move before the block it owns.
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
      for (let s = 0; s < L.NSLOTS; s++) {
        const pt = u32[slotWord(s) + L.S_PINS];
        if (pt && u32[slotWord(s) + L.S_STATE] !== L.SLOT_FREE) owners.set(pt - L.HDR, [3, s]);
      }
      const start = u32[L.SB_HEAP_START];
      const end = this.heapEnd;
      let dst = start;
      for (let p = start; p < end; p += this._bsize(p)) {
        if (this._bused(p) && !owners.has(p)) return false;
        if (dst === start && !this._bused(p)) dst = p;
      }
      if (this._bused(dst)) dst = end; // nothing free
      // Slide each used block down into the free block before it, one transaction per
      // block: the pool is whole after every step, so a compactor killed half-way
      // leaves a sound, partly compacted heap.
      while (dst < end) {
        const fsize = this._bsize(dst);
        const bp = dst + fsize;
        if (bp >= end) break;
        const bsize = this._bsize(bp);
        const np = bp + bsize;
        if (bsize > fsize * 4096) {
          // A huge block behind a tiny hole would take too many undoable chunks: leave
          // the hole, go on from the next free block.
          let q = np;
          while (q < end && this._bused(q)) q += this._bsize(q);
          dst = q;
          continue;
        }
        const gsize = np < end && !this._bused(np) ? this._bsize(np) : 0;
        this._binRemove(dst, fsize);
        if (gsize) this._binRemove(np, gsize);
        this._moveDown(dst, bp, bsize);
        const payload = dst + L.HDR;
        const o = owners.get(bp);
        if (o[0] === 0) {
          this._st(L.SB_CHUNK_DIR + o[1], payload);
        } else if (o[0] === 1) {
          this._st((this._ib(o[1]) >>> 2) + L.I_EXTENT, payload);
        } else if (o[0] === 2) {
          const t = u32[(this._ib(o[1]) >>> 2) + L.I_EXTENT];
          this._st(((t + L.DT_HDR + o[2] * L.DT_SLOT_BYTES) >>> 2) + 1, payload);
          const child = u32[(payload >>> 2) + L.DE_INO];
          const cw = this._ib(child) >>> 2;
          if (isDirMode(u32[cw + L.I_MODE])) this._st(cw + L.I_DENTRY, payload);
        } else {
          this._st(slotWord(o[1]) + L.S_PINS, payload);
        }
        const free = dst + bsize;
        this._setBlock(free, fsize + gsize, 0, L.K_FREE);
        this._binInsert(free, fsize + gsize);
        this._commit();
        this.locks.pulse();
        dst = free;
      }
      this._st(L.SB_COMPACTIONS, u32[L.SB_COMPACTIONS] + 1);
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
     *   peak_parallel_copies, compactions, recoveries, lease_ms}} recoveries: dead or
     *   evicted instances cleaned up; peak_parallel_copies: the most threads ever
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
          recoveries: u32[L.SB_RECOVERIES],
          lease_ms: u32[L.SB_LEASE_MS],
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

  return { Pool, PoolError, KILLED, fnv1a, checkMemory, describe };
});
