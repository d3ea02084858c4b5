"""Summaries of suite results: the data of the tables (rows and columns); the CLI renders.

`summarize` gives one row per case (medians over repeats, spread, speed-up over the suite's
baseline), `by_backend` pivots it per backend, `reference_ratios` compares the zoo with the
hand-written references, `compare` matches two result files, and `write_tables` writes the
summary as CSV and Markdown beside the results file. `format_column` is the one rule that
prints a column of numbers with one precision: the written tables and the CLI use it.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Iterable
from io import StringIO
from pathlib import Path
from typing import Any

from zoo import io
from zoo.formatting import (  # noqa: F401
    KINDS,
    decimals,
    format_column,
    format_number,
    format_spread,
    is_number,
)
from zoo.perf.suite import case_key

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


def _rates(records: Iterable[dict]) -> dict[int, float]:
    """Training samples/s of the successful records, by repeat."""
    return {
        r["repeat"]: r["train"]["samples_per_s"]
        for r in records
        if r.get("status") == "ok" and r.get("train")
    }


def _ratios(top: Iterable[dict], bottom: Iterable[dict]) -> list[float]:
    """top / bottom throughput, paired by repeat (interleaved runs)."""
    a, b = _rates(top), _rates(bottom)
    return [a[k] / b[k] for k in a if k in b]


def _median(ok: list[dict], dotted: str) -> float | None:
    """The median of a field over the successful repeats; None if any lacks it."""
    values = [_get(r, dotted) for r in ok]
    return statistics.median(values) if ok and None not in values else None


def _row(key: str, recs: list[dict]) -> dict[str, Any]:
    """One case's row: the fields that name it, then medians over its repeats."""
    ok = [r for r in recs if r.get("status") == "ok"]
    first = recs[0]
    # A quantized case is inference only: no training figures.
    sps = [r["train"]["samples_per_s"] for r in ok if r.get("train")]
    return {
        "case": key,
        **{k: first[k] for k in ("model", "mode", "precision", "batch_size", "device")},
        "params": first.get("params", {}),
        "steps_per_execution": first.get("steps_per_execution", 1),
        "backend": first.get("backend", "tensorflow"),
        "quantize": first.get("quantize", "none"),
        "status": "ok" if ok else recs[-1].get("status", "?"),
        "reason": None if ok else recs[-1].get("reason"),
        "repeats": len(ok),
        "num_params": ok[0]["params"] if ok else None,
        "flops_per_sample": _get(ok[0], "flops.forward_per_sample") if ok else None,
        "train_samples_per_s": statistics.median(sps) if sps else None,
        "train_samples_per_s_min": min(sps) if sps else None,
        "train_samples_per_s_max": max(sps) if sps else None,
        "step_ms_p10": _median(ok, "train.step_ms_p10"),
        "step_ms_p90": _median(ok, "train.step_ms_p90"),
        "infer_p50_ms": _median(ok, "infer.p50_ms"),
        "infer_samples_per_s": _median(ok, "infer.samples_per_s"),
        "infer_vs_float32": _quantized_ratio(ok),
        "compile_s": _median(ok, "compile_s"),
        "peak_memory_mb": max(r["peak_memory_mb"] for r in ok) if ok else None,
        "mfu": _median(ok, "mfu"),
        "xla_ran": any(_get(r, "resolved.jit_compile") for r in ok) if ok else None,
        "note": next((r["note"] for r in recs if r.get("note")), None),
    }


def _quantized_ratio(ok: list[dict]) -> float | None:
    """A quantized case's inference throughput over the float32 model's, measured
    interleaved in the same process (median over repeats); None for other cases."""
    ratios = [
        r["infer"]["samples_per_s"] / r["float32_infer"]["samples_per_s"]
        for r in ok
        if r.get("float32_infer")
    ]
    return statistics.median(ratios) if ratios else None


def _row_key(row: dict, **changes) -> str:
    """The case key of a row (with `changes`), the dataset left out: the baseline of a
    pipeline case is the same model fed from memory."""
    # A record's `params` is the model's parameter count once it ran; its hyper-parameters
    # are in its case key, the sixth field.
    hyper = row["case"].split("|")[5]
    names = ("model", "mode", "precision", "batch_size", "device", "steps_per_execution")
    fields = {k: row[k] for k in names}
    fields.update(params=json.loads(hyper) if hyper else None, backend=row["backend"])
    fields["quantize"] = row.get("quantize", "none")
    return case_key(**{**fields, **changes})


def _speedup(row: dict, base: dict | None, by_case: dict[str, list[dict]]) -> dict[str, Any]:
    if base is row and row["status"] == "ok" and row["train_samples_per_s"]:
        return {"speedup": 1.0, "speedup_min": 1.0, "speedup_max": 1.0}
    ratios = []
    if base and base is not row and row["status"] == base["status"] == "ok":
        ratios = _ratios(by_case[row["case"]], by_case[base["case"]])
    if not ratios:
        return {"speedup": None, "speedup_min": None, "speedup_max": None}
    return {
        "speedup": statistics.median(ratios),
        "speedup_min": min(ratios),
        "speedup_max": max(ratios),
    }


def summarize(
    records: Iterable[dict], baseline: str = "graph", baseline_precision: str | None = None
) -> list[dict[str, Any]]:
    """One row per case: medians over repeats, spread, and speed-up over the baseline.

    The speed-up of a case is the median over repeats of (case / baseline) in the same
    repeat (interleaved pairs), with the range of those ratios as its spread.
    """
    by_case: dict[str, list[dict]] = {}
    for r in records:
        by_case.setdefault(r["case"], []).append(r)
    rows = [_row(key, recs) for key, recs in by_case.items()]
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
        row.update(_speedup(row, base, by_case))
    best: dict[str, float] = {}
    for row in rows:
        if row["train_samples_per_s"]:
            best[row["model"]] = max(best.get(row["model"], 0), row["train_samples_per_s"])
    for row in rows:
        rate = row["train_samples_per_s"]
        row["fastest"] = bool(rate) and rate == best.get(row["model"])
    return rows


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


def reference_ratios(records: Iterable[dict], baseline: str = "fit") -> list[dict[str, Any]]:
    """Ratios against the references, each the median over repeats of a ratio of two
    throughputs measured in the same repeat, with its min and max:

    - zoo `baseline` (each of its steps_per_execution) / each reference (ref_tf,
      ref_torch) of the same model, precision, batch and device;
    - the tf.data pipeline on real data / `baseline` from memory, at the same
      steps_per_execution.
    """
    by: dict[tuple, dict[tuple, list[dict]]] = {}
    for r in records:
        if r.get("status") == "ok":
            group = (r["model"], r["precision"], r["batch_size"], r["device"], r.get("backend"))
            variant = (r["mode"], r.get("steps_per_execution", 1))
            by.setdefault(group, {}).setdefault(variant, []).append(r)
    out = []
    for key, variants in by.items():
        for name, top, bottom in _reference_pairs(variants, baseline):
            ratios = _ratios(variants[top], variants[bottom])
            if ratios:
                out.append(
                    {
                        "model": key[0],
                        "comparison": name,
                        "ratio": statistics.median(ratios),
                        "min": min(ratios),
                        "max": max(ratios),
                        "repeats": len(ratios),
                    }
                )
    return out


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
}
TABLE_COLUMNS = list(TABLE_KINDS)


def csv_columns(rows: list[dict]) -> dict[str, list[str]]:
    """The CSV's columns as text: each number column with one precision, no separators."""
    return {
        name: format_column([r.get(name) for r in rows], kind, grouping=False, missing="")
        if kind
        else ["" if r.get(name) is None else str(r.get(name)) for r in rows]
        for name, kind in TABLE_KINDS.items()
    }


def _with_spread(rows: list[dict], key: str, kind: str, suffix: str = "") -> list[str]:
    """`key (min-max)` per row, the three at the one precision of the column."""
    return format_spread(rows, key, kind, suffix)


def markdown_table(
    rows: list[dict], baseline: str, baseline_precision: str | None = None
) -> tuple[list[str], list[list[str]]]:
    """The Markdown summary: its header and its rows of cells (the fastest setting of each
    model in bold), every number column with one precision."""
    versus = f"speed-up vs {baseline}" + (f" {baseline_precision}" if baseline_precision else "")
    rates = _with_spread(rows, "train_samples_per_s", "throughput")
    columns = {
        "model": [r["model"] for r in rows],
        "mode": [r["mode"] for r in rows],
        "precision": [quantized_label(r) for r in rows],
        "batch": [str(r["batch_size"]) for r in rows],
        "train samples/s (min-max)": [
            f"**{c}**" if r["fastest"] else c for c, r in zip(rates, rows, strict=True)
        ],
        versus: _with_spread(rows, "speedup", "ratio", suffix="x"),
        "infer p50 ms": format_column([r["infer_p50_ms"] or None for r in rows], "ms"),
        "compile s": format_column([r["compile_s"] or None for r in rows], "s"),
        "peak MB": format_column([r["peak_memory_mb"] or None for r in rows], "MB"),
        "MFU": format_column([r["mfu"] for r in rows], "%"),
        "status": [r["status"] + (f" ({r['reason']})" if r["reason"] else "") for r in rows],
    }
    if any(r.get("quantize", "none") != "none" for r in rows):  # the quantization columns
        columns = {
            **{k: v for k, v in columns.items() if k != "status"},
            "infer samples/s": format_column(
                [r.get("infer_samples_per_s") for r in rows], "throughput"
            ),
            "infer vs float32": [
                "-" if c == "-" else f"{c}x"
                for c in format_column([r.get("infer_vs_float32") for r in rows], "ratio")
            ],
            "status": columns["status"],
        }
    return list(columns), [list(cells) for cells in zip(*columns.values(), strict=True)]


def quantized_label(row: dict) -> str:
    """The precision of a case, with the weights' quantization where it has one."""
    q = row.get("quantize", "none")
    return row["precision"] if q == "none" else f"{row['precision']}, {q} weights"


def reference_markdown(refs: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The Markdown table of `reference_ratios`: header and rows of cells."""
    places = decimals([v for r in refs for v in (r["ratio"], r["min"], r["max"])], "ratio")
    body = []
    for r in refs:
        ratio, low, high = (format_number(r[k], "ratio", places) for k in ("ratio", "min", "max"))
        body.append([r["model"], r["comparison"], f"{ratio}x ({low}-{high})", str(r["repeats"])])
    return ["model", "comparison", "ratio (min-max)", "repeats"], body


def _markdown(head: list[str], body: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(cells) + " |" for cells in body),
    ]


def write_tables(
    output: Path, records: list[dict], baseline: str, baseline_precision: str | None
) -> tuple[Path, Path]:
    """Writes the summary as CSV and Markdown beside the JSON-lines file."""
    rows = summarize(records, baseline, baseline_precision)
    columns = csv_columns(rows)
    buf = StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(zip(*columns.values(), strict=True))
    lines = _markdown(*markdown_table(rows, baseline, baseline_precision))
    refs = reference_ratios(records, baseline)
    if refs:
        lines += ["", *_markdown(*reference_markdown(refs))]
    csv_path, md_path = output.with_suffix(".csv"), output.with_suffix(".md")
    with io.atomic_path(csv_path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    with io.atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path


def compare(
    base: list[dict],
    new: list[dict],
    fail_above: float | None = None,
    baseline: str = "graph",
    allow_different: Iterable[str] = (),
) -> dict[str, Any]:
    """Matches the cases of two result files and compares their training throughput, once
    their fairness manifests agree (`zoo.perf.manifest.check`).

    Returns:
        ``{"rows": [...], "geomean": float, "regressions": [case, ...], "unmatched": n,
        "unchecked": {...} or None}``; a row is noisy when the spread of either run is
        wider than the difference, and `differs` lists the settings it was allowed to
        differ in (with both values in `differences`). `unchecked` says which run lacks
        manifests (records written before them) and what their environments tell of the
        CPUs.

    Raises:
        UnfairComparisonError: the manifests differ in a speed-relevant setting that
            `allow_different` does not name.
    """
    from zoo.perf import manifest

    a = {r["case"]: r for r in summarize(base, baseline) if r["train_samples_per_s"]}
    b = {r["case"]: r for r in summarize(new, baseline) if r["train_samples_per_s"]}
    shared = sorted(set(a) & set(b))
    mine, theirs = _first_ok(base, "manifest"), _first_ok(new, "manifest")
    pairs = {k: (mine.get(k), theirs.get(k)) for k in shared}
    found = manifest.check(pairs, allow_different)
    rows = [_compare_row(a[k], b[k], fail_above, found.get(k, {})) for k in shared]
    geomean = math.exp(statistics.mean(math.log(r["ratio"]) for r in rows)) if rows else None
    return {
        "rows": rows,
        "geomean": geomean,
        "regressions": [r["case"] for r in rows if r["regressed"]],
        "unmatched": len(set(a) ^ set(b)),
        "unchecked": _unchecked(pairs, _first_ok(base, "env"), _first_ok(new, "env")),
    }


def _first_ok(records: list[dict], field: str) -> dict[str, Any]:
    """{case: the `field` of its first successful record} (None where it has none)."""
    found: dict[str, Any] = {}
    for r in records:
        if r.get("status") == "ok":
            found.setdefault(r["case"], r.get(field))
    return found


def _compare_row(ra: dict, rb: dict, fail_above: float | None, diff: dict) -> dict[str, Any]:
    ratio = rb["train_samples_per_s"] / ra["train_samples_per_s"]
    spread = max(
        (r["train_samples_per_s_max"] - r["train_samples_per_s_min"]) / r["train_samples_per_s"]
        for r in (ra, rb)
    )
    return {
        "case": ra["case"],
        **{k: ra[k] for k in ("model", "mode", "precision", "batch_size", "device", "backend")},
        "base": ra["train_samples_per_s"],
        "new": rb["train_samples_per_s"],
        "ratio": ratio,
        "spread": spread,
        "noisy": spread >= abs(ratio - 1),
        "regressed": fail_above is not None and (1 - ratio) * 100 > fail_above,
        "differs": list(diff),
        "differences": {k: list(v) for k, v in diff.items()},
    }


def _unchecked(pairs: dict, env_a: dict, env_b: dict) -> dict[str, Any] | None:
    """Which run has shared cases without a manifest, and the CPUs their environments
    record (`cpu`, and `cpu_flags`: None where the environment predates them)."""
    missing = [
        side
        for side, i in (("BASE", 0), ("NEW", 1))
        if any(pair[i] is None for pair in pairs.values())
    ]
    if not missing:
        return None
    cases = list(pairs)
    envs = [next((e[c] for c in cases if e.get(c)), None) or {} for e in (env_a, env_b)]
    return {
        "without_manifest": missing,
        "cases": sum(1 for a, b in pairs.values() if a is None or b is None),
        "cpu": [_cpu_name(e) for e in envs],
        "cpu_flags": [e.get("cpu_flags") for e in envs],
    }


def _cpu_name(env: dict) -> str | None:
    """The environment's CPU model, with its family and model where recorded."""
    if env.get("cpu") and env.get("cpu_id"):
        return f"{env['cpu']} ({env['cpu_id']})"
    return env.get("cpu")


# --- time to target ----------------------------------------------------------------------


def _run_value(record: dict, dotted: str) -> float:
    """A field of a run's target record; infinity for a run that did not reach its target
    (a timeout, an error, a crash included), so a median over runs counts it as never."""
    target = record.get("target") if record.get("status") == "ok" else None
    if not target or not target.get("reached"):
        return math.inf
    return float(_get(record, dotted))


def _median_reached(runs: list[dict], dotted: str) -> float | None:
    """The median over all runs, an unreached one counting as infinitely slow: a number
    only when the median run reached the target (None: "not reached")."""
    if not runs:
        return None
    value = statistics.median(_run_value(r, dotted) for r in runs)
    return None if math.isinf(value) else value


def _target_row(key: str, recs: list[dict]) -> dict[str, Any]:
    """One time-to-target case: reached n/N, medians over its seeds, the setting used."""
    first = recs[0]
    runs = [r for r in recs if r.get("status") != "skipped"]
    reached = [r for r in runs if math.isfinite(_run_value(r, "target.time_to_target_s"))]
    times = [r["target"]["time_to_target_s"] for r in reached]
    tests = [r["target"]["test_metric"] for r in reached]
    tests = [t for t in tests if t is not None]
    ok = next((r for r in runs if r.get("status") == "ok"), {})
    config, run = ok.get("config", {}), ok.get("run", {})
    failed = next((r for r in reversed(recs) if r.get("status") != "ok"), None)
    return {
        "case": key,
        **{k: first.get(k) for k in ("model", "dataset", "target_spec", "tuned")},
        "metric": first["target_spec"].partition("=")[0],
        "seeds": [r["seed"] for r in runs],
        "runs": len(runs),
        "reached": len(reached),
        "repeats": len(reached),  # what the printed range is over
        "time_to_target_s": _median_reached(runs, "target.time_to_target_s"),
        "time_to_target_s_min": min(times) if times else None,
        "time_to_target_s_max": max(times) if times else None,
        "train_time_to_target_s": _median_reached(runs, "target.train_time_to_target_s"),
        "steps_to_target": _median_reached(runs, "target.steps_to_target"),
        "epochs_to_target": _median_reached(runs, "target.epochs_to_target"),
        "test_metric": statistics.median(tests) if tests else None,
        "max_epochs": config.get("epochs"),
        "batch_size": config.get("batch_size"),
        "learning_rate": config.get("learning_rate"),
        "schedule": config.get("schedule"),
        "jit_compile": run.get("jit_compile"),
        "precision": run.get("precision"),
        "status": "skipped" if not runs else ("ok" if ok else failed.get("status", "?")),
        "reason": failed.get("reason") if failed else None,
    }


def summarize_targets(records: Iterable[dict]) -> list[dict[str, Any]]:
    """One row per time-to-target case (medians over its seeds); a tuned case also gets
    `vs_default`: the default recipe's median time over its own (the tuned speed-up)."""
    by_case: dict[str, list[dict]] = {}
    for r in records:
        if r.get("kind") == "target":
            by_case.setdefault(r["case"], []).append(r)
    rows = [_target_row(key, recs) for key, recs in by_case.items()]
    defaults = {(r["model"], r["dataset"], r["target_spec"]): r for r in rows if not r["tuned"]}
    for row in rows:
        base = defaults.get((row["model"], row["dataset"], row["target_spec"]))
        both = row["tuned"] and base and base["time_to_target_s"] and row["time_to_target_s"]
        row["vs_default"] = base["time_to_target_s"] / row["time_to_target_s"] if both else None
    return rows


def target_setting(row: dict) -> str:
    """The setting a case ran with: batch, learning rate, schedule, jit, precision."""
    if row["batch_size"] is None:
        return "-"
    jit = "xla" if row["jit_compile"] else "graph"
    return (
        f"b{row['batch_size']} lr {row['learning_rate']:g} {row['schedule']} {jit} "
        f"{row['precision']}, <= {row['max_epochs']} epochs"
    )


# The time-to-target CSV's columns and the number kind of each (None: written as it is).
TARGET_KINDS: dict[str, str | None] = {
    "model": None,
    "dataset": None,
    "target_spec": None,
    "tuned": None,
    "runs": "count",
    "reached": "count",
    "time_to_target_s": "s",
    "time_to_target_s_min": "s",
    "time_to_target_s_max": "s",
    "train_time_to_target_s": "s",
    "steps_to_target": "count",
    "epochs_to_target": "ratio",
    "test_metric": "value",
    "vs_default": "ratio",
    "batch_size": "count",
    "learning_rate": "value",
    "schedule": None,
    "jit_compile": None,
    "precision": None,
    "max_epochs": "count",
    "status": None,
    "reason": None,
}


def target_cells(rows: list[dict], not_reached: str = "not reached") -> dict[str, list[str]]:
    """The printed columns of a time-to-target table, one precision per column; a median
    that did not reach the target reads `not_reached`, never a number."""
    times = format_spread(rows, "time_to_target_s", "s", only_when_varies=True)
    tests = format_column([r["test_metric"] for r in rows], "value")
    never = [r["status"] != "skipped" and r["time_to_target_s"] is None for r in rows]

    def col(key: str, kind: str) -> list[str]:
        cells = format_column([r[key] for r in rows], kind)
        return [not_reached if n else c for c, n in zip(cells, never, strict=True)]

    return {
        "reached": [f"{r['reached']}/{r['runs']}" if r["runs"] else "-" for r in rows],
        "time to target s (min-max)": [
            not_reached if n else c for c, n in zip(times, never, strict=True)
        ],
        "train s": col("train_time_to_target_s", "s"),
        "steps": col("steps_to_target", "count"),
        "epochs": col("epochs_to_target", "ratio"),  # two decimals: a fraction of one
        "test metric": [
            f"{c} {r['metric']}" if r["test_metric"] is not None else "-"
            for c, r in zip(tests, rows, strict=True)
        ],
    }


def target_markdown(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The Markdown summary of a time-to-target suite: header and rows of cells."""
    tuned = any(r["tuned"] for r in rows)
    columns = {
        "model": [r["model"] + (" (tuned)" if r["tuned"] else "") for r in rows],
        "dataset": [r["dataset"] for r in rows],
        "target (validation)": [r["target_spec"] for r in rows],
        **target_cells(rows),
        **({"vs default": [_ratio_cell(r["vs_default"]) for r in rows]} if tuned else {}),
        "setting": [target_setting(r) for r in rows],
        "status": [r["status"] + (f" ({r['reason']})" if r["reason"] else "") for r in rows],
    }
    return list(columns), [list(cells) for cells in zip(*columns.values(), strict=True)]


def _ratio_cell(value: float | None) -> str:
    return "-" if value is None else f"{format_number(value, 'ratio', 2)}x"


def write_target_tables(output: Path, records: list[dict]) -> tuple[Path, Path]:
    """Writes a time-to-target suite's summary as CSV and Markdown beside its JSON lines."""
    rows = summarize_targets(records)
    buf = StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(list(TARGET_KINDS))
    text = {
        name: format_column([r.get(name) for r in rows], kind, grouping=False, missing="")
        if kind
        else ["" if r.get(name) is None else str(r.get(name)) for r in rows]
        for name, kind in TARGET_KINDS.items()
    }
    writer.writerows(zip(*text.values(), strict=True))
    lines = _markdown(*target_markdown(rows)) + ["", TARGET_NOTE]
    csv_path, md_path = output.with_suffix(".csv"), output.with_suffix(".md")
    with io.atomic_path(csv_path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    with io.atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path


# What the time-to-target tables measure (under the Markdown table and the printed one).
TARGET_NOTE = (
    "The target is checked on the validation split (held out from training); the test "
    "metric is the test split's, of the model that reached it. Time to target counts from "
    "the run's process start (imports, data loading and compilation included); train s "
    "is the training alone. Medians over the seeds, a run that never reached the target "
    "counting as never; the range is over the runs that reached it."
)
