// Load the jsglue modules in plain node, the same way the Python package does:
// evaluate each file (a function expression) and call it with the modules so far.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const dir = path.join(__dirname, "..", "..", "jsglue");

function loadJsglue(upTo = "pool") {
  const { modules: order } = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  const mods = {};
  for (const name of order) {
    const file = path.join(dir, `${name}.js`);
    const factory = vm.runInThisContext(fs.readFileSync(file, "utf8"), { filename: file });
    mods[name] = factory(mods);
    if (name === upTo) break;
  }
  return mods;
}

module.exports = { loadJsglue };
