// Persistence against killed processes: a child process (child.mjs) opens a persisted pool
// and syncs it again and again while two writer threads change files in it; the test
// kills it (SIGKILL) at a random moment, XMFS_PERSIST_KILLS times (default 100). After each
// kill the pool directory must open to a generation that a sync committed, in which every
// writer's files are exactly those of the operations it had finished when that sync's
// image was taken (the record file says which; the one operation in progress may have
// left its names either way), earlier iterations' files are untouched, and check() is [].
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openPool } from "../../../jsglue/index.js";
import { replay, touched } from "./workload.mjs";
import { fnv1a, rng } from "../helpers.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const KILLS = Number(process.env.XMFS_PERSIST_KILLS || 100);
const WRITERS = 2;


/** name → [size, hash] of the files in directory `dir` of `pool`. */
function listing(pool, dir) {
  const out = new Map();
  for (const name of pool.readdir(dir.ino, dir.gen)) {
    const h = pool.lookup(dir.ino, dir.gen, name);
    const size = pool.getattr(h.ino, h.gen).size;
    const data = new Uint8Array(size);
    pool.open(h.ino, h.gen);
    pool.read(h.ino, h.gen, data, 0, size, 0);
    pool.close(h.ino, h.gen);
    out.set(name, `${size}:${fnv1a(data)}`);
  }
  return out;
}

const find = (pool, dir, name) => pool.find(dir.ino, dir.gen, name);

test(`persistence: the syncing process killed ${KILLS} times with writers active`, { timeout: 1200000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmfs-pkill-"));
  const records = path.join(dir, "..", `${path.basename(dir)}.records`);
  const rnd = rng(Number(process.env.XMFS_PERSIST_SEED || 1));
  const seen = { committed: 0, noSync: 0, unknown: 0 };
  /** @type {Map<number, string>} iteration → its directory as verified */
  const verified = new Map();
  try {
    await (await openPool(dir, { initialSize: "2MiB", maximumSize: "1GiB" })).closeStorage({ sync: false });
    for (let it = 0; it < KILLS; it++) {
      const child = spawn(process.execPath, [path.join(HERE, "child.mjs"), dir, String(it), String(WRITERS), records], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (b) => (stderr += b));
      const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
      const started = new Promise((r) => child.stdout.on("data", r));
      // Kill it at a random moment: one time in five while it opens the pool, else at any
      // point of its syncs once it runs.
      if (rnd(5) === 0) {
        await new Promise((r) => setTimeout(r, rnd(300)));
      } else {
        await Promise.race([started, exited]);
        await new Promise((r) => setTimeout(r, rnd(400)));
      }
      child.kill("SIGKILL");
      const { code, signal } = await exited;
      assert.equal(signal, "SIGKILL", `iteration ${it}: the child ended by itself (code ${code}): ${stderr}`);

      const pool = await openPool(dir);
      try {
        assert.deepEqual(pool.validate(), [], `iteration ${it}`);
        const gen = pool.stats().sync_generation;
        const lines = fs.existsSync(records) ? fs.readFileSync(records, "utf8").split("\n").filter(Boolean) : [];
        const recs = lines.map((l) => JSON.parse(l)).filter((r) => r.it === it && r.generation === gen);
        const root = pool.rootHandle();
        const top = find(pool, root, `it${it}`);
        if (!recs.length) {
          // No sync of this iteration committed: its files were never made durable.
          assert.equal(top, null, `iteration ${it}: generation ${gen} has no record but has it${it}/`);
          seen.noSync++;
        } else {
          const rec = recs[recs.length - 1];
          seen.committed++;
          assert.ok(top, `iteration ${it}: generation ${gen} lacks it${it}/`);
          const dump = [];
          for (let w = 0; w < WRITERS; w++) {
            const wd = find(pool, top, `w${w}`);
            assert.ok(wd, `iteration ${it}: it${it}/w${w} missing`);
            const { model, next } = replay(it, w, rec.done[w]);
            const unknown = new Set(rec.busy[w] ? touched(next) : []);
            seen.unknown += unknown.size;
            const got = listing(pool, wd);
            for (const n of unknown) got.delete(n);
            const want = new Map();
            for (const [n, data] of model) if (!unknown.has(n)) want.set(n, `${data.length}:${fnv1a(data)}`);
            assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()),
              `iteration ${it}, generation ${gen}, writer ${w} after ${rec.done[w]} operations`);
            dump.push(JSON.stringify([...listing(pool, wd)].sort()));
          }
          verified.set(it, dump.join("|"));
        }
        // Earlier iterations' files are as they were when verified.
        for (const [j, want] of verified) {
          if (j === it) continue;
          const tj = find(pool, root, `it${j}`);
          const dump = [];
          for (let w = 0; w < WRITERS; w++) dump.push(JSON.stringify([...listing(pool, find(pool, tj, `w${w}`))].sort()));
          assert.equal(dump.join("|"), want, `iteration ${it}: it${j}/ changed`);
        }
      } finally {
        await pool.closeStorage({ sync: false });
      }
    }
    console.log(`# persistence kills: ${JSON.stringify(seen)}`);
    assert.ok(seen.committed >= KILLS / 2, `too few iterations committed a sync: ${JSON.stringify(seen)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(records, { force: true });
  }
});
