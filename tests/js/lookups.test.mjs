// The lookup cache (jsglue/pool/lookups.js) never answers stale: instance A looks names up
// and lists directories (and so fills its cache) while instance B, on the same Memory,
// creates, removes, renames, replaces, chmods and compacts. After every change by B, A's
// answers must be exactly the model's: a name B removed is gone, a renamed one is found
// under its new name, a replaced one names the new inode, a mode change shows.
import test from "node:test";
import assert from "node:assert/strict";
import { Pool, layout as L } from "../../jsglue/index.js";
import { Lookups } from "../../jsglue/pool/lookups.js";
import { Views } from "../../jsglue/pool/views.js";
import { Locks } from "../../jsglue/locks.js";
import { rng } from "./helpers.mjs";

const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;


test("each instance's and the other's changes are seen at once by both caches (3,000 random changes)", () => {
  const changer = Pool.create({ initialSize: "1MiB", maximumSize: "64MiB" });
  const a = new Pool(changer.memory);
  const root = changer.rootHandle();
  const dirs = ["d0", "d1", "d2"].map((n) => changer.create(root.ino, root.gen, n, DIR));
  // model: dir index → Map name → {ino, gen, mode}
  const model = dirs.map(() => new Map());
  const rnd = rng(Number(process.env.XMFS_FUZZ_SEED || 3));
  // Both are checked: A's cache must notice B's changes; B's own cache learns its changes
  // as it makes them (and must learn them right).
  const check = (step) => {
    for (const [who, p] of [["A", a], ["B", changer]]) {
      for (let d = 0; d < dirs.length; d++) {
        const dir = dirs[d];
        const at = `step ${step}, instance ${who}, d${d}`;
        assert.deepEqual(p.readdir(dir.ino, dir.gen).sort(), [...model[d].keys()].sort(), `${at}: listing`);
        for (const [name, h] of model[d]) {
          const got = p.find(dir.ino, dir.gen, name);
          assert.ok(got, `${at}/${name} not found`);
          assert.deepEqual([got.ino, got.gen, got.mode], [h.ino, h.gen, h.mode], `${at}/${name}`);
        }
        for (let k = 0; k < 3; k++) {
          const name = `n${rnd(60)}`;
          if (!model[d].has(name)) assert.equal(p.find(dir.ino, dir.gen, name), null, `${at}/${name} exists`);
        }
      }
    }
  };
  for (let step = 0; step < 3000; step++) {
    // Either instance makes the change: its own cache learns it, the other's notices it.
    const b = rnd(3) === 0 ? a : changer;
    const d = rnd(dirs.length);
    const dir = dirs[d];
    const names = [...model[d].keys()];
    const op = names.length < 3 ? 0 : rnd(10);
    if (op < 3) {
      const name = `n${rnd(60)}`;
      if (model[d].has(name)) continue;
      const h = b.create(dir.ino, dir.gen, name, FILE);
      model[d].set(name, { ino: h.ino, gen: h.gen, mode: h.mode });
    } else if (op < 5) {
      const name = names[rnd(names.length)];
      b.unlink(dir.ino, dir.gen, name);
      model[d].delete(name);
    } else if (op < 8) {
      // rename, within or across directories, replacing the target if it exists
      const name = names[rnd(names.length)];
      const e = rnd(dirs.length);
      const to = `n${rnd(60)}`;
      if (e === d && to === name) continue;
      b.rename(dir.ino, dir.gen, name, dirs[e].ino, dirs[e].gen, to);
      model[e].set(to, model[d].get(name));
      model[d].delete(name);
    } else if (op < 9) {
      const name = names[rnd(names.length)];
      const h = model[d].get(name);
      const mode = 0o600 | rnd(0o100);
      b.setattr(h.ino, h.gen, { mode });
      h.mode = (h.mode & L.S_IFMT) | mode;
    } else {
      b.compact(); // inode records move: the cache's lock-free checks must notice
    }
    if (step % 3 === 0) check(step);
  }
  check("end");
  assert.deepEqual(a.validate(), []);
});

test("a directory removed and its inode reused is not answered from the cache", () => {
  const b = Pool.create({ initialSize: "1MiB", maximumSize: "64MiB" });
  const a = new Pool(b.memory);
  const r = b.rootHandle();
  const d = b.create(r.ino, r.gen, "d", DIR);
  b.create(d.ino, d.gen, "x", FILE);
  assert.ok(a.find(d.ino, d.gen, "x"));
  assert.deepEqual(a.readdir(d.ino, d.gen), ["x"]);
  b.unlink(d.ino, d.gen, "x");
  b.rmdir(r.ino, r.gen, "d");
  const d2 = b.create(r.ino, r.gen, "d2", DIR); // the freed inode slot, a new generation
  assert.equal(d2.ino, d.ino);
  assert.notEqual(d2.gen, d.gen);
  assert.throws(() => a.find(d.ino, d.gen, "x"), /no longer exists/);
  assert.throws(() => a.readdir(d.ino, d.gen), /no longer exists/);
  assert.deepEqual(a.readdir(d2.ino, d2.gen), []);
});

test("nothing is answered from a cache while MOVES is odd (a compaction round in progress)", () => {
  const pool = Pool.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
  const r = pool.rootHandle();
  const d = pool.create(r.ino, r.gen, "d", L.S_IFDIR | 0o755);
  const f = pool.create(d.ino, d.gen, "f", L.S_IFREG | 0o644);
  // A cache of our own over the pool's Memory, filled the way the pool fills its own.
  const lk = new Lookups(new Views(pool.memory, new Locks(true)));
  lk.v.refresh();
  const ver = lk.version(d.ino, d.gen);
  assert.ok(ver >= 0);
  lk.put(d.ino, d.gen, ver, "f", { ino: f.ino, gen: f.gen });
  assert.deepEqual(lk.get(d.ino, d.gen, "f"), { ino: f.ino, gen: f.gen, mode: L.S_IFREG | 0o644 });
  const u32 = new Uint32Array(pool.memory.buffer);
  Atomics.add(u32, L.SB_MOVES, 1); // as compact() does before it moves anything
  assert.equal(lk.version(d.ino, d.gen), -1);
  assert.equal(lk.get(d.ino, d.gen, "f"), undefined, "answered from the cache mid-round");
  // Left odd (a compactor died in a round): the validator says so, and the next
  // compaction (or the recovery of the dead instance) settles it.
  assert.ok(pool.validate().some((e) => e.includes("MOVES")), "odd MOVES not reported");
  assert.equal(pool.compact(), true);
  assert.equal(Atomics.load(u32, L.SB_MOVES) & 1, 0);
  assert.deepEqual(pool.validate(), []);
  assert.equal(lk.version(d.ino, d.gen), ver, "a finished round changes no directory version");
});

test("threads: a name another thread made before it said so is always found", { timeout: 120000 }, async () => {
  const { Worker } = await import("node:worker_threads");
  const { JSGLUE } = await import("./helpers.mjs");
  const pool = Pool.create({ initialSize: "1MiB", maximumSize: "64MiB" });
  const r = pool.rootHandle();
  const dir = pool.create(r.ino, r.gen, "x", DIR);
  // shared[0]: names made so far (B stores it after each create); shared[1]: stop
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const writer = new Worker(`
    const { workerData: d, parentPort } = require("node:worker_threads");
    (async () => {
      const x = await import(d.index);
      const pool = new x.Pool(d.memory);
      const L = x.layout;
      for (let n = 0; n < 1500 && !Atomics.load(d.shared, 1); n++) {
        const h = pool.create(d.dir.ino, d.dir.gen, "n" + n, L.S_IFREG | 0o644);
        if (n % 3 === 0) pool.rename(d.dir.ino, d.dir.gen, "n" + n, d.dir.ino, d.dir.gen, "m" + n);
        if (n % 3 === 0) pool.rename(d.dir.ino, d.dir.gen, "m" + n, d.dir.ino, d.dir.gen, "n" + n);
        if (n % 50 === 0) pool.compact();
        Atomics.store(d.shared, 0, n + 1);
      }
      parentPort.postMessage("done");
    })();`, { eval: true, workerData: { index: JSGLUE, memory: pool.memory, dir, shared } });
  const done = new Promise((resolve, reject) => {
    writer.once("message", resolve);
    writer.once("error", reject);
  });
  let checks = 0;
  let finished = false;
  done.then(() => (finished = true));
  while (!finished) {
    const made = Atomics.load(shared, 0);
    for (const n of [made - 1, made - 2, Math.floor(made / 2)]) {
      if (n < 0 || n >= made) continue;
      // n was made (and renamed back) before `made` was stored: it must be there
      assert.ok(pool.find(dir.ino, dir.gen, `n${n}`), `n${n} not found (made ${made})`);
      checks++;
    }
    if (pool.find(dir.ino, dir.gen, `n${made + 5}`)) {
      // (fine: made meanwhile) — but a name must never be found before it exists at all
      assert.ok(Atomics.load(shared, 0) >= made + 5);
    }
    await new Promise((res) => setImmediate(res));
  }
  await done;
  await writer.terminate();
  assert.ok(checks > 100, `only ${checks} checks`);
  assert.deepEqual(pool.validate(), []);
});

test("an answer checked once is given again without reading the pool until TXSEQ moves", () => {
  const pool = Pool.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
  const other = new Pool(pool.memory);
  const r = pool.rootHandle();
  const d = pool.create(r.ino, r.gen, "d", L.S_IFDIR | 0o755);
  const f = pool.create(d.ino, d.gen, "f", L.S_IFREG | 0o644);
  const lk = new Lookups(new Views(pool.memory, new Locks(true)));
  lk.v.refresh();
  lk.put(d.ino, d.gen, lk.version(d.ino, d.gen), "f", { ino: f.ino, gen: f.gen });
  lk.put(d.ino, d.gen, lk.version(d.ino, d.gen), "gone", null);
  let reads = 0;
  const record = lk._record.bind(lk);
  lk._record = (ino) => (reads++, record(ino));
  const ask = (name) => {
    reads = 0;
    return [lk.get(d.ino, d.gen, name), reads];
  };
  const want = { ino: f.ino, gen: f.gen, mode: L.S_IFREG | 0o644 };
  assert.deepEqual(ask("f"), [want, 2], "first answer: checked against the pool");
  assert.deepEqual(ask("f"), [want, 0], "again, with no transaction since: from the cache alone");
  // A name known missing rests on the directory alone, checked just now.
  assert.deepEqual(ask("gone"), [null, 0]);
  // Any transaction anywhere (another instance, another directory) moves TXSEQ: checked again.
  other.create(r.ino, r.gen, "elsewhere", L.S_IFREG | 0o644);
  assert.deepEqual(ask("gone"), [null, 1]);
  assert.deepEqual(ask("f"), [want, 2]);
  assert.deepEqual(ask("f"), [want, 0]);
  // A chmod by the other instance is seen at once (its transaction moved TXSEQ).
  other.setattr(f.ino, f.gen, { mode: 0o600 });
  assert.deepEqual(ask("f"), [{ ...want, mode: L.S_IFREG | 0o600 }, 2]);
  // And a rename of the name away drops the entry (the directory's version moved).
  other.rename(d.ino, d.gen, "f", d.ino, d.gen, "g");
  assert.equal(lk.get(d.ino, d.gen, "f"), undefined);
  // While a transaction is open (TXSEQ odd), nothing is answered from the shortcut.
  lk.put(d.ino, d.gen, lk.version(d.ino, d.gen), "g", { ino: f.ino, gen: f.gen });
  assert.equal(ask("g")[1], 2);
  const u32 = new Uint32Array(pool.memory.buffer);
  Atomics.add(u32, L.SB_TXSEQ, 1); // as a transaction's begin does
  assert.equal(ask("g")[1], 2, "TXSEQ odd: checked against the pool");
  Atomics.add(u32, L.SB_TXSEQ, 1);
  assert.deepEqual(pool.validate(), []);
});
