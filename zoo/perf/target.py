"""The time-to-target suite kind: training runs to a quality target, timed.

A suite of kind "target" (`zoo bench --suite time-to-target`) is the whole of this module:

- parse: `parse_case` checks one [[case]] of the suite file into a `TargetCase` (the
  model, a dataset of its task, a target among its task's metrics, settings `zoo.train`
  takes); `with_tuned` adds each case's tuned twin from `zoo tune`'s cache.
- run: `run_suite` trains every case once per seed (seed = repeat), each run a
  `zoo.tuning.trial` in its own process, a record appended to the results file
  (`zoo.results`, kind "target") as each ends; a tuned twin runs beside its default in
  alternating order (`alternate`), never on the seed its search ran on (`held_out`).
- summarize: `summarize` gives one row per case, medians over its seeds (an unreached run
  counting as never) and a tuned twin's speed-up over its default, paired by seed.
- table: `table` describes the rows as a `zoo.table.Table`, the same on the terminal,
  beside the results (`write_tables`) and in docs/results.md; `NOTE` says what it measures.

`zoo.perf.suite.load_suite` reads the file and hands a target suite's entries to
`parse_case`, so this module imports neither `zoo.perf.suite` nor `zoo.perf.runner`: it
builds on the shared helpers of `zoo.perf.summary` and `zoo.perf.tables`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import json
import math
import os
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from zoo import registry, stats
from zoo.choices import not_installed
from zoo.errors import InvalidArgumentError, SuiteError
from zoo.perf.summary import _get, _write, ratio_fields
from zoo.perf.tables import data_table, ratio_column, status
from zoo.recipe import CHECK_KEYS
from zoo.record import stamp
from zoo.results import ResultsFile
from zoo.table import Column, Table

# --- parse -------------------------------------------------------------------------------

# A [[case]] of a suite of kind "target": a model trained until its validation split
# reaches `target`, written as a recipe file is (zoo.recipe): `eval_every`, `check_from`,
# the tables `recipe` (e.g. epochs = the most it may take), `run` and `data` (dataset, samples,
# val_fraction). Suites written before take a flat `settings` table and top-level
# `dataset` and `samples` too. `preset = NAME` takes all of these from a shipped recipe
# (`zoo.presets`, keys given beside it go on top), and `against = MODEL` judges the case
# against that model's default case in the same suite (same dataset and target) instead
# of against its own model's: a route with another model, such as a preset's.
CASE_KEYS = {"model", "target", "recipe", "run", "data", "preset", "against", *CHECK_KEYS}
CASE_KEYS |= {"dataset", "samples", "settings"}
DATA_KEYS = ("dataset", "samples", "val_fraction")


@dataclasses.dataclass(frozen=True)
class TargetCase:
    """A training run to a quality target (run once per seed by `run_suite`)."""

    model: str
    dataset: str  # "synthetic", or a real dataset that must be prepared on this machine
    target: str  # METRIC=VALUE, checked on the validation split
    settings: str = "{}"  # zoo.train's settings over the recipe, as sorted JSON (hashable)
    samples: int | None = None  # synthetic training examples (None: the task's default)
    backend: str = "tensorflow"
    tuned: bool = False  # the recipe `zoo tune` cached for this machine, not the default
    tuned_seed: int | None = None  # the seed its search ran on: never judged on that seed
    same_as_default: str | None = None  # why a tuned twin is its default's recipe again
    preset: str | None = None  # the shipped recipe the case runs (zoo.presets)
    against: str | None = None  # judged against this model's default case, not its own

    @property
    def challenger(self) -> bool:
        """Judged against a default case: a tuned twin, or a route `against` a model."""
        return self.tuned or self.against is not None

    @property
    def overrides(self) -> dict:
        return json.loads(self.settings)

    @property
    def key(self) -> str:
        parts = [self.model, self.dataset, self.target, self.settings]
        parts += [f"samples={self.samples}"] if self.samples else []
        parts += [self.backend] if self.backend != "tensorflow" else []
        parts += [f"preset={self.preset}"] if self.preset else []
        parts += [f"against={self.against}"] if self.against else []
        return "|".join(parts + (["tuned"] if self.tuned else []))

    def label(self) -> str:
        tuned = " (tuned)" if self.tuned else ""
        preset = f" (preset {self.preset})" if self.preset else ""
        return f"{self.model} on {self.dataset} to {self.target}{preset}{tuned}"


class Source(Protocol):
    """The suite file being read (`zoo.perf.suite`): its errors name the key's line."""

    def error(self, key: str, message: str, model: str | None = None) -> SuiteError: ...

    def positive(self, key: str, value: Any, message: str, kind: type = int) -> None: ...


def parse_case(entry: dict, defaults: dict, src: Source) -> TargetCase:
    """One [[case]] of a target suite, checked: the model, a dataset of its task, a target
    among its task's metrics, and settings that zoo.train takes.

    Raises:
        SuiteError: any of them wrong (the message names the line and the model).
    """
    from zoo import tasks
    from zoo.training.target import parse

    entry = {**defaults, **_preset(entry, src)}
    name = entry["model"]
    try:
        spec = registry.get_spec(name)
    except registry.UnknownModelError as e:
        raise src.error("model", str(e), repr(name)) from None
    task = tasks.get(spec.task)
    against = entry.get("against")
    if against is not None:
        try:
            other = registry.get_spec(against)
        except registry.UnknownModelError as e:
            raise src.error("against", str(e), name) from None
        if other.task != spec.task:
            raise src.error(
                "against", f"{against} is a {other.task} model; {name} is {spec.task}.", name
            )
    data = _data(entry, name, src)
    dataset = data.get("dataset", entry.get("dataset", "synthetic"))
    datasets = ("synthetic", *(d for d in task.datasets if d != "synthetic"))
    if dataset not in datasets:
        allowed = ", ".join(datasets)
        raise src.error("dataset", f"unknown dataset {dataset!r}. Allowed: {allowed}.", name)
    if "target" not in entry:
        raise src.error("model", 'a target case needs `target = "METRIC=VALUE"`.', name)
    try:
        target = parse(entry["target"], task)
    except InvalidArgumentError as e:
        raise src.error("target", str(e), name) from None
    settings = _settings(entry, name, src)
    samples = data.get("samples", entry.get("samples"))
    if samples is not None:
        src.positive("samples", samples, "samples is a positive integer")
    return TargetCase(
        name,
        dataset,
        str(target),
        json.dumps(settings, sort_keys=True),
        samples,
        preset=entry.get("preset"),
        against=against,
    )


def _preset(entry: dict, src: Source) -> dict:
    """A case with `preset = NAME`: the shipped recipe's model, target, eval_every, data
    and settings (flat, as a trial takes them), the case's own keys on top."""
    name = entry.get("preset")
    if name is None:
        return entry
    from zoo import recipe

    try:
        file = recipe.read(name)
    except InvalidArgumentError as e:
        raise src.error("preset", str(e)) from None
    settings = {k: v for k, v in file.settings().items() if k != "backend"}
    data = {"dataset": file.data.dataset}
    data |= {} if file.data.val_fraction is None else {"val_fraction": file.data.val_fraction}
    base = {"model": file.model, "target": file.target, "settings": settings, "data": data}
    return {**{k: v for k, v in base.items() if v is not None}, **entry}


def _settings(entry: dict, name: str, src: Source) -> dict:
    """A target case's zoo.train settings: the `recipe` and `run` tables, eval_every and
    the data's val_fraction (or a flat `settings` table), each part checked where it is
    written: a trial takes it (`zoo.tuning.trial`) and its field's check passes."""
    from zoo import recipe as zrecipe
    from zoo.tuning.trial import RUN_KEYS, TRAIN_KEYS

    settings: dict = {}
    for key in ("settings", "recipe", "run", *CHECK_KEYS, "data"):
        if key not in entry:
            continue
        part = entry[key] if key not in CHECK_KEYS else {key: entry[key]}
        if key == "data":
            part = {k: v for k, v in part.items() if k == "val_fraction"}
        unknown = sorted(set(part) - set(TRAIN_KEYS) - set(RUN_KEYS))
        if unknown:
            allowed = ", ".join((*TRAIN_KEYS, *RUN_KEYS))
            raise src.error(key, f"unknown setting {unknown[0]!r}. Allowed: {allowed}.", name)
        try:
            kept = {k: v for k, v in part.items() if k != "val_fraction"}
            zrecipe.from_settings(name, kept, source="")  # the suite names the file
            zrecipe.Data(val_fraction=part.get("val_fraction"))
        except InvalidArgumentError as e:
            raise src.error(key, str(e), name) from None
        settings.update(part)
    return settings


def _data(entry: dict, name: str, src: Source) -> dict:
    """The case's `data` table (dataset, samples, val_fraction), or {}."""
    data = entry.get("data", {})
    if not isinstance(data, dict):
        raise src.error("data", '`data` is a table, e.g. data = { dataset = "mnist" }.', name)
    extra = sorted(set(data) - set(DATA_KEYS))
    if extra:
        allowed = ", ".join(DATA_KEYS)
        raise src.error("data", f"unknown data key {extra[0]!r}. Allowed: {allowed}.", name)
    return data


def with_tuned(cases: list[TargetCase]) -> tuple[list[TargetCase], list[TargetCase]]:
    """Each target case followed by its tuned twin: the settings `zoo tune` cached for its
    model and dataset on this machine and backend, over the case's own (same target, data
    and seeds). A twin carries the seed its search ran on (`tuned_seed`, never judged on)
    and, where the tuned recipe is the default's again, why (`same_as_default`). Returns
    the cases and those without a tuned recipe here."""
    try:
        from zoo.tuning import cache
    except ImportError:  # pragma: no cover - a zoo without `zoo tune`
        raise InvalidArgumentError("--tuned needs `zoo tune`, which this zoo lacks.") from None
    out, missing = [], []
    for case in cases:
        out.append(case)
        entry = cache.lookup(case.model, case.dataset)  # this backend's, else the newest
        if not entry:
            missing.append(case)
            continue
        tuned = {k: v for k, v in entry["settings"].items() if k != "backend"}
        settings = {**case.overrides, **tuned}
        backend = entry.get("backend", case.backend)  # where the winner was found
        same = (
            None if backend != case.backend else same_recipe(case.model, case.overrides, settings)
        )
        twin = dataclasses.replace(
            case,
            settings=json.dumps(settings, sort_keys=True),
            tuned=True,
            backend=backend,
            tuned_seed=entry.get("seed"),
            same_as_default=same,
        )
        out.append(twin)
    return out, missing


def same_recipe(model: str, default: dict, tuned: dict) -> str | None:
    """Why two settings over `model`'s recipe train the same way, or None where they differ.
    An epoch limit alone changes nothing under a constant schedule (the run stops at its
    target first, or at the limit either way): "same as default" then, with that said."""
    from zoo import recipe

    a = recipe.from_settings(model, default, "the default case").settings()
    b = recipe.from_settings(model, tuned, "the tuned recipe").settings()
    differ = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    if not differ:
        return "same as default"
    if differ == {"epochs"} and a.get("schedule") == b.get("schedule") == "constant":
        return f"same as default but its epoch limit ({a['epochs']} -> {b['epochs']})"
    return None


# --- run ---------------------------------------------------------------------------------


def run_case(
    case: TargetCase, seed: int, timeout_s: float, daemon_dir: str | None = None
) -> dict[str, Any]:
    """Trains one case to its target with one seed, in a fresh process (zoo.tuning.trial),
    forked from the daemon in `daemon_dir` where one is given (`warm`); skipped, with the
    reason, when its backend or its prepared dataset is missing here."""
    from zoo.tuning.trial import run_trial

    if importlib.util.find_spec(case.backend) is None:  # checked without importing it
        return {"status": "skipped", "reason": not_installed(case.backend)}
    missing = missing_dataset(case.dataset)
    if missing:
        return {"status": "skipped", "reason": missing}
    record = run_trial(
        case.model,
        case.dataset,
        case.overrides,
        target=case.target,
        seed=seed,
        samples=case.samples,
        backend=case.backend,
        timeout_s=timeout_s,
        daemon_dir=daemon_dir,
    )
    record.pop("history", None)  # the per-epoch logs: the target's checks are kept
    return record


def missing_dataset(dataset: str) -> str | None:
    """Why a real dataset cannot be read here (it is never downloaded), or None."""
    if dataset == "synthetic":
        return None
    from zoo.data import prepare

    # TFDS_DATA_DIR as the trial's process will read it (TFDS reads it once, at import).
    status = prepare.status(dataset, os.environ.get("TFDS_DATA_DIR"))
    if status["prepared"]:
        return None
    return (
        f"{dataset} is not prepared in {Path(status['path']).parent.parent} (never downloaded "
        f"here): zoo data prepare {dataset} --from DIR"
    )


def alternate(todo: list[tuple[int, TargetCase]]) -> list[tuple[int, TargetCase]]:
    """The runs in alternating order: on even seeds each default case runs before its tuned
    twin, on odd seeds after it (A B, B A, ...), so neither arm always runs second, on a
    machine warmed or loaded by the other."""
    out, i = list(todo), 0
    while i < len(out) - 1:
        (seed, a), (seed_b, b) = out[i], out[i + 1]
        if seed % 2 and seed == seed_b and not a.challenger and b.challenger and _twin(a, b):
            out[i], out[i + 1] = out[i + 1], out[i]
            i += 1
        i += 1
    return out


def _twin(a: TargetCase, b: TargetCase) -> bool:
    """`b` is judged against `a`: the same data and target, and `a` is its baseline."""
    base = b.against or b.model
    return (a.model, a.dataset, a.target, a.samples) == (base, b.dataset, b.target, b.samples)


def held_out(case: TargetCase, seed: int) -> dict[str, Any] | None:
    """A skip for a tuned run that would be judged on the seed its search picked it on
    (it would grade the search on its own data), or for a twin that is its default again
    (nothing to compare); None where the run goes ahead."""
    if not case.tuned:
        return None
    if case.same_as_default == "same as default":
        return {"status": "skipped", "reason": "the tuned recipe is the default's: same as default"}
    if case.tuned_seed is not None and seed == case.tuned_seed:
        return {
            "status": "skipped",
            "reason": f"seed {seed} is the one its search ran on; tuned recipes are judged "
            "on held-out seeds only (zoo tune --seed picks the search's)",
        }
    return None


@contextlib.contextmanager
def warm(cases: list[TargetCase]):
    """A zoo daemon of the suite's own for the block (`zoo.tuning.trial.warm_trials`):
    yields the runner that forks each run from it. Every case must run on one backend.

    Raises:
        InvalidArgumentError: the cases name several backends, or the daemon cannot start.
    """
    from zoo.tuning.trial import warm_trials

    with warm_trials([c.backend for c in cases], "these cases") as folder:
        yield functools.partial(run_case, daemon_dir=folder)


def run_suite(
    suite: Any,
    output: str | Path,
    *,
    models: str | None = None,
    repeat: int | None = None,
    resume: bool = False,
    on_result: Callable[[int, int, TargetCase, dict], None] | None = None,
    runner: Callable[[TargetCase, int, float], dict] = run_case,
    shard: Any = None,
    on_start: Callable[[int, int, TargetCase], None] | None = None,
) -> list[dict[str, Any]]:
    """Runs a target suite (a `zoo.perf.suite.Suite` of kind "target"): every case once per
    seed 0..repeat-1, interleaved (each case with seed 0, then each with seed 1, ...),
    streaming records to `output`; then writes the CSV and Markdown summaries beside it.

    Raises:
        InvalidArgumentError: no case matches `models`.
        OutputError: `output` exists and `resume` is off, or it cannot be written.
    """
    results = ResultsFile(output)
    cases = suite.select(models)
    cases = shard.take(cases) if shard is not None else cases  # zoo.perf.shard
    records = results.resume(resume, key=lambda r: (r["case"], r["repeat"]))
    seeds = range(repeat or suite.repeat)
    todo = alternate([(s, c) for s in seeds for c in cases if not results.done((c.key, s))])
    skipped: dict[str, dict] = {}  # a case skipped once is skipped for every seed
    for n, (seed, case) in enumerate(todo, 1):
        if on_start:
            on_start(n, len(todo), case)
        held = held_out(case, seed)  # for this seed alone
        result = held or skipped.get(case.key) or runner(case, seed, suite.timeout_s)
        if not held and result.get("status") == "skipped":
            skipped[case.key] = result
        record = {"suite": suite.name, "kind": "target", "case": case.key, "repeat": seed}
        record |= {"seed": seed, **dataclasses.asdict(case), "settings": case.overrides}
        record["target_spec"] = record.pop("target")  # `target`: what the run recorded
        if shard is not None:
            record["shard"] = shard.to_dict(len(seeds) * len(cases))
        record = stamp({**record, **result}, "target")
        results.append(record)
        records.append(record)
        if on_result:
            on_result(n, len(todo), case, record)
    write_tables(Path(output), records)
    return records


# --- summarize ---------------------------------------------------------------------------


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


def _row(key: str, recs: list[dict]) -> dict[str, Any]:
    """One time-to-target case: reached n/N, medians over its seeds, the setting used."""
    first = recs[0]
    metric = first["target_spec"].partition("=")[0]
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
        **{
            k: first.get(k)
            for k in ("model", "dataset", "target_spec", "tuned", "preset", "against")
        },
        "metric": metric,
        "optimum": (ok.get("optimum") or {}).get(metric),
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
        "check_every_steps": config.get("eval_every") or ok.get("steps_per_epoch"),
        "check_from_epoch": config.get("check_from") or 0,
        "same_as_default": first.get("same_as_default"),
        "tuned_seed": first.get("tuned_seed"),
        "status": "skipped" if not runs else ("ok" if ok else failed.get("status", "?")),
        "reason": failed.get("reason") if failed else None,
        "start": _start(runs),
    }


def _start(runs: list[dict]) -> str | None:
    """How the case's runs started: "cold" (a fresh process imports the framework), "warm"
    (forked from a zoo daemon that had imported it), "mixed"; None where none trained."""
    starts = {(r.get("target") or {}).get("start", "cold") for r in runs if r.get("target")}
    return None if not starts else starts.pop() if len(starts) == 1 else "mixed"


def summarize(records: Iterable[dict]) -> list[dict[str, Any]]:
    """One row per time-to-target case (medians over its seeds); a tuned case also gets
    `vs_default`: the default recipe's median time over its own (the tuned speed-up)."""
    by_case: dict[str, list[dict]] = {}
    for r in records:
        if r.get("kind") == "target":
            by_case.setdefault(r["case"], []).append(r)
    rows = [_row(key, recs) for key, recs in by_case.items()]
    defaults = {(r["model"], r["dataset"], r["target_spec"]): r for r in rows if not _challenger(r)}
    for row in rows:
        base_model = row.get("against") or row["model"]
        base = defaults.get((base_model, row["dataset"], row["target_spec"]))
        row.update(
            _speedup(by_case[row["case"]], by_case[base["case"]])
            if _challenger(row) and base
            else _NO_RATIO
        )
    return rows


def _challenger(row: dict) -> bool:
    """A row judged against a default row: a tuned twin, or a route `against` a model."""
    return bool(row.get("tuned") or row.get("against"))


_NO_RATIO = {
    "vs_default": None,
    "vs_default_pairs": 0,
    **ratio_fields([], [], "vs_default", stats.CONFIDENCE),
    "vs_default_ceiling": None,
}

# The phases of a run that come before its first timed step: what no recipe moves.
FIXED_PHASES = ("start_s", "data_s", "build_s", "xla_probe_s", "compile_s")


def _fixed_s(record: dict) -> float | None:
    """A reached run's seconds before training: process start and imports, data, model
    build, the XLA probe and compilation (its `target.phases`); None where it has none."""
    phases = (record.get("target") or {}).get("phases") or {}
    if phases.get("start_s") is None:
        return None
    return sum(phases.get(k) or 0.0 for k in FIXED_PHASES)


def _ceiling(pairs: list[tuple[dict, float]]) -> float | None:
    """The most a route could gain over its default if its training and checks took no
    time: the geometric mean over the paired seeds of the default's time to target over
    the route's fixed phases (`FIXED_PHASES`). A speed-up goal above it needs a cheaper
    start, not a better recipe."""
    ratios = [base / fixed for r, base in pairs if (fixed := _fixed_s(r))]
    if not ratios or len(ratios) != len(pairs):
        return None
    return statistics.geometric_mean(ratios)


def _speedup(tuned: list[dict], default: list[dict], confidence: float = stats.CONFIDENCE) -> dict:
    """The tuned speed-up: the default's time to target over the tuned one's, paired by
    seed (the two ran one after the other, in alternating order), over the seeds where
    both reached the target: the geometric mean of the per-seed ratios, its interval and
    verdict ("faster": the tuned recipe is, at that confidence)."""
    times = {r["seed"]: _run_value(r, "target.time_to_target_s") for r in default}
    pairs = [
        (r, t, times[r["seed"]])
        for r in tuned
        if r["seed"] in times
        and math.isfinite(t := _run_value(r, "target.time_to_target_s"))
        and math.isfinite(times[r["seed"]])
    ]
    if not pairs:
        return _NO_RATIO
    ratio = stats.paired([p[1] for p in pairs], [p[2] for p in pairs], confidence)
    return {
        "vs_default": ratio.ratio,
        "vs_default_pairs": len(pairs),
        **ratio.fields("vs_default"),
        "vs_default_ceiling": _ceiling([(p[0], p[2]) for p in pairs]),
    }


# --- table -------------------------------------------------------------------------------


def setting(row: dict) -> str:
    """The setting a case ran with: batch, learning rate, schedule, jit, precision."""
    if row["batch_size"] is None:
        return "-"
    jit = "xla" if row["jit_compile"] else "graph"
    return (
        f"b{row['batch_size']} lr {row['learning_rate']:g} {row['schedule']} {jit} "
        f"{row['precision']}, <= {row['max_epochs']} epochs"
    )


def _never(row: dict) -> bool:
    """The median run did not reach the target (a skipped case did not run at all)."""
    return row["status"] != "skipped" and row["time_to_target_s"] is None


def _reached(key: str, not_reached: str) -> Callable[[dict], float | str | None]:
    return lambda row: not_reached if _never(row) else row.get(key)


def table(
    rows: Sequence[dict], title: str | None = None, not_reached: str = "not reached"
) -> Table:
    """`zoo bench --suite time-to-target`: a row per case (`summarize`), medians over its
    seeds; a median that did not reach the target reads `not_reached`, never a number. A
    tuned case adds its speed-up over the default recipe."""
    times = ("time_to_target_s_min", "time_to_target_s_max")
    columns = [
        Column("model", key=_model_label),
        Column("dataset"),
        Column("target (validation)", key="target_spec"),
        Column("optimum", "value"),
        Column("reached", "count", lambda r: f"{r['reached']}/{r['runs']}" if r["runs"] else None),
        Column("time to target s (min-max)", "s", _reached("time_to_target_s", not_reached), times),
        Column("train s", "s", _reached("train_time_to_target_s", not_reached)),
        Column("steps", "count", _reached("steps_to_target", not_reached)),
        Column("epochs", "ratio", _reached("epochs_to_target", not_reached)),  # a fraction
        Column("test metric", "value", "test_metric"),
    ]
    if any(_challenger(r) for r in rows):
        vs = ratio_column("vs default", "vs_default", stats.CONFIDENCE)
        columns.append(dataclasses.replace(vs, key=_vs_default))
        columns.append(Column("ceiling", "ratio", "vs_default_ceiling", suffix="x"))
        columns.append(Column("checks every (steps)", "count", "check_every_steps"))
        columns.append(Column("checks from (epoch)", "ratio", "check_from_epoch"))
    columns.append(Column("setting", "text", setting))
    if _warm(rows):  # `zoo bench --warm`
        columns.append(Column("start", "text", "start"))
    columns.append(Column("status", "text", _status))
    return Table(title, columns, list(rows))


def _model_label(row: dict) -> str:
    """The model, and what it runs beside its default: tuned, a preset, against whom."""
    notes = ["tuned"] if row["tuned"] else []
    notes += [f"preset {row['preset']}"] if row.get("preset") else []
    notes += [f"vs {row['against']} default"] if row.get("against") else []
    return row["model"] + (f" ({', '.join(notes)})" if notes else "")


def _vs_default(row: dict) -> float | str | None:
    """A tuned twin's (or a route's `against` another model) speed-up over its default
    row, or why it has none (the default's recipe again, or no seed where both reached
    the target); nothing for a default row."""
    if not _challenger(row):
        return None
    if row.get("vs_default") is not None:
        return row["vs_default"]
    return row.get("same_as_default") or "no seed where both reached"


def _status(row: dict) -> str:
    """The status and its reason; a tuned twin that differs from its default in its epoch
    limit alone says so."""
    text = status({**row, "note": None})
    same = row.get("same_as_default")
    return f"{text}; {same}" if same and row.get("vs_default") is not None else text


# What the time-to-target tables measure (under each of them).
NOTE = (
    "The target is checked on the validation split (held out from training); the test "
    "metric is the test split's, of the model that reached it. Time to target counts from "
    "the run's process start (imports, data loading and compilation included); train s "
    "is the training alone. Medians over the seeds, a run that never reached the target "
    "counting as never; the range is over the runs that reached it. A tuned recipe runs "
    "beside its default on each seed, in alternating order, never on the seed its search "
    "ran on; a route `against` another model runs beside that model's default the same "
    "way; vs default is the geometric mean of the per-seed ratios (default time over "
    "tuned) over the seeds where both reached the target, [its 95% interval] (t interval "
    "on the log-ratios, zoo.stats) and the verdict: faster only where the interval "
    "excludes 1. ceiling is the most the route could gain if its training and target "
    "checks took no time: the default's time over the route's start, data, build and "
    "compilation (geometric mean over the same seeds); a goal above it needs a cheaper "
    "start, not a better recipe."
)

# Under a table with warm runs (`note`).
WARM_NOTE = (
    "start warm: each run was forked from a zoo daemon of the suite's own, which had "
    "imported the framework once (`zoo bench --warm`, as `zoo daemon start` serves zoo "
    "train), so its time to target counts from its worker's start without the import; "
    "every route of the table alike."
)


def note(rows: Sequence[dict]) -> str:
    """What a time-to-target table measures: NOTE, and WARM_NOTE where a run was warm."""
    return NOTE + (" " + WARM_NOTE if _warm(rows) else "")


def _warm(rows: Sequence[dict]) -> bool:
    return any(r.get("start") not in (None, "cold") for r in rows)


# The time-to-target CSV's columns and the number kind of each (None: written as it is).
TABLE_KINDS: dict[str, str | None] = {
    "model": None,
    "dataset": None,
    "target_spec": None,
    "optimum": "value",
    "tuned": None,
    "preset": None,
    "against": None,
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
    "vs_default_low": "ratio",
    "vs_default_high": "ratio",
    "vs_default_verdict": None,
    "vs_default_pairs": "count",
    "vs_default_ceiling": "ratio",
    "same_as_default": None,
    "check_every_steps": "count",
    "check_from_epoch": "ratio",
    "batch_size": "count",
    "learning_rate": "value",
    "schedule": None,
    "jit_compile": None,
    "precision": None,
    "max_epochs": "count",
    "status": None,
    "reason": None,
}


def write_tables(output: Path, records: list[dict]) -> tuple[Path, Path]:
    """Writes a time-to-target suite's summary beside its JSON lines: the CSV (every field)
    and the Markdown of `table` with what it measures (`NOTE`)."""
    rows = summarize(records)
    markdown = table(rows).markdown() + "\n" + note(rows) + "\n"
    kinds = {**TABLE_KINDS, "start": None} if _warm(rows) else TABLE_KINDS
    return _write(output, data_table(rows, kinds).csv(), markdown)
