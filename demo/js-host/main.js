// The page: create a pool, mount it in this page's Pyodide, hand it to a module worker
// that mounts it in its own Pyodide, and read what the worker wrote. Then let this
// page's Python use the same modules (provideToPython: nothing is evaluated, so a
// Content-Security-Policy without 'unsafe-eval' is fine).
import * as xmfs from "../../jsglue/index.js";
import { loadPyodide } from "../../build/dist/pyodide.mjs";

const log = (line) => {
  document.getElementById("log").textContent += `\n${line}`;
};
const result = { done: false };
globalThis.jsHostDemo = result;

// Served by demo/js-host/serve.py, this page may not eval (Content-Security-Policy).
result.evalRefused = (() => {
  try {
    (0, eval)("1");
    return false;
  } catch (e) {
    return e.name === "EvalError";
  }
})();
log(result.evalRefused ? "eval is refused here (CSP): nothing below needs it" : "eval is allowed here");

try {
  const pyodide = await loadPyodide({ indexURL: new URL("../../build/dist/", import.meta.url).href });
  const pool = await xmfs.createPool({ initialSize: "4MiB", maximumSize: "256MiB" });
  await xmfs.mountPool(pyodide, pool, "/shared");
  pyodide.FS.writeFile("/shared/from-page.txt", "hello from the page");
  log(`pool made: ${pool.stats().size} bytes, mounted at /shared`);

  const worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
  const reply = new Promise((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(e.message));
  });
  worker.postMessage({ pool }); // a Pool is posted as {memory}: shared, not copied
  const msg = await reply;
  if (msg.error) throw new Error(`worker: ${msg.error}`);
  result.workerSaw = msg.seen;
  result.fromWorker = pyodide.FS.readFile("/shared/from-worker.txt", { encoding: "utf8" });
  log(`the worker read: ${msg.seen}`);
  log(`the page reads:  ${result.fromWorker}`);

  // Python in this page, on the same modules.
  xmfs.provideToPython();
  await pyodide.loadPackage("pyodide-extmemfs");
  pyodide.globals.set("pool_memory", pool.memory);
  result.python = pyodide.runPython(`
import pyodide_extmemfs as xmfs
p = xmfs.attach(pool_memory)
xmfs.mount(p, "/py")
open("/py/from-python.txt", "w").write("hello from Python")
sorted(__import__("os").listdir("/py"))
`).toJs();
  log(`Python lists: ${result.python.join(", ")}`);
  result.check = pool.validate();
  result.instances = pool.instances().length;
  worker.terminate();
  result.ok = result.fromWorker === "hello from the worker" && result.check.length === 0;
  log(result.ok ? "ok" : "FAILED");
} catch (e) {
  result.error = String((e && e.stack) || e);
  log(result.error);
} finally {
  result.done = true;
}
