// The kill test with real threads: a worker_thread writes, appends, renames and
// deletes files in a shared pool and is terminated (worker.terminate()) at a random
// moment, again and again. The survivor (this thread, which keeps using the pool
// meanwhile) must never hang, the pool must check clean after every kill, and every
// file whose close() returned before the kill must be intact.
//
// Half the kills are announced with pool.evict() (a host that terminated its worker);
// in the other half the survivor finds the dead holder by its lease.
//   XMFS_KILL_ITERS   iterations (default 200)
//   XMFS_KILL_SEED    seed of the random schedule (default 1)
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import { Pool, spawnScript, layout as L } from "../../jsglue/index.js";
import { JSGLUE, ROOT, rng } from "./helpers.mjs";

const ITERS = Number(process.env.XMFS_KILL_ITERS || 200);
const SEED = Number(process.env.XMFS_KILL_SEED || 1);
const LEASE_MS = 200;
const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;

// The worker, shared with the Pyodide kill test: it writes, appends, renames and
// deletes files in /w and journals each finished operation (see its header).
const WORKER_SRC = fs.readFileSync(path.join(ROOT, "tests", "pyodide_lib", "kill_worker.js"), "utf8");
const J_ENTRY = 5;
const J_HDR = 4;


function fill(n, seed) {
  const a = new Uint8Array(n);
  let y = seed | 1;
  for (let i = 0; i < n; i++) {
    y = (Math.imul(y, 1103515245) + 12345) | 0;
    a[i] = y >>> 24;
  }
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Run pool ops until `until`, yielding to the event loop between them. */
async function survive(pool, until, rnd, stats) {
  const root = pool.rootHandle();
  const mine = pool.lookup(root.ino, root.gen, "main");
  while (Date.now() < until) {
    const t0 = Date.now();
    const name = `m${rnd(20)}`;
    const h = pool.find(mine.ino, mine.gen, name) || pool.create(mine.ino, mine.gen, name, FILE);
    const data = fill(1 + rnd(50000), rnd(1000));
    pool.open(h.ino, h.gen);
    pool.write(h.ino, h.gen, data, 0, data.length, 0, false);
    pool.truncate(h.ino, h.gen, data.length);
    const back = new Uint8Array(data.length);
    pool.read(h.ino, h.gen, back, 0, back.length, 0);
    pool.close(h.ino, h.gen);
    assert.deepEqual(back, data);
    if (rnd(4) === 0) pool.unlink(mine.ino, mine.gen, name);
    pool.readdir(root.ino, root.gen);
    stats.maxOp = Math.max(stats.maxOp, Date.now() - t0);
    await sleep(rnd(3));
  }
}

test(`kill test: a writing worker terminated at random ${ITERS} times, the survivor never stuck`, async () => {
  const pool = Pool.create({ initialBytes: 4 << 20, maximumBytes: 512 << 20, leaseMs: LEASE_MS });
  const root = pool.rootHandle();
  pool.create(root.ino, root.gen, "w", DIR);
  pool.create(root.ino, root.gen, "main", DIR);
  const journal = new SharedArrayBuffer(4 * (J_HDR + J_ENTRY * 200000));
  const J = new Int32Array(journal);
  const model = new Map(); // name id -> [size, hash] of files closed and journaled
  let nextName = 1;
  let seen = 0;
  const rnd = rng(SEED);
  const stats = { maxOp: 0, maxRecover: 0, leaseKills: 0, evictKills: 0, idleKills: 0 };
  for (let it = 0; it < ITERS; it++) {
    const w = await spawnScript(WORKER_SRC, {
      module: JSGLUE,
      memory: pool.memory,
      journal,
      seed: SEED * 100003 + it,
      dir: "w",
      names: [...model.keys()],
      nextName,
    });
    const hello = w.first;
    // Let it work for a random while (the survivor works too), then kill it.
    await survive(pool, Date.now() + 5 + rnd(120), rnd, stats);
    await w.terminate();
    assert.deepEqual(w.errors, [], `iteration ${it}: the worker failed on its own`);
    const t0 = Date.now();
    if (it % 2 === 0) {
      pool.evict(hello.instanceId);
      stats.evictKills++;
    } else {
      stats.leaseKills++; // the survivor runs into the dead worker's locks, if any
    }
    await survive(pool, Date.now() + 1, rnd, stats);
    const sub = pool.lookup(root.ino, root.gen, "w");
    pool.readdir(sub.ino, sub.gen);
    pool.compact(); // takes every lock: any left by the dead worker is reclaimed here
    stats.maxRecover = Math.max(stats.maxRecover, Date.now() - t0);
    assert.ok(Date.now() - t0 < 5000, `iteration ${it}: the survivor waited ${Date.now() - t0} ms`);
    assert.deepEqual(pool.validate(), [], `iteration ${it}: pool unsound after the kill`);
    if (pool.evict(hello.instanceId)) {
      // A worker killed while holding no lock blocks nobody, so nobody notices; its
      // host evicts it (releasing the files it held open), as Workers does.
      assert.ok(it % 2 === 1, `iteration ${it}: evicted twice`);
      stats.idleKills++;
      assert.deepEqual(pool.validate(), [], `iteration ${it}: pool unsound after evicting`);
    }
    assert.equal(pool.instances().length, 1, `iteration ${it}: the dead worker's slot is still taken`);
    // Replay the journal into the model; names the worker was busy with are unknown.
    const n = Atomics.load(J, 0);
    for (; seen < n; seen++) {
      const e = J_HDR + seen * J_ENTRY;
      const [type, a, b, size, hash] = J.subarray(e, e + J_ENTRY);
      if (type === 1) model.set(a, [size, hash >>> 0]); // (hash: CRC-32)
      else if (type === 2) {
        model.set(b, model.get(a));
        model.delete(a);
      } else model.delete(a);
      nextName = Math.max(nextName, a + 1, b + 1);
    }
    const busy = [Atomics.load(J, 1), Atomics.load(J, 2)].filter(Boolean);
    for (const id of busy) {
      nextName = Math.max(nextName, id + 1);
      // Its state is whatever the kill left: drop it from the test's world.
      const h = pool.find(sub.ino, sub.gen, `f${id}`);
      if (h) pool.unlink(sub.ino, sub.gen, `f${id}`);
      model.delete(id);
    }
    Atomics.store(J, 1, 0);
    Atomics.store(J, 2, 0);
    // Every closed, journaled file is intact; nothing else is there.
    const names = pool.readdir(sub.ino, sub.gen).sort();
    assert.deepEqual(names, [...model.keys()].map((id) => `f${id}`).sort(), `iteration ${it}: listing`);
    for (const [id, [size, hash]] of model) {
      const h = pool.lookup(sub.ino, sub.gen, `f${id}`);
      const out = new Uint8Array(size);
      pool.open(h.ino, h.gen);
      assert.equal(pool.getattr(h.ino, h.gen).size, size, `iteration ${it}: size of f${id}`);
      pool.read(h.ino, h.gen, out, 0, size, 0);
      pool.close(h.ino, h.gen);
      assert.equal(crc32(out), hash, `iteration ${it}: content of f${id}`);
    }
    // Keep the pool from filling up.
    if (model.size > 40) {
      for (const id of [...model.keys()].slice(0, 20)) {
        pool.unlink(sub.ino, sub.gen, `f${id}`);
        model.delete(id);
      }
    }
  }
  assert.deepEqual(pool.validate(), []);
  console.log(`kill test: ${ITERS} kills (${stats.evictKills} evicted, ${stats.leaseKills} found by the survivor, of which ` +
    `${stats.idleKills} held no lock and were evicted after), ` +
    `${pool.stats().recoveries} recoveries, longest survivor op ${stats.maxOp} ms, ` +
    `longest recovery ${stats.maxRecover} ms, ${Atomics.load(J, 0)} worker ops journaled`);
});

/**
 * Instance a (lease 200 ms) and a second instance b of its pool in this thread, which the
 * test makes look dead: b's slot and the word index of its slot record.
 */
function twoInstances() {
  const a = Pool.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20, leaseMs: 200 });
  const b = new Pool(a.memory);
  const slot = b.instanceId % 256;
  return { a, i32: new Int32Array(a.memory.buffer), slot, sw: (L.SLOTS_AT >> 2) + slot * (L.SLOT_BYTES >> 2) };
}

test("a dead instance named as META's next writer (WNEXT) is recovered, not waited for", () => {
  // A worker killed while it was the writer named next for META (the no-barging turn)
  // and half-recovered (state DEAD): the next writer must clear its turn, not defer to
  // it (which recursed through recovery until the stack overflowed).
  const { a, i32, slot, sw } = twoInstances();
  Atomics.store(i32, (L.SB_META_LOCK >> 2) + L.LK_WNEXT, slot + 1);
  Atomics.store(i32, sw + L.S_STATE, L.SLOT_DEAD);
  const r = a.rootHandle();
  a.create(r.ino, r.gen, "after", L.S_IFREG | 0o644); // takes META for writing
  assert.equal(Atomics.load(i32, (L.SB_META_LOCK >> 2) + L.LK_WNEXT), 0);
  assert.equal(Atomics.load(i32, sw + L.S_STATE), L.SLOT_FREE);
  assert.deepEqual(a.validate(), []);
  assert.notEqual(a.lookup(r.ino, r.gen, "after"), null);
});

test("a holder is presumed dead only after the lease of time its waiter watched: time the waiter was off the CPU does not count", () => {
  // b "holds" META and never beats (as a dead instance would). a waits for it. While a's
  // clock jumps 300 ms between two looks (a waiter that did not run: an overloaded
  // machine, a stopped VM, a sleeping laptop) a must not recover b, however long that
  // lasts — a live holder taken for dead goes on writing into what recovery gave back
  // (threads.test.mjs corrupted the heap so under load). Then, watching in real time,
  // it recovers b after the lease.
  const { a, i32, slot, sw } = twoInstances();
  Atomics.store(i32, (L.SB_META_LOCK >> 2) + L.LK_STATE, -(slot + 1));
  const realNow = performance.now.bind(performance);
  let jumps = 40;
  let offset = 0;
  performance.now = () => {
    if (jumps > 0) {
      jumps--;
      offset += 300;
    }
    return realNow() + offset;
  };
  const t0 = realNow();
  let r;
  try {
    r = a.rootHandle(); // waits for META
    a.create(r.ino, r.gen, "after", L.S_IFREG | 0o644);
  } finally {
    performance.now = realNow;
  }
  assert.equal(jumps, 0, `b was recovered while a's clock still jumped (${jumps} jumps left)`);
  const waited = realNow() - t0;
  assert.ok(waited >= 150, `recovered before a watched for the lease (${waited} ms)`);
  assert.equal(Atomics.load(i32, sw + L.S_STATE), L.SLOT_FREE);
  assert.equal(a.stats().recoveries, 1);
  assert.deepEqual(a.validate(), []);
  assert.notEqual(a.lookup(r.ino, r.gen, "after"), null);
});
