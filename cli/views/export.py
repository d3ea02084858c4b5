"""The views of `zoo export` and `zoo evaluate --quantize`: two versions of a model side
by side (metrics, size, latency, throughput), the parity and the input contract."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from zoo.cli.render import Col, column, table

from zoo.formatting import ratio_text


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


def speed_lines(r: dict, labels: list[str]) -> list[Text]:
    """The speed of the second version over the first, from the interleaved turns, with
    its interval and verdict (`zoo.deploy.verify.speedup`); none for a report without it."""
    s = r.get("speedup")
    if not s:
        return []
    lat, thr = s["latency"], s["throughput"]
    batch = next(iter(r["timing"].values()))["batch_size"]
    return [
        Text(
            f"Speed of {labels[1]} over {labels[0]} ({lat['confidence']:.0%} interval, "
            f"{lat['repeats']} and {thr['repeats']} interleaved turns): batch 1 "
            f"{ratio_text(lat, 'turns')}; batch {batch} {ratio_text(thr, 'turns')}"
        )
    ]


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
        *speed_lines(r, ["Keras", r["format"]]),
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
        *speed_lines(r, ["float32", mode]),
        Text(
            f"{r['headline']}: {better} is better; max |{mode} - float32| output "
            f"difference {r['max_abs_diff']:.3g}"
        ),
        Text(f"Quantized to {mode}: {', '.join(report['quantized'])}"),
        Text(f"Kept float32: {', '.join(report['kept_float']) or 'none'}"),
    ]
    return Group(_side_by_side(title, r, ["float32", mode], ["float32", mode]), Text(""), *lines)
