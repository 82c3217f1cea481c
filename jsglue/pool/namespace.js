// jsglue/pool/namespace.js — the file-system face of the pool for names: lookup, create
// (files, directories, symlinks), unlink, rmdir, rename, readdir, readlink, attributes.
// It speaks inode handles (ino, gen) and throws PoolError with errno names.
// Locks: reads take META for reading — unless this instance's lookup cache answers,
// checked against the directory's version (pool/lookups.js), or getattr finds no
// transaction overlapping its reads (TXSEQ, a seqlock); every change takes META for
// writing as one transaction, undone entirely if it fails half-way; removeEmptyDirLocked
// expects META write held with a transaction open (recovery removes a dead owner's
// dot-lock with it).
import { L } from "../layout.js";
import { fail } from "../errors.js";
import { NAME, encodeName, encodeText, decodeBytes } from "./names.js";
import { isDirMode, isLnkMode } from "./inodes.js";

/** @typedef {{ino: number, gen: number, mode: number}} Handle a live inode, as looked up */

/**
 * @typedef {{names: string[], inos: number[], gens: number[], modes: number[],
 *   change: number}} Listing a directory's entries; `change`: SB_CHANGE when read
 */

/** Directory listings kept by readdirPlus (the most recently listed directories). */
const LISTINGS = 8;

export class Namespace {
  /**
   * @param {import("./views.js").Views} views
   * @param {import("./txlog.js").TxLog} tx
   * @param {import("./heap.js").Heap} heap
   * @param {import("./inodes.js").Inodes} inodes
   * @param {import("./dirs.js").Dirs} dirs
   * @param {import("./lookups.js").Lookups} lookups this instance's validated cache
   */
  constructor(views, tx, heap, inodes, dirs, lookups) {
    this.v = views;
    this.tx = tx;
    this.heap = heap;
    this.inodes = inodes;
    this.dirs = dirs;
    this.lookups = lookups;
    /** @type {Map<number, {gen: number, change: number, out: Listing}>} see readdirPlus */
    this._listings = new Map();
  }

  /** Handle {ino, gen} of the root directory. */
  rootHandle() {
    const ino = this.inodes.root;
    return { ino, gen: this.tx.withRead(() => this.inodes.gen(ino)) };
  }

  /**
   * Look `name` up in directory (dir, dirGen). META read lock.
   * @returns {{ino:number, gen:number, mode:number}}
   * @throws {PoolError} ENOENT, ENOTDIR, ENAMETOOLONG
   */
  lookup(dir, dirGen, name) {
    const h = this.find(dir, dirGen, name);
    if (h === null) fail("ENOENT", `no entry ${JSON.stringify(name)}`);
    return h;
  }

  /**
   * Like lookup, but a missing name gives null instead of an error: lookups of names
   * that do not exist yet are common (every create makes two) and must be cheap.
   * @returns {{ino:number, gen:number, mode:number} | null}
   * @throws {PoolError} ENOTDIR, ENOENT (the directory itself is gone), ENAMETOOLONG
   */
  find(dir, dirGen, name) {
    const known = this.lookups.get(dir, dirGen, name);
    if (known !== undefined) return known;
    const len = encodeName(name);
    const hash = NAME.hash;
    this.tx.rlock();
    try {
      const db = this.inodes.liveDir(dir, dirGen);
      const u32 = this.v.u32;
      const ver = u32[(db >>> 2) + L.I_DVER];
      const s = this.dirs.find(u32[(db >>> 2) + L.I_EXTENT], len, hash);
      if (s < 0) {
        this.lookups.put(dir, dirGen, ver, name, null);
        return null;
      }
      const e = u32[(s >>> 2) + 1];
      const ino = u32[(e >>> 2) + L.DE_INO];
      const gen = u32[(e >>> 2) + L.DE_GEN];
      this.lookups.put(dir, dirGen, ver, name, { ino, gen });
      return { ino, gen, mode: u32[(this.inodes.ib(ino) >>> 2) + L.I_MODE] };
    } finally {
      this.tx.runlock();
    }
  }

  /**
   * Create `name` in (dir, dirGen): a file, directory or symlink by `mode`'s type.
   * META write lock. Nothing changes if it fails.
   * @param {string} [target] symlink target (for S_IFLNK)
   * @param {(ino: number, gen: number) => void} [onCreated] called inside the
   *   transaction once the new inode is linked (its stores commit or undo with it)
   * @returns {{ino:number, gen:number, mode:number}}
   * @throws {PoolError} EEXIST, ENOENT (dir gone), ENOTDIR, ENAMETOOLONG, ENOSPC, EINVAL
   */
  create(dir, dirGen, name, mode, target, onCreated) {
    // A directory table or inode chunk that needs the Memory to grow grows it outside META.
    return this.heap.deferringGrow(() => this._create(dir, dirGen, name, mode, target, onCreated));
  }

  _create(dir, dirGen, name, mode, target, onCreated) {
    const type = mode & L.S_IFMT;
    if (type !== L.S_IFREG && type !== L.S_IFDIR && type !== L.S_IFLNK) {
      fail("EINVAL", `unsupported file type 0o${type.toString(8)}`);
    }
    let tbytes = null;
    if (type === L.S_IFLNK) {
      if (typeof target !== "string") fail("EINVAL", "symlink target must be a string");
      tbytes = encodeText(target);
      if (tbytes.length > 4095) fail("ENAMETOOLONG", "symlink target longer than 4095 bytes");
    }
    const len = encodeName(name);
    const hash = NAME.hash;
    let note = null;
    this.tx.wlock();
    try {
      const db = this.inodes.liveDir(dir, dirGen);
      const v0 = this.v.u32[(db >>> 2) + L.I_DVER];
      if (this.v.u32[(db >>> 2) + L.I_NLINK] === 0) fail("ENOENT", "directory was removed");
      let s = this.dirs.find(this.v.u32[(db >>> 2) + L.I_EXTENT], len, hash);
      if (s >= 0) fail("EEXIST", `${JSON.stringify(name)} exists`);
      this.dirs.reserve(db);
      s = -1 - this.dirs.find(this.v.u32[(db >>> 2) + L.I_EXTENT], len, hash);
      // Allocate everything before linking anything, undoing on ENOSPC.
      const ino = this.inodes.alloc(mode);
      const b = this.inodes.ib(ino);
      let e = 0;
      try {
        if (type === L.S_IFDIR) {
          this.dirs.init(ino, dir);
        } else if (type === L.S_IFLNK) {
          if (tbytes.length) {
            const p = this.heap.alloc(tbytes.length, L.K_DATA);
            if (!p) fail("ENOSPC", "no room for a symlink");
            this.tx.wrote(p + L.HDR, tbytes.length);
            this.v.u8.set(tbytes, p + L.HDR);
            this.tx.st((b >>> 2) + L.I_EXTENT, p + L.HDR);
            this.tx.st((b >>> 2) + L.I_CAP, this.heap.bsize(p) - L.HDR - L.FTR);
            this.tx.stA((b >>> 2) + L.I_SIZE, tbytes.length);
          }
        }
        if (type !== L.S_IFDIR) this.tx.st((b >>> 2) + L.I_NLINK, 1);
        e = this.dirs.dentryAlloc(ino, len, hash);
      } catch (err) {
        this.tx.abort(); // undoes the inode and whatever was allocated for it
        throw err;
      }
      const u32 = this.v.u32;
      this.dirs.put(db, s, hash, e);
      if (type === L.S_IFDIR) {
        this.tx.st((b >>> 2) + L.I_DENTRY, e);
        this.tx.st((db >>> 2) + L.I_NLINK, u32[(db >>> 2) + L.I_NLINK] + 1);
        this.tx.st(L.SB_N_DIRS, u32[L.SB_N_DIRS] + 1);
      } else if (type === L.S_IFREG) {
        this.tx.st(L.SB_N_FILES, u32[L.SB_N_FILES] + 1);
      } else {
        this.tx.st(L.SB_N_LINKS, u32[L.SB_N_LINKS] + 1);
      }
      this.inodes.touch(db, true, true);
      this.tx.st(L.SB_CHANGE, u32[L.SB_CHANGE] + 1);
      const gen = this.inodes.gen(ino);
      if (onCreated) onCreated(ino, gen);
      note = [v0, u32[(db >>> 2) + L.I_DVER], ino, gen];
      return { ino, gen, mode };
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
      if (note) {
        // (Committed: this instance's cache learns the change instead of losing the entry.)
        this.lookups.applied(dir, dirGen, note[0], note[1], [name, { ino: note[2], gen: note[3] }]);
        if (type === L.S_IFDIR) this.lookups.made(note[2], note[3], 0);
      }
    }
  }

  /**
   * Remove a non-directory entry. Its inode lives on while open anywhere.
   * @throws {PoolError} ENOENT, ENOTDIR, EISDIR
   */
  unlink(dir, dirGen, name) {
    this._remove(dir, dirGen, name, false);
  }

  /**
   * Remove an empty directory.
   * @throws {PoolError} ENOENT, ENOTDIR, ENOTEMPTY, EBUSY (root)
   */
  rmdir(dir, dirGen, name) {
    this._remove(dir, dirGen, name, true);
  }

  _remove(dir, dirGen, name, wantDir) {
    const len = encodeName(name);
    const hash = NAME.hash;
    let note = null;
    this.tx.wlock();
    try {
      const db = this.inodes.liveDir(dir, dirGen);
      const v0 = this.v.u32[(db >>> 2) + L.I_DVER];
      const s = this.dirs.find(this.v.u32[(db >>> 2) + L.I_EXTENT], len, hash);
      if (s < 0) fail("ENOENT", `no entry ${JSON.stringify(name)}`);
      this._removeAt(db, s, name, wantDir);
      note = [v0, this.v.u32[(db >>> 2) + L.I_DVER]];
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
      if (note) this.lookups.applied(dir, dirGen, note[0], note[1], [name, null]);
    }
  }

  /** Remove the entry in slot s of directory record db. META write held, tx open. */
  _removeAt(db, s, name, wantDir) {
    const e = this.v.u32[(s >>> 2) + 1];
    const ino = this.v.u32[(e >>> 2) + L.DE_INO];
    const w = this.inodes.ib(ino) >>> 2;
    const isDir = isDirMode(this.v.u32[w + L.I_MODE]);
    if (wantDir && !isDir) fail("ENOTDIR", `${JSON.stringify(name)} is not a directory`);
    if (!wantDir && isDir) fail("EISDIR", `${JSON.stringify(name)} is a directory`);
    if (isDir) {
      if (ino === this.inodes.root) fail("EBUSY", "cannot remove the root");
      const t = this.v.u32[w + L.I_EXTENT];
      if (this.v.u32[(t >>> 2) + L.DT_COUNT] !== 0) fail("ENOTEMPTY", `${JSON.stringify(name)} is not empty`);
      this.tx.st((db >>> 2) + L.I_NLINK, this.v.u32[(db >>> 2) + L.I_NLINK] - 1);
      this.tx.st(w + L.I_DENTRY, 0);
    }
    this.dirs.remove(db, s);
    this.tx.stA(w + L.I_NLINK, 0);
    // (Its ctime only matters if it lives on: open somewhere.)
    if (Atomics.load(this.v.u32, w + L.I_OPEN) !== 0) this.inodes.touch(w * 4, false, true);
    this.inodes.touch(db, true, true);
    this.tx.st(L.SB_CHANGE, this.v.u32[L.SB_CHANGE] + 1);
    this.inodes.maybeFree(ino);
  }

  /**
   * Remove directory (ino, gen) from the directory that names it, if it still exists,
   * is named and is empty (a dot-lock whose owner died). META write held, transaction
   * open. @returns {boolean} whether it was removed
   */
  removeEmptyDirLocked(ino, gen) {
    const u32 = this.v.u32;
    if (!(ino > 0) || (ino >>> 10) >= u32[L.SB_INODE_CHUNKS] || ino === this.inodes.root) return false;
    const w = this.inodes.ib(ino) >>> 2;
    if (u32[w + L.I_GEN] !== gen || !isDirMode(u32[w + L.I_MODE]) || u32[w + L.I_NLINK] === 0) return false;
    if (u32[(u32[w + L.I_EXTENT] >>> 2) + L.DT_COUNT] !== 0) return false;
    const e = u32[w + L.I_DENTRY];
    const name = this.dirs.entryName(e);
    const len = encodeName(name);
    const db = this.inodes.ib(u32[w + L.I_PARENT]);
    const s = this.dirs.find(u32[(db >>> 2) + L.I_EXTENT], len, NAME.hash);
    if (s < 0 || u32[(s >>> 2) + 1] !== e) return false;
    this._removeAt(db, s, name, true);
    return true;
  }

  /**
   * Rename (oldDir, oldName) to (newDir, newName), replacing a file by a non-dir or
   * an empty directory by a directory, as POSIX rename(2).
   * @throws {PoolError} ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL (into itself),
   *   EBUSY (root), ENAMETOOLONG, ENOSPC
   */
  rename(oldDir, oldDirGen, oldName, newDir, newDirGen, newName) {
    return this.heap.deferringGrow(() => this._rename(oldDir, oldDirGen, oldName, newDir, newDirGen, newName));
  }

  _rename(oldDir, oldDirGen, oldName, newDir, newDirGen, newName) {
    const nlen = encodeName(newName);
    const nhash = NAME.hash;
    const newBytes = NAME.bytes.slice(0, nlen);
    const olen = encodeName(oldName);
    const ohash = NAME.hash;
    let note = null;
    this.tx.wlock();
    try {
      const u32 = this.v.u32;
      const odb = this.inodes.liveDir(oldDir, oldDirGen);
      const ndb = this.inodes.liveDir(newDir, newDirGen);
      const ov0 = u32[(odb >>> 2) + L.I_DVER];
      const nv0 = u32[(ndb >>> 2) + L.I_DVER];
      const os = this.dirs.find(u32[(odb >>> 2) + L.I_EXTENT], olen, ohash);
      if (os < 0) fail("ENOENT", `no entry ${JSON.stringify(oldName)}`);
      const oe = u32[(os >>> 2) + 1];
      const src = u32[(oe >>> 2) + L.DE_INO];
      const sw = this.inodes.ib(src) >>> 2;
      const srcDir = isDirMode(u32[sw + L.I_MODE]);
      if (u32[(ndb >>> 2) + L.I_NLINK] === 0) fail("ENOENT", "target directory was removed");
      if (srcDir) {
        if (src === this.inodes.root) fail("EBUSY", "cannot move the root");
        // newDir must not be src or inside it (checked first, as Linux does)
        for (let d = newDir, hops = 0; ; hops++) {
          if (d === src) fail("EINVAL", "cannot move a directory into itself");
          if (d === this.inodes.root || hops > 1 << 20) break;
          d = u32[(this.inodes.ib(d) >>> 2) + L.I_PARENT];
        }
      }
      NAME.bytes.set(newBytes);
      let ns = this.dirs.find(u32[(ndb >>> 2) + L.I_EXTENT], nlen, nhash);
      let dst = 0;
      if (ns >= 0) {
        const ne = u32[(ns >>> 2) + 1];
        dst = u32[(ne >>> 2) + L.DE_INO];
        if (dst === src) return; // same file: POSIX says do nothing
        const dmode = u32[(this.inodes.ib(dst) >>> 2) + L.I_MODE];
        if (srcDir && !isDirMode(dmode)) fail("ENOTDIR", `${JSON.stringify(newName)} is not a directory`);
        if (!srcDir && isDirMode(dmode)) fail("EISDIR", `${JSON.stringify(newName)} is a directory`);
        if (isDirMode(dmode)) {
          const t = u32[(this.inodes.ib(dst) >>> 2) + L.I_EXTENT];
          if (u32[(t >>> 2) + L.DT_COUNT] !== 0) fail("ENOTEMPTY", `${JSON.stringify(newName)} is not empty`);
        }
      }
      // Allocate first (new entry, maybe a bigger table); nothing is changed yet.
      if (ns < 0) {
        this.dirs.reserve(ndb);
        // No name replaced and the new name fits in the old entry's block: the entry
        // itself is renamed and moves to its new slot (no block made or freed).
        encodeName(oldName);
        const os1 = this.dirs.find(u32[(odb >>> 2) + L.I_EXTENT], olen, ohash);
        NAME.bytes.set(newBytes);
        ns = this.dirs.find(u32[(ndb >>> 2) + L.I_EXTENT], nlen, nhash);
        if (os1 < 0 || u32[(os1 >>> 2) + 1] !== oe) fail("EIO", "rename lost its entry (corrupt table)");
        if (ns < 0 && this.dirs.rename(oe, nlen, nhash)) {
          this.dirs.put(ndb, -1 - ns, nhash, oe);
          this.dirs.remove(odb, os1, true);
          this._renamed(srcDir, sw, src, oldDir, newDir, odb, ndb, oe);
          note = [ov0, u32[(odb >>> 2) + L.I_DVER], nv0, u32[(ndb >>> 2) + L.I_DVER], src, u32[sw + L.I_GEN]];
          return;
        }
      }
      NAME.bytes.set(newBytes);
      const ne = this.dirs.dentryAlloc(src, nlen, nhash);
      // Link the new name, dropping any replaced inode.
      if (ns >= 0) {
        const old = u32[(ns >>> 2) + 1];
        this.dirs.replace(ndb, ns, ne);
        this.heap.free(old - L.HDR);
        const dwr = this.inodes.ib(dst) >>> 2;
        if (isDirMode(u32[dwr + L.I_MODE])) {
          this.tx.st((ndb >>> 2) + L.I_NLINK, u32[(ndb >>> 2) + L.I_NLINK] - 1);
          this.tx.st(dwr + L.I_DENTRY, 0);
        }
        this.tx.stA(dwr + L.I_NLINK, 0);
        this.inodes.touch(this.inodes.ib(dst), false, true);
        this.inodes.maybeFree(dst);
      } else {
        this.dirs.put(ndb, -1 - ns, nhash, ne);
      }
      // Unlink the old name. (Find it again: the table may have moved.)
      NAME.bytes.set(encodeText(oldName));
      const os2 = this.dirs.find(u32[(odb >>> 2) + L.I_EXTENT], olen, ohash);
      const oe2 = u32[(os2 >>> 2) + 1];
      if (oe2 === ne) fail("EIO", "rename found its own new entry (corrupt table)");
      this.dirs.remove(odb, os2);
      this._renamed(srcDir, sw, src, oldDir, newDir, odb, ndb, ne);
      note = [ov0, u32[(odb >>> 2) + L.I_DVER], nv0, u32[(ndb >>> 2) + L.I_DVER], src, u32[sw + L.I_GEN]];
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
      if (note) {
        const ref = { ino: note[4], gen: note[5] };
        if (oldDir === newDir) {
          this.lookups.applied(oldDir, oldDirGen, note[0], note[1], [oldName, null, newName, ref]);
        } else {
          this.lookups.applied(oldDir, oldDirGen, note[0], note[1], [oldName, null]);
          this.lookups.applied(newDir, newDirGen, note[2], note[3], [newName, ref]);
        }
      }
    }
  }

  /** The rest of a rename once entry `ne` names `src` in its new directory. */
  _renamed(srcDir, sw, src, oldDir, newDir, odb, ndb, ne) {
    const u32 = this.v.u32;
    if (srcDir) {
      this.tx.st(sw + L.I_DENTRY, ne);
      if (oldDir !== newDir) {
        this.tx.st(sw + L.I_PARENT, newDir);
        this.tx.st((odb >>> 2) + L.I_NLINK, u32[(odb >>> 2) + L.I_NLINK] - 1);
        this.tx.st((ndb >>> 2) + L.I_NLINK, u32[(ndb >>> 2) + L.I_NLINK] + 1);
      }
    }
    this.inodes.touch(sw * 4, false, true);
    this.inodes.touch(odb, true, true);
    if (ndb !== odb) this.inodes.touch(ndb, true, true);
    this.tx.st(L.SB_CHANGE, u32[L.SB_CHANGE] + 1);
  }

  /**
   * Names in directory (ino, gen), without "." and "..". META read lock.
   * @throws {PoolError} ENOENT, ENOTDIR
   */
  readdir(ino, gen) {
    const known = this.lookups.list(ino, gen);
    if (known !== undefined) return known;
    this.tx.rlock();
    try {
      const db = this.inodes.liveDir(ino, gen);
      const { names, refs } = this.dirs.entries(this.v.u32[(db >>> 2) + L.I_EXTENT]);
      this.lookups.putList(ino, gen, this.v.u32[(db >>> 2) + L.I_DVER], names, refs);
      return names.slice();
    } finally {
      this.tx.runlock();
    }
  }

  /**
   * Names in directory (ino, gen) with the handle and mode of each, read in one pass
   * under one META read lock (what readdir with d_ino and d_type needs). The arrays may
   * be shared with later calls: do not change them. Modes are right as to the file type;
   * permission bits may be older (a chmod is not a namespace change). `change` is the
   * namespace change count (changeCount) the listing is true for.
   * @returns {Listing}
   * @throws {PoolError} ENOENT, ENOTDIR
   */
  readdirPlus(ino, gen) {
    this.tx.rlock();
    try {
      const db = this.inodes.liveDir(ino, gen);
      const u32 = this.v.u32;
      // A listing of this instance stays true while no namespace change happened in
      // the pool (SB_CHANGE counts them; an undone transaction restores it with the
      // entries), so repeated listings of a quiet tree decode nothing.
      const change = u32[L.SB_CHANGE];
      const hit = this._listings.get(ino);
      if (hit && hit.gen === gen && hit.change === change) return hit.out;
      const { names, refs } = this.dirs.entries(u32[(db >>> 2) + L.I_EXTENT]);
      /** @type {Listing} */
      const out = { names, inos: [], gens: [], modes: [], change };
      for (const r of refs) {
        out.inos.push(r.ino);
        out.gens.push(r.gen);
        out.modes.push(u32[(this.inodes.ib(r.ino) >>> 2) + L.I_MODE]);
      }
      if (this._listings.size >= LISTINGS) this._listings.delete(this._listings.keys().next().value);
      this._listings.set(ino, { gen, change, out });
      return out;
    } finally {
      this.tx.runlock();
    }
  }

  /**
   * Namespace changes so far in the whole pool (SB_CHANGE; no lock). While it stays the
   * same, no name was added, removed or renamed anywhere: a listing is still true.
   */
  changeCount() {
    return Atomics.load(this.v.u32, L.SB_CHANGE);
  }

  /** Target of symlink (ino, gen). @throws {PoolError} ENOENT, EINVAL (not a link) */
  readlink(ino, gen) {
    this.tx.rlock();
    try {
      const b = this.inodes.live(ino, gen);
      const w = b >>> 2;
      if (!isLnkMode(this.v.u32[w + L.I_MODE])) fail("EINVAL", `inode ${ino} is not a symlink`);
      return decodeBytes(this.v.u8, this.v.u32[w + L.I_EXTENT], this.v.u32[w + L.I_SIZE]);
    } finally {
      this.tx.runlock();
    }
  }

  /**
   * Attributes of (ino, gen). Sizes in bytes, times in ms. No lock when no transaction
   * or compaction round overlaps the reads (TXSEQ and MOVES even and unchanged), else
   * under the META read lock.
   * @returns {{ino, mode, nlink, size, atime, mtime, ctime}}
   * @throws {PoolError} ENOENT (stale handle)
   */
  getattr(ino, gen) {
    const u32 = this.v.u32;
    const seq = Atomics.load(u32, L.SB_TXSEQ);
    const moves = Atomics.load(u32, L.SB_MOVES);
    const k = ino >>> 10;
    if (!((seq | moves) & 1) && ino > 0 && k < Atomics.load(u32, L.SB_INODE_CHUNKS)) {
      const b = u32[L.SB_CHUNK_DIR + k] + (ino & 1023) * L.INODE_BYTES;
      if (b + L.INODE_BYTES <= this.v.bytes) {
        const w = b >>> 2;
        const f = b >>> 3;
        const f64 = this.v.f64;
        const mode = u32[w + L.I_MODE];
        const g = u32[w + L.I_GEN];
        const a = {
          ino,
          mode,
          nlink: u32[w + L.I_NLINK],
          size: u32[w + L.I_SIZE],
          atime: f64[f + L.I_ATIME],
          mtime: f64[f + L.I_MTIME],
          ctime: f64[f + L.I_CTIME],
        };
        // Content writes store SIZE and the times under the file's stripe only, so
        // they may land in between, as they may under META: the answer is one a
        // reader under META could have had.
        if (Atomics.load(u32, L.SB_TXSEQ) === seq && Atomics.load(u32, L.SB_MOVES) === moves &&
            mode !== 0 && g === gen) {
          return a;
        }
      }
    }
    return this._getattrLocked(ino, gen);
  }

  _getattrLocked(ino, gen) {
    this.tx.rlock();
    try {
      const b = this.inodes.live(ino, gen);
      const w = b >>> 2;
      const f = b >>> 3;
      const u32 = this.v.u32;
      return {
        ino,
        mode: u32[w + L.I_MODE],
        nlink: u32[w + L.I_NLINK],
        size: u32[w + L.I_SIZE],
        atime: this.v.f64[f + L.I_ATIME],
        mtime: this.v.f64[f + L.I_MTIME],
        ctime: this.v.f64[f + L.I_CTIME],
      };
    } finally {
      this.tx.runlock();
    }
  }

  /** Current mode of (ino, gen), or 0 if the handle is stale. META read lock. */
  modeOf(ino, gen) {
    this.tx.rlock();
    try {
      const w = this.inodes.ib(ino) >>> 2;
      return this.v.u32[w + L.I_GEN] === gen ? this.v.u32[w + L.I_MODE] : 0;
    } finally {
      this.tx.runlock();
    }
  }

  /**
   * Set mode permission bits and/or times (ms). META write lock.
   * @param {{mode?:number, atime?:number, mtime?:number, ctime?:number}} attr
   * @throws {PoolError} ENOENT
   */
  setattr(ino, gen, attr) {
    this.tx.wlock();
    try {
      const b = this.inodes.live(ino, gen);
      const w = b >>> 2;
      const f = b >>> 3;
      if (attr.mode != null) {
        const cur = this.v.u32[w + L.I_MODE];
        this.tx.stA(w + L.I_MODE, ((cur & L.S_IFMT) | (attr.mode & 0o7777)) >>> 0);
      }
      if (attr.atime != null) this.tx.stf(f + L.I_ATIME, +attr.atime);
      if (attr.mtime != null) this.tx.stf(f + L.I_MTIME, +attr.mtime);
      this.tx.stf(f + L.I_CTIME, attr.ctime != null ? +attr.ctime : Date.now());
    } catch (err) {
      this.tx.abort();
      throw err;
    } finally {
      this.tx.wunlock();
    }
  }

  /**
   * Path of directory (ino, gen) from the root, by PARENT/DENTRY links, e.g. "/a/b";
   * null if it was removed. META read lock.
   */
  dirPath(ino, gen) {
    this.tx.rlock();
    try {
      const w0 = this.inodes.ib(ino) >>> 2;
      if (this.v.u32[w0 + L.I_GEN] !== gen || !isDirMode(this.v.u32[w0 + L.I_MODE])) return null;
      const parts = [];
      let d = ino;
      for (let hops = 0; d !== this.inodes.root; hops++) {
        const w = this.inodes.ib(d) >>> 2;
        const e = this.v.u32[w + L.I_DENTRY];
        if (!e || this.v.u32[w + L.I_NLINK] === 0 || hops > 4096) return null;
        parts.push(this.dirs.entryName(e));
        d = this.v.u32[w + L.I_PARENT];
      }
      return "/" + parts.reverse().join("/");
    } finally {
      this.tx.runlock();
    }
  }
}
