// demo/demo.mjs — run demo/demo.py in Pyodide under node, fully offline.
//
// Pyodide and our wheel come from build/dist/ (made by scripts/setup.sh; run
// `bash scripts/demo.sh`, which sets up and then runs this file). Exits 1 if the demo
// fails, 2 if build/dist/ is missing.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = (rel) => fileURLToPath(new URL(rel, import.meta.url));
const indexURL = here("../build/dist/");
const demoPy = here("./demo.py");

async function run() {
  if (!existsSync(indexURL + "pyodide.mjs") || !existsSync(indexURL + "pyodide-lock.json")) {
    console.error(`demo: no Pyodide in ${indexURL}; run \`bash scripts/demo.sh\` to set it up`);
    return 2;
  }
  const started = performance.now();
  const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
  const pyodide = await loadPyodide({ indexURL });
  await pyodide.loadPackage("pyodide-extmemfs", {
    messageCallback: () => {},
    errorCallback: (m) => console.error(m),
  });
  const version = pyodide.runPython("import pyodide_extmemfs; pyodide_extmemfs.__version__");
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`main: Pyodide ${pyodide.version} + pyodide-extmemfs ${version} ` +
    `loaded from build/dist in ${secs} s (node ${process.version})`);
  // Run demo.py as __main__, so the functions it sends to workers travel by value.
  pyodide.runPython(readFileSync(demoPy, "utf8"), { filename: demoPy });
  await pyodide.runPythonAsync("await main()");
  console.log(`demo: OK in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

let code;
try {
  code = await run();
} catch (e) {
  console.error(e && e.message ? e.message : e);
  console.error("demo: FAILED");
  code = 1;
}
// Workers are closed by then; exit explicitly in case some handle keeps node alive.
process.exit(code);
