"""Summaries of suite results: the data of the tables (rows and columns); the CLI renders.

`summarize` gives one row per case (medians over repeats, spread, speed-up over the suite's
baseline), `by_backend` pivots it per backend, `reference_ratios` compares the zoo with the
hand-written references, `compare` matches two result files, and `write_tables` writes the
summary as CSV and Markdown beside the results file.
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

# What each reference mode is, as the tables name it.
REFERENCE_NAMES = {"ref_tf": "hand-written tf.function loop", "ref_torch": "PyTorch eager"}


def _get(record: dict, dotted: str):
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


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
    rows = []
    for key, recs in by_case.items():
        ok = [r for r in recs if r.get("status") == "ok"]
        first = recs[0]
        sps = [r["train"]["samples_per_s"] for r in ok]
        row = {
            "case": key,
            "model": first["model"],
            "mode": first["mode"],
            "precision": first["precision"],
            "batch_size": first["batch_size"],
            "device": first["device"],
            "params": first.get("params", {}),
            "steps_per_execution": first.get("steps_per_execution", 1),
            "backend": first.get("backend", "tensorflow"),
            "status": "ok" if ok else recs[-1].get("status", "?"),
            "reason": None if ok else recs[-1].get("reason"),
            "repeats": len(ok),
            "num_params": ok[0]["params"] if ok else None,
            "flops_per_sample": _get(ok[0], "flops.forward_per_sample") if ok else None,
            "train_samples_per_s": statistics.median(sps) if sps else None,
            "train_samples_per_s_min": min(sps) if sps else None,
            "train_samples_per_s_max": max(sps) if sps else None,
            "step_ms_p10": statistics.median([r["train"]["step_ms_p10"] for r in ok])
            if ok
            else None,
            "step_ms_p90": statistics.median([r["train"]["step_ms_p90"] for r in ok])
            if ok
            else None,
            "infer_p50_ms": statistics.median([r["infer"]["p50_ms"] for r in ok])
            if ok and all(_get(r, "infer.p50_ms") is not None for r in ok)
            else None,
            "compile_s": statistics.median([r["compile_s"] for r in ok]) if ok else None,
            "peak_memory_mb": max(r["peak_memory_mb"] for r in ok) if ok else None,
            "mfu": statistics.median([r["mfu"] for r in ok])
            if ok and all(r.get("mfu") is not None for r in ok)
            else None,
            "xla_ran": any(_get(r, "resolved.jit_compile") for r in ok) if ok else None,
            "note": next((r["note"] for r in recs if r.get("note")), None),
        }
        rows.append(row)
    index = {
        (
            r["model"],
            r["mode"],
            r["precision"],
            r["batch_size"],
            r["device"],
            json.dumps(r["params"], sort_keys=True),
            r["steps_per_execution"],
            r["backend"],
        ): r
        for r in rows
        if r["mode"] != "pipeline"  # the same model fed from memory is the baseline
    }
    for row in rows:
        base = index.get(
            (
                row["model"],
                baseline,
                baseline_precision or row["precision"],
                row["batch_size"],
                row["device"],
                json.dumps(row["params"], sort_keys=True),
                row["steps_per_execution"] if row["mode"] == "pipeline" else 1,
                row["backend"],
            )
        )
        row["speedup"] = row["speedup_min"] = row["speedup_max"] = None
        if base and base is not row and row["status"] == base["status"] == "ok":
            mine = {
                r["repeat"]: r["train"]["samples_per_s"]
                for r in by_case[row["case"]]
                if r.get("status") == "ok"
            }
            theirs = {
                r["repeat"]: r["train"]["samples_per_s"]
                for r in by_case[base["case"]]
                if r.get("status") == "ok"
            }
            ratios = [mine[k] / theirs[k] for k in mine if k in theirs]
            if ratios:
                row["speedup"] = statistics.median(ratios)
                row["speedup_min"], row["speedup_max"] = min(ratios), max(ratios)
        elif base is row and row["status"] == "ok":
            row["speedup"] = row["speedup_min"] = row["speedup_max"] = 1.0
    best: dict[str, float] = {}
    for row in rows:
        if row["train_samples_per_s"]:
            best[row["model"]] = max(best.get(row["model"], 0), row["train_samples_per_s"])
    for row in rows:
        row["fastest"] = bool(row["train_samples_per_s"]) and row[
            "train_samples_per_s"
        ] == best.get(row["model"])
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


def reference_ratios(records: Iterable[dict], baseline: str = "fit") -> list[dict[str, Any]]:
    """Ratios against the references, each the median over repeats of a ratio of two
    throughputs measured in the same repeat, with its min and max:

    - zoo `baseline` (each of its steps_per_execution) / each reference (ref_tf,
      ref_torch) of the same model, precision, batch and device;
    - the tf.data pipeline on real data / `baseline` from memory, at the same
      steps_per_execution.
    """
    ok = [r for r in records if r.get("status") == "ok"]

    def group(r):
        return (r["model"], r["precision"], r["batch_size"], r["device"], r.get("backend"))

    def rates(rows):
        return {r["repeat"]: r["train"]["samples_per_s"] for r in rows}

    by: dict[tuple, dict[tuple, list[dict]]] = {}
    for r in ok:
        variant = (r["mode"], r.get("steps_per_execution", 1))
        by.setdefault(group(r), {}).setdefault(variant, []).append(r)
    out = []
    for key, variants in by.items():
        zoo_fits = sorted(v for v in variants if v[0] == baseline)
        pairs = []
        for zoo_variant in zoo_fits:
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
        for name, top, bottom in pairs:
            a, b = rates(variants[top]), rates(variants[bottom])
            ratios = [a[k] / b[k] for k in a if k in b]
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


TABLE_COLUMNS = [
    "model",
    "num_params",
    "flops_per_sample",
    "mode",
    "precision",
    "batch_size",
    "device",
    "status",
    "train_samples_per_s",
    "train_samples_per_s_min",
    "train_samples_per_s_max",
    "infer_p50_ms",
    "compile_s",
    "peak_memory_mb",
    "mfu",
    "speedup",
    "speedup_min",
    "speedup_max",
    "xla_ran",
    "repeats",
    "note",
]


def write_tables(
    output: Path, records: list[dict], baseline: str, baseline_precision: str | None
) -> tuple[Path, Path]:
    """Writes the summary as CSV and Markdown beside the JSON-lines file."""
    rows = summarize(records, baseline, baseline_precision)
    buf = StringIO()
    writer = csv.DictWriter(buf, TABLE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    csv_path, md_path = output.with_suffix(".csv"), output.with_suffix(".md")
    with io.atomic_path(csv_path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    head = [
        "model",
        "mode",
        "precision",
        "batch",
        "train samples/s (min-max)",
        f"speed-up vs {baseline}" + (f" {baseline_precision}" if baseline_precision else ""),
        "infer p50 ms",
        "compile s",
        "peak MB",
        "MFU",
        "status",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        sps = (
            f"{r['train_samples_per_s']:,.0f} ({r['train_samples_per_s_min']:,.0f}-"
            f"{r['train_samples_per_s_max']:,.0f})"
            if r["train_samples_per_s"]
            else "-"
        )
        up = (
            f"{r['speedup']:.2f}x ({r['speedup_min']:.2f}-{r['speedup_max']:.2f})"
            if r["speedup"]
            else "-"
        )
        cells = [
            r["model"],
            r["mode"],
            r["precision"],
            str(r["batch_size"]),
            f"**{sps}**" if r["fastest"] else sps,
            up,
            f"{r['infer_p50_ms']:.2f}" if r["infer_p50_ms"] else "-",
            f"{r['compile_s']:.2f}" if r["compile_s"] else "-",
            f"{r['peak_memory_mb']:,.0f}" if r["peak_memory_mb"] else "-",
            f"{r['mfu']:.1%}" if r["mfu"] is not None else "-",
            r["status"] + (f" ({r['reason']})" if r["reason"] else ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    refs = reference_ratios(records, baseline)
    if refs:
        lines += ["", "| model | comparison | ratio (min-max) | repeats |", "|---|---|---|---|"]
        lines += [
            f"| {r['model']} | {r['comparison']} | {r['ratio']:.2f}x ({r['min']:.2f}-"
            f"{r['max']:.2f}) | {r['repeats']} |"
            for r in refs
        ]
    with io.atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path


def compare(
    base: list[dict], new: list[dict], fail_above: float | None = None, baseline: str = "graph"
) -> dict[str, Any]:
    """Matches the cases of two result files and compares their training throughput.

    Returns:
        ``{"rows": [...], "geomean": float, "regressions": [case, ...], "unmatched": n}``;
        a row is noisy when the spread of either run is wider than the difference.
    """
    a = {r["case"]: r for r in summarize(base, baseline) if r["train_samples_per_s"]}
    b = {r["case"]: r for r in summarize(new, baseline) if r["train_samples_per_s"]}
    rows, regressions = [], []
    for key in sorted(set(a) & set(b)):
        ra, rb = a[key], b[key]
        ratio = rb["train_samples_per_s"] / ra["train_samples_per_s"]
        spread = max(
            (r["train_samples_per_s_max"] - r["train_samples_per_s_min"]) / r["train_samples_per_s"]
            for r in (ra, rb)
        )
        noisy = spread >= abs(ratio - 1)
        regressed = fail_above is not None and (1 - ratio) * 100 > fail_above
        if regressed:
            regressions.append(key)
        rows.append(
            {
                "case": key,
                "model": ra["model"],
                "mode": ra["mode"],
                "precision": ra["precision"],
                "batch_size": ra["batch_size"],
                "base": ra["train_samples_per_s"],
                "new": rb["train_samples_per_s"],
                "ratio": ratio,
                "spread": spread,
                "noisy": noisy,
                "regressed": regressed,
            }
        )
    geomean = math.exp(statistics.mean(math.log(r["ratio"]) for r in rows)) if rows else None
    return {
        "rows": rows,
        "geomean": geomean,
        "regressions": regressions,
        "unmatched": len(set(a) ^ set(b)),
    }
