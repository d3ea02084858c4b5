"""Two benchmark runs compared case by case: the data of `zoo compare BASE NEW`.

`load_run` reads a results file and checks that its records are the zoo's (a file written
by another tool is one error naming the file and what it lacks, not a KeyError);
`compare_runs` matches the cases of two runs, checks their fairness manifests
(`zoo.perf.manifest`), and gives each shared case the ratio NEW/BASE of its training
throughput with a confidence interval and a verdict (`zoo.stats.unpaired`: Welch's
interval on the log throughputs of the repeats of both files, which ran separately).

The regression rule, for a CI gate that does not cry wolf: at `fail_above` percent a case
regresses only when its whole interval lies below 1 - fail_above / 100, slower beyond the
threshold with the stated confidence. A case whose interval reaches both sides of that
bound is undecided (not flagged), with an estimate of the repeats that would decide it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zoo import stats
from zoo.errors import OutputError
from zoo.perf.summary import paired_rates, summarize
from zoo.results import ResultsFile

# The keys of every bench record, and those of a successful one.
RECORD_KEYS = ("case", "status", "model", "mode", "precision", "batch_size", "device")
OK_KEYS = ("train",)


def load_run(path: str | Path, notes: list[str] | None = None) -> list[dict[str, Any]]:
    """The records of a `zoo bench` results file, checked; what reading left out (a last
    line a killed writer cut short) is appended to `notes`.

    Raises:
        OutputError: the file is missing or unreadable, holds no record, or holds records
            that are not the zoo's bench records (one line naming the file and the keys).
    """
    results = ResultsFile(path)
    records = results.read()
    if results.note and notes is not None:
        notes.append(results.note)
    check_records(path, records)
    return records


def check_records(path: str | Path, records: list) -> None:
    """Raises OutputError, naming the file and what is missing, unless every record is a
    zoo bench record (a JSON object with RECORD_KEYS; a successful one also OK_KEYS)."""
    if not records:
        raise OutputError(f"{path} holds no records.", "zoo compare reads what zoo bench wrote.")
    bad = [(n, _missing(r)) for n, r in enumerate(records, 1) if _missing(r)]
    if not bad and any(r.get("side") for r in records):
        raise OutputError(
            f"{path} holds an A/B run of two interpreters (zoo bench --against): zoo compare "
            "would mix its sides.",
            f"Its comparison is in {Path(path).with_suffix('.md')}.",
        )
    if not bad:
        return
    n, missing = bad[0]
    record = records[n - 1]
    kind = f" (kind {record['kind']!r})" if isinstance(record, dict) and record.get("kind") else ""
    raise OutputError(
        f"{path}: {len(bad)} of {len(records)} records are not zoo bench records; "
        f"record {n}{kind} lacks {', '.join(missing)}.",
        "zoo compare reads the .jsonl files that zoo bench writes.",
    )


def _missing(record: Any) -> list[str]:
    if not isinstance(record, dict):
        return ["everything (it is not a JSON object)"]
    keys = RECORD_KEYS + (OK_KEYS if record.get("status") == "ok" else ())
    missing = [k for k in keys if k not in record]
    train = record.get("train")
    if isinstance(train, dict) and not _positive(train.get("samples_per_s")):
        missing.append("train.samples_per_s (a positive number)")
    return missing


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def compare_runs(
    base: list[dict],
    new: list[dict],
    fail_above: float | None = None,
    baseline: str = "graph",
    allow_different: Iterable[str] = (),
    confidence: float = stats.CONFIDENCE,
) -> dict[str, Any]:
    """Matches the cases of two result files and compares their training throughput, once
    their fairness manifests agree (`zoo.perf.manifest.check`).

    Returns:
        ``{"rows": [...], "geomean": float, "regressions": [case, ...], "undecided":
        [case, ...], "unmatched": n, "unchecked": {...} or None, "confidence": c,
        "fail_above": pct}``. A row holds both medians, `ratio` (NEW/BASE: the ratio of
        the geometric means), its interval `low`-`high`, `verdict` (`zoo.stats`),
        `regressed`, `decided` (at `fail_above`), `repeats_needed` where undecided, and
        `differs`: the settings it was allowed to differ in (both values in
        `differences`). `unchecked` says which run lacks manifests (records written before
        them) and what their environments tell of the CPUs.

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
    rates_a, rates_b = _case_rates(base), _case_rates(new)
    rows = []
    for k in shared:
        ratio = stats.unpaired(rates_a[k], rates_b[k], confidence)
        rows.append(_compare_row(a[k], b[k], ratio, fail_above, found.get(k, {})))
    unchecked = _unchecked(pairs, _first_ok(base, "env"), _first_ok(new, "env"))
    return _result(rows, len(set(a) ^ set(b)), unchecked, fail_above, confidence)


def _result(rows: list[dict], unmatched: int, unchecked, fail_above, confidence) -> dict:
    geomean = math.exp(statistics.mean(math.log(r["ratio"]) for r in rows)) if rows else None
    return {
        "rows": rows,
        "geomean": geomean,
        "regressions": [r["case"] for r in rows if r["regressed"]],
        "undecided": [r["case"] for r in rows if not r["decided"]],
        "unmatched": unmatched,
        "unchecked": unchecked,
        "confidence": confidence,
        "fail_above": fail_above,
    }


def compare_sides(
    records: list[dict],
    fail_above: float | None = None,
    baseline: str = "graph",
    confidence: float = stats.CONFIDENCE,
) -> dict[str, Any]:
    """An A/B run (`zoo.perf.ab`: records with `side` A or B, interleaved in one file)
    compared case by case: B/A (A as BASE, B as NEW), paired by repeat (`zoo.stats.paired`)
    on the throughput of the repeat's timed windows where both sides have them, else on
    each worker's training clock (`windowed`: the repeats compared on windows); the same
    rows and rule as `compare_runs`, and `differences`: what differs between the sides,
    from their manifests and provenance (phrases naming both values)."""
    side = {s: [r for r in records if r.get("side") == s] for s in ("A", "B")}
    a = {r["case"]: r for r in summarize(side["A"], baseline) if r["train_samples_per_s"]}
    b = {r["case"]: r for r in summarize(side["B"], baseline) if r["train_samples_per_s"]}
    shared = sorted(set(a) & set(b))
    by = {s: _by_case(side[s]) for s in side}
    rows = []
    unpaired = 0
    for k in shared:
        x, y, windowed = _side_rates(by["A"][k], by["B"][k])
        if not x:  # each side ran it, never in the same repeat: nothing to pair
            unpaired += 1
            continue
        row = _compare_row(a[k], b[k], stats.paired(x, y, confidence), fail_above, {})
        # The medians of what was paired: the windows' throughput where there were windows.
        row |= {"base": statistics.median(x), "new": statistics.median(y)}
        rows.append({**row, "windowed": windowed})
    result = _result(rows, len(set(a) ^ set(b)) + unpaired, None, fail_above, confidence)
    result["differences"] = side_differences(side["A"], side["B"], shared)
    return result


def _side_rates(a: list[dict], b: list[dict]) -> tuple[list[float], list[float], int]:
    """(A's, B's) throughputs of the repeats both sides ran, paired in repeat order, and
    how many are the timed windows': those of the repeats whose records on both sides
    have windows, where two or more do, else the training clocks' of every repeat (one
    measure in one interval: the clocks spread 2-3x wider than the windows)."""
    x, y = paired_rates(b, a, "windows.samples_per_s")
    if len(x) >= 2:
        return x, y, len(x)
    return (*paired_rates(b, a), 0)


def _by_case(records: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for r in records:
        found.setdefault(r["case"], []).append(r)
    return found


def side_differences(a: list[dict], b: list[dict], cases: list[str]) -> list[str]:
    """What differs between the sides of an A/B run, each as one phrase with both values
    (BASE is A, NEW is B): the environment (`sys.prefix`), the zoo's version and commit,
    and every manifest setting (library versions included) in any shared case."""
    from zoo.perf.manifest import describe, differences

    found: dict[str, str] = {}
    prov_a, prov_b = _first_ok(a, "provenance"), _first_ok(b, "provenance")
    man_a, man_b = _first_ok(a, "manifest"), _first_ok(b, "manifest")
    for case in cases:
        pa, pb = prov_a.get(case) or {}, prov_b.get(case) or {}
        for name in ("prefix", "zoo", "git"):  # prefix: the environment (venv) itself
            if pa.get(name) != pb.get(name):
                found.setdefault(name, describe(name, pa.get(name), pb.get(name)))
        if man_a.get(case) and man_b.get(case):
            for name, (x, y) in differences(man_a[case], man_b[case]).items():
                found.setdefault(name, describe(name, x, y))
    return list(found.values())


def _case_rates(records: list[dict]) -> dict[str, list[float]]:
    """{case: the training samples/s of each successful repeat}."""
    found: dict[str, list[float]] = {}
    for r in records:
        rate = (r.get("train") or {}).get("samples_per_s") if r.get("status") == "ok" else None
        if _positive(rate):
            found.setdefault(r["case"], []).append(rate)
    return found


def _first_ok(records: list[dict], field: str) -> dict[str, Any]:
    """{case: the `field` of its first successful record} (None where it has none)."""
    found: dict[str, Any] = {}
    for r in records:
        if r.get("status") == "ok":
            found.setdefault(r["case"], r.get(field))
    return found


def _compare_row(
    ra: dict, rb: dict, ratio: stats.Ratio, fail_above: float | None, diff: dict
) -> dict[str, Any]:
    spread = max(
        (r["train_samples_per_s_max"] - r["train_samples_per_s_min"]) / r["train_samples_per_s"]
        for r in (ra, rb)
    )
    decided = ratio.decided(fail_above)
    names = ("model", "mode", "precision", "batch_size", "device", "backend", "quantize")
    return {
        "case": ra["case"],
        **{k: ra[k] for k in names},
        "base": ra["train_samples_per_s"],
        "new": rb["train_samples_per_s"],
        "ratio": ratio.ratio,
        "low": ratio.low,
        "high": ratio.high,
        "verdict": ratio.verdict,
        "regressed": fail_above is not None and ratio.regressed(fail_above),
        "decided": decided,
        "repeats": list(ratio.counts),
        "repeats_needed": None if decided else ratio.repeats_needed(fail_above),
        "spread": spread,  # the wider min-max range of the two, relative (the chart's bars)
        "noisy": ratio.verdict == "no difference detected",
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


def ab_table(result: dict) -> Any:
    """The A/B comparison as a `zoo.table.Table` (B/A with its paired interval), what
    differs between the sides as its notes."""
    from zoo.table import Column, Table

    confidence = result["confidence"]
    columns = [
        Column("model"),
        Column("mode"),
        Column("precision"),
        Column("batch", "count", key="batch_size"),
        Column("A samples/s", "throughput", key="base"),
        Column("B samples/s", "throughput", key="new"),
        Column(f"B/A ({confidence:.0%} interval)", "ratio", "ratio", ("low", "high"), "x"),
        Column("verdict", key="verdict"),
        Column("repeats", "count", key=lambda r: min(r["repeats"])),
    ]
    notes = [f"A and B differ in: {d}" for d in result.get("differences", [])]
    return Table("A/B", columns, result["rows"], [window_note(result), *notes])


def window_note(result: dict) -> str:
    """How the B/A of an A/B run's rows were measured: timed windows, or whole runs."""
    from zoo.perf.ab import WINDOW_PAIRS

    rows = result["rows"]
    on = sum(r.get("windowed", 0) for r in rows)
    total = sum(min(r["repeats"]) for r in rows)
    if not total:
        return "A and B share no successful repeat: nothing was compared."
    how = (
        f"B/A from timed windows: each repeat's two workers kept alive, {WINDOW_PAIRS} "
        "pairs of short windows of steps taken in turns (A B B A ...), paired by window"
    )
    if on == total:
        return how + "."
    if on == 0:
        return "B/A from whole worker runs, one a side per repeat (no timed windows)."
    return f"{how}, in {on} of {total} repeats; the others' cases from whole worker runs."


def write_ab_tables(output: str | Path, result: dict) -> Path:
    """Writes the A/B comparison as Markdown (with what differs under it) and CSV beside
    the results file; returns the Markdown's path."""
    from zoo import io

    table = ab_table(result)
    md, csv = Path(output).with_suffix(".md"), Path(output).with_suffix(".csv")
    text = table.markdown() + "".join(f"\n{n}\n" for n in table.notes)
    with io.atomic_path(md) as tmp:
        tmp.write_text(text, encoding="utf-8")
    with io.atomic_path(csv) as tmp:
        tmp.write_text(table.csv(), encoding="utf-8")
    return md
