// jsglue/layout.js — the byte layout of an EXTMEMFS pool. Changing anything here
// changes the on-memory format: bump VERSION, or pools made by older code will be
// misread. Every offset used elsewhere is named here; no other file has bare offsets.
//
// The whole file system lives in ONE shared WebAssembly.Memory. All words are
// little-endian (wasm memory); u32 = 4 bytes, f64 = 8 bytes (8-aligned).
//
// ┌──────────────────────────── memory ────────────────────────────────────────┐
// │ 0 .. SB_BYTES          superblock (fixed)                                    │
// │ LOCKS_AT .. SLOTS_AT    stripe lock table (STRIPES × LOCK_BYTES)             │
// │ SLOTS_AT .. KEPT_AT     instance table (NSLOTS × SLOT_BYTES)                 │
// │ KEPT_AT .. LOG_AT       kept pins (NSLOTS × KP_N entries of KP_BYTES)        │
// │ LOG_AT .. DIRTY_AT      undo log of the META write-lock holder               │
// │ DIRTY_AT .. HEAP_START  dirty-page bitmap (pages changed since the snapshot)  │
// │ HEAP_START .. heapEnd   heap: boundary-tagged blocks, used or free          │
// └─────────────────────────────────────────────────────────────────────────────┘
// heapEnd = SB_HEAP_PAGES × 64 KiB and equals memory.buffer.byteLength after every
// completed grow (a grow interrupted before the superblock was updated leaves extra
// bytes at the end; the next grow adopts them).
//
// Superblock (byte offset, width, field)
// | off | w | field            | meaning                                                  |
// |-----|---|------------------|----------------------------------------------------------|
// |   0 | 4 | MAGIC            | 0x53464d58 ("XMFS")                                      |
// |   4 | 4 | VERSION          | layout version, see VERSION below                        |
// |   8 | 4 | HEAP_START       | byte offset of the first heap block                      |
// |  12 | 4 | HEAP_PAGES       | pages (64 KiB) covered by the heap, from 0               |
// |  16 | 4 | MAX_PAGES        | the Memory's maximum, in pages                           |
// |  20 | 4 | ROOT_INO         | inode number of "/"                                      |
// |  24 | 4 | INODE_CHUNKS     | inode chunks allocated (see CHUNK_DIR)                   |
// |  28 | 4 | INODE_FREE       | head of the free-inode list (0 = empty)                  |
// |  32 | 4 | INODES_LIVE      | inodes in use                                            |
// |  36 | 4 | USED_BYTES       | bytes in used heap blocks (headers included)             |
// |  40 | 4 | FREE_BYTES       | bytes in free heap blocks                                |
// |  44 | 4 | N_FILES          | regular files (linked or open)                           |
// |  48 | 4 | N_DIRS           | directories, root included                               |
// |  52 | 4 | N_LINKS          | symbolic links                                           |
// |  56 | 4 | BIN_MAP          | bit b set ⇔ free bin b is non-empty                      |
// |  60 | 4 | CHANGE           | bumped by every namespace change (diagnostics)           |
// |  64 |16 | META_LOCK        | the metadata read-write lock (lock word layout below)    |
// |  80 | 4 | COPIERS          | threads inside a bulk copy of file data right now        |
// |  84 | 4 | COPY_PEAK        | the most COPIERS ever seen at once (diagnostics: proves  |
// |     |   |                  | that copies of different files run in parallel)          |
// |  88 | 4 | COMPACTIONS      | times the heap was compacted (diagnostics)               |
// |  92 | 4 | LEASE_MS         | a lock holder whose heartbeat stands still this long is  |
// |     |   |                  | presumed dead and its locks are reclaimed                |
// |  96 | 4 | SLOTS_HIGH       | instance slots ever used (scans stop here)               |
// | 100 | 4 | RECOVERIES       | dead or evicted instances cleaned up (diagnostics)       |
// | 104 | 4 | UID              | random pool id (names of liveness Web Locks)             |
// | 108 | 4 | SYNC_GEN         | generation of the last snapshot taken for persistence    |
// |     |   |                  | (0 = never; the image of generation g holds g here)      |
// | 112 | 4 | SNAP_PAUSE_US    | longest pause of a snapshot so far, µs (diagnostics)     |
// | 116 | 4 | MOVES            | odd while a compaction round may move blocks (bumped at  |
// |     |   |                  | its start and end): a reader without a lock that saw it  |
// |     |   |                  | even and unchanged across its reads read inode records   |
// |     |   |                  | where they were (lookup cache)                           |
// | 120 | 4 | TXSEQ            | odd while a META transaction is open (made odd when one   |
// |     |   |                  | opens, even again when it commits; a holder that died     |
// |     |   |                  | leaves it odd until its undo is done): a reader without a |
// |     |   |                  | lock that saw it even and unchanged across its reads saw  |
// |     |   |                  | no metadata store that could still be undone (getattr)    |
// | 128 |4×N| BINS[NBINS]      | free-list heads by size class, block offset or 0         |
// | 240 | 4 | FLOCKS           | payload of the file-lock table (K_FLOCKS block), 0 = none |
// | 244 | 4 | FLOCK_SEQ        | bumped when a file lock is released; its waiters sleep on |
// |     |   |                  | it (a lock word: never logged, never undone)             |
// | 248 | 4 | FLOCK_SLEEPERS   | threads waiting for a file lock (a hint, as SLEEPERS)    |
// | 512 |4×M| CHUNK_DIR[M]     | heap offset of the payload of inode chunk k              |
//
// Lock (LOCK_BYTES = 16; used for META_LOCK and each stripe; see locks.js)
// | off | w | field    | meaning                                                      |
// |-----|---|----------|--------------------------------------------------------------|
// |   0 | 4 | STATE    | 0 not write-held, -(slot+1) write-held by that instance       |
// |   4 | 4 | WNEXT    | slot+1 of the waiter (writer or reader) that goes next; while |
// |     |   |          | set nobody else enters; 0 = none                             |
// |   8 | 4 | SEQ      | bumped by every release that may wake someone; waiters sleep |
// |     |   |          | on it so that no wake-up is lost                             |
// |  12 | 4 | SLEEPERS | threads inside the slow path (release notifies only if > 0;  |
// |     |   |          | a hint: a killed sleeper leaves it high, costing a notify)   |
// Read holds are not counted in the lock: each instance slot names the one lock it
// holds for reading (RLOCK), and a writer waits until no slot names its lock. Every
// hold is therefore one word that names its holder, and a dead holder's holds can be
// dropped exactly.
//
// Instance slot (SLOT_BYTES = 64, NSLOTS of them at SLOTS_AT; slot s has id s + 1)
// | off | w | field    | meaning                                                      |
// |-----|---|----------|--------------------------------------------------------------|
// |   0 | 4 | STATE    | SLOT_FREE, SLOT_LIVE, SLOT_DEAD (recovered, locks releasing) |
// |   4 | 4 | GEN      | +1 every time the slot is taken (instance id = GEN·256+slot) |
// |   8 | 4 | HB       | heartbeat: bumped at every lock taken and while waiting      |
// |  12 | 4 | RLOCK    | byte offset of the lock it holds for reading, 0 = none       |
// |  16 | 4 | PINS     | payload offset of its K_PINS block, 0 = none                 |
// |  20 | 4 | MOVE_INO | inode whose extent it is copying outside META, 0 = none      |
// |  24 | 4 | FLAGS    | SF_WEBLOCK: it holds its liveness Web Lock                   |
// |  32 | 8 | SINCE    | f64 ms since the epoch when it attached                      |
// |  40 | 4 | WSEQ     | odd while a bulk write it announced changes bytes [WLO, WHI) |
// |     |   |          | of file WINO under that file's stripe (held); +1 at the      |
// |     |   |          | start and at the end of each announcement (Content.write)    |
// |  44 | 4 | WINO     | that file's inode number                                     |
// |  48 | 4 | WLO      | first byte offset (in the file) the write may change         |
// |  52 | 4 | WHI      | byte offset past the last one                                |
//
// Kept pins (KEPT_AT; KP_N entries per instance slot, slot s's first at KEPT_AT + s ×
// KP_N × KP_BYTES; pool/keptpins.js): the pin an instance keeps after the last close of
// a file, so that opening it again takes no lock. Outside the heap: compaction never
// moves them, and their owner changes them without a lock.
// | off | w | field    | meaning                                                      |
// |-----|---|----------|--------------------------------------------------------------|
// |   0 | 4 | STATE|INO| 0 = empty; else inode number | KP_OPEN (open in that instance) |
// |     |   |          | or KP_KEPT (closed, pin kept) or KP_REVOKE (being taken back |
// |     |   |          | by the META write holder); every non-empty entry holds one   |
// |     |   |          | of the inode's OPEN                                           |
// |   4 | 4 | GEN      | the inode's generation                                        |
//
// Undo log (LOG_AT; written only by the META write-lock holder)
// | off | w | field    | meaning                                                      |
// |-----|---|----------|--------------------------------------------------------------|
// |   0 | 4 | COUNT    | words of entries in use; 0 = no transaction open             |
// |  16 | … | entries  | [word index, old value] for a u32 store, or a move record    |
// |     |   |          | [MOVE_TAG | dst word, src word, byte length, bytes done]      |
// Every store to metadata made under META write is preceded by its entry. Unlocking
// META commits (COUNT = 0); a META holder that dies leaves COUNT > 0, and whoever
// takes META next undoes the entries newest first. Payload writes into blocks that
// were free when the transaction began need no entries (blocks freed inside a
// transaction are only freed at its commit, so no payload that still matters can be
// overwritten). Moves are copied in chunks no longer than the distance moved, with
// the progress stored after each chunk, so a half-done move can be undone exactly.
//
// Dirty-page bitmap (DIRTY_AT, DIRTY_BYTES = 8 KiB: one bit per 64 KiB page of a 4 GiB
// Memory). Bit p is set (Atomics.or) by every store into page p ≥ 1, made while holding
// the lock that guards the stored word (META or the file's stripe); page 0 — superblock,
// lock and instance tables, undo log and this bitmap — is not tracked: a snapshot always
// takes it whole. A snapshot (pool/snapshot.js) takes every lock, reads the bitmap and
// clears it, so a page written after the snapshot is dirty again for the next one.
//
// Pin table (payload of a K_PINS block; one per instance with files open)
// | off | w | field    | meaning                                                      |
// |-----|---|----------|--------------------------------------------------------------|
// |   0 | 4 | N        | entries in use                                               |
// |   4 | 4 | CAP      | entries that fit                                             |
// |   8 |12×| entries  | [ino, gen, count]: this instance holds `count` pins on it    |
//
// Heap block (all blocks 8-aligned, size a multiple of 8, at least MIN_BLOCK)
// | off      | w | field   | meaning                                                 |
// |----------|---|---------|---------------------------------------------------------|
// | 0        | 4 | SIZE    | whole block in bytes | USED_BIT (bit 0)                 |
// | 4        | 4 | KIND    | K_FREE, K_INODES, K_DIRTAB, K_DENTRY, K_DATA, K_PINS,   |
// |          |   |         | K_FLOCKS                                                |
// | 8        | … | payload | (free block: NEXT u32 at 8, PREV u32 at 12)             |
// | size - 8 | 4 | SIZE    | copy of the header word (boundary tag)                  |
// | size - 4 | 4 | KIND    | copy of the kind                                         |
//
// Inode record (INODE_BYTES = 64, in chunks of INODES_PER_CHUNK; ino = chunk ×
// INODES_PER_CHUNK + slot; ino 0 is never used)
// | off | w | field   | meaning                                                      |
// |-----|---|---------|--------------------------------------------------------------|
// |   0 | 4 | GEN     | generation: +1 at every reuse of the slot, never 0 once used  |
// |   4 | 4 | MODE    | type and permission bits; 0 = slot free                      |
// |   8 | 4 | NLINK   | names pointing here (dirs: 2 + subdirectories)               |
// |  12 | 4 | OPEN    | pins in all instances (= sum of the pin tables' counts)      |
// |  16 | 4 | SIZE    | bytes of content (u32: files up to the pool maximum)         |
// |  20 | 4 | PARENT  | dirs: inode number of the parent directory                   |
// |  24 | 4 | EXTENT  | payload offset of the K_DATA / K_DIRTAB block, 0 = none      |
// |  28 | 4 | CAP     | payload capacity of that block in bytes                      |
// |  32 | 8 | ATIME   | f64 milliseconds since the epoch                             |
// |  40 | 8 | MTIME   | f64                                                          |
// |  48 | 8 | CTIME   | f64                                                          |
// |  56 | 4 | DENTRY  | dirs: payload offset of the entry naming it (for paths)      |
// |  60 | 4 | NEXT    | free slots: next free inode number                           |
// |     |   | MOVING  | live files: payload of the block an extent move is filling,  |
// |     |   |         | 0 when none (the bulk copy runs outside the metadata lock)   |
// |     |   | DVER    | live directories: bumped by every change of its entries (a   |
// |     |   |         | name added, removed or pointed elsewhere): what instances'   |
// |     |   |         | lookup caches are checked against                             |
//
// Directory table (payload of the K_DIRTAB block a directory's EXTENT points to)
// | off | w | field   | meaning                                                      |
// |-----|---|---------|--------------------------------------------------------------|
// |   0 | 4 | COUNT   | live entries                                                 |
// |   4 | 4 | TOMBS   | deleted slots                                                |
// |   8 | 4 | SLOTS   | slot count, a power of two                                   |
// |  12 | 4 | (pad)   |                                                              |
// |  16 |8×S| slots   | [hash u32, entry u32]; entry 0 = empty, 1 = deleted          |
//
// Directory entry (payload of a K_DENTRY block)
// | off | w | field   | meaning                                                      |
// |-----|---|---------|--------------------------------------------------------------|
// |   0 | 4 | INO     | inode named                                                  |
// |   4 | 4 | GEN     | its generation when the entry was made                       |
// |   8 | 4 | HASH    | FNV-1a of the name bytes                                     |
// |  12 | 4 | LEN     | name length in bytes (1 .. NAME_MAX)                         |
// |  16 | … | NAME    | UTF-8 name bytes                                             |
//
// File-lock table (payload of the K_FLOCKS block SB_FLOCKS points to; made at the
// first file lock; pool/flocks.js). Advisory locks of every kind, of all instances.
// | off | w | field    | meaning                                                      |
// |-----|---|----------|--------------------------------------------------------------|
// |   0 | 4 | N        | records in use: records 0 .. N-1 (unordered)                 |
// |   4 | 4 | CAP      | records that fit                                             |
// |   8 | 8 | (pad)    |                                                              |
// |  16 |4×S| WAITS[S] | per instance slot: slot+1 of the holder whose POSIX lock it  |
// |     |   |          | waits for in F_SETLKW, 0 = not waiting (deadlock detection)  |
// | 272 |40×| records  | CAP lock records                                             |
//
// Lock record (FL_BYTES = 40, 8-aligned)
// | off | w | field    | meaning                                                      |
// |-----|---|----------|--------------------------------------------------------------|
// |   0 | 4 | INO      | the locked inode                                             |
// |   4 | 4 | GEN      | its generation                                               |
// |   8 | 4 | OWNER    | instance id (GEN·256 + slot) of the holder: F_GETLK's l_pid  |
// |  12 | 4 | OFD      | open file description in that instance (flock and OFD        |
// |     |   |          | locks); 0 for POSIX record locks, owned by the instance      |
// |  16 | 4 | KIND     | FLK_POSIX (fcntl F_SETLK, lockf), FLK_OFD (F_OFD_SETLK),     |
// |     |   |          | FLK_FLOCK (flock), FLK_DIR (a directory its creator owns:    |
// |     |   |          | removed, if empty, when the creator dies — dot-locks)        |
// |  20 | 4 | TYPE     | FL_READ (shared) or FL_WRITE (exclusive)                     |
// |  24 | 8 | START    | f64: first byte locked                                       |
// |  32 | 8 | END      | f64: the byte after the last; Infinity = to the end, always  |
// FLK_POSIX and FLK_OFD records conflict with each other's overlapping ranges when
// either is FL_WRITE and their owners (OWNER, OFD, KIND) differ; FLK_FLOCK records
// (whole file: START 0, END Infinity) only with other FLK_FLOCK records, as on Linux.
// Records are stored under META through the undo log like any metadata.
//
// Invariants (checked by Pool.validate()):
//  1. MAGIC and VERSION match; HEAP_PAGES ≤ MAX_PAGES; heap blocks tile
//     [HEAP_START, heapEnd) exactly, each with matching header and footer.
//  2. No two adjacent blocks are free. Every free block is in exactly the bin of its
//     size, the bin lists are linked both ways, and BIN_MAP agrees with them.
//  3. USED_BYTES + FREE_BYTES = heapEnd − HEAP_START, and both equal the walk's sums.
//  4. Every live inode's EXTENT (if any) is the payload of a used block of the right
//     kind, CAP fits that block, SIZE ≤ CAP, and no block is claimed twice; every
//     K_DATA / K_DIRTAB / K_DENTRY / K_INODES block is claimed by exactly one owner.
//  5. Every directory entry names a live inode of the entry's generation. A file or
//     symlink with NLINK = 1 is named exactly once; a directory is named exactly once
//     (root: never) and has NLINK = 2 + its subdirectories.
//  6. Live inodes with NLINK = 0 are held open (OPEN > 0); free slots form the
//     free-inode list; INODES_LIVE and N_FILES/N_DIRS/N_LINKS agree with the walk.
//  7. Directory tables: COUNT and TOMBS agree with the slots, every entry is found by
//     probing from its hash, names are unique in a directory, PARENT and DENTRY of
//     each directory point back to where it is named.
//  8. The undo log is empty (no META transaction open), TXSEQ is odd exactly while META
//     is write-held (validate itself holds it), MOVES is even (no compaction round in
//     progress); every lock is held only by
//     live slots; each live slot's pin table is a K_PINS block it alone owns, naming
//     live inodes, and each inode's OPEN equals the sum of its pins over all slots.
//  9. File locks: the table is a K_FLOCKS block with N ≤ CAP; every record names a
//     live inode of its generation and a live owner slot of the owner's generation;
//     ranges are whole numbers with START < END (flock: the whole file); one owner's
//     ranges on an inode are disjoint and never adjacent with the same TYPE; no two
//     records of different owners conflict; WAITS name live slots only.

export const L = {
  MAGIC: 0x53464d58,
  // 1: first layout. 2: COPIERS and COPY_PEAK. 3: COMPACTIONS. 4: instance slots,
  // owner-naming locks, undo log, pin tables (surviving killed instances). 5: dirty-page
  // bitmap, SYNC_GEN and SNAP_PAUSE_US (persistence). 6: directory versions (DVER) and
  // MOVES (validated lookup caches). 7: file-lock table (FLOCKS, FLOCK_SEQ,
  // FLOCK_SLEEPERS, K_FLOCKS). 8: TXSEQ (attributes read without a lock); images of
  // version 7 are upgraded when restored (snapshot.js restore). 9: a slot's announced
  // bulk write (WSEQ, WINO, WLO, WHI: reads of other bytes of the file go on beside it);
  // images of 7 and 8 are upgraded (the words were unused, restore() zeroes them).
  // 10: kept pins (KEPT_AT; the undo log starts 8 KiB later); images of 7-9 are
  // upgraded (restore() empties the kept pins and the log's COUNT: images are taken
  // with no transaction open).
  VERSION: 10,
  /** Older layout versions whose saved images restore() upgrades to VERSION. */
  UPGRADABLE: [7, 8, 9],
  PAGE: 65536,
  MAX_MEMORY_PAGES: 65536, // wasm32: 4 GiB

  SB_BYTES: 4096,
  // superblock fields, as u32/i32 word indexes (byte offset / 4)
  SB_MAGIC: 0 >> 2,
  SB_VERSION: 4 >> 2,
  SB_HEAP_START: 8 >> 2,
  SB_HEAP_PAGES: 12 >> 2,
  SB_MAX_PAGES: 16 >> 2,
  SB_ROOT_INO: 20 >> 2,
  SB_INODE_CHUNKS: 24 >> 2,
  SB_INODE_FREE: 28 >> 2,
  SB_INODES_LIVE: 32 >> 2,
  SB_USED_BYTES: 36 >> 2,
  SB_FREE_BYTES: 40 >> 2,
  SB_N_FILES: 44 >> 2,
  SB_N_DIRS: 48 >> 2,
  SB_N_LINKS: 52 >> 2,
  SB_BIN_MAP: 56 >> 2,
  SB_CHANGE: 60 >> 2,
  SB_META_LOCK: 64, // byte offset of a lock
  SB_COPIERS: 80 >> 2,
  SB_COPY_PEAK: 84 >> 2,
  SB_COMPACTIONS: 88 >> 2,
  SB_LEASE_MS: 92 >> 2,
  SB_SLOTS_HIGH: 96 >> 2,
  SB_RECOVERIES: 100 >> 2,
  SB_UID: 104 >> 2,
  SB_SYNC_GEN: 108 >> 2,
  SB_SNAP_PAUSE_US: 112 >> 2,
  SB_MOVES: 116 >> 2,
  SB_TXSEQ: 120 >> 2,
  DEFAULT_LEASE_MS: 1000,
  BULK_COPY: 65536, // copies of at least this many bytes count as bulk
  SB_BINS: 128 >> 2,
  NBINS: 28, // classes 2^5 .. 2^32; kept below 32 so bit shifts stay in range
  SB_FLOCKS: 240 >> 2,
  SB_FLOCK_SEQ: 244 >> 2,
  SB_FLOCK_SLEEPERS: 248 >> 2,
  SB_CHUNK_DIR: 512 >> 2,
  MAX_CHUNKS: (4096 - 512) >> 2,

  // lock words, as i32 offsets from the lock's first word
  LOCK_BYTES: 16,
  LK_STATE: 0,
  LK_WNEXT: 1,
  LK_SEQ: 2,
  LK_SLEEPERS: 3,

  LOCKS_AT: 4096,
  STRIPES: 1024,

  // instance slots
  SLOTS_AT: 4096 + 1024 * 16,
  NSLOTS: 64,
  SLOT_BYTES: 64,
  S_STATE: 0, // word indexes from the slot's first word
  S_GEN: 1,
  S_HB: 2,
  S_RLOCK: 3,
  S_PINS: 4,
  S_MOVE_INO: 5,
  S_FLAGS: 6,
  S_SINCE: 4, // f64 index from the slot start (byte 32)
  S_WSEQ: 10,
  S_WINO: 11,
  S_WLO: 12,
  S_WHI: 13,
  SLOT_FREE: 0,
  SLOT_LIVE: 1,
  SLOT_DEAD: 2,
  SF_WEBLOCK: 1,

  // kept pins
  KEPT_AT: 4096 + 1024 * 16 + 64 * 64,
  KP_N: 16, // entries per slot
  KP_BYTES: 8,
  KP_INO: 0x0fffffff, // (inode numbers stay below MAX_CHUNKS × INODES_PER_CHUNK < 2^20)
  KP_STATE: 0x30000000,
  KP_OPEN: 0x10000000,
  KP_KEPT: 0x20000000,
  KP_REVOKE: 0x30000000,

  // undo log
  LOG_AT: 4096 + 1024 * 16 + 64 * 64 + 64 * 16 * 8,
  LOG_HDR: 16,
  MOVE_TAG: 0x80000000,

  // dirty-page bitmap
  DIRTY_AT: 65536 - 8192,
  DIRTY_BYTES: 8192,
  DIRTY_PAGE_SHIFT: 16, // tracked pages are 64 KiB, the Memory's own pages

  HEAP_START: 65536,

  // pin table
  PT_N: 0,
  PT_CAP: 1,
  PT_HDR: 8,
  PT_ENTRY: 12,

  // heap block
  HDR: 8,
  FTR: 8,
  MIN_BLOCK: 32,
  USED_BIT: 1,
  B_SIZE: 0,
  B_KIND: 1,
  B_NEXT: 2, // free blocks only, word index from the block start
  B_PREV: 3,
  K_FREE: 0,
  K_INODES: 1,
  K_DIRTAB: 2,
  K_DENTRY: 3,
  K_DATA: 4,
  K_PINS: 5,
  K_FLOCKS: 6,

  // inode record
  INODE_BYTES: 64,
  INODES_PER_CHUNK: 1024,
  I_GEN: 0,
  I_MODE: 1,
  I_NLINK: 2,
  I_OPEN: 3,
  I_SIZE: 4,
  I_PARENT: 5,
  I_EXTENT: 6,
  I_CAP: 7,
  I_ATIME: 4, // f64 index from the record start (byte 32)
  I_MTIME: 5,
  I_CTIME: 6,
  I_DENTRY: 14,
  I_NEXT: 15,
  I_DVER: 15,
  I_MOVING: 15,

  // directory table
  DT_COUNT: 0,
  DT_TOMBS: 1,
  DT_SLOTS: 2,
  DT_HDR: 16,
  DT_SLOT_BYTES: 8,
  DT_MIN_SLOTS: 8,
  SLOT_EMPTY: 0,
  SLOT_DELETED: 1,

  // directory entry
  DE_INO: 0,
  DE_GEN: 1,
  DE_HASH: 2,
  DE_LEN: 3,
  DE_NAME: 16,
  NAME_MAX: 255,

  // file-lock table and records
  FT_N: 0, // word indexes from the table's first word
  FT_CAP: 1,
  FT_WAITS: 4,
  FT_HDR: 16 + 4 * 64, // bytes before the first record (WAITS has NSLOTS words)
  FT_MIN_CAP: 16,
  FL_BYTES: 40,
  FL_INO: 0, // word indexes from the record's first word
  FL_GEN: 1,
  FL_OWNER: 2,
  FL_OFD: 3,
  FL_KIND: 4,
  FL_TYPE: 5,
  FL_START: 3, // f64 indexes from the record start (bytes 24 and 32)
  FL_END: 4,
  FLK_POSIX: 1,
  FLK_OFD: 2,
  FLK_FLOCK: 3,
  FLK_DIR: 4,
  FL_READ: 1,
  FL_WRITE: 2,
  /** Largest byte offset a lock may reach (f64 holds whole numbers exactly up to it). */
  FL_MAX_OFFSET: Number.MAX_SAFE_INTEGER,

  // mode bits (POSIX values, shared by Linux and Emscripten)
  S_IFMT: 0o170000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o040000,
  S_IFLNK: 0o120000,
};
Object.freeze(L);
