// Crash atomicity, exhaustively: an instance is "killed" at every crash point of an
// operation in turn (before each logged metadata store, each chunk of a move or
// copy, after each commit — see TxLog.hook in jsglue/pool/txlog.js), another instance recovers, and the pool
// must be sound (validate() == []) and show exactly the state before or after each
// operation: never a half-done one. Then the survivor goes on using the pool.
import test from "node:test";
import assert from "node:assert/strict";
import { Pool, layout as L } from "../../jsglue/index.js";
import { bytes, fnv1a } from "./helpers.mjs";

const KiB = 1024;
const MiB = 1 << 20;
const FILE = L.S_IFREG | 0o644;
const DIR = L.S_IFDIR | 0o755;
const LINK = L.S_IFLNK | 0o777;


/** Path-based helpers over a Pool. */
function fs(pool) {
  const walk = (path) => {
    let h = pool.rootHandle();
    for (const part of path.split("/").filter(Boolean)) h = pool.lookup(h.ino, h.gen, part);
    return h;
  };
  const parent = (path) => {
    const i = path.lastIndexOf("/");
    return [walk(path.slice(0, i) || "/"), path.slice(i + 1)];
  };
  return {
    walk,
    create(path, mode = FILE, target) {
      const [d, name] = parent(path);
      return pool.create(d.ino, d.gen, name, mode, target);
    },
    mkdir(path) {
      return this.create(path, DIR);
    },
    write(path, data, pos = 0) {
      let h;
      try {
        h = walk(path);
      } catch (e) {
        h = this.create(path);
      }
      pool.open(h.ino, h.gen);
      try {
        pool.write(h.ino, h.gen, data, 0, data.length, pos, false);
      } finally {
        pool.close(h.ino, h.gen);
      }
    },
    truncate(path, size) {
      const h = walk(path);
      pool.truncate(h.ino, h.gen, size);
    },
    unlink(path) {
      const [d, name] = parent(path);
      pool.unlink(d.ino, d.gen, name);
    },
    rmdir(path) {
      const [d, name] = parent(path);
      pool.rmdir(d.ino, d.gen, name);
    },
    rename(a, b) {
      const [da, na] = parent(a);
      const [db, nb] = parent(b);
      pool.rename(da.ino, da.gen, na, db.ino, db.gen, nb);
    },
    chmod(path, mode) {
      const h = walk(path);
      pool.setattr(h.ino, h.gen, { mode, mtime: 1234567 });
    },
  };
}

/** The whole visible tree, canonical: path -> description. */
function dump(pool) {
  const out = {};
  const visit = (h, path) => {
    for (const name of pool.readdir(h.ino, h.gen).sort()) {
      const c = pool.lookup(h.ino, h.gen, name);
      const a = pool.getattr(c.ino, c.gen);
      const p = `${path}/${name}`;
      const type = a.mode & L.S_IFMT;
      if (type === L.S_IFDIR) {
        out[p] = `dir ${(a.mode & 0o777).toString(8)} nlink ${a.nlink}`;
        visit(c, p);
      } else if (type === L.S_IFLNK) {
        out[p] = `link -> ${pool.readlink(c.ino, c.gen)}`;
      } else {
        const data = new Uint8Array(a.size);
        pool.open(c.ino, c.gen);
        pool.read(c.ino, c.gen, data, 0, a.size, 0);
        pool.close(c.ino, c.gen);
        out[p] = `file ${(a.mode & 0o777).toString(8)} size ${a.size} fnv ${fnv1a(data, 0, data.length)} mtime ${a.mtime === 1234567}`;
      }
    }
  };
  visit(pool.rootHandle(), "");
  return JSON.stringify(out);
}

/**
 * Kill the instance running `ops` at crash point 1, 2, 3, ... until the ops finish
 * untouched; after each kill recover from a second instance and check.
 * @param setup (fs) => void, run on a fresh pool first
 * @param ops list of (fs, pool) => void, the operations the victim runs
 */
function crashEverywhere(name, setup, ops, opts = {}) {
  const fresh = () => {
    const a = Pool.create({ initialBytes: opts.initial || 2 * MiB, maximumBytes: 64 * MiB, leaseMs: 10 });
    setup(fs(a), a);
    return a;
  };
  // Reference: the states before and after each operation.
  const ref = fresh();
  const states = [dump(ref)];
  for (const op of ops) {
    op(fs(ref), ref);
    states.push(dump(ref));
  }
  let points = 0;
  for (let k = 1; ; k++) {
    const a = fresh();
    const b = new Pool(a.memory); // the survivor, attached before the kill
    if (opts.survivor) opts.survivor(fs(b), b);
    a.crashAfter(k);
    let killed = false;
    try {
      for (const op of ops) op(fs(a), a);
    } catch (e) {
      if (!a.killed) throw e; // (the test's own finally blocks may throw after the kill)
      killed = true;
    }
    if (!killed) {
      assert.equal(dump(b), states[states.length - 1], `${name}: finished run`);
      break;
    }
    points++;
    // Every tenth kill is found by the lease (b waits on a's locks); the others by eviction.
    if (k % 10 === 0) {
      b.rootHandle(); // blocks on a's locks until a's heartbeat has stood still for the lease
      b.compact(); // takes every lock: reclaims whatever a still held
    } else {
      assert.equal(b.evict(a.instanceId, 0), true); // (known dead: no need to wait)
    }
    const errs = b.validate();
    assert.deepEqual(errs, [], `${name}: killed at point ${k}`);
    if (opts.check) opts.check(fs(b), b, `${name}: killed at point ${k}`);
    const now = dump(b);
    if (!states.includes(now)) {
      const cut = (x) => (x.length > 2000 ? x.slice(0, 2000) + "…" : x);
      assert.fail(`${name}: killed at point ${k}, the tree is in no state before or after an ` +
        `operation:\n${cut(now)}\nstates:\n${states.map(cut).join("\n")}`);
    }
    // The survivor carries on: the pool works as before.
    const f = fs(b);
    f.write("/after-kill", bytes(3000, k));
    f.mkdir("/after-dir");
    f.rename("/after-kill", "/after-dir/moved");
    f.unlink("/after-dir/moved");
    f.rmdir("/after-dir");
    assert.equal(b.compact(), true);
    assert.deepEqual(b.validate(), [], `${name}: after carrying on from point ${k}`);
    assert.equal(dump(b), now);
    assert.equal(b.instances().length, 1, "the dead instance's slot was freed");
  }
  assert.ok(points >= (opts.minPoints || 3), `${name}: only ${points} crash points`);
  return points;
}

const scenarios = [
  ["create a file", (f) => f.mkdir("/a"), [(f) => f.create("/a/new")]],
  ["mkdir", (f) => f.mkdir("/a"), [(f) => f.mkdir("/a/sub")]],
  ["symlink", () => {}, [(f) => f.create("/l", LINK, "some/where")]],
  ["first write", (f) => f.create("/f"), [(f) => f.write("/f", bytes(1000, 1))]],
  ["grow in place", (f) => f.write("/f", bytes(3000, 1)), [(f) => f.write("/f", bytes(5000, 2), 3000)]],
  ["small move", (f) => { f.write("/f", bytes(2000, 1)); f.write("/g", bytes(100, 2)); },
    [(f) => f.write("/f", bytes(9000, 3), 2000)]],
  ["big move outside META", (f) => { f.write("/f", bytes(200 * KiB, 1)); f.write("/g", bytes(100, 2)); },
    [(f) => f.write("/f", bytes(300 * KiB, 3), 200 * KiB)], { minPoints: 10 }],
  ["slide back", (f) => {
    f.write("/h", bytes(40 * KiB, 4));
    f.write("/f", bytes(100 * KiB, 1));
    f.write("/g", bytes(100, 2));
    f.unlink("/h");
  }, [(f) => f.write("/f", bytes(20 * KiB, 3), 100 * KiB)], { minPoints: 10 }],
  ["truncate down, to zero, up", (f) => { f.write("/f", bytes(50 * KiB, 1)); f.write("/g", bytes(9000, 2)); },
    [(f) => f.truncate("/f", 1000), (f) => f.truncate("/g", 0), (f) => f.truncate("/g", 70000)]],
  ["unlink", (f) => { f.mkdir("/d"); f.write("/d/f", bytes(7000, 1)); }, [(f) => f.unlink("/d/f")]],
  ["unlink while open, then close", (f) => f.write("/f", bytes(7000, 1)), [(f, pool) => {
    const h = f.walk("/f");
    pool.open(h.ino, h.gen);
    f.unlink("/f");
    pool.close(h.ino, h.gen);
  }]],
  ["rename replacing a file", (f) => { f.write("/a", bytes(500, 1)); f.write("/b", bytes(900, 2)); },
    [(f) => f.rename("/a", "/b")]],
  ["rename a directory elsewhere", (f) => {
    f.mkdir("/x");
    f.mkdir("/x/d");
    f.write("/x/d/f", bytes(10, 1));
    f.mkdir("/y");
    f.mkdir("/y/d"); // replaced (empty)
  }, [(f) => f.rename("/x/d", "/y/d")]],
  // A rename that replaces nothing renames the entry in place when the new name fits its
  // block (pool/dirs.js rename): name bytes, hash and length are logged stores.
  ["rename in place: same directory, another directory, a directory, a longer name", (f) => {
    f.mkdir("/d");
    f.mkdir("/e");
    f.mkdir("/d/sub");
    f.write("/d/sub/x", bytes(10, 1));
    for (let i = 0; i < 6; i++) f.write(`/d/f${i}`, bytes(100 + i, i));
  }, [
    (f) => f.rename("/d/f0", "/d/g0"),
    (f) => f.rename("/d/f1", "/e/h1"),
    (f) => f.rename("/d/sub", "/e/s"),
    (f) => f.rename("/d/f2", "/d/a-name-too-long-for-the-entry-block-it-had"),
    ...Array.from({ length: 3 }, (_, i) => (f) => f.rename(`/d/f${i + 3}`, `/d/r${i}`)),
  ], { minPoints: 60 }],
  // open(O_CREAT) creates the file pinned, in one transaction (Pool.create {pin: true}):
  // killed anywhere, the file exists or not, and the victim's pin is gone with it.
  ["create pinned, close; write; create pinned, unlink, close", (f) => f.mkdir("/d"), (() => {
    let h = null; // "gone", open across the ops that follow
    return [(f, pool) => {
      const d = f.walk("/d");
      const n = pool.create(d.ino, d.gen, "new", FILE, undefined, { pin: true });
      pool.close(n.ino, n.gen);
    }, (f) => f.write("/d/new", bytes(300, 5)), (f, pool) => {
      const d = f.walk("/d");
      h = pool.create(d.ino, d.gen, "gone", FILE, undefined, { pin: true });
    }, (f) => f.unlink("/d/gone"), (f, pool) => pool.close(h.ino, h.gen)]; // (freed at this close)
  })()],
  ["rmdir", (f) => { f.mkdir("/d"); f.mkdir("/d/e"); }, [(f) => f.rmdir("/d/e")]],
  // Kept pins (pool/keptpins.js): the victim removes files the survivor keeps (revoking
  // the survivor's kept pins: KEPT → REVOKE → empty, every rollback turns REVOKE back)
  // and opens more files than it has kept pins (giving back its oldest).
  ["remove files another instance keeps; open and close more files than kept pins", (f) => {
    f.mkdir("/d");
    for (let i = 0; i < 20; i++) f.write(`/d/f${i}`, bytes(100 + i, i));
  }, [(f) => f.unlink("/d/f0"), (f) => f.rename("/d/f2", "/d/f1"), (f, pool) => {
    for (let i = 2; i < 20; i++) {
      const h = f.walk(`/d/f${i === 2 ? 1 : i}`);
      pool.open(h.ino, h.gen);
      pool.close(h.ino, h.gen);
    }
  }, (f) => f.unlink("/d/f19")], {
    minPoints: 20,
    survivor: (f, b) => {
      for (const name of ["f0", "f1", "f2", "f19"]) {
        const h = f.walk(`/d/${name}`);
        b.open(h.ino, h.gen);
        b.close(h.ino, h.gen); // kept
      }
    },
    check: (f, b, what) => {
      // The survivor opens what still exists (its kept pin, or a new one).
      for (const name of ["f1", "f19"]) {
        let h;
        try {
          h = f.walk(`/d/${name}`);
        } catch (e) {
          continue;
        }
        b.open(h.ino, h.gen);
        b.close(h.ino, h.gen);
      }
      assert.deepEqual(b.validate(), [], what);
    },
  }],
  ["directory table grows", (f) => { f.mkdir("/d"); for (let i = 0; i < 3; i++) f.create(`/d/f${i}`); },
    [(f) => f.create("/d/grows")]],
  ["directory table shrinks", (f) => { f.mkdir("/d"); for (let i = 0; i < 40; i++) f.create(`/d/f${i}`); },
    Array.from({ length: 38 }, (_, i) => (f) => f.unlink(`/d/f${i}`)), { minPoints: 100 }],
  ["new inode chunk", (f) => { f.mkdir("/d"); for (let i = 0; i < 1020; i++) f.create(`/d/f${i}`); },
    Array.from({ length: 4 }, (_, i) => (f) => f.create(`/e${i}`))],
  ["chmod and utime", (f) => f.write("/f", bytes(10, 1)), [(f) => f.chmod("/f", 0o600)]],
  ["pool grows", (f) => { f.write("/f", bytes(100, 1)); f.create("/big"); },
    [(f) => f.write("/big", bytes(3 * MiB, 2))],
    { initial: 256 * KiB }],
  ["compaction", (f) => {
    for (let i = 0; i < 24; i++) f.write(`/f${i}`, bytes(1000 + 3000 * (i % 5), i));
    for (let i = 0; i < 24; i += 2) f.unlink(`/f${i}`);
  }, [(f, pool) => assert.equal(pool.compact(), true)], { minPoints: 50 }],
  // File locks (pool/flocks.js): the victim's lock operations are transactions too; after
  // recovery none of its locks is left, and the survivor's are untouched.
  ["file locks: table made and grown, ranges split and merged, flock, close", (f) => {
    f.create("/f");
    f.create("/g");
  }, [(f, pool) => {
    const h = f.walk("/f");
    pool.lockRange(h.ino, h.gen, { type: "write", start: 0, length: 100 }, { wait: false });
    pool.lockRange(h.ino, h.gen, { type: "unlock", start: 40, length: 20 }, { wait: false });
    pool.lockRange(h.ino, h.gen, { type: "read", start: 10, length: 5 }, { wait: false });
    pool.lockRange(h.ino, h.gen, { type: "write", start: 40, length: 20 }, { wait: false });
  }, (f, pool) => {
    const h = f.walk("/f");
    const ofd = pool.newOfd();
    pool.flock(h.ino, h.gen, ofd, "exclusive", { wait: false });
    for (let i = 0; i < 14; i++) pool.lockRange(h.ino, h.gen, { type: "read", start: 1000 + 2 * i, length: 1 }, { wait: false });
    pool.releaseLocks(h.ino, h.gen, ofd, true);
  }], {
    minPoints: 100,
    survivor: (f, b) => {
      const g = f.walk("/g");
      b.lockRange(g.ino, g.gen, { type: "read", start: 5, length: 5 }, { wait: false });
      b.flock(g.ino, g.gen, b.newOfd(), "shared", { wait: false });
    },
    check: (f, b, what) => {
      const rows = b.fileLocks().map((l) => `${l.kind} ${l.type} ${l.start} ${l.length} ${l.pid === b.instanceId}`);
      assert.deepEqual(rows.sort(), ["flock read 0 0 true", "posix read 5 5 true"], what);
    },
  }],
  ["owned dot-lock directory: made, removed, made again", (f) => f.mkdir("/d"), [(f, pool) => {
    const d = f.walk("/d");
    pool.create(d.ino, d.gen, "db.lock", DIR, undefined, { owned: true });
  }, (f) => f.rmdir("/d/db.lock"), (f, pool) => {
    const d = f.walk("/d");
    pool.create(d.ino, d.gen, "db.lock", DIR, undefined, { owned: true });
  }], {
    check: (f, b, what) => {
      assert.deepEqual(b.fileLocks(), [], what);
      assert.deepEqual(b.readdir(f.walk("/d").ino, f.walk("/d").gen), [], `${what}: the dot-lock went with its owner`);
    },
  }],
];

for (const [name, setup, ops, opts] of scenarios) {
  test(`killed anywhere in: ${name} — recovered, sound, all or nothing`, () => {
    crashEverywhere(name, setup, ops, opts);
  });
}

test("getattr without a lock never answers with a store that recovery undoes (TXSEQ)", () => {
  // The victim is killed at every crash point of each change in turn; right after the
  // kill the survivor asks for the file's attributes (lock-free unless a transaction is
  // open: then under META, which waits for the lease and recovers), and must get what
  // the pool holds once recovery is over.
  const changes = {
    "chmod and set times": (pool, h) => pool.setattr(h.ino, h.gen, { mode: 0o600, atime: 7654321, mtime: 1234567 }),
    "unlink of a file held open": (pool, h, f) => f.unlink("/d/f"),
    "truncate": (pool, h) => pool.truncate(h.ino, h.gen, 100),
    "rename over it": (pool, h, f) => f.rename("/d/g", "/d/f"),
  };
  for (const [name, change] of Object.entries(changes)) {
    let kills = 0;
    for (let k = 1; ; k++) {
      const a = Pool.create({ initialBytes: MiB, maximumBytes: 8 * MiB, leaseMs: 10 });
      const f = fs(a);
      f.mkdir("/d");
      f.write("/d/f", bytes(7000, 1));
      f.write("/d/g", bytes(300, 2));
      const h = f.walk("/d/f");
      const b = new Pool(a.memory);
      b.open(h.ino, h.gen); // held open by the survivor: unlink and rename keep the inode
      const before = b.getattr(h.ino, h.gen);
      a.crashAfter(k);
      try {
        change(a, h, f);
      } catch (e) {
        if (!a.killed) throw e;
      }
      if (!a.killed) {
        assert.notDeepEqual(b.getattr(h.ino, h.gen), before, `${name}: the change shows`);
        break;
      }
      kills++;
      const seen = b.getattr(h.ino, h.gen);
      if (b.instances().length > 1) assert.equal(b.evict(a.instanceId, 0), true);
      assert.deepEqual(b.getattr(h.ino, h.gen), seen, `${name}, killed at point ${k}`);
      assert.deepEqual(b.validate(), [], `${name}, killed at point ${k}`);
      b.close(h.ino, h.gen);
    }
    assert.ok(kills >= 2, `${name}: only ${kills} crash points`);
  }
});

test("instances: list, evict by id, detach gives back pins, slots are reused", () => {
  const a = Pool.create({ initialBytes: MiB, maximumBytes: 8 * MiB });
  const b = new Pool(a.memory);
  const f = fs(a);
  f.write("/f", bytes(5000, 1));
  const h = f.walk("/f");
  b.open(h.ino, h.gen);
  b.open(h.ino, h.gen);
  f.unlink("/f"); // kept alive by b's pins
  const list = a.instances();
  // (open_pins counts files: b has one, open twice)
  assert.deepEqual(list.map((i) => [i.slot, i.self, i.state, i.open_pins]), [[0, true, "live", 0], [1, false, "live", 1]]);
  assert.equal(list[1].id, b.instanceId);
  assert.deepEqual(a.validate(), []);
  b.detach();
  assert.deepEqual(a.validate(), [], "the unlinked file's space came back at detach");
  assert.throws(() => b.getattr(h.ino, h.gen), /evicted|detached/);
  assert.equal(a.evict(b.instanceId), false, "already gone");
  assert.throws(() => a.evict(a.instanceId), /itself/);
  assert.throws(() => a.evict(-1), /whole number/);
  assert.throws(() => a.evict(100), /no instance slot/);
  const c = new Pool(a.memory);
  assert.equal(c.slot, 1, "the freed slot is taken again");
  assert.notEqual(c.instanceId, b.instanceId, "with a new generation");
  // An evicted instance that was in fact alive finds out at its next call.
  assert.equal(a.evict(c.instanceId), true);
  assert.throws(() => c.rootHandle(), (e) => e.name === "EvictedError" && /evicted/.test(e.message));
  assert.equal(a.stats().recoveries, 1);
});

test("all instance slots taken: a clear error, and room again after detach", () => {
  const a = Pool.create({ initialBytes: MiB, maximumBytes: 8 * MiB });
  const others = [];
  for (let i = 1; i < L.NSLOTS; i++) others.push(new Pool(a.memory));
  assert.throws(() => new Pool(a.memory), (e) => e.code === "EMFILE" && /instance slots/.test(e.message));
  others.pop().detach();
  assert.ok(new Pool(a.memory));
  assert.deepEqual(a.validate(), []);
});

test("lease: bad values are refused with the accepted range", () => {
  for (const bad of [0, 5, -1, 1.5, "x", 700000]) {
    assert.throws(() => Pool.create({ initialBytes: MiB, maximumBytes: MiB, leaseMs: bad }), /10 to 600000/);
  }
});
