// The worker of the kill tests (tests/js/kill.test.js in plain node, and
// tests/pyodide_lib/xmfs_kill.py from Pyodide in node and Chrome), started with
// jsglue/workers.js spawnScript(source, data). It attaches to the pool and writes,
// appends, renames and deletes files in directory data.dir until it is terminated.
// Journal (Int32Array on data.journal, a SharedArrayBuffer that outlives the worker):
// [count, intentA, intentB, 0], then entries [type, a, b, size, crc32]; types 1 put
// (a file closed with that content), 2 mv a → b, 3 rm. intentA/B name the files of
// the operation in progress (their state after a kill is unknown).
// The pool's code: data.module (URL of jsglue/index.js) or, from Pyodide, data.bundle
// (the text of the package's jsglue.bundle.js, a classic script).
async function start(data, post) {
  const P = data.module ? await import(data.module) : ((0, eval)(data.bundle), globalThis.pyodideExtmemfs);
  const L = P.layout;
  const pool = new P.Pool(data.memory);
  // Once through the event loop, as any real worker goes: in browsers the instance's
  // liveness Web Lock is only registered then, and evictWhenStopped waits for the
  // browser to release it (proof that a terminated worker has stopped).
  await new Promise((resolve) => setTimeout(resolve, 0));
  const J = new Int32Array(data.journal);
  const FILE = L.S_IFREG | 0o644;
  let x = data.seed | 1;
  const rnd = (n) => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % n; };
  const T = new Int32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; T[n] = c; }
  const crc = (a) => { let c = -1; for (let i = 0; i < a.length; i++) c = T[(c ^ a[i]) & 255] ^ (c >>> 8); return (c ^ -1) | 0; };
  const fill = (n, seed) => { const a = new Uint8Array(n); let y = seed | 1;
    for (let i = 0; i < n; i++) { y = (Math.imul(y, 1103515245) + 12345) | 0; a[i] = y >>> 24; } return a; };
  const root = pool.rootHandle();
  const dir = pool.lookup(root.ino, root.gen, data.dir);
  const names = new Set(data.names);
  let nextName = data.nextName;
  const readAll = (h) => { const size = pool.getattr(h.ino, h.gen).size; const out = new Uint8Array(size);
    pool.open(h.ino, h.gen); try { pool.read(h.ino, h.gen, out, 0, size, 0); } finally { pool.close(h.ino, h.gen); } return out; };
  const journal = (type, a, b, size, sum) => {
    const n = J[0]; const e = 4 + n * 5;
    J[e] = type; J[e + 1] = a; J[e + 2] = b; J[e + 3] = size; J[e + 4] = sum;
    Atomics.store(J, 0, n + 1); Atomics.store(J, 1, 0); Atomics.store(J, 2, 0);
  };
  const intent = (a, b) => { Atomics.store(J, 1, a); Atomics.store(J, 2, b); };
  const kept = [];
  const pick = () => { const arr = [...names]; return arr.length ? arr[rnd(arr.length)] : 0; };
  post({ instanceId: pool.instanceId });
  const cap = (J.length - 4) / 5 - 10;
  for (;;) {
    while (Atomics.load(J, 0) >= cap) Atomics.wait(J, 3, 0, 20); // journal full: idle
    const op = names.size > 40 ? 9 : rnd(10); // (bounded: the pool must not fill up)
    if (op < 4 || names.size < 3) {
      const id = nextName++;
      intent(id, 0);
      const h = pool.create(dir.ino, dir.gen, "f" + id, FILE);
      const size = rnd(8) === 0 ? 1 + rnd(2 << 20) : 1 + rnd(150000);
      const buf = fill(size, id);
      pool.open(h.ino, h.gen);
      for (let at = 0; at < size;) {
        const n = Math.min(size - at, 1 + rnd(70000));
        pool.write(h.ino, h.gen, buf, at, n, at, false);
        at += n;
      }
      pool.close(h.ino, h.gen);
      names.add(id);
      journal(1, id, 0, size, crc(buf));
    } else if (op < 6) {
      const id = pick();
      intent(id, 0);
      const h = pool.lookup(dir.ino, dir.gen, "f" + id);
      const more = fill(1 + rnd(60000), id * 7 + op);
      pool.open(h.ino, h.gen);
      pool.write(h.ino, h.gen, more, 0, more.length, 0, true);
      pool.close(h.ino, h.gen);
      const all = readAll(h);
      journal(1, id, 0, all.length, crc(all));
    } else if (op < 8) {
      const a = pick();
      const b = rnd(2) ? pick() : nextName++;
      if (a === b) continue;
      intent(a, b);
      pool.rename(dir.ino, dir.gen, "f" + a, dir.ino, dir.gen, "f" + b);
      names.delete(a); names.add(b);
      journal(2, a, b, 0, 0);
    } else {
      const id = pick();
      intent(id, 0);
      const h = pool.lookup(dir.ino, dir.gen, "f" + id);
      if (rnd(2) === 0) { // still open when unlinked (and maybe when killed)
        pool.open(h.ino, h.gen);
        kept.push(h);
        if (kept.length > 8) { const k = kept.shift(); pool.close(k.ino, k.gen); }
      }
      pool.unlink(dir.ino, dir.gen, "f" + id);
      names.delete(id);
      journal(3, id, 0, 0, 0);
    }
  }
}
