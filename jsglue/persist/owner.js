// jsglue/persist/owner.js — one writer per persisted pool: whoever opens it for writing
// holds its ownership until close() or until it dies. Browsers: a Web Lock named after
// the pool (navigator.locks; the browser drops it when the tab or worker goes away).
// Node: a lock file in the pool directory naming the process; one whose process no longer
// runs is stale and is taken over. No pool code, no pool locks.
import { PoolError } from "../errors.js";
import { sharedWebLocks } from "../weblocks.js";

/** @typedef {{release: () => Promise<void>}} Ownership */

/** Pools held by this thread, by key (also guards stores without a lock of their own). */
const heldHere = new Set();

/**
 * Take the ownership of persisted pool `key`, or fail at once.
 * @param {string} key e.g. "opfs:analysis" or the directory path
 * @param {import("./stores.js").Store} store
 * @returns {Promise<Ownership>}
 * @throws {PoolError} EBUSY: another tab, worker or process has it open for writing
 */
export async function takeOwnership(key, store) {
  const busy = (who) => new PoolError("EBUSY", `the pool ${store.where} is already open for writing ${who}; ` +
    "close it there first (Python: await pool.close(); JavaScript: pool.closeStorage()), or attach to its Memory instead", "OSError");
  if (heldHere.has(key)) throw busy("in this thread");
  const wl = sharedWebLocks();
  let release;
  if (/** @type {any} */ (store).fs) {
    // node (also node 24, whose Web Locks do not reach other processes)
    release = await lockFile(/** @type {any} */ (store), busy);
  } else if (wl) {
    release = await webLock(`extmemfs-pool:${key}`, wl);
    if (!release) throw busy("in another tab or worker");
  } else {
    release = async () => {};
  }
  heldHere.add(key);
  return {
    release: async () => {
      if (!heldHere.delete(key)) return;
      await release();
    },
  };
}

/** Hold Web Lock `name` until the returned function is called; null if it is taken. */
function webLock(name, locks) {
  return new Promise((resolve, reject) => {
    locks.request(name, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(null);
        return undefined;
      }
      return new Promise((/** @type {(v?: any) => void} */ done) => resolve(async () => done()));
    }).catch(reject);
  });
}

/**
 * A lock file that cannot be read as a holder this long after it was last written is
 * stale: its process died between creating it and writing its few bytes (killed while
 * opening the pool). Writing it takes microseconds; a reader sees it half-written only
 * in that moment.
 */
const UNREADABLE_STALE_MS = 1000;

/** Node: an O_EXCL lock file naming this process; a stale one is taken over. */
async function lockFile(store, busy) {
  const fs = store.fs;
  const file = store.path.join(store.dir, "owner.lock");
  const os = await import("node:os");
  const process = (await import("node:process")).default;
  const me = JSON.stringify({ pid: process.pid, host: os.hostname(), since: Date.now() });
  for (let attempt = 0, unreadableSince = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, me, { flag: "wx" });
      return async () => {
        try {
          if (fs.readFileSync(file, "utf8") === me) fs.unlinkSync(file);
        } catch (e) {
          // gone already
        }
      };
    } catch (e) {
      if (e.code !== "EEXIST") throw new PoolError(e.code || "EIO", `cannot lock ${file}: ${e.message}`, "OSError");
    }
    let holder;
    let written = 0;
    try {
      written = fs.statSync(file).mtimeMs;
      holder = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      holder = null; // half-written or removed meanwhile: try again
    }
    if (holder && holder.host === os.hostname() && alive(process, holder.pid)) {
      throw busy(holder.pid === process.pid ? "in this process" : `by process ${holder.pid}`);
    }
    if (!holder && written) {
      // Unreadable: being written this moment, or left so by a process that died
      // writing it. Wait until it is readable or old enough to be stale.
      // (Our own watch bounds the wait if the file's time is off.)
      const now = Date.now();
      unreadableSince ||= now;
      if (now - written < UNREADABLE_STALE_MS && now - unreadableSince < UNREADABLE_STALE_MS) {
        await new Promise((r) => setTimeout(r, 20));
        attempt--;
        continue;
      }
    }
    if (holder || written) {
      try {
        fs.unlinkSync(file); // stale: its process is gone
      } catch (e) {
        // someone else took it over first: try again
      }
    }
  }
  throw busy("by another process (its lock file keeps changing)");
}

function alive(process, pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}
