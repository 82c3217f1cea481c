// The module worker: its own Pyodide, the page's pool attached and mounted.
import * as xmfs from "../../jsglue/index.js";
import { loadPyodide } from "../../build/dist/pyodide.mjs";

self.onmessage = async (e) => {
  try {
    const pyodide = await loadPyodide({ indexURL: new URL("../../build/dist/", import.meta.url).href });
    const pool = await xmfs.attachPool(e.data.pool);
    await xmfs.mountPool(pyodide, pool, "/shared");
    const seen = pyodide.runPython("open('/shared/from-page.txt').read()");
    pyodide.runPython("open('/shared/from-worker.txt', 'w').write('hello from the worker')");
    self.postMessage({ seen, instanceId: pool.instanceId });
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};
