// jsglue/poolfill.js: zeroing pool bytes with wasm memory.fill and copying within the pool
// with memory.copy, and the pool's zero-fills (truncate up, writes past the end, new
// tables) over bytes that held something before.
import test from "node:test";
import assert from "node:assert/strict";
import { Pool, layout as L } from "../../jsglue/index.js";
import { copyRange, poolCopy, poolZero, zeroRange } from "../../jsglue/poolfill.js";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;

test("zeroRange zeroes exactly [start, end), by memory.fill and by TypedArray.fill", () => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
  const zero = poolZero(memory);
  assert.equal(typeof zero, "function", "memory.fill over a shared Memory compiles here");
  assert.equal(poolZero(new WebAssembly.Memory({ initial: 1 })), null, "an unshared Memory is refused");
  const u8 = new Uint8Array(memory.buffer);
  for (const fn of [zero, null]) {
    for (const [start, len] of [[0, 0], [1, 1], [7, 255], [8, 256], [13, 257], [4096, 65536], [100, 131071]]) {
      u8.fill(0xee);
      zeroRange(u8, fn, start, start + len);
      const wrong = u8.findIndex((b, i) => b !== (i >= start && i < start + len ? 0 : 0xee));
      assert.equal(wrong, -1, `${fn ? "memory.fill" : "fill"} of ${len} at ${start}: byte ${wrong}`);
    }
  }
  // A trap (the module's idea of the size lagging behind a grow) falls back to fill;
  // anything else is not swallowed.
  u8.fill(0xee);
  zeroRange(u8, () => {
    throw new WebAssembly.RuntimeError("memory access out of bounds");
  }, 10, 1000);
  assert.ok(u8.subarray(10, 1000).every((b) => b === 0) && u8[9] === 0xee && u8[1000] === 0xee);
  assert.throws(() => zeroRange(u8, () => {
    throw new TypeError("not a trap");
  }, 0, 1000), TypeError);
  // After this thread grows the Memory, the same function reaches the new pages.
  memory.grow(2);
  const big = new Uint8Array(memory.buffer);
  big.fill(0xee, 3 * 65536);
  zeroRange(big, zero, 3 * 65536, 4 * 65536);
  assert.ok(big.subarray(3 * 65536).every((b) => b === 0));
});

test("copyRange copies exactly as memmove, overlapping either way, by memory.copy and by copyWithin", () => {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 16, shared: true });
  const copy = poolCopy(memory);
  assert.equal(typeof copy, "function", "memory.copy over a shared Memory compiles here");
  assert.equal(poolCopy(new WebAssembly.Memory({ initial: 1 })), null, "an unshared Memory is refused");
  const u8 = new Uint8Array(memory.buffer);
  const pattern = (i) => (i * 7 + (i >>> 8)) & 255;
  const cases = [[0, 0, 0], [10, 20, 1], [100, 5000, 255], [5000, 100, 256], [1000, 1100, 4000],
    [1100, 1000, 4000], [0, 65536, 131072], [65536, 0, 131072], [3, 4, 100000]];
  for (const fn of [copy, null]) {
    for (const [dst, src, n] of cases) {
      for (let i = 0; i < u8.length; i++) u8[i] = pattern(i);
      copyRange(u8, fn, dst, src, n);
      const want = (i) => (i >= dst && i < dst + n ? pattern(src + i - dst) : pattern(i));
      let wrong = -1;
      for (let i = 0; i < u8.length; i++) {
        if (u8[i] !== want(i)) {
          wrong = i;
          break;
        }
      }
      assert.equal(wrong, -1, `${fn ? "memory.copy" : "copyWithin"} of ${n} from ${src} to ${dst}: byte ${wrong}`);
    }
  }
  // A trap falls back to copyWithin (nothing was copied by the trapping call).
  u8.fill(1, 0, 1000);
  u8.fill(2, 1000, 2000);
  copyRange(u8, () => {
    throw new WebAssembly.RuntimeError("memory access out of bounds");
  }, 0, 1000, 1000);
  assert.ok(u8.subarray(0, 1000).every((b) => b === 2));
  assert.throws(() => copyRange(u8, () => {
    throw new TypeError("not a trap");
  }, 0, 1000, 1000), TypeError);
});

test("zero-fills over reused bytes: truncate up, a write past the end, a new file's gap", () => {
  const pool = Pool.create({ initialBytes: MiB, maximumBytes: 64 * MiB });
  const r = pool.rootHandle();
  const junk = new Uint8Array(4 * MiB).fill(0xa5);
  // Leave 0xa5 in free blocks: a file written and removed.
  const old = pool.create(r.ino, r.gen, "old", FILE);
  pool.open(old.ino, old.gen);
  pool.write(old.ino, old.gen, junk, 0, junk.length, 0);
  pool.close(old.ino, old.gen);
  pool.unlink(r.ino, r.gen, "old");
  const f = pool.create(r.ino, r.gen, "f", FILE);
  pool.open(f.ino, f.gen);
  pool.write(f.ino, f.gen, new Uint8Array([1, 2, 3]), 0, 3, 0);
  pool.truncate(f.ino, f.gen, 2 * MiB + 5); // up: zeros from byte 3
  pool.write(f.ino, f.gen, new Uint8Array([7]), 0, 1, 3 * MiB); // a gap of zeros before it
  const out = new Uint8Array(3 * MiB + 1);
  assert.equal(pool.read(f.ino, f.gen, out, 0, out.length, 0), out.length);
  pool.close(f.ino, f.gen);
  const want = new Uint8Array(3 * MiB + 1);
  want.set([1, 2, 3]);
  want[3 * MiB] = 7;
  assert.equal(out.findIndex((b, i) => b !== want[i]), -1);
  assert.deepEqual(pool.validate(), []);
});
