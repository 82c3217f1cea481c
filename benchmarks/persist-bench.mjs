// Persistence benchmark (issue 11), shared by node (benchmarks/persist.mjs) and Chromium
// (benchmarks/persist.html, in a page and in a module worker):
//   - a full sync of a pool holding `fillMiB` of files, in MiB/s, against the raw write
//     speed of the same store (the same bytes written to a plain file and flushed);
//   - a sync after one small change: bytes written, time, how long writers were paused;
//   - the time to open (load, check and restore) the persisted pool.
// Returns plain figures; the drivers print them.
import * as xmfs from "../jsglue/index.js";

const MiB = 1 << 20;
const now = () => performance.now();

function fill(pool, mib) {
  const r = pool.rootHandle();
  const d = pool.create(r.ino, r.gen, "data", xmfs.layout.S_IFDIR | 0o755);
  const chunk = new Uint8Array(4 * MiB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  for (let i = 0; i < mib / 4; i++) {
    chunk[0] = i;
    const h = pool.create(d.ino, d.gen, `chunk${i}`, xmfs.layout.S_IFREG | 0o644);
    pool.open(h.ino, h.gen);
    pool.write(h.ino, h.gen, chunk, 0, chunk.length, 0);
    pool.close(h.ino, h.gen);
  }
  return d;
}

function touchSmall(pool, d, k) {
  const name = "note.txt";
  const h = pool.find(d.ino, d.gen, name) || pool.create(d.ino, d.gen, name, xmfs.layout.S_IFREG | 0o644);
  const data = new TextEncoder().encode(`change ${k} `.padEnd(100, "."));
  pool.open(h.ino, h.gen);
  pool.write(h.ino, h.gen, data, 0, data.length, 0);
  pool.close(h.ino, h.gen);
}

/**
 * @param {object} p
 * @param {string} p.name pool name (browser) or directory (node)
 * @param {number} p.poolMiB the pool's size
 * @param {number} p.fillMiB data written into it
 * @param {(bytes: number) => Promise<number>} p.rawWrite writes `bytes` to a plain file of
 *   the same store and flushes; returns ms
 * @param {boolean} [p.asyncApi] OPFS: the asynchronous API
 */
export async function run(p) {
  const out = { poolMiB: p.poolMiB, fillMiB: p.fillMiB };
  let t = now();
  const pool = await xmfs.openPool(p.name, { initialSize: p.poolMiB * MiB, maximumSize: p.poolMiB * MiB,
    asyncApi: p.asyncApi });
  out.createMs = now() - t;
  const d = fill(pool, p.fillMiB);
  const full = await pool.sync(); // the first slot: everything written
  const full2 = await pool.sync(); // the other slot gets the whole pool too
  out.fullSync = { mib: full.bytes_written / MiB, ms: full.ms, pauseMs: full.pause_ms };
  out.fullSyncMiBs = full.bytes_written / MiB / (full.ms / 1000);
  out.secondSync = { mib: full2.bytes_written / MiB, ms: full2.ms, pauseMs: full2.pause_ms };
  const rawMs = await p.rawWrite(full.bytes_written);
  out.rawMiBs = full.bytes_written / MiB / (rawMs / 1000);
  out.fullVsRaw = out.fullSyncMiBs / out.rawMiBs;
  const small = [];
  for (let k = 0; k < 5; k++) {
    touchSmall(pool, d, k);
    small.push(await pool.sync());
  }
  small.sort((a, b) => a.ms - b.ms);
  const mid = small[2];
  out.smallSync = { bytes: mid.bytes_written, pages: mid.pages_written, ms: mid.ms, pauseMs: mid.pause_ms,
    maxPauseMs: Math.max(...small.map((s) => s.pause_ms)) };
  await pool.closeStorage({ sync: false });
  const opens = [];
  for (let k = 0; k < 3; k++) {
    t = now();
    const again = await xmfs.openPool(p.name);
    opens.push(now() - t);
    if (k === 0 && again.validate().length) throw new Error("reopened pool is not sound");
    await again.closeStorage({ sync: false });
  }
  out.openMs = opens.sort((a, b) => a - b)[1];
  out.openMiBs = p.poolMiB / (out.openMs / 1000);
  return out;
}
