// The whole small read as one wasm call (jsglue/fastio.js, the copier's `read`): the
// same bytes as the JS path, the same lock protocol, and giving up to the JS path, holding
// nothing, wherever it should. Plain node; needs wasm multi-memory (node ≥ 24), skipped
// where the copier cannot be made (node 20).
import test from "node:test";
import assert from "node:assert/strict";
import { Pool, layout as L } from "../../jsglue/index.js";
import { makeCopier } from "../../jsglue/copier.js";
import { FAST_MAX_LEN, FAST_WAKE } from "../../jsglue/fastio.js";
import { bytes, rng } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
// A module importing two memories validates only where the engine has multi-memory.
const twoMemories = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 2, 15, 2, 1, 0x65, 1, 0x61, 2, 0, 1,
  1, 0x65, 1, 0x62, 2, 0, 1]);
const skip = WebAssembly.validate(twoMemories) ? false : "no wasm multi-memory in this engine (node 20)";
const probe = makeCopier(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }), new WebAssembly.Memory({ initial: 1 }));

test("the copier module compiles wherever the engine has multi-memory", { skip }, () => {
  assert.ok(probe, "makeCopier returned null: the module did not compile or instantiate");
  assert.equal(typeof probe.read, "function");
  assert.equal(typeof probe.write, "function");
});

/** A pool with one file of `size` bytes, an instance "heap" of 8 MiB and its copier. */
function setup(size) {
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 256 * MiB });
  const root = pool.rootHandle();
  const h = pool.create(root.ino, root.gen, "f", FILE);
  const data = bytes(size, 11);
  pool.open(h.ino, h.gen);
  pool.write(h.ino, h.gen, data, 0, size, 0);
  const heap = new WebAssembly.Memory({ initial: 128 }); // 8 MiB
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
  const wrote = { done: 0, gaveUp: 0 };
  const write = (...a) => {
    const r = copier.write(...a);
    wrote[r >= 0 ? "done" : "gaveUp"]++;
    return r;
  };
  /** Pool.write of `data` (copied into the heap at src first), fast path first. */
  const fastWrite = (data, pos, append = false, src = 5 * MiB) => {
    new Uint8Array(heap.buffer).set(data, src);
    return pool.write(h.ino, h.gen, new Uint8Array(heap.buffer), src, data.length, pos, append, copier.copyIn, write);
  };
  /** The inode's record (word index), found as the pool finds it. */
  const record = () => {
    const u32 = new Uint32Array(pool.memory.buffer);
    return (u32[L.SB_CHUNK_DIR + (h.ino >>> 10)] + (h.ino & 1023) * L.INODE_BYTES) >> 2;
  };
  return { pool, h, data, heap, copier, i32, stripe, sw, seen, fastRead, wrote, fastWrite, record };
}

test("fast reads return the bytes the JS path returns, at every size and offset", { skip }, () => {
  const size = 3 * MiB + 12345;
  const { pool, data, seen, fastRead, i32, sw, stripe } = setup(size);
  const r = rng(5);
  const lens = [0, 1, 7, 8, 9, 100, 4095, 4096, 4097, 65535, 65536, 70000, 1 << 20, 2 * MiB - 1, 2 * MiB, 3 * MiB];
  for (let k = 0; k < 3000; k++) {
    const len = k % 3 ? lens[r(lens.length)] : r(70000);
    const pos = k % 10 === 0 ? size - r(200) : k % 17 === 0 ? size + r(100) : r(size);
    const dst = r(2 * MiB);
    const [n, got] = fastRead(dst, len, pos);
    const want = data.subarray(Math.min(pos, size), Math.min(size, pos + len));
    assert.equal(n, want.length, `read ${len} at ${pos}`);
    assert.deepEqual(got, want, `read ${len} at ${pos}`);
  }
  // Reads under FAST_MAX_LEN took the fast path (the JS path took the longer ones).
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
  const { pool, h, heap, copier, i32, stripe, sw, fastRead, record } = setup(100000);
  const u32 = new Uint32Array(pool.memory.buffer);
  const rec = record();
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

test("fast writes store what the JS path stores: bytes, gaps, appends, sizes, growth", { skip }, () => {
  const { pool, h, data, wrote, fastWrite } = setup(150000);
  let model = new Uint8Array(data);
  const r = rng(21);
  const lens = [1, 7, 8, 100, 4096, 4097, 30000, 65535, 65536, 100000, MiB, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1];
  for (let k = 0; k < 600; k++) {
    const len = lens[r(lens.length)];
    const append = k % 11 === 0;
    const pos = append ? 0 : k % 7 === 0 ? model.length + r(70000) : r(model.length);
    const buf = bytes(len, k + 100);
    const end = fastWrite(buf, pos, append);
    const at = append ? model.length : pos;
    assert.equal(end, at + len, `write ${len} at ${at}`);
    if (at + len > model.length) {
      const next = new Uint8Array(at + len);
      next.set(model);
      model = next;
    }
    model.set(buf, at);
    if (k % 100 === 0) assert.deepEqual(pool.validate(), []);
  }
  assert.equal(pool.getattr(h.ino, h.gen).size, model.length);
  const out = new Uint8Array(model.length);
  assert.equal(pool.read(h.ino, h.gen, out, 0, out.length, 0), model.length);
  assert.ok(Buffer.from(out).equals(Buffer.from(model)), "content differs from the model");
  // Most took the fast path; growth past the extent's room took the JS path.
  assert.ok(wrote.done > 300 && wrote.gaveUp > 5, JSON.stringify(wrote));
  assert.deepEqual(pool.validate(), []);
});

test("a fast write sets mtime and ctime, marks its pages dirty and wakes sleepers", { skip }, () => {
  const { pool, h, i32, stripe, sw, fastWrite, record } = setup(300000);
  const before = pool.getattr(h.ino, h.gen);
  const bm = L.DIRTY_AT >> 2;
  const words = L.DIRTY_BYTES >> 2;
  for (let k = 0; k < words; k++) i32()[bm + k] = 0;
  const u32 = new Uint32Array(pool.memory.buffer);
  const ext = u32[record() + L.I_EXTENT];
  // 5000 bytes across a 64 KiB page boundary of the extent
  const boundary = (Math.floor(ext / 65536) + 1) * 65536;
  const pos = boundary - ext - 2000;
  const hb = i32()[sw + L.S_HB];
  i32()[stripe + L.LK_SLEEPERS] = 1;
  const seq = i32()[stripe + L.LK_SEQ];
  const t0 = Date.now();
  assert.equal(fastWrite(bytes(5000, 3), pos), pos + 5000);
  i32()[stripe + L.LK_SLEEPERS] = 0;
  assert.equal(i32()[stripe + L.LK_SEQ], seq + 1, "sleepers woken");
  assert.equal(i32()[sw + L.S_HB], (hb + 1) | 0, "heartbeat");
  assert.equal(i32()[stripe + L.LK_STATE], 0, "lock released");
  const after = pool.getattr(h.ino, h.gen);
  assert.ok(after.mtime >= t0 && after.mtime >= before.mtime && after.ctime === after.mtime, JSON.stringify(after));
  const marked = [];
  for (let k = 0; k < words; k++) {
    for (let b = 0; b < 32; b++) if (i32()[bm + k] & (1 << b)) marked.push(k * 32 + b);
  }
  const want = [...new Set([(boundary - 65536) / 65536, boundary / 65536, Math.floor((record() * 4) / 65536)])].sort((a, b) => a - b);
  assert.deepEqual(marked, want);
});

test("bulk calls under FAST_MAX_LEN go fast: COPIERS and COPY_PEAK counted, a write announced and its announcement ended", { skip }, () => {
  const { pool, h, i32, sw, seen, wrote, fastRead, fastWrite } = setup(4 * MiB);
  assert.equal(FAST_MAX_LEN, 2 * MiB);
  const peak = () => i32()[L.SB_COPY_PEAK];
  const wseq = i32()[sw + L.S_WSEQ];
  let writes = 0;
  for (const len of [L.BULK_COPY - 1, L.BULK_COPY, MiB, FAST_MAX_LEN - 1]) {
    const bulk = len >= L.BULK_COPY;
    i32()[L.SB_COPY_PEAK] = 0;
    const data = bytes(len, len & 255);
    const done = wrote.done;
    assert.equal(fastWrite(data, 12345), 12345 + len);
    assert.equal(wrote.done, done + 1, `a write of ${len} bytes went fast`);
    if (bulk) writes++;
    assert.equal(peak(), bulk ? 1 : 0, `a write of ${len} bytes counted in COPY_PEAK`);
    assert.equal(i32()[L.SB_COPIERS], 0);
    // Announced (WSEQ odd while it copied, its range in WINO/WLO/WHI), then ended: even.
    assert.equal(i32()[sw + L.S_WSEQ], wseq + 2 * writes, `WSEQ after a write of ${len} bytes`);
    if (bulk) {
      assert.deepEqual([i32()[sw + L.S_WINO], i32()[sw + L.S_WLO], i32()[sw + L.S_WHI]], [h.ino, 12345, 12345 + len]);
    }
    i32()[L.SB_COPY_PEAK] = 0;
    const n = seen.done;
    const [got, back] = fastRead(100, len, 12345);
    assert.equal(got, len);
    assert.ok(Buffer.from(back).equals(Buffer.from(data)), `read back ${len} bytes`);
    assert.equal(seen.done, n + 1, `a read of ${len} bytes went fast`);
    assert.equal(peak(), bulk ? 1 : 0, `a read of ${len} bytes counted in COPY_PEAK`);
    assert.equal(i32()[L.SB_COPIERS], 0);
  }
  // An append past the size announces [size, end) — the bytes it changes.
  const size = pool.getattr(h.ino, h.gen).size;
  const u32 = new Uint32Array(pool.memory.buffer);
  assert.equal(fastWrite(bytes(L.BULK_COPY, 9), 0, true), size + L.BULK_COPY);
  assert.deepEqual([u32[sw + L.S_WLO], u32[sw + L.S_WHI]], [size, size + L.BULK_COPY]);
  // A gap: [size, end) too (the zeros and the bytes).
  const at = size + L.BULK_COPY + 5000;
  assert.equal(fastWrite(bytes(L.BULK_COPY, 10), at), at + L.BULK_COPY);
  assert.deepEqual([u32[sw + L.S_WLO], u32[sw + L.S_WHI]], [size + L.BULK_COPY, at + L.BULK_COPY]);
  assert.equal(i32()[sw + L.S_WSEQ] & 1, 0);
  // FAST_MAX_LEN bytes or more: the JS path (in pieces).
  const before = { read: seen.done + seen.gaveUp, write: wrote.done + wrote.gaveUp };
  assert.equal(fastWrite(bytes(FAST_MAX_LEN, 4), 0), FAST_MAX_LEN);
  assert.equal(fastRead(0, FAST_MAX_LEN, 0)[0], FAST_MAX_LEN);
  assert.deepEqual({ read: seen.done + seen.gaveUp, write: wrote.done + wrote.gaveUp }, before);
  assert.deepEqual(pool.validate(), []);
});

test("a fast write gives the stripe back to a reader, a move, a write needing room", { skip }, () => {
  const { pool, h, copier, i32, stripe, sw, record, fastWrite } = setup(100000);
  const gen = i32()[sw + L.S_GEN];
  const me = -(pool.slot + 1);
  const call = (len = 100, pos = 0) => copier.write(stripe << 2, sw << 2, gen, me, h.ino, 0, len, pos, 0, Date.now());
  // Another slot (live, say) read-holds the stripe: given back.
  const other = (L.SLOTS_AT + 5 * L.SLOT_BYTES) >> 2;
  const high = i32()[L.SB_SLOTS_HIGH];
  i32()[L.SB_SLOTS_HIGH] = Math.max(high, 6);
  i32()[other + L.S_RLOCK] = stripe << 2;
  assert.equal(call(), -2);
  assert.equal(i32()[stripe + L.LK_STATE], 0);
  i32()[other + L.S_RLOCK] = 0;
  i32()[L.SB_SLOTS_HIGH] = high;
  // A writer holds it / is named next: nothing taken.
  i32()[stripe + L.LK_STATE] = -9;
  assert.equal(call(), -1);
  assert.equal(i32()[stripe + L.LK_STATE], -9);
  i32()[stripe + L.LK_STATE] = 0;
  i32()[stripe + L.LK_WNEXT] = 9;
  assert.equal(call(), -1);
  i32()[stripe + L.LK_WNEXT] = 0;
  // The extent is being moved: given back.
  const rec = record();
  const u32 = new Uint32Array(pool.memory.buffer);
  u32[rec + L.I_MOVING] = 1;
  assert.equal(call(), -2);
  u32[rec + L.I_MOVING] = 0;
  // Past the extent's room: given back, then the JS path grows it.
  const cap = u32[rec + L.I_CAP];
  assert.equal(call(100, cap), -2);
  assert.equal(i32()[stripe + L.LK_STATE], 0);
  assert.equal(fastWrite(bytes(100, 1), cap), cap + 100);
  assert.equal(pool.getattr(h.ino, h.gen).size, cap + 100);
  // Evicted: refused.
  assert.equal(copier.write(stripe << 2, sw << 2, gen + 1, me, h.ino, 0, 100, 0, 0, 0), -1);
  assert.equal(call(), 100);
  assert.deepEqual(pool.validate(), []);
});

test("threads: fast and JS readers never see a 4 KiB block half-written by fast and JS writers, as the file grows", { skip, timeout: 120000 }, async () => {
  const { Worker } = await import("node:worker_threads");
  const { JSGLUE } = await import("./helpers.mjs");
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 256 * MiB });
  const root = pool.rootHandle();
  const h = pool.create(root.ino, root.gen, "blocks", FILE);
  pool.open(h.ino, h.gen);
  pool.write(h.ino, h.gen, new Uint8Array(65536).fill(1), 0, 65536, 0);
  const stop = new Int32Array(new SharedArrayBuffer(8));
  // Every 4 KiB block of the file holds one byte value at any time: the writers rewrite
  // blocks (and runs of blocks) whole, each with its own values, and append blocks (the
  // extent grows, and moves when it cannot grow in place); readers check each block they
  // read is uniform. Writer 0 and readers 2 and 3 take the fast paths, the others JS.
  const src = `
    const { parentPort, workerData: wd } = require("node:worker_threads");
    (async () => {
      const P = await import(wd.jsglue);
      const { makeCopier } = await import(wd.copier);
      const pool = new P.Pool(wd.memory);
      const stop = new Int32Array(wd.stop);
      let s = wd.id * 7919 + 1;
      const rand = (n) => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) % n; };
      const heap = new WebAssembly.Memory({ initial: 16 });
      const c = wd.fast ? makeCopier(pool.memory, heap) : null;
      if (wd.fast && !c) throw new Error("no copier");
      if (wd.role === "writer") {
        let v = 2 + wd.id, writes = 0, fast = 0;
        const fw = c && ((...a) => { const r = c.write(...a); if (r >= 0) fast++; return r; });
        const src = new Uint8Array(heap.buffer);
        while (!Atomics.load(stop, 0)) {
          const size = pool.getattr(wd.h.ino, wd.h.gen).size;
          const blocks = rand(4) === 0 ? 1 + rand(15) : 1;
          const at = rand(50) === 0 && size < ${MiB} ? size : rand(size / 4096) * 4096;
          src.fill(v = (v % 250) + 2, 0, blocks * 4096);
          if (c) pool.write(wd.h.ino, wd.h.gen, src, 0, blocks * 4096, at, false, c.copyIn, fw);
          else pool.write(wd.h.ino, wd.h.gen, src, 0, blocks * 4096, at);
          writes++;
        }
        parentPort.postMessage({ writes, fast });
        return;
      }
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
  const roles = [["writer", true], ["writer", false], ["reader", true], ["reader", true], ["reader", false]];
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
  assert.ok(out[0].writes > 100 && out[1].writes > 100, JSON.stringify(out));
  for (const o of out.slice(2)) assert.ok(o.reads > 100, JSON.stringify(out));
  assert.ok(out[0].fast > 50 && out[2].fast > 50 && out[3].fast > 50, `the fast paths were taken: ${JSON.stringify(out)}`);
  assert.deepEqual(pool.validate(), []);
});
