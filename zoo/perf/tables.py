"""The tables of benchmark results, each described once as a `zoo.table.Table`.

`zoo bench` lays them out on the terminal (`zoo.cli.render.rich`), `zoo.perf.summary`
writes their Markdown beside a results file and `benchmarks/report.py` puts the same
Markdown into docs/results.md: one description, so the three cannot disagree on a column,
its precision or its spread. Each takes the rows of `zoo.perf.summary` (`summarize`,
`reference_ratios`). The cells every kind shares (`status`, `ratio_column`, `verdict_of`,
`data_table`) are here too: the time-to-target table is `zoo.perf.target.table`, built
from them. Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zoo import stats
from zoo.table import Column, Table

# A verdict of `zoo.stats` as a table cell.
VERDICT_CELLS = {"no difference detected": "no difference", "too few repeats": "1 repeat"}


def verdict_of(key: str) -> Callable[[dict], str | None]:
    """The cell text of a ratio's verdict, `{key}_verdict` of the row."""

    def cell(row: dict) -> str | None:
        verdict = row.get(f"{key}_verdict")
        return VERDICT_CELLS.get(verdict, verdict) if verdict else None

    return cell


def ratio_column(header: str, key: str, confidence: float) -> Column:
    """A ratio with its paired interval and verdict: `1.50x [1.42-1.61] faster`."""
    return Column(
        f"{header} [{confidence:.0%} interval]",
        "ratio",
        key,
        (f"{key}_low", f"{key}_high"),
        "x",
        verdict=verdict_of(key),
        csv=key,
    )


def setting(row: dict) -> str:
    """How a case ran: its mode, the steps fused per call, and the device and backend
    where they are not the CPU and TensorFlow."""
    spe = row.get("steps_per_execution", 1) or 1
    parts = [row["mode"] + (f" spe{spe}" if spe != 1 else "")]
    parts += [row["device"]] if row.get("device", "cpu") != "cpu" else []
    parts += [f"x{row['replicas']}"] if row.get("replicas", 1) != 1 else []
    parts += [row["backend"]] if row.get("backend", "tensorflow") != "tensorflow" else []
    return " ".join(parts)


def quantized_label(row: dict) -> str:
    """The precision of a case, with the weights' quantization where it has one."""
    q = row.get("quantize", "none")
    return row["precision"] if q == "none" else f"{row['precision']}, {q} weights"


def status(row: dict) -> str:
    """The status, why where it failed, and the runner's note (a retried batch)."""
    return (
        row["status"]
        + (f": {row['reason']}" if row.get("reason") else "")
        + (f" ({row['note']})" if row.get("note") else "")
    )


def bottleneck(row: dict) -> str | None:
    """The verdict and the figures that decided it (None: no record could be judged)."""
    kind, evidence = row.get("bottleneck"), row.get("bottleneck_evidence")
    return f"{kind}: {evidence}" if kind and evidence else kind


def _present(key: str) -> Callable[[dict], float | None]:
    """A figure where it was measured (a zero is "not measured": a quantized case)."""
    return lambda row: row.get(key) or None


def bench_table(
    rows: Sequence[dict],
    baseline: str,
    baseline_precision: str | None = None,
    confidence: float = stats.CONFIDENCE,
    title: str | None = None,
) -> Table:
    """`zoo bench`'s table: one row per case (`summarize`), the fastest setting of each
    model emphasized, the speed-up over the baseline with its interval and verdict. A
    quantized case adds its inference columns; rows annotated by
    `zoo.perf.bottleneck.annotate_rows` add the verdict with its evidence."""
    versus = f"speed-up vs {baseline}" + (f" {baseline_precision}" if baseline_precision else "")
    rate = ("train_samples_per_s_min", "train_samples_per_s_max")
    columns = [
        Column("model"),
        Column("params", "count", "num_params"),
        Column("FLOPs/sample", "count", "flops_per_sample"),
        Column("setting", key=setting),
        Column("precision", key=quantized_label),
        Column("batch", "count", "batch_size"),
        Column(
            "train samples/s (min-max)", "throughput", "train_samples_per_s", rate, "", "fastest"
        ),
        ratio_column(versus, "speedup", confidence),
        Column("infer p50 ms", "ms", _present("infer_p50_ms")),
        Column("compile s", "s", _present("compile_s")),
        Column("peak MB", "MB", _present("peak_memory_mb")),
        Column("MFU", "%", "mfu"),
    ]
    if any(r.get("quantize", "none") != "none" for r in rows):  # inference side by side
        columns.append(Column("infer samples/s", "throughput", "infer_samples_per_s"))
        columns.append(ratio_column("infer vs float32", "infer_vs_float32", confidence))
    if any(r.get("replicas", 1) != 1 for r in rows):  # data_parallel over N devices
        columns.append(ratio_column("scaling efficiency", "scaling", confidence))
    if any(r.get("power_w") is not None for r in rows):  # NVML read a GPU's energy
        columns.append(Column("GPU W", "throughput", "power_w"))
        columns.append(Column("mJ/sample", "number", "energy_mj_per_sample"))
    if any(r.get("bottleneck") for r in rows):
        columns.append(Column("bottleneck: evidence", "text", bottleneck))
    columns.append(Column("status", "text", status))
    return Table(title, columns, list(rows))


def reference_table(
    refs: Sequence[dict], confidence: float = stats.CONFIDENCE, title: str | None = None
) -> Table:
    """The zoo's step against the hand-written references (`reference_ratios`), as ratios
    with their paired intervals and verdicts."""
    columns = [
        Column("model"),
        Column("comparison"),
        ratio_column("ratio", "ratio", confidence),
        Column("repeats", "count"),
    ]
    return Table(title, columns, list(refs))


def interval_note(confidence: float = stats.CONFIDENCE) -> str:
    """What the `[low-high]` of a ratio cell is (a line under a table)."""
    return (
        f"Ratios: the median of the per-repeat ratios, then [the {confidence:.0%} interval "
        "of their geometric mean] from the repeats paired as they ran interleaved (t "
        "interval on log-ratios, zoo.stats), and the verdict: faster or slower where the "
        "interval excludes 1, no difference where it holds 1. A ratio of one repeat has no "
        "interval."
    )


def data_table(rows: Sequence[dict], kinds: dict[str, str | None]) -> Table:
    """Every field of the rows, one column each (a number kind, or None: as it is): the
    CSV beside a results file, for spreadsheets and scripts."""
    return Table(None, [Column(k, kind or "name", k) for k, kind in kinds.items()], list(rows))
