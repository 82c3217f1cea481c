// demo/browser/page.js — the live view. This page's Pyodide runs demo/browser/churn.py,
// which creates the pool, mounts it at /shared and starts xmfs.Workers; the page itself
// only looks: pool.blockMap() for the map, pool.stats(), pool.instances() for the locks,
// and the workers' status files and the tree through its own mount of the pool.
// When the run is over it sets window.extmemfsDemo = {done: true, ok, check, ...}.
import { loadPyodide } from "../../build/dist/pyodide.mjs";

const COLS = 128;
const ROWS = 32;
const CELLS = COLS * ROWS;
const RENDER_MS = 200; // numbers and map, 5 times a second
const LOCK_SAMPLE_MS = 20; // pool.instances(), to catch locks held for a moment
const MOUNT = "/shared";

/** Kinds of the block map (Pool.blockMap: codes 0 .. 7), in legend order. */
const KINDS = [
  { code: 4, name: "data", label: "file data", color: "#3577e5" },
  { code: 2, name: "dirtab", label: "directory tables", color: "#17a673" },
  { code: 3, name: "dentry", label: "directory entries", color: "#8bc34a" },
  { code: 1, name: "inodes", label: "inode chunks", color: "#f2a516" },
  { code: 5, name: "pins", label: "open-file pins", color: "#e0508a" },
  { code: 6, name: "flocks", label: "file-lock table", color: "#9c5bd6" },
  { code: 7, name: "fixed", label: "superblock, locks, instance table, undo log", color: "#4b5a70" },
  { code: 0, name: "free", label: "free", color: "#dfe4eb" },
];
const COLOR = new Map(KINDS.map((k) => [k.code, k.color]));
// Small metadata blocks cover little of a cell: a cell that holds any shows it.
const SHOW_FIRST = [6, 5, 3, 2, 1];
const UNRESERVED = "#f6f7f9";
const UNWALKED = "#f2b3b3";

const params = new URLSearchParams(location.search);
const options = {};
for (const key of ["workers", "rounds", "pause", "max_file"]) {
  if (params.has(key)) options[key] = Number(params.get(key));
}
for (const key of ["maximum", "initial"]) if (params.has(key)) options[key] = params.get(key);

const $ = (id) => document.getElementById(id);
const state = { done: false };
globalThis.extmemfsDemo = state;
const t0 = performance.now();
const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);

// ---- formatting -------------------------------------------------------------------
function fmtBytes(n) {
  const units = [[1 << 30, "GiB"], [1 << 20, "MiB"], [1024, "KiB"]];
  for (const [size, unit] of units) {
    if (n >= size) {
      const v = n / size;
      return `${v.toFixed(v >= 100 ? 0 : 1)} ${unit}`;
    }
  }
  return `${n} B`;
}
const fmtInt = (n) => Number(n).toLocaleString("en-US");
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// ---- phase and events ---------------------------------------------------------------
function setPhase(text, cls = "") {
  const p = $("phase");
  p.textContent = text;
  p.className = `phase ${cls}`;
  state.phase = text;
}
function event(text) {
  const list = $("events");
  list.prepend(el("li", {}, el("span", { class: "t" }, `${seconds()} s`), text));
  while (list.children.length > 60) list.lastChild.remove();
}

// ---- the pool view -----------------------------------------------------------------
class View {
  constructor(pool, workers, pyodide) {
    this.pool = pool;
    this.workers = workers;
    this.FS = pyodide.FS;
    this.canvas = $("map");
    this.ctx = this.canvas.getContext("2d");
    this.sightings = new Map(); // instance id -> samples that saw it holding a lock
    this.lastLock = new Map(); // instance id -> the locks of its last sighting
    this.instances = [];
    this.known = new Map(); // every instance ever seen: id -> its last entry
    this.last = { size: 0, compactions: 0, bytes: 0, t: performance.now() };
    this.rate = 0;
    this.runSeconds = 0; // set when the run is over
    this.stats = {
      renders: 0,
      lockSamples: 0,
      lockSightings: 0,
      maxSampleMs: 0,
      fileCounts: new Set(),
      kindsDrawn: new Set(),
      renderErrors: [],
    };
    this.cards = {};
    this.buildLegend();
    this.buildCards();
    this.lockTimer = setInterval(() => this.sampleLocks(), LOCK_SAMPLE_MS);
    this.renderTimer = setInterval(() => this.render(), RENDER_MS);
    this.render();
  }

  stop() {
    clearInterval(this.lockTimer);
    clearInterval(this.renderTimer);
  }

  buildLegend() {
    const ul = $("legend");
    this.legendValues = new Map();
    for (const k of KINDS) {
      const val = el("span", { class: "val" }, "");
      this.legendValues.set(k.name, val);
      ul.append(el("li", {}, el("span", { class: "sw", style: `background:${k.color}` }), k.label, val));
    }
    ul.append(el("li", {}, el("span", { class: "sw", style: `background:${UNRESERVED}` }),
      "not reserved yet (room to grow)"));
  }

  buildCards() {
    const defs = [
      ["files", "files"],
      ["data", "live file data"],
      ["size", "pool size"],
      ["free", "free in the pool"],
      ["compactions", "compactions"],
      ["rate", "written by workers"],
      ["verified", "verified reads"],
      ["copies", "parallel copies"],
    ];
    for (const [key, label] of defs) {
      const value = el("div", { class: "value" }, "–");
      const sub = el("div", { class: "sub" }, "");
      const card = el("div", { class: "card", "data-card": key }, el("div", { class: "label" }, label), value, sub);
      $("cards").append(card);
      this.cards[key] = { card, value, sub };
    }
  }

  card(key, value, sub = "") {
    const c = this.cards[key];
    c.value.textContent = value;
    c.sub.textContent = sub;
  }

  flash(key) {
    const c = this.cards[key].card;
    c.classList.add("flash");
    setTimeout(() => c.classList.remove("flash"), 900);
  }

  sampleLocks() {
    const t = performance.now();
    try {
      this.instances = this.pool.instances();
    } catch {
      return; // detached at the very end
    }
    this.stats.lockSamples++;
    for (const inst of this.instances) this.known.set(inst.id, inst);
    for (const inst of this.instances) {
      if (inst.holds.length === 0) continue;
      this.sightings.set(inst.id, (this.sightings.get(inst.id) || 0) + 1);
      this.lastLock.set(inst.id, inst.holds.join(", "));
      this.stats.lockSightings++;
    }
    this.stats.maxSampleMs = Math.max(this.stats.maxSampleMs, performance.now() - t);
  }

  readStatus() {
    const out = [];
    for (let i = 0; i < this.workers; i++) {
      try {
        out.push(JSON.parse(this.FS.readFile(`${MOUNT}/status/w${i}.json`, { encoding: "utf8" })));
      } catch {
        out.push(null); // not written yet
      }
    }
    return out;
  }

  readTree() {
    const names = (d) => this.FS.readdir(`${MOUNT}/${d}`).filter((n) => n !== "." && n !== "..");
    const log = this.FS.readFile(`${MOUNT}/log.txt`);
    let lines = 0;
    for (let i = 0; i < log.length; i++) if (log[i] === 10) lines++;
    return { work: names("work").length, done: names("done").length, status: names("status").length,
      logBytes: log.length, logLines: lines };
  }

  render() {
    try {
      this.renderOnce();
    } catch (e) {
      if (this.stats.renderErrors.length < 5) this.stats.renderErrors.push(String(e && e.stack || e));
    }
  }

  renderOnce() {
    const t = performance.now();
    const s = this.pool.stats();
    const reserved = Math.max(1, Math.min(CELLS, Math.round((CELLS * s.size) / s.maximum_size)));
    const map = this.pool.blockMap(reserved);
    this.stats.maxSampleMs = Math.max(this.stats.maxSampleMs, performance.now() - t);
    this.stats.renders++;
    this.drawMap(map, reserved);
    for (const k of KINDS) {
      this.legendValues.get(k.name).textContent = `${fmtBytes(map.bytes[k.name])}` +
        (k.name === "fixed" ? "" : ` · ${fmtInt(map.count[k.name])}`);
    }
    $("growth-fill").style.width = `${(100 * s.size) / s.maximum_size}%`;
    $("growth-text").textContent = `${fmtBytes(s.size)} of at most ${fmtBytes(s.maximum_size)} reserved`;
    $("map-scale").textContent = `one cell = ${fmtBytes(Math.round(s.maximum_size / CELLS))}; ` +
      `${fmtInt(map.walked)} heap blocks`;

    if (s.size !== this.last.size && this.last.size) event(`the pool grew to ${fmtBytes(s.size)}`);
    if (s.compactions !== this.last.compactions) {
      event(`compaction #${s.compactions}: used blocks slid together, free space in one piece`);
      this.flash("compactions");
    }
    const status = this.readStatus();
    const written = status.reduce((a, w) => a + (w ? w.bytes : 0), 0);
    const now = performance.now();
    if (now - this.last.t >= 900) {
      this.rate = ((written - this.last.bytes) * 1000) / (now - this.last.t);
      this.last.bytes = written;
      this.last.t = now;
    }
    this.last.size = s.size;
    this.last.compactions = s.compactions;
    this.stats.fileCounts.add(s.files);

    this.card("files", fmtInt(s.files), `${fmtInt(s.directories)} directories · ${fmtInt(s.inodes)} inodes`);
    this.card("data", fmtBytes(map.bytes.data), `${fmtInt(map.count.data)} extents`);
    this.card("size", fmtBytes(s.size), `used ${fmtBytes(s.used_bytes)}`);
    this.card("free", fmtBytes(s.free_bytes), `largest gap ${fmtBytes(s.largest_free_extent)}`);
    this.card("compactions", fmtInt(s.compactions), "heap slid together instead of growing");
    if (this.runSeconds) { // the run is over: its average, not the last second's rate
      this.card("rate", `${fmtBytes(Math.round(written / this.runSeconds))}/s`,
        `${fmtBytes(written)} in ${this.runSeconds.toFixed(1)} s`);
    } else {
      this.card("rate", `${fmtBytes(Math.max(0, Math.round(this.rate)))}/s`, `${fmtBytes(written)} in all`);
    }
    const verified = status.reduce((a, w) => a + (w ? w.verified : 0), 0);
    const vbytes = status.reduce((a, w) => a + (w ? w.verified_bytes : 0), 0);
    this.card("verified", fmtInt(verified), `${fmtBytes(vbytes)} checked by sha256`);
    this.card("copies", fmtInt(s.peak_parallel_copies), "most bulk copies at once");

    this.renderWorkers(status);
    this.renderInstances();
    const tree = this.readTree();
    this.renderTree(tree);
    this.lastTree = tree;
    this.lastStatus = status;
  }

  drawMap(map, reserved) {
    const ctx = this.ctx;
    const w = this.canvas.width / COLS;
    const h = this.canvas.height / ROWS;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    for (let i = 0; i < CELLS; i++) {
      let color = UNRESERVED;
      if (i < reserved) {
        let k = map.kinds[i];
        const small = SHOW_FIRST.find((c) => map.present[i] & (1 << c));
        if (small !== undefined && k !== 6) k = small;
        if (k === 255) color = UNWALKED;
        else if (k === 0) color = COLOR.get(0);
        else color = mix(COLOR.get(0), COLOR.get(k), 0.45 + (0.55 * map.fill[i]) / 255);
        this.stats.kindsDrawn.add(k);
      }
      ctx.fillStyle = color;
      ctx.fillRect((i % COLS) * w, Math.floor(i / COLS) * h, w - 1, h - 1);
    }
  }

  renderWorkers(status) {
    const tbody = $("workers").tBodies[0];
    tbody.replaceChildren(...status.map((w, i) => {
      if (!w) return el("tr", {}, el("td", {}, `w${i}`), el("td", { colspan: 8, class: "now" }, "starting…"));
      const bar = el("div", { class: "bar" }, el("div", { style: `width:${(100 * w.round) / w.rounds}%` }));
      const round = el("td", {}, `${w.round}/${w.rounds}`, bar);
      return el("tr", {}, el("td", {}, `w${w.index}`), round, el("td", { class: "num" }, fmtInt(w.written)),
        el("td", { class: "num" }, fmtBytes(w.bytes)), el("td", { class: "num" }, fmtInt(w.appends)),
        el("td", { class: "num" }, fmtInt(w.renames)), el("td", { class: "num" }, fmtInt(w.verified)),
        el("td", { class: "num" }, fmtInt(w.deleted)), el("td", { class: "now" }, w.op));
    }));
  }

  renderInstances() {
    const tbody = $("instances").tBodies[0];
    const live = new Set(this.instances.map((i) => i.id));
    tbody.replaceChildren(...[...this.known.values()].map((inst) => {
      const gone = !live.has(inst.id);
      const who = inst.self ? el("span", { class: "tag page" }, "this page")
        : el("span", { class: "tag" }, gone ? "worker, closed" : "worker");
      const holds = el("td", {});
      for (const hname of gone ? [] : inst.holds) holds.append(el("span", { class: "tag lock" }, hname));
      if (gone || !inst.holds.length) holds.append("–");
      return el("tr", gone ? { class: "gone" } : {}, el("td", {}, inst.id), el("td", {}, inst.slot),
        el("td", {}, who), el("td", { class: "num" }, gone ? "–" : inst.open_pins), holds,
        el("td", { class: "num" }, fmtInt(this.sightings.get(inst.id) || 0)),
        el("td", { class: "now" }, this.lastLock.get(inst.id) || "–"));
    }));
  }

  renderTree(t) {
    const rows = [
      ["/shared/work/", `${fmtInt(t.work)} files being written`],
      ["/shared/done/", `${fmtInt(t.done)} finished files`],
      ["/shared/status/", `${fmtInt(t.status)} status files`],
      ["/shared/log.txt", `${fmtInt(t.logLines)} lines, ${fmtBytes(t.logBytes)} (O_APPEND from every worker)`],
    ];
    $("tree").tBodies[0].replaceChildren(...rows.map(([p, v]) => el("tr", {}, el("td", {}, el("code", {}, p)), el("td", {}, v))));
  }
}

function mix(a, b, f) {
  const pa = parseInt(a.slice(1), 16);
  const pb = parseInt(b.slice(1), 16);
  const ch = (p, s) => (p >> s) & 255;
  const c = (s) => Math.round(ch(pa, s) + (ch(pb, s) - ch(pa, s)) * f);
  return `rgb(${c(16)},${c(8)},${c(0)})`;
}

// ---- the run ------------------------------------------------------------------------
let view = null;
let pyodideRef = null;
const ui = {
  phase(text) {
    setPhase(text);
    event(text);
  },
  poolReady(pool, workers) {
    view = new View(pool, workers, pyodideRef);
    event(`pool created (${fmtBytes(pool.stats().size)}) and mounted at ${MOUNT}`);
  },
  finished(report) {
    state.report = report;
  },
};

function showResult(ok, html) {
  const r = $("result");
  r.className = `result ${ok ? "ok" : "bad"}`;
  r.replaceChildren(...html);
}

async function run() {
  if (!globalThis.crossOriginIsolated) {
    throw new Error("this page is not cross-origin isolated, so it has no SharedArrayBuffer: " +
      "serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: " +
      "require-corp (bash scripts/demo.sh --browser does)");
  }
  const indexURL = new URL("../../build/dist/", import.meta.url).href;
  const pyodide = await loadPyodide({ indexURL });
  pyodideRef = pyodide;
  setPhase(`Pyodide ${pyodide.version} loaded in ${seconds()} s; loading pyodide-extmemfs…`);
  await pyodide.loadPackage("pyodide-extmemfs", { messageCallback: () => {} });
  const src = await (await fetch(new URL("churn.py", import.meta.url))).text();
  pyodide.runPython(src, { filename: "churn.py" }); // as __main__: churn() goes by value
  pyodide.globals.set("ui", ui);
  pyodide.globals.set("options", pyodide.toPy(options));
  await pyodide.runPythonAsync("await main(ui, options)");
  return state.report.toJs ? state.report.toJs({ dict_converter: Object.fromEntries }) : state.report;
}

try {
  const report = await run();
  view.runSeconds = report.seconds;
  view.render(); // the final state
  view.stop();
  Object.assign(state, { ok: report.ok, check: [...report.check], report });
  const s = report.stats;
  setPhase(report.ok ? `done in ${seconds()} s — pool.check() == []` : "done — pool.check() found problems",
    report.ok ? "ok" : "bad");
  showResult(report.ok, [
    el("h2", {}, report.ok ? "✓ The pool is sound" : "✗ pool.check() found problems"),
    el("div", {}, `${report.workers.length} workers ran for ${report.seconds.toFixed(1)} s ` +
      `(start-up ${report.startup_seconds.toFixed(1)} s). ${fmtInt(report.files)} files ` +
      `(${fmtBytes(report.bytes)}) in /shared/done/ verified against the log's last version of each; ` +
      `${fmtInt(s.compactions)} compactions; pool ${fmtBytes(s.size)} of ${fmtBytes(s.maximum_size)}.`),
    el("pre", {}, `pool.check() → ${JSON.stringify(state.check)}`),
  ]);
  event(report.ok ? "pool.check() → [] : sound" : `pool.check() → ${state.check.length} problems`);
} catch (e) {
  state.ok = false;
  state.error = String((e && e.stack) || e);
  if (view) view.stop();
  setPhase("failed", "bad");
  showResult(false, [el("h2", {}, "✗ The demo failed"), el("pre", {}, state.error)]);
} finally {
  if (view) {
    state.ui = {
      renders: view.stats.renders,
      lockSamples: view.stats.lockSamples,
      lockSightings: view.stats.lockSightings,
      maxSampleMs: view.stats.maxSampleMs,
      fileCounts: view.stats.fileCounts.size,
      kindsDrawn: [...view.stats.kindsDrawn].sort((a, b) => a - b),
      renderErrors: view.stats.renderErrors,
    };
  }
  state.seconds = Number(seconds());
  state.done = true;
}
