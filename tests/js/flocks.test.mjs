// File locks in the pool (jsglue/pool/flocks.js), in plain node: the lock table's
// semantics (flock, POSIX record locks with splitting and merging, OFD locks, F_GETLK,
// release on close, recovery of a dead holder, owned dot-lock directories), a seeded
// fuzz against a byte-by-byte model of Linux's semantics with validate() after every
// step, and worker threads: blocking waits, EDEADLK, a 4 × 1,000 counter.
// Replay a fuzz seed: XMFS_LOCK_SEED=5 XMFS_LOCK_SEEDS=1 node --test tests/js/flocks.test.mjs
import test from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Pool, PoolError, layout as L } from "../../jsglue/index.js";
import { JSGLUE } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;

function code(fn) {
  try {
    fn();
  } catch (e) {
    if (e instanceof PoolError) return e.code;
    throw e;
  }
  return null;
}
const newPool = () => Pool.create({ initialBytes: MiB, maximumBytes: 16 * MiB, leaseMs: 200 });
const mkfile = (pool, name) => {
  const r = pool.rootHandle();
  return pool.create(r.ino, r.gen, name, FILE);
};
/** Locks on h as sorted [kind, type, start, length, pid, ofd] rows. */
const rows = (pool, h) => pool.fileLocks(h.ino).map((l) => [l.kind, l.type, l.start, l.length, l.pid, l.ofd])
  .sort((a, b) => String(a).localeCompare(String(b)));

test("flock: exclusive excludes other descriptions in any instance, shared shares", () => {
  const a = newPool();
  const b = new Pool(a.memory);
  const h = mkfile(a, "f");
  const oa = a.newOfd();
  const oa2 = a.newOfd();
  const ob = b.newOfd();
  a.flock(h.ino, h.gen, oa, "exclusive");
  assert.equal(code(() => b.flock(h.ino, h.gen, ob, "exclusive", { wait: false })), "EAGAIN");
  assert.equal(code(() => b.flock(h.ino, h.gen, ob, "shared", { wait: false })), "EAGAIN");
  // another open() of the same file in the same instance is another description
  assert.equal(code(() => a.flock(h.ino, h.gen, oa2, "shared", { wait: false })), "EAGAIN");
  a.flock(h.ino, h.gen, oa, "exclusive"); // again: no change
  assert.equal(a.fileLocks().length, 1);
  a.flock(h.ino, h.gen, oa, "shared"); // downgrade
  b.flock(h.ino, h.gen, ob, "shared", { wait: false });
  a.flock(h.ino, h.gen, oa2, "shared", { wait: false });
  assert.deepEqual(rows(a, h), [
    ["flock", "read", 0, 0, a.instanceId, oa],
    ["flock", "read", 0, 0, a.instanceId, oa2],
    ["flock", "read", 0, 0, b.instanceId, ob],
  ].sort((x, y) => String(x).localeCompare(String(y))));
  // A conversion that fails drops the old lock, as Linux does.
  assert.equal(code(() => b.flock(h.ino, h.gen, ob, "exclusive", { wait: false })), "EAGAIN");
  assert.deepEqual(a.fileLocks().filter((l) => l.pid === b.instanceId), []);
  a.flock(h.ino, h.gen, oa, "unlock");
  a.flock(h.ino, h.gen, oa2, "unlock");
  b.flock(h.ino, h.gen, ob, "exclusive", { wait: false });
  assert.deepEqual(a.validate(), []);
  // flock and POSIX locks do not interact (Linux)
  a.lockRange(h.ino, h.gen, { type: "write" }, { wait: false });
  assert.equal(a.fileLocks().length, 2);
  assert.equal(code(() => a.flock(h.ino, h.gen, oa, "bogus")), "EINVAL");
  assert.deepEqual(a.validate(), []);
});

test("POSIX record locks: split, merge, replace; F_GETLK names the holder", () => {
  const a = newPool();
  const b = new Pool(a.memory);
  const h = mkfile(a, "f");
  const lk = (p, type, start, length, wait = false) => p.lockRange(h.ino, h.gen, { type, start, length }, { wait });
  lk(a, "write", 0, 100);
  lk(a, "unlock", 40, 20);
  assert.deepEqual(rows(a, h), [["posix", "write", 0, 40, a.instanceId, 0], ["posix", "write", 60, 40, a.instanceId, 0]]);
  lk(a, "read", 10, 10); // replaces the middle of [0, 40)
  assert.deepEqual(rows(a, h), [
    ["posix", "read", 10, 10, a.instanceId, 0],
    ["posix", "write", 0, 10, a.instanceId, 0],
    ["posix", "write", 20, 20, a.instanceId, 0],
    ["posix", "write", 60, 40, a.instanceId, 0],
  ]);
  lk(a, "write", 40, 20); // fills the hole: the writes around it merge
  assert.deepEqual(rows(a, h), [
    ["posix", "read", 10, 10, a.instanceId, 0],
    ["posix", "write", 0, 10, a.instanceId, 0],
    ["posix", "write", 20, 80, a.instanceId, 0],
  ]);
  lk(a, "write", 10, 10); // and now all of it is one lock
  assert.deepEqual(rows(a, h), [["posix", "write", 0, 100, a.instanceId, 0]]);
  // b: non-overlapping ranges do not conflict; overlapping ones do
  lk(b, "write", 100, 0); // [100, ∞)
  assert.equal(code(() => lk(b, "read", 99, 1)), "EAGAIN");
  const got = b.testRange(h.ino, h.gen, { type: "read", start: 50, length: 1000 });
  assert.deepEqual(got, { ino: h.ino, gen: h.gen, kind: "posix", type: "write", start: 0, length: 100, pid: a.instanceId, ofd: 0 });
  assert.equal(b.testRange(h.ino, h.gen, { type: "write", start: 100, length: 5 }), null, "own locks never conflict");
  assert.equal(a.testRange(h.ino, h.gen, { type: "read", start: 200, length: 1 }).pid, b.instanceId);
  assert.equal(code(() => a.testRange(h.ino, h.gen, { type: "unlock" })), "EINVAL");
  // read locks share
  lk(a, "read", 0, 100);
  lk(b, "read", 50, 10);
  assert.equal(code(() => lk(b, "write", 50, 10)), "EAGAIN");
  assert.equal(code(() => lk(b, "bogus", 0, 1)), "EINVAL");
  assert.equal(code(() => lk(b, "read", -1, 1)), "EINVAL");
  assert.equal(code(() => lk(b, "read", 2 ** 60, 1)), "EOVERFLOW");
  assert.deepEqual(a.validate(), []);
});

test("OFD locks conflict with POSIX locks of the same instance; close releases as Linux", () => {
  const a = newPool();
  const h = mkfile(a, "f");
  const o1 = a.newOfd();
  const o2 = a.newOfd();
  a.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 10 }, { wait: false });
  assert.equal(code(() => a.lockRange(h.ino, h.gen, { type: "read", start: 5, length: 1, ofd: o1 }, { wait: false })), "EAGAIN");
  a.lockRange(h.ino, h.gen, { type: "write", start: 10, length: 10, ofd: o1 }, { wait: false });
  assert.equal(code(() => a.lockRange(h.ino, h.gen, { type: "read", start: 15, length: 1, ofd: o2 }, { wait: false })), "EAGAIN");
  assert.equal(a.testRange(h.ino, h.gen, { type: "read", start: 15, length: 1, ofd: o2 }).kind, "ofd");
  a.flock(h.ino, h.gen, o1, "exclusive");
  // closing any descriptor drops the instance's POSIX locks, not the OFD's
  a.releaseLocks(h.ino, h.gen, o2, true);
  assert.deepEqual(rows(a, h).map((r) => r[0]).sort(), ["flock", "ofd"]);
  a.releaseLocks(h.ino, h.gen, o1, false); // a dup of o1 closes: o1 keeps its locks
  assert.equal(a.fileLocks().length, 2);
  a.releaseLocks(h.ino, h.gen, o1, true);
  assert.deepEqual(a.fileLocks(), []);
  assert.deepEqual(a.validate(), []);
});

test("a dead or evicted holder's locks are released; owned directories removed if empty", () => {
  const a = newPool();
  const b = new Pool(a.memory);
  const h = mkfile(a, "f");
  const r = a.rootHandle();
  const ob = b.newOfd();
  b.flock(h.ino, h.gen, ob, "exclusive");
  b.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 1 });
  const dot = b.create(r.ino, r.gen, "db.lock", DIR, undefined, { owned: true });
  const kept = b.create(r.ino, r.gen, "kept.lock", DIR, undefined, { owned: true });
  a.create(kept.ino, kept.gen, "inside", FILE); // not empty: it stays
  assert.equal(a.instances().find((i) => i.id === b.instanceId).file_locks, 4);
  assert.equal(code(() => a.flock(h.ino, h.gen, a.newOfd(), "shared", { wait: false })), "EAGAIN");
  assert.equal(code(() => b.create(r.ino, r.gen, "file.lock", FILE, undefined, { owned: true })), "EINVAL");
  assert.equal(a.evict(b.instanceId, 0), true);
  assert.deepEqual(a.fileLocks(), []);
  assert.equal(a.find(r.ino, r.gen, "db.lock"), null, "the dot-lock went with its owner");
  assert.ok(a.find(r.ino, r.gen, "kept.lock"));
  assert.equal(dot.ino > 0, true);
  a.flock(h.ino, h.gen, a.newOfd(), "exclusive", { wait: false });
  assert.deepEqual(a.validate(), []);
  // An owned directory removed by its owner takes its record with it.
  const c = new Pool(a.memory);
  c.create(r.ino, r.gen, "again.lock", DIR, undefined, { owned: true });
  assert.equal(a.fileLocks().filter((l) => l.kind === "dir").length, 1);
  c.rmdir(r.ino, r.gen, "again.lock");
  assert.equal(a.fileLocks().filter((l) => l.kind === "dir").length, 0);
  c.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 0 });
  const cid = c.instanceId;
  assert.equal(a.fileLocks().filter((l) => l.pid === cid).length, 1);
  c.detach(); // a detaching instance lets go of everything too
  assert.deepEqual(a.fileLocks().filter((l) => l.pid === cid), []);
  assert.deepEqual(a.validate(), []);
});

test("the lock table grows, compaction moves it, unlinked files drop their locks", () => {
  const a = newPool();
  const h = mkfile(a, "f");
  for (let i = 0; i < 300; i++) a.lockRange(h.ino, h.gen, { type: i % 2 ? "read" : "write", start: i * 2, length: 1 });
  assert.equal(a.fileLocks().length, 300);
  assert.deepEqual(a.validate(), []);
  for (let i = 0; i < 30; i++) mkfile(a, "pad" + i);
  for (let i = 0; i < 30; i += 2) a.unlink(a.rootHandle().ino, a.rootHandle().gen, "pad" + i);
  assert.equal(a.compact(), true);
  assert.equal(a.fileLocks().length, 300);
  assert.deepEqual(a.validate(), []);
  a.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 0 });
  assert.deepEqual(rows(a, h), [["posix", "write", 0, 0, a.instanceId, 0]]);
  const r = a.rootHandle();
  a.unlink(r.ino, r.gen, "f"); // (not held open here: freed at once)
  assert.deepEqual(a.fileLocks(), []);
  assert.deepEqual(a.validate(), []);
});

test("flockAsync / lockRangeAsync wait without blocking the thread", async () => {
  const a = newPool();
  const b = new Pool(a.memory);
  const h = mkfile(a, "f");
  const oa = a.newOfd();
  a.flock(h.ino, h.gen, oa, "exclusive");
  a.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 10 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5); // runs only if the thread is free
  setTimeout(() => a.flock(h.ino, h.gen, oa, "unlock"), 150);
  setTimeout(() => a.lockRange(h.ino, h.gen, { type: "unlock", start: 0, length: 0 }), 250);
  const t0 = Date.now();
  await b.flockAsync(h.ino, h.gen, b.newOfd(), "shared");
  const t1 = Date.now() - t0;
  await b.lockRangeAsync(h.ino, h.gen, { type: "read", start: 5, length: 1 });
  const t2 = Date.now() - t0;
  clearInterval(timer);
  assert.ok(t1 >= 140 && t2 >= 240, `${t1} ${t2}`);
  assert.ok(ticks >= 10, `the thread was blocked (${ticks} ticks)`);
  await assert.rejects(b.flockAsync(h.ino, h.gen, 0, "shared"), /open file description/);
  assert.deepEqual(a.validate(), []);
});

// ---- seeded fuzz against a model ------------------------------------------------------

const SPAN = 24; // model bytes 0 .. SPAN-1; byte SPAN stands for [SPAN, ∞)

/** Linux's semantics, byte by byte: owner key -> Int8Array of types per byte. */
class Model {
  constructor() {
    this.range = new Map(); // `${ino}/${inst}/${kind}/${ofd}` -> bytes
    this.flocks = new Map(); // `${ino}/${inst}/${ofd}` -> type
  }
  bytes(key) {
    if (!this.range.has(key)) this.range.set(key, new Int8Array(SPAN + 1));
    return this.range.get(key);
  }
  /** POSIX / OFD lock: "EAGAIN" or null. */
  setRange(ino, inst, kind, ofd, type, s, e) {
    const me = `${ino}/${inst}/${kind}/${ofd}`;
    const hi = e === Infinity ? SPAN + 1 : e;
    if (type) {
      for (const [key, b] of this.range) {
        if (key === me || !key.startsWith(`${ino}/`)) continue;
        for (let i = s; i < hi; i++) if (b[i] && (b[i] === L.FL_WRITE || type === L.FL_WRITE)) return "EAGAIN";
      }
    }
    this.bytes(me).fill(type, s, hi);
    return null;
  }
  flock(ino, inst, ofd, type) {
    const me = `${ino}/${inst}/${ofd}`;
    this.flocks.delete(me); // (a conversion drops the old lock first)
    if (!type) return null;
    for (const [key, t] of this.flocks) {
      if (key.startsWith(`${ino}/`) && (t === L.FL_WRITE || type === L.FL_WRITE)) return "EAGAIN";
    }
    this.flocks.set(me, type);
    return null;
  }
  close(ino, inst, ofd, last) {
    this.range.delete(`${ino}/${inst}/${L.FLK_POSIX}/0`);
    if (last) {
      this.range.delete(`${ino}/${inst}/${L.FLK_OFD}/${ofd}`);
      this.flocks.delete(`${ino}/${inst}/${ofd}`);
    }
  }
  die(inst) {
    for (const key of [...this.range.keys()]) if (key.split("/")[1] === String(inst)) this.range.delete(key);
    for (const key of [...this.flocks.keys()]) if (key.split("/")[1] === String(inst)) this.flocks.delete(key);
  }
  /** The records Linux would keep: maximal runs of one type per owner. */
  records(pidOf, ofdOf) {
    const out = [];
    for (const [key, b] of this.range) {
      const [ino, inst, kind, ofd] = key.split("/").map(Number);
      for (let i = 0; i <= SPAN;) {
        if (!b[i]) {
          i++;
          continue;
        }
        let j = i;
        while (j <= SPAN && b[j] === b[i]) j++;
        out.push([ino, kind === L.FLK_POSIX ? "posix" : "ofd", b[i] === L.FL_WRITE ? "write" : "read", i,
          j > SPAN ? 0 : j - i, pidOf(inst), kind === L.FLK_OFD ? ofdOf(inst, ofd) : 0].join(","));
        i = j;
      }
    }
    for (const [key, t] of this.flocks) {
      const [ino, inst, ofd] = key.split("/").map(Number);
      out.push([ino, "flock", t === L.FL_WRITE ? "write" : "read", 0, 0, pidOf(inst), ofdOf(inst, ofd)].join(","));
    }
    return out.sort();
  }
}

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function fuzz(seed, steps) {
  const rand = rng(seed * 2654435761);
  const pick = (n) => Math.floor(rand() * n);
  const base = newPool();
  const insts = [base, new Pool(base.memory), new Pool(base.memory)];
  const files = [mkfile(base, "a"), mkfile(base, "b")];
  const ofds = insts.map((p) => [p.newOfd(), p.newOfd()]);
  const model = new Model();
  const pidOf = (i) => insts[i].instanceId;
  const ofdOf = (i, k) => ofds[i][k];
  const log = [];
  for (let step = 0; step < steps; step++) {
    const i = pick(insts.length);
    const p = insts[i];
    const f = pick(files.length);
    const h = files[f];
    const op = rand();
    const type = [0, L.FL_READ, L.FL_WRITE][pick(3)];
    const tname = ["unlock", "read", "write"][type];
    let want;
    let got;
    if (op < 0.55) {
      const s = pick(SPAN);
      const e = rand() < 0.2 ? Infinity : s + 1 + pick(SPAN - s);
      const ofdIx = rand() < 0.25 ? pick(2) : -1;
      const kind = ofdIx < 0 ? L.FLK_POSIX : L.FLK_OFD;
      const ofd = ofdIx < 0 ? 0 : ofds[i][ofdIx];
      log.push(`${step}: inst ${i} ${kind === L.FLK_POSIX ? "posix" : "ofd " + ofdIx} ${tname} [${s}, ${e}) file ${f}`);
      want = model.setRange(h.ino, i, kind, ofdIx < 0 ? 0 : ofdIx, type, s, e);
      got = code(() => p.lockRange(h.ino, h.gen, { type: tname, start: s, length: e === Infinity ? 0 : e - s, ofd }, { wait: false }));
    } else if (op < 0.75) {
      const k = pick(2);
      log.push(`${step}: inst ${i} flock ${tname} ofd ${k} file ${f}`);
      want = model.flock(h.ino, i, k, type);
      got = code(() => p.flock(h.ino, h.gen, ofds[i][k], ["unlock", "shared", "exclusive"][type], { wait: false }));
    } else if (op < 0.85) {
      const s = pick(SPAN);
      const t = rand() < 0.5 ? "read" : "write";
      const len = 1 + pick(4);
      const c = p.testRange(h.ino, h.gen, { type: t, start: s, length: len });
      log.push(`${step}: inst ${i} getlk ${t} at ${s} file ${f} -> ${c && c.pid}`);
      // The model says whether something conflicts; the answer must be a real lock.
      const other = model.records(pidOf, ofdOf).filter((r) => {
        const [ino, kind, rt, rs, rl, pid] = r.split(",");
        const re = Number(rl) === 0 ? Infinity : Number(rs) + Number(rl);
        const own = kind === "posix" && Number(pid) === p.instanceId; // (own OFD locks do conflict)
        return Number(ino) === h.ino && kind !== "flock" && !own &&
          (rt === "write" || t === "write") && Number(rs) < s + len && s < re;
      });
      if (c === null) assert.equal(other.length, 0, `seed ${seed}: ${log.slice(-8).join("\n")}`);
      else {
        const rec = [h.ino, c.kind, c.type, c.start, c.length, c.pid, c.ofd].join(",");
        assert.ok(other.includes(rec), `seed ${seed}: ${rec} not in ${other}\n${log.slice(-8).join("\n")}`);
      }
      continue;
    } else if (op < 0.97) {
      const k = pick(2);
      const last = rand() < 0.5;
      log.push(`${step}: inst ${i} close file ${f} ofd ${k} last ${last}`);
      model.close(h.ino, i, k, last);
      p.releaseLocks(h.ino, h.gen, ofds[i][k], last);
      want = got = null;
    } else {
      if (i === 0) continue; // keep the one that checks
      log.push(`${step}: inst ${i} dies`);
      assert.equal(base.evict(p.instanceId, 0), true);
      model.die(i);
      insts[i] = new Pool(base.memory);
      ofds[i] = [insts[i].newOfd(), insts[i].newOfd()];
      want = got = null;
    }
    const ctx = () => `seed ${seed} step ${step}:\n${log.slice(-12).join("\n")}`;
    assert.equal(got, want, ctx());
    const errs = base.validate();
    assert.deepEqual(errs, [], ctx());
    const have = base.fileLocks().map((l) => [l.ino, l.kind, l.type, l.start, l.length, l.pid, l.ofd].join(",")).sort();
    assert.deepEqual(have, model.records(pidOf, ofdOf), ctx());
  }
}

test("seeded fuzz: the lock table behaves exactly as a byte-by-byte model of Linux", () => {
  const seeds = Number(process.env.XMFS_LOCK_SEEDS || 8);
  const first = Number(process.env.XMFS_LOCK_SEED || 1);
  const steps = Number(process.env.XMFS_LOCK_STEPS || 600);
  for (let seed = first; seed < first + seeds; seed++) fuzz(seed, steps);
});

// ---- threads: blocking waits --------------------------------------------------------

/** Run `body` (an async function body; `pool`, `P`, `L`, `wd`, `post` in scope) in a thread. */
function thread(body, workerData) {
  const src = `
    const { parentPort, workerData: wd } = require("node:worker_threads");
    const post = (m) => parentPort.postMessage(m);
    (async () => {
      const P = await import(wd.jsglue);
      const L = P.layout;
      const pool = new P.Pool(wd.memory);
      try { ${body} } catch (e) { post({ error: String(e && e.code || e), message: String(e && e.message) }); }
    })();`;
  const w = new Worker(src, { eval: true, workerData: { jsglue: JSGLUE, ...workerData } });
  w.unref(); // a failing test must not leave the process waiting for its threads
  const messages = [];
  const waiters = [];
  w.on("message", (m) => {
    messages.push(m);
    while (waiters.length) waiters.shift()();
  });
  const errors = [];
  w.on("error", (e) => errors.push(e));
  return {
    w,
    errors,
    /** The next message satisfying pred. */
    async until(pred = () => true, ms = 20000) {
      const t0 = Date.now();
      for (;;) {
        const i = messages.findIndex(pred);
        if (i >= 0) return messages.splice(i, 1)[0];
        if (errors.length) throw errors[0];
        if (Date.now() - t0 > ms) throw new Error(`no message in ${ms} ms; got ${JSON.stringify(messages)}`);
        await new Promise((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

test("threads: a blocking flock waits until the holder unlocks, or is evicted", { timeout: 60000 }, async () => {
  const a = newPool();
  const h = mkfile(a, "f");
  const oa = a.newOfd();
  a.flock(h.ino, h.gen, oa, "exclusive");
  const t = thread(`
    post({ ready: pool.instanceId });
    const o = pool.newOfd();
    const t0 = Date.now();
    pool.flock(wd.h.ino, wd.h.gen, o, "exclusive");        // blocks
    post({ got: Date.now() - t0 });
    pool.lockRange(wd.h.ino, wd.h.gen, { type: "write", start: 0, length: 10 });
    post({ holding: true });
    await new Promise(() => {});                            // hold until terminated
  `, { memory: a.memory, h });
  await t.until((m) => m.ready);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.fileLocks().length, 1, "still waiting");
  a.flock(h.ino, h.gen, oa, "unlock");
  const got = await t.until((m) => "got" in m);
  assert.ok(got.got >= 250, `waited ${got.got} ms`);
  const id = (await t.until((m) => m.holding)) && a.instances().find((i) => !i.self).id;
  assert.equal(code(() => a.lockRange(h.ino, h.gen, { type: "read", start: 5, length: 1 }, { wait: false })), "EAGAIN");
  await t.w.terminate();
  assert.equal(await a.evictWhenStopped(id), true);
  a.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 0 }, { wait: false }); // all released
  assert.deepEqual(a.validate(), []);
});

test("threads: two F_SETLKW waiters in a cycle — the second gets EDEADLK", { timeout: 60000 }, async () => {
  const a = newPool();
  const h = mkfile(a, "f");
  const body = `
    const h = wd.h;
    pool.lockRange(h.ino, h.gen, { type: "write", start: wd.mine, length: 1 });
    post({ locked: wd.mine, id: pool.instanceId });
    Atomics.wait(wd.go, wd.mine, 0);                 // until the test says go
    try {
      pool.lockRange(h.ino, h.gen, { type: "write", start: wd.other, length: 1 });   // waits
      post({ got: wd.mine });
      pool.lockRange(h.ino, h.gen, { type: "unlock", start: 0, length: 0 });
    } catch (e) {
      post({ failed: e.code, mine: wd.mine });
      pool.lockRange(h.ino, h.gen, { type: "unlock", start: 0, length: 0 });           // lets the other go on
    }
  `;
  const go = new Int32Array(new SharedArrayBuffer(8));
  const t1 = thread(body, { memory: a.memory, h, mine: 0, other: 1, go });
  const t2 = thread(body, { memory: a.memory, h, mine: 1, other: 0, go });
  try {
    const id1 = (await t1.until((m) => "locked" in m)).id;
    const id2 = (await t2.until((m) => "locked" in m)).id;
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    for (let i = 0; i < 1000 && !a.instances().some((x) => x.id === id1 && x.waiting_for); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(a.instances().find((i) => i.id === id1).waiting_for, id2, "the first waits for the second");
  } finally {
    Atomics.store(go, 1, 1); // (also when failing: no thread is left waiting)
    Atomics.notify(go, 1);
  }
  const failed = await t2.until((m) => "failed" in m);
  assert.deepEqual(failed, { failed: "EDEADLK", mine: 1 });
  assert.deepEqual(await t1.until((m) => "got" in m), { got: 0 });
  await t1.w.terminate();
  await t2.w.terminate();
  for (const i of a.instances()) if (!i.self) a.evict(i.id, 0);
  assert.deepEqual(a.validate(), []);
  assert.deepEqual(a.fileLocks(), []);
});

test("threads: 4 × 1,000 lock/increment/unlock cycles on one counter end at 4,000", { timeout: 120000 }, async () => {
  const a = newPool();
  const h = mkfile(a, "counter");
  a.open(h.ino, h.gen);
  a.write(h.ino, h.gen, new Uint8Array(8), 0, 8, 0, false);
  const body = `
    const h = wd.h;
    pool.open(h.ino, h.gen);
    const buf = new Uint8Array(8);
    const dv = new DataView(buf.buffer);
    const o = pool.newOfd();
    for (let i = 0; i < 1000; i++) {
      if (wd.kind === "flock") pool.flock(h.ino, h.gen, o, "exclusive");
      else pool.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 8 });
      pool.read(h.ino, h.gen, buf, 0, 8, 0);
      dv.setFloat64(0, dv.getFloat64(0, true) + 1, true);
      pool.write(h.ino, h.gen, buf, 0, 8, 0, false);
      if (wd.kind === "flock") pool.flock(h.ino, h.gen, o, "unlock");
      else pool.lockRange(h.ino, h.gen, { type: "unlock", start: 0, length: 8 });
    }
    pool.close(h.ino, h.gen);
    post({ done: true });
  `;
  for (const kind of ["flock", "posix"]) {
    a.write(h.ino, h.gen, new Uint8Array(8), 0, 8, 0, false);
    const ts = [0, 1, 2, 3].map(() => thread(body, { memory: a.memory, h, kind }));
    for (const t of ts) await t.until((m) => m.done || m.error, 100000);
    const out = new Uint8Array(8);
    a.read(h.ino, h.gen, out, 0, 8, 0);
    assert.equal(new DataView(out.buffer).getFloat64(0, true), 4000, kind);
    for (const t of ts) await t.w.terminate();
    for (const i of a.instances()) if (!i.self) a.evict(i.id, 0);
  }
  assert.deepEqual(a.validate(), []);
});
