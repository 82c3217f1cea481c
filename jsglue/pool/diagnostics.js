// jsglue/pool/diagnostics.js — a read-only picture of the pool's Memory for people and
// dashboards: which kind of block covers each stretch of the Memory (a block map).
// Reads only. Like validate.js it trusts no size word before checking it, and it bounds
// its walk, so a corrupt or huge pool yields a partial map with a note, not a hang.
// Locks: the caller holds META (read is enough: block headers change only under META
// write; file data written under stripe locks does not change them).
import { L } from "../layout.js";

/**
 * Names of the kinds in a block map, by code: 0 .. 6 are the heap block kinds of
 * layout.js (K_FREE .. K_FLOCKS), 7 the fixed tables before the heap (superblock, stripe
 * locks, instance table, undo log, dirty-page bitmap).
 */
export const BLOCK_KINDS = Object.freeze(["free", "inodes", "dirtab", "dentry", "data", "pins", "flocks", "fixed"]);
/** Kind code of the fixed tables in a block map (after the heap's last block kind). */
export const K_FIXED = L.K_FLOCKS + 1;
/** Kind code of a bucket the walk did not reach (it stopped early: see `truncated`). */
export const K_UNWALKED = 255;
/** Most blocks one blockMap() call looks at by default. */
export const DEFAULT_MAX_BLOCKS = 1 << 20;
const NK = BLOCK_KINDS.length;

/**
 * @typedef {object} BlockMap
 * @property {number} size bytes of the Memory the map covers: [0, size), the heap's end
 * @property {number} buckets number of buckets; bucket i covers bytes
 *   [i * size / buckets, (i + 1) * size / buckets)
 * @property {Uint8Array} kinds per bucket, the code (index into `names`) of the kind that
 *   covers most of its bytes; K_UNWALKED (255) where the walk did not reach
 * @property {Uint8Array} present per bucket, a bit mask of the kinds that have any byte
 *   in it (bit k: kind code k), so that small blocks (directory entries beside file data)
 *   can be shown though they cover little
 * @property {Uint8Array} fill per bucket, the share of its bytes in used blocks or fixed
 *   tables, 0 (all free) .. 255 (no free byte)
 * @property {readonly string[]} names the kind names by code (BLOCK_KINDS)
 * @property {Record<string, number>} bytes bytes per kind name over the whole map
 * @property {Record<string, number>} count blocks per kind name (fixed: 1)
 * @property {number} walked heap blocks looked at
 * @property {boolean} truncated true if the walk stopped before the heap's end (more
 *   than maxBlocks blocks, or a damaged block: see `error`)
 * @property {string | null} error why the walk stopped at a damaged block, or null
 */

/**
 * Map the Memory [0, heapEnd) onto `buckets` buckets by block kind.
 * @param {{u32: Uint32Array, heapEnd: number}} v current views of the pool (a Views);
 *   the caller holds META (read or write)
 * @param {number} buckets 1 .. 1 << 20
 * @param {number} [maxBlocks] stop after this many heap blocks (>= 1)
 * @returns {BlockMap}
 */
export function blockMap(v, buckets, maxBlocks = DEFAULT_MAX_BLOCKS) {
  const u32 = v.u32;
  const size = Math.min(v.heapEnd, u32.length * 4);
  const perKind = new Float64Array(buckets * NK); // bytes of kind k in bucket i
  const bytes = new Float64Array(NK);
  const count = new Float64Array(NK);
  const width = size / buckets;
  const add = (start, end, kind) => {
    bytes[kind] += end - start;
    count[kind] += 1;
    const first = Math.min(buckets - 1, Math.floor(start / width));
    const last = Math.min(buckets - 1, Math.floor((end - 1) / width));
    for (let i = first; i <= last; i++) {
      const lo = Math.max(start, i * width);
      const hi = Math.min(end, (i + 1) * width);
      if (hi > lo) perKind[i * NK + kind] += hi - lo;
    }
  };

  const heapStart = Math.min(L.HEAP_START, size);
  add(0, heapStart, K_FIXED);
  let error = null;
  let walked = 0;
  let p = heapStart;
  while (p < size && walked < maxBlocks) {
    const head = u32[p >>> 2];
    const bsize = head - (head & 7);
    const kind = u32[(p >>> 2) + L.B_KIND];
    if (bsize < L.MIN_BLOCK || p + bsize > size || (head & 6) ||
        kind >= K_FIXED || ((head & L.USED_BIT) === 0) !== (kind === L.K_FREE)) {
      error = `block @${p}: bad header (size word 0x${head.toString(16)}, kind ${kind})`;
      break;
    }
    add(p, p + bsize, kind);
    walked++;
    p += bsize;
  }

  const kinds = new Uint8Array(buckets);
  const present = new Uint8Array(buckets);
  const fill = new Uint8Array(buckets);
  for (let i = 0; i < buckets; i++) {
    let best = K_UNWALKED;
    let bestBytes = 0;
    let total = 0;
    let mask = 0;
    for (let k = 0; k < NK; k++) {
      const b = perKind[i * NK + k];
      total += b;
      if (b > 0) mask |= 1 << k;
      if (b > bestBytes) {
        best = k;
        bestBytes = b;
      }
    }
    kinds[i] = best;
    present[i] = mask;
    const free = perKind[i * NK + L.K_FREE];
    fill[i] = total > 0 ? Math.round((255 * (total - free)) / total) : 0;
  }
  /** @type {Record<string, number>} */ const byName = {};
  /** @type {Record<string, number>} */ const countByName = {};
  BLOCK_KINDS.forEach((name, k) => {
    byName[name] = bytes[k];
    countByName[name] = count[k];
  });
  return {
    size,
    buckets,
    kinds,
    present,
    fill,
    names: BLOCK_KINDS,
    bytes: byName,
    count: countByName,
    walked,
    truncated: p < size,
    error,
  };
}
