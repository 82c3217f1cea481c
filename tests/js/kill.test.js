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
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { Worker } = require("node:worker_threads");
const { loadJsglue } = require("./load.js");

const { layout: L, pool: P } = loadJsglue("pool");
const { Pool } = P;
const ITERS = Number(process.env.XMFS_KILL_ITERS || 200);
const SEED = Number(process.env.XMFS_KILL_SEED || 1);
const LEASE_MS = 200;
const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;

// Journal in a SharedArrayBuffer (survives the worker): header [count, intentA,
// intentB], then entries [type, a, b, size, hash]. Types: 1 put, 2 mv, 3 rm.
const J_ENTRY = 5;
const J_HDR = 4;

const WORKER_SRC = `
  const { workerData, parentPort } = require("node:worker_threads");
  const { loadJsglue } = require(workerData.load);
  const { pool: P, layout: L } = loadJsglue("pool");
  const pool = new P.Pool(workerData.memory);
  const J = new Int32Array(workerData.journal);
  const FILE = L.S_IFREG | 0o644;
  let x = workerData.seed | 1;
  const rnd = (n) => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n; };
  const root = pool.rootHandle();
  const dir = pool.lookup(root.ino, root.gen, "w");
  const names = new Set(workerData.names);
  let nextName = workerData.nextName;
  const fill = (n, seed) => { const a = new Uint8Array(n); let y = seed | 1;
    for (let i = 0; i < n; i++) { y = (Math.imul(y, 1103515245) + 12345) | 0; a[i] = y >>> 24; } return a; };
  const readAll = (h) => { const size = pool.getattr(h.ino, h.gen).size; const out = new Uint8Array(size);
    pool.open(h.ino, h.gen); try { pool.read(h.ino, h.gen, out, 0, size, 0); } finally { pool.close(h.ino, h.gen); } return out; };
  const journal = (type, a, b, size, hash) => {
    const n = J[0]; const e = ${J_HDR} + n * ${J_ENTRY};
    J[e] = type; J[e + 1] = a; J[e + 2] = b; J[e + 3] = size; J[e + 4] = hash;
    Atomics.store(J, 0, n + 1);
    Atomics.store(J, 1, 0); Atomics.store(J, 2, 0); // intent done
  };
  const intent = (a, b) => { Atomics.store(J, 1, a); Atomics.store(J, 2, b); };
  const kept = [];
  const pick = () => { const arr = [...names]; return arr.length ? arr[rnd(arr.length)] : 0; };
  parentPort.postMessage({ instanceId: pool.instanceId });
  for (;;) {
    const op = names.size > 40 ? 9 : rnd(10); // (bounded: the pool must not fill up)
    if (op < 4 || names.size < 3) {           // write a new file
      const id = nextName++;
      intent(id, 0);
      const h = pool.create(dir.ino, dir.gen, "f" + id, FILE);
      const size = rnd(8) === 0 ? 1 + rnd(3 << 20) : 1 + rnd(200000);
      const data = fill(size, id);
      pool.open(h.ino, h.gen);
      for (let at = 0; at < size;) {
        const n = Math.min(size - at, 1 + rnd(70000));
        pool.write(h.ino, h.gen, data, at, n, at, false);
        at += n;
      }
      pool.close(h.ino, h.gen);
      names.add(id);
      journal(1, id, 0, size, P.fnv1a(data, 0, size));
    } else if (op < 6) {                      // append to one
      const id = pick();
      intent(id, 0);
      const h = pool.lookup(dir.ino, dir.gen, "f" + id);
      const more = fill(1 + rnd(90000), id * 7 + op);
      pool.open(h.ino, h.gen);
      pool.write(h.ino, h.gen, more, 0, more.length, 0, true);
      pool.close(h.ino, h.gen);
      const all = readAll(h);
      journal(1, id, 0, all.length, P.fnv1a(all, 0, all.length));
    } else if (op < 8) {                      // rename, maybe over another
      const a = pick();
      const b = rnd(2) ? pick() : nextName++;
      if (a === b) continue;
      intent(a, b);
      pool.rename(dir.ino, dir.gen, "f" + a, dir.ino, dir.gen, "f" + b);
      names.delete(a); names.add(b);
      journal(2, a, b, 0, 0);
    } else {                                  // delete one (sometimes while open)
      const id = pick();
      intent(id, 0);
      const h = pool.lookup(dir.ino, dir.gen, "f" + id);
      if (rnd(2) === 0) {                     // held open past the unlink: the kill must release it
        pool.open(h.ino, h.gen);
        kept.push(h);
        if (kept.length > 8) { const k = kept.shift(); pool.close(k.ino, k.gen); }
      }
      pool.unlink(dir.ino, dir.gen, "f" + id);
      names.delete(id);
      journal(3, id, 0, 0, 0);
    }
  }`;

function rng(seed) {
  let x = seed | 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

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
    const w = new Worker(WORKER_SRC, {
      eval: true,
      workerData: {
        load: path.join(__dirname, "load.js"),
        memory: pool.memory,
        journal,
        seed: SEED * 100003 + it,
        names: [...model.keys()],
        nextName,
      },
    });
    const errors = [];
    w.on("error", (e) => errors.push(e));
    const hello = await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    // Let it work for a random while (the survivor works too), then kill it.
    await survive(pool, Date.now() + 5 + rnd(120), rnd, stats);
    await w.terminate();
    assert.deepEqual(errors, [], `iteration ${it}: the worker failed on its own`);
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
      if (type === 1) model.set(a, [size, hash >>> 0]);
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
      assert.equal(P.fnv1a(out, 0, size), hash, `iteration ${it}: content of f${id}`);
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
