// jsglue/pool/format.js — making a pool: checking the requested sizes and lease, reserving
// the shared Memory, and writing an empty file system into it (superblock, one free heap
// block, the root directory). Locks: none — nobody else can see the Memory before its
// MAGIC is written, which is the last store.
import { L } from "../layout.js";
import { Locks } from "../locks.js";
import { fail } from "../errors.js";
import { parseSize } from "../sizes.js";
import { Views, checkMemory } from "./views.js";
import { TxLog } from "./txlog.js";
import { Heap, binOf } from "./heap.js";
import { Inodes } from "./inodes.js";
import { Dirs } from "./dirs.js";

const PAGE = L.PAGE;
const DEFAULT_INITIAL = "16MiB";
const DEFAULT_MAXIMUM = "1GiB";

/**
 * @typedef {object} CreateOptions what Pool.create / createPool accept
 * @property {number | string} [initialSize] bytes reserved now (default "16MiB"), as a
 *   number or a string such as "64MiB"; rounded up to 64 KiB pages
 * @property {number | string} [maximumSize] bytes the pool may grow to (default "1GiB"),
 *   at most 4 GiB
 * @property {number} [initialBytes] the same as initialSize (a number of bytes)
 * @property {number} [maximumBytes] the same as maximumSize
 * @property {number} [leaseMs] an instance holding a lock whose heartbeat stands still
 *   this long is presumed dead (10 .. 600000, default 1000)
 * @property {boolean} [canBlock] may this thread Atomics.wait (detected if omitted)
 */

/**
 * Page counts for sizes in bytes or size strings.
 * @param {number | string} initial
 * @param {number | string} maximum
 * @returns {{initialPages: number, maximumPages: number}}
 * @throws {import("../errors.js").PoolError} EINVAL: unparsable, out of 128 KiB .. 4 GiB,
 *   or initial above maximum
 */
export function checkSizes(initial, maximum) {
  const initialBytes = parseSize(initial, "initial size");
  const maximumBytes = parseSize(maximum, "maximum size");
  if (initialBytes > maximumBytes) {
    fail("EINVAL", `initial size ${initialBytes} is above maximum size ${maximumBytes}`);
  }
  return { initialPages: Math.ceil(initialBytes / PAGE), maximumPages: Math.ceil(maximumBytes / PAGE) };
}

/**
 * Check the options, reserve a shared Memory and format an empty pool in it.
 * @param {CreateOptions} opts
 * @returns {WebAssembly.Memory}
 * @throws {import("../errors.js").PoolError} EINVAL (sizes, lease, no
 *   SharedArrayBuffer), ENOMEM (the Memory could not be reserved)
 */
export function createMemory(opts) {
  const { initialPages, maximumPages } = checkSizes(
    opts.initialSize ?? opts.initialBytes ?? DEFAULT_INITIAL,
    opts.maximumSize ?? opts.maximumBytes ?? DEFAULT_MAXIMUM,
  );
  const ms = opts.leaseMs;
  if (ms != null && (typeof ms !== "number" || !(ms >= 10 && ms <= 600000) || ms !== Math.floor(ms))) {
    fail("EINVAL", `lease must be a whole number of milliseconds from 10 to 600000, got ${ms}`);
  }
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
  format(memory, maximumPages, ms ?? L.DEFAULT_LEASE_MS);
  return memory;
}

/**
 * Format a fresh (all-zero) shared Memory as an empty pool.
 * @param {WebAssembly.Memory} memory
 * @param {number} maximumPages the Memory's maximum (a Memory does not tell it)
 * @param {number} [leaseMs]
 * @throws {import("../errors.js").PoolError} EEXIST (it holds a pool already), EINVAL
 */
export function format(memory, maximumPages, leaseMs = L.DEFAULT_LEASE_MS) {
  checkMemory(memory);
  const buf = memory.buffer;
  const u32 = new Uint32Array(buf);
  if (u32[L.SB_MAGIC] !== 0) fail("EEXIST", "the Memory already holds a pool");
  const pages = buf.byteLength / PAGE;
  if (!(maximumPages >= pages && maximumPages <= L.MAX_MEMORY_PAGES)) {
    fail("EINVAL", `maximum of ${maximumPages} pages is not between ${pages} and ` +
      `${L.MAX_MEMORY_PAGES}`);
  }
  u32[L.SB_VERSION] = L.VERSION;
  u32[L.SB_HEAP_START] = L.HEAP_START;
  u32[L.SB_HEAP_PAGES] = pages;
  u32[L.SB_MAX_PAGES] = maximumPages;
  u32[L.SB_LEASE_MS] = leaseMs;
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
  // The root directory, made with the ordinary machinery outside any transaction.
  const views = new Views(memory, new Locks(true));
  const tx = new TxLog(views, views.locks);
  const heap = new Heap(views, tx);
  const inodes = new Inodes(views, tx, heap);
  const root = inodes.alloc(L.S_IFDIR | 0o777);
  new Dirs(views, tx, heap, inodes).init(root, root);
  u32[L.SB_ROOT_INO] = root;
  u32[L.SB_N_DIRS] = 1;
  Atomics.store(u32, L.SB_MAGIC, L.MAGIC);
}
