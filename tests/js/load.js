// Load the jsglue modules in plain node, the same way the Python package does:
// evaluate each file (a function expression) and call it with the modules so far.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const dir = path.join(__dirname, "..", "..", "jsglue");

function loadJsglue(upTo = "pool") {
  const { modules: order } = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  const mods = {};
  for (const name of order) {
    const file = path.join(dir, `${name}.js`);
    // Indirect eval in this (main) context, named for stack traces; unlike a vm
    // script it may use import() (workers.js imports node:worker_threads).
    const factory = (0, eval)(`${fs.readFileSync(file, "utf8")}\n//# sourceURL=${file}\n`);
    mods[name] = factory(mods);
    if (name === upTo) break;
  }
  return mods;
}

/** `n` pseudo-random bytes (xorshift), the same for the same seed: test file content. */
function bytes(n, seed) {
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

module.exports = { loadJsglue, bytes };
