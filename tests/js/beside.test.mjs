// Reads beside a bulk write (Content._readBeside): while one instance writes a range of a
// file in one big write, others read the file's other bytes without waiting for its
// stripe lock, and never see a byte of a block that a write was changing. Real threads
// (node worker_threads), JS copies and, where the engine has multi-memory, the mount's
// wasm copier.
import test from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Pool, layout as L } from "../../jsglue/index.js";
import { makeCopier } from "../../jsglue/copier.js";
import { JSGLUE } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
const COPIER = new URL("../../jsglue/copier.js", import.meta.url).href;
const COPIER_OK = makeCopier(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }),
  new WebAssembly.Memory({ initial: 1 })) !== null;

/** Run `src` (a worker body; `wd` is its workerData, `pool` its Pool) in `n` threads. */
function threads(src, datas) {
  const code = `
    const { parentPort, workerData: wd } = require("node:worker_threads");
    (async () => {
      const P = await import(wd.jsglue);
      const { makeCopier } = await import(wd.copier);
      const pool = new P.Pool(wd.memory);
      let s = wd.id * 7919 + 1;
      const rand = (n) => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) % n; };
      ${src}
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const workers = datas.map((d) => new Worker(code, { eval: true, workerData: { jsglue: JSGLUE, copier: COPIER, ...d } }));
  const done = Promise.all(workers.map((w) => new Promise((res, rej) => {
    w.once("message", res);
    w.once("error", rej);
  })));
  return { workers, done };
}

/**
 * Two writers rewrite runs of blocks of one file while two readers (JS copies, and the
 * wasm copier where there is one) check every block they read is whole and count their
 * reads beside a write. `fast`: the writers write from a wasm heap through the copier's
 * one-call write (fastio.js), and only runs of under FAST_MAX_LEN bytes — every write
 * goes the fast way, so reads beside need its announcement.
 */
async function besideRun(fast) {
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 512 * MiB });
  const root = pool.rootHandle();
  const h = pool.create(root.ino, root.gen, "big", FILE);
  pool.open(h.ino, h.gen);
  const BLOCKS = 4096; // 16 MiB of 4 KiB blocks, each holding one byte value at any time
  const init = new Uint8Array(BLOCKS * 4096);
  for (let b = 0; b < BLOCKS; b++) init.fill(2 + (b % 250), b * 4096, (b + 1) * 4096);
  pool.write(h.ino, h.gen, init, 0, init.length, 0);
  const stop = new Int32Array(new SharedArrayBuffer(8));
  // Writers rewrite runs of 16-640 blocks (64 KiB - 2.5 MiB: bulk writes, announced),
  // each run with one value; now and then one appends a run (the extent grows, and may
  // move). Readers read 16 blocks at a time at random and check each block is uniform.
  const src = `
    const stop = new Int32Array(wd.stop);
    const heap = new WebAssembly.Memory({ initial: 64 });
    const u8 = new Uint8Array(heap.buffer);
    const c = wd.fast || wd.fastWrites ? makeCopier(pool.memory, heap) : null;
    const size = () => pool.getattr(wd.h.ino, wd.h.gen).size;
    if (wd.role === "writer") {
      let writes = 0, fastWrites = 0, v = 2 + wd.id;
      while (!Atomics.load(stop, 0)) {
        const blocks = 16 + rand(wd.fastWrites ? 496 : 625);
        const have = size() / 4096;
        const at = rand(40) === 0 && have < 16384 ? have : rand(Math.max(1, have - blocks));
        u8.fill(v = (v % 250) + 2, 0, blocks * 4096);
        if (wd.fastWrites) {
          if (pool.write(wd.h.ino, wd.h.gen, u8, 0, blocks * 4096, at * 4096, false, c.copyIn, (...a) => {
            const r = c.write(...a);
            if (r >= 0) fastWrites++;
            return r;
          }) !== (at + blocks) * 4096) throw new Error("short write");
        } else pool.write(wd.h.ino, wd.h.gen, u8, 0, blocks * 4096, at * 4096);
        writes++;
      }
      parentPort.postMessage({ writes, fastWrites });
      return;
    }
    let reads = 0;
    while (!Atomics.load(stop, 0)) {
      const at = rand(size() / 4096 - 16) * 4096;
      const n = c ? pool.read(wd.h.ino, wd.h.gen, u8, 65536, 65536, at, c.copyOut)
        : pool.read(wd.h.ino, wd.h.gen, u8, 65536, 65536, at);
      if (n !== 65536) throw new Error("short read " + n + " at " + at);
      for (let b = 0; b < 16; b++) {
        const o = 65536 + b * 4096;
        for (let i = o + 1; i < o + 4096; i++) {
          if (u8[i] !== u8[o]) throw new Error("torn block at " + (at + b * 4096) + ": " + u8[o] + " then " + u8[i]);
        }
      }
      reads++;
    }
    parentPort.postMessage({ reads, beside: pool.stats().reads_beside_writes });
  `;
  const base = { memory: pool.memory, stop: stop.buffer, h };
  const { workers, done } = threads(src, [
    { ...base, id: 0, role: "writer", fastWrites: fast },
    { ...base, id: 1, role: "writer", fastWrites: fast },
    { ...base, id: 2, role: "reader", fast: false },
    { ...base, id: 3, role: "reader", fast: COPIER_OK },
  ]);
  try {
    await new Promise((res) => setTimeout(res, 3000));
    Atomics.store(stop, 0, 1);
    const out = await done;
    for (const o of out) assert.ok(!o.error, o.error);
    assert.ok(out[0].writes > 50 && out[1].writes > 50, JSON.stringify(out));
    assert.ok(out[2].reads > 100 && out[3].reads > 100, JSON.stringify(out));
    assert.ok(out[2].beside + out[3].beside > 10, `reads went beside the writes: ${JSON.stringify(out)}`);
    // (Some fast writes give up: a reader in, or no room — the JS path takes those.)
    if (fast) assert.ok(out[0].fastWrites + out[1].fastWrites > (out[0].writes + out[1].writes) / 2, JSON.stringify(out));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  assert.deepEqual(pool.validate(), []);
}

test("threads: reads beside bulk writes of the same file see whole blocks, and go on without the lock", { timeout: 120000 }, () =>
  besideRun(false));

test("threads: reads beside fast bulk writes (one wasm call each, fastio.js) see whole blocks, and go on without the lock",
  { timeout: 120000, skip: COPIER_OK ? false : "no wasm multi-memory in this engine (node 20)" }, () => besideRun(true));

test("a read waits for a big write only where the write changes bytes; the writer's slot announces it", { timeout: 60000 }, async () => {
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 512 * MiB });
  const root = pool.rootHandle();
  const h = pool.create(root.ino, root.gen, "f", FILE);
  pool.open(h.ino, h.gen);
  const SIZE = 192 * MiB;
  pool.write(h.ino, h.gen, new Uint8Array(SIZE).fill(7), 0, SIZE, 0);
  const stop = new Int32Array(new SharedArrayBuffer(8));
  // The worker rewrites bytes [64 MiB, 192 MiB) in single 128 MiB writes (each holds the
  // stripe for milliseconds, handing it over between 1 MiB pieces only to waiters, and
  // then announcing the rest: [64 MiB + done, 192 MiB)) with a new value each.
  const { workers, done } = threads(`
    const stop = new Int32Array(wd.stop);
    const src = new Uint8Array(128 * ${MiB});
    let writes = 0;
    while (!Atomics.load(stop, 0)) {
      src.fill(8 + (writes % 200));
      pool.write(wd.h.ino, wd.h.gen, src, 0, src.length, 64 * ${MiB});
      writes++;
    }
    parentPort.postMessage({ writes });`, [{ memory: pool.memory, stop: stop.buffer, h, id: 1 }]);
  const i32 = new Int32Array(pool.memory.buffer);
  const stripe = L.LOCKS_AT + (h.ino % L.STRIPES) * L.LOCK_BYTES;
  try {
    // Wait until the write is under way (its stripe write-held, its slot's WSEQ odd).
    const held = () => Atomics.load(i32, (stripe >> 2) + L.LK_STATE) < 0;
    for (const t0 = Date.now(); !held() && Date.now() - t0 < 20000;) await new Promise((r) => setTimeout(r, 1));
    assert.ok(held(), "the writer never held the stripe");
    const slot = -Atomics.load(i32, (stripe >> 2) + L.LK_STATE) - 1;
    const sw = (L.SLOTS_AT >> 2) + slot * (L.SLOT_BYTES >> 2);
    // The read of bytes the write does not change goes on beside it.
    const dst = new Uint8Array(4096);
    pool.resetLockWaits();
    let beside = 0;
    for (let k = 0; k < 2000; k++) {
      assert.equal(pool.read(h.ino, h.gen, dst, 0, 4096, (k * 4096) % (64 * MiB)), 4096);
      assert.ok(dst.every((b) => b === 7), "bytes outside the write changed");
      beside = pool.stats().reads_beside_writes;
    }
    assert.ok(beside > 0, "no read went beside the write");
    if (Atomics.load(i32, sw + L.S_WSEQ) & 1) {
      assert.equal(Atomics.load(i32, sw + L.S_WINO), h.ino);
      const lo = Atomics.load(i32, sw + L.S_WLO);
      assert.ok(lo >= 64 * MiB && lo < 192 * MiB, `announced from ${lo}`);
      assert.equal(Atomics.load(i32, sw + L.S_WHI), 192 * MiB);
    }
    // A read of bytes it changes takes the lock (the write hands it over between pieces)
    // and sees each block whole; bytes it wrote before a hand-over are no longer
    // announced, and reads of them may go beside the rest.
    for (let k = 0; k < 200; k++) {
      const at = 64 * MiB + ((k * 7919 * 4096) % (128 * MiB));
      assert.equal(pool.read(h.ino, h.gen, dst, 0, 4096, at), 4096);
      assert.ok(dst.every((b) => b === dst[0]), `a torn block at ${at}`);
    }
    assert.ok(pool.stats().lock_waits > 0, "reads of bytes being written never waited");
  } finally {
    Atomics.store(stop, 0, 1);
    const out = await done;
    await Promise.all(workers.map((w) => w.terminate()));
    for (const o of out) assert.ok(!o.error, o.error);
  }
  assert.deepEqual(pool.validate(), []);
});
