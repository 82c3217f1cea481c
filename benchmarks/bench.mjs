// benchmarks/bench.mjs — node driver: run the suite (suite.mjs) and save the raw samples.
//
//   node benchmarks/bench.mjs [--quick] [--only SECTIONS] [--no-zenfs] [--dist build/dist]
//                             [--out FILE]
//
// SECTIONS: a comma-separated subset of single,memory,workers,wait,zenfs (default: all).
// The ZenFS peer runs when benchmarks/build/zenfs-peer.mjs exists (run.sh bundles it)
// and --no-zenfs is not given.
// The runtime is named after the node running this script ("node20", "node24"): run it
// with another node binary for another column. Default output:
// benchmarks/results/raw-node<major>.json.
// --wait-quiet S: first wait up to S seconds (default 60) until other processes use less
// than 20% of the CPUs; the load other processes put on the CPUs before and during the
// run is recorded (machine.busy_before / busy_during) and shown in the report.
//
// Loads Pyodide from the offline dist (scripts/make_dist.py), with pyodide-extmemfs
// from its lock file, in this thread and in two worker_threads (worker.mjs).
// report.py makes the table and chart.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import os from "node:os";
import { Worker } from "node:worker_threads";
import { execFileSync } from "node:child_process";
import { runSuite, wrapWorker, FULL, QUICK } from "./suite.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const quick = process.argv.includes("--quick");
const dist = resolve(arg("--dist", join(root, "build", "dist")));
const runtime = `node${process.versions.node.split(".")[0]}`;
const outFile = resolve(arg("--out", join(here, "results", `raw-${runtime}.json`)));
const indexURL = dist + "/";
const zenfsBundle = join(here, "build", "zenfs-peer.mjs");
const zenfs = !process.argv.includes("--no-zenfs") && existsSync(zenfsBundle)
  ? pathToFileURL(zenfsBundle).href : null;

function cpuModel() {
  try {
    const m = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m);
    if (m) return m[1].trim();
  } catch (e) {
    // not Linux: fall back to what node says
  }
  return os.cpus()[0]?.model || "unknown";
}

/** CPU jiffies from /proc/stat: {busy, total} over all CPUs, or null (not Linux). */
function cpuJiffies() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1)
      .map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] || 0), total };
  } catch (e) {
    return null;
  }
}
const JIFFY_US = 10000; // USER_HZ = 100 on Linux

/**
 * Share of all CPUs that OTHER processes used between two samples (this process's own
 * CPU time, all its threads, is subtracted). null where /proc/stat is unavailable.
 */
function otherLoad(a, b, cpuA, cpuB) {
  if (!a || !b || b.total === a.total) return null;
  const own = (cpuB.user + cpuB.system - cpuA.user - cpuA.system) / JIFFY_US;
  return Math.max(0, (b.busy - a.busy - own) / (b.total - a.total));
}

async function sampleOtherLoad(ms) {
  const a = cpuJiffies();
  const ca = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  return otherLoad(a, cpuJiffies(), ca, process.cpuUsage());
}

/** Wait (up to `maxSeconds`) until other processes use < 20% of the CPUs. */
async function waitQuiet(maxSeconds) {
  const t = performance.now();
  let load = await sampleOtherLoad(1000);
  while (load !== null && load > 0.2 && performance.now() - t < maxSeconds * 1000) {
    log(`other processes use ${(load * 100).toFixed(0)}% of the CPUs: waiting for quiet`);
    load = await sampleOtherLoad(5000);
  }
  return load;
}

function git(...args) {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  } catch (e) {
    return null;
  }
}

const log = (line) => process.stderr.write(`[bench] ${line}\n`);

async function spawnWorker() {
  const w = new Worker(new URL("./worker.mjs", import.meta.url));
  w.on("error", (e) => log(`worker error: ${e.stack || e}`));
  return wrapWorker(
    (m, transfer) => w.postMessage(m, transfer),
    (h) => w.on("message", h),
    () => w.terminate(),
  );
}

const busyBefore = await waitQuiet(Number(arg("--wait-quiet", 60)));
if (busyBefore !== null && busyBefore > 0.2) {
  log(`WARNING: other processes use ${(busyBefore * 100).toFixed(0)}% of the CPUs; ` +
    "the figures will be noisy, the two-worker ones most");
}
const jiffiesStart = cpuJiffies();
const cpuStart = process.cpuUsage();
const t0 = performance.now();
const { loadPyodide } = await import(join(dist, "pyodide.mjs"));
if (!zenfs && !process.argv.includes("--no-zenfs")) {
  log(`no ${zenfsBundle} (bash benchmarks/run.sh bundles it): running without the ZenFS peer`);
}
const result = await runSuite({
  runtime,
  zenfs,
  indexURL,
  source: readFileSync(join(here, "fsbench.py"), "utf8"),
  params: quick ? QUICK : FULL,
  only: arg("--only", null)?.split(","),
  loadPyodide,
  spawnWorker,
  log,
});
result.quick = quick;
result.machine = {
  nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
  cpu: cpuModel(),
  memory_bytes: os.totalmem(),
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  runtime_version: `node ${process.version}`,
};
result.machine.busy_before = busyBefore;
result.machine.busy_during = otherLoad(jiffiesStart, cpuJiffies(), cpuStart, process.cpuUsage());
if (result.machine.busy_during > 0.2) {
  log(`WARNING: other processes used ${(result.machine.busy_during * 100).toFixed(0)}% of ` +
    "the CPUs during the run");
}
const dirty = git("status", "--porcelain", "--", "jsglue", "pyodide_extmemfs");
result.git = git("rev-parse", "--short", "HEAD") + (dirty ? " + uncommitted changes" : "");
result.seconds = (performance.now() - t0) / 1000;
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 1) + "\n");
log(`done in ${result.seconds.toFixed(1)} s: ${outFile}`);
