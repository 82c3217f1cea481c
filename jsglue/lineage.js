// jsglue/lineage.js — which pool instances were started by which. Every Workers worker
// writes its own entry (its instance id, its parent's) into a table in a SharedArrayBuffer
// as soon as it has attached; the table is shared by all instances of one pool that start
// workers, passed down from parent to worker. When a worker dies or is terminated, the
// workers it started die with it (browsers and node end nested workers with their
// parent) — and nobody else knows them: whoever notices the death looks up its
// descendants here and evicts them all from the pool. No pool locks.
//
// `lineageAdd` must stay self-contained: its source text runs in workers.
//
// Table: ENTRIES entries of two Int32 words: [parent id + 1, id + 1]; 0 = free. A writer
// reserves an entry by CAS on its parent word, then stores the id; readers skip an entry
// whose id is still 0.

/** Entries of a lineage table (ids are per pool: 64 slots × generations). */
export const LINEAGE_ENTRIES = 256;

/** A new, empty lineage table. @returns {Int32Array} */
export function newLineage() {
  return new Int32Array(new SharedArrayBuffer(LINEAGE_ENTRIES * 8));
}

/**
 * Record that instance `id` was started by instance `parent`. Runs in the new worker.
 * @param {Int32Array} table
 * @param {number} id
 * @param {number} parent
 * @returns {boolean} false if the table is full
 */
export function lineageAdd(table, id, parent) {
  for (let i = 0; i < table.length; i += 2) {
    if (Atomics.compareExchange(table, i, 0, (parent + 1) | 0) === 0) {
      Atomics.store(table, i + 1, (id + 1) | 0);
      return true;
    }
  }
  return false;
}

/**
 * The instances started by `id`, by its workers, and so on (not `id` itself).
 * @param {Int32Array} table
 * @param {number} id
 * @returns {number[]} children before grandchildren
 */
export function lineageDescendants(table, id) {
  const out = [];
  const seen = new Set([id]);
  for (let k = 0; k <= out.length; k++) {
    const parent = k === 0 ? id : out[k - 1];
    for (let i = 0; i < table.length; i += 2) {
      const p = (Atomics.load(table, i) >>> 0) - 1;
      const child = (Atomics.load(table, i + 1) >>> 0) - 1;
      if (p === parent && child >= 0 && !seen.has(child)) {
        seen.add(child);
        out.push(child);
      }
    }
  }
  return out;
}

/**
 * Forget instance `id` (it was evicted or detached).
 * @param {Int32Array} table
 * @param {number} id
 */
export function lineageRemove(table, id) {
  for (let i = 0; i < table.length; i += 2) {
    if ((Atomics.load(table, i + 1) >>> 0) - 1 === id) {
      Atomics.store(table, i + 1, 0);
      Atomics.store(table, i, 0);
    }
  }
}

/** The lineage table of each pool Memory this instance starts workers on. */
const tables = new WeakMap();

/**
 * The lineage table for the pool in `memory`: the one this worker was given (see
 * adoptLineage), or a new one for a pool on which this instance is the first to start
 * workers.
 * @param {WebAssembly.Memory} memory
 * @returns {Int32Array}
 */
export function lineageFor(memory) {
  let t = tables.get(memory);
  if (!t) {
    t = newLineage();
    tables.set(memory, t);
  }
  return t;
}

/**
 * Use `table` for the pool in `memory` (a worker adopts its parent's table, so its own
 * workers are found from the root).
 * @param {WebAssembly.Memory} memory
 * @param {Int32Array} table
 */
export function adoptLineage(memory, table) {
  tables.set(memory, table);
}
