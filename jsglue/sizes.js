// jsglue/sizes.js — byte sizes as JavaScript hosts and Python write them ("64MiB",
// "1.5 GiB", 1 << 30). The same grammar as pyodide_extmemfs/_sizes.py (a test keeps the
// two in step). Touches nothing; no locks.
import { L } from "./layout.js";
import { fail } from "./errors.js";

/** Smallest pool in bytes: two 64 KiB pages (superblock, tables and a first heap block). */
export const MIN_POOL_BYTES = 2 * L.PAGE;
/** Largest pool in bytes: a wasm32 Memory holds at most 65536 pages of 64 KiB. */
export const MAX_POOL_BYTES = L.MAX_MEMORY_PAGES * L.PAGE;

/** @type {Record<string, number>} */
const UNITS = {
  "": 1,
  b: 1,
  k: 2 ** 10,
  kib: 2 ** 10,
  kb: 1e3,
  m: 2 ** 20,
  mib: 2 ** 20,
  mb: 1e6,
  g: 2 ** 30,
  gib: 2 ** 30,
  gb: 1e9,
};
const SIZE_RE = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$/;
const ACCEPTED = `a whole number of bytes from ${MIN_POOL_BYTES} (128 KiB) to ${MAX_POOL_BYTES} ` +
  "(4 GiB), as a number or a string such as '64MiB', '512 KiB', '1.5GiB', '100MB'";

/**
 * A size in bytes: a number (bytes) or a string — a number and an optional unit B,
 * KiB/K, MiB/M, GiB/G (powers of 1024) or KB, MB, GB (powers of 1000), any case.
 * @param {number | string} value
 * @param {string} [what] the name used in error messages
 * @returns {number} bytes, within MIN_POOL_BYTES .. MAX_POOL_BYTES
 * @throws {import("./errors.js").PoolError} EINVAL: unparsable, fractional bytes, out of
 *   range (Python raises ValueError), or neither a number nor a string (TypeError)
 */
export function parseSize(value, what = "size") {
  let bytes;
  if (typeof value === "string") {
    const m = SIZE_RE.exec(value);
    const unit = m ? m[2].toLowerCase() : "";
    if (!m || !(unit in UNITS)) fail("EINVAL", `cannot parse ${what} ${JSON.stringify(value)}; ${ACCEPTED}`);
    bytes = m[1].includes(".") ? parseFloat(m[1]) * UNITS[unit] : parseInt(m[1], 10) * UNITS[unit];
    if (bytes !== Math.floor(bytes)) {
      fail("EINVAL", `${what} ${JSON.stringify(value)} is not a whole number of bytes; ${ACCEPTED}`);
    }
  } else if (typeof value === "number") {
    if (!Number.isFinite(value) || value !== Math.floor(value)) {
      fail("EINVAL", `${what} ${value} is not a whole number of bytes; ${ACCEPTED}`);
    }
    bytes = value;
  } else {
    fail("EINVAL", `${what} must be a number or a string, not ${value === null ? "null" : typeof value}; ` +
      ACCEPTED, "TypeError");
  }
  if (bytes < MIN_POOL_BYTES || bytes > MAX_POOL_BYTES) {
    fail("EINVAL", `${what} ${typeof value === "string" ? JSON.stringify(value) : value} is out of ` +
      `range; ${ACCEPTED}`);
  }
  return bytes;
}
