// One run of benchmarks/workers_packages_run.py in node: load Pyodide from a
// distribution directory, then run the Python with MODE, PACKAGE, MODULE, WORKERS set.
//
//   node benchmarks/workers_packages.mjs DIST_DIR MODE PACKAGE MODULE WORKERS
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [dist, mode, pkg, module, workers] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const indexURL = path.resolve(dist) + "/";
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL });
await py.loadPackage(["pyodide-extmemfs", "micropip"], { messageCallback: () => {} });
py.globals.set("MODE", mode);
py.globals.set("PACKAGE", pkg);
py.globals.set("MODULE", module);
py.globals.set("WORKERS", Number(workers));
py.runPython(readFileSync(path.join(here, "workers_packages_run.py"), "utf8"));
await py.globals.get("main")();
process.exit(0);
