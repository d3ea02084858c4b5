"""The views of `zoo profile` and `zoo peak`: a profile as labelled lines, the device peak,
and inference per batch size (float32 against int8, Keras against an exported format)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from zoo.cli.render import Col, column, key_values, table


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
        *_inference_rows(r, i),
        ("peak memory", _memory_text(r)),
        ("XLA really ran", "yes" if r.resolved["jit_compile"] else "no"),
    ]
    if r.resolved.get("replicas"):
        devices = ", ".join(r.resolved["replica_devices"])
        rows.append(("split over (data_parallel)", f"{r.resolved['replicas']} devices: {devices}"))
    e = r.energy or {}
    if e.get("source"):
        rows.append(
            (
                "GPU power, energy per sample",
                f"{e['mean_watts']:,.0f} W, {1e3 * e['joules_per_sample']:,.3f} mJ ({e['source']})",
            )
        )
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


def _inference_rows(r: Any, i: dict) -> list[tuple[str, str]]:
    if i.get("p50_ms") is None:  # split over devices: a batch of 1 does not split
        return [("inference", "- (not timed across devices: a batch of 1 does not split)")]
    return [
        (
            "inference latency, batch 1 (p50/p90/p99)",
            f"{i['p50_ms']:.2f} / {i['p90_ms']:.2f} / {i['p99_ms']:.2f} ms",
        ),
        (f"inference throughput, batch {r.batch_size}", f"{i['samples_per_s']:,.0f} samples/s"),
    ]


def _memory_text(r: Any) -> str:
    if r.peak_memory_mb is None:
        return "- (the backend keeps no statistics for this device)"
    where = "device" if r.device.startswith("gpu") else "process resident set"
    return f"{r.peak_memory_mb:,.0f} MB ({where})"


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
