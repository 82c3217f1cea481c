// Long copies hand a file's stripe over between pieces (jsglue/pool/content.js): while one
// thread appends to a big file — whose extent has to move again and again, because another
// file sits right behind it — a second thread reads the whole file and checks every byte,
// and a third increments a counter in the file's first bytes. No byte is ever wrong, no
// increment is lost (a write let in during a move would land in the old extent behind the
// copy and be lost), and the pool is sound.
import test from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Pool, layout as L } from "../../jsglue/index.js";
import { JSGLUE } from "./helpers.mjs";

const MiB = 1 << 20;
const CHUNK = 3 * MiB; // appended each time (bigger than a piece)
const CHUNKS = 24;

const WORKER = `
  const { workerData: d, parentPort } = require("node:worker_threads");
  (async () => {
    const x = await import(d.index);
    const L = x.layout;
    const pool = new x.Pool(d.memory);
    const r = pool.rootHandle();
    const f = pool.lookup(r.ino, r.gen, "big");
    const flags = d.flags; // [0] appender done, [1] counter increments, [2] reads checked
    const byteAt = (i) => (i * 7 + 13) & 255; // the appender's content (offsets >= 4)
    pool.open(f.ino, f.gen);
    if (d.role === "append") {
      const buf = new Uint8Array(d.chunk);
      for (let k = 0; k < d.chunks; k++) {
        const at = pool.getattr(f.ino, f.gen).size;
        for (let i = 0; i < buf.length; i++) buf[i] = byteAt(at + i);
        pool.write(f.ino, f.gen, buf, 0, buf.length, 0, true);
        // a file right behind it, so that it cannot grow in place: its extent moves
        const g = pool.create(r.ino, r.gen, "g" + k, L.S_IFREG | 0o644);
        pool.open(g.ino, g.gen);
        pool.write(g.ino, g.gen, new Uint8Array(4096), 0, 4096, 0);
        pool.close(g.ino, g.gen);
      }
      Atomics.store(flags, 0, 1);
    } else if (d.role === "count") {
      const four = new Uint8Array(4);
      const dv = new DataView(four.buffer);
      let n = 0;
      while (!Atomics.load(flags, 0) || n < 50) {
        pool.read(f.ino, f.gen, four, 0, 4, 0);
        dv.setUint32(0, dv.getUint32(0, true) + 1, true);
        pool.write(f.ino, f.gen, four, 0, 4, 0);
        n++;
      }
      Atomics.store(flags, 1, n);
    } else {
      let checked = 0;
      while (!Atomics.load(flags, 0)) {
        const size = pool.getattr(f.ino, f.gen).size;
        const out = new Uint8Array(size);
        const got = pool.read(f.ino, f.gen, out, 0, size, 0);
        for (let i = 4; i < got; i++) {
          if (out[i] !== byteAt(i)) throw new Error("byte " + i + " of " + got + " is " + out[i]);
        }
        checked++;
      }
      Atomics.store(flags, 2, checked);
    }
    pool.close(f.ino, f.gen);
    parentPort.postMessage("done");
  })();`;

test("long writes and extent moves hand the stripe over: reads stay right, no write is lost", { timeout: 180000 }, async () => {
  const pool = Pool.create({ initialSize: "8MiB", maximumSize: "512MiB" });
  const r = pool.rootHandle();
  const f = pool.create(r.ino, r.gen, "big", L.S_IFREG | 0o644);
  pool.open(f.ino, f.gen);
  pool.write(f.ino, f.gen, new Uint8Array(4), 0, 4, 0); // the counter, 0
  pool.close(f.ino, f.gen);
  const flags = new Int32Array(new SharedArrayBuffer(12));
  const run = (role) => new Promise((resolve, reject) => {
    const w = new Worker(WORKER, {
      eval: true,
      workerData: { index: JSGLUE, memory: pool.memory, role, flags, chunk: CHUNK, chunks: CHUNKS },
    });
    w.once("message", () => resolve(w.terminate()));
    w.once("error", reject);
  });
  await Promise.all([run("append"), run("count"), run("read")]);
  const out = new Uint8Array(4);
  pool.open(f.ino, f.gen);
  pool.read(f.ino, f.gen, out, 0, 4, 0);
  pool.close(f.ino, f.gen);
  const counted = new DataView(out.buffer).getUint32(0, true);
  assert.equal(counted, Atomics.load(flags, 1), "an increment was lost");
  assert.ok(Atomics.load(flags, 2) > 0, "the reader checked nothing");
  assert.equal(pool.getattr(f.ino, f.gen).size, 4 + CHUNKS * CHUNK);
  assert.deepEqual(pool.validate(), []);
});
