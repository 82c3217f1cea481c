// The control block of a Workers worker (jsglue/workerio.js) and the lineage table
// (jsglue/lineage.js), with real threads: output bytes arrive complete and in order
// through a ring far smaller than what is written (the writer waits for the reader), an
// interrupt reaches only the call it was meant for, and descendants are found.
import test from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { openControl, newControl, CONTROL_BYTES } from "../../jsglue/workerio.js";
import {
  newLineage, lineageAdd, lineageDescendants, lineageRemove,
} from "../../jsglue/lineage.js";

const dec = new TextDecoder();

test("one thread: records keep their stream and order, joined per stream, wrapping the ring", () => {
  const sab = newControl();
  assert.equal(sab.byteLength, CONTROL_BYTES);
  const c = openControl(sab);
  let wakes = 0;
  const enc = new TextEncoder();
  const expect = [];
  // enough to wrap the 256 KiB ring several times, drained as we go
  for (let round = 0; round < 40; round++) {
    const got = [];
    for (let i = 0; i < 50; i++) {
      const s = i % 3 === 0 ? 2 : 1;
      const text = `r${round} line ${i} ${"x".repeat((round * 37 + i * 101) % 900)}\n`;
      c.write(s, enc.encode(text), () => wakes++);
      expect.push([s, text]);
    }
    for (const [s, bytes] of c.drain()) got.push([s, dec.decode(bytes)]);
    // joined: consecutive records of one stream come out as one chunk
    const flat = [];
    for (const [s, t] of expect.splice(0)) {
      if (flat.length && flat[flat.length - 1][0] === s) flat[flat.length - 1][1] += t;
      else flat.push([s, t]);
    }
    assert.deepEqual(got, flat);
  }
  assert.equal(wakes, 40, "one wake-up per batch, not per write");
  assert.equal(c.blocked(), 0);
});

test("a writer thread fills the ring many times over; the reader gets every byte in order", async () => {
  const sab = newControl();
  const reader = openControl(sab);
  const N = 20000;
  const src = `
    const { workerData, parentPort } = require("node:worker_threads");
    const openControl = ${openControl.toString()};
    const c = openControl(workerData.sab);
    const enc = new TextEncoder();
    for (let i = 0; i < workerData.n; i++) {
      c.write(1 + (i % 2), enc.encode("line " + i + " " + "y".repeat(i % 500) + "\\n"),
        () => parentPort.postMessage("out"));
    }
    parentPort.postMessage("done");`;
  const w = new Worker(src, { eval: true, workerData: { sab, n: N } });
  const streams = { 1: "", 2: "" };
  await new Promise((resolve, reject) => {
    w.on("message", (m) => {
      for (const [s, b] of reader.drain()) streams[s] += dec.decode(b);
      if (m === "done") resolve();
    });
    w.on("error", reject);
  });
  for (const [s, b] of reader.drain()) streams[s] += dec.decode(b);
  await w.terminate();
  const want = { 1: "", 2: "" };
  for (let i = 0; i < N; i++) want[1 + (i % 2)] += "line " + i + " " + "y".repeat(i % 500) + "\n";
  assert.equal(streams[1], want[1]);
  assert.equal(streams[2], want[2]);
  assert.ok(reader.blocked() > 0, "the writer had to wait for room (the test must overflow the ring)");
});

test("one write larger than the ring is split into records and arrives whole", async () => {
  const sab = newControl();
  const reader = openControl(sab);
  const src = `
    const { workerData, parentPort } = require("node:worker_threads");
    const openControl = ${openControl.toString()};
    const c = openControl(workerData.sab);
    const big = new Uint8Array(600000).map((_, i) => 97 + (i % 26));
    c.write(2, big, () => parentPort.postMessage("out"));
    parentPort.postMessage("done");`;
  const w = new Worker(src, { eval: true, workerData: { sab } });
  const got = [];
  await new Promise((resolve, reject) => {
    w.on("message", (m) => {
      for (const [s, b] of reader.drain()) got.push([s, b]);
      if (m === "done") resolve();
    });
    w.on("error", reject);
  });
  for (const [s, b] of reader.drain()) got.push([s, b]);
  await w.terminate();
  assert.ok(got.every(([s]) => s === 2));
  const all = Buffer.concat(got.map(([, b]) => b));
  assert.equal(all.length, 600000);
  assert.ok(all.every((x, i) => x === 97 + (i % 26)));
});

test("interrupt handshake: only the running synchronous call is interrupted", () => {
  const sab = newControl();
  const worker = openControl(sab);
  const parent = openControl(sab);
  const buf = worker.interruptView;
  assert.equal(parent.interrupt(1), "none", "not begun");
  worker.begin(1);
  assert.equal(parent.interrupt(2), "none", "another call");
  assert.equal(buf[0], 0);
  assert.equal(parent.interrupt(1), "sync");
  assert.equal(buf[0], 2, "SIGINT for Pyodide");
  assert.equal(parent.interrupt(1), "sync", "repeatable, like a second Ctrl-C");
  worker.settle(1);
  assert.equal(buf[0], 0, "an unused interrupt is dropped at the end of its call");
  assert.equal(parent.interrupt(1), "none", "finished");
  worker.begin(2);
  assert.equal(buf[0], 0, "the next call starts clean");
  worker.beginAsync(2);
  assert.equal(parent.interrupt(2), "async", "a coroutine is cancelled by message");
  assert.equal(buf[0], 0, "never an interrupt between a coroutine's steps");
  assert.equal(worker.asyncCall(), 2);
  worker.settle(2);
  assert.equal(worker.asyncCall(), 0);
});

test("interrupts racing the end of calls never leak into the next call (threads)", async () => {
  const sab = newControl();
  const parent = openControl(sab);
  const i32 = new Int32Array(sab, 0, 16);
  const CALLS = 20000;
  // The worker runs calls 1..CALLS and notes every call in which it saw the interrupt
  // word set, and whether it was ever set between calls (after settle, before begin).
  // The parent notes every call it interrupted. An interrupt a call sees must be one the
  // parent sent to that very call: one that lands just after begin(id) is id's own.
  const src = `
    const { workerData, parentPort } = require("node:worker_threads");
    const openControl = ${openControl.toString()};
    const c = openControl(workerData.sab);
    const seen = [];
    let between = 0;
    for (let id = 1; id <= workerData.calls; id++) {
      c.begin(id);
      let hit = false;
      for (let k = 0; k <= (id % 7) * 20; k++) if (Atomics.load(c.interruptView, 0) !== 0) hit = true;
      if (hit) seen.push(id);
      c.settle(id);
      for (let k = 0; k < (id % 5) * 10; k++) if (Atomics.load(c.interruptView, 0) !== 0) between++;
    }
    parentPort.postMessage({ seen, between });`;
  const w = new Worker(src, { eval: true, workerData: { sab, calls: CALLS } });
  /** @type {{seen: number[], between: number} | null} */
  let result = null;
  w.once("message", (m) => {
    result = m;
  });
  const sent = new Set();
  while (!result) {
    const cur = Atomics.load(i32, 1) >>> 3;
    if (cur && parent.interrupt(cur) === "sync") sent.add(cur);
    await new Promise((r) => setImmediate(r));
  }
  await w.terminate();
  const { seen, between } = /** @type {{seen: number[], between: number}} */ (result);
  assert.equal(between, 0, "the interrupt word was set between two calls");
  const foreign = seen.filter((id) => !sent.has(id));
  assert.deepEqual(foreign, [], "a call saw an interrupt that was not sent to it");
  assert.ok(sent.size > 0, "the test must deliver interrupts");
});

test("lineage: descendants through several generations, and forgetting", () => {
  const t = newLineage();
  assert.ok(lineageAdd(t, 10, 1));
  assert.ok(lineageAdd(t, 11, 1));
  assert.ok(lineageAdd(t, 20, 10));
  assert.ok(lineageAdd(t, 30, 20));
  assert.ok(lineageAdd(t, 99, 2));
  assert.deepEqual(lineageDescendants(t, 1).sort(), [10, 11, 20, 30]);
  assert.deepEqual(lineageDescendants(t, 10).sort(), [20, 30]);
  assert.deepEqual(lineageDescendants(t, 30), []);
  lineageRemove(t, 20);
  assert.deepEqual(lineageDescendants(t, 10), []);
  assert.deepEqual(lineageDescendants(t, 1).sort(), [10, 11]);
  // ids near 2^31 (generation 0x7fffff) survive the +1 encoding
  const big = 0x7fffff * 256 + 63;
  assert.ok(lineageAdd(t, big, 11));
  assert.deepEqual(lineageDescendants(t, 11), [big]);
  // full table
  const full = newLineage();
  let n = 0;
  while (lineageAdd(full, 1000 + n, 1)) n++;
  assert.equal(n, full.length / 2);
});

test("Web Locks are used only where threads share them reliably (not in node)", async () => {
  const { sharedWebLocks } = await import("../../jsglue/weblocks.js");
  // node 24 has navigator.locks, but a lock a worker_thread holds is often granted to
  // another thread as well (jsglue/weblocks.js): liveness and ownership must not rely on it
  assert.equal(sharedWebLocks(), null);
});
