// Test page for tests/test_persist_browser.py. Query: mode=main|worker|jsasync,
// step=write|read|close, name=<pool name>. main and worker run persist-python.py (the
// Python API); jsasync uses the JavaScript API in this page with OPFS's asynchronous API
// (what a page gets when no helper worker may start). Sets globalThis.persistResult.
import { loadPyodide } from "../../build/dist/pyodide.mjs";
import * as xmfs from "../../jsglue/index.js";

const q = new URLSearchParams(location.search);
const indexURL = new URL("../../build/dist/", import.meta.url).href;
const result = { done: false };
globalThis.persistResult = result;

async function runPython(pyodide, step, name) {
  await pyodide.loadPackage("pyodide-extmemfs");
  const src = await (await fetch(new URL("persist-python.py", import.meta.url))).text();
  pyodide.runPython(src);
  const out = await pyodide.globals.get("main")(step, name);
  return out.toJs({ dict_converter: Object.fromEntries });
}

/** The JavaScript API with OPFS's asynchronous API: write a few files, or read them. */
async function runJs(step, name) {
  const pool = await xmfs.openPool(name, { initialSize: "1MiB", maximumSize: "64MiB", asyncApi: true });
  const r = pool.rootHandle();
  const out = { at: pool.persistedAt };
  if (step === "write") {
    for (let i = 0; i < 20; i++) {
      const h = pool.create(r.ino, r.gen, `js${i}`, xmfs.layout.S_IFREG | 0o644);
      const data = new Uint8Array(i * 5000 + 1).fill(i);
      pool.open(h.ino, h.gen);
      pool.write(h.ino, h.gen, data, 0, data.length, 0);
      pool.close(h.ino, h.gen);
    }
    out.sync = await pool.sync();
  }
  const sizes = pool.readdir(r.ino, r.gen).sort().map((n) => {
    const h = pool.lookup(r.ino, r.gen, n);
    const data = new Uint8Array(pool.getattr(h.ino, h.gen).size);
    pool.open(h.ino, h.gen);
    pool.read(h.ino, h.gen, data, 0, data.length, 0);
    pool.close(h.ino, h.gen);
    return `${n}:${data.length}:${data.every((v) => v === Number(n.slice(2)))}`;
  });
  out.digest = sizes.join(",");
  out.files = sizes.length;
  out.check = pool.validate();
  out.generation = pool.stats().sync_generation;
  return out;
}

if (globalThis.document) {
  try {
    if (q.get("mode") === "jsasync") {
      Object.assign(result, await runJs(q.get("step"), q.get("name")));
    } else if (q.get("mode") === "worker") {
      const w = new Worker(new URL(import.meta.url), { type: "module" });
      const reply = await new Promise((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage({ step: q.get("step"), name: q.get("name") });
      });
      Object.assign(result, reply);
      result.syncHandles = reply.syncHandles;
    } else {
      const pyodide = await loadPyodide({ indexURL });
      Object.assign(result, await runPython(pyodide, q.get("step"), q.get("name")));
    }
  } catch (e) {
    result.error = String((e && e.stack) || e);
  } finally {
    result.done = true;
    document.getElementById("log").textContent = JSON.stringify(result, null, 1);
  }
} else {
  self.onmessage = async (e) => {
    try {
      const pyodide = await loadPyodide({ indexURL });
      const out = await runPython(pyodide, e.data.step, e.data.name);
      out.syncHandles = "createSyncAccessHandle" in FileSystemFileHandle.prototype;
      self.postMessage(JSON.parse(JSON.stringify(out)));
    } catch (err) {
      self.postMessage({ error: String((err && err.stack) || err) });
    }
  };
}
