// The process the persistence kill test (kill.test.mjs) kills: it opens the persisted pool,
// starts writer threads that run the workload (workload.mjs) in /it<N>/w<k>, and syncs
// again and again. Inside each sync's pause it appends to the record file what the image
// holds: every writer's count of finished operations and whether one was in progress.
//   node child.mjs <pool dir> <iteration> <writers> <record file>
import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { openPool, layout as L } from "../../../jsglue/index.js";

const [dir, itArg, writersArg, recordFile] = process.argv.slice(2);
const it = Number(itArg);
const writers = Number(writersArg);
const pool = await openPool(dir);
const root = pool.rootHandle();
const top = pool.create(root.ino, root.gen, `it${it}`, L.S_IFDIR | 0o755);
for (let w = 0; w < writers; w++) pool.create(top.ino, top.gen, `w${w}`, L.S_IFDIR | 0o755);
// progress[2w] = operations finished by writer w, progress[2w + 1] = 1 while one runs
const progress = new Int32Array(new SharedArrayBuffer(8 * writers));
const src = `
  const { workerData: d } = require("node:worker_threads");
  (async () => {
    const x = await import(d.index);
    const wl = await import(d.workload);
    const pool = new x.Pool(d.memory);
    const r = pool.rootHandle();
    const top = pool.lookup(r.ino, r.gen, "it" + d.it);
    const dir = pool.lookup(top.ino, top.gen, "w" + d.w);
    const live = new Set();
    for (let k = 0; ; k++) {
      const o = wl.op(d.it, d.w, k, live);
      Atomics.store(d.progress, 2 * d.w + 1, 1);
      wl.applyToPool(pool, dir, o);
      Atomics.store(d.progress, 2 * d.w, k + 1);
      Atomics.store(d.progress, 2 * d.w + 1, 0);
    }
  })();`;
for (let w = 0; w < writers; w++) {
  new Worker(src, {
    eval: true,
    workerData: {
      memory: pool.memory, progress, it, w,
      index: new URL("../../../jsglue/index.js", import.meta.url).href,
      workload: new URL("./workload.mjs", import.meta.url).href,
    },
  });
}
const fd = fs.openSync(recordFile, "a");
process.stdout.write("started\n");
for (;;) {
  await new Promise((r) => setTimeout(r, Math.random() * 20));
  await pool.sync({
    duringPause: ({ generation }) => {
      const done = [];
      const busy = [];
      for (let w = 0; w < writers; w++) {
        done.push(Atomics.load(progress, 2 * w));
        busy.push(Atomics.load(progress, 2 * w + 1));
      }
      fs.writeSync(fd, JSON.stringify({ it, generation, done, busy }) + "\n");
      fs.fsyncSync(fd); // durable before this generation can be committed
    },
  });
}
