"""Everything the CLI shows: rich tables, plain lines, progress and one-line errors.

The only module that knows rich, and the one place a table is laid out. Results go to
stdout; progress, notes and errors go to stderr, so `--json` or `--plain` output can be
piped. A table never wraps or cuts a name (a name is what the user types next); only a
prose column wraps, and each number column is printed with one precision.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from zoo.formatting import KINDS, decimals, format_column, format_spread  # noqa: F401
from zoo.formatting import format_number as number

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@contextlib.contextmanager
def errors():
    """Turns a ZooError into one red line and its exit code; Ctrl-C into exit 130."""
    from zoo.errors import ZooError

    try:
        yield
    except ZooError as e:
        err.print(f"[bold red]Error:[/] {escape(str(e))}", soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/] Nothing was written for the unfinished step.")
        raise typer.Exit(130) from None


def print_wide(renderable: RenderableType) -> None:
    """Prints to stdout at the renderable's natural width when the terminal is narrower
    (a wide table stays whole in a log or a pipe; a terminal wraps its lines instead of
    the table squeezing its cells)."""
    from rich.measure import Measurement

    probe = Console(width=1000)
    natural = Measurement.get(probe, probe.options, renderable).maximum
    Console(width=max(out.width, natural), highlight=False).print(renderable)


def show(renderable: RenderableType) -> None:
    """Prints to stdout; where the terminal is narrower than the renderable's narrowest
    layout (every name whole), prints at that width for the terminal to wrap: never crops."""
    from rich.measure import Measurement

    narrowest = getattr(renderable, "narrowest", None)
    if narrowest is None:
        narrowest = Measurement.get(out, out.options.update_width(10_000), renderable).minimum
    console = out if narrowest <= out.width else Console(width=narrowest, highlight=False)
    console.print(renderable)


def note(text: str) -> None:
    err.print(f"[yellow]Note:[/] {escape(text)}", soft_wrap=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def print_plain(rows: Iterable[Sequence[Any]]) -> None:
    """One line per row, fields separated by tabs (for `cut -f`, `grep`, `awk -F'\\t'`);
    whitespace inside a field becomes one space so a field never splits a line."""
    for row in rows:
        fields = (re.sub(r"\s+", " ", "" if v is None else str(v)).strip() for v in row)
        sys.stdout.write("\t".join(fields) + "\n")


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def column(values: Sequence[Any], kind: str) -> list[str]:
    """A column's values as text, all numbers with the one precision its kind gives."""
    return format_column(values, kind)


def fmt(value: Any) -> str:
    """One value on its own: 4 significant digits, thousands separators, no exponent."""
    return number(value, "value", decimals([value], "value"))


TEXT_MIN_WIDTH = 12  # the narrowest a prose column is squeezed to before a table widens


@dataclass(frozen=True)
class Col:
    """A table column. kind: "name" (never wraps, never cut), "text" (prose: the column
    that wraps), or a number kind of KINDS (right-aligned, one precision). markup: the
    cells carry rich markup (highlighting) and are not escaped."""

    header: str
    kind: str = "name"
    markup: bool = False


def _cells(col: Col, values: Sequence[Any]) -> list[str]:
    if col.kind in ("name", "text"):
        strings = ["-" if v is None else str(v) for v in values]
    else:
        strings = column(values, col.kind)
    return strings if col.markup else [escape(s) for s in strings]


def _titled(title: str | None, body: Table) -> RenderableType:
    """A bold title line above a table (a Table title would wrap at the table's width)."""
    return Group(Text(title, style="bold"), body) if title else body


def _widest(header: str, cells: Sequence[str]) -> int:
    return max([len(header), *(Text.from_markup(c).cell_len for c in cells)])


def table(
    title: str | None, columns: Sequence[Col | str], rows: Iterable[Sequence[Any]]
) -> RenderableType:
    """A table: names and numbers keep their full width (min_width is their longest
    cell, so even rich's last-resort squeeze cannot cut them); only "text" columns wrap."""
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    rows = [list(r) for r in rows]
    cells = [_cells(col, [r[i] for r in rows]) for i, col in enumerate(cols)]
    t = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    narrowest = 0
    for col, strings in zip(cols, cells, strict=True):
        fixed = col.kind != "text"
        width = _widest(col.header, strings) if fixed else TEXT_MIN_WIDTH
        narrowest += width + 2  # the gutter: padding and divider
        t.add_column(
            col.header,
            justify="left" if col.kind in ("name", "text") else "right",
            no_wrap=fixed,
            overflow="ellipsis" if fixed else "fold",  # min_width keeps fixed ones whole
            min_width=width if fixed else None,
        )
    for row in zip(*cells, strict=True):
        t.add_row(*row)
    shown = _titled(title, t)
    # What `show` needs: rich measures a prose column at its longest word, but it folds.
    shown.narrowest = narrowest
    return shown


def key_values(title: str, items: Iterable[tuple[str, Any]]) -> RenderableType:
    t = Table(show_header=False, box=None, padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    for k, v in items:
        t.add_row(k, escape(fmt(v)))
    return _titled(title, t)


def metrics_table(
    title: str, columns: dict[str, dict[str, float]], optimum: dict[str, float]
) -> RenderableType:
    """One row per metric, one column per split, and the best value the data allows; a
    metric is read across its row, so each row has one precision."""
    names = sorted({m for split in columns.values() for m in split}, key=lambda m: (m != "loss", m))
    head = ["metric", *columns, *(["optimum"] if optimum else [])]
    rows = []
    for m in names:
        values = [*(split.get(m) for split in columns.values())]
        values += [optimum.get(m)] if optimum else []
        rows.append([m, *column(values, "number")])
    return table(title, [Col("metric"), *(Col(h, "number") for h in head[1:])], rows)


class TrainProgress:
    """Shows a progress bar during each epoch and a line of metrics when it ends."""

    def __init__(self):
        self._bar = None
        self._task = None

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self.info = info
        err.print(
            f"Training [bold]{info['model']}[/] ({info['num_params']:,} parameters) on "
            f"{info['dataset']}: {info['num_train']:,} train, {info['num_val']:,} validation, "
            f"{info['num_test']:,} test examples, {plural(info['epochs'], 'epoch')}.",
            soft_wrap=True,
        )
        if info.get("initial_epoch"):
            err.print(
                f"Resuming after epoch {info['initial_epoch']} of {info['epochs']}.",
                soft_wrap=True,
            )

    def on_batch_end(self, epoch: int, step: int, logs: dict[str, float]) -> None:
        if self._bar is None and err.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[logs]}"),
                console=err,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                f"epoch {epoch}/{self.info['epochs']}", total=self.info["steps_per_epoch"], logs=""
            )
        if self._bar is None:
            return
        loss = logs.get("loss")
        self._bar.update(
            self._task, completed=step, logs=f"loss {fmt(float(loss))}" if loss is not None else ""
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.close()
        parts = "  ".join(f"{k} {fmt(float(v))}" for k, v in logs.items() if k != "seconds")
        err.print(
            f"epoch {epoch}/{self.info['epochs']}  {parts}  ({logs['seconds']:.1f} s)",
            soft_wrap=True,
        )

    def on_evaluate_begin(self, num_examples: int) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


# ---- the tables of `zoo list`, `zoo bench` and `zoo compare` ----

SHORT = {"float32": "f32", "mixed_bfloat16": "bf16", "mixed_float16": "f16"}


def models_table(title: str, specs: Sequence[Any]) -> RenderableType:
    """`zoo list`: name, family and task whole; the summary wraps in what is left."""
    return table(
        title,
        [Col("name"), Col("family"), Col("task"), Col("summary", "text")],
        [(s.name, s.family, s.task, s.summary) for s in specs],
    )


def _spread(rows: Sequence[dict], key: str, kind: str, suffix: str = "") -> list[str]:
    """`key` with its min-max across repeats where they differ, at the column's precision."""
    return format_spread(rows, key, kind, suffix, only_when_varies=True)


def _setting(row: dict) -> str:
    setting = f"{row['mode']} {SHORT.get(row['precision'], row['precision'])}"
    if row.get("device", "cpu") != "cpu":
        setting += f" {row['device']}"
    if row.get("backend", "tensorflow") != "tensorflow":
        setting += f" {row['backend']}"
    if row.get("quantize", "none") != "none":
        setting += f" {row['quantize']} inference"
    return setting


def _status(row: dict) -> str:
    return (
        row["status"]
        + (f": {row['reason']}" if row["reason"] else "")
        + (f" ({row['note']})" if row["note"] else "")
    )


BENCH_COLUMNS = (
    Col("model"),
    Col("params", "count"),
    Col("FLOPs/sample", "count"),
    Col("setting"),
    Col("batch", "count"),
    Col("train samples/s", "throughput", markup=True),
    Col("vs", "ratio"),
    Col("infer p50 ms", "ms"),
    Col("compile s", "s"),
    Col("peak MB", "MB"),
    Col("MFU", "%"),
    Col("bottleneck: evidence", "text"),
    Col("status", "text"),
)


def _bottleneck(row: dict) -> str | None:
    """The verdict and the figures that decided it (None: no record could be judged)."""
    kind, evidence = row.get("bottleneck"), row.get("bottleneck_evidence")
    return f"{kind}: {evidence}" if kind and evidence else kind


def bench_table(title: str, rows: Sequence[dict], baseline: str) -> RenderableType:
    """`zoo bench`: one row per case; the fastest setting of each model in bold green."""
    rates = _spread(rows, "train_samples_per_s", "throughput")
    rates = [
        f"[bold green]{escape(c)}[/]" if r["fastest"] else escape(c)
        for c, r in zip(rates, rows, strict=True)
    ]
    ups = _spread(rows, "speedup", "ratio", suffix="x")
    body = [
        [
            r["model"],
            r["num_params"],
            r["flops_per_sample"],
            _setting(r),
            r["batch_size"],
            rate,
            up,
            r["infer_p50_ms"],
            r["compile_s"],
            r["peak_memory_mb"],
            r["mfu"],
            _bottleneck(r),
            _status(r),
        ]
        for r, rate, up in zip(rows, rates, ups, strict=True)
    ]
    columns = list(BENCH_COLUMNS)
    columns[6] = Col(f"vs {baseline}", "ratio")
    if any(r.get("quantize", "none") != "none" for r in rows):  # inference side by side
        columns[-1:-1] = [Col("infer samples/s", "throughput"), Col("infer vs f32", "ratio")]
        for cells, r in zip(body, rows, strict=True):
            cells[-1:-1] = [r.get("infer_samples_per_s"), r.get("infer_vs_float32")]
    return table(title, columns, body)


def backend_table(backends: Sequence[str], pivot: Sequence[dict]) -> RenderableType:
    """Training samples/s per backend, side by side (XLA/compiled marked with *)."""
    places = {b: decimals([p.get(b) for p in pivot], "throughput") for b in backends}
    body = []
    for p in pivot:
        cells = [p["model"], _setting(p)]
        for b in backends:
            rate, status = p.get(b), p.get(f"{b}_status")
            if rate:
                cells.append(
                    number(rate, "throughput", places[b]) + ("*" if p.get(f"{b}_xla") else "")
                )
            else:
                cells.append(status or "-")
        body.append(cells)
    return table(
        "train samples/s by backend (* compiled: XLA on TensorFlow and JAX, torch.compile)",
        [Col("model"), Col("setting"), *(Col(b, "throughput") for b in backends)],
        body,
    )


def reference_table(refs: Sequence[dict]) -> RenderableType:
    """The zoo's step against the hand-written references, as ratios."""
    places = decimals([v for r in refs for v in (r["ratio"], r["min"], r["max"])], "ratio")
    body = [
        [
            r["model"],
            r["comparison"],
            number(r["ratio"], "ratio", places) + "x",
            f"{number(r['min'], 'ratio', places)}-{number(r['max'], 'ratio', places)}",
            r["repeats"],
        ]
        for r in refs
    ]
    return table(
        "the zoo against references (one run, interleaved repeats)",
        [
            Col("model"),
            Col("comparison"),
            Col("ratio", "ratio"),
            Col("min-max", "ratio"),
            Col("repeats", "count"),
        ],
        body,
    )


def case_done(n: int, total: int, case: Any, record: dict) -> None:
    """`zoo bench`'s line on stderr as each case finishes."""
    status = record["status"]
    if status == "ok" and record.get("float32_infer"):  # a quantized case: inference only
        rates = (record[k]["samples_per_s"] for k in ("infer", "float32_infer"))
        what = "inference {:,.0f} samples/s (float32 {:,.0f})".format(*rates)
    elif status == "ok":
        what = f"{record['train']['samples_per_s']:,.0f} samples/s"
    else:
        what = f"[yellow]{status}[/]: {escape(str(record.get('reason', '')))}"
    err.print(
        escape(f"[{n}/{total}] {case.label()}: ") + what + f" ({record.get('wall_s', 0):.0f} s)",
        soft_wrap=True,
    )


def target_done(n: int, total: int, case: Any, record: dict) -> None:
    """`zoo bench --suite time-to-target`'s line on stderr as each run finishes."""
    status, target = record["status"], record.get("target") or {}
    if status == "ok" and target.get("reached"):
        time_s, epochs = target["time_to_target_s"], target["epochs_to_target"]
        what = f"reached in {time_s:.1f} s ({epochs:.3g} epochs)"
    elif status == "ok":
        best = target.get("best_validation")
        what = "[yellow]not reached[/]" + (f" (best {best:.4g})" if best is not None else "")
    else:
        what = f"[yellow]{status}[/]: {escape(str(record.get('reason', '')))}"
    wall = f" ({record['wall_s']:.0f} s)" if record.get("wall_s") else ""
    label = escape(f"[{n}/{total}] {case.label()}, seed {record['seed']}: ")
    err.print(label + what + wall, soft_wrap=True)


def target_table(title: str, rows: Sequence[dict]) -> RenderableType:
    """`zoo bench --suite time-to-target`: a row per case, medians over its seeds; a
    target the median run did not reach reads "not reached", never a number."""
    from zoo.perf.summary import target_cells, target_setting

    cells = target_cells(list(rows))
    columns = [Col("model"), Col("dataset"), Col("target (validation)")]
    # The cells are text already (a median that was not reached reads so): right-aligned.
    kinds = {"test metric": "name", "vs default": "text"}
    columns += [Col(h, kinds.get(h, "count")) for h in cells]
    body = [
        [
            r["model"] + (" (tuned)" if r["tuned"] else ""),
            r["dataset"],
            r["target_spec"],
            *(c[i] for c in cells.values()),
        ]
        for i, r in enumerate(rows)
    ]
    columns += [Col("setting", "text"), Col("status", "text")]
    for cells_of_row, r in zip(body, rows, strict=True):
        reason = f": {r['reason']}" if r["reason"] else ""
        cells_of_row += [target_setting(r), r["status"] + reason]
    return table(title, columns, body)


# ---- the views of `zoo profile` and `zoo peak` ----


def profile_view(r: Any) -> RenderableType:
    """A ProfileResult as labelled lines, each with its unit."""
    t, i = r.train, r.infer
    rows = [
        ("parameters", r.params),
        ("FLOPs / sample (forward)", r.flops["forward_per_sample"]),
        ("FLOPs / sample (train step)", r.flops["train_per_sample"]),
        ("first step: trace + compile", f"{r.compile_s:.2f} s"),
        (
            "train step (median, p10-p90)",
            f"{t['step_ms_median']:.2f} ms ({t['step_ms_p10']:.2f}-{t['step_ms_p90']:.2f})",
        ),
        ("train throughput", f"{t['samples_per_s']:,.0f} samples/s"),
        ("train FLOP/s", f"{r.train_flops_per_s / 1e9:,.2f} GFLOP/s"),
        ("MFU", _mfu_text(r)),
        (
            "inference latency, batch 1 (p50/p90/p99)",
            f"{i['p50_ms']:.2f} / {i['p90_ms']:.2f} / {i['p99_ms']:.2f} ms",
        ),
        (f"inference throughput, batch {r.batch_size}", f"{i['samples_per_s']:,.0f} samples/s"),
        ("peak memory", f"{r.peak_memory_mb:,.0f} MB"),
        ("XLA really ran", "yes" if r.resolved["jit_compile"] else "no"),
    ]
    probe = r.resolved.get("jit_probe")
    if probe:
        rows.append(
            (
                "auto: probe step, graph / XLA",
                f"{probe['graph_step_ms']:.2f} / {probe['xla_step_ms']:.2f} ms"
                + (" (cached)" if probe["cached"] else ""),
            )
        )
    parts = (r.model, r.backend, r.device, r.mode, r.precision, f"batch {r.batch_size}")
    view = key_values(" · ".join(parts), rows)
    v = r.bottleneck
    if not v:
        return view
    lines = [f"bottleneck: {v['kind']} ({v['evidence']})", f"try: {v['advice']}"]
    return Group(view, *(Text(line) for line in lines))


def _mfu_text(r: Any) -> str:
    """MFU with the peak behind it: its figure, dtype, matmul precision and provenance."""
    p = r.peak or {}
    if r.mfu is None:
        return f"- (no device peak: {p['error']})" if p.get("error") else "- (no device peak)"
    if p.get("source") == "given":
        return f"{r.mfu:.1%} of the given {p['matmul_flops_per_s'] / 1e9:,.1f} GFLOP/s"
    when = "cached" if p.get("cached") else f"measured now in {p.get('measure_s', 0):.1f} s"
    matmul = (p.get("matmul") or {}).get("matmul_precision")
    peak = p["matmul_flops_per_s"] / 1e9
    return f"{r.mfu:.1%} of {peak:,.1f} GFLOP/s ({p.get('dtype')}, matmul {matmul}, {when})"


def _load(load: float | None, cores: int | None) -> str:
    """The machine's load while the peak was measured (other work lowers the peak)."""
    if load is None:
        return "-"
    busy = " (busy: measure again when idle)" if cores and load > cores else ""
    return f"{load:.1f}" + (f" on {cores} cores" if cores else "") + busy


def _tf32(allowed: bool | None) -> str:
    return {True: "TF32 allowed (on a GPU that has it)", False: "TF32 off"}.get(allowed, "TF32 -")


def peak_view(r: dict) -> RenderableType:
    """`zoo peak`'s measurement: matmul FLOP/s and copy bandwidth, and what it is keyed by."""
    fp = r.get("fingerprint") or {}
    if "gpu" in fp:
        machine = f"{fp['gpu']} (driver {fp.get('gpu_driver') or 'unknown'})"
    else:
        flags = fp.get("cpu_flags")
        shown = ", ".join(flags) if flags else "none listed"
        machine = f"{fp.get('cpu')}, {fp.get('cores')} cores ({shown})"
    matmul = r.get("matmul") or {}
    tf32 = (matmul.get("tf32") or {}).get("matmul")
    return key_values(
        f"peak of {r['device']} ({r['backend']}, {r['dtype']})",
        [
            ("matmul", f"{r['matmul_flops_per_s'] / 1e9:,.1f} GFLOP/s ({r['size']}x{r['size']})"),
            ("memory copy", f"{r['copy_bytes_per_s'] / 1e9:,.1f} GB/s"),
            ("machine", machine),
            ("float32 matmuls", f"precision {matmul.get('matmul_precision')}, {_tf32(tf32)}"),
            ("measured in", f"{r.get('measure_s', 0):.1f} s"),
            ("load average then", _load(r.get("load_average"), fp.get("cores"))),
        ],
    )


# ---- zoo parity ----

PARITY_COLUMNS = (
    Col("backend"),
    Col("fwd max|Δ| ε", "number"),
    Col("fwd rel ε", "number"),
    Col("loss₁ rel ε", "number"),
    Col("worst grad rel ε", "number"),
    Col("its tensor"),
    Col("curve max ε", "number"),
    Col("final ε", "number"),
    Col("metric", "value"),
    Col("samples/s", "throughput"),
    Col("verdict", "text"),
)


def _in_eps(row: dict, key: str, eps: float) -> float | None:
    value = row.get(key)
    return None if value is None else value / eps


def parity_table(report: dict) -> RenderableType:
    """`zoo parity`: a row per backend, every difference in multiples of the compute
    dtype's eps, against the first backend."""
    from zoo.perf.parity import COMPUTE_EPS

    eps = COMPUTE_EPS[report["precision"]]
    body = []
    for r in report["rows"]:
        verdict = r["verdict"] + (f": {r['detail']}" if r.get("detail") else "")
        if r["status"] != "ok":
            verdict = f"{r['status']}: {r.get('reason', '')}"
        cells = [_in_eps(r, k, eps) for k in ("forward_max_abs", "forward_max_rel")]
        cells += [_in_eps(r, k, eps) for k in ("loss_step1_rel", "gradient_worst_rel")]
        cells += [r.get("gradient_worst")]
        cells += [_in_eps(r, k, eps) for k in ("curve_max_rel", "curve_final_rel")]
        body.append([r["backend"], *cells, r.get("metric"), r.get("samples_per_s"), verdict])
    title = (
        f"{report['model']}: {report['steps']} steps of {report['optimizer']} "
        f"(lr {report['learning_rate']}), batch {report['batch_size']}, {report['precision']}"
    )
    return table(title, PARITY_COLUMNS, body)


def parity_notes(report: dict) -> str:
    """The lines under `zoo parity`'s table: eps, tolerances, metric, what was changed."""
    from zoo.perf.parity import COMPUTE_EPS

    eps, tol = COMPUTE_EPS[report["precision"]], report["tolerance"]
    lines = [
        f"ε = {eps:.3g} ({report['precision']}); differences relative to the largest value of "
        f"the first backend. Tolerances: forward and loss₁ {tol['forward'] / eps:,.0f}ε, "
        f"gradients {tol['gradient'] / eps:,.0f}ε (+ the SGD-trick floor), loss at step t "
        f"{tol['forward'] / eps:,.0f}ε + t·{tol['curve_per_step'] / eps:,.0f}ε (docs/parity.md).",
        f"metric: {report['metric']} on the evaluation batch after {report['steps']} steps; "
        f"the data's optimum: {fmt(report['optimum'])}.",
    ]
    if report["dropout_off"]:
        lines.append(f"set to 0.0 for parity: {', '.join(report['dropout_off'])}.")
    return "\n".join(escape(line) for line in lines)


def parity_backend_done(backend: str, result: dict) -> None:
    """`zoo parity`'s line on stderr as each backend's process finishes."""
    status = result.get("status")
    what = "done" if status == "ok" else f"[yellow]{status}[/]: {escape(str(result.get('reason')))}"
    wall = f" ({result['wall_s']:.0f} s)" if result.get("wall_s") else ""
    err.print(f"{escape(backend)}: {what}{wall}", soft_wrap=True)


def parity_model_done(n: int, total: int, req: Any, record: dict) -> None:
    """`zoo bench --suite parity`'s line on stderr as each model finishes."""
    if record.get("status") != "ok":
        what = f"[yellow]{record.get('status')}[/]: {escape(str(record.get('reason')))}"
    else:
        what = ", ".join(f"{r['backend']} {r['verdict']}" for r in record["rows"])
    err.print(f"[{n}/{total}] {escape(req.model)}: {what}", soft_wrap=True)


# --- zoo export and zoo evaluate --quantize: two versions of a model side by side -------


def _side_by_side(title: str, r: dict, sides: list[str], labels: list[str]) -> RenderableType:
    """One row per measure, a column per version and the change from the first to the
    second (a difference for metrics, a ratio for size and speed); each row has its own
    precision."""
    a, b = sides
    timing = r["timing"]
    batch = timing[a]["batch_size"]
    rows = []
    for m in r["metrics"][a]:
        values = [r["metrics"][a][m], r["metrics"][b][m]]
        rows.append([m, *column(values, "number"), *column([values[1] - values[0]], "number")])
    measures = [
        ("size (MB)", [r["size_bytes"][s] / 1e6 for s in sides], "MB"),
        ("latency p50, batch 1 (ms)", [timing[s]["p50_ms"] for s in sides], "ms"),
        ("latency p99, batch 1 (ms)", [timing[s]["p99_ms"] for s in sides], "ms"),
        (
            f"throughput, batch {batch} (samples/s)",
            [timing[s]["samples_per_s"] for s in sides],
            "throughput",
        ),
    ]
    for name, values, kind in measures:
        ratio = values[1] / values[0] if values[0] else None
        change = f"x{column([ratio], 'ratio')[0]}" if ratio else "-"
        rows.append([name, *column(values, kind), change])
    cols = [Col(""), Col(labels[0], "number"), Col(labels[1], "number"), Col("change", "number")]
    return table(title, cols, rows)


def contract_view(c: dict) -> RenderableType:
    """The artifact's input contract: one row per input."""
    rows = [
        [
            i["name"],
            str(i["shape"]).replace("None", "batch"),
            i["dtype"],
            "-" if "range" not in i else f"{i['range'][0]}..{i['range'][1] or '?'}",
            i["scaling"],
        ]
        for i in c["inputs"]
    ]
    return table(
        "Input contract",
        [Col("input"), Col("shape"), Col("dtype"), Col("range"), Col("scaling", "text")],
        rows,
    )


def _by_dtype(weight_bytes: dict[str, int]) -> str:
    sizes = column([n / 1e6 for n in weight_bytes.values()], "MB")
    return ", ".join(f"{dtype} {size}" for dtype, size in zip(weight_bytes, sizes, strict=True))


def export_view(r: dict) -> RenderableType:
    """What `zoo export` wrote and measured: the comparison, the parity, the contract."""
    q = f", {r['quantize']}" if r["quantize"] else ""
    title = (
        f"{r['model']} as {r['format']}{q} vs Keras on {r['dataset']} test "
        f"({r['num_examples']:,} examples)"
    )
    p = r["parity"]
    worst = max(p["max_abs_diff"]) if p["max_abs_diff"] else 0.0
    if p["tolerance"] is None:
        verdict = "reported, not checked (see the notes)"
    else:
        bound = f"tolerance {p['tolerance']:.2g} x max(1, |output|)"
        verdict = f"{'outside' if p['failing'] else 'within'} {bound}"
    lines = [
        Text(f"max |artifact - Keras| = {worst:.3g}: {verdict}"),
        Text(f"Weights stored in the artifact (MB): {_by_dtype(r['weight_bytes'])}"),
        Text(f"Wrote {r['artifact']} and its contract {r['contract_path']}"),
        *(Text(f"Note: {n}", style="yellow") for n in r["notes"]),
    ]
    return Group(
        _side_by_side(title, r, ["keras", "artifact"], ["Keras", r["format"]]),
        Text(""),
        *lines,
        Text(""),
        contract_view(r["contract"]),
    )


def quantized_view(r: dict) -> RenderableType:
    """`zoo evaluate --quantize`: float32 and quantized side by side, and what changed."""
    mode, report = r["mode"], r["report"]
    n = r["num_examples"]
    title = f"{r['model']} float32 vs {mode} on {r['dataset']} test ({n:,} examples)"
    better = "higher" if r["higher_is_better"] else "lower"
    lines = [
        Text(
            f"{r['headline']}: {better} is better; max |{mode} - float32| output "
            f"difference {r['max_abs_diff']:.3g}"
        ),
        Text(f"Quantized to {mode}: {', '.join(report['quantized'])}"),
        Text(f"Kept float32: {', '.join(report['kept_float']) or 'none'}"),
    ]
    return Group(_side_by_side(title, r, ["float32", mode], ["float32", mode]), Text(""), *lines)


# --- zoo profile --quantize and --inference: per batch size, side by side ---------------


def _per_batch_table(
    title: str, rows: dict[str, list[dict]], labels: dict[str, str]
) -> RenderableType:
    """One row per batch size: p50, p99 and samples/s of each side, and the second's
    throughput over the first's."""
    sides = list(labels)
    cols, body = [Col("batch", "count")], []
    for s in sides:
        cols += [Col(f"{labels[s]} p50 ms", "ms"), Col(f"{labels[s]} p99 ms", "ms")]
        cols.append(Col(f"{labels[s]} samples/s", "throughput"))
    if len(sides) == 2:
        cols.append(Col(f"{labels[sides[1]]} / {labels[sides[0]]}", "ratio"))
    for i, first in enumerate(rows[sides[0]]):
        cells = [first["batch_size"]]
        for s in sides:
            cells += [rows[s][i][k] for k in ("p50_ms", "p99_ms", "samples_per_s")]
        if len(sides) == 2:
            cells.append(rows[sides[1]][i]["samples_per_s"] / first["samples_per_s"])
        body.append(cells)
    return table(title, cols, body)


def quantized_profile_view(r: dict) -> RenderableType:
    """`zoo profile NAME --quantize MODE`: inference of both per batch, sizes, layers."""
    mode = r["mode"]
    title = f"{r['model']} float32 vs {mode} · {r['backend']} · {r['device']} · inference"
    sizes = [("weights (MB)", r["weight_bytes"])]
    size_rows = []
    for name, pair in sizes:
        a, b = pair["float32"] / 1e6, pair[mode] / 1e6
        size_rows.append([name, *column([a, b], "MB"), f"x{column([b / a], 'ratio')[0]}"])
    t = r["train"]
    lines = [
        Text(
            f"float32 training step, batch {r['batch_size']}: {t['step_ms_median']:.2f} ms "
            f"({t['samples_per_s']:,.0f} samples/s); {mode}: not timed"
        ),
        Text(f"Quantized to {mode}: {', '.join(r['quantized'])}"),
        Text(f"Kept float32: {', '.join(r['kept_float']) or 'none'}"),
        *(Text(f"Note: {n}", style="yellow") for n in r["notes"]),
    ]
    size_cols = [Col(""), Col("float32", "number"), Col(mode, "number"), Col("change", "number")]
    return Group(
        _per_batch_table(title, r["rows"], {"float32": "float32", mode: mode}),
        Text(""),
        table(None, size_cols, size_rows),
        Text(""),
        *lines,
    )


def inference_profile_view(r: dict) -> RenderableType:
    """`zoo profile NAME --inference [--format FMT]`: latency and throughput per batch."""
    fmt = r["format"]
    title = f"{r['model']} inference · {r['backend']} · {r['device']}" + (
        f" · Keras vs {fmt} (interleaved)" if fmt else ""
    )
    labels = {"keras": "Keras", **({fmt: fmt} if fmt else {})}
    parts: list[RenderableType] = [_per_batch_table(title, r["rows"], labels)]
    if fmt:
        parts.append(
            Text(
                f"{fmt} artifact: {r['artifact_bytes'] / 1e6:.2f} MB (written to a "
                "temporary folder, run in its own runtime)"
            )
        )
    parts += [Text(f"Note: {n}", style="yellow") for n in r["notes"]]
    return Group(*parts)


def settings_text(s: dict[str, Any]) -> str:
    """A trial's settings in a few words: execution, then the recipe."""
    parts = [] if s.get("backend", "tensorflow") == "tensorflow" else [s["backend"]]
    parts.append("xla" if s.get("jit_compile") else "graph")
    if s.get("steps_per_execution", 1) != 1:
        parts.append(f"spe {s['steps_per_execution']}")
    if s.get("precision", "float32") != "float32":
        parts.append(s["precision"])
    if s.get("threads"):
        parts.append(f"{s['threads']} threads")
    if "batch_size" in s:
        parts.append(f"batch {s['batch_size']}")
    if "learning_rate" in s:
        parts.append(f"{s.get('optimizer', '')} lr {s['learning_rate']:g}".strip())
    if s.get("schedule", "constant") != "constant":
        parts.append(s["schedule"])
    for key, label in (("weight_decay", "wd"), ("label_smoothing", "ls")):
        if s.get(key):
            parts.append(f"{label} {s[key]:g}")
    for k, v in (s.get("model_kwargs") or {}).items():
        parts.append(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}")
    if "epochs" in s and "learning_rate" in s:
        parts.append(f"<= {plural(s['epochs'], 'epoch')}")
    return ", ".join(parts)


def _trial_outcome(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['status']}: {row.get('reason') or ''}"
    if "reached" not in row:
        speed = row.get("samples_per_s")
        return "-" if speed is None else f"{speed:,.0f} samples/s"
    if not row["reached"]:
        best = row.get("best_validation")
        return "target not reached" + ("" if best is None else f" (best {best:.4g})")
    return f"reached in {row['time_to_target_s']:.1f} s ({row['epochs_to_target']:g} epochs)"


def tune_trial_done(stage: str, row: dict[str, Any]) -> None:
    """`zoo tune`'s line on stderr as each trial finishes."""
    err.print(
        escape(f"{stage:9} {settings_text(row['settings'])}: {_trial_outcome(row)}")
        + f" ({row.get('wall_s') or 0:.0f} s)",
        soft_wrap=True,
        highlight=False,
    )


def tune_table(result: dict[str, Any]) -> RenderableType:
    """The recipe trials, fastest to target first; the default route is marked."""
    trials = result["trials"]
    order = sorted(trials, key=lambda t: (not t.get("reached"), t.get("time_to_target_s") or 0))
    rows = []
    for t in order:
        role = "default" if t is result["default"] else ("winner" if t is result["winner"] else "")
        reached = t.get("reached")
        rows.append(
            [
                role,
                t.get("time_to_target_s") if reached else None,
                t.get("steps_to_target") if reached else None,
                t.get("epochs_to_target") if reached else None,
                t.get("test_metric") if reached else None,
                settings_text(t["settings"])
                if t["status"] == "ok"
                else _trial_outcome(t) + "; " + settings_text(t["settings"]),
            ]
        )
    metric = result["target"].partition("=")[0]
    return table(
        f"{result['model']} on {result['dataset']}: time to {result['target']} (validation)",
        [
            Col(""),
            Col("time s", "s"),
            Col("steps", "count"),
            Col("epochs", "number"),
            Col(f"test {metric}", "value"),
            Col("settings", "text"),
        ],
        rows,
    )


def tune_notes(result: dict[str, Any]) -> list[str]:
    """Where the search spent its time, what it left out, and the speed-up it measured."""
    left_out = [e for e in result["execution"] if e["status"] == "left out"]
    notes = [
        f"Searched for {result['spent_s']:.0f} s of a {result['budget_s']:.0f} s budget: "
        f"{len(result['execution']) - len(left_out)} execution trials, "
        f"{len(result['trials'])} recipe trials, each in its own process. Fastest execution: "
        f"{settings_text(result['fastest_execution'])}."
    ]
    notes += [f"Left out {e['precision']}: {e['reason']}" for e in left_out]
    if result["winner"] is None:
        notes.append(
            "No trial reached the target: nothing was cached. Raise --budget or lower the target."
        )
    elif result["speedup"] is not None:
        notes.append(
            f"The winner reached the target {result['speedup']:.2f}x faster than the "
            "default route (one run each; `zoo bench --suite time-to-target` repeats)."
        )
    else:
        d = result["default"] or {}
        why = (
            "did not reach the target in its epochs"
            if d.get("status") == "ok"
            else f"did not finish ({d.get('status', 'not run')}: {d.get('reason') or '-'})"
        )
        notes.append(f"The default route {why}: no speed-up to report.")
    return notes


def tuned_table(entries: Sequence[dict[str, Any]]) -> RenderableType:
    """`zoo tune --show`: the cached winners of this machine."""
    rows = [
        [
            e["model"],
            e["dataset"],
            e["backend"],
            e["target"],
            e["time_to_target_s"],
            e.get("default_time_to_target_s"),
            e.get("test_metric"),
            e["created"][:10],
            settings_text(e["settings"]),
        ]
        for e in entries
    ]
    return table(
        "tuned on this machine",
        [
            Col("model"),
            Col("dataset"),
            Col("backend"),
            Col("target"),
            Col("time s", "s"),
            Col("default s", "s"),
            Col("test", "value"),
            Col("date"),
            Col("settings", "text"),
        ],
        rows,
    )
