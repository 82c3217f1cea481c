// benchmarks/stallprobe.mjs — does this machine stop busy threads? No file system, no
// Pyodide: the main thread and `--workers N` worker threads spin for `--seconds S`, each
// reading the clock in a tight loop (the workers also copy 1 MiB between reads, like the
// benchmark's writers), and report their longest gaps between two clock reads. On an
// idle machine with at least N + 1 CPUs the longest gap is well under a millisecond; a
// gap of tens of milliseconds is the thread going without the CPU (the guest's
// scheduler, or the host stopping the VM's CPUs), which any timed call would see too.
//
//   node benchmarks/stallprobe.mjs [--workers 1] [--seconds 10]
import { Worker } from "node:worker_threads";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const workers = arg("--workers", 1);
const seconds = arg("--seconds", 10);
if (!(workers >= 0 && seconds > 0)) {
  console.error("usage: node benchmarks/stallprobe.mjs [--workers N >= 0] [--seconds S > 0]");
  process.exit(2);
}

/**
 * Spin for `ms`, calling `work` between clock reads. Returns the longest gap and every
 * gap over 10 ms. (Its source is also the workers' code: no closure, no imports.)
 * @param {number} ms
 * @param {() => void} work
 */
function spin(ms, work) {
  let longest = 0;
  const gaps = [];
  let last = performance.now();
  const end = last + ms;
  for (;;) {
    work();
    const t = performance.now();
    const g = t - last;
    if (g > 10) gaps.push(Math.round(g));
    if (g > longest) longest = g;
    last = t;
    if (t > end) return { longest, gaps };
  }
}

const threads = Array.from({ length: workers }, () => new Worker(`
  const { parentPort, workerData } = require("node:worker_threads");
  const a = new Uint8Array(64 << 20);
  const b = new Uint8Array(1 << 20);
  let k = 0;
  const spin = ${spin.toString()};
  parentPort.postMessage(spin(workerData.ms, () => a.set(b, (k = (k + 1) % 64) << 20)));
`, { eval: true, workerData: { ms: seconds * 1000 } }));
const main = spin(seconds * 1000, () => {});
const results = await Promise.all(threads.map((w) => new Promise((resolve, reject) => {
  w.once("message", resolve);
  w.once("error", reject);
})));
const show = (name, r) => console.log(`${name.padEnd(10)} longest gap ${r.longest.toFixed(1).padStart(6)} ms; ` +
  `gaps over 10 ms: ${r.gaps.length ? r.gaps.join(", ") : "none"}`);
const n = workers + 1;
console.log(`${n} busy thread${n === 1 ? "" : "s"} for ${seconds} s on ${(await import("node:os")).cpus().length} CPUs:`);
show("main", main);
results.forEach((r, i) => show(`worker ${i + 1}`, r));
await Promise.all(threads.map((w) => w.terminate()));
