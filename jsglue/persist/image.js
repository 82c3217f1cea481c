// jsglue/persist/image.js — a whole pool in one file (format.js: "Image file"): save a
// consistent image to a writer, a file handle or a node path; read one back into a new
// Memory. Locks: save pauses the pool (every lock) while it copies the pages aside; the
// writing happens after the pause.
import { L } from "../layout.js";
import { PoolError } from "../errors.js";
import * as F from "./format.js";
import { newMemory, loadPages } from "./persister.js";

const PAGE = F.PAGE;
const CHUNK = 16 << 20;

/**
 * A destination for an image: a function given each chunk in order (may return a
 * promise), a FileSystemFileHandle, a writable stream (write/close), or — in node — a
 * host file path.
 * @typedef {((bytes: Uint8Array) => any) | {createWritable: Function} |
 *   {write: Function, close: Function} | string} ImageTarget
 */

/**
 * Write a consistent image of `pool` to `target`.
 * @param {any} pool
 * @param {ImageTarget} target
 * @returns {Promise<{bytes: number, pages: number, pause_ms: number, ms: number}>}
 * @throws {PoolError} EINVAL (an unknown kind of target); storage errors (ENOSPC, EIO) —
 *   a partly written target is not a valid image (loadPool refuses it)
 */
export async function saveImage(pool, target) {
  const t0 = performance.now();
  const sink = await sinkFor(target);
  /** @type {Uint8Array[]} */
  const chunks = [];
  let pages;
  let maxPages;
  const info = pool.pause();
  let pauseMs;
  try {
    pages = info.pages;
    maxPages = info.maxPages;
    for (let off = 0; off < pages * PAGE; off += CHUNK) {
      chunks.push(info.u8.slice(off, Math.min(pages * PAGE, off + CHUNK)));
    }
  } finally {
    pauseMs = pool.resume();
  }
  // The image is a new start: nothing it holds needs a later sync to be complete.
  const hashes = new Uint32Array(pages);
  let p = 0;
  for (const c of chunks) for (let k = 0; k < c.length / PAGE; k++) hashes[p++] = F.hashBytes(c, k * PAGE, PAGE);
  const sums = F.encodeSums(hashes, pages, []);
  const rec = F.encodeRecord({
    layout: L.VERSION, gen: 1, slot: 0, pages, maxPages, sumHash: F.hashBytes(sums, 0, sums.length),
    sumBytes: sums.length, time: Date.now(),
  });
  const dataAt = F.imageDataOffset(sums.length);
  const front = new Uint8Array(dataAt);
  front.set(rec, 0);
  front.set(sums, F.IMAGE_DATA_ALIGN);
  try {
    await sink.write(front);
    for (const c of chunks) await sink.write(c);
    await sink.close();
  } catch (e) {
    if (e instanceof PoolError) throw e;
    throw new PoolError((e && e.code) === "ENOSPC" || (e && e.name) === "QuotaExceededError" ? "ENOSPC" : "EIO",
      `cannot write the pool image: ${(e && e.message) || e}`, "OSError");
  }
  return { bytes: dataAt + pages * PAGE, pages, pause_ms: pauseMs, ms: performance.now() - t0 };
}

/** A writer over any ImageTarget: {write(bytes), close()}. */
async function sinkFor(target) {
  if (typeof target === "function") return { write: async (b) => target(b), close: async () => {} };
  if (typeof target === "string") {
    const fs = await import("node:fs");
    let fd;
    try {
      fd = fs.openSync(target, "w");
    } catch (e) {
      throw new PoolError(e.code || "EIO", `cannot create ${target}: ${e.message}`, "OSError");
    }
    let at = 0;
    return {
      write: async (b) => {
        for (let done = 0; done < b.length;) done += fs.writeSync(fd, b, done, b.length - done, at + done);
        at += b.length;
      },
      close: async () => {
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      },
    };
  }
  if (target && typeof (/** @type {any} */ (target).createWritable) === "function") {
    const w = await /** @type {any} */ (target).createWritable();
    return { write: (b) => w.write(b), close: () => w.close() };
  }
  if (target && typeof (/** @type {any} */ (target).write) === "function") {
    const t = /** @type {any} */ (target);
    return { write: (b) => t.write(b), close: async () => t.close && t.close() };
  }
  throw new PoolError("EINVAL", "a pool image goes to a function, a FileSystemFileHandle, a writable " +
    `stream or (node) a file path; got ${Object.prototype.toString.call(target)}`, "TypeError");
}

/**
 * Read an image into a new shared Memory (checked page by page).
 * @param {Uint8Array | ArrayBuffer | Blob | {getFile: Function} | string} source bytes, a
 *   Blob or File, a FileSystemFileHandle, or (node) a file path
 * @param {{maximumSize?: number | string}} [opts] raise the maximum above the image's
 * @returns {Promise<WebAssembly.Memory>}
 * @throws {PoolError} EINVAL (ValueError): not an image, truncated, damaged, another
 *   layout version; ENOMEM
 */
export async function readImage(source, opts = {}) {
  const src = await sourceFor(source);
  try {
    return await readFrom(src, opts);
  } finally {
    src.close();
  }
}

async function readFrom(src, opts) {
  const bad = (why) => new PoolError("EINVAL", `not a usable extmemfs pool image: ${why}`);
  const front = new Uint8Array(F.IMAGE_DATA_ALIGN);
  const got = await src.read(0, front);
  const { record: rec, problem } = F.decodeRecord(front.subarray(0, got));
  if (!rec) throw bad(problem || "empty header");
  if (rec.layout !== L.VERSION && !L.UPGRADABLE.includes(rec.layout)) {
    throw bad(`it was saved with pool layout version ${rec.layout}; this extmemfs reads version ${L.VERSION}`);
  }
  const sumBytes = new Uint8Array(rec.sumBytes);
  if ((await src.read(F.IMAGE_DATA_ALIGN, sumBytes)) < rec.sumBytes) throw bad("truncated page table");
  let sums;
  try {
    sums = F.decodeSums(sumBytes, rec);
  } catch (e) {
    throw bad(e.message);
  }
  const dataAt = F.imageDataOffset(rec.sumBytes);
  if (src.size < dataAt + rec.pages * PAGE) {
    throw bad(`truncated (${src.size} of ${dataAt + rec.pages * PAGE} bytes)`);
  }
  let maxPages = rec.maxPages;
  if (opts.maximumSize != null) {
    const { parseSize } = await import("../sizes.js");
    maxPages = Math.max(rec.pages, Math.ceil(parseSize(opts.maximumSize, "maximum size") / PAGE));
  }
  const memory = newMemory(rec.pages, maxPages);
  await loadPages(memory, rec.pages, (off, into) => src.read(dataAt + off, into), sums.hashes, (p) => {
    throw bad(`page ${p} does not match its checksum (damaged)`);
  });
  if (maxPages !== rec.maxPages) new Uint32Array(memory.buffer)[L.SB_MAX_PAGES] = maxPages;
  return memory;
}

/** A reader over any image source: {size, read(off, into) → bytes read, close()}. */
async function sourceFor(source) {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    const u8 = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return {
      size: u8.length,
      read: async (off, into) => {
        const n = Math.max(0, Math.min(into.length, u8.length - off));
        into.set(u8.subarray(off, off + n));
        return n;
      },
      close: () => {},
    };
  }
  if (source && typeof (/** @type {any} */ (source).getFile) === "function") {
    source = await /** @type {any} */ (source).getFile();
  }
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    const blob = source;
    return {
      size: blob.size,
      read: async (off, into) => {
        const b = new Uint8Array(await blob.slice(off, off + into.length).arrayBuffer());
        into.set(b);
        return b.length;
      },
      close: () => {},
    };
  }
  if (typeof source === "string") {
    const fs = await import("node:fs");
    let fd;
    try {
      fd = fs.openSync(source, "r");
    } catch (e) {
      throw new PoolError(e.code || "EIO", `cannot open ${source}: ${e.message}`, "OSError");
    }
    const size = fs.fstatSync(fd).size;
    return {
      size,
      read: async (off, into) => {
        let done = 0;
        while (done < into.length) {
          const n = fs.readSync(fd, into, done, into.length - done, off + done);
          if (!n) break;
          done += n;
        }
        return done;
      },
      close: () => fs.closeSync(fd),
    };
  }
  throw new PoolError("EINVAL", "a pool image comes from bytes, a Blob or File, a FileSystemFileHandle or " +
    `(node) a file path; got ${Object.prototype.toString.call(source)}`, "TypeError");
}
