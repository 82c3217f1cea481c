// Kept pins (jsglue/pool/keptpins.js): after its last close of a file an instance keeps
// the pin, and opens it again without a lock. A kept pin must never keep a removed file
// alive, never survive its instance, and never be counted twice — checked here against
// validate() (OPEN of every inode = its pins), the pool's free bytes, and real threads
// that reopen files while another thread removes and re-creates them.
import test from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Pool, layout as L } from "../../jsglue/index.js";
import { keptWord } from "../../jsglue/pool/keptpins.js";
import { JSGLUE, bytes } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;

function withFile(pool, name, size, seed = 1) {
  const r = pool.rootHandle();
  const h = pool.create(r.ino, r.gen, name, FILE, undefined, { pin: true });
  const data = bytes(size, seed);
  pool.write(h.ino, h.gen, data, 0, size, 0, false);
  pool.close(h.ino, h.gen);
  return h;
}

/** The kept-pin entries of a pool's slot s: [state name, ino]. */
function entries(pool, s) {
  const i32 = new Int32Array(pool.memory.buffer);
  const names = { [L.KP_OPEN]: "open", [L.KP_KEPT]: "kept", [L.KP_REVOKE]: "revoke" };
  const out = [];
  for (let k = 0; k < L.KP_N; k++) {
    const x = i32[keptWord(s, k)];
    if (x) out.push([names[x & L.KP_STATE], x & L.KP_INO]);
  }
  return out;
}

/** OPEN of inode `ino`: the pins on it, kept ones included. */
function openCount(pool, ino) {
  const u32 = new Uint32Array(pool.memory.buffer);
  return u32[((u32[L.SB_CHUNK_DIR + (ino >>> 10)] + (ino & 1023) * L.INODE_BYTES) >>> 2) + L.I_OPEN];
}

const txseq = (pool) => Atomics.load(new Uint32Array(pool.memory.buffer), L.SB_TXSEQ);

test("a file closed and opened again takes no lock: no META transaction, the pin kept", () => {
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 16 * MiB });
  const h = withFile(pool, "f", 5000);
  assert.deepEqual(entries(pool, pool.slot), [["kept", h.ino]]);
  const before = txseq(pool);
  pool.resetLockWaits();
  const out = new Uint8Array(5000);
  for (let i = 0; i < 100; i++) {
    pool.open(h.ino, h.gen);
    pool.open(h.ino, h.gen); // (twice: counted by the instance, one entry in the pool)
    assert.equal(pool.read(h.ino, h.gen, out, 0, 5000, 0), 5000);
    pool.close(h.ino, h.gen);
    pool.close(h.ino, h.gen);
  }
  assert.equal(txseq(pool), before, "no transaction for 200 opens and closes");
  assert.equal(pool.stats().opens_without_lock, 400);
  assert.deepEqual(out, bytes(5000, 1));
  assert.deepEqual(pool.validate(), []);
  assert.equal(pool.instances()[0].open_pins, 0, "a kept pin is not an open file");
  assert.equal(pool.instances()[0].kept_pins, 1);
  // A close too many is still refused.
  assert.throws(() => pool.close(h.ino, h.gen), /not open/);
});

test("removing a file another instance keeps frees it at once; that instance then gets ENOENT", () => {
  const a = Pool.create({ initialBytes: MiB, maximumBytes: 16 * MiB });
  const b = new Pool(a.memory);
  const h = withFile(a, "f", 300000);
  b.open(h.ino, h.gen);
  b.close(h.ino, h.gen);
  assert.deepEqual(entries(b, b.slot), [["kept", h.ino]]);
  const free0 = a.stats().free_bytes;
  const live0 = a.stats().inodes;
  const r = a.rootHandle();
  a.unlink(r.ino, r.gen, "f");
  assert.deepEqual(entries(b, b.slot), [], "b's kept pin was taken back");
  assert.deepEqual(entries(a, a.slot), [], "and a's own");
  assert.equal(a.stats().inodes, live0 - 1, "the inode is freed");
  assert.ok(a.stats().free_bytes >= free0 + 300000, "its data too");
  assert.deepEqual(a.validate(), []);
  assert.throws(() => b.open(h.ino, h.gen), (e) => e.code === "ENOENT");
  // A new file under the old name is another inode; b opens it as usual.
  const h2 = withFile(a, "f", 10, 2);
  b.open(h2.ino, h2.gen);
  b.close(h2.ino, h2.gen);
  assert.deepEqual(a.validate(), []);
});

test("a file removed while open is freed at its last close (the close that would keep the pin)", () => {
  const a = Pool.create({ initialBytes: MiB, maximumBytes: 16 * MiB });
  const b = new Pool(a.memory);
  const h = withFile(a, "f", 200000);
  b.open(h.ino, h.gen);
  const live0 = a.stats().inodes;
  const r = a.rootHandle();
  a.unlink(r.ino, r.gen, "f");
  assert.equal(a.stats().inodes, live0, "open in b: not freed yet");
  const out = new Uint8Array(10);
  assert.equal(b.read(h.ino, h.gen, out, 0, 10, 0), 10, "b reads its open, nameless file");
  b.close(h.ino, h.gen);
  assert.equal(a.stats().inodes, live0 - 1, "freed at b's close");
  assert.deepEqual(entries(b, b.slot), []);
  assert.deepEqual(a.validate(), []);
});

test("renaming over a kept file and removing its directory take the kept pins back", () => {
  const a = Pool.create({ initialBytes: MiB, maximumBytes: 16 * MiB });
  const b = new Pool(a.memory);
  const r = a.rootHandle();
  const x = withFile(a, "x", 1000, 1);
  withFile(a, "y", 2000, 2);
  b.open(x.ino, x.gen);
  b.close(x.ino, x.gen);
  const d = a.create(r.ino, r.gen, "d", L.S_IFDIR | 0o755);
  b.open(d.ino, d.gen); // (a directory opened and closed: kept too)
  b.close(d.ino, d.gen);
  const live0 = a.stats().inodes;
  a.rename(r.ino, r.gen, "y", r.ino, r.gen, "x"); // x's inode loses its name
  a.rmdir(r.ino, r.gen, "d");
  assert.equal(a.stats().inodes, live0 - 2);
  assert.deepEqual(entries(b, b.slot), []);
  assert.deepEqual(a.validate(), []);
});

test("more files than kept pins: the one kept longest unused is given back, the pool stays exact", () => {
  const a = Pool.create({ initialBytes: MiB, maximumBytes: 16 * MiB });
  const n = L.KP_N + 8;
  const hs = Array.from({ length: n }, (_, i) => withFile(a, `f${i}`, 100 + i, i));
  // All open at once: KP_N in kept pins, the rest in the pin table.
  for (const h of hs) a.open(h.ino, h.gen);
  assert.equal(a.instances()[0].open_pins, n);
  assert.deepEqual(a.validate(), []);
  for (const h of hs) a.close(h.ino, h.gen);
  assert.equal(a.instances()[0].open_pins, 0);
  assert.deepEqual(a.validate(), []);
  // Round robin over more files than entries: each open may give back the oldest.
  const out = new Uint8Array(200);
  for (let round = 0; round < 3; round++) {
    for (const [i, h] of hs.entries()) {
      a.open(h.ino, h.gen);
      assert.equal(a.read(h.ino, h.gen, out, 0, 200, 0), 100 + i);
      a.close(h.ino, h.gen);
    }
  }
  assert.equal(entries(a, a.slot).length, L.KP_N);
  assert.deepEqual(a.validate(), []);
  // Removing them all frees them all.
  const r = a.rootHandle();
  const live0 = a.stats().inodes;
  for (let i = 0; i < n; i++) a.unlink(r.ino, r.gen, `f${i}`);
  assert.equal(a.stats().inodes, live0 - n);
  assert.deepEqual(entries(a, a.slot), []);
  assert.deepEqual(a.validate(), []);
});

test("kept pins go with their instance: detach, eviction, and a saved image", async () => {
  const a = Pool.create({ initialBytes: MiB, maximumBytes: 16 * MiB });
  const b = new Pool(a.memory);
  const c = new Pool(a.memory);
  const h = withFile(a, "f", 1000);
  for (const p of [b, c]) {
    p.open(h.ino, h.gen);
    p.close(h.ino, h.gen);
  }
  b.open(h.ino, h.gen); // b has it open, c kept
  assert.equal(openCount(a, h.ino), 3);
  b.detach();
  assert.deepEqual(entries(a, 1), []);
  assert.deepEqual(a.validate(), []);
  c.open(h.ino, h.gen); // (open again, then evicted: its close says so)
  assert.equal(a.evict(c.instanceId, 0), true);
  assert.throws(() => c.close(h.ino, h.gen), (e) => e.name === "EvictedError" && /evicted/.test(e.message));
  assert.deepEqual(entries(a, 2), []);
  assert.deepEqual(a.validate(), []);
  assert.equal(openCount(a, h.ino), 1, "a's own kept pin");
  const chunks = [];
  await a.save((x) => chunks.push(x.slice()));
  const { loadPool } = await import("../../jsglue/index.js");
  const back = await loadPool(Buffer.concat(chunks));
  assert.deepEqual(back.validate(), []);
  assert.deepEqual(entries(back, 0).filter(([, ino]) => ino === h.ino).length, 0, "nothing kept for the image's instances");
});

test("threads: reopening files that another thread removes and re-creates, compaction underneath — nothing leaked, nothing freed while open", { timeout: 120000 }, async () => {
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 64 * MiB, leaseMs: 30000 });
  const r = pool.rootHandle();
  const names = Array.from({ length: 6 }, (_, i) => `g${i}`);
  for (const n of names) {
    const h = pool.create(r.ino, r.gen, n, FILE, undefined, { pin: true });
    const data = new Uint8Array(4096);
    new Uint32Array(data.buffer, 0, 2).set([h.ino, h.gen]);
    pool.write(h.ino, h.gen, data, 0, 4096, 0, false);
    pool.close(h.ino, h.gen);
  }
  const src = `
    const { parentPort, workerData: wd } = require("node:worker_threads");
    (async () => {
      const P = await import(wd.jsglue);
      const L = P.layout;
      const pool = new P.Pool(wd.memory);
      const r = pool.rootHandle();
      const out = new Uint8Array(4096);
      let opened = 0, gone = 0, bad = 0;
      const end = Date.now() + wd.ms;
      for (let i = 0; Date.now() < end; i++) {
        const name = wd.names[i % wd.names.length];
        if (wd.role === "compactor") {
          // Compaction moves inode records under a close's lock-free look at the name.
          pool.compact();
          continue;
        }
        if (wd.role === "reader") {
          let h;
          try { h = pool.lookup(r.ino, r.gen, name); pool.open(h.ino, h.gen); }
          catch (e) { if (e.code === "ENOENT") { gone++; continue; } throw e; }
          opened++;
          const n = pool.read(h.ino, h.gen, out, 0, 4096, 0);
          // A file is written whole before it gets its name (rename), and starts with its
          // own inode and generation: an open file reads as itself, never as a file
          // made in a freed one's place.
          const head = new Uint32Array(out.buffer, 0, 2);
          if (n !== 4096 || head[0] !== h.ino || head[1] !== h.gen) bad++;
          pool.close(h.ino, h.gen);
        } else {
          const tmp = "tmp-" + name;
          const h = pool.create(r.ino, r.gen, tmp, L.S_IFREG | 0o644, undefined, { pin: true });
          const data = new Uint8Array(4096).fill(i & 255);
          new Uint32Array(data.buffer, 0, 2).set([h.ino, h.gen]);
          pool.write(h.ino, h.gen, data, 0, 4096, 0, false);
          pool.close(h.ino, h.gen);
          if (i % 3 === 0) pool.unlink(r.ino, r.gen, name);
          else pool.rename(r.ino, r.gen, tmp, r.ino, r.gen, name);
          if (i % 3 === 0) pool.rename(r.ino, r.gen, tmp, r.ino, r.gen, name);
        }
      }
      parentPort.postMessage({ opened, gone, bad });
      pool.detach();
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  const run = (role) => new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true, workerData: { jsglue: JSGLUE, memory: pool.memory, names, role, ms: 3000 } });
    w.once("message", resolve);
    w.once("error", reject);
  });
  const res = await Promise.all([run("reader"), run("reader"), run("writer"), run("compactor")]);
  for (const x of res) assert.equal(x.error, undefined, x.error);
  const [r1, r2] = res;
  assert.ok(r1.opened > 100 && r2.opened > 100, `readers opened ${r1.opened} and ${r2.opened} files`);
  assert.equal(r1.bad + r2.bad, 0, "a read saw another file's bytes");
  await new Promise((res2) => setTimeout(res2, 50)); // (the workers' detach)
  assert.deepEqual(pool.validate(), []);
  // Every file left is named: the six, and nothing else alive but the root.
  assert.equal(pool.stats().inodes, 1 + names.length);
  assert.deepEqual(pool.readdir(r.ino, r.gen).sort(), [...names].sort());
});
