"""Summaries of suite results: the rows of the tables; `zoo.perf.tables` describes them.

`summarize` gives one row per case (medians over repeats, spread, speed-up over the suite's
baseline), `by_backend` pivots it per backend, `reference_ratios` compares the zoo with the
hand-written references, and `write_tables` writes the summary as CSV and Markdown beside
the results file (`zoo.perf.compare` matches two result files). The tables themselves, the
same on the terminal, beside the results and in docs/results.md, are `zoo.perf.tables`.
The other suite kinds sum up in their own modules (`zoo.perf.target.summarize`,
`zoo.perf.parity.summarize`); the helpers here (`ratio_fields`, `_get`, `_write`) serve
the target kind too, so this module imports no suite kind, nor `zoo.perf.suite` (which
reads a target suite through `zoo.perf.target`).

Every ratio (the speed-up over the baseline, zoo against a reference, quantized against
float32) comes with a confidence interval and a verdict from `zoo.stats.paired`: the two
sides ran interleaved, so repeat i of one is paired with repeat i of the other.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zoo import io, stats
from zoo.formatting import KINDS, format_column, format_spread, is_number  # noqa: F401
from zoo.perf import bottleneck, tables

# What each reference mode is, as the tables name it.
REFERENCE_NAMES = {"ref_tf": "hand-written tf.function loop", "ref_torch": "PyTorch eager"}

# --- summaries ---------------------------------------------------------------------------


def _get(record: dict, dotted: str):
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _rates(records: Iterable[dict], dotted: str = "train.samples_per_s") -> dict[int, float]:
    """A throughput of the successful records (training samples/s), by repeat."""
    found = {r.get("repeat", 0): _get(r, dotted) for r in records if r.get("status") == "ok"}
    return {k: v for k, v in found.items() if is_number(v) and v > 0}


def paired_rates(
    top: Iterable[dict], bottom: Iterable[dict], dotted: str = "train.samples_per_s"
) -> tuple[list, list]:
    """(bottom's, top's) throughputs (`dotted`, default training samples/s) of the repeats
    both have, in repeat order (the runs were interleaved: repeat i of each is a pair)."""
    a, b = _rates(bottom, dotted), _rates(top, dotted)
    shared = sorted(set(a) & set(b))
    return [a[k] for k in shared], [b[k] for k in shared]


def ratio_fields(a: list[float], b: list[float], prefix: str, confidence: float) -> dict[str, Any]:
    """b / a paired by position: `{prefix}_low`, `_high`, `_verdict`, `_repeats_needed`
    (`zoo.stats`); all None without a pair."""
    if not a:
        return dict.fromkeys((f"{prefix}_{k}" for k in stats.FIELDS), None)
    return stats.paired(a, b, confidence).fields(prefix)


def _median(ok: list[dict], dotted: str) -> float | None:
    """The median of a field over the successful repeats; None if any lacks it."""
    values = [_get(r, dotted) for r in ok]
    return statistics.median(values) if ok and None not in values else None


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _present(ok: list[dict], dotted: str) -> list:
    """The values of a field in the records that have it."""
    return [v for v in (_get(r, dotted) for r in ok) if v is not None]


def model_kwargs(record: dict) -> dict:
    """A record's hyper-parameters: `model_kwargs`; in records written before it, `params`
    where it is still a dict (a case that did not run), else the case key's sixth field
    (the worker's parameter count overwrote `params`)."""
    if "model_kwargs" in record:
        return record["model_kwargs"] or {}
    if isinstance(record.get("params"), dict):
        return record["params"]
    fields = record["case"].split("|")
    return json.loads(fields[5]) if len(fields) > 5 and fields[5] else {}


def num_params(record: dict) -> int | None:
    """A record's parameter count: `num_params`, or `params` in records written before it."""
    count = record.get("num_params", record.get("params"))
    return count if isinstance(count, int) else None


def _row(key: str, recs: list[dict]) -> dict[str, Any]:
    """One case's row: the fields that name it, then medians over its repeats."""
    ok = [r for r in recs if r.get("status") == "ok"]
    first = recs[0]
    # A quantized case is inference only: no training figures.
    sps = [r["train"]["samples_per_s"] for r in ok if r.get("train")]
    return {
        "case": key,
        **{k: first[k] for k in ("model", "mode", "precision", "batch_size", "device")},
        "model_kwargs": model_kwargs(first),
        "steps_per_execution": first.get("steps_per_execution", 1),
        "backend": first.get("backend", "tensorflow"),
        "quantize": first.get("quantize", "none"),
        "replicas": first.get("replicas", 1),
        "status": "ok" if ok else recs[-1].get("status", "?"),
        "reason": None if ok else recs[-1].get("reason"),
        "repeats": len(ok),
        "num_params": num_params(ok[0]) if ok else None,
        "flops_per_sample": _get(ok[0], "flops.forward_per_sample") if ok else None,
        "train_samples_per_s": statistics.median(sps) if sps else None,
        "train_samples_per_s_min": min(sps) if sps else None,
        "train_samples_per_s_max": max(sps) if sps else None,
        "step_ms_p10": _median(ok, "train.step_ms_p10"),
        "step_ms_p90": _median(ok, "train.step_ms_p90"),
        "infer_p50_ms": _median(ok, "infer.p50_ms"),
        "infer_samples_per_s": _median(ok, "infer.samples_per_s"),
        "compile_s": _median(ok, "compile_s"),
        "peak_memory_mb": max(peaks) if (peaks := _present(ok, "peak_memory_mb")) else None,
        "mfu": _median(ok, "mfu"),
        "power_w": _median(ok, "energy.mean_watts"),
        "energy_mj_per_sample": _scaled(_median(ok, "energy.joules_per_sample"), 1e3),
        "xla_ran": any(_get(r, "resolved.jit_compile") for r in ok) if ok else None,
        "note": next((r["note"] for r in recs if r.get("note")), None),
    }


def _quantized_ratio(ok: list[dict], confidence: float) -> dict[str, Any]:
    """A quantized case's inference throughput over the float32 model's, measured
    interleaved in the same process: the median over repeats, with its interval and
    verdict (paired by repeat); None for other cases."""
    pairs = [
        (r["float32_infer"]["samples_per_s"], r["infer"]["samples_per_s"])
        for r in ok
        if r.get("float32_infer")
    ]
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    median = statistics.median(y / x for x, y in pairs) if pairs else None
    return {"infer_vs_float32": median, **ratio_fields(a, b, "infer_vs_float32", confidence)}


def _row_key(row: dict, **changes) -> tuple:
    """The identity of a row (with `changes`) among the summary's rows, the dataset left
    out: the baseline of a pipeline case is the same model fed from memory."""
    names = ("model", "mode", "precision", "batch_size", "device", "steps_per_execution")
    fields = {k: row[k] for k in names}
    fields.update(params=json.dumps(row["model_kwargs"] or {}, sort_keys=True))
    fields.update(backend=row["backend"], quantize=row.get("quantize", "none"))
    fields.update(replicas=row.get("replicas", 1))
    return tuple(sorted({**fields, **changes}.items()))


def _speedup(
    row: dict, base: dict | None, by_case: dict[str, list[dict]], confidence: float
) -> dict[str, Any]:
    """The median of per-repeat ratios over the baseline, their range, and the paired
    interval and verdict (`zoo.stats`); the baseline's own row is 1 with no verdict."""
    if base is row and row["status"] == "ok" and row["train_samples_per_s"]:
        ones = dict.fromkeys(("speedup", "speedup_min", "speedup_max"), 1.0)
        return {**ones, **ratio_fields([], [], "speedup", confidence), **_ONE}
    a: list[float] = []
    b: list[float] = []
    if base and base is not row and row["status"] == base["status"] == "ok":
        a, b = paired_rates(by_case[row["case"]], by_case[base["case"]])
    ratios = [y / x for x, y in zip(a, b, strict=True)]
    return {
        "speedup": statistics.median(ratios) if ratios else None,
        "speedup_min": min(ratios, default=None),
        "speedup_max": max(ratios, default=None),
        **ratio_fields(a, b, "speedup", confidence),
    }


_ONE = {"speedup_low": 1.0, "speedup_high": 1.0}  # the baseline against itself


def summarize(
    records: Iterable[dict],
    baseline: str = "graph",
    baseline_precision: str | None = None,
    confidence: float = stats.CONFIDENCE,
) -> list[dict[str, Any]]:
    """One row per case: medians over repeats, spread, and speed-up over the baseline.

    The speed-up of a case is the median over repeats of (case / baseline) in the same
    repeat (interleaved pairs), with the range of those ratios as its spread, and the
    `confidence` interval of the geometric mean of those ratios with its verdict
    (`speedup_low`, `speedup_high`, `speedup_verdict`, `speedup_repeats_needed`).
    """
    by_case: dict[str, list[dict]] = {}
    for r in records:
        by_case.setdefault(r["case"], []).append(r)
    rows = []
    for key, recs in by_case.items():
        ok = [r for r in recs if r.get("status") == "ok"]
        rows.append({**_row(key, recs), **_quantized_ratio(ok, confidence)})
    index = {_row_key(r): r for r in rows if r["mode"] != "pipeline"}
    for row in rows:
        base = index.get(
            _row_key(
                row,
                mode=baseline,
                precision=baseline_precision or row["precision"],
                steps_per_execution=row["steps_per_execution"] if row["mode"] == "pipeline" else 1,
            )
        )
        row.update(_speedup(row, base, by_case, confidence))
        row.update(_scaling(row, index.get(_row_key(row, replicas=1)), by_case, confidence))
    _mark_fastest(rows)
    return rows


def _scaling(
    row: dict, one: dict | None, by_case: dict[str, list[dict]], confidence: float
) -> dict[str, Any]:
    """A case split over N devices against the same case on one: its scaling efficiency,
    the throughput ratio over N (1: linear), per repeat paired as they ran, the median,
    the interval and the verdict (`scaling_verdict`: above, below, or no difference from
    linear). Nothing for a one-device case."""
    n = row.get("replicas", 1)
    if n == 1 or not one or row["status"] != "ok" or one["status"] != "ok":
        return {}
    a, b = paired_rates(by_case[row["case"]], by_case[one["case"]])
    ideal = [n * x for x in a]
    ratios = [y / x for x, y in zip(ideal, b, strict=True)]
    fields = ratio_fields(ideal, b, "scaling", confidence)
    words = {"faster": "above linear", "slower": "below linear"}
    verdict = fields.get("scaling_verdict")
    fields["scaling_verdict"] = words.get(verdict, verdict)
    return {"scaling": statistics.median(ratios) if ratios else None, **fields}


def _mark_fastest(rows: list[dict[str, Any]]) -> None:
    best: dict[str, float] = {}
    for row in rows:
        if row["train_samples_per_s"]:
            best[row["model"]] = max(best.get(row["model"], 0), row["train_samples_per_s"])
    for row in rows:
        rate = row["train_samples_per_s"]
        row["fastest"] = bool(rate) and rate == best.get(row["model"])


def by_backend(rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The summary pivoted: one row per model and setting, the training throughput of each
    backend side by side (None where that backend has no result)."""
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    table: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (r["model"], r["mode"], r["precision"], r["batch_size"], r["device"])
        entry = table.setdefault(
            key, dict(zip(("model", "mode", "precision", "batch_size", "device"), key, strict=True))
        )
        entry[r["backend"]] = r["train_samples_per_s"]
        entry[f"{r['backend']}_status"] = r["status"]
        entry[f"{r['backend']}_xla"] = r["xla_ran"]
    return backends, list(table.values())


def _reference_pairs(variants: dict[tuple, list[dict]], baseline: str) -> list[tuple]:
    """(comparison, top variant, bottom variant) for one model and setting."""
    pairs = []
    for zoo_variant in sorted(v for v in variants if v[0] == baseline):
        spe = zoo_variant[1]
        label = f"zoo {baseline}" + (f" (steps_per_execution {spe})" if spe != 1 else "")
        for ref_mode, ref_name in REFERENCE_NAMES.items():
            for ref_variant in [v for v in variants if v[0] == ref_mode]:
                pairs.append((f"{label} / {ref_name}", zoo_variant, ref_variant))
        if ("pipeline", spe) in variants:
            name = f"tf.data pipeline on real data / {baseline} from memory"
            if spe != 1:
                name += f" (steps_per_execution {spe})"
            pairs.append((name, ("pipeline", spe), zoo_variant))
    return pairs


def reference_ratios(
    records: Iterable[dict], baseline: str = "fit", confidence: float = stats.CONFIDENCE
) -> list[dict[str, Any]]:
    """Ratios against the references, each the median over repeats of a ratio of two
    throughputs measured in the same repeat, with its min and max, and the paired
    `confidence` interval and verdict (`ratio_low`, `ratio_high`, `ratio_verdict`,
    `ratio_repeats_needed`: `zoo.stats`):

    - zoo `baseline` (each of its steps_per_execution) / each reference (ref_tf,
      ref_torch) of the same model, precision, batch and device;
    - the tf.data pipeline on real data / `baseline` from memory, at the same
      steps_per_execution.
    """
    by: dict[tuple, dict[tuple, list[dict]]] = {}
    for r in records:
        if r.get("status") == "ok":
            # A reference record written before records named their backend has none:
            # it ran beside TensorFlow, as every case did then.
            backend = r.get("backend") or "tensorflow"
            group = (r["model"], r["precision"], r["batch_size"], r["device"], backend)
            variant = (r["mode"], r.get("steps_per_execution", 1))
            by.setdefault(group, {}).setdefault(variant, []).append(r)
    out = []
    for key, variants in by.items():
        for name, top, bottom in _reference_pairs(variants, baseline):
            a, b = paired_rates(variants[top], variants[bottom])
            if a:
                out.append(_reference_row(key[0], name, a, b, confidence))
    return out


def _reference_row(model: str, name: str, a: list, b: list, confidence: float) -> dict:
    ratios = [y / x for x, y in zip(a, b, strict=True)]
    return {
        "model": model,
        "comparison": name,
        "ratio": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "repeats": len(ratios),
        **ratio_fields(a, b, "ratio", confidence),
    }


# --- written tables ----------------------------------------------------------------------

# The CSV's columns and the number kind of each (None: written as it is).
TABLE_KINDS: dict[str, str | None] = {
    "model": None,
    "num_params": "count",
    "flops_per_sample": "count",
    "mode": None,
    "precision": None,
    "batch_size": "count",
    "device": None,
    "status": None,
    "train_samples_per_s": "throughput",
    "train_samples_per_s_min": "throughput",
    "train_samples_per_s_max": "throughput",
    "infer_p50_ms": "ms",
    "compile_s": "s",
    "peak_memory_mb": "MB",
    "mfu": "fraction",
    "speedup": "ratio",
    "speedup_min": "ratio",
    "speedup_max": "ratio",
    "xla_ran": None,
    "repeats": "count",
    "note": None,
    "quantize": None,
    "infer_samples_per_s": "throughput",
    "infer_vs_float32": "ratio",
    # The paired intervals and verdicts of the two ratios (zoo.stats), after the columns
    # files written before them have.
    "speedup_low": "ratio",
    "speedup_high": "ratio",
    "speedup_verdict": None,
    "speedup_repeats_needed": "count",
    "infer_vs_float32_low": "ratio",
    "infer_vs_float32_high": "ratio",
    "infer_vs_float32_verdict": None,
    # data_parallel over N devices against one (zoo.perf.suite.Case.replicas)
    "replicas": "count",
    "scaling": "ratio",
    "scaling_low": "ratio",
    "scaling_high": "ratio",
    "scaling_verdict": None,
    # GPU power and energy over the timed steps (zoo.perf.energy; NVML only)
    "power_w": "throughput",
    "energy_mj_per_sample": "number",
}
TABLE_COLUMNS = list(TABLE_KINDS)


def write_tables(
    output: Path, records: list[dict], baseline: str, baseline_precision: str | None
) -> tuple[Path, Path]:
    """Writes the summary beside the JSON-lines file: the CSV (every field of every row)
    and the Markdown of `zoo.perf.tables` (the bench table, the reference ratios where
    there are, and what a ratio's interval is), as `zoo bench` prints them."""
    rows = summarize(records, baseline, baseline_precision)
    bottleneck.annotate_rows(rows, records)
    parts = [tables.bench_table(rows, baseline, baseline_precision).markdown()]
    refs = reference_ratios(records, baseline)
    if refs:
        parts.append(tables.reference_table(refs).markdown())
    parts.append(tables.interval_note() + "\n")
    return _write(output, tables.data_table(rows, TABLE_KINDS).csv(), "\n".join(parts))


def _write(output: Path, csv_text: str, markdown: str) -> tuple[Path, Path]:
    """The CSV and the Markdown beside `output`, each written atomically."""
    csv_path, md_path = output.with_suffix(".csv"), output.with_suffix(".md")
    with io.atomic_path(csv_path) as tmp:
        tmp.write_text(csv_text, encoding="utf-8")
    with io.atomic_path(md_path) as tmp:
        tmp.write_text(markdown, encoding="utf-8")
    return csv_path, md_path
