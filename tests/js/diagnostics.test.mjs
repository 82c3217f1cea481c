// Pool.blockMap (jsglue/pool/diagnostics.js) in plain node: the map agrees with the
// pool's own accounting, follows frees and compaction, and stays bounded.
import test from "node:test";
import assert from "node:assert/strict";
import { Pool, PoolError, layout as L } from "../../jsglue/index.js";
import { bytes } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;

function write(pool, dir, name, n, seed) {
  const h = pool.create(dir.ino, dir.gen, name, FILE);
  pool.open(h.ino, h.gen);
  pool.write(h.ino, h.gen, bytes(n, seed), 0, n, 0);
  pool.close(h.ino, h.gen);
  return h;
}
const code = (fn) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof PoolError) return e.code;
    throw e;
  }
  return null;
};

test("blockMap agrees with stats() and names every kind", () => {
  const pool = Pool.create({ initialBytes: 2 * MiB, maximumBytes: 64 * MiB });
  const root = pool.rootHandle();
  const d = pool.create(root.ino, root.gen, "d", DIR);
  for (let i = 0; i < 20; i++) write(pool, d, `f${i}`, 50_000 + i * 1000, i + 1);
  const f0 = pool.lookup(d.ino, d.gen, "f0");
  pool.flock(f0.ino, f0.gen, pool.newOfd(), "exclusive"); // makes the file-lock table
  // More files open than an instance has kept pins (pool/keptpins.js): a pin table too.
  for (let i = 0; i <= L.KP_N; i++) {
    const h = pool.lookup(d.ino, d.gen, `f${i}`);
    pool.open(h.ino, h.gen);
  }
  const m = pool.blockMap(256);
  const s = pool.stats();
  assert.equal(m.size, s.size);
  assert.equal(m.buckets, 256);
  assert.equal(m.kinds.length, 256);
  assert.equal(m.truncated, false);
  assert.equal(m.error, null);
  assert.deepEqual([...m.names], ["free", "inodes", "dirtab", "dentry", "data", "pins", "flocks", "fixed"]);
  assert.equal(m.bytes.fixed, L.HEAP_START);
  assert.equal(m.bytes.free, s.free_bytes);
  const used = m.bytes.inodes + m.bytes.dirtab + m.bytes.dentry + m.bytes.data + m.bytes.pins + m.bytes.flocks;
  assert.equal(used + m.bytes.fixed, s.used_bytes);
  assert.equal(m.count.data, 20);
  assert.equal(m.count.dirtab, 2); // the root and d
  assert.equal(m.count.dentry, 21);
  assert.equal(m.count.flocks, 1);
  assert.ok(m.bytes.data >= 20 * 50_000);
  assert.equal(m.kinds[0], 7); // the first bucket is the fixed tables
  const seen = new Set(m.kinds);
  for (const k of [0, 4, 7]) assert.ok(seen.has(k), `kind ${m.names[k]} in the map`);
  // present: every kind with a byte in the bucket; the kind shown is one of them
  const has = (k) => m.present.some((mask) => mask & (1 << k));
  for (const k of [0, 1, 2, 3, 4, 5, 6, 7]) assert.ok(has(k), `kind ${m.names[k]} present somewhere`);
  // this instance's table of open files stays when it empties (pool/pins.js): one
  assert.equal(m.count.pins, 1);
  m.kinds.forEach((k, i) => assert.ok(m.present[i] & (1 << k), `bucket ${i}`));
  // a bucket's fill is 255 without free bytes, 0 when all free (the end of the heap)
  assert.equal(m.fill[0], 255);
  assert.equal(m.kinds[255], 0);
  assert.equal(m.fill[255], 0);
  assert.deepEqual(pool.validate(), []);
});

test("blockMap follows frees and compaction", () => {
  const pool = Pool.create({ initialBytes: 4 * MiB, maximumBytes: 64 * MiB });
  const root = pool.rootHandle();
  for (let i = 0; i < 30; i++) write(pool, root, `f${i}`, 60_000, i + 1);
  for (let i = 0; i < 30; i += 2) pool.unlink(root.ino, root.gen, `f${i}`);
  const holes = pool.blockMap(1024);
  const dataBuckets = (m) => [...m.kinds].filter((k) => k === 4).length;
  const lastData = (m) => m.kinds.lastIndexOf(4);
  assert.equal(holes.count.data, 15);
  assert.ok(holes.count.free > 10, `free blocks between files: ${holes.count.free}`);
  assert.ok(pool.compact());
  const packed = pool.blockMap(1024);
  assert.equal(packed.count.free, 1);
  assert.equal(packed.bytes.data, holes.bytes.data);
  assert.ok(lastData(packed) < lastData(holes), "data slid towards the start");
  assert.ok(Math.abs(dataBuckets(packed) - dataBuckets(holes)) <= 2);
  assert.deepEqual(pool.validate(), []);
});

test("blockMap is bounded and checks its arguments", () => {
  const pool = Pool.create({ initialBytes: 2 * MiB, maximumBytes: 64 * MiB });
  const root = pool.rootHandle();
  for (let i = 0; i < 50; i++) write(pool, root, `f${i}`, 100, i + 1);
  const part = pool.blockMap(64, { maxBlocks: 10 });
  assert.equal(part.walked, 10);
  assert.equal(part.truncated, true);
  assert.ok([...part.kinds].includes(255), "buckets beyond the walk are marked not walked");
  const one = pool.blockMap(1);
  assert.equal(one.kinds.length, 1);
  assert.equal(one.kinds[0], 0); // mostly free
  for (const bad of [0, -1, 1.5, 2 ** 21, "8"]) assert.equal(code(() => pool.blockMap(bad)), "EINVAL");
  assert.equal(code(() => pool.blockMap(8, { maxBlocks: 0 })), "EINVAL");
});

test("blockMap on a damaged heap reports where it stopped", () => {
  const pool = Pool.create({ initialBytes: 2 * MiB, maximumBytes: 64 * MiB });
  const root = pool.rootHandle();
  write(pool, root, "a", 1000, 1);
  const other = new Pool(pool.memory);
  const u32 = new Uint32Array(pool.memory.buffer);
  const saved = u32[L.HEAP_START >>> 2];
  u32[L.HEAP_START >>> 2] = 3; // a size word no block can have
  try {
    const m = other.blockMap(16);
    assert.equal(m.truncated, true);
    assert.match(m.error, /block @65536: bad header/);
    assert.equal(m.walked, 0);
  } finally {
    u32[L.HEAP_START >>> 2] = saved;
  }
  assert.deepEqual(pool.validate(), []);
});
