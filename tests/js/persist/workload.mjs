// The workload of the persistence kill test (kill.test.mjs): each writer's operations
// are a pure function of (iteration, writer), so the test can replay exactly the ones an
// image says were finished. Used by the writer threads (child.mjs) and by the test.
import { layout as L } from "../../../jsglue/index.js";
import { rng } from "../helpers.mjs";

const FILE = L.S_IFREG | 0o644;
const MAX_LIVE = 8;


/** Deterministic content of `size` bytes. */
export function content(size, seed) {
  const a = new Uint8Array(size);
  let y = seed | 1;
  for (let i = 0; i < size; i++) {
    y = (Math.imul(y, 1103515245) + 12345) | 0;
    a[i] = y >>> 24;
  }
  return a;
}

/**
 * Operation k of writer `w` in iteration `it`, given the names it has now (a Set that
 * this function updates as the operation will).
 * @returns {{type: string, name: string, to?: string, size?: number, seed?: number}}
 */
export function op(it, w, k, live) {
  const rnd = rng((it * 1000003 + w * 7919 + k * 104729) | 0);
  const names = [...live].sort();
  const pick = () => names[rnd(names.length)];
  const r = names.length < 2 ? 0 : names.length >= MAX_LIVE ? 9 : rnd(10);
  const size = rnd(16) === 0 ? 1 + rnd(300000) : 1 + rnd(9000);
  if (r < 4) {
    const name = `f${k}`;
    live.add(name);
    return { type: "put", name, size, seed: k * 31 + 1 };
  }
  if (r < 6) return { type: "append", name: pick(), size: 1 + rnd(5000), seed: k * 17 + 3 };
  if (r < 8) {
    const name = pick();
    const to = rnd(2) ? pick() : `m${k}`;
    live.delete(name);
    live.add(to);
    return { type: "mv", name, to };
  }
  const name = pick();
  live.delete(name);
  return { type: "rm", name };
}

/** Names an operation may leave in an unknown state if it was cut short. */
export const touched = (o) => (o.type === "mv" ? [o.name, o.to] : [o.name]);

/** Apply `o` to a model: Map name → content. */
export function applyToModel(model, o) {
  if (o.type === "put") model.set(o.name, content(o.size, o.seed));
  else if (o.type === "append") {
    const old = model.get(o.name);
    const more = content(o.size, o.seed);
    const out = new Uint8Array(old.length + more.length);
    out.set(old);
    out.set(more, old.length);
    model.set(o.name, out);
  } else if (o.type === "mv") {
    if (o.name !== o.to) {
      model.set(o.to, model.get(o.name));
      model.delete(o.name);
    }
  } else model.delete(o.name);
}

/** Apply `o` to directory handle `dir` of `pool`. */
export function applyToPool(pool, dir, o) {
  if (o.type === "put" || o.type === "append") {
    const h = o.type === "put" ? pool.create(dir.ino, dir.gen, o.name, FILE) : pool.lookup(dir.ino, dir.gen, o.name);
    const data = content(o.size, o.seed);
    pool.open(h.ino, h.gen);
    try {
      pool.write(h.ino, h.gen, data, 0, data.length, 0, o.type === "append");
    } finally {
      pool.close(h.ino, h.gen);
    }
  } else if (o.type === "mv") {
    if (o.name !== o.to) pool.rename(dir.ino, dir.gen, o.name, dir.ino, dir.gen, o.to);
  } else pool.unlink(dir.ino, dir.gen, o.name);
}

/** The model of writer `w` after its first `done` operations. */
export function replay(it, w, done) {
  const live = new Set();
  const model = new Map();
  let last = null;
  for (let k = 0; k < done + 1; k++) {
    const o = op(it, w, k, live);
    if (k < done) applyToModel(model, o);
    else last = o;
  }
  return { model, next: last };
}
