// jsglue/pool/validate.js — walk a pool and list every broken invariant (see layout.js).
// Reads only; never trusts an offset before checking it is inside the heap, and
// bounds every walk, so a corrupted pool yields messages, not a hang or a crash. It has
// its own hash and size-class code on purpose: it checks the pool's, it does not share it.
// Locks: the caller holds META for writing (so no metadata changes during the walk).
import { L } from "../layout.js";
import { validateFlocks } from "./validate_flocks.js";
import { keptWord } from "./keptpins.js";

function fnv1a(bytes, start, len) {
  let h = 0x811c9dc5;
  for (let i = start; i < start + len; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}
const binOf = (size) => Math.min(L.NBINS - 1, Math.max(0, 31 - Math.clz32(size) - 5));
const typeOf = (m) => m & L.S_IFMT;

/**
 * Every violated invariant of the pool (layout.js lists them).
 * @param {{u8: Uint8Array, u32: Uint32Array, i32: Int32Array}} pool current views of
 *   the pool's Memory (a Views); the caller holds META for writing
 * @returns {string[]} violations, [] when sound
 */
export function validate(pool) {
  const errs = [];
  const MAX_ERRS = 200;
  const err = (m) => {
    if (errs.length < MAX_ERRS) errs.push(m);
  };
  try {
    walk(pool, err);
  } catch (e) {
    err(`validator stopped: ${e && e.message}`);
  }
  return errs;
}

function walk(pool, err) {
  const u32 = pool.u32;
  const u8 = pool.u8;
  if (u32[L.SB_MAGIC] !== L.MAGIC) err(`superblock: bad magic 0x${u32[L.SB_MAGIC].toString(16)}`);
  if (u32[L.SB_VERSION] !== L.VERSION) err(`superblock: version ${u32[L.SB_VERSION]} != ${L.VERSION}`);
  const start = u32[L.SB_HEAP_START];
  const pages = u32[L.SB_HEAP_PAGES];
  const end = pages * L.PAGE;
  if (start !== L.HEAP_START) err(`superblock: heap start ${start} != ${L.HEAP_START}`);
  if (pages > u32[L.SB_MAX_PAGES]) err(`superblock: ${pages} pages above maximum ${u32[L.SB_MAX_PAGES]}`);
  if (end > u8.length) {
    err(`superblock: heap end ${end} beyond the Memory (${u8.length} bytes)`);
    return;
  }

  // 1-3. Heap blocks tile the heap; free lists agree.
  const blocks = new Map(); // offset -> {size, kind, used}
  let usedSum = 0;
  let freeSum = 0;
  let prevFree = false;
  for (let p = start, n = 0; p < end; n++) {
    const head = u32[p >>> 2];
    const size = head - (head & 7);
    const used = head & 1;
    const kind = u32[(p >>> 2) + 1];
    if (size < L.MIN_BLOCK || p + size > end || (head & 6)) {
      err(`heap: block @${p} has bad size word 0x${head.toString(16)} (heap ends at ${end})`);
      return;
    }
    if (u32[(p + size - 8) >>> 2] !== head || u32[(p + size - 4) >>> 2] !== kind) {
      err(`heap: block @${p} footer does not match its header`);
    }
    if (used && (kind === L.K_FREE || kind > L.K_FLOCKS)) err(`heap: used block @${p} has kind ${kind}`);
    if (!used && kind !== L.K_FREE) err(`heap: free block @${p} has kind ${kind}`);
    if (!used && prevFree) err(`heap: free block @${p} follows another free block (not merged)`);
    prevFree = !used;
    blocks.set(p, { size, kind, used, claims: 0 });
    if (used) usedSum += size;
    else freeSum += size;
    p += size;
  }
  if (usedSum !== u32[L.SB_USED_BYTES]) err(`accounting: USED_BYTES ${u32[L.SB_USED_BYTES]} != walked ${usedSum}`);
  if (freeSum !== u32[L.SB_FREE_BYTES]) err(`accounting: FREE_BYTES ${u32[L.SB_FREE_BYTES]} != walked ${freeSum}`);
  if (usedSum + freeSum !== end - start) err(`accounting: used + free != heap size ${end - start}`);

  const freeCount = [...blocks.values()].filter((b) => !b.used).length;
  const seenFree = new Set();
  const map = u32[L.SB_BIN_MAP];
  for (let b = 0; b < L.NBINS; b++) {
    let prev = 0;
    let p = u32[L.SB_BINS + b];
    if (!!p !== !!(map & (1 << b))) err(`bins: BIN_MAP bit ${b} disagrees with bin ${b}`);
    for (let steps = 0; p; steps++) {
      if (steps > freeCount) {
        err(`bins: bin ${b} list is longer than the free blocks (cycle?)`);
        break;
      }
      const blk = blocks.get(p);
      if (!blk) {
        err(`bins: bin ${b} links to @${p}, which is not a block`);
        break;
      }
      if (blk.used) err(`bins: bin ${b} holds used block @${p}`);
      if (binOf(blk.size) !== b) err(`bins: block @${p} of ${blk.size} bytes is in bin ${b}`);
      if (u32[(p >>> 2) + L.B_PREV] !== prev) err(`bins: block @${p} back link is not @${prev}`);
      if (seenFree.has(p)) err(`bins: block @${p} listed twice`);
      seenFree.add(p);
      prev = p;
      p = u32[(p >>> 2) + L.B_NEXT];
    }
  }
  for (const [p, blk] of blocks) {
    if (!blk.used && !seenFree.has(p)) err(`bins: free block @${p} is in no bin`);
  }

  const claim = (payload, kind, owner) => {
    const blk = blocks.get(payload - L.HDR);
    if (!blk) {
      err(`${owner}: points to @${payload}, which is not a block payload`);
      return null;
    }
    if (!blk.used || blk.kind !== kind) err(`${owner}: block @${payload - L.HDR} has kind ${blk.kind}, want ${kind}`);
    if (++blk.claims > 1) err(`${owner}: block @${payload - L.HDR} is claimed twice`);
    return blk;
  };

  // 4-6. Inodes.
  const chunks = u32[L.SB_INODE_CHUNKS];
  if (chunks > L.MAX_CHUNKS) {
    err(`inodes: ${chunks} chunks above ${L.MAX_CHUNKS}`);
    return;
  }
  for (let k = 0; k < chunks; k++) claim(u32[L.SB_CHUNK_DIR + k], L.K_INODES, `inode chunk ${k}`);
  const nIno = chunks * L.INODES_PER_CHUNK;
  const ib = (ino) => u32[L.SB_CHUNK_DIR + (ino >>> 10)] + (ino & 1023) * L.INODE_BYTES;
  const freeSlots = new Set();
  for (let ino = u32[L.SB_INODE_FREE], steps = 0; ino; steps++) {
    if (ino >= nIno || steps > nIno) {
      err(`inodes: free list reaches bad inode ${ino}`);
      break;
    }
    if (u32[(ib(ino) >>> 2) + L.I_MODE] !== 0) err(`inodes: free list holds live inode ${ino}`);
    if (freeSlots.has(ino)) {
      err(`inodes: free list loops at ${ino}`);
      break;
    }
    freeSlots.add(ino);
    ino = u32[(ib(ino) >>> 2) + L.I_NEXT];
  }
  const live = [];
  const counts = { [L.S_IFREG]: 0, [L.S_IFDIR]: 0, [L.S_IFLNK]: 0 };
  for (let ino = 1; ino < nIno; ino++) {
    const w = ib(ino) >>> 2;
    const mode = u32[w + L.I_MODE];
    if (mode === 0) {
      if (!freeSlots.has(ino)) err(`inodes: free inode ${ino} is not on the free list`);
      continue;
    }
    const t = typeOf(mode);
    if (!(t in counts)) {
      err(`inode ${ino}: bad type in mode 0o${mode.toString(8)}`);
      continue;
    }
    counts[t]++;
    live.push(ino);
    const ext = u32[w + L.I_EXTENT];
    const cap = u32[w + L.I_CAP];
    const size = u32[w + L.I_SIZE];
    if (ext) {
      const blk = claim(ext, t === L.S_IFDIR ? L.K_DIRTAB : L.K_DATA, `inode ${ino}`);
      if (blk && cap > blk.size - L.HDR - L.FTR) err(`inode ${ino}: CAP ${cap} exceeds its block`);
    } else if (cap !== 0) {
      err(`inode ${ino}: CAP ${cap} without an extent`);
    }
    if (t !== L.S_IFDIR && size > cap) err(`inode ${ino}: SIZE ${size} > CAP ${cap}`);
    if (t === L.S_IFDIR && !ext) err(`directory ${ino} has no table`);
    if (t === L.S_IFREG && u32[w + L.I_MOVING]) claim(u32[w + L.I_MOVING], L.K_DATA, `inode ${ino} (moving)`);
  }
  if (live.length !== u32[L.SB_INODES_LIVE]) err(`inodes: INODES_LIVE ${u32[L.SB_INODES_LIVE]} != ${live.length}`);
  if (counts[L.S_IFREG] !== u32[L.SB_N_FILES]) err(`inodes: N_FILES ${u32[L.SB_N_FILES]} != ${counts[L.S_IFREG]}`);
  if (counts[L.S_IFDIR] !== u32[L.SB_N_DIRS]) err(`inodes: N_DIRS ${u32[L.SB_N_DIRS]} != ${counts[L.S_IFDIR]}`);
  if (counts[L.S_IFLNK] !== u32[L.SB_N_LINKS]) err(`inodes: N_LINKS ${u32[L.SB_N_LINKS]} != ${counts[L.S_IFLNK]}`);

  // 5, 7. Directory tables.
  const named = new Map(); // ino -> times named
  const subdirs = new Map(); // dir ino -> count
  const liveSet = new Set(live);
  for (const dir of live) {
    const w = ib(dir) >>> 2;
    if (typeOf(u32[w + L.I_MODE]) !== L.S_IFDIR) continue;
    const t = u32[w + L.I_EXTENT];
    if (!blocks.has(t - L.HDR)) continue;
    const slots = u32[(t >>> 2) + L.DT_SLOTS];
    if (slots < L.DT_MIN_SLOTS || (slots & (slots - 1)) || L.DT_HDR + slots * 8 > u32[w + L.I_CAP]) {
      err(`directory ${dir}: bad slot count ${slots}`);
      continue;
    }
    let cnt = 0;
    let tombs = 0;
    const names = new Set();
    for (let i = 0; i < slots; i++) {
      const s = t + L.DT_HDR + i * 8;
      const e = u32[(s >>> 2) + 1];
      if (e === L.SLOT_EMPTY) continue;
      if (e === L.SLOT_DELETED) {
        tombs++;
        continue;
      }
      cnt++;
      const blk = claim(e, L.K_DENTRY, `directory ${dir} slot ${i}`);
      if (!blk) continue;
      const ew = e >>> 2;
      const len = u32[ew + L.DE_LEN];
      if (len < 1 || len > L.NAME_MAX || L.DE_NAME + len > blk.size - L.HDR - L.FTR) {
        err(`directory ${dir} slot ${i}: bad name length ${len}`);
        continue;
      }
      const h = fnv1a(u8, e + L.DE_NAME, len);
      if (h !== u32[ew + L.DE_HASH] || h !== u32[s >>> 2]) err(`directory ${dir} slot ${i}: hash mismatch`);
      const key = Array.prototype.join.call(u8.subarray(e + L.DE_NAME, e + L.DE_NAME + len), ",");
      if (names.has(key)) err(`directory ${dir}: a name appears twice`);
      names.add(key);
      // reachable by probing from its hash
      for (let j = h & (slots - 1), steps = 0; ; j = (j + 1) & (slots - 1), steps++) {
        const e2 = u32[((t + L.DT_HDR + j * 8) >>> 2) + 1];
        if (e2 === e) break;
        if (e2 === L.SLOT_EMPTY || steps > slots) {
          err(`directory ${dir} slot ${i}: entry not reachable from its hash`);
          break;
        }
      }
      const child = u32[ew + L.DE_INO];
      if (!liveSet.has(child)) {
        err(`directory ${dir} slot ${i}: names dead or bad inode ${child}`);
        continue;
      }
      const cw = ib(child) >>> 2;
      if (u32[cw + L.I_GEN] !== u32[ew + L.DE_GEN]) err(`directory ${dir} slot ${i}: generation mismatch for inode ${child}`);
      named.set(child, (named.get(child) || 0) + 1);
      if (typeOf(u32[cw + L.I_MODE]) === L.S_IFDIR) {
        subdirs.set(dir, (subdirs.get(dir) || 0) + 1);
        if (u32[cw + L.I_PARENT] !== dir) err(`directory ${child}: PARENT ${u32[cw + L.I_PARENT]} != ${dir}`);
        if (u32[cw + L.I_DENTRY] !== e) err(`directory ${child}: DENTRY does not point to its entry`);
      }
    }
    if (cnt !== u32[(t >>> 2) + L.DT_COUNT]) err(`directory ${dir}: COUNT ${u32[(t >>> 2) + L.DT_COUNT]} != ${cnt}`);
    if (tombs !== u32[(t >>> 2) + L.DT_TOMBS]) err(`directory ${dir}: TOMBS ${u32[(t >>> 2) + L.DT_TOMBS]} != ${tombs}`);
  }
  const root = u32[L.SB_ROOT_INO];
  for (const ino of live) {
    const w = ib(ino) >>> 2;
    const t = typeOf(u32[w + L.I_MODE]);
    const nlink = u32[w + L.I_NLINK];
    const n = named.get(ino) || 0;
    if (t === L.S_IFDIR) {
      if (ino === root) {
        if (n !== 0) err(`root directory is named ${n} times`);
      } else if (nlink === 0) {
        if (n !== 0) err(`removed directory ${ino} is still named`);
      } else if (n !== 1) {
        err(`directory ${ino} is named ${n} times`);
      }
      const want = nlink === 0 ? 0 : 2 + (subdirs.get(ino) || 0);
      if (nlink !== want) err(`directory ${ino}: NLINK ${nlink} != ${want}`);
    } else if (nlink !== n) {
      err(`inode ${ino}: NLINK ${nlink} but named ${n} times`);
    }
    if (nlink === 0 && u32[w + L.I_OPEN] === 0) err(`inode ${ino}: neither named nor open (leaked)`);
  }
  if (!liveSet.has(root) || typeOf(u32[(ib(root) >>> 2) + L.I_MODE]) !== L.S_IFDIR) err(`root inode ${root} is not a live directory`);

  // 8. Undo log, instance slots, locks, pin tables.
  const logCount = u32[L.LOG_AT >>> 2];
  if (logCount !== 0) err(`undo log: ${logCount} words of an unfinished transaction`);
  if (u32[L.SB_MOVES] & 1) {
    err(`superblock: MOVES ${u32[L.SB_MOVES]} is odd (a compaction round marked as in progress)`);
  }
  // TXSEQ is odd exactly while META is write-held (validate itself runs under META write).
  const metaHeld = pool.i32[(L.SB_META_LOCK >> 2) + L.LK_STATE] !== 0;
  if (((u32[L.SB_TXSEQ] & 1) === 1) !== metaHeld) {
    err(`superblock: TXSEQ ${u32[L.SB_TXSEQ]} is ${metaHeld ? "even while META is write-held" : "odd with META free (a transaction marked as open)"}`);
  }
  const slotW = (s) => (L.SLOTS_AT >> 2) + s * (L.SLOT_BYTES >> 2);
  const high = u32[L.SB_SLOTS_HIGH];
  if (high > L.NSLOTS) err(`instances: SLOTS_HIGH ${high} above ${L.NSLOTS}`);
  const pins = new Map(); // ino -> pins over all slots
  for (let s = 0; s < L.NSLOTS; s++) {
    const sw = slotW(s);
    const state = u32[sw + L.S_STATE];
    const pt = u32[sw + L.S_PINS];
    const kept = [];
    for (let k = 0; k < L.KP_N; k++) {
      const kw = keptWord(s, k);
      if (u32[kw] !== 0) kept.push([k, u32[kw], u32[kw + 1]]);
    }
    if (state === L.SLOT_FREE) {
      if (pt) err(`instance slot ${s}: free but has a pin table`);
      if (kept.length) err(`instance slot ${s}: free but has ${kept.length} kept pins`);
      continue;
    }
    for (const [k, x, gen] of kept) {
      const ino = x & L.KP_INO;
      const st = x & L.KP_STATE;
      if (st !== L.KP_OPEN && st !== L.KP_KEPT) {
        err(`instance slot ${s}: kept pin ${k} in state ${st >>> 28} (a revocation did not finish)`);
      }
      if (!liveSet.has(ino) || u32[(ib(ino) >>> 2) + L.I_GEN] !== gen) {
        err(`instance slot ${s}: kept pin ${k} on dead inode ${ino} (generation ${gen})`);
        continue;
      }
      pins.set(ino, (pins.get(ino) || 0) + 1);
    }
    if (s >= high) err(`instance slot ${s}: in use above SLOTS_HIGH ${high}`);
    if (state !== L.SLOT_LIVE) {
      err(`instance slot ${s}: state ${state} (a recovery did not finish)`);
      continue;
    }
    if (!pt) continue;
    const blk = claim(pt, L.K_PINS, `instance slot ${s} pin table`);
    if (!blk) continue;
    const n = u32[(pt >>> 2) + L.PT_N];
    const cap = u32[(pt >>> 2) + L.PT_CAP];
    if (n > cap || L.PT_HDR + cap * L.PT_ENTRY > blk.size - L.HDR - L.FTR) {
      err(`instance slot ${s}: pin table N ${n} / CAP ${cap} do not fit its block`);
      continue;
    }
    for (let k = 0; k < n; k++) {
      const ew = (pt + L.PT_HDR + k * L.PT_ENTRY) >>> 2;
      const ino = u32[ew];
      if (!liveSet.has(ino) || u32[(ib(ino) >>> 2) + L.I_GEN] !== u32[ew + 1]) {
        err(`instance slot ${s}: pins dead inode ${ino} (generation ${u32[ew + 1]})`);
        continue;
      }
      if (u32[ew + 2] === 0) err(`instance slot ${s}: pin entry ${k} with count 0`);
      pins.set(ino, (pins.get(ino) || 0) + u32[ew + 2]);
    }
  }
  for (const ino of live) {
    const open = u32[(ib(ino) >>> 2) + L.I_OPEN];
    if (open !== (pins.get(ino) || 0)) err(`inode ${ino}: OPEN ${open} but ${pins.get(ino) || 0} pins in the instance tables and kept pins`);
  }
  const lockName = (k) => (k < 0 ? "META" : `stripe ${k}`);
  for (let k = -1; k < L.STRIPES; k++) {
    const base = k < 0 ? L.SB_META_LOCK : L.LOCKS_AT + k * L.LOCK_BYTES;
    const st = pool.i32[(base >> 2) + L.LK_STATE];
    const next = pool.i32[(base >> 2) + L.LK_WNEXT];
    for (const [what, id] of [["held", st < 0 ? -st : 0], ["awaited", next]]) {
      if (!id) continue;
      if (id > L.NSLOTS || u32[slotW(id - 1) + L.S_STATE] !== L.SLOT_LIVE) {
        err(`lock ${lockName(k)}: ${what} by instance slot ${id - 1}, which is not attached`);
      }
    }
  }

  // 9. File locks (validate_flocks.js).
  validateFlocks(pool, { claim, liveSet, ib, slotW, err });

  // 4. Every used block has exactly one owner.
  for (const [p, blk] of blocks) {
    if (blk.used && blk.claims === 0) err(`heap: used block @${p} (kind ${blk.kind}, ${blk.size} bytes) has no owner (leaked)`);
  }
}

