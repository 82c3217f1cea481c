// jsglue/persist/persister.js — keeping a pool in a store across reloads: open (load the
// newest committed generation, or start a new pool), sync (write the pages changed since
// the generation the target slot holds, then commit), autosync, close. The protocol and
// the formats are drawn in format.js.
// Locks: sync pauses the pool (every lock, pool/snapshot.js) only to copy the changed
// pages, or — when they are many and the store writes synchronously — to write them;
// everything else runs outside any pool lock. One sync at a time per Persister.
import { L } from "../layout.js";
import { PoolError } from "../errors.js";
import { parseSize } from "../sizes.js";
import * as F from "./format.js";

const PAGE = F.PAGE;
/** Changed data up to this much is copied aside in the pause and written after it. */
export const STAGE_MAX = 64 << 20;
const ALL = "all"; // a slot whose content is unknown: write every page into it
const CHUNK = 16 << 20;
const WRITE_RUN = 256; // pages per write under a pause (16 MiB), between heartbeats
const now = () => (globalThis.performance ? performance.now() : Date.now());
const slotFile = (k, ext) => `slot${k}.${ext}`;

/** True if page `p` of `u8` holds only zeros. */
function isZeroPage(u8, p) {
  const w = new Uint32Array(u8.buffer, u8.byteOffset + p * PAGE, PAGE >>> 2);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

/** Contiguous runs [first, count] of sorted page numbers, at most `max` pages each. */
function runs(pages, max = Infinity) {
  const out = [];
  for (let i = 0; i < pages.length;) {
    let j = i + 1;
    while (j < pages.length && pages[j] === pages[j - 1] + 1 && j - i < max) j++;
    out.push([pages[i], j - i]);
    i = j;
  }
  return out;
}

/**
 * @typedef {object} SyncInfo what sync() returns
 * @property {number} generation the generation now on storage
 * @property {number} bytes_written bytes written to storage by this sync (pages, page
 *   table, head)
 * @property {number} pages_written 64 KiB pages written
 * @property {number} dirty_pages pages changed since the previous sync
 * @property {number} ms the whole sync, wall clock
 * @property {number} pause_ms how long the pool's writers (in every instance) were held up
 */

export class Persister {
  /**
   * @param {import("./stores.js").Store} store
   * @param {import("./owner.js").Ownership} owner
   */
  constructor(store, owner) {
    this.store = store;
    this.owner = owner;
    /** @type {any} */
    this.pool = null;
    this.gen = 0;
    /** @type {Array<Uint32Array | null>} page hashes of what each slot holds */
    this.hashes = [null, null];
    /** @type {Array<Set<number> | "all">} pages each slot lacks (relative to the pool) */
    this.pending = [ALL, ALL];
    /** @type {Map<string, import("./stores.js").StoreFile>} */
    this._files = new Map();
    /** @type {Promise<SyncInfo> | null} */
    this._syncing = null;
    this._timer = null;
    this._owedRetry = false;
    this.closed = false;
    /** A private buffer the pause copies changed pages into; kept between syncs, so
     *  that the pause does not pay for allocating (and faulting in) fresh memory. */
    this._stage = new Uint8Array(0);
    /** The error of the last background sync that failed (autosync), or null. */
    this.lastError = null;
  }

  async _file(name) {
    let f = this._files.get(name);
    if (!f) {
      f = await this.store.file(name, true);
      this._files.set(name, f);
    }
    return f;
  }

  /**
   * Load the newest committed generation from the store, or start a new pool there.
   * @param {any} PoolClass the Pool class to make (its create / restore)
   * @param {import("../pool/format.js").CreateOptions} opts sizes for a new pool;
   *   maximumSize also raises (never lowers below the image) the maximum of a stored one
   * @returns {Promise<any>} the Pool
   * @throws {PoolError} EINVAL (ValueError): the store holds something that is not a
   *   pool, a damaged or truncated one, or one of another layout version (nothing is
   *   changed in the store); storage errors as OSError
   */
  async open(PoolClass, opts) {
    const store = this.store;
    const names = await store.list();
    const ours = names.filter((n) => /^slot[01]\.(img|sum)$/.test(n));
    const head = await store.file("head", false);
    const bad = (why) => new PoolError("EINVAL", `${store.where} is not a usable extmemfs pool: ${why} ` +
      "(nothing in it was changed)");
    let rec = null;
    let other = null;
    if (head) {
      this._files.set("head", head);
      const bytes = new Uint8Array(F.HEAD_BYTES);
      const n = await head.readInto(0, bytes);
      const recs = [0, 1].map((k) => F.decodeRecord(bytes.subarray(k * F.RECORD_BYTES, Math.min(n, (k + 1) * F.RECORD_BYTES))));
      const valid = recs.map((r, k) => (r.record && r.record.slot === k && r.record.gen % 2 === k ? r.record : null));
      const problems = recs.map((r) => r.problem).filter(Boolean);
      if (!valid[0] && !valid[1]) {
        if (n > 0 && problems.length === 2 && n >= F.HEAD_BYTES) throw bad(`its head is ${problems[0]}`);
        if (n > 0 && n < F.HEAD_BYTES && problems.length) throw bad(`its head is truncated (${n} bytes)`);
        // No generation was ever committed (a first sync died): nothing stored to keep.
      } else {
        const k = !valid[1] || (valid[0] && valid[0].gen > valid[1].gen) ? 0 : 1;
        rec = valid[k];
        const o = valid[1 - k];
        other = o && o.gen === rec.gen - 1 ? o : null;
      }
    } else if (ours.length) {
      throw bad("it has image slots but no head");
    } else if (names.some((x) => x !== "owner.lock")) {
      throw bad(`it holds other files (${names.slice(0, 3).join(", ")}${names.length > 3 ? ", ..." : ""})`);
    }
    if (!rec) {
      this.pool = PoolClass.create(opts);
      await this.sync(); // the store is a pool from the start
      return this.pool;
    }
    if (rec.layout !== L.VERSION && !L.UPGRADABLE.includes(rec.layout)) {
      throw bad(`it was saved with pool layout version ${rec.layout}; this extmemfs reads version ` +
        `${L.VERSION}`);
    }
    const maxPages = maxPagesFor(opts, rec, bad);
    const sumFile = await store.file(slotFile(rec.slot, "sum"), false);
    const img = await store.file(slotFile(rec.slot, "img"), false);
    if (!sumFile || !img) throw bad(`slot ${rec.slot} of generation ${rec.gen} is missing`);
    this._files.set(slotFile(rec.slot, "sum"), sumFile);
    this._files.set(slotFile(rec.slot, "img"), img);
    let sums;
    try {
      sums = F.decodeSums(await readAll(sumFile), rec);
    } catch (e) {
      throw bad(`generation ${rec.gen}: ${e.message}`);
    }
    const size = await img.size();
    if (size < rec.pages * PAGE) {
      throw bad(`generation ${rec.gen} is truncated (${size} of ${rec.pages * PAGE} bytes)`);
    }
    const memory = newMemory(rec.pages, maxPages);
    await loadPages(memory, rec.pages, (off, into) => img.readInto(off, into), sums.hashes, (p) => {
      throw bad(`page ${p} of generation ${rec.gen} does not match its checksum (damaged)`);
    });
    if (maxPages !== rec.maxPages) new Uint32Array(memory.buffer)[L.SB_MAX_PAGES] = maxPages;
    this.pool = PoolClass.restore(memory, opts);
    this.gen = rec.gen;
    this.hashes[rec.slot] = sums.hashes;
    this.pending[rec.slot] = new Set();
    if (other) {
      try {
        const otherSums = await store.file(slotFile(other.slot, "sum"), false);
        const os = otherSums && F.decodeSums(await readAll(otherSums), other);
        if (os) {
          this._files.set(slotFile(other.slot, "sum"), otherSums);
          this.hashes[other.slot] = os.hashes;
          this.pending[other.slot] = new Set(sums.delta);
        }
      } catch (e) {
        this.pending[other.slot] = ALL; // its table is unreadable: rewrite that slot whole
      }
    }
    return this.pool;
  }

  /**
   * Make the pool's current state durable: when the promise resolves, a reload finds it.
   * @param {{duringPause?: (info: {generation: number}) => void}} [opts] duringPause: called
   *   inside the pause, while nothing in the pool changes (e.g. to note what else the
   *   image goes with); it must not use the pool and must not wait
   * @returns {Promise<SyncInfo>}
   * @throws {PoolError} ENOSPC (storage full) or EIO/EACCES: nothing of this sync is
   *   used; the previous generation stays on storage and the pool goes on in memory
   */
  async sync(opts = {}) {
    if (this.closed) throw new PoolError("EINVAL", "the pool was closed (pool.close()): it is no longer persisted");
    while (this._syncing) await this._syncing.catch(() => {});
    const p = this._sync(opts);
    this._syncing = p;
    try {
      return await p;
    } finally {
      this._syncing = null;
    }
  }

  /**
   * @param {{duringPause?: (info: {generation: number}) => void}} opts
   * @returns {Promise<SyncInfo>}
   */
  async _sync(opts) {
    const t0 = now();
    const gen = this.gen + 1;
    const slot = gen % 2;
    const pool = this.pool;
    let written = 0;
    let D = null;
    let W = null;
    let pauseMs;
    try {
      const head = await this._file("head");
      const img = await this._file(slotFile(slot, "img"));
      const sumFile = await this._file(slotFile(slot, "sum"));
      // 1. From now on nobody trusts this slot (it held generation gen - 2).
      await head.write(slot * F.RECORD_BYTES, new Uint8Array(F.RECORD_BYTES));
      await head.flush();
      written += F.RECORD_BYTES;
      const whole = this.pending[slot] === ALL;
      if (whole) await img.truncate(0); // its old content is unknown: start from zeros
      let hashes = this.hashes[slot];
      let pagesWritten = 0;
      /** @type {Array<[number, Uint8Array]>} */
      let staged = [];
      let pages = 0;
      let maxPages = 0;
      // Room to copy the changed pages into, made before the pause (an estimate: pages
      // may change until the pause begins; a shortfall is handled inside it).
      const lack = this.pending[slot];
      const estimate = lack === ALL ? pool.heapEnd : (lack.size + pool.dirtyPages() + 4) * PAGE;
      if (this._stage.length < Math.min(STAGE_MAX, estimate * 1.25)) {
        this._stage = new Uint8Array(Math.min(STAGE_MAX, Math.ceil((estimate * 1.25) / PAGE) * PAGE));
        this._stage.fill(0); // touch it now, not in the pause
      }
      const info = pool.pause();
      try {
        pool.setSyncGeneration(gen);
        if (opts.duringPause) opts.duringPause({ generation: gen });
        D = info.dirty;
        pages = info.pages;
        maxPages = info.maxPages;
        W = this._writeSet(slot, D, pages);
        if (whole) {
          hashes = new Uint32Array(pages).fill(F.ZERO_PAGE_HASH);
        } else if (!hashes || hashes.length < pages) {
          const h = new Uint32Array(pages).fill(F.ZERO_PAGE_HASH);
          if (hashes) h.set(hashes);
          hashes = h;
        }
        if (!this.store.syncWrites || W.length * PAGE <= STAGE_MAX) {
          staged = stage(info.u8, W, whole, this._stage);
        } else {
          // Too much to copy aside: write it now, from the pool, while it holds still
          // (a synchronous store: nothing here waits for the event loop).
          if (/** @type {number} */ (img.size()) < pages * PAGE) img.truncate(pages * PAGE);
          const todo = whole ? W.filter((p) => p === 0 || !isZeroPage(info.u8, p)) : W;
          for (const [first, n] of runs(todo, WRITE_RUN)) {
            const bytes = info.u8.subarray(first * PAGE, (first + n) * PAGE);
            for (let k = 0; k < n; k++) hashes[first + k] = F.hashBytes(bytes, k * PAGE, PAGE);
            img.write(first * PAGE, bytes);
            written += bytes.length;
            pagesWritten += n;
            pool.pulse();
          }
        }
      } finally {
        pauseMs = pool.resume();
      }
      // 2. The changed pages and the page table into the slot, durable.
      if ((await img.size()) < pages * PAGE) await img.truncate(pages * PAGE);
      for (const [first, bytes] of staged) {
        for (let k = 0; k < bytes.length / PAGE; k++) hashes[first + k] = F.hashBytes(bytes, k * PAGE, PAGE);
        await img.write(first * PAGE, bytes);
        written += bytes.length;
        pagesWritten += bytes.length / PAGE;
      }
      staged = null;
      if (this._stage.length > 8 << 20 && W.length * PAGE * 4 < this._stage.length) {
        this._stage = new Uint8Array(0); // far more than syncs need now: give it back
      }
      this.hashes[slot] = hashes;
      const sums = F.encodeSums(hashes, pages, D);
      await sumFile.truncate(sums.length);
      await sumFile.write(0, sums);
      written += sums.length;
      await img.flush();
      await sumFile.flush();
      // 3. Commit.
      const rec = F.encodeRecord({
        layout: L.VERSION, gen, slot, pages, maxPages, sumHash: F.hashBytes(sums, 0, sums.length),
        sumBytes: sums.length, time: Date.now(),
      });
      await head.write(slot * F.RECORD_BYTES, rec);
      await head.flush();
      written += F.RECORD_BYTES;
      this.gen = gen;
      this.pending[slot] = new Set();
      const o = this.pending[1 - slot];
      if (o !== ALL) for (const p of D) o.add(p);
      this._owedRetry = false;
      return {
        generation: gen,
        bytes_written: written,
        pages_written: pagesWritten,
        dirty_pages: D.length,
        ms: now() - t0,
        pause_ms: pauseMs,
      };
    } catch (e) {
      if (D) {
        // The pages taken from the bitmap are owed to both slots now.
        const o = this.pending[1 - slot];
        if (o !== ALL) for (const p of D) o.add(p);
        if (this.pending[slot] !== ALL) this.pending[slot] = new Set(W);
        this._owedRetry = true;
      }
      const code = (e && e.code) || "EIO";
      throw new PoolError(code, `sync of generation ${gen} to ${this.store.where} failed (${(e && e.message) || e}); ` +
        `generation ${this.gen} is still what storage holds, and the pool goes on in memory`, "OSError");
    }
  }

  /** Sorted pages to write into `slot`: page 0, what it lacks, and what changed. */
  _writeSet(slot, dirty, pages) {
    const lack = this.pending[slot];
    if (lack === ALL) return Array.from({ length: pages }, (_, i) => i);
    const set = new Set(lack);
    for (const p of dirty) set.add(p);
    set.add(0);
    return [...set].filter((p) => p < pages).sort((a, b) => a - b);
  }

  /**
   * Sync every `ms` milliseconds while something changed (0 or null: stop).
   * @param {number | null} ms
   */
  autosync(ms) {
    if (this._timer) clearInterval(this._timer);
    this._timer = null;
    if (!ms) return;
    if (!(ms >= 50)) throw new PoolError("EINVAL", `autosync interval must be at least 50 ms, got ${ms}`);
    this._timer = setInterval(() => {
      if (this._syncing || this.closed) return;
      if (!this._owedRetry && this.pool.dirtyPages() === 0) return;
      this.sync().then(() => {
        this.lastError = null;
      }, (e) => {
        this.lastError = e;
        console.warn(`extmemfs autosync: ${e.message}`);
      });
    }, ms);
    if (typeof this._timer === "object" && this._timer && "unref" in this._timer) this._timer.unref();
  }

  /**
   * Stop persisting: a last sync (unless `sync` is false), then release the files and the
   * ownership. The pool itself goes on in memory.
   * @param {{sync?: boolean}} [opts]
   * @returns {Promise<SyncInfo | null>}
   */
  async close(opts = {}) {
    if (this.closed) return null;
    this.autosync(0);
    let info = null;
    try {
      if (opts.sync !== false) info = await this.sync();
    } finally {
      this.closed = true;
      for (const f of this._files.values()) {
        try {
          await f.close();
        } catch (e) {
          // closing is best effort
        }
      }
      this._files.clear();
      await this.store.close();
      await this.owner.release();
    }
    return info;
  }
}

/** The maximum (pages) for a stored pool: its own, or a larger requested one. */
function maxPagesFor(opts, rec, bad) {
  const want = opts.maximumSize ?? opts.maximumBytes;
  if (want == null) return rec.maxPages;
  const pages = Math.ceil(parseSize(want, "maximum size") / PAGE);
  if (!(pages >= rec.pages)) {
    throw new PoolError("EINVAL", `maximum size ${want} is below the stored pool's size ` +
      `(${rec.pages * PAGE} bytes)`);
  }
  return Math.min(Math.max(pages, rec.pages), L.MAX_MEMORY_PAGES);
}

/**
 * A fresh shared Memory for an image.
 * @param {number} pages
 * @param {number} maxPages
 */
export function newMemory(pages, maxPages) {
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: maxPages, shared: true });
  } catch (e) {
    throw new PoolError("ENOMEM", `could not reserve a shared Memory of ${pages} to ${maxPages} pages: ${e.message}`);
  }
}

/**
 * Fill `memory` with `pages` pages read by `read(offset, into)` and check each against
 * its hash; `damaged(p)` is called (and must throw) for the first page that differs.
 */
export async function loadPages(memory, pages, read, hashes, damaged) {
  const u8 = new Uint8Array(memory.buffer);
  // Read into a private buffer first: not every store reads into shared memory.
  const buf = new Uint8Array(Math.min(CHUNK, pages * PAGE));
  for (let off = 0; off < pages * PAGE; off += buf.length) {
    const want = Math.min(buf.length, pages * PAGE - off);
    const view = want === buf.length ? buf : buf.subarray(0, want);
    const n = await read(off, view);
    if (n < want) damaged(Math.floor((off + n) / PAGE));
    for (let k = 0; k < want / PAGE; k++) {
      const p = off / PAGE + k;
      if (F.hashBytes(view, k * PAGE, PAGE) !== hashes[p]) damaged(p);
    }
    u8.set(view, off);
  }
}

/**
 * Copies of the pages `W`, one per run of contiguous pages, in `buf` when they fit (else
 * in a new buffer: a store that cannot write inside the pause takes any amount).
 * @returns {Array<[number, Uint8Array]>}
 */
function stage(u8, W, skipZeros, buf) {
  const pages = skipZeros ? W.filter((p) => p === 0 || !isZeroPage(u8, p)) : W;
  if (pages.length * PAGE > buf.length) buf = new Uint8Array(pages.length * PAGE);
  let at = 0;
  return runs(pages).map(([first, n]) => {
    const view = buf.subarray(at, at + n * PAGE);
    view.set(u8.subarray(first * PAGE, (first + n) * PAGE));
    at += n * PAGE;
    return /** @type {[number, Uint8Array]} */ ([first, view]);
  });
}

/** The whole content of a store file. */
async function readAll(f) {
  const size = await f.size();
  const out = new Uint8Array(size);
  const n = await f.readInto(0, out);
  return n === size ? out : out.subarray(0, n);
}
