// A JavaScript host (no Python API): create a pool with jsglue/index.js, mount it in
// Pyodide, hand the Memory to a worker_thread that attaches and mounts it in its own
// Pyodide, and see each other's files.
import test from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";
import * as xmfs from "../../jsglue/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const indexURL = path.join(root, "node_modules/pyodide/");
const havePyodide = fs.existsSync(path.join(indexURL, "pyodide.mjs"));

test("JS host: create on one thread, attach and mount in a worker", { skip: !havePyodide && "npm ci first", timeout: 120000 }, async () => {
  const { loadPyodide } = await import(path.join(indexURL, "pyodide.mjs"));
  const py = await loadPyodide({ indexURL });
  const pool = await xmfs.createPool({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  await xmfs.mountPool(py, pool, "/shared");
  py.runPython("open('/shared/from-main.txt', 'w').write('hello from main')");

  const worker = new Worker(
    `
    const { parentPort, workerData } = require("node:worker_threads");
    (async () => {
      const xmfs = await import(workerData.index);
      const { loadPyodide } = await import(workerData.indexURL + "pyodide.mjs");
      const py = await loadPyodide({ indexURL: workerData.indexURL });
      const pool = await xmfs.attachPool(workerData.memory);
      await xmfs.mountPool(py, pool, "/mnt/pool");
      const seen = py.runPython("open('/mnt/pool/from-main.txt').read()");
      py.runPython("open('/mnt/pool/from-worker.txt', 'w').write('hello from worker')");
      parentPort.postMessage({ seen });
    })().catch((e) => parentPort.postMessage({ error: String(e.stack || e) }));
    `,
    { eval: true, workerData: { memory: pool.memory, indexURL, index: path.join(root, "jsglue/index.js") } },
  );
  const msg = await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await worker.terminate();
  assert.equal(msg.error, undefined);
  assert.equal(msg.seen, "hello from main");
  assert.equal(py.runPython("open('/shared/from-worker.txt').read()"), "hello from worker");
  assert.deepEqual(pool.validate(), []);
  assert.equal(pool.stats().files, 2);
  await assert.rejects(xmfs.mountPool(py, pool, "/shared"), /EBUSY/);
  await assert.rejects(xmfs.attachPool(new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true })), /not an extmemfs pool/);
});
