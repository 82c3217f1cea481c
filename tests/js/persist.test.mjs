// Persistence in plain node: a tree survives a sync and a reopen byte for byte; what a
// sync writes is exactly the pool (every store marks its page: a missed mark would show
// as a difference); a sync killed at any write leaves one of the two generations, never a
// mix; full storage, damaged or foreign stores, other layout versions and a second
// opener get clear errors and change nothing; a small change in a big pool writes little.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { Pool, openPool, loadPool, MemoryStore, layout as L } from "../../jsglue/index.js";
import { bytes, fnv1a, JSGLUE, rng } from "./helpers.mjs";

const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;
const LINK = L.S_IFLNK | 0o777;
const PAGE = 65536;

/** A copy of a memory store with everything written (lost: only what was flushed). */
const cloneStore = (store, lost = false) => store.clone(lost);

/** Path-based helpers over a Pool. */
function fsOf(pool) {
  const walk = (p) => {
    let h = pool.rootHandle();
    for (const part of p.split("/").filter(Boolean)) h = pool.lookup(h.ino, h.gen, part);
    return h;
  };
  const parent = (p) => {
    const i = p.lastIndexOf("/");
    return [walk(p.slice(0, i) || "/"), p.slice(i + 1)];
  };
  return {
    mkdir: (p) => {
      const [d, n] = parent(p);
      pool.create(d.ino, d.gen, n, DIR);
    },
    write: (p, data) => {
      const [d, n] = parent(p);
      const h = pool.find(d.ino, d.gen, n) || pool.create(d.ino, d.gen, n, FILE);
      pool.open(h.ino, h.gen);
      try {
        pool.truncate(h.ino, h.gen, 0);
        pool.write(h.ino, h.gen, data, 0, data.length, 0);
      } finally {
        pool.close(h.ino, h.gen);
      }
    },
    symlink: (p, target) => {
      const [d, n] = parent(p);
      pool.create(d.ino, d.gen, n, LINK, target);
    },
    rm: (p) => {
      const [d, n] = parent(p);
      pool.unlink(d.ino, d.gen, n);
    },
    rename: (a, b) => {
      const [da, na] = parent(a);
      const [db, nb] = parent(b);
      pool.rename(da.ino, da.gen, na, db.ino, db.gen, nb);
    },
  };
}

/** The tree as text: paths, kinds, sizes and content hashes, sorted. */
function dump(pool) {
  const out = [];
  const rec = (h, prefix) => {
    for (const name of pool.readdir(h.ino, h.gen).sort()) {
      const c = pool.lookup(h.ino, h.gen, name);
      const p = `${prefix}/${name}`;
      const a = pool.getattr(c.ino, c.gen);
      const type = a.mode & L.S_IFMT;
      if (type === L.S_IFDIR) {
        out.push(`${p}/`);
        rec(c, p);
      } else if (type === L.S_IFLNK) {
        out.push(`${p} -> ${pool.readlink(c.ino, c.gen)}`);
      } else {
        const data = new Uint8Array(a.size);
        pool.open(c.ino, c.gen);
        pool.read(c.ino, c.gen, data, 0, a.size, 0);
        pool.close(c.ino, c.gen);
        out.push(`${p} ${a.size} ${fnv1a(data)} ${(a.mode & 0o7777).toString(8)} ${a.mtime}`);
      }
    }
  };
  rec(pool.rootHandle(), "");
  return out.join("\n");
}

/**
 * What the newest committed slot of `store` holds must be the pool's heap byte for byte
 * (page 0 — superblock, locks, instance slots, undo log, bitmap — is volatile): a store
 * that was not marked dirty shows up as a difference. Call right after a sync.
 */
function slotIsPool(store, pool, gen, what) {
  const img = store.files.get(`slot${gen % 2}.img`);
  const x = new Uint8Array(pool.memory.buffer);
  const y = img.bytes.subarray(0, img.length);
  assert.ok(y.length >= x.length, `${what}: slot holds ${y.length} of ${x.length} bytes`);
  for (let p = 1; p < x.length / PAGE; p++) {
    const s = p * PAGE;
    if (Buffer.compare(Buffer.from(x.buffer, s, PAGE), Buffer.from(y.buffer, y.byteOffset + s, PAGE)) === 0) continue;
    let i = s;
    while (x[i] === y[i]) i++;
    // Name where it is (an inode record, or the kind of heap block).
    const w = new Uint32Array(pool.memory.buffer);
    let where = "";
    for (let k = 0; k < w[L.SB_INODE_CHUNKS]; k++) {
      const base = w[L.SB_CHUNK_DIR + k];
      if (i >= base && i < base + L.INODES_PER_CHUNK * L.INODE_BYTES) {
        where = `inode ${k * L.INODES_PER_CHUNK + Math.floor((i - base) / L.INODE_BYTES)}, byte ${(i - base) % L.INODE_BYTES}`;
      }
    }
    for (let q = L.HEAP_START; !where && q < x.length;) {
      const size = w[q >>> 2] & ~7;
      if (!size) break;
      if (i < q + size) where = `a block of kind ${w[(q >>> 2) + 1]} @${q}, byte ${i - q}`;
      q += size;
    }
    assert.fail(`${what}: page ${p} differs at byte ${i} (${where}: pool ${x[i]}, slot ${y[i]}): ` +
      "a store was not marked dirty");
  }
}


/** One random change of the tree (files closed after each). */
function randomOp(f, rnd, names, step) {
  const pick = () => names[rnd(names.length)];
  const op = names.length < 4 ? 0 : rnd(10);
  if (op < 4) {
    const n = `/d${rnd(3)}/f${step}`;
    f.write(n, bytes(rnd(8) === 0 ? 1 + rnd(900000) : 1 + rnd(20000), step));
    names.push(n);
  } else if (op < 6) {
    f.write(pick(), bytes(1 + rnd(50000), step * 3));
  } else if (op < 8) {
    const i = rnd(names.length);
    const to = `/d${rnd(3)}/r${step}`;
    f.rename(names[i], to);
    names[i] = to;
  } else {
    const i = rnd(names.length);
    f.rm(names[i]);
    names.splice(i, 1);
  }
}

test("a tree survives sync and reopen: same tree, same bytes, sound", async () => {
  const store = new MemoryStore("m");
  const pool = await openPool("t", { store, initialSize: "1MiB", maximumSize: "256MiB" });
  const f = fsOf(pool);
  f.mkdir("/a");
  f.mkdir("/a/b");
  f.mkdir("/a/b/c");
  f.write("/a/b/c/small.txt", new TextEncoder().encode("hello"));
  f.write("/a/big.bin", bytes(5 * MiB + 123, 9));
  f.write("/empty", new Uint8Array(0));
  f.symlink("/a/link", "b/c/small.txt");
  f.symlink("/dangling", "nowhere");
  f.write("/gone", bytes(1000, 1));
  f.rm("/gone");
  const want = dump(pool);
  const info = await pool.sync();
  assert.ok(info.generation >= 2 && info.bytes_written > 5 * MiB, JSON.stringify(info));
  const again = await openPool("t", { store: cloneStore(store) });
  assert.deepEqual(again.validate(), []);
  assert.equal(dump(again), want);
  assert.equal(again.stats().sync_generation, info.generation);
  assert.equal(again.stats().maximum_size, 256 * MiB);
  await pool.closeStorage();
  // the ownership is released by closeStorage: the same store opens again
  const third = await openPool("t", { store });
  assert.equal(dump(third), want);
  await third.closeStorage({ sync: false });
});

test("what a sync stores is exactly the pool: 400 random changes, a reopen after each sync", async () => {
  const store = new MemoryStore("m");
  const pool = await openPool("t", { store, initialSize: "1MiB", maximumSize: "128MiB" });
  const f = fsOf(pool);
  for (const d of ["/d0", "/d1", "/d2"]) f.mkdir(d);
  const rnd = rng(Number(process.env.XMFS_FUZZ_SEED || 1));
  const names = [];
  let reopened = 0;
  for (let step = 1; step <= 400; step++) {
    randomOp(f, rnd, names, step);
    if (step % 3 === 0 && rnd(4) === 0) pool.compact();
    if (step % 13 === 0) {
      const info = await pool.sync();
      slotIsPool(store, pool, info.generation, `step ${step}, generation ${info.generation}`);
      const back = await openPool(`t${step}`, { store: cloneStore(store) });
      assert.deepEqual(back.validate(), [], `step ${step}`);
      assert.equal(dump(back), dump(pool), `step ${step}`);
      await back.closeStorage({ sync: false });
      reopened++;
    }
  }
  assert.ok(reopened >= 25);
  assert.ok(pool.stats().compactions > 0, "compaction was exercised");
});

test("a sync killed at any write leaves the previous or the new generation, never a mix", async () => {
  // Reference: the states after each of three syncs.
  const build = async (store) => {
    const pool = await openPool("t", { store, initialSize: "1MiB", maximumSize: "64MiB" });
    const states = new Map([[pool.stats().sync_generation, dump(pool)]]); // the first sync
    const f = fsOf(pool);
    f.mkdir("/d0");
    f.mkdir("/d1");
    f.mkdir("/d2");
    const rnd = rng(5);
    const names = [];
    return { pool, f, rnd, names, states };
  };
  let kills = 0;
  for (let k = 1; ; k++) {
    const store = new MemoryStore("m");
    const run = await build(store);
    let writes = 0;
    let killed = false;
    store.beforeWrite = () => {
      if (++writes === k) {
        killed = true;
        throw Object.assign(new Error("killed"), { code: "EIO" });
      }
    };
    for (let s = 1; s <= 3 && !killed; s++) {
      for (let i = 0; i < 6; i++) randomOp(run.f, run.rnd, run.names, s * 100 + i);
      const want = dump(run.pool);
      const gen = run.pool.stats().sync_generation + 1;
      try {
        await run.pool.sync();
        run.states.set(gen, want);
      } catch (e) {
        assert.ok(killed, e.message);
        run.states.set(gen, want); // it may have committed before the write that failed
      }
    }
    if (!killed) break;
    kills++;
    // A new process opens what storage holds: with all that was written, or with only
    // what was flushed (writes after a file's last flush lost in the crash).
    for (const lost of [false, true]) {
      const back = await openPool(`k${k}`, { store: cloneStore(store, lost) });
      const what = `killed at store operation ${k}${lost ? ", unflushed writes lost" : ""}`;
      assert.deepEqual(back.validate(), [], what);
      const gen = back.stats().sync_generation;
      assert.ok(run.states.has(gen), `${what}: generation ${gen} was never synced`);
      assert.equal(dump(back), run.states.get(gen), `${what}: generation ${gen}`);
      await back.closeStorage({ sync: false });
    }
    // The survivor of the failed sync goes on: its next sync is complete and correct.
    store.beforeWrite = null;
    const done = await run.pool.sync();
    slotIsPool(store, run.pool, done.generation, `after the failed sync at write ${k}`);
    const after = await openPool(`a${k}`, { store: cloneStore(store) });
    assert.equal(dump(after), dump(run.pool), `after the failed sync at write ${k}`);
    await after.closeStorage({ sync: false });
    await run.pool.closeStorage({ sync: false });
  }
  assert.ok(kills >= 24, `only ${kills} crash points`);
});

test("storage full during a sync: a clear ENOSPC, the last state intact, the pool goes on", async () => {
  const store = new MemoryStore("m");
  const pool = await openPool("t", { store, initialSize: "1MiB", maximumSize: "64MiB" });
  const f = fsOf(pool);
  f.write("/kept", bytes(200000, 1));
  await pool.sync();
  const kept = dump(pool);
  f.write("/later", bytes(300000, 2));
  let budget = 2;
  store.beforeWrite = () => {
    if (--budget < 0) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
  };
  await assert.rejects(pool.sync(), (e) => e.code === "ENOSPC" && /still what storage holds/.test(e.message));
  const back = await openPool("b", { store: cloneStore(store) });
  assert.equal(dump(back), kept);
  f.write("/more", bytes(1000, 3)); // still usable in memory
  store.beforeWrite = null;
  await pool.sync();
  const after = await openPool("c", { store: cloneStore(store) });
  assert.equal(dump(after), dump(pool));
});

test("damaged, truncated, foreign or other-version stores are refused and left unchanged", async () => {
  const good = new MemoryStore("m");
  const pool = await openPool("t", { store: good, initialSize: "1MiB" });
  fsOf(pool).write("/x", bytes(100000, 4));
  await pool.sync();
  await pool.closeStorage();
  const cases = {
    "bad magic": (s) => (s.files.get("head").bytes.fill(0x41, 0, 8), s.files.get("head").bytes.fill(0x41, 512, 520)),
    "damaged head": (s) => (s.files.get("head").bytes[20] ^= 1, s.files.get("head").bytes[532] ^= 1),
    "truncated image": (s) => (s.files.get("slot0.img").length = 70000, s.files.get("slot1.img").length = 70000),
    "damaged page": (s) => {
      for (const n of ["slot0.img", "slot1.img"]) s.files.get(n).bytes[PAGE + 100] ^= 0xff;
    },
    "missing head": (s) => s.files.delete("head"),
    "foreign files": (s) => {
      s.files.clear();
      s.files.set("notes.txt", { bytes: new Uint8Array(3), length: 3 });
    },
  };
  for (const [what, spoil] of Object.entries(cases)) {
    const s = cloneStore(good);
    spoil(s);
    const before = cloneStore(s);
    await assert.rejects(openPool(what, { store: s }), (e) => e.code === "EINVAL" && /not a usable extmemfs pool/.test(e.message), what);
    for (const [k, f] of before.files) {
      assert.ok(Buffer.from(f.bytes.subarray(0, f.length)).equals(Buffer.from(s.files.get(k).bytes.subarray(0, s.files.get(k).length))), `${what}: ${k} changed`);
    }
  }
  // another layout version: a clear message naming both
  const s = cloneStore(good);
  const head = s.files.get("head").bytes;
  const rec = new Uint32Array(head.buffer, 0, 128);
  rec[3] = L.VERSION + 1;
  rec[127] = (await import("../../jsglue/persist/format.js")).hashBytes(head, 0, 508);
  const rec1 = new Uint32Array(head.buffer, 512, 128);
  rec1.fill(0);
  await assert.rejects(openPool("v", { store: s }), new RegExp(`layout version ${L.VERSION + 1}; this extmemfs reads version ${L.VERSION}`));
});

test("a store synced by layout version 7 opens upgraded, and syncs and reopens as this version", async () => {
  const F = await import("../../jsglue/persist/format.js");
  const store = new MemoryStore("m7");
  const pool = await openPool("v7", { store, initialSize: "1MiB" });
  const f = fsOf(pool);
  f.mkdir("/kept");
  f.write("/kept/x", bytes(200000, 5));
  await pool.sync();
  const want = dump(pool);
  await pool.closeStorage();
  // Rewrite the newest generation as version 7 wrote it (record, superblock, TXSEQ 0);
  // the other record is dropped, so only that generation can be opened.
  const head = store.files.get("head").bytes;
  const recs = [0, 1].map((k) => F.decodeRecord(head.subarray(k * F.RECORD_BYTES)).record);
  const k = !recs[1] || (recs[0] && recs[0].gen > recs[1].gen) ? 0 : 1;
  const rec = recs[k];
  const img = store.files.get(`slot${rec.slot}.img`).bytes;
  const sb = new Uint32Array(img.buffer, img.byteOffset, 64);
  sb[L.SB_VERSION] = 7;
  sb[L.SB_TXSEQ] = 0;
  const sumFile = store.files.get(`slot${rec.slot}.sum`);
  const { hashes, delta } = F.decodeSums(sumFile.bytes.subarray(0, sumFile.length), rec);
  hashes[0] = F.hashBytes(img, 0, PAGE);
  const sums = F.encodeSums(hashes, rec.pages, delta);
  sumFile.bytes.set(sums, 0);
  head.set(F.encodeRecord({ ...rec, layout: 7, sumHash: F.hashBytes(sums, 0, sums.length) }), k * F.RECORD_BYTES);
  head.fill(0, (1 - k) * F.RECORD_BYTES, (2 - k) * F.RECORD_BYTES);

  const back = await openPool("v7", { store });
  assert.equal(back.stats().layout_version, L.VERSION);
  assert.deepEqual(back.validate(), []);
  assert.equal(dump(back), want);
  fsOf(back).write("/kept/y", bytes(3000, 6));
  await back.sync();
  const want2 = dump(back);
  await back.closeStorage();
  const again = await openPool("v7", { store });
  assert.equal(again.stats().layout_version, L.VERSION);
  assert.equal(dump(again), want2);
  assert.deepEqual(again.validate(), []);
  await again.closeStorage();
});

test("one opener at a time: a second open is EBUSY, in this process and in another", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmfs-own-"));
  try {
    const pool = await openPool(dir, { initialSize: "1MiB" });
    await assert.rejects(openPool(dir), (e) => e.code === "EBUSY" && /in this thread/.test(e.message));
    const other = `
      const x = await import(${JSON.stringify(JSGLUE)});
      try { await x.openPool(${JSON.stringify(dir)}); console.log("opened"); }
      catch (e) { console.log(e.code + " " + e.message); }`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", other], { encoding: "utf8" });
    assert.match(out, /^EBUSY .*by process \d+/);
    await pool.closeStorage();
    // A lock file left by a process that died is stale: taken over.
    fs.writeFileSync(path.join(dir, "owner.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname() }));
    const again = await openPool(dir);
    await again.closeStorage();
    assert.equal(fs.existsSync(path.join(dir, "owner.lock")), false, "closeStorage removes the lock file");
    // So is an empty or half-written one a process left when it was killed writing it
    // (persist/kill.test.mjs met it: EBUSY "its lock file keeps changing", for good):
    // at once when it is old, after about a second when it was written just now.
    const lock = path.join(dir, "owner.lock");
    fs.writeFileSync(lock, "");
    const old = new Date(Date.now() - 60000);
    fs.utimesSync(lock, old, old);
    await (await openPool(dir)).closeStorage();
    fs.writeFileSync(lock, '{"pid": 12');
    const t0 = Date.now();
    const late = await openPool(dir);
    assert.ok(Date.now() - t0 >= 900, `a fresh half-written lock file was taken over after ${Date.now() - t0} ms`);
    await late.closeStorage();
    assert.equal(fs.existsSync(lock), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a new process opens a synced pool directory: the same tree", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmfs-proc-"));
  try {
    const script = (body) => execFileSync(process.execPath, ["--input-type=module", "-e", `
      import * as x from ${JSON.stringify(JSGLUE)};
      const pool = await x.openPool(${JSON.stringify(dir)}, { initialSize: "2MiB", maximumSize: "512MiB" });
      ${body}
      await pool.closeStorage({ sync: false });`], { encoding: "utf8" });
    script(`
      const r = pool.rootHandle();
      const d = pool.create(r.ino, r.gen, "docs", ${DIR});
      for (let i = 0; i < 50; i++) {
        const h = pool.create(d.ino, d.gen, "n" + i, ${FILE});
        const data = new Uint8Array(i * 7919 % 300000).map((_, j) => (j * 31 + i) & 255);
        pool.open(h.ino, h.gen); pool.write(h.ino, h.gen, data, 0, data.length, 0); pool.close(h.ino, h.gen);
      }
      pool.create(r.ino, r.gen, "to-docs", ${LINK}, "docs");
      await pool.sync();`);
    const listing = script(`
      const r = pool.rootHandle();
      const d = pool.lookup(r.ino, r.gen, "docs");
      let sum = 0;
      for (const n of pool.readdir(d.ino, d.gen)) {
        const h = pool.lookup(d.ino, d.gen, n);
        const a = pool.getattr(h.ino, h.gen);
        const data = new Uint8Array(a.size);
        pool.open(h.ino, h.gen); pool.read(h.ino, h.gen, data, 0, a.size, 0); pool.close(h.ino, h.gen);
        const i = Number(n.slice(1));
        if (!data.every((v, j) => v === ((j * 31 + i) & 255))) throw new Error("content of " + n);
        sum += a.size;
      }
      console.log(JSON.stringify({ files: pool.readdir(d.ino, d.gen).length, sum, check: pool.validate(),
        link: pool.readlink(pool.lookup(r.ino, r.gen, "to-docs").ino, pool.lookup(r.ino, r.gen, "to-docs").gen) }));`);
    const got = JSON.parse(listing);
    let sum = 0;
    for (let i = 0; i < 50; i++) sum += (i * 7919) % 300000;
    assert.deepEqual(got, { files: 50, sum, check: [], link: "docs" });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("one 100-byte change in a 512 MiB pool writes less than 1 MiB", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xmfs-inc-"));
  try {
    const pool = await openPool(dir, { initialSize: "512MiB", maximumSize: "1GiB" });
    const f = fsOf(pool);
    f.mkdir("/data");
    for (let i = 0; i < 48; i++) f.write(`/data/chunk${i}`, bytes(4 * MiB, i + 1)); // 192 MiB of files
    assert.equal(pool.stats().size, 512 * MiB);
    await pool.sync(); // into one slot
    await pool.sync(); // the other slot gets the whole pool once
    f.write("/data/note.txt", bytes(100, 77));
    const one = await pool.sync();
    f.write("/data/note.txt", bytes(100, 78));
    const two = await pool.sync();
    for (const info of [one, two]) {
      assert.ok(info.bytes_written < MiB, `a 100-byte change wrote ${info.bytes_written} bytes`);
      assert.ok(info.pages_written <= 12, JSON.stringify(info));
    }
    console.log(`# incremental: ${one.bytes_written} and ${two.bytes_written} bytes written, pause ${two.pause_ms.toFixed(2)} ms`);
    await pool.closeStorage({ sync: false });
    const back = await openPool(dir);
    assert.deepEqual(back.validate(), []);
    assert.equal(dump(back), dump(pool));
    await back.closeStorage({ sync: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("save and loadPool: a whole-pool image file, refused when damaged", async () => {
  const pool = Pool.create({ initialSize: "1MiB", maximumSize: "64MiB" });
  const f = fsOf(pool);
  f.mkdir("/z");
  f.write("/z/a", bytes(777777, 3));
  f.symlink("/z/l", "a");
  const chunks = [];
  const info = await pool.save((b) => chunks.push(b.slice()));
  const image = Buffer.concat(chunks);
  assert.equal(image.length, info.bytes);
  const back = await loadPool(image);
  assert.deepEqual(back.validate(), []);
  assert.equal(dump(back), dump(pool));
  const file = path.join(os.tmpdir(), `xmfs-${process.pid}.xmfs`);
  try {
    await pool.save(file);
    assert.equal(dump(await loadPool(file)), dump(pool));
  } finally {
    fs.rmSync(file, { force: true });
  }
  const spoilt = Buffer.from(image);
  spoilt[spoilt.length - 5] ^= 1;
  await assert.rejects(loadPool(spoilt), /not a usable extmemfs pool image: page \d+ does not match/);
  await assert.rejects(loadPool(image.subarray(0, image.length - 100)), /truncated/);
  await assert.rejects(loadPool(new Uint8Array(5000)), /not a usable extmemfs pool image/);
  await assert.rejects(loadPool(42), (e) => e.pyType === "TypeError");
});

test("an image saved by layout version 7, 8 or 9 is upgraded when loaded; unknown versions are refused", async () => {
  const F = await import("../../jsglue/persist/format.js");
  const pool = Pool.create({ initialSize: "1MiB", maximumSize: "64MiB" });
  const f = fsOf(pool);
  f.mkdir("/old");
  f.write("/old/a", bytes(300000, 7));
  f.symlink("/old/l", "a");
  const chunks = [];
  await pool.save((b) => chunks.push(b.slice()));
  const image = Buffer.concat(chunks);
  /** The image as version `v` wrote it: record and superblock say v, TXSEQ (new in 8) is 0. */
  const asVersion = (v) => {
    const img = new Uint8Array(image); // (a copy: a Buffer's slice() is a view)
    const rec = F.decodeRecord(img).record;
    const dataAt = F.imageDataOffset(rec.sumBytes);
    const sb = new Uint32Array(img.buffer, dataAt, 64);
    sb[L.SB_VERSION] = v;
    sb[L.SB_TXSEQ] = 0;
    const { hashes } = F.decodeSums(img.subarray(F.IMAGE_DATA_ALIGN), rec);
    hashes[0] = F.hashBytes(img, dataAt, PAGE);
    const sums = F.encodeSums(hashes, rec.pages, []);
    img.set(sums, F.IMAGE_DATA_ALIGN);
    img.set(F.encodeRecord({ ...rec, layout: v, sumHash: F.hashBytes(sums, 0, sums.length) }), 0);
    return img;
  };
  assert.deepEqual(L.UPGRADABLE, [7, 8, 9]);
  for (const v of L.UPGRADABLE) {
    const back = await loadPool(asVersion(v));
    assert.equal(back.stats().layout_version, L.VERSION);
    assert.deepEqual(back.validate(), []);
    assert.equal(dump(back), dump(pool));
    const fb = fsOf(back);
    fb.write("/old/b", bytes(5000, 8)); // and it goes on as a pool of this version
    fb.write("/old/c", bytes(300000, 9)); // (a bulk write: announced in the slot, version 9)
    assert.deepEqual(back.validate(), []);
  }
  // a version that is neither this one nor an upgradable one: refused, naming both
  await assert.rejects(loadPool(asVersion(6)), new RegExp(`layout version 6; this extmemfs reads version ${L.VERSION}`));
  await assert.rejects(loadPool(asVersion(L.VERSION + 1)), new RegExp(`layout version ${L.VERSION + 1}; this extmemfs reads`));
});

test("an image's file locks and dot-lock directories are gone when it is loaded (their holders are)", async () => {
  const pool = Pool.create({ initialSize: "1MiB", maximumSize: "64MiB" });
  const r = pool.rootHandle();
  const h = pool.create(r.ino, r.gen, "db", L.S_IFREG | 0o644);
  pool.flock(h.ino, h.gen, pool.newOfd(), "exclusive");
  pool.lockRange(h.ino, h.gen, { type: "write", start: 10, length: 5 });
  pool.create(r.ino, r.gen, "db.lock", L.S_IFDIR | 0o755, undefined, { owned: true });
  pool.create(r.ino, r.gen, "kept", L.S_IFDIR | 0o755); // not owned: a directory as any other
  assert.equal(pool.fileLocks().length, 3);
  const chunks = [];
  await pool.save((b) => chunks.push(b.slice()));
  const back = await loadPool(Buffer.concat(chunks));
  assert.deepEqual(back.validate(), []);
  assert.deepEqual(back.fileLocks(), []);
  assert.deepEqual(back.readdir(r.ino, r.gen).sort(), ["db", "kept"]);
  // and the locks are free for the new instances
  const b2 = new Pool(back.memory);
  const h2 = back.lookup(r.ino, r.gen, "db");
  b2.flock(h2.ino, h2.gen, b2.newOfd(), "exclusive", { wait: false });
  b2.lockRange(h2.ino, h2.gen, { type: "write", start: 0, length: 0 }, { wait: false });
  // the original still holds its own: an image is a copy
  assert.equal(pool.fileLocks().length, 3);
});
