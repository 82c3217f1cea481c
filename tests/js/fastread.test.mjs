// The whole small read as one wasm call (jsglue/fastread.js, the copier's `read`): the
// same bytes as the JS path, the same lock protocol, and giving up to the JS path, holding
// nothing, wherever it should. Plain node; needs wasm multi-memory (node ≥ 24), skipped
// where the copier cannot be made (node 20).
import test from "node:test";
import assert from "node:assert/strict";
import { Pool, layout as L } from "../../jsglue/index.js";
import { makeCopier } from "../../jsglue/copier.js";
import { FAST_WAKE } from "../../jsglue/fastread.js";
import { bytes, rng } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
const probe = makeCopier(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }), new WebAssembly.Memory({ initial: 1 }));
const skip = probe === null ? "no wasm multi-memory in this engine (node 20)" : false;

/** A pool with one file of `size` bytes, an instance "heap" of 4 MiB and its copier. */
function setup(size) {
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 256 * MiB });
  const root = pool.rootHandle();
  const h = pool.create(root.ino, root.gen, "f", FILE);
  const data = bytes(size, 11);
  pool.open(h.ino, h.gen);
  pool.write(h.ino, h.gen, data, 0, size, 0);
  const heap = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
  const copier = /** @type {NonNullable<typeof probe>} */ (makeCopier(pool.memory, heap));
  const i32 = () => new Int32Array(pool.memory.buffer);
  const stripe = (L.LOCKS_AT + (h.ino % L.STRIPES) * L.LOCK_BYTES) >> 2; // word index
  const sw = (L.SLOTS_AT + pool.slot * L.SLOT_BYTES) >> 2;
  // Count what the fast path answered: ≥ 0 done, < 0 gave up.
  const seen = { done: 0, gaveUp: 0 };
  const read = (...a) => {
    const r = copier.read(...a);
    seen[r >= 0 ? "done" : "gaveUp"]++;
    return r;
  };
  /** Pool.read into the heap at dst, fast path first; returns [n, the bytes]. */
  const fastRead = (dst, len, pos) => {
    const n = pool.read(h.ino, h.gen, new Uint8Array(heap.buffer), dst, len, pos, copier.copyOut, read);
    return [n, new Uint8Array(heap.buffer).slice(dst, dst + n)];
  };
  return { pool, h, data, heap, copier, i32, stripe, sw, seen, fastRead };
}

test("fast reads return the bytes the JS path returns, at every size and offset", { skip }, () => {
  const size = 3 * MiB + 12345;
  const { pool, data, seen, fastRead, i32, sw, stripe } = setup(size);
  const r = rng(5);
  const lens = [0, 1, 7, 8, 9, 100, 4095, 4096, 4097, 65535, 65536, 70000, 1 << 20];
  for (let k = 0; k < 3000; k++) {
    const len = k % 3 ? lens[r(lens.length)] : r(70000);
    const pos = k % 10 === 0 ? size - r(200) : k % 17 === 0 ? size + r(100) : r(size);
    const dst = r(2 * MiB);
    const [n, got] = fastRead(dst, len, pos);
    const want = data.subarray(Math.min(pos, size), Math.min(size, pos + len));
    assert.equal(n, want.length, `read ${len} at ${pos}`);
    assert.deepEqual(got, want, `read ${len} at ${pos}`);
  }
  // Small reads took the fast path (the JS path took the bulk ones).
  assert.ok(seen.done > 1500 && seen.gaveUp === 0, JSON.stringify(seen));
  assert.equal(i32()[sw + L.S_RLOCK], 0, "no read lock left held");
  assert.equal(i32()[stripe + L.LK_STATE], 0);
  assert.deepEqual(pool.validate(), []);
});

test("a fast read bumps the heartbeat and wakes the stripe's sleepers as readUnlock does", { skip }, () => {
  const { fastRead, i32, sw, stripe, seen, data } = setup(100000);
  const hb = i32()[sw + L.S_HB];
  fastRead(0, 4096, 0);
  assert.equal(i32()[sw + L.S_HB], (hb + 1) | 0);
  // A sleeper registered on the stripe: the read is answered with FAST_WAKE and the lock's
  // SEQ moves (Locks.wake), as after a JS read unlock.
  i32()[stripe + L.LK_SLEEPERS] = 1;
  const seq = i32()[stripe + L.LK_SEQ];
  const [n, got] = fastRead(100, 5000, 777);
  assert.equal(n, 5000);
  assert.deepEqual(got, data.subarray(777, 5777));
  assert.equal(i32()[stripe + L.LK_SEQ], seq + 1);
  assert.equal(seen.done, 2);
  i32()[stripe + L.LK_SLEEPERS] = 0;
  assert.ok(FAST_WAKE > 65536);
});

test("a writer in or named next: the fast path takes nothing and the JS path decides", { skip }, () => {
  const { pool, h, copier, i32, stripe, sw } = setup(100000);
  const call = () => copier.read(stripe << 2, sw << 2, i32()[sw + L.S_GEN], h.ino, 0, 4096, 0);
  // Another instance (id 7) holds the stripe for writing.
  i32()[stripe + L.LK_STATE] = -7;
  assert.equal(call(), -1);
  assert.equal(i32()[sw + L.S_RLOCK], 0);
  assert.equal(i32()[stripe + L.LK_STATE], -7);
  i32()[stripe + L.LK_STATE] = 0;
  // A writer named next.
  i32()[stripe + L.LK_WNEXT] = 7;
  assert.equal(call(), -1);
  assert.equal(i32()[sw + L.S_RLOCK], 0);
  i32()[stripe + L.LK_WNEXT] = 0;
  // Holding a read lock already (a bug): refused here, reported by the JS path.
  i32()[sw + L.S_RLOCK] = 4096;
  assert.equal(call(), -1);
  i32()[sw + L.S_RLOCK] = 0;
  // Not our generation (evicted): refused; the JS path throws EvictedError.
  assert.equal(copier.read(stripe << 2, sw << 2, i32()[sw + L.S_GEN] + 1, h.ino, 0, 4096, 0), -1);
  i32()[sw + L.S_STATE] = L.SLOT_DEAD;
  assert.throws(() => pool.read(h.ino, h.gen, new Uint8Array(16), 0, 16, 0, copier.copyOut, copier.read),
    /evicted/);
  i32()[sw + L.S_STATE] = L.SLOT_LIVE;
  assert.equal(call(), 4096);
});

test("a corrupt extent or a read past the heap: lock given back, the JS path reports it", { skip }, () => {
  const { pool, h, heap, copier, i32, stripe, sw, fastRead } = setup(100000);
  // The inode's record: find it through the chunk directory, as the pool does.
  const u32 = new Uint32Array(pool.memory.buffer);
  const rec = (u32[L.SB_CHUNK_DIR + (h.ino >>> 10)] + (h.ino & 1023) * L.INODE_BYTES) >> 2;
  const cap = u32[rec + L.I_CAP];
  u32[rec + L.I_CAP] = 10; // smaller than the size
  assert.equal(copier.read(stripe << 2, sw << 2, i32()[sw + L.S_GEN], h.ino, 0, 4096, 0), -2);
  assert.equal(i32()[sw + L.S_RLOCK], 0);
  assert.throws(() => fastRead(0, 4096, 0), (e) => e.code === "EIO");
  u32[rec + L.I_CAP] = cap;
  // dst + n past the heap's end: not copied (no trap with the lock held).
  const end = heap.buffer.byteLength;
  assert.equal(copier.read(stripe << 2, sw << 2, i32()[sw + L.S_GEN], h.ino, end - 100, 4096, 0), -2);
  assert.equal(i32()[sw + L.S_RLOCK], 0);
  assert.equal(copier.read(stripe << 2, sw << 2, i32()[sw + L.S_GEN], h.ino, end - 4096, 4096, 0), 4096);
  assert.throws(() => fastRead(end - 100, 4096, 0));
  assert.equal(i32()[sw + L.S_RLOCK], 0, "the JS path's failure released the lock too");
  assert.equal(fastRead(0, 4096, 0)[0], 4096);
  assert.deepEqual(pool.validate(), []);
});

test("fast reads see writes, truncates and moves made since (the pool is the truth)", { skip }, () => {
  const { pool, h, fastRead, seen } = setup(200000);
  const model = new Uint8Array(bytes(200000, 11));
  let cur = model;
  const r = rng(9);
  for (let k = 0; k < 400; k++) {
    const op = r(4);
    if (op === 0) {
      const n = r(100000);
      pool.truncate(h.ino, h.gen, n);
      const next = new Uint8Array(n);
      next.set(cur.subarray(0, Math.min(n, cur.length)));
      cur = next;
    } else if (op === 1) {
      const data = bytes(1 + r(300000), k + 3); // may grow (and move) the extent
      const pos = r(cur.length + 1000);
      pool.write(h.ino, h.gen, data, 0, data.length, pos);
      const next = new Uint8Array(Math.max(cur.length, pos + data.length));
      next.set(cur);
      next.set(data, pos);
      cur = next;
    } else {
      if (k % 50 === 0) pool.compact();
      const pos = r(cur.length + 10);
      const len = r(20000);
      const [n, got] = fastRead(r(MiB), len, pos);
      const want = cur.subarray(Math.min(pos, cur.length), Math.min(cur.length, pos + len));
      assert.equal(n, want.length);
      assert.deepEqual(got, want, `step ${k}: ${len} at ${pos}`);
    }
  }
  assert.ok(seen.done > 100);
  assert.deepEqual(pool.validate(), []);
});

test("threads: fast readers never see a 4 KiB block half-written while a writer rewrites and grows the file", { skip, timeout: 120000 }, async () => {
  const { Worker } = await import("node:worker_threads");
  const { JSGLUE } = await import("./helpers.mjs");
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 256 * MiB });
  const root = pool.rootHandle();
  const h = pool.create(root.ino, root.gen, "blocks", FILE);
  pool.open(h.ino, h.gen);
  pool.write(h.ino, h.gen, new Uint8Array(MiB).fill(1), 0, MiB, 0);
  const stop = new Int32Array(new SharedArrayBuffer(8));
  // Every 4 KiB block of the file holds one byte value at any time: the writer rewrites
  // blocks (and runs of blocks) whole, with a new value each, and appends blocks (the
  // extent grows, and moves when it cannot grow in place); readers check each block they
  // read is uniform. Readers 0 and 1 take the fast path, reader 2 the JS path.
  const src = `
    const { parentPort, workerData: wd } = require("node:worker_threads");
    (async () => {
      const P = await import(wd.jsglue);
      const { makeCopier } = await import(wd.copier);
      const pool = new P.Pool(wd.memory);
      const stop = new Int32Array(wd.stop);
      let s = wd.id * 7919 + 1;
      const rand = (n) => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) % n; };
      if (wd.role === "writer") {
        let v = 2, size = ${MiB}, writes = 0;
        while (!Atomics.load(stop, 0)) {
          const blocks = rand(4) === 0 ? 1 + rand(64) : 1;
          const at = rand(size / 4096);
          const buf = new Uint8Array(blocks * 4096).fill(v = (v % 250) + 2);
          if (rand(50) === 0 && size < ${48 * MiB}) {
            pool.write(wd.h.ino, wd.h.gen, buf, 0, buf.length, size);
            size += buf.length;
          } else {
            pool.write(wd.h.ino, wd.h.gen, buf, 0, buf.length, at * 4096);
            size = Math.max(size, (at + blocks) * 4096);
          }
          writes++;
        }
        parentPort.postMessage({ writes });
        return;
      }
      const heap = new WebAssembly.Memory({ initial: 16 });
      const c = wd.fast ? makeCopier(pool.memory, heap) : null;
      if (wd.fast && !c) throw new Error("no copier");
      let reads = 0, fast = 0;
      const fr = c && ((...a) => { const r = c.read(...a); if (r >= 0) fast++; return r; });
      const dst = new Uint8Array(heap.buffer);
      while (!Atomics.load(stop, 0)) {
        const size = pool.getattr(wd.h.ino, wd.h.gen).size;
        const at = rand(size / 4096) * 4096;
        const n = c ? pool.read(wd.h.ino, wd.h.gen, dst, 8192, 4096, at, c.copyOut, fr)
          : pool.read(wd.h.ino, wd.h.gen, dst, 8192, 4096, at);
        if (n !== 4096) throw new Error("short read " + n + " at " + at);
        const b = dst[8192];
        for (let i = 8193; i < 8192 + 4096; i++) {
          if (dst[i] !== b) throw new Error("torn block at " + at + ": " + b + " then " + dst[i] + " at +" + (i - 8192));
        }
        reads++;
      }
      parentPort.postMessage({ reads, fast });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  const copierUrl = new URL("../../jsglue/copier.js", import.meta.url).href;
  const roles = [["writer", false], ["reader", true], ["reader", true], ["reader", false]];
  const workers = roles.map(([role, fast], id) => new Worker(src, {
    eval: true,
    workerData: { jsglue: JSGLUE, copier: copierUrl, memory: pool.memory, stop: stop.buffer, h, role, fast, id },
  }));
  const done = workers.map((w) => new Promise((res, rej) => {
    w.once("message", res);
    w.once("error", rej);
  }));
  await new Promise((res) => setTimeout(res, 2500));
  Atomics.store(stop, 0, 1);
  const out = await Promise.all(done);
  await Promise.all(workers.map((w) => w.terminate()));
  for (const o of out) assert.ok(!o.error, o.error);
  assert.ok(out[0].writes > 100, JSON.stringify(out));
  for (const o of out.slice(1)) assert.ok(o.reads > 100, JSON.stringify(out));
  assert.ok(out[1].fast > 50 && out[2].fast > 50, `fast readers took the fast path: ${JSON.stringify(out)}`);
  assert.deepEqual(pool.validate(), []);
});
