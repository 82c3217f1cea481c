// Test page for tests/test_persist_browser.py. Query: mode=main|worker, step=write|read|
// close, name=<pool name>. Sets globalThis.persistResult = {done, ...} when finished.
import { loadPyodide } from "../../build/dist/pyodide.mjs";

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

if (globalThis.document) {
  try {
    if (q.get("mode") === "worker") {
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
