// jsglue/pool/validate_flocks.js — invariant 9 of layout.js: the file-lock table. Part of
// the validator (validate.js calls it with its block claims and inode walk); reads only,
// never trusts an offset before checking it, and has its own conflict test on purpose:
// it checks pool/flocks.js, it does not share its code.
// Locks: the caller holds META for writing.
import { L } from "../layout.js";

const RANGE = new Set([L.FLK_POSIX, L.FLK_OFD]);

/**
 * Check the file-lock table; report through `ctx.err`.
 * @param {{u32: Uint32Array, f64: Float64Array}} pool views of the Memory
 * @param {{claim: (payload: number, kind: number, owner: string) => any,
 *   liveSet: Set<number>, ib: (ino: number) => number, slotW: (s: number) => number,
 *   err: (m: string) => void}} ctx the validator's block claims, live inodes, inode and
 *   slot addresses, and error sink
 */
export function validateFlocks(pool, ctx) {
  const { u32, f64 } = pool;
  const { claim, liveSet, ib, slotW, err } = ctx;
  const t = u32[L.SB_FLOCKS];
  if (!t) return;
  const blk = claim(t, L.K_FLOCKS, "file-lock table");
  if (!blk) return;
  const n = u32[(t >>> 2) + L.FT_N];
  const cap = u32[(t >>> 2) + L.FT_CAP];
  if (n > cap || L.FT_HDR + cap * L.FL_BYTES > blk.size - L.HDR - L.FTR) {
    err(`file locks: N ${n} / CAP ${cap} do not fit the table's block`);
    return;
  }
  const live = (s) => s < L.NSLOTS && u32[slotW(s) + L.S_STATE] === L.SLOT_LIVE;
  for (let s = 0; s < L.NSLOTS; s++) {
    const wv = u32[(t >>> 2) + L.FT_WAITS + s];
    if (!wv) continue;
    if (!live(s)) err(`file locks: WAITS of slot ${s}, which is not attached`);
    if (!live(wv - 1)) err(`file locks: slot ${s} waits for slot ${wv - 1}, which is not attached`);
  }
  const recs = [];
  for (let k = 0; k < n; k++) {
    const w = (t + L.FT_HDR + k * L.FL_BYTES) >>> 2;
    const r = {
      k,
      ino: u32[w + L.FL_INO],
      gen: u32[w + L.FL_GEN],
      owner: u32[w + L.FL_OWNER],
      ofd: u32[w + L.FL_OFD],
      kind: u32[w + L.FL_KIND],
      type: u32[w + L.FL_TYPE],
      start: f64[(w >>> 1) + L.FL_START],
      end: f64[(w >>> 1) + L.FL_END],
    };
    const what = `file lock ${k} (inode ${r.ino}, owner ${r.owner})`;
    if (!liveSet.has(r.ino) || u32[(ib(r.ino) >>> 2) + L.I_GEN] !== r.gen) {
      err(`${what}: names dead inode ${r.ino} (generation ${r.gen})`);
      continue;
    }
    const slot = r.owner % 256;
    if (!live(slot) || u32[slotW(slot) + L.S_GEN] !== Math.floor(r.owner / 256)) {
      err(`${what}: its owner instance is not attached`);
    }
    if (r.kind < L.FLK_POSIX || r.kind > L.FLK_DIR) err(`${what}: bad kind ${r.kind}`);
    if (r.type !== L.FL_READ && r.type !== L.FL_WRITE) err(`${what}: bad type ${r.type}`);
    if ((r.kind === L.FLK_POSIX || r.kind === L.FLK_DIR) !== (r.ofd === 0)) {
      err(`${what}: OFD ${r.ofd} does not fit kind ${r.kind}`);
    }
    if (r.kind === L.FLK_FLOCK || r.kind === L.FLK_DIR) {
      if (r.start !== 0 || r.end !== Infinity) err(`${what}: a whole-file lock with range [${r.start}, ${r.end})`);
    } else if (!(Number.isInteger(r.start) && r.start >= 0 && r.start <= L.FL_MAX_OFFSET &&
      (r.end === Infinity || (Number.isInteger(r.end) && r.end > r.start && r.end <= L.FL_MAX_OFFSET + 1)))) {
      err(`${what}: bad range [${r.start}, ${r.end})`);
    }
    if (r.kind === L.FLK_DIR && (u32[(ib(r.ino) >>> 2) + L.I_MODE] & L.S_IFMT) !== L.S_IFDIR) {
      err(`${what}: an owned directory that is not a directory`);
    }
    recs.push(r);
  }
  // Pairs on one inode: one owner's ranges normalized, no conflicts between owners.
  const byIno = new Map();
  for (const r of recs) {
    if (!byIno.has(r.ino)) byIno.set(r.ino, []);
    byIno.get(r.ino).push(r);
  }
  for (const list of byIno.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i];
        const b = list[j];
        const same = a.owner === b.owner && a.ofd === b.ofd && a.kind === b.kind;
        const flocks = a.kind === L.FLK_FLOCK && b.kind === L.FLK_FLOCK;
        const ranges = RANGE.has(a.kind) && RANGE.has(b.kind);
        const overlap = a.start < b.end && b.start < a.end;
        const pair = `file locks ${a.k} and ${b.k} on inode ${a.ino}`;
        if (same && (a.kind === L.FLK_FLOCK || a.kind === L.FLK_DIR)) err(`${pair}: one owner twice`);
        if (same && ranges && overlap) err(`${pair}: one owner's ranges overlap`);
        if (same && ranges && a.type === b.type && (a.end === b.start || b.end === a.start)) {
          err(`${pair}: one owner's adjacent ranges of one type are not merged`);
        }
        const writes = a.type === L.FL_WRITE || b.type === L.FL_WRITE;
        if (!same && writes && (flocks || (ranges && overlap))) err(`${pair}: conflict between owners`);
      }
    }
  }
}
