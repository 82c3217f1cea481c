// jsglue/pool/views.js — this instance's typed-array views of the pool's Memory, and the
// checks that a Memory is a pool. Views go stale when another instance grows the Memory:
// every lock taken renews them (Locks.grown), and ensure() does too.
import { L } from "../layout.js";
import { fail, describe } from "../errors.js";
import { copyRange, poolCopy, poolZero, zeroRange } from "../poolfill.js";

const isSab = (b) => Object.prototype.toString.call(b) === "[object SharedArrayBuffer]";

/**
 * Check that `memory` is a shared WebAssembly.Memory.
 * @param {any} memory
 * @throws {import("../errors.js").PoolError} EINVAL (TypeError for Python) otherwise
 */
export function checkMemory(memory) {
  const isMem = memory && typeof memory === "object" && typeof memory.grow === "function" &&
    Object.prototype.toString.call(memory) === "[object WebAssembly.Memory]";
  if (!isMem) {
    fail("EINVAL", `expected a shared WebAssembly.Memory, got ${describe(memory)}`, "TypeError");
  }
  if (!isSab(memory.buffer)) {
    fail("EINVAL", "the WebAssembly.Memory is not shared (create it with shared: true)");
  }
}

/** Views of one pool Memory: u8, u32, i32 and f64 over the whole buffer. */
export class Views {
  /**
   * @param {WebAssembly.Memory} memory a shared Memory (checked by the caller)
   * @param {import("../locks.js").Locks} locks this instance's lock helper; its i32 view
   *   is kept current too
   * @param {boolean} [lockCore] let the locks use the wasm module of lockcore.js
   */
  constructor(memory, locks, lockCore = true) {
    this.memory = memory;
    this.locks = locks;
    /** @type {Uint8Array} */ this.u8 = null;
    /** @type {Uint32Array} */ this.u32 = null;
    /** @type {Int32Array} */ this.i32 = null;
    /** @type {Float64Array} */ this.f64 = null;
    /** Bytes the views cover (kept: reading a shared view's length is not free). */
    this.bytes = 0;
    /** memory.fill over this Memory (poolfill.js), or null. */
    this.zeroer = poolZero(memory);
    /** memory.copy within this Memory (poolfill.js), or null. */
    this.mover = poolCopy(memory);
    if (lockCore) locks.bind(memory);
    locks.grown = () => this.refresh();
    this.refresh();
  }

  /**
   * Renew every view over the Memory's current buffer: at least the heap (SB_HEAP_PAGES).
   * V8 can go on handing a thread its old, shorter buffer after another thread grew the
   * shared Memory (node 20 and 24: a worker's `memory.buffer` lagged behind grows made by
   * other workers, however often it was read; Chrome runs the same engine). Views over it
   * end before the heap does: reads past their end give `undefined`, writes are dropped
   * without a word, and the heap's free lists came apart (tests/js/threads.test.mjs under
   * load). memoryPages() (`memory.grow(0)`, a grow by nothing) makes the buffer current.
   */
  refresh() {
    let buf = this.memory.buffer;
    const sb = new Uint32Array(buf, 0, L.SB_HEAP_PAGES + 1);
    const heapBytes = sb[L.SB_MAGIC] === L.MAGIC ? sb[L.SB_HEAP_PAGES] * L.PAGE : 0; // (not a pool: the caller says so)
    if (buf.byteLength < heapBytes) {
      this.memoryPages();
      buf = this.memory.buffer;
      if (buf.byteLength < heapBytes) {
        throw new Error(`extmemfs: this thread sees ${buf.byteLength} bytes of the pool's Memory, ` +
          `but its heap covers ${heapBytes} (the engine did not renew memory.buffer after a grow)`);
      }
    }
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    this.bytes = buf.byteLength;
    this.locks.i32 = this.i32;
    this.locks.pages = this.bytes / L.PAGE;
  }

  /** Zero bytes [start, end) of the Memory (memory.fill; TypedArray.fill is slow on shared buffers). */
  zero(start, end) {
    zeroRange(this.u8, this.zeroer, start, end);
  }

  /**
   * Copy `n` bytes of the Memory from `src` to `dst`, as memmove (memory.copy;
   * TypedArray.copyWithin is slow on shared buffers).
   */
  move(dst, src, n) {
    copyRange(this.u8, this.mover, dst, src, n);
  }

  /**
   * Renew the views if another instance grew the heap. Taking a lock does it already
   * (Locks.grown); this is for code that found the Memory grown otherwise.
   */
  ensure() {
    this.locks.renewViews();
  }

  /** The Memory's size in pages now (memory.grow(0) also renews a lagging buffer; see refresh). */
  memoryPages() {
    return this.memory.grow(0);
  }

  /** Byte offset just past the heap (= the Memory's size after every completed grow). */
  get heapEnd() {
    return this.u32[L.SB_HEAP_PAGES] * L.PAGE;
  }

  /** The most bytes the Memory may grow to. */
  get maxBytes() {
    return this.u32[L.SB_MAX_PAGES] * L.PAGE;
  }
}
