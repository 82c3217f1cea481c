// Persistence benchmark in node (issue 11): a pool in a host directory.
//   node benchmarks/persist.mjs [--pool-mib 1024] [--fill-mib 768] [--dir DIR] [--json FILE]
// Prints the figures of persist-bench.mjs: full sync MiB/s vs a raw write+fsync of the same
// bytes in the same directory, a sync after a 100-byte change, the time to open the pool.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { run } from "./persist-bench.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const poolMiB = Number(arg("--pool-mib", 1024));
const fillMiB = Number(arg("--fill-mib", 768));
const base = arg("--dir", os.tmpdir());
const dir = fs.mkdtempSync(path.join(base, "xmfs-persist-bench-"));
try {
  const out = await run({
    name: path.join(dir, "pool"),
    poolMiB,
    fillMiB,
    rawWrite: async (bytes) => {
      const file = path.join(dir, "raw.bin");
      const buf = Buffer.alloc(16 << 20, 7);
      const t = performance.now();
      const fd = fs.openSync(file, "w");
      for (let done = 0; done < bytes; done += buf.length) fs.writeSync(fd, buf, 0, Math.min(buf.length, bytes - done));
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      const ms = performance.now() - t;
      fs.rmSync(file);
      return ms;
    },
  });
  out.runtime = `node ${process.version}`;
  out.where = base;
  const f = (x) => x.toFixed(1);
  console.log(`persistence (${out.runtime}, ${poolMiB} MiB pool, ${fillMiB} MiB of files, in ${base}):`);
  console.log(`  full sync          ${f(out.fullSync.mib)} MiB in ${f(out.fullSync.ms)} ms = ${f(out.fullSyncMiBs)} MiB/s` +
    ` (raw write+fsync ${f(out.rawMiBs)} MiB/s: ${out.fullVsRaw.toFixed(2)}×), writers paused ${f(out.fullSync.pauseMs)} ms`);
  console.log(`  small-change sync  ${out.smallSync.bytes} bytes, ${out.smallSync.pages} pages, ${f(out.smallSync.ms)} ms,` +
    ` writers paused ${out.smallSync.pauseMs.toFixed(2)} ms (max of 5: ${out.smallSync.maxPauseMs.toFixed(2)} ms)`);
  console.log(`  open               ${f(out.openMs)} ms (${f(out.openMiBs)} MiB/s, pages checked)`);
  const json = arg("--json", null);
  if (json) fs.writeFileSync(json, JSON.stringify(out, null, 1));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
