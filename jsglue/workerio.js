// jsglue/workerio.js — the control block one Workers worker shares with its parent: the
// interrupt word Pyodide polls, the state of the call it runs, and a ring of the bytes its
// Python writes to stdout/stderr. No pool locks; the words below are the only shared state.
//
// `openControl` must stay self-contained (no outer names): jsglue/workers.js hands its
// source text to the worker, which has no module loader.
//
// Block (a SharedArrayBuffer made by the parent), Int32 words at the start:
//   0  INTERRUPT  Pyodide's interrupt buffer (pyodide.setInterruptBuffer): 2 = SIGINT.
//                 Written by the parent only while the call it means runs synchronously.
//   1  CALL       id * 8 + phase of the call the worker runs. Phases: IDLE 0, SYNC 1
//                 (Python runs the function; an interrupt goes through INTERRUPT),
//                 INTERRUPTING 2 (the parent is writing INTERRUPT), INTERRUPTED 3, ASYNC 4
//                 (the function is a coroutine; it is cancelled by a message instead,
//                 because an interrupt landing between its steps would hit the event loop).
//   2  WAKE       1 while an "out" message is on its way to the parent (set by the
//                 worker, cleared by the parent before it drains).
//   3  WPOS       bytes written into the ring so far (mod 2^32); the worker stores it
//                 after the bytes, so a reader that loads it sees them.
//   4  RPOS       bytes the parent has consumed (mod 2^32); notified when it moves.
//   5  BLOCKED    times the worker waited for room in the ring (a statistic).
// Ring: RING_BYTES from byte RING_AT. A record is a 4-byte header (stream << 24 | length,
// little endian) and `length` bytes; records and headers may wrap around the end.
//
// Interrupt handshake (why a call never gets an interrupt meant for an earlier one):
//   parent  CAS CALL id|SYNC -> id|INTERRUPTING; store INTERRUPT = 2; store id|INTERRUPTED
//   worker  at the end of call id: CAS CALL (whatever it holds) -> IDLE, waiting while it
//           holds INTERRUPTING; then store INTERRUPT = 0, dropping an unused interrupt.
// The worker starts the next call only after that, so INTERRUPT is never written for it.

/**
 * Views and both sides' operations on a control block.
 * @param {SharedArrayBuffer} sab a block of `openControl.BYTES` bytes
 */
export function openControl(sab) {
  const INTERRUPT = 0, CALL = 1, WAKE = 2, WPOS = 3, RPOS = 4, BLOCKED = 5;
  const IDLE = 0, SYNC = 1, INTERRUPTING = 2, INTERRUPTED = 3, ASYNC = 4;
  const RING_AT = 64, RING_BYTES = 1 << 18, MAX_RECORD = RING_BYTES >> 2;
  const i32 = new Int32Array(sab, 0, RING_AT >> 2);
  const ring = new Uint8Array(sab, RING_AT, RING_BYTES);
  const canWait = typeof globalThis.window === "undefined"; // not a browser page

  /** Copy `src` into the ring at position `pos` (wrapping). */
  function put(pos, src) {
    const at = pos % RING_BYTES;
    const first = Math.min(src.length, RING_BYTES - at);
    ring.set(src.subarray(0, first), at);
    if (first < src.length) ring.set(src.subarray(first), 0);
  }
  /** `n` bytes of the ring from position `pos` (wrapping), copied out. */
  function get(pos, n) {
    const out = new Uint8Array(n);
    const at = pos % RING_BYTES;
    const first = Math.min(n, RING_BYTES - at);
    out.set(ring.subarray(at, at + first), 0);
    if (first < n) out.set(ring.subarray(0, n - first), first);
    return out;
  }
  const header = new Uint8Array(4);

  return {
    BYTES: RING_AT + RING_BYTES,
    /** The Int32Array Pyodide polls (setInterruptBuffer). */
    interruptView: new Int32Array(sab, 0, 1),

    // ---- worker side ------------------------------------------------------------------

    /**
     * Append `bytes` of `stream` (1 stdout, 2 stderr) to the ring, waiting for room while
     * it is full; `wake()` posts a message telling the parent to drain, at most one at a
     * time. Worker threads only (Atomics.wait).
     */
    write(stream, bytes, wake) {
      for (let off = 0; off < bytes.length;) {
        const n = Math.min(bytes.length - off, MAX_RECORD);
        const need = 4 + n;
        let w = Atomics.load(i32, WPOS) >>> 0;
        for (;;) {
          const r = Atomics.load(i32, RPOS) >>> 0;
          if (RING_BYTES - ((w - r) >>> 0) >= need) break;
          if (Atomics.exchange(i32, WAKE, 1) === 0) wake();
          Atomics.add(i32, BLOCKED, 1);
          if (canWait) Atomics.wait(i32, RPOS, r | 0, 100);
          w = Atomics.load(i32, WPOS) >>> 0;
        }
        const h = (stream << 24) | n;
        header[0] = h & 0xff;
        header[1] = (h >>> 8) & 0xff;
        header[2] = (h >>> 16) & 0xff;
        header[3] = (h >>> 24) & 0xff;
        put(w, header);
        put((w + 4) >>> 0, bytes.subarray(off, off + n));
        Atomics.store(i32, WPOS, (w + need) | 0);
        off += n;
      }
      if (bytes.length && Atomics.exchange(i32, WAKE, 1) === 0) wake();
    },
    /** Call `id` starts running Python synchronously. */
    begin(id) {
      Atomics.store(i32, INTERRUPT, 0);
      Atomics.store(i32, CALL, id * 8 + SYNC);
    },
    /** Call `id` turned out to be a coroutine: from now on it is cancelled by message. */
    beginAsync(id) {
      this.settle(id);
      Atomics.store(i32, CALL, id * 8 + ASYNC);
    },
    /** Call `id` ended (or stopped running synchronously): no interrupt may reach it now. */
    settle(id) {
      for (;;) {
        const c = Atomics.load(i32, CALL);
        if (c === id * 8 + INTERRUPTING) {
          // the parent is between its two stores: a few instructions
          if (canWait) Atomics.wait(i32, CALL, c, 1);
          continue;
        }
        // Only INTERRUPTING belongs to the parent; once IDLE, its CAS cannot match.
        if (Atomics.compareExchange(i32, CALL, c, id * 8 + IDLE) === c) break;
      }
      Atomics.store(i32, INTERRUPT, 0);
    },
    /** The id of the call running now if it is a coroutine, else 0. */
    asyncCall() {
      const c = Atomics.load(i32, CALL);
      return (c & 7) === ASYNC ? c >>> 3 : 0;
    },

    // ---- parent side ------------------------------------------------------------------

    /**
     * Interrupt call `id` if it is running Python synchronously (KeyboardInterrupt there).
     * @returns {"sync" | "async" | "none"} how it runs: "async" means send a cancel
     *   message; "none" means it is not running (finished, or not started yet)
     */
    interrupt(id) {
      for (const phase of [SYNC, INTERRUPTED]) {
        if (Atomics.compareExchange(i32, CALL, id * 8 + phase, id * 8 + INTERRUPTING) === id * 8 + phase) {
          Atomics.store(i32, INTERRUPT, 2);
          Atomics.store(i32, CALL, id * 8 + INTERRUPTED);
          Atomics.notify(i32, CALL);
          return "sync";
        }
      }
      return Atomics.load(i32, CALL) === id * 8 + ASYNC ? "async" : "none";
    },
    /**
     * Take everything in the ring; consecutive records of one stream are joined.
     * @returns {Array<[number, Uint8Array]>} [stream, bytes] in the order written
     */
    drain() {
      Atomics.store(i32, WAKE, 0);
      const out = [];
      let r = Atomics.load(i32, RPOS) >>> 0;
      const w = Atomics.load(i32, WPOS) >>> 0;
      /** @type {Uint8Array[]} */
      let parts = [];
      let stream = 0;
      const flush = () => {
        if (!parts.length) return;
        let total = 0;
        for (const p of parts) total += p.length;
        const joined = parts.length === 1 ? parts[0] : new Uint8Array(total);
        if (parts.length > 1) {
          let at = 0;
          for (const p of parts) {
            joined.set(p, at);
            at += p.length;
          }
        }
        out.push([stream, joined]);
        parts = [];
      };
      while (r !== w) {
        const h = get(r, 4);
        const word = h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24);
        const s = word >>> 24;
        const n = word & 0xffffff;
        if (s !== stream) flush();
        stream = s;
        parts.push(get((r + 4) >>> 0, n));
        r = (r + 4 + n) >>> 0;
      }
      flush();
      Atomics.store(i32, RPOS, r | 0);
      Atomics.notify(i32, RPOS);
      return out;
    },
    /** Times the worker found the ring full and waited for the parent. */
    blocked() {
      return Atomics.load(i32, BLOCKED);
    },
  };
}

/** Bytes of a control block (the ring included). */
export const CONTROL_BYTES = 64 + (1 << 18);

/** A new control block for one worker. @returns {SharedArrayBuffer} */
export function newControl() {
  return new SharedArrayBuffer(CONTROL_BYTES);
}
