"""Benchmark suites: TOML files of cases, each case profiled in its own process.

A suite expands to cases (model x mode x precision x batch size x device). Every case runs
in a fresh Python process (`python -m zoo.bench_worker`) with a time limit, so a crash, a
hang or an out-of-memory in one case becomes that case's status and the suite goes on; a
fresh process also isolates global state (the dtype policy, XLA caches) and makes the
peak resident memory that of the case alone. Repeats run interleaved (every case once,
then every case again), so slow drifts of a shared machine hit all cases alike. Each
result is appended to a JSON-lines file as soon as it is known (atomically: the file is
rewritten to a temporary file and renamed), so `resume` runs only the missing cases.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import itertools
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from io import StringIO
from pathlib import Path
from typing import Any

import benchmarks
from zoo import io, registry
from zoo.errors import InvalidArgumentError, OutputError, SuiteError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The suites shipped with the zoo: package data of `benchmarks`, so they work from a wheel.
SUITES_DIR = Path(next(iter(benchmarks.__path__))).resolve() / "suites"
SUITE_KEYS = {
    "name",
    "description",
    "baseline",
    "baseline_precision",
    "steps",
    "timeout_s",
    "repeat",
}
AXES = {"modes", "precisions", "devices", "batch_sizes", "backends"}
BACKENDS = ("tensorflow", "jax", "torch")
BACKEND_EXTRA = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow"}
DEFAULT_KEYS = AXES | {"models", "exclude", "steps_per_execution", "dataset"}
CASE_KEYS = AXES | {"model", "params", "steps_per_execution", "dataset"}
# The zoo's modes (see zoo.profiling) and the hand-written references (benchmarks.reference).
MODES = ("eager", "graph", "xla", "auto", "fit", "pipeline", "ref_tf", "ref_torch")
REFERENCE_MODES = {"ref_tf": "hand-written tf.function loop", "ref_torch": "PyTorch eager"}
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class Case:
    model: str
    mode: str
    precision: str
    batch_size: int
    device: str
    params: tuple = ()  # sorted (key, value) pairs of model hyper-parameters
    steps_per_execution: int = 1  # modes fit and pipeline
    dataset: str | None = None  # mode pipeline: the prepared real dataset it reads
    backend: str = "tensorflow"  # the Keras backend the case's process runs

    @property
    def key(self) -> str:
        extra = json.dumps(dict(self.params), sort_keys=True) if self.params else ""
        parts = [self.model, self.mode, self.precision, str(self.batch_size), self.device, extra]
        if self.steps_per_execution != 1:
            parts.append(f"spe={self.steps_per_execution}")
        if self.dataset:
            parts.append(f"data={self.dataset}")
        if self.backend != "tensorflow":
            parts.append(self.backend)
        return "|".join(parts)

    def label(self) -> str:
        spe = f" spe{self.steps_per_execution}" if self.steps_per_execution != 1 else ""
        backend = f" {self.backend}" if self.backend != "tensorflow" else ""
        return (
            f"{self.model} {self.mode}{spe} {self.precision} b{self.batch_size} "
            f"{self.device}{backend}"
        )


@dataclasses.dataclass
class Suite:
    name: str
    description: str
    baseline: str
    baseline_precision: str | None
    steps: int
    timeout_s: float
    repeat: int
    cases: list[Case]
    source: str


def _line_of(text: str, key: str) -> str:
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return f"line {n}"
    return "the file"


def _list(value, kind: str, where: str, source: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SuiteError(f"{source}, {where}: `{kind}` is empty.")
    return values


def load_suite(ref: str | Path) -> Suite:
    """Reads a suite: a name shipped with the zoo (quick, full, xla, precision) or a path.

    Raises:
        SuiteError: the file is missing or not TOML, or has an unknown field, model, mode,
            precision or device (the message names the line).
    """
    path = Path(ref)
    if not path.suffix and not path.exists():
        path = SUITES_DIR / f"{ref}.toml"
        if not path.is_file():
            names = sorted(p.stem for p in SUITES_DIR.glob("*.toml"))
            raise SuiteError(
                f"Unknown suite {str(ref)!r}. Shipped: {', '.join(names)}; "
                "or pass the path of a .toml file."
            )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SuiteError(f"Cannot read suite {path}: {e.strerror}.") from None
    source = str(ref) if path.parent == SUITES_DIR else str(path)
    try:
        data = tomllib.loads(text)  # data, never executed
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(f"{source}: not valid TOML: {e}.") from None

    def unknown(table: dict, allowed: set, where: str):
        extra = sorted(set(table) - allowed)
        if extra:
            raise SuiteError(
                f"{source}, {_line_of(text, extra[0])}: unknown field "
                f"{extra[0]!r} in {where}. Allowed: {', '.join(sorted(allowed))}."
            )

    extra_tables = sorted(set(data) - {"suite", "defaults", "case"})
    if extra_tables:
        raise SuiteError(
            f"{source}: unknown table [{extra_tables[0]}]. Allowed: [suite], [defaults], [[case]]."
        )
    head = data.get("suite", {})
    defaults = data.get("defaults", {})
    unknown(head, SUITE_KEYS, "[suite]")
    unknown(defaults, DEFAULT_KEYS, "[defaults]")
    entries = list(data.get("case", []))
    for entry in entries:
        unknown(entry, CASE_KEYS, "[[case]]")
        if "model" not in entry:
            raise SuiteError(f"{source}: a [[case]] has no `model`.")
    if "models" in defaults:  # every registry model matching the pattern(s), minus excludes
        names = registry.list_models(defaults["models"], exclude=defaults.get("exclude", ()))
        entries = [{"model": n} for n in names] + entries
    if not entries:
        raise SuiteError(f"{source}: no cases: add [[case]] tables or `models` in [defaults].")

    cases: list[Case] = []
    for entry in entries:
        name = entry["model"]
        try:
            spec = registry.get_spec(name)
        except registry.UnknownModelError as e:
            raise SuiteError(f"{source}, {_line_of(text, 'model')} ({name!r}): {e}") from None
        axes = {
            k: _list(entry.get(k, defaults.get(k, d)), k, name, source)
            for k, d in (
                ("modes", ["graph"]),
                ("precisions", ["float32"]),
                ("devices", ["cpu"]),
                ("batch_sizes", [spec.recipe.batch_size]),
                ("backends", ["tensorflow"]),
            )
        }
        for b in axes["backends"]:
            if b not in BACKENDS:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'backends')}: unknown backend {b!r}. "
                    f"Allowed: {', '.join(BACKENDS)}."
                )
        for mode in axes["modes"]:
            if mode not in MODES:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'modes')}: unknown mode {mode!r}. "
                    f"Allowed: {', '.join(MODES)}."
                )
        for p in axes["precisions"]:
            if p not in PRECISIONS:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'precisions')}: unknown precision "
                    f"{p!r}. Allowed: {', '.join(PRECISIONS)}."
                )
        for d in axes["devices"]:
            if not re.fullmatch(r"cpu|gpu(:\d+)?|auto", str(d)):
                raise SuiteError(
                    f"{source}, {_line_of(text, 'devices')}: unknown device {d!r}. "
                    "Allowed: cpu, gpu, gpu:N, auto."
                )
        for b in axes["batch_sizes"]:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'batch_sizes')}: batch sizes are "
                    f"positive integers; received {b!r}."
                )
        params = entry.get("params", {})
        try:
            registry.check_overrides(spec, params)
        except InvalidArgumentError as e:
            raise SuiteError(f"{source}, {_line_of(text, 'params')}: {e}") from None
        spe = entry.get("steps_per_execution", defaults.get("steps_per_execution", 1))
        if isinstance(spe, bool) or not isinstance(spe, int) or spe < 1:
            raise SuiteError(
                f"{source}, {_line_of(text, 'steps_per_execution')}: steps_per_execution is a "
                f"positive integer; received {spe!r}."
            )
        dataset = entry.get("dataset", defaults.get("dataset"))
        if "pipeline" in axes["modes"] and not dataset:
            raise SuiteError(
                f"{source}, {_line_of(text, 'modes')} ({name}): mode pipeline needs a "
                "`dataset` (a prepared real dataset, e.g. fashion_mnist)."
            )
        if dataset is not None and dataset not in spec_datasets(spec):
            raise SuiteError(
                f"{source}, {_line_of(text, 'dataset')} ({name}): unknown dataset "
                f"{dataset!r}. Allowed: {', '.join(spec_datasets(spec))}."
            )
        if "ref_torch" in axes["modes"] and name != "seed_cnn":
            raise SuiteError(
                f"{source}, {_line_of(text, 'modes')} ({name}): the PyTorch reference "
                "(ref_torch) is the seed's CNN: use it with model seed_cnn."
            )
        for mode, precision, batch, device, backend in itertools.product(
            axes["modes"],
            axes["precisions"],
            axes["batch_sizes"],
            axes["devices"],
            axes["backends"],
        ):
            cases.append(
                Case(
                    name,
                    mode,
                    precision,
                    batch,
                    device,
                    tuple(sorted(params.items())),
                    spe if mode in ("fit", "pipeline") else 1,
                    dataset if mode == "pipeline" else None,
                    backend,
                )
            )
    baseline = head.get("baseline", "graph")
    if baseline not in MODES:
        raise SuiteError(
            f"{source}, {_line_of(text, 'baseline')}: unknown baseline mode "
            f"{baseline!r}. Allowed: {', '.join(MODES)}."
        )
    steps, timeout_s, repeat = (
        head.get("steps", 10),
        head.get("timeout_s", 600),
        head.get("repeat", 1),
    )
    for label, value in (("steps", steps), ("timeout_s", timeout_s), ("repeat", repeat)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise SuiteError(
                f"{source}, {_line_of(text, label)}: `{label}` must be a positive "
                f"number; received {value!r}."
            )
    return Suite(
        name=head.get("name", path.stem),
        description=head.get("description", ""),
        baseline=baseline,
        baseline_precision=head.get("baseline_precision"),
        steps=int(steps),
        timeout_s=float(timeout_s),
        repeat=int(repeat),
        cases=cases,
        source=source,
    )


def spec_datasets(spec: registry.ModelSpec) -> tuple[str, ...]:
    """The real datasets of a model's task."""
    from zoo import tasks

    return tuple(d for d in tasks.get(spec.task).datasets if d != "synthetic")


def with_backends(cases: list[Case], backends: Iterable[str]) -> list[Case]:
    """Every case once per backend (replacing the suite's own backends).

    Raises:
        InvalidArgumentError: an unknown backend name.
    """
    backends = list(dict.fromkeys(backends))
    for b in backends:
        if b not in BACKENDS:
            raise InvalidArgumentError(
                f"Unknown backend {b!r}. Allowed: {', '.join(BACKENDS)} (comma-separated)."
            )
    unique = list(dict.fromkeys(dataclasses.replace(c, backend="tensorflow") for c in cases))
    return [dataclasses.replace(c, backend=b) for c in unique for b in backends]


def backend_installed(backend: str) -> bool:
    """Whether the backend's package can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec(backend) is not None


def filter_cases(cases: list[Case], pattern: str | None) -> list[Case]:
    """Cases whose model matches an fnmatch pattern (comma-separated patterns allowed)."""
    if not pattern:
        return cases
    patterns = [p.strip() for p in pattern.split(",") if p.strip()]
    return [c for c in cases if any(fnmatch.fnmatchcase(c.model, p) for p in patterns)]


def run_case(case: Case, steps: int, timeout_s: float) -> dict[str, Any]:
    """Profiles one case in a fresh process; never raises for the case's own failures.

    On a GPU out-of-memory the case is retried with half the batch (down to 1), and the
    record says so.
    """
    if not backend_installed(case.backend):
        return {
            "status": "skipped",
            "reason": f"the {case.backend} backend is not installed: "
            f"pip install 'keras-zoo[{BACKEND_EXTRA[case.backend]}]'",
        }
    if case.backend != "tensorflow" and case.mode in ("pipeline", "ref_tf"):
        return {"status": "skipped", "reason": f"mode {case.mode} needs TensorFlow"}
    batch, notes = case.batch_size, []
    while True:
        record = _run_worker(dataclasses.replace(case, batch_size=batch), steps, timeout_s)
        if record["status"] != "oom" or batch == 1 or not case.device.startswith("gpu"):
            break
        notes.append(f"out of memory at batch {batch}; retried with {batch // 2}")
        batch //= 2
    if notes:
        record["note"] = "; ".join(notes)
    return record


def _run_worker(case: Case, steps: int, timeout_s: float) -> dict[str, Any]:
    payload = json.dumps({**dataclasses.asdict(case), "params": dict(case.params), "steps": steps})
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": case.backend}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "zoo.bench_worker", payload],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {
            "status": "timeout",
            "reason": f"no result within {timeout_s:.0f} s",
            "wall_s": time.perf_counter() - t0,
        }
    wall = time.perf_counter() - t0
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode == 0 and lines:
        return {**json.loads(lines[-1]), "wall_s": wall}
    tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-1:] or [""]
    if proc.returncode in (-9, 137):
        return {"status": "killed", "reason": "killed (out of memory?)", "wall_s": wall}
    if "out of memory" in proc.stderr.lower() or "resourceexhausted" in proc.stderr.lower():
        return {"status": "oom", "reason": tail[0][:300], "wall_s": wall}
    return {
        "status": "crashed",
        "reason": f"exit code {proc.returncode}: {tail[0][:300]}",
        "wall_s": wall,
    }


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a results file; a torn last line (a killed writer) is skipped."""
    path = Path(path)
    if not path.is_file():
        raise OutputError(f"No results file at {path}.")
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            raise OutputError(f"{path}, line {n}: not a JSON record.") from None
    return records


def _append(path: Path, records: list[dict[str, Any]], record: dict[str, Any]) -> None:
    records.append(record)
    text = "".join(json.dumps(io.to_jsonable(r)) + "\n" for r in records)
    with io.atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def check_output(output: str | Path, resume: bool) -> None:
    """Raises OutputError when `output` exists and is not to be resumed."""
    if Path(output).exists() and not resume:
        raise OutputError(f"{output} exists.", "Pass --resume to finish it, or another --output.")


def run_suite(
    suite: Suite,
    output: str | Path,
    *,
    models: str | None = None,
    repeat: int | None = None,
    resume: bool = False,
    on_result: Callable[[int, int, Case, dict], None] | None = None,
    runner: Callable[[Case, int, float], dict] = run_case,
) -> list[dict[str, Any]]:
    """Runs a suite's cases (interleaved repeats), streaming records to `output`.

    Returns:
        All records of the results file, including those of earlier runs when resuming.

    Raises:
        OutputError: `output` exists and `resume` is off, or it cannot be written.
    """
    output = Path(output)
    cases = filter_cases(suite.cases, models)
    if not cases:
        raise InvalidArgumentError(f"No case of suite {suite.name!r} matches models={models!r}.")
    repeat = repeat or suite.repeat
    check_output(output, resume)
    output.parent.mkdir(parents=True, exist_ok=True)
    records = read_records(output) if output.exists() else []
    done = {(r["case"], r["repeat"]) for r in records if r.get("status") in ("ok", "skipped")}
    records = [r for r in records if (r["case"], r["repeat"]) in done]  # failures run again
    todo = [(r, c) for r in range(repeat) for c in cases if (c.key, r) not in done]
    for n, (rep, case) in enumerate(todo, 1):
        record = {
            "suite": suite.name,
            "case": case.key,
            "repeat": rep,
            **{k: v for k, v in dataclasses.asdict(case).items() if k != "params"},
            "params": dict(case.params),
            **runner(case, suite.steps, suite.timeout_s),
        }
        _append(output, records, record)
        if on_result:
            on_result(n, len(todo), case, record)
    write_tables(output, records, suite.baseline, suite.baseline_precision)
    return records


# --- summaries ------------------------------------------------------------------------


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
            for ref_mode, ref_name in REFERENCE_MODES.items():
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
