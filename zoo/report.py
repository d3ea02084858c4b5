"""`zoo report`: one self-contained HTML page from results files, to look at, not read.

`sections(paths)` reads each results file (`zoo.results`) and makes one `Section` of it:
the file's provenance as its records hold it (machine and ISA flags, versions, commit,
command line; a field a record lacks reads "not recorded", never this machine's), its
tables, built from the same table descriptions the terminal and the Markdown use
(`zoo.table.Table.html`), and its charts. `page(sections)` lays them out in one HTML file
that needs nothing from the network: the charts are SVG drawn by matplotlib and inlined,
the table sorting is a few lines of script in the page.

The charts, where a file has what they show: the speed-up of each case with its
confidence interval and the throughput against batch size (bench), the validation metric
against wall time of every run (time to target), the parity of every model and backend
in eps (parity) and the latency of each exported runtime against Keras (export). Each
mark of a chart has an SVG id `mark-N`, so a test can count them.

matplotlib is optional (`pip install 'keras-zoo[plot]'`): without it the page has its
tables and says why the charts are missing.
"""

from __future__ import annotations

import dataclasses
import html
import io as _io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from zoo import io
from zoo.results import ResultsFile
from zoo.table import Column, Table

NOT_RECORDED = "not recorded"


@dataclasses.dataclass
class Section:
    """One results file on the page."""

    name: str
    kind: str
    records: int
    provenance: list[tuple[str, str]]
    tables: list[tuple[str, Table]] = dataclasses.field(default_factory=list)
    charts: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # title, <svg>
    notes: list[str] = dataclasses.field(default_factory=list)


def kind_of(records: Sequence[dict]) -> str:
    """A file's kind: its records' `kind`, or what older records without one hold."""
    kind = records[0].get("kind") if records else None
    if kind in ("export", "evaluate"):
        return "export"
    if kind:
        return str(kind)
    if "rows" in records[0] and "backends" in records[0]:
        return "parity"
    return "records"


def provenance(records: Sequence[dict]) -> list[tuple[str, str]]:
    """(label, text) of where a file's figures come from, as its first record says."""
    first = records[0] if records else {}
    prov, env = first.get("provenance") or {}, first.get("env") or {}
    machine = prov.get("machine") or {}
    cpu = machine.get("cpu") or env.get("cpu")
    flags = machine.get("cpu_flags") or env.get("cpu_flags")
    gpus = machine.get("gpus") or env.get("gpus")
    versions = prov.get("versions") or {k: env[k] for k in ("python", "keras") if k in env}
    git = prov.get("git")
    commit = (
        f"{git['commit'][:12]}{' (uncommitted changes)' if git.get('dirty') else ''}"
        if git
        else None
    )
    argv = prov.get("argv")
    rows = [
        ("machine", cpu),
        ("ISA flags", ", ".join(flags) if flags else None),
        ("cores", machine.get("cores") or env.get("cpu_count")),
        ("GPU", ", ".join(map(str, gpus)) if gpus else None),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items() if v) or None),
        ("zoo", prov.get("zoo") or env.get("zoo")),
        ("git commit", commit),
        ("command", " ".join(argv) if argv else None),
    ]
    return [(label, NOT_RECORDED if v in (None, "") else str(v)) for label, v in rows]


def sections(paths: Iterable[str | Path]) -> list[Section]:
    """A section per results file, in the order given.

    Raises:
        OutputError: a file is missing or not JSON lines (as `zoo.results` says).
    """
    out = []
    for path in paths:
        records = ResultsFile(path).read()
        kind = kind_of(records) if records else "records"
        section = Section(Path(path).name, kind, len(records), provenance(records))
        if records:
            BUILDERS.get(kind, _generic)(section, records)
        out.append(section)
    return out


# --- each kind ------------------------------------------------------------------------


def _baseline(records: list[dict]) -> tuple[str, str | None]:
    """The baseline setting of the records' suite (a shipped one), else graph."""
    from zoo.errors import SuiteError
    from zoo.perf import suite

    try:
        s = suite.load_suite(records[0]["suite"])
    except (SuiteError, KeyError):
        return "graph", None
    return s.baseline, s.baseline_precision


def _bench(section: Section, records: list[dict]) -> None:
    from zoo.perf import summary, tables

    baseline, precision = _baseline(records)
    sides = list(dict.fromkeys(r.get("side") for r in records))  # A/B: each side apart
    for side in sides:
        mine = [r for r in records if r.get("side") == side]
        rows = summary.summarize(mine, baseline, precision)
        name = "cases" if side is None else f"cases, side {side}"
        section.tables.append((name, tables.bench_table(rows, baseline, precision)))
        versus = f"{baseline}{' ' + precision if precision else ''}"
        if any(r.get("speedup_low") is not None for r in rows):
            _chart(
                section, f"{name}: speed-up over {versus}, with its 95% interval", _speedups, rows
            )
        sweeps = _sweeps(rows)
        if sweeps:
            _chart(section, f"{name}: training throughput against batch size", _throughput, sweeps)


def _chart(section: Section, caption: str, draw, *args) -> None:
    """Adds a chart drawn by `draw(*args)`; without matplotlib, a note instead (once)."""
    try:
        section.charts.append((caption, draw(*args)))
    except ImportError:
        note = "No charts: matplotlib is not installed (pip install 'keras-zoo[plot]')."
        if note not in section.notes:
            section.notes.append(note)


def _target(section: Section, records: list[dict]) -> None:
    from zoo.perf import target

    rows = target.summarize(records)
    section.tables.append(("cases", target.table(rows)))
    runs = [r for r in records if (r.get("target") or {}).get("history")]
    if runs:
        _chart(section, "validation metric against wall time, every run", _curves, runs)


def _parity(section: Section, records: list[dict]) -> None:
    from zoo.perf import parity

    section.tables.append(("models and backends", parity.table(records)))
    cells = [
        (rec["model"], row["backend"], _worst_eps(row))
        for rec in records
        if rec.get("status") == "ok"
        for row in parity.summarize(rec)
        if row.get("status") == "ok" and row.get("verdict") != "reference"
    ]
    if cells:
        _chart(section, "largest difference from the reference, in eps", _heatmap, cells)


def _tune(section: Section, records: list[dict]) -> None:
    rows = [
        {
            "model": r.get("model"),
            "dataset": r.get("dataset"),
            "target": r.get("target"),
            "default_s": (r.get("default") or {}).get("time_to_target_s"),
            "winner_s": (r.get("winner") or {}).get("time_to_target_s"),
            "speedup": r.get("speedup"),
            "spent_s": r.get("spent_s"),
        }
        for r in records
    ]
    columns = [
        Column("model"),
        Column("dataset"),
        Column("target"),
        Column("default s", "s", "default_s"),
        Column("winner s", "s", "winner_s"),
        Column("speed-up (one run each)", "ratio", "speedup", suffix="x"),
        Column("searched s", "s", "spent_s"),
    ]
    section.tables.append(("searches", Table(None, columns, rows)))


def _export(section: Section, records: list[dict]) -> None:
    rows = []
    for r in records:
        timing = r.get("timing") or {}
        rows.append(
            {
                "model": r.get("model"),
                "format": r.get("format") or r.get("kind"),
                "quantize": r.get("quantize") or "none",
                "status": r.get("status"),
                "keras_ms": (timing.get("keras") or {}).get("p50_ms"),
                "artifact_ms": (timing.get("artifact") or {}).get("p50_ms"),
            }
        )
    columns = [
        Column("model"),
        Column("format"),
        Column("quantize"),
        Column("status"),
        Column("Keras p50 ms", "ms", "keras_ms"),
        Column("artifact p50 ms", "ms", "artifact_ms"),
    ]
    section.tables.append(("artifacts", Table(None, columns, rows)))
    timed = [r for r in rows if r["keras_ms"] and r["artifact_ms"]]
    if timed:
        _chart(section, "inference latency p50, each runtime against Keras", _latency, timed)


def _generic(section: Section, records: list[dict]) -> None:
    keys = [k for k in records[0] if not isinstance(records[0][k], (dict, list))][:8]
    section.tables.append(("records", Table(None, [Column(k, "text", k) for k in keys], records)))


BUILDERS = {
    "bench": _bench,
    "target": _target,
    "parity": _parity,
    "tune": _tune,
    "export": _export,
}


def _worst_eps(row: dict) -> float:
    values = [
        row.get(k)
        for k in ("forward_max_rel_eps", "gradient_worst_rel_eps", "curve_max_rel_eps")
        if row.get(k) is not None
    ]
    return max(values) if values else 0.0


def _sweeps(rows: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """(batch, samples/s) per model and setting that was run at more than one batch."""
    lines: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if r.get("train_samples_per_s"):
            label = f"{r['model']} {r['mode']} {r['precision']}"
            lines.setdefault(label, []).append((r["batch_size"], r["train_samples_per_s"]))
    return {k: sorted(v) for k, v in lines.items() if len(v) > 1}


# --- charts (matplotlib, SVG) -----------------------------------------------------------


def _figure(height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable
    matplotlib.rcParams["svg.hashsalt"] = "keras-zoo"  # ids that do not change run to run
    fig, ax = plt.subplots(figsize=(7.5, height))
    return fig, ax


def _svg(fig) -> str:
    from matplotlib import pyplot as plt

    buf = _io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})  # the same input, the same page
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # no XML prolog inside the page


def _speedups(rows: list[dict]) -> str:
    rows = [r for r in rows if r.get("speedup") is not None]
    fig, ax = _figure(0.3 * len(rows) + 1.2)
    for i, r in enumerate(rows):
        low, high = r.get("speedup_low"), r.get("speedup_high")
        err = [[r["speedup"] - low], [high - r["speedup"]]] if low is not None else None
        mark = ax.errorbar([r["speedup"]], [i], xerr=err, fmt="o", capsize=3, color="C0")
        for artist in mark.get_children():
            artist.set_gid(f"mark-{i}")
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)), [f"{r['model']} {r['mode']} {r['precision']}" for r in rows])
    ax.set_xlabel("speed-up over the baseline (x)")
    ax.invert_yaxis()
    return _svg(fig)


def _throughput(sweeps: dict[str, list[tuple[int, float]]]) -> str:
    fig, ax = _figure(3.2)
    n = 0
    for label, points in sweeps.items():
        (line,) = ax.plot(*zip(*points, strict=True), marker="o", label=label)
        line.set_gid(f"mark-{n}")
        n += 1
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("training samples/s")
    ax.legend(fontsize=7)
    return _svg(fig)


def _curves(runs: list[dict]) -> str:
    """One panel per model and target: each run's validation metric against wall time,
    the default route in blue, a tuned recipe or a preset in orange, the target dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"
    groups: dict[str, list[dict]] = {}
    for r in runs:
        key = f"{r.get('against') or r.get('model')} {r.get('dataset')} {r.get('target_spec')}"
        groups.setdefault(key, []).append(r)
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.5, 2.2 * rows + 0.4), squeeze=False)
    n = 0
    for ax, (key, members) in zip(axes.flat, groups.items(), strict=False):
        for r in members:
            hist = r["target"]["history"]
            challenger = bool(r.get("tuned") or r.get("preset"))
            (line,) = ax.plot(
                [c["time_s"] for c in hist],
                [c["value"] for c in hist],
                color="C1" if challenger else "C0",
                alpha=0.8,
                lw=1,
            )
            line.set_gid(f"mark-{n}")
            n += 1
        value = members[0]["target"].get("value")
        if value is not None:
            ax.axhline(value, color="grey", ls="--", lw=0.8)
        ax.set_title(key, fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    fig.supxlabel(
        "seconds from the command's start (blue: default, orange: tuned or preset)", fontsize=8
    )
    return _svg(fig)


def _heatmap(cells: list[tuple[str, str, float]]) -> str:
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    models = list(dict.fromkeys(c[0] for c in cells))
    backends = list(dict.fromkeys(c[1] for c in cells))
    fig, ax = _figure(0.28 * len(models) + 1.2)
    top = max(math.log10(max(v, 1.0)) for *_, v in cells) or 1.0
    cmap = colormaps["viridis"]
    for n, (model, backend, value) in enumerate(cells):
        x, y = backends.index(backend), models.index(model)
        shade = cmap(math.log10(max(value, 1.0)) / top)
        rect = Rectangle((x, y), 1, 1, facecolor=shade, edgecolor="white")
        rect.set_gid(f"mark-{n}")
        ax.add_patch(rect)
        ax.text(x + 0.5, y + 0.5, f"{value:,.0f}", ha="center", va="center", fontsize=6)
    ax.set_xlim(0, len(backends))
    ax.set_ylim(len(models), 0)
    ax.set_xticks([i + 0.5 for i in range(len(backends))], backends)
    ax.set_yticks([i + 0.5 for i in range(len(models))], models, fontsize=7)
    ax.set_xlabel("backend (against the first); cell: eps, shade: log scale")
    return _svg(fig)


def _latency(rows: list[dict]) -> str:
    fig, ax = _figure(0.3 * len(rows) + 1.2)
    labels = [f"{r['model']} {r['format']} {r['quantize']}" for r in rows]
    for i, r in enumerate(rows):
        bar = ax.barh([i], [r["artifact_ms"] / r["keras_ms"]], color="C2")
        bar.patches[0].set_gid(f"mark-{i}")
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("artifact p50 latency / Keras p50 latency (batch 1; < 1: faster)")
    ax.invert_yaxis()
    return _svg(fig)


# --- the page ---------------------------------------------------------------------------

SCRIPT = """
document.querySelectorAll("table.zoo").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var down = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", down ? "ascending" : "descending");
      function key(row) {
        var cell = row.cells[col], v = cell.getAttribute("data-value");
        return v === null ? cell.textContent : parseFloat(v);
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = (typeof x === "number" && typeof y === "number") ? x - y
          : String(x).localeCompare(String(y));
        return down ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-top: 1px solid #ccc;
padding-top: 1em; } dl { display: grid; grid-template-columns: max-content auto; gap: 0 1em; }
dt { color: #666; } dd { margin: 0; } table.zoo { border-collapse: collapse; margin: 0.5em 0;
font-size: 12px; } table.zoo th, table.zoo td { border: 1px solid #ddd; padding: 2px 6px; }
table.zoo th { background: #f4f4f4; cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " \\25B2"; } th[aria-sort=descending]::after
{ content: " \\25BC"; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figcaption { color: #444; } .note { color: #a60; }
"""


def digests(paths: Sequence[str | Path]) -> str:
    """`name:sha256` of each file, comma-separated: what a page was made from."""
    import hashlib

    return ",".join(
        f"{Path(p).name}:{hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16]}" for p in paths
    )


def sources_of(text: str) -> str | None:
    """The `digests` a page records (its `zoo-sources` meta), or None."""
    import re

    found = re.search(r'<meta name="zoo-sources" content="([^"]*)">', text)
    return found.group(1) if found else None


def page(
    parts: Sequence[Section], title: str = "keras-zoo results", notes=(), sources: str = ""
) -> str:
    """The HTML page of `sections`: one self-contained file (`sources`: `digests` of the
    files, recorded in the page)."""
    e = html.escape
    body = [f"<h1>{e(title)}</h1>"]
    body += [f'<p class="note">{e(n)}</p>' for n in notes]
    body.append(
        "<ul>"
        + "".join(f'<li><a href="#s{i}">{e(s.name)}</a></li>' for i, s in enumerate(parts))
        + "</ul>"
    )
    for i, s in enumerate(parts):
        body.append(f'<section id="s{i}" data-kind="{e(s.kind)}">')
        body.append(f"<h2>{e(s.name)} <small>({e(s.kind)}, {s.records} records)</small></h2>")
        body.append(
            '<dl class="provenance">'
            + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in s.provenance)
            + "</dl>"
        )
        body += [f'<p class="note">{e(n)}</p>' for n in s.notes]
        for caption, svg in s.charts:
            body.append(
                f'<figure class="chart">{svg}<figcaption>{e(caption)}</figcaption></figure>'
            )
        for caption, t in s.tables:
            body.append(f"<h3>{e(caption)}</h3>{t.html()}")
        body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="zoo-sources" content="{e(sources)}">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + f"<script>{SCRIPT}</script></body></html>\n"
    )


def write(paths: Sequence[str | Path], output: str | Path) -> dict[str, Any]:
    """Writes the page of `paths` to `output` (atomically); what it holds."""
    parts = sections(paths)
    text = page(parts, sources=digests(paths))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return {
        "output": str(output),
        "files": len(parts),
        "tables": sum(len(s.tables) for s in parts),
        "charts": sum(len(s.charts) for s in parts),
        "bytes": len(text.encode()),
    }
