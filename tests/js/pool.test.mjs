// Unit tests of the pool in plain node (no Pyodide): run with `node --test tests/js/`.
import test from "node:test";
import assert from "node:assert/strict";
import { Pool, PoolError, layout as L } from "../../jsglue/index.js";
import { Content } from "../../jsglue/pool/content.js";
import { Locks } from "../../jsglue/locks.js";
import { makeCopier } from "../../jsglue/copier.js";
import { bytes } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;

function newPool(initial = MiB, maximum = 64 * MiB) {
  return Pool.create({ initialBytes: initial, maximumBytes: maximum });
}
function code(fn) {
  try {
    fn();
  } catch (e) {
    if (e instanceof PoolError) return e.code;
    throw e;
  }
  return null;
}
function readAll(pool, h) {
  const size = pool.getattr(h.ino, h.gen).size;
  const out = new Uint8Array(size);
  pool.open(h.ino, h.gen);
  assert.equal(pool.read(h.ino, h.gen, out, 0, size, 0), size);
  pool.close(h.ino, h.gen);
  return out;
}
/** A new file `name` in directory `dir` ({ino, gen}) of `size` zero bytes, closed. */
function sizedFile(pool, dir, name, size) {
  const h = pool.create(dir.ino, dir.gen, name, FILE);
  pool.open(h.ino, h.gen);
  pool.truncate(h.ino, h.gen, size);
  pool.close(h.ino, h.gen);
  return h;
}
function writeAt(pool, h, data, pos, append = false) {
  pool.open(h.ino, h.gen);
  try {
    return pool.write(h.ino, h.gen, data, 0, data.length, pos, append);
  } finally {
    pool.close(h.ino, h.gen);
  }
}

test("attach checks the Memory: type, sharing, magic, version", () => {
  const pool = newPool();
  assert.deepEqual(new Pool(pool.memory).validate(), []);
  const notShared = new WebAssembly.Memory({ initial: 2, maximum: 4 });
  assert.throws(() => new Pool(notShared), /not shared/);
  assert.throws(() => new Pool(new ArrayBuffer(8)), (e) => e.pyType === "TypeError" && /ArrayBuffer/.test(e.message));
  assert.throws(() => new Pool(null), /got null/);
  assert.throws(() => new Pool(42), /got Number/);
  const blank = new WebAssembly.Memory({ initial: 2, maximum: 4, shared: true });
  assert.throws(() => new Pool(blank), /not an extmemfs pool/);
  const garbage = new WebAssembly.Memory({ initial: 2, maximum: 4, shared: true });
  new Uint32Array(garbage.buffer).fill(0xdeadbeef); // (its "heap size" is past the Memory)
  assert.throws(() => new Pool(garbage), /not an extmemfs pool \(magic 0xdeadbeef\)/);
  const other = newPool();
  new Uint32Array(other.memory.buffer)[L.SB_VERSION] = L.VERSION + 1;
  assert.throws(() => new Pool(other.memory), new RegExp(`layout version ${L.VERSION + 1}`));
});

test("create checks sizes and names the accepted range", () => {
  assert.throws(() => Pool.create({ initialBytes: -1, maximumBytes: MiB }), /out of range/);
  assert.throws(() => Pool.create({ initialBytes: 4 * MiB, maximumBytes: MiB }), /above maximum/);
  assert.throws(() => Pool.create({ initialBytes: MiB, maximumBytes: 2 ** 33 }), /4 GiB/);
  assert.throws(() => Pool.create({ initialBytes: 1.5, maximumBytes: MiB }), /whole number/);
});

test("namespace operations and their errnos", () => {
  const pool = newPool();
  const r = pool.rootHandle();
  const d = pool.create(r.ino, r.gen, "d", DIR);
  const f = pool.create(d.ino, d.gen, "f", FILE);
  assert.equal(code(() => pool.create(d.ino, d.gen, "f", FILE)), "EEXIST");
  assert.equal(code(() => pool.lookup(d.ino, d.gen, "nope")), "ENOENT");
  assert.equal(code(() => pool.lookup(f.ino, f.gen, "x")), "ENOTDIR");
  assert.equal(code(() => pool.create(r.ino, r.gen, "x".repeat(256), FILE)), "ENAMETOOLONG");
  assert.equal(code(() => pool.create(r.ino, r.gen, "é".repeat(128), FILE)), "ENAMETOOLONG");
  assert.equal(code(() => pool.lookup(r.ino, r.gen, "é".repeat(127))), "ENOENT");
  pool.create(r.ino, r.gen, "é".repeat(127), FILE); // 254 bytes: fits
  assert.deepEqual(pool.readdir(r.ino, r.gen).sort(), ["d", "é".repeat(127)].sort());
  assert.equal(code(() => pool.rmdir(r.ino, r.gen, "d")), "ENOTEMPTY");
  assert.equal(code(() => pool.unlink(r.ino, r.gen, "d")), "EISDIR");
  assert.equal(code(() => pool.rmdir(d.ino, d.gen, "f")), "ENOTDIR");
  assert.equal(code(() => pool.rename(r.ino, r.gen, "d", d.ino, d.gen, "inside")), "EINVAL");
  const e = pool.create(r.ino, r.gen, "e", DIR);
  assert.equal(code(() => pool.rename(d.ino, d.gen, "f", r.ino, r.gen, "e")), "EISDIR");
  assert.equal(code(() => pool.rename(r.ino, r.gen, "e", d.ino, d.gen, "f")), "ENOTDIR");
  pool.create(e.ino, e.gen, "x", FILE);
  assert.equal(code(() => pool.rename(r.ino, r.gen, "d", r.ino, r.gen, "e")), "ENOTEMPTY");
  pool.unlink(e.ino, e.gen, "x");
  pool.rename(r.ino, r.gen, "d", r.ino, r.gen, "e"); // over an empty dir
  assert.equal(code(() => pool.lookup(e.ino, e.gen, "x")), "ENOENT"); // e is gone
  const moved = pool.lookup(r.ino, r.gen, "e");
  assert.equal(moved.ino, d.ino);
  assert.equal(pool.dirPath(d.ino, d.gen), "/e");
  assert.equal(pool.getattr(r.ino, r.gen).nlink, 3);
  const l = pool.create(r.ino, r.gen, "link", L.S_IFLNK | 0o777, "e/f");
  assert.equal(pool.readlink(l.ino, l.gen), "e/f");
  assert.equal(code(() => pool.readlink(f.ino, f.gen)), "EINVAL");
  assert.deepEqual(pool.validate(), []);
});

test("a reused inode number is not confused with the old file", () => {
  const pool = newPool();
  const r = pool.rootHandle();
  const a = pool.create(r.ino, r.gen, "a", FILE);
  pool.unlink(r.ino, r.gen, "a");
  const b = pool.create(r.ino, r.gen, "b", FILE);
  assert.equal(b.ino, a.ino);
  assert.notEqual(b.gen, a.gen);
  assert.equal(code(() => pool.getattr(a.ino, a.gen)), "ENOENT");
  assert.equal(code(() => pool.open(a.ino, a.gen)), "ENOENT");
});

test("content: sparse writes zero-fill, truncate up and down, append", () => {
  const pool = newPool();
  const r = pool.rootHandle();
  const f = pool.create(r.ino, r.gen, "f", FILE);
  writeAt(pool, f, new Uint8Array([1, 2, 3]), 10);
  assert.deepEqual([...readAll(pool, f)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
  pool.truncate(f.ino, f.gen, 11);
  pool.truncate(f.ino, f.gen, 15);
  assert.deepEqual([...readAll(pool, f)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  writeAt(pool, f, new Uint8Array([9]), 0, true);
  assert.equal(pool.getattr(f.ino, f.gen).size, 16);
  writeAt(pool, f, new Uint8Array(0), 100); // an empty write past the end changes nothing
  assert.equal(pool.getattr(f.ino, f.gen).size, 16);
  pool.truncate(f.ino, f.gen, 0);
  assert.equal(pool.getattr(f.ino, f.gen).size, 0);
  assert.deepEqual(pool.validate(), []);
});

test("unlinked file stays readable while open; space returns at last close", () => {
  const pool = newPool();
  const r = pool.rootHandle();
  const scratch = pool.create(r.ino, r.gen, "scratch", FILE);
  writeAt(pool, scratch, bytes(10, 1), 0); // this instance's table of open files now exists
  const before = pool.stats().used_bytes;
  const f = pool.create(r.ino, r.gen, "f", FILE);
  const data = bytes(300000, 7);
  writeAt(pool, f, data, 0);
  pool.open(f.ino, f.gen);
  pool.unlink(r.ino, r.gen, "f");
  assert.deepEqual(pool.validate(), []);
  const out = new Uint8Array(data.length);
  assert.equal(pool.read(f.ino, f.gen, out, 0, out.length, 0), data.length);
  assert.deepEqual(out, data);
  pool.close(f.ino, f.gen);
  assert.equal(code(() => pool.getattr(f.ino, f.gen)), "ENOENT");
  assert.equal(pool.stats().used_bytes, before);
  assert.deepEqual(pool.validate(), []);
});

test("ENOSPC at the maximum harms nothing already stored, and space is reused", () => {
  const pool = newPool(MiB, 4 * MiB);
  const r = pool.rootHandle();
  const kept = [];
  let n = 0;
  for (;;) {
    const name = `f${n}`;
    let h;
    try {
      h = pool.create(r.ino, r.gen, name, FILE);
    } catch (e) {
      assert.equal(e.code, "ENOSPC");
      break;
    }
    const data = bytes(200000, n + 1);
    try {
      writeAt(pool, h, data, 0);
      kept.push([name, h, data]);
    } catch (e) {
      assert.equal(e.code, "ENOSPC");
      assert.equal(pool.getattr(h.ino, h.gen).size, 0);
      break;
    }
    n++;
  }
  assert.ok(kept.length >= 10, `only ${kept.length} files fit`);
  assert.equal(pool.stats().size, 4 * MiB);
  for (const [, h, data] of kept) assert.deepEqual(readAll(pool, h), data);
  assert.deepEqual(pool.validate(), []);
  for (const [name] of kept.slice(0, 5)) pool.unlink(r.ino, r.gen, name);
  const again = pool.create(r.ino, r.gen, "again", FILE);
  writeAt(pool, again, bytes(600000, 99), 0);
  for (const [, h, data] of kept.slice(5)) assert.deepEqual(readAll(pool, h), data);
  assert.deepEqual(pool.validate(), []);
});

test("two big files written side by side: ENOSPC only when compaction and growth together cannot make the room", { timeout: 120000 }, () => {
  // A file that cannot grow in place moves, so it needs a second block of its new size.
  // Near the maximum that block may be made only by compacting the free bytes to the
  // end and growing the Memory behind them. (Before, this pool of at most 512 MiB said
  // ENOSPC at 2 × 139 MiB with 126 MiB free and room to grow by 90 MiB more.)
  const pool = Pool.create({ initialBytes: 64 * MiB, maximumBytes: 512 * MiB });
  // Every grow, after a compaction too, happens holding no lock (as writes grow).
  const metaState = () => Atomics.load(new Int32Array(pool.memory.buffer), (L.SB_META_LOCK >> 2) + L.LK_STATE);
  const grows = [];
  const realGrow = pool.memory.grow.bind(pool.memory);
  pool.memory.grow = (pages) => {
    if (pages > 0) grows.push({ pages, meta: metaState() }); // (grow(0) only reads the size)
    return realGrow(pages);
  };
  const r = pool.rootHandle();
  const chunk = bytes(MiB, 3);
  const hs = [0, 1].map((i) => pool.create(r.ino, r.gen, `side${i}`, FILE));
  for (const h of hs) pool.open(h.ino, h.gen);
  let failed = null;
  let o = 0;
  for (; !failed; o += MiB) {
    for (const h of hs) {
      const c = code(() => pool.write(h.ino, h.gen, chunk, 0, MiB, o));
      if (c) {
        assert.equal(c, "ENOSPC");
        failed = h;
        break;
      }
    }
  }
  const st = pool.stats();
  const size = pool.getattr(failed.ino, failed.gen).size;
  // The failed write needed a block of more than the file's size: not there, even after
  // a compaction and growing to the maximum.
  assert.ok(st.free_bytes + (512 * MiB - st.size) < size + MiB,
    `ENOSPC with ${st.free_bytes} free and ${512 * MiB - st.size} to grow for a ${size}-byte file`);
  assert.ok(o >= 170 * MiB, `only ${o / MiB} MiB each`);
  assert.equal(st.size, 512 * MiB, "grown to the maximum");
  assert.deepEqual(grows.filter((g) => g.meta !== 0), [], "no grow while META was held");
  // Nothing stored was lost, and the other file goes on.
  for (const h of hs) {
    const out = new Uint8Array(MiB);
    const n = pool.getattr(h.ino, h.gen).size;
    assert.equal(pool.read(h.ino, h.gen, out, 0, MiB, n - MiB), MiB);
    assert.deepEqual(out, chunk);
  }
  assert.deepEqual(pool.validate(), []);
  for (const h of hs) pool.close(h.ino, h.gen);
});

test("a directory of 100,000 entries: every name found by hashing", () => {
  const pool = newPool(16 * MiB, 256 * MiB);
  const r = pool.rootHandle();
  const d = pool.create(r.ino, r.gen, "big", DIR);
  const N = 100000;
  for (let i = 0; i < N; i++) pool.create(d.ino, d.gen, `entry-${i}`, FILE);
  assert.equal(pool.readdir(d.ino, d.gen).length, N);
  for (let i = 0; i < N; i += 97) assert.ok(pool.lookup(d.ino, d.gen, `entry-${i}`).ino > 0);
  assert.equal(code(() => pool.lookup(d.ino, d.gen, `entry-${N}`)), "ENOENT");
  assert.deepEqual(pool.validate(), []);
  for (let i = 0; i < N; i++) pool.unlink(d.ino, d.gen, `entry-${i}`);
  assert.deepEqual(pool.readdir(d.ino, d.gen), []);
  assert.deepEqual(pool.validate(), []);
});

test("the pool grows from 1 MiB by writes and a file can pass 2 GiB", { timeout: 120000 }, () => {
  const pool = newPool(MiB, 3 * 1024 * MiB);
  const r = pool.rootHandle();
  const f = pool.create(r.ino, r.gen, "huge", FILE);
  pool.truncate(f.ino, f.gen, 2.25 * 1024 * MiB); // 2.25 GiB of zeros
  const tail = bytes(4096, 5);
  const pos = 2.25 * 1024 * MiB - 4096;
  writeAt(pool, f, tail, pos);
  const out = new Uint8Array(4096);
  pool.open(f.ino, f.gen);
  assert.equal(pool.read(f.ino, f.gen, out, 0, 4096, pos), 4096);
  pool.close(f.ino, f.gen);
  assert.deepEqual(out, tail);
  assert.equal(pool.getattr(f.ino, f.gen).size, 2.25 * 1024 * MiB);
  assert.ok(pool.stats().size > 2.25 * 1024 * MiB);
  assert.deepEqual(pool.validate(), []);
});

test("a lock taken after another instance grew the Memory renews this instance's views", () => {
  // Each instance keeps typed-array views over the Memory; they cover only what it was
  // when made. Taking any lock (a stripe to read or write, META) renews them if the heap
  // grew: the first call after another instance's growth must see the new pages.
  for (const core of [true, false]) {
    const memory = newPool(MiB, 256 * MiB).memory;
    const pool = new Pool(memory, { lockCore: core });
    const other = new Pool(memory, { lockCore: core });
    assert.equal(pool.lockCore, core);
    const r = pool.rootHandle();
    const small = pool.create(r.ino, r.gen, "small", FILE);
    writeAt(pool, small, bytes(1000, 1), 0);
    pool.open(small.ino, small.gen);
    const before = pool.memory.buffer.byteLength;
    // The other instance grows the Memory by far and puts a file in the new pages.
    const o = other.rootHandle();
    const big = other.create(o.ino, o.gen, "big", FILE);
    const data = bytes(64 * MiB, 2);
    writeAt(other, big, data, 0);
    assert.ok(pool.memory.buffer.byteLength > before + 32 * MiB, "the Memory grew");
    // This instance: a read (stripe, read), a write (stripe, write), stat (META).
    const h = pool.lookup(r.ino, r.gen, "big");
    assert.equal(pool.getattr(h.ino, h.gen).size, data.length);
    pool.open(h.ino, h.gen);
    const tail = new Uint8Array(4096);
    assert.equal(pool.read(h.ino, h.gen, tail, 0, 4096, data.length - 4096), 4096);
    assert.deepEqual(tail, data.subarray(data.length - 4096), `read (core ${core})`);
    pool.write(h.ino, h.gen, bytes(4096, 3), 0, 4096, data.length - 4096, false);
    pool.close(h.ino, h.gen);
    pool.close(small.ino, small.gen);
    const back = new Uint8Array(4096);
    other.open(big.ino, big.gen);
    other.read(big.ino, big.gen, back, 0, 4096, data.length - 4096);
    other.close(big.ino, big.gen);
    assert.deepEqual(back, bytes(4096, 3), `write (core ${core})`);
    assert.deepEqual(pool.validate(), []);
  }
});

test("an engine that hands a thread its old buffer after another thread grew the Memory: the views are renewed by memory.grow(0)", () => {
  // V8 (node 20 and 24) let a worker's memory.buffer lag behind grows made by other workers
  // (threads.test.mjs under load): views over it ended before the heap, reads past their
  // end gave undefined and writes were dropped, and the free lists came apart. Here one
  // thread plays both parts: after `other` grew the Memory, `pool`'s memory.buffer is
  // made to return the old buffer until memory.grow is called (what V8 did, and what a
  // grow by nothing cures).
  for (const core of [true, false]) {
    const memory = newPool(MiB, 256 * MiB).memory;
    const pool = new Pool(memory, { lockCore: core });
    const other = new Pool(memory, { lockCore: core });
    const r = pool.rootHandle();
    const real = Object.getOwnPropertyDescriptor(WebAssembly.Memory.prototype, "buffer").get;
    const realGrow = WebAssembly.Memory.prototype.grow;
    let stale = null;
    Object.defineProperty(memory, "buffer", { configurable: true, get: () => stale ?? real.call(memory) });
    memory.grow = (n) => {
      stale = null;
      return realGrow.call(memory, n);
    };
    try {
      const old = memory.buffer;
      const o = other.rootHandle();
      const big = other.create(o.ino, o.gen, "big", FILE);
      const data = bytes(32 * MiB, 2);
      writeAt(other, big, data, 0); // grows the Memory (and renews other's views)
      assert.ok(real.call(memory).byteLength > old.byteLength + 16 * MiB, "the Memory grew");
      stale = old; // what pool's thread would see
      const h = pool.lookup(r.ino, r.gen, "big");
      pool.open(h.ino, h.gen);
      const tail = new Uint8Array(4096);
      assert.equal(pool.read(h.ino, h.gen, tail, 0, 4096, data.length - 4096), 4096);
      assert.deepEqual(tail, data.subarray(data.length - 4096), `read (core ${core})`);
      // Allocation walks the heap's end: files made and written here land in the new pages.
      for (let i = 0; i < 8; i++) {
        const f = pool.create(r.ino, r.gen, `f${i}`, FILE);
        writeAt(pool, f, bytes(MiB + i, 10 + i), 0);
      }
      pool.close(h.ino, h.gen);
      assert.equal(stale, null, "the old buffer was never given up");
    } finally {
      delete memory.buffer;
      delete memory.grow;
    }
    assert.deepEqual(pool.validate(), []);
    for (let i = 0; i < 8; i++) {
      assert.deepEqual(readAll(other, other.lookup(r.ino, r.gen, `f${i}`)), bytes(MiB + i, 10 + i));
    }
  }
});

test("writes and truncates grow the Memory holding no lock; what others take meanwhile is retried", () => {
  // Growing a big Memory takes milliseconds (Chrome: 5-30 ms); every open and close in
  // the pool waits for META, so file growth grows it before taking META (heap NEED_GROW).
  const pool = newPool(MiB, 512 * MiB);
  const other = new Pool(pool.memory); // a second instance on the same Memory
  const metaState = () => Atomics.load(new Int32Array(pool.memory.buffer), (L.SB_META_LOCK >> 2) + L.LK_STATE);
  const grows = [];
  const realGrow = pool.memory.grow.bind(pool.memory);
  let steal = 0; // while > 0, each grow is followed by the other instance taking its pages
  pool.memory.grow = (pages) => {
    if (pages === 0) return realGrow(0); // (only reads the size: views.js memoryPages)
    grows.push({ pages, meta: metaState(), stack: metaState() ? new Error().stack.split("\n").slice(2, 9).join(" < ") : "" });
    const r = realGrow(pages);
    if (steal > 0) {
      steal--;
      const s = other.rootHandle();
      const f = other.create(s.ino, s.gen, `thief${steal}`, FILE);
      writeAt(other, f, new Uint8Array(pages * L.PAGE - 4096), 0);
    }
    return r;
  };
  const r = pool.rootHandle();
  const a = pool.create(r.ino, r.gen, "appended", FILE);
  const chunk = bytes(MiB, 3);
  pool.open(a.ino, a.gen);
  for (let i = 0; i < 40; i++) pool.write(a.ino, a.gen, chunk, 0, MiB, 0, true);
  pool.close(a.ino, a.gen);
  const t = pool.create(r.ino, r.gen, "truncated", FILE);
  pool.truncate(t.ino, t.gen, 100 * MiB);
  assert.ok(grows.length >= 3, `the Memory grew ${grows.length} times`);
  assert.deepEqual(grows.filter((g) => g.meta !== 0), [], "no grow while META was held");
  // Another instance takes the new pages before the retry, three times running: the
  // fourth try grows under META as before, and the write lands whole.
  const n = grows.length;
  steal = 3;
  const b = pool.create(r.ino, r.gen, "raced", FILE);
  const data = bytes(40 * MiB, 9);
  writeAt(pool, b, data, 0);
  assert.equal(steal, 0, "the other instance took the pages three times");
  assert.ok(grows.slice(n).some((g) => g.meta !== 0), "after three retries the grow is under META");
  assert.deepEqual(readAll(pool, b), data);
  const got = readAll(pool, a);
  for (let i = 0; i < 40; i++) assert.deepEqual(got.subarray(i * MiB, (i + 1) * MiB), chunk, `MiB ${i}`);
  assert.equal(pool.getattr(t.ino, t.gen).size, 100 * MiB);
  // At the maximum: ENOSPC as before (the unlocked grow fails, the retry reports it),
  // and nothing stored is lost.
  assert.equal(code(() => writeAt(pool, b, new Uint8Array(600 * MiB), 0)), "ENOSPC");
  assert.deepEqual(readAll(pool, b), data);
  assert.deepEqual(pool.validate(), []);
  assert.equal(pool.stats().size, pool.memory.buffer.byteLength, "every grown page is adopted");
  // Pages grown by an instance that died before its retry are not the heap's until a
  // later grow adopts them (the pool checks clean meanwhile).
  realGrow(8);
  assert.deepEqual(pool.validate(), []);
  assert.equal(pool.stats().size, pool.memory.buffer.byteLength - 8 * L.PAGE);
  const c = pool.create(r.ino, r.gen, "adopts", FILE);
  writeAt(pool, c, new Uint8Array(pool.stats().largest_free_extent + MiB), 0);
  assert.equal(pool.stats().size, pool.memory.buffer.byteLength, "the dead one's pages adopted");
  assert.deepEqual(pool.validate(), []);
  other.detach();
});

// ---- seeded model-based fuzz ---------------------------------------------------

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * Reads and writes between the pool and a "heap" of this test's own, through the copier
 * (one wasm call for each small one, fastio.js), as a mount makes them; null where the
 * engine has no multi-memory (node 20).
 */
function heapIO(pool) {
  const heap = new WebAssembly.Memory({ initial: 256 }); // 16 MiB
  const c = makeCopier(pool.memory, heap);
  if (!c) return null;
  const u8 = () => new Uint8Array(heap.buffer);
  return {
    write(h, data, pos, append) {
      pool.open(h.ino, h.gen);
      try {
        u8().set(data, 4096);
        return pool.write(h.ino, h.gen, u8(), 4096, data.length, pos, append, c.copyIn, c.write);
      } finally {
        pool.close(h.ino, h.gen);
      }
    },
    read(h, pos, len) {
      pool.open(h.ino, h.gen);
      try {
        const n = pool.read(h.ino, h.gen, u8(), 8192, len, pos, c.copyOut, c.read);
        return u8().slice(8192, 8192 + n);
      } finally {
        pool.close(h.ino, h.gen);
      }
    },
  };
}

function fuzz(seed, steps) {
  const rand = rng(seed);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const pool = newPool(128 * 1024, 8 * MiB);
  // Odd seeds read and write through the copier where there is one (a mount's path).
  const io = seed % 2 ? heapIO(pool) : null;
  const write = io ? io.write : (h, data, pos, append) => writeAt(pool, h, data, pos, append);
  const root = pool.rootHandle();
  // model: path -> {dir: true} | {data: Uint8Array}
  const model = new Map([["", { dir: true, h: root }]]);
  const dirs = () => [...model.keys()].filter((k) => model.get(k).dir);
  const files = () => [...model.keys()].filter((k) => !model.get(k).dir);
  const split = (p) => [p.slice(0, p.lastIndexOf("/")), p.slice(p.lastIndexOf("/") + 1)];
  const sizes = [0, 1, 100, 4096, 70000, 300000, 1500000];
  for (let step = 0; step < steps; step++) {
    const op = pick(["create", "mkdir", "write", "append", "truncate", "unlink", "rmdir", "rename", "rename", "read"]);
    const where = `seed ${seed} step ${step} ${op}`;
    try {
      if (op === "create" || op === "mkdir") {
        const parent = pick(dirs());
        const path = `${parent}/${pick(["a", "b", "c", "d", "e"])}${Math.floor(rand() * 8)}`;
        const ph = model.get(parent).h;
        const c = code(() => {
          const h = pool.create(ph.ino, ph.gen, split(path)[1], op === "mkdir" ? DIR : FILE);
          model.set(path, op === "mkdir" ? { dir: true, h } : { data: new Uint8Array(0), h });
        });
        if (model.has(path) && c) assert.ok(c === "EEXIST" || c === "ENOSPC", `${where}: ${c}`);
      } else if ((op === "write" || op === "append" || op === "truncate") && files().length) {
        const path = pick(files());
        const ent = model.get(path);
        const n = pick(sizes);
        if (op === "truncate") {
          const c = code(() => pool.truncate(ent.h.ino, ent.h.gen, n));
          if (!c) {
            const nd = new Uint8Array(n);
            nd.set(ent.data.subarray(0, Math.min(n, ent.data.length)));
            ent.data = nd;
          } else assert.equal(c, "ENOSPC", where);
        } else {
          const data = bytes(n, step + 1);
          const pos = op === "append" ? ent.data.length : Math.floor(rand() * (ent.data.length + 5000));
          const c = code(() => write(ent.h, data, pos, op === "append"));
          if (c) {
            assert.equal(c, "ENOSPC", where);
          } else if (n > 0) { // POSIX: a write of nothing changes nothing
            const nd = new Uint8Array(Math.max(ent.data.length, pos + n));
            nd.set(ent.data);
            nd.set(data, pos);
            ent.data = nd;
          }
        }
      } else if (op === "read" && files().length) {
        // A slice of a file (past its end too), as the model has it.
        const ent = model.get(pick(files()));
        const pos = Math.floor(rand() * (ent.data.length + 100));
        const len = pick([1, 8, 100, 4096, 65535, 70000, 2 * MiB]);
        const want = ent.data.subarray(Math.min(pos, ent.data.length), Math.min(ent.data.length, pos + len));
        let got;
        if (io) got = io.read(ent.h, pos, len);
        else {
          const out = new Uint8Array(len);
          pool.open(ent.h.ino, ent.h.gen);
          got = out.subarray(0, pool.read(ent.h.ino, ent.h.gen, out, 0, len, pos));
          pool.close(ent.h.ino, ent.h.gen);
        }
        assert.deepEqual(got, want, `${where}: ${len} at ${pos}`);
      } else if (op === "unlink" && files().length) {
        const path = pick(files());
        const [parent, name] = split(path);
        const ph = model.get(parent).h;
        pool.unlink(ph.ino, ph.gen, name);
        model.delete(path);
      } else if (op === "rmdir" && dirs().length > 1) {
        const path = pick(dirs().filter((d) => d));
        const [parent, name] = split(path);
        const ph = model.get(parent).h;
        const empty = ![...model.keys()].some((k) => k.startsWith(path + "/"));
        const c = code(() => pool.rmdir(ph.ino, ph.gen, name));
        assert.equal(c, empty ? null : "ENOTEMPTY", where);
        if (!c) model.delete(path);
      } else if (op === "rename" && model.size > 1) {
        const src = pick([...model.keys()].filter((k) => k));
        const dstParent = pick(dirs());
        const dst = `${dstParent}/${pick(["a", "b", "c", "x"])}${Math.floor(rand() * 8)}`;
        const [sp, sn] = split(src);
        const [dp, dn] = split(dst);
        const sh = model.get(sp).h;
        const dh = model.get(dp).h;
        const c = code(() => pool.rename(sh.ino, sh.gen, sn, dh.ino, dh.gen, dn));
        const s = model.get(src);
        const t = model.get(dst);
        let want = null;
        if (src === dst) want = null;
        else if (s.dir && (dst + "/").startsWith(src + "/")) want = "EINVAL";
        else if (t && s.dir && !t.dir) want = "ENOTDIR";
        else if (t && !s.dir && t.dir) want = "EISDIR";
        else if (t && t.dir && [...model.keys()].some((k) => k.startsWith(dst + "/"))) want = "ENOTEMPTY";
        if (c !== "ENOSPC") assert.equal(c, want, `${where} ${src} -> ${dst}`);
        if (!c && src !== dst) {
          const moved = [...model.entries()].filter(([k]) => k === src || k.startsWith(src + "/"));
          for (const [k] of moved) model.delete(k);
          for (const [k] of [...model.entries()]) if (k === dst || k.startsWith(dst + "/")) model.delete(k);
          for (const [k, v] of moved) model.set(dst + k.slice(src.length), v);
        }
      }
      const errs = pool.validate();
      assert.deepEqual(errs, [], where);
    } catch (e) {
      e.message = `fuzz failed — replay with seed ${seed} (step ${step}): ${e.message}`;
      throw e;
    }
  }
  // Final: everything in the model is in the pool with the same content.
  for (const [path, ent] of model) {
    if (!path) continue;
    const [parent, name] = split(path);
    const ph = model.get(parent).h;
    const h = pool.lookup(ph.ino, ph.gen, name);
    assert.equal(h.ino, ent.h.ino, `seed ${seed}: ${path}`);
    if (!ent.dir) assert.deepEqual(readAll(pool, h), ent.data, `seed ${seed}: content of ${path}`);
  }
  for (const d of dirs()) {
    const h = model.get(d).h;
    const want = [...model.keys()].filter((k) => k && split(k)[0] === d).map((k) => split(k)[1]).sort();
    assert.deepEqual(pool.readdir(h.ino, h.gen).sort(), want, `seed ${seed}: listing of ${d || "/"}`);
  }
}

const SEEDS = process.env.XMFS_FUZZ_SEEDS ? Number(process.env.XMFS_FUZZ_SEEDS) : 12;
const STEPS = process.env.XMFS_FUZZ_STEPS ? Number(process.env.XMFS_FUZZ_STEPS) : 400;
const FIRST = process.env.XMFS_FUZZ_SEED ? Number(process.env.XMFS_FUZZ_SEED) : 1;
test(`seeded fuzz: ${SEEDS} seeds × ${STEPS} steps, validate() after every step`, () => {
  for (let seed = FIRST; seed < FIRST + SEEDS; seed++) fuzz(seed, STEPS);
});

// ---- fragmentation and compaction -----------------------------------------------------

test("fragmentation: 100,000 mixed operations (1 B – 8 MiB) keep the pool ≤ 1.5× peak live bytes", { timeout: 300000 }, () => {
  const rand = rng(20261124);
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 4095 * MiB });
  const r = pool.rootHandle();
  const files = [];
  const buf = new Uint8Array(8 * MiB).fill(1);
  const size = () => Math.floor(Math.exp(rand() * Math.log(8 * MiB)));
  let live = 0;
  let peak = 0;
  let n = 0;
  for (let i = 0; i < 100000; i++) {
    const op = rand();
    if (op < 0.3 || files.length < 4) {
      if (files.length >= 64) continue;
      const name = `f${n++}`;
      const h = pool.create(r.ino, r.gen, name, FILE);
      const s = size();
      writeAt(pool, h, buf.subarray(0, s), 0);
      files.push({ name, h, s });
      live += s;
    } else {
      const f = files[Math.floor(rand() * files.length)];
      if (op < 0.6) {
        const add = Math.min(size(), 8 * MiB - f.s);
        writeAt(pool, f.h, buf.subarray(0, add), 0, true);
        f.s += add;
        live += add;
      } else if (op < 0.8) {
        const ns = Math.floor(rand() * f.s);
        pool.truncate(f.h.ino, f.h.gen, ns);
        live -= f.s - ns;
        f.s = ns;
      } else {
        pool.unlink(r.ino, r.gen, f.name);
        files.splice(files.indexOf(f), 1);
        live -= f.s;
      }
    }
    peak = Math.max(peak, live);
    if (i % 20000 === 0) assert.deepEqual(pool.validate(), [], `after ${i} operations`);
  }
  const st = pool.stats();
  const ratio = st.size / peak;
  console.log(`fragmentation: pool ${(st.size / MiB).toFixed(1)} MiB, peak live ` +
    `${(peak / MiB).toFixed(1)} MiB, growth ratio ${ratio.toFixed(3)}, ` +
    `${st.compactions} compactions, largest free extent ${st.largest_free_extent} bytes`);
  assert.ok(ratio <= 1.5, `pool grew to ${ratio.toFixed(3)}× the peak live bytes`);
  assert.deepEqual(pool.validate(), []);
  for (const f of files) assert.equal(pool.getattr(f.h.ino, f.h.gen).size, f.s);
  // largest_free_extent is honest: a file of exactly that size fits without growing.
  const before = pool.stats().size;
  const h = pool.create(r.ino, r.gen, "fits", FILE);
  pool.truncate(h.ino, h.gen, st.largest_free_extent - 64);
  assert.equal(pool.stats().size, before);
});

test("files growing side by side in a new pool are seldom moved (extent moves counted)", () => {
  // Two and three workers appending big files at once into a pool that has to grow: a
  // file that must move and fits no hole gets room to double in the middle of a grown
  // tail, instead of the files taking turns to move behind each other, each move
  // copying the whole file (two 128 MiB files: 940 MiB copied before, 93 MiB now;
  // three of 96 MiB: 1,100 MiB before, 251 MiB then, 167 MiB since files go to a hole's
  // start unless file data precedes it).
  // (Pool.stats() counts the moves; the wrapped _reserve counts them independently.)
  const orig = Content.prototype._reserve;
  let copied = 0;
  let moves = 0;
  Content.prototype._reserve = function (ino, need, size, exact, mayCompact) {
    const w = this.inodes.ib(ino) >>> 2;
    const before = this.v.u32[w + L.I_EXTENT];
    const r = orig.call(this, ino, need, size, exact, mayCompact);
    if (before && size && this.v.u32[w + L.I_EXTENT] !== before) {
      copied += size;
      moves++;
    }
    return r;
  };
  try {
    for (const [n, mib, most] of [[2, 128, 0.5], [3, 96, 1]]) {
      const pool = Pool.create({ initialBytes: 64 * MiB, maximumBytes: 2048 * MiB });
      const r = pool.rootHandle();
      const chunk = new Uint8Array(MiB);
      const hs = Array.from({ length: n }, (_, k) => pool.create(r.ino, r.gen, `w${k}`, FILE));
      for (const h of hs) pool.open(h.ino, h.gen);
      copied = 0;
      moves = 0;
      pool.resetLockWaits();
      for (let i = 0; i < mib; i++) {
        for (const [k, h] of hs.entries()) {
          chunk.fill((i * 7 + k) & 255);
          pool.write(h.ino, h.gen, chunk, 0, MiB, 0, true);
        }
      }
      const written = n * mib * MiB;
      const st = pool.stats();
      assert.ok(moves > 0, "the files never moved: the case tests nothing");
      assert.deepEqual([st.extent_moves, st.bytes_moved], [moves, copied]);
      pool.resetLockWaits();
      assert.deepEqual([pool.stats().extent_moves, pool.stats().bytes_moved], [0, 0]);
      assert.ok(copied <= written * most, `${n} files of ${mib} MiB: extent moves copied ` +
        `${(copied / MiB).toFixed(0)} MiB for ${written / MiB} MiB written`);
      assert.ok(pool.memory.buffer.byteLength <= 3 * written, `pool grew to ` +
        `${pool.memory.buffer.byteLength / MiB} MiB for ${written / MiB} MiB of files`);
      const out = new Uint8Array(MiB);
      for (const [k, h] of hs.entries()) {
        for (let i = 0; i < mib; i += 17) {
          pool.read(h.ino, h.gen, out, 0, MiB, i * MiB);
          assert.ok(out.every((b) => b === ((i * 7 + k) & 255)), `file ${k}, MiB ${i} is wrong`);
        }
        pool.close(h.ino, h.gen);
      }
      assert.deepEqual(pool.validate(), []);
    }
  } finally {
    Content.prototype._reserve = orig;
  }
});

test("a big file grows by doubling while the pool has room, by quarters near its maximum, and a close gives back all but an eighth", () => {
  /** The file's room (I_CAP) and size, read from its inode record as the pool reads them. */
  const roomOf = (pool, h) => {
    const u32 = new Uint32Array(pool.memory.buffer);
    const w = (u32[L.SB_CHUNK_DIR + (h.ino >>> 10)] + (h.ino & 1023) * L.INODE_BYTES) >> 2;
    return { cap: u32[w + L.I_CAP], size: u32[w + L.I_SIZE] };
  };
  /** Append `n` MiB to open file h, 1 MiB per write; the rooms it had after each write. */
  const appendMiB = (pool, h, n, from = 0) => {
    const caps = [];
    for (let i = from; i < from + n; i++) {
      pool.write(h.ino, h.gen, bytes(MiB, i), 0, MiB, 0, true);
      caps.push(roomOf(pool, h).cap);
    }
    return caps;
  };
  const intact = (pool, h, n) => {
    const all = readAll(pool, h);
    assert.equal(all.length, n * MiB);
    for (let i = 0; i < n; i++) assert.deepEqual(all.subarray(i * MiB, (i + 1) * MiB), bytes(MiB, i), `MiB ${i}`);
  };
  // Room to spare: the room doubles, ~62 MiB for 40 MiB written, 7 rooms in all (by
  // quarters: 31, most of them 1 MiB more each — at the heap's end the Memory grew by
  // what the write needed — each growth a META transaction and a write off the fast
  // path). At the heap's end the Memory grows for the doubled room at once.
  const pool = Pool.create({ initialBytes: 4 * MiB, maximumBytes: 1024 * MiB });
  const r = pool.rootHandle();
  const h = pool.create(r.ino, r.gen, "big", FILE);
  pool.open(h.ino, h.gen);
  const caps = appendMiB(pool, h, 40);
  const growths = new Set(caps).size;
  assert.ok(growths <= 8, `${growths} growths: ${caps.map((c) => (c / MiB).toFixed(2))}`);
  assert.ok(caps.at(-1) >= 56 * MiB, `room ${caps.at(-1)} for 40 MiB: ${caps.map((c) => (c / MiB).toFixed(2))}`);
  // A second open of the file closes: the first is still writing, and finds its room
  // taken back (all but an eighth): it grows again where it is.
  pool.open(h.ino, h.gen);
  const free = pool.stats().free_bytes;
  pool.close(h.ino, h.gen);
  let { cap, size } = roomOf(pool, h);
  assert.equal(size, 40 * MiB);
  assert.ok(cap >= size + 5 * MiB && cap <= size + 5 * MiB + 8192, `room ${cap} after the close`);
  assert.ok(pool.stats().free_bytes >= free + 15 * MiB, "the room given back is free");
  const moves = pool.stats().extent_moves;
  appendMiB(pool, h, 10, 40);
  assert.equal(pool.stats().extent_moves, moves, "grew where it was");
  pool.close(h.ino, h.gen);
  ({ cap, size } = roomOf(pool, h));
  assert.ok(cap <= size + size / 4 + 8192, `room ${cap} for ${size} bytes after the last close`);
  intact(pool, h, 50);
  // A close that finds little room to give back leaves it (no lock taken: nothing changes).
  pool.open(h.ino, h.gen);
  const before = roomOf(pool, h);
  pool.close(h.ino, h.gen);
  assert.deepEqual(roomOf(pool, h), before);
  assert.deepEqual(pool.validate(), []);

  // Near the maximum doubling would take the room the next growth needs: by quarters
  // once the pool has less than eight times the file's room to spare.
  const tight = Pool.create({ initialBytes: 4 * MiB, maximumBytes: 48 * MiB });
  const t = tight.create(tight.rootHandle().ino, tight.rootHandle().gen, "f", FILE);
  tight.open(t.ino, t.gen);
  const tcaps = appendMiB(tight, t, 30);
  tcaps.forEach((c, i) => {
    if (i >= 7) assert.ok(c <= 1.25 * tcaps[i - 1] + 8192 || c <= (i + 1) * MiB + 8192, `room ${c} after ${i + 1} MiB`);
  });
  tight.close(t.ino, t.gen);
  intact(tight, t, 30);
  assert.deepEqual(tight.validate(), []);
});

test("a file that becomes big in a small hole moves to a roomier one then, not when it has filled its hole", () => {
  // Free space: a 120 MiB hole, a small file, a 480 MiB hole. Best fit puts a new
  // file's first block in the smallest hole that fits it; a file written by appends
  // then used to fill the 120 MiB hole and move 117-120 MiB at once (on every round of
  // writing and removing it). Now it moves when its room passes 1 MiB: about 1 MiB.
  for (const chunk of [MiB, 8192]) {
    const pool = Pool.create({ initialBytes: 16 * MiB, maximumBytes: 1024 * MiB });
    const r = pool.rootHandle();
    sizedFile(pool, r, "hole1", 120 * MiB);
    sizedFile(pool, r, "small", 100 * 1024);
    sizedFile(pool, r, "hole2", 480 * MiB);
    pool.unlink(r.ino, r.gen, "hole1");
    pool.unlink(r.ino, r.gen, "hole2");
    const size = pool.stats().size;
    const buf = new Uint8Array(chunk);
    for (let round = 0; round < 3; round++) {
      pool.resetLockWaits();
      const h = pool.create(r.ino, r.gen, "f", FILE);
      pool.open(h.ino, h.gen);
      for (let o = 0; o < 128 * MiB; o += chunk) {
        buf.fill((o / chunk) & 255);
        pool.write(h.ino, h.gen, buf, 0, chunk, o);
      }
      const st = pool.stats();
      assert.ok(st.extent_moves >= 1, `chunk ${chunk}, round ${round}: the file never moved (the case tests nothing)`);
      assert.ok(st.bytes_moved <= 2 * MiB, `chunk ${chunk}, round ${round}: moves copied ` +
        `${(st.bytes_moved / MiB).toFixed(1)} MiB`);
      assert.equal(st.size, size, "the pool grew although a hole had room");
      const out = new Uint8Array(chunk);
      for (let o = 0; o < 128 * MiB; o += 97 * chunk) {
        pool.read(h.ino, h.gen, out, 0, chunk, o);
        assert.ok(out.every((b) => b === ((o / chunk) & 255)), `chunk ${chunk}: bytes at ${o} are wrong`);
      }
      pool.close(h.ino, h.gen);
      pool.unlink(r.ino, r.gen, "f");
    }
    assert.deepEqual(pool.validate(), []);
  }
});

test("two files growing side by side after the pool's tables: placed at a hole's start unless file data precedes it", () => {
  // Free space: a 463 MiB hole after the pool's tables, a directory's table, a 76 MiB
  // hole. Both files begin in the small hole and move out early; the first used to go
  // mid-way into the big hole and the second mid-way before it, so the second had 230
  // MiB of room to grow in, outgrew it and moved with room to double: 234 MiB copied and
  // the pool grown from 540 to 929 MiB, for two 128 MiB files in 540 MiB.
  const pool = Pool.create({ initialBytes: 16 * MiB, maximumBytes: 2048 * MiB });
  const r = pool.rootHandle();
  sizedFile(pool, r, "hole1", 463 * MiB);
  const d = pool.create(r.ino, r.gen, "d", DIR);
  for (let i = 0; i < 3000; i++) pool.create(d.ino, d.gen, `entry-with-a-longish-name-${i}`, FILE);
  sizedFile(pool, r, "hole2", 76 * MiB);
  pool.unlink(r.ino, r.gen, "hole1");
  pool.unlink(r.ino, r.gen, "hole2");
  const size = pool.stats().size;
  const buf = new Uint8Array(MiB);
  for (let round = 0; round < 2; round++) {
    pool.resetLockWaits();
    const hs = [0, 1].map((k) => {
      const h = pool.create(r.ino, r.gen, `w${k}`, FILE);
      pool.open(h.ino, h.gen);
      return h;
    });
    for (let i = 0; i < 128; i++) {
      for (const [k, h] of hs.entries()) {
        buf.fill((i * 3 + k) & 255);
        pool.write(h.ino, h.gen, buf, 0, MiB, i * MiB);
      }
    }
    const st = pool.stats();
    assert.ok(st.bytes_moved <= 4 * MiB, `round ${round}: moves copied ${(st.bytes_moved / MiB).toFixed(0)} MiB`);
    assert.equal(st.size, size, `round ${round}: the pool grew`);
    for (const [k, h] of hs.entries()) {
      for (let i = 0; i < 128; i += 31) {
        pool.read(h.ino, h.gen, buf, 0, MiB, i * MiB);
        assert.ok(buf.every((b) => b === ((i * 3 + k) & 255)), `file ${k}, MiB ${i} is wrong`);
      }
      pool.close(h.ino, h.gen);
      pool.unlink(r.ino, r.gen, `w${k}`);
    }
  }
  assert.deepEqual(pool.validate(), []);
});

test("file data of 64 KiB or more starts on a 4 KiB boundary of the pool: written big, grown by appends, slid, truncated up, compacted", () => {
  // (A 4 KiB read at a 4 KiB offset then touches one page, not two; heap.js ALIGN.)
  let content = null;
  const grab = Content.prototype.read;
  Content.prototype.read = function (...a) {
    content = this;
    return grab.apply(this, a);
  };
  try {
    const pool = newPool(MiB, 256 * MiB);
    const r = pool.rootHandle();
    pool.read(r.ino, r.gen, new Uint8Array(0), 0, 0, 0); // (captures the Content)
    const extent = (h) => content.v.u32[(content.inodes.ib(h.ino) >>> 2) + L.I_EXTENT];
    const aligned = (h, what) => assert.equal(extent(h) % 4096, 0, `${what}: extent at ${extent(h)}`);
    const file = (name) => pool.create(r.ino, r.gen, name, FILE);
    const expect = new Map();
    const put = (h, data, pos) => {
      writeAt(pool, h, data, pos);
      const old = expect.get(h.ino) ?? new Uint8Array(0);
      const next = new Uint8Array(Math.max(old.length, pos + data.length));
      next.set(old);
      next.set(data, pos);
      expect.set(h.ino, next);
    };
    // Small files first, so that nothing lands aligned by chance.
    const smalls = Array.from({ length: 9 }, (_, i) => file(`s${i}`));
    smalls.forEach((h, i) => put(h, bytes(1000 + 517 * i, i + 1), 0));
    const big = file("big");
    for (let i = 0; i < 4; i++) put(big, bytes(MiB, 20 + i), i * MiB);
    aligned(big, "written in 1 MiB pieces");
    const grown = file("grown");
    for (let i = 0; i < 512; i++) put(grown, bytes(4096, 100 + i), i * 4096);
    aligned(grown, "grown from nothing in 4 KiB appends to 2 MiB");
    const t = file("truncated");
    pool.truncate(t.ino, t.gen, 3 * MiB + 5);
    expect.set(t.ino, new Uint8Array(3 * MiB + 5));
    aligned(t, "truncated up");
    // A slide: a small file before `slid` goes, its successor stays, and `slid` grows a
    // little; it slides back into the hole by whole pages. (At the heap's end, where the
    // three land in this order: `after` does not fit the free bytes before `slid`.)
    // (The names first: each directory entry is a block of its own.)
    const [before, slid, after] = ["before", "slid", "after"].map(file);
    const end = pool.stats().size;
    put(before, bytes(40000, 7), 0);
    put(slid, bytes(128 << 10, 8), 0);
    put(after, bytes(5000, 9), 0);
    aligned(slid, "slid, first");
    const at = extent(slid);
    assert.ok(pool.stats().size > end && extent(after) > at, "the three at the end, in order");
    pool.unlink(r.ino, r.gen, "before");
    put(slid, bytes(8192, 10), 128 << 10);
    assert.ok(extent(slid) < at, `slid back (${at} → ${extent(slid)})`);
    aligned(slid, "slid back into the hole before it");
    // Compaction after small files went: the big ones move down and stay aligned.
    for (let i = 0; i < 9; i += 2) pool.unlink(r.ino, r.gen, `s${i}`);
    const free = pool.stats().free_bytes;
    assert.equal(pool.compact(), true);
    const st = pool.stats();
    assert.equal(st.free_bytes, free);
    assert.ok(st.largest_free_extent >= free - 5 * 4200, `free space left in pieces: ${free} free, ` +
      `largest ${st.largest_free_extent}`);
    for (const h of [big, grown, t, slid]) aligned(h, `inode ${h.ino} after compaction`);
    assert.deepEqual(pool.validate(), []);
    for (const [name, h] of [["big", big], ["grown", grown], ["truncated", t], ["slid", slid], ["after", after],
      ...smalls.map((h, i) => [`s${i}`, h]).filter((_, i) => i % 2)]) {
      assert.deepEqual(readAll(pool, h), expect.get(h.ino), `${name} lost its content`);
    }
  } finally {
    Content.prototype.read = grab;
  }
});

test("compaction moves every kind of block and loses nothing", () => {
  const pool = newPool(MiB, 64 * MiB);
  const r = pool.rootHandle();
  const d = pool.create(r.ino, r.gen, "dir", DIR);
  const sub = pool.create(d.ino, d.gen, "sub", DIR);
  const kept = [];
  for (let i = 0; i < 300; i++) {
    const parent = i % 2 ? d : sub;
    const h = pool.create(parent.ino, parent.gen, `file-${i}`, FILE);
    const data = bytes(1000 + i * 97, i + 1);
    writeAt(pool, h, data, 0);
    if (i % 3) pool.unlink(parent.ino, parent.gen, `file-${i}`);
    else kept.push([parent, `file-${i}`, data]);
  }
  pool.create(sub.ino, sub.gen, "link", L.S_IFLNK | 0o777, "../file-1");
  const free = pool.stats().free_bytes;
  assert.equal(pool.compact(), true);
  assert.deepEqual(pool.validate(), []);
  const st = pool.stats();
  assert.equal(st.free_bytes, free);
  assert.equal(st.largest_free_extent, free - 16, "all free space is one block");
  for (const [parent, name, data] of kept) assert.deepEqual(readAll(pool, pool.lookup(parent.ino, parent.gen, name)), data);
  assert.equal(pool.readlink(...Object.values(pool.lookup(sub.ino, sub.gen, "link")).slice(0, 2)), "../file-1");
  assert.equal(pool.dirPath(sub.ino, sub.gen), "/dir/sub");
  pool.rename(d.ino, d.gen, "sub", r.ino, r.gen, "moved");
  assert.equal(pool.dirPath(sub.ino, sub.gen), "/moved");
  assert.deepEqual(pool.validate(), []);
});

test("compaction of a heap with a broken block size stops (false, nothing moved) instead of walking forever", { timeout: 20000 }, () => {
  for (const broken of [0, 8, 0x7ffffff8]) {
    const pool = newPool(MiB, 16 * MiB);
    const r = pool.rootHandle();
    for (let i = 0; i < 6; i++) writeAt(pool, pool.create(r.ino, r.gen, `f${i}`, FILE), bytes(3000 + i, 2 * i + 1), 0);
    pool.unlink(r.ino, r.gen, "f1");
    pool.unlink(r.ino, r.gen, "f3");
    const h = pool.lookup(r.ino, r.gen, "f4");
    const u32 = new Uint32Array(pool.memory.buffer);
    // The extent of f4: its inode's EXTENT word, found by scanning for the file's bytes.
    const u8 = new Uint8Array(pool.memory.buffer);
    const data = bytes(3004, 9);
    let ext = -1;
    for (let p = u32[L.SB_HEAP_START]; p < u8.length - data.length; p += 8) {
      if (u8[p] === data[0] && u8[p + 1] === data[1] && u8[p + 2] === data[2] && u8[p + 3] === data[3] &&
          u8.subarray(p, p + 64).every((b, k) => b === data[k])) {
        ext = p;
        break;
      }
    }
    assert.ok(ext > 0, "found the file's data");
    const head = u32[(ext - L.HDR) >>> 2];
    u32[(ext - L.HDR) >>> 2] = broken | L.USED_BIT;
    const before = u8.slice(u32[L.SB_HEAP_START], u32[L.SB_HEAP_START] + 65536);
    assert.equal(pool.compact(), false, `size word ${broken}`);
    assert.deepEqual(u8.slice(u32[L.SB_HEAP_START], u32[L.SB_HEAP_START] + 65536), before, "nothing moved");
    assert.ok(pool.validate().length > 0, "validate reports the broken block");
    u32[(ext - L.HDR) >>> 2] = head;
    assert.deepEqual(pool.validate(), []);
    assert.equal(pool.compact(), true);
    assert.deepEqual(readAll(pool, h), data);
  }
});

test("a long write that hands its lock over to a truncate of the file: as if the truncate came between its pieces", () => {
  // Between pieces a long write lets waiters in; one may truncate the file below what the
  // write has copied, and an allocation may then take the freed tail, so that the rest of
  // the write moves the file — keeping only the truncated size. The result must be that
  // of the first piece, the truncate, then the rest: the bytes cut off read as zeros (a
  // hole), never as what the new extent held before (here 0xab, from a removed file).
  const MiB4 = 4 * MiB;
  for (const [pos, cut] of [[0, 512 << 10], [MiB, 256 << 10]]) {
    const pool = newPool(MiB, 128 * MiB);
    const other = new Pool(pool.memory);
    const r = pool.rootHandle();
    const junk = pool.create(r.ino, r.gen, "junk", FILE);
    writeAt(pool, junk, new Uint8Array(16 * MiB).fill(0xab), 0);
    pool.unlink(r.ino, r.gen, "junk");
    const h = pool.create(r.ino, r.gen, "f", FILE);
    const before = bytes(pos, 3);
    if (pos) writeAt(pool, h, before, 0);
    const data = bytes(MiB4, 7);
    const contended = Locks.prototype.contended;
    const lockForWrite = Content.prototype._lockForWrite;
    let writing = false;
    let calls = 0;
    Locks.prototype.contended = function (base) {
      return writing || contended.call(this, base);
    };
    Content.prototype._lockForWrite = function (ino, stripe) {
      if (writing && ino === h.ino && ++calls === 2) {
        // The hand-over after the first piece: another instance truncates, and the tail
        // freed goes to a new file.
        writing = false;
        other.truncate(h.ino, h.gen, cut);
        const o = other.rootHandle();
        writeAt(other, other.create(o.ino, o.gen, "filler", FILE), new Uint8Array(3 * MiB).fill(0xcd), 0);
      }
      return lockForWrite.call(this, ino, stripe);
    };
    try {
      writing = true;
      writeAt(pool, h, data, pos);
    } finally {
      Locks.prototype.contended = contended;
      Content.prototype._lockForWrite = lockForWrite;
    }
    assert.equal(calls, 2, "the write handed over once");
    const want = new Uint8Array(pos + MiB4);
    want.set(before);
    want.set(data, pos);
    want.fill(0, cut, pos + MiB); // (the first piece is 1 MiB: content.js PIECE)
    const got = readAll(pool, h);
    assert.equal(got.length, want.length);
    const bad = got.findIndex((b, i) => b !== want[i]);
    assert.equal(bad, -1, `write at ${pos}, truncated to ${cut}: byte ${bad} is ${got[bad]}, not ${want[bad]}`);
    assert.deepEqual(pool.validate(), []);
  }
});

test("readdirPlus: names, handles and types in one pass, kept while nothing changes anywhere", () => {
  const a = newPool();
  const b = new Pool(a.memory);
  const r = a.rootHandle();
  const d = a.create(r.ino, r.gen, "d", DIR);
  const truth = (pool) => pool.readdir(d.ino, d.gen).map((n) => {
    const h = pool.lookup(d.ino, d.gen, n);
    return `${n} ${h.ino} ${h.gen} ${h.mode & L.S_IFMT}`;
  }).sort();
  const listed = (pool) => {
    const l = pool.readdirPlus(d.ino, d.gen);
    return l.names.map((n, i) => `${n} ${l.inos[i]} ${l.gens[i]} ${l.modes[i] & L.S_IFMT}`).sort();
  };
  for (let i = 0; i < 50; i++) a.create(d.ino, d.gen, `f${i}`, i % 5 ? FILE : DIR);
  assert.deepEqual(listed(a), truth(a));
  const first = a.readdirPlus(d.ino, d.gen);
  assert.equal(a.readdirPlus(d.ino, d.gen), first, "unchanged pool: the same listing");
  b.unlink(d.ino, d.gen, "f1"); // another instance changes a name: the listing is redone
  assert.notEqual(a.readdirPlus(d.ino, d.gen), first);
  assert.deepEqual(listed(a), truth(b));
  b.rename(d.ino, d.gen, "f2", r.ino, r.gen, "moved");
  b.create(d.ino, d.gen, "f1", FILE); // the name again, another inode
  assert.deepEqual(listed(a), truth(b));
  // A transaction undone by recovery restores the count with the entries, so a listing
  // kept from before is true again: kill a creator at each of its crash points (an owned
  // directory: its lock record is stored after the count was bumped).
  let restored = 0;
  for (let k = 1; ; k++) {
    const c = new Pool(a.memory);
    const before = a.readdirPlus(d.ino, d.gen);
    c.crashAfter(k);
    try {
      c.create(d.ino, d.gen, "doomed", DIR, undefined, { owned: true });
    } catch (e) {
      if (!c.killed) throw e;
    }
    if (!c.killed) {
      assert.deepEqual(listed(a), truth(a));
      break;
    }
    assert.equal(a.evict(c.instanceId, 0), true);
    if (a.readdirPlus(d.ino, d.gen) === before) restored++;
    assert.deepEqual(listed(a), truth(a), `killed at point ${k}`);
    assert.equal(a.find(d.ino, d.gen, "doomed"), null);
  }
  assert.ok(restored > 0);
  assert.ok(a.find(d.ino, d.gen, "doomed"));
  assert.equal(code(() => a.readdirPlus(r.ino, r.gen + 1)), "ENOENT");
  assert.deepEqual(a.validate(), []);
});
