#!/usr/bin/env python3
"""Turn raw benchmark samples into the results table, JSON and chart.

    python benchmarks/report.py [--results DIR] [--no-chart]

Reads DIR/raw-node.json and/or DIR/raw-chrome.json (written by bench.mjs and
chrome.py), and writes DIR/results.json, DIR/table.md and DIR/chart.png (the chart needs
matplotlib: run.sh installs it into benchmarks/.venv). Prints the table.

Every figure is the MEDIAN of the repetitions of one run; ratios are EXTMEMFS divided by
the baseline measured in the same run (MEMFS unless the row says otherwise). Targets are
from issue 6; they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
MiB = 1 << 20
RUNTIMES = ("node", "chrome")


@dataclass(frozen=True)
class Case:
    id: str
    label: str  # may use {params} fields
    unit: str
    base: str = "MEMFS"
    target: float | None = None  # minimum ratio EXTMEMFS / baseline
    raw: str | None = None  # compare with this raw-copy figure ("touched" or "out")


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n // 1024} KiB"


CASES = [
    Case("seq_write_1m", "seq. write {seqTotal}, 1 MiB chunks", "MiB/s", target=20, raw="touched"),
    Case("seq_read_1m", "seq. read {seqTotal}, 1 MiB chunks", "MiB/s", target=0.9, raw="out"),
    Case("seq_write_4k", "seq. write {seqTotal}, 4 KiB chunks", "MiB/s", raw="touched"),
    Case("seq_read_4k", "seq. read {seqTotal}, 4 KiB chunks", "MiB/s", raw="out"),
    Case("rand_read_4k", "random 4 KiB reads, {randSize} file", "ops/s"),
    Case("rand_write_4k", "random 4 KiB writes, {randSize} file", "ops/s"),
    Case("create_small", "create+write 100 B+close, {smallFiles:,} files", "files/s", target=0.7),
    Case("stat_small", "stat, {smallFiles:,} files", "ops/s", target=0.5),
    Case("listdir", "listdir, {smallFiles:,} entries", "calls/s", target=0.5),
    Case("unlink_small", "unlink, {smallFiles:,} files", "ops/s", target=0.5),
    Case("rename_within", "rename within a directory", "ops/s"),
    Case("rename_across", "rename across directories", "ops/s"),
    Case("mmap_read", "mmap read {mmapSize}", "MiB/s", raw="out"),
    Case("mmap_write", "mmap write {mmapSize}", "MiB/s", raw="touched"),
    Case(
        "pingpong",
        "2 workers: shared-file ping-pong",
        "round trips/s",
        base="postMessage (Python)",
        target=1.0,
    ),
    Case(
        "pingpong_js", "2 workers: shared-file ping-pong", "round trips/s", base="postMessage (JS)"
    ),
    Case(
        "two_writers",
        "2 workers writing separate {writerTotal} files",
        "MiB/s",
        base="1 worker",
        target=1.5,
    ),
]
META_TARGET = 256  # bytes of pool metadata per small file, at most


def fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.0f}"
    return f"{x:.2f}"


def label_params(params: dict) -> dict:
    out = dict(params)
    for k in ("seqTotal", "randSize", "mmapSize", "writerTotal"):
        if k in out:
            out[k] = _size(out[k])
    return out


def build_rows(raw: dict) -> list[dict]:
    """One row per case: medians, ratio, target, verdict."""
    params = label_params(raw["params"])
    cases = dict(raw["cases"])
    pp = cases.get("pingpong")
    if pp and pp.get("js"):
        cases["pingpong_js"] = {"xm": pp["xm"], "base": pp["js"]}
    rc = raw.get("raw_copy", {})
    rows = []
    for c in CASES:
        data = cases.get(c.id)
        if not data or not data.get("xm"):
            continue
        xm = statistics.median(data["xm"])
        base = statistics.median(data["base"]) if data.get("base") else None
        ratio = xm / base if base else None
        row = {
            "id": c.id,
            "case": c.label.format(**params),
            "unit": c.unit,
            "baseline": c.base,
            "extmemfs": xm,
            "base": base,
            "ratio": ratio,
            "target": f"≥ {c.target:g}×" if c.target is not None else None,
            "pass": None if c.target is None or ratio is None else ratio >= c.target,
            "samples": {"extmemfs": data["xm"], "base": data.get("base", [])},
        }
        if c.raw and rc.get(c.raw):
            row["vs_raw_copy"] = xm / rc[c.raw]
        if c.id == "two_writers" and "peak_parallel_copies" in data:
            row["peak_parallel_copies"] = data["peak_parallel_copies"]
        if c.id == "pingpong" and data.get("polls"):
            row["polls_per_round_trip"] = statistics.median(data["polls"])
        rows.append(row)
    mem = raw.get("memory", {})
    meta = mem.get("meta")
    if meta:
        v = meta["meta_per_file"]
        rows.append(
            {
                "id": "meta_per_file",
                "case": f"pool metadata per small file ({meta['files']:,} × 100 B)",
                "unit": "bytes",
                "baseline": "—",
                "extmemfs": v,
                "base": None,
                "ratio": None,
                "target": f"≤ {META_TARGET} B",
                "pass": v <= META_TARGET,
                "detail": meta,
            }
        )
    churn = mem.get("churn")
    if churn:
        rows.append(
            {
                "id": "churn_size_per_live",
                "case": f"pool size / live bytes after churn ({churn['ops']:,} ops)",
                "unit": "×",
                "baseline": "—",
                "extmemfs": churn["size_per_live"],
                "base": None,
                "ratio": None,
                "target": None,
                "pass": None,
                "detail": churn,
            }
        )
        rows.append(
            {
                "id": "churn_size_per_peak",
                "case": "pool size / peak live bytes during churn",
                "unit": "×",
                "baseline": "—",
                "extmemfs": churn["size_per_peak_live"],
                "base": None,
                "ratio": None,
                "target": None,
                "pass": None,
            }
        )
    if rc:
        for key, what in (
            ("touched", "heap → shared (TypedArray.set)"),
            ("fresh", "heap → fresh shared pages (TypedArray.set)"),
            ("out", "shared → heap (TypedArray.set)"),
            ("plain_out", "unshared ArrayBuffer → heap (TypedArray.set)"),
            ("wasm_in", "heap → shared by wasm memory.copy (multi-memory)"),
            ("wasm_out", "shared → heap by wasm memory.copy (multi-memory)"),
        ):
            if key in rc:
                rows.append(
                    {
                        "id": f"raw_copy_{key}",
                        "case": f"raw copy, {what}",
                        "unit": "MiB/s",
                        "baseline": "—",
                        "extmemfs": rc[key],
                        "base": None,
                        "ratio": None,
                        "target": None,
                        "pass": None,
                    }
                )
    return rows


def verdict(row: dict) -> str:
    if row["pass"] is None:
        return ""
    return "pass" if row["pass"] else "FAIL"


def text_table(rows: list[dict]) -> str:
    head = ["case", "EXTMEMFS", "baseline", "unit", "ratio", "target", "result", "vs raw copy"]
    body = []
    for r in rows:
        base = "" if r["base"] is None else f"{fmt(r['base'])} {r['baseline']}"
        body.append(
            [
                r["case"],
                fmt(r["extmemfs"]),
                base,
                r["unit"],
                "" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                r["target"] or "",
                verdict(r),
                f"{r['vs_raw_copy']:.0%}" if "vs_raw_copy" in r else "",
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(head), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    return "\n".join(out)


def md_table(rows: list[dict]) -> str:
    out = [
        "| case | EXTMEMFS | baseline | ratio | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        base = "" if r["base"] is None else f"{fmt(r['base'])} ({r['baseline']})"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        res = verdict(r)
        out.append(
            f"| {r['case']} | {fmt(r['extmemfs'])} {r['unit']} | {base} | {ratio} | "
            f"{r['target'] or ''} | {'**FAIL**' if res == 'FAIL' else res} |"
        )
    return "\n".join(out)


def machine_line(raw: dict) -> str:
    m = raw.get("machine", {})
    busy = m.get("busy_before")
    parts = [
        f"{m.get('nproc', '?')} CPUs ({m.get('cpu', '?')})",
        m.get("runtime_version", "?"),
        f"Pyodide {raw.get('info', {}).get('pyodide', '?')}",
    ]
    during = m.get("busy_during")
    if busy is not None or during is not None:
        load = [f"{x:.0%}" for x in (busy, during) if x is not None]
        parts.append(f"other processes' CPU load before/during the run {'/'.join(load)}")
    return ", ".join(parts)


def notes(raw: dict, rows: list[dict]) -> list[str]:
    out = []
    by_id = {r["id"]: r for r in rows}
    tw = by_id.get("two_writers")
    if tw and "peak_parallel_copies" in tw:
        out.append(f"two writers: pool peak_parallel_copies = {tw['peak_parallel_copies']}")
    pp = by_id.get("pingpong")
    if pp and "polls_per_round_trip" in pp:
        out.append(
            f"shared-file ping-pong polls a file offset with os.pread: "
            f"{pp['polls_per_round_trip']:.1f} polls per round trip (median)"
        )
    meta = by_id.get("meta_per_file")
    if meta:
        d = meta["detail"]
        out.append(
            f"metadata: used_bytes grew {d['used_delta']:,} for {d['files']:,} files "
            f"({d['data_bytes']:,} data + {d['name_bytes']:,} name bytes); "
            f"{d['left_after_unlink']:,} bytes stay used after unlinking them "
            "(inode table chunks are kept)"
        )
    ch = by_id.get("churn_size_per_live")
    if ch:
        d = ch["detail"]
        out.append(
            f"churn: pool {d['pool_size']:,} bytes, used {d['used_bytes']:,}, live "
            f"{d['live_bytes']:,} in {d['files_live']} files, peak live "
            f"{d['peak_live_bytes']:,}; validator: "
            f"{'ok' if not d['check'] else '; '.join(d['check'])}"
        )
    m = raw.get("machine", {})
    if max(m.get("busy_before") or 0, m.get("busy_during") or 0) > 0.2:
        out.append(
            "WARNING: other processes were using the CPUs during the run; figures "
            "(the two-worker ones most) are unreliable"
        )
    for k in ("main_pool_check", "worker_pool_check"):
        problems = raw.get("info", {}).get(k)
        if problems:
            out.append(f"WARNING: {k}: {'; '.join(problems)}")
    return out


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(rt, r) for rt, r in results["runtimes"].items()]
    ratio_rows = [[row for row in r["rows"] if row["ratio"] is not None] for _, r in runs]
    n = max(len(rows) for rows in ratio_rows)
    fig, axes = plt.subplots(
        1, len(runs), figsize=(7.5 * len(runs), 0.42 * n + 1.8), squeeze=False, sharey=False
    )
    for ax, (rt, r), rows in zip(axes[0], runs, ratio_rows):
        labels = [f"{row['case']}\n(vs {row['baseline']})" for row in rows]
        ratios = [row["ratio"] for row in rows]
        colors = [
            "#9e9e9e" if row["pass"] is None else ("#2e7d32" if row["pass"] else "#c62828")
            for row in rows
        ]
        y = range(len(rows))
        ax.barh(list(y), ratios, color=colors)
        for i, row in enumerate(rows):
            t = next((c.target for c in CASES if c.id == row["id"]), None)
            if t is not None:
                ax.plot([t, t], [i - 0.45, i + 0.45], color="black", linewidth=2)
            ax.text(
                max(row["ratio"], t or 0) * 1.1, i, f"{row['ratio']:.2f}×", va="center", fontsize=8
            )
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="#555", linewidth=0.8, linestyle="--")
        ax.set_xlabel("EXTMEMFS / baseline (median; log scale)  —  black tick: target")
        m = r["raw"].get("machine", {})
        ax.set_title(
            f"{rt}: {m.get('runtime_version', '?')}\n{m.get('nproc', '?')} CPUs, "
            f"{m.get('cpu', '?')}",
            fontsize=8,
        )
        lo = min(ratios + [0.5]) / 1.5
        hi = max(ratios + [2]) * 2.5
        ax.set_xlim(lo, hi)
    fig.suptitle(
        "pyodide-extmemfs vs MEMFS (green: meets target, red: misses, grey: no target)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--no-chart", action="store_true")
    args = ap.parse_args()
    results = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "aggregate": "median of repetitions",
        "runtimes": {},
    }
    md = [
        "# pyodide-extmemfs benchmarks",
        "",
        "Generated by `bash benchmarks/run.sh`. Each figure is the median of the "
        "repetitions of one run; the ratio is EXTMEMFS / the baseline of the same run "
        "(MEMFS unless stated). Targets from issue 6 are reported, not asserted.",
        "",
    ]
    for rt in RUNTIMES:
        f = args.results / f"raw-{rt}.json"
        if not f.exists():
            continue
        raw = json.loads(f.read_text())
        rows = build_rows(raw)
        results["runtimes"][rt] = {"rows": rows, "raw": raw}
        title = f"{rt}: {machine_line(raw)}"
        when = f"run {raw.get('started', '?')}, {raw.get('seconds', 0):.0f} s"
        if raw.get("git"):
            when += f", commit {raw['git']}"
        if raw.get("quick"):
            when += ", QUICK mode (small sizes, 1 repetition)"
        print(f"\n== {title}\n   {when}\n")
        print(text_table(rows))
        ns = notes(raw, rows)
        for line in ns:
            print(f"   {line}")
        md += [f"## {rt}", "", f"Machine: {machine_line(raw)}; {when}.", "", md_table(rows), ""]
        md += [f"- {line}" for line in ns] + [""]
        fails = [r["case"] for r in rows if r["pass"] is False]
        print(
            f"\n   targets: {sum(r['pass'] is True for r in rows)} met, {len(fails)} missed"
            + (f" ({'; '.join(fails)})" if fails else "")
        )
    if not results["runtimes"]:
        print(f"no raw-*.json in {args.results}: run bash benchmarks/run.sh", file=sys.stderr)
        return 1
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.results / "table.md").write_text("\n".join(md))
    written = ["results.json", "table.md"]
    if not args.no_chart:
        chart(results, args.results / "chart.png")
        written.append("chart.png")
    print(f"\nwrote {', '.join(str(args.results / w) for w in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
