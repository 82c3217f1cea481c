// Helpers shared by the plain-node tests: where jsglue is, and test data.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** file: URL of the public entry jsglue/index.js, for workers to import(). */
export const JSGLUE = pathToFileURL(path.join(ROOT, "jsglue", "index.js")).href;

/** `n` pseudo-random bytes (xorshift), the same for the same seed: test file content. */
export function bytes(n, seed) {
  const a = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = x & 0xff;
  }
  return a;
}

/** FNV-1a hash of bytes[start, start + len): a short fingerprint of file content. */
export function fnv1a(bytes, start = 0, len = bytes.length) {
  let h = 0x811c9dc5;
  for (let i = start, end = start + len; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** A seeded xorshift32 generator: `r(n)` is a whole number in [0, n). */
export function rng(seed) {
  let s = seed | 1;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}
