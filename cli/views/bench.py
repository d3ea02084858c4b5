"""The lines and tables of `zoo bench` and `zoo compare` that are theirs alone: a line as
each case finishes, the backends side by side, a setting in a few characters. The bench
and reference tables themselves are `zoo.perf.tables`, the time-to-target table
`zoo.perf.target.table` (each laid out by `render.rich`), shared with the Markdown beside
the results and docs/results.md."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from zoo.cli.render import Col, decimals, err, number, table

SHORT = {"float32": "f32", "mixed_bfloat16": "bf16", "mixed_float16": "f16"}


def compact_setting(row: dict) -> str:
    """A case's setting in a few characters (`xla f32 gpu`): where a line names one."""
    setting = f"{row['mode']} {SHORT.get(row['precision'], row['precision'])}"
    if row.get("device", "cpu") != "cpu":
        setting += f" {row['device']}"
    if row.get("backend", "tensorflow") != "tensorflow":
        setting += f" {row['backend']}"
    if row.get("quantize", "none") != "none":
        setting += f" {row['quantize']} inference"
    return setting


def backend_table(backends: Sequence[str], pivot: Sequence[dict]) -> RenderableType:
    """Training samples/s per backend, side by side (XLA/compiled marked with *)."""
    places = {b: decimals([p.get(b) for p in pivot], "throughput") for b in backends}
    body = []
    for p in pivot:
        cells = [p["model"], compact_setting(p)]
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
