"""`tune`: the settings that reach a quality target fastest on this machine.

Every candidate runs as a real `zoo.train` in its own process (`zoo.tuning.trial`), so a
setting is judged by what training with it really does on this machine: imports, data
loading, compilation and the input pipeline included.

    execution  at the recipe's batch size, time two epochs of training under each
               jit_compile x steps_per_execution of their `zoo.RunConfig` fields' spaces
               (graph and XLA x 1 and 8) (fastest: the one that would train the
               default route's examples soonest, compilation included), then the
               fastest of those in each reduced
               precision of its field's space that this hardware runs natively
               (`zoo.runtime.hardware`: an emulated one is left out, with the reason);
               then, with the fastest, double the batch size
               while throughput rises by more than RISE; samples/s is read from the
               faster of the second and third epochs (the first compiles).
    recipe     trials of the fastest execution settings with recipes drawn (seeded) from
               the search space each `zoo.Recipe` field declares (`tune=`): batch size
               (those measured), learning rate (scaled with the batch), schedule,
               epochs, optimizer, weight decay, label smoothing (where the task's loss
               takes it), dropout (models that have it) and fastText's bigrams (on or
               off); each trial trains until the validation split reaches the target,
               and is scored by its time to target. Trials race the best so far: a
               trial still running when it has taken longer than the best time to
               target plus a margin is stopped, since it cannot win (the time-based
               form of successive halving). The first trials are the default
               route (the model's recipe, graph, float32, up to DEFAULT_EPOCHS times its
               epochs) and, where that reached the target, the same recipe with the
               fastest execution settings, so the winner is always compared with the
               default.

The target is checked on the validation split only; the test split, never seen by the
search, is reported for the winner. The whole search stops when `budget_s` is spent.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo import data as zdata
from zoo import io, registry, tasks
from zoo import recipe as zrecipe
from zoo.choices import (
    BACKEND_EXTRA,
    BACKENDS,
    RUN_STATUSES,
    check_choice,
    check_positive,
    check_seed,
)
from zoo.errors import InvalidArgumentError, OutputError
from zoo.perf.shard import Shard
from zoo.record import stamp
from zoo.results import ResultsFile
from zoo.runtime import hardware
from zoo.runtime.config import RunConfig
from zoo.spec import Recipe, Scale, Values, default_of, field_of
from zoo.training import target as ztarget
from zoo.tuning import TUNING_SEED, cache
from zoo.tuning.trial import run_trial

CHECKS_PER_EPOCH = 4  # target checks per epoch in the recipe trials
RISE = 1.10  # a larger batch must be this much faster to be kept
EXECUTION_SHARE = 0.35  # of the budget, at most, for the execution stage
EPOCH_STEPS = 32  # steps per epoch of an execution trial (3 epochs; the first compiles)
MARGIN_S = 5.0  # a racing trial may run this much past the best time to target
DEFAULT_EPOCHS = 3  # the default recipe may take this many times its epochs
NOT_CACHED_IN_SHARD = "not cached: one shard of a search (`zoo tune merge` picks the winner)"
# The fields a search varies: those that declare a space (`tune=`).
TUNED_RECIPE = tuple(f.name for f in dataclasses.fields(Recipe) if f.metadata.get("tune"))
TUNED_RUN = tuple(f.name for f in dataclasses.fields(RunConfig) if f.metadata.get("tune"))
# What `zoo train` runs by default: the tuned execution fields at their defaults.
DEFAULT_EXECUTION = {k: default_of(RunConfig, k) for k in TUNED_RUN if k != "threads"}
EXECUTION_KEYS = (*TUNED_RUN, "backend")
# Every trial of a resumed search stands as it ended: a failed or stopped one is a result.
TRIAL_STATUSES = (*RUN_STATUSES, "stopped")


@dataclasses.dataclass
class _Search:
    """What one `tune` call knows as it goes."""

    spec: registry.ModelSpec
    task: tasks.Task
    dataset: str
    target: ztarget.Target
    deadline: float
    common: dict[str, Any]  # run_trial's keyword arguments shared by every trial
    backends: tuple[str, ...]  # the Keras backends measured; the first is the default
    on_trial: Callable[[str, dict[str, Any]], None]
    fit_examples: int = 0
    max_trials: int = 20
    beat_s: float | None = None  # a time to target to race besides the search's own best
    results: ResultsFile | None = None  # where each trial goes as it ends
    shard: Shard | None = None  # this process's share of the recipe queue (--shard I/N)
    kept: dict[str, dict] = dataclasses.field(default_factory=dict)  # resumed: key -> row
    execution: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    trials: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def left(self) -> float:
        return self.deadline - time.monotonic()


def tune(
    model: str,
    dataset: str = "synthetic",
    *,
    target: str,
    budget_s: float = 600.0,
    max_trials: int = 20,
    seed: int = TUNING_SEED,
    samples: int | None = None,
    data_dir: str | None = None,
    device: str = default_of(RunConfig, "device"),
    backends: Sequence[str] | None = None,
    on_trial: Callable[[str, dict[str, Any]], None] | None = None,
    trials: str | Path | None = None,
    resume: bool = False,
    beat_s: float | None = None,
    shard: Shard | None = None,
    daemon_dir: str | None = None,
) -> dict[str, Any]:
    """Finds the execution settings and recipe that reach `target` fastest on this
    machine, caches the winner (`zoo.tuning.cache`) and returns the whole search: the
    `execution` rows, the recipe `trials`, the `default` trial and the `winner` (None when
    no trial reached the target). `backends`: the Keras backends to measure (default: this
    process's). `on_trial(stage, record)` hears of each trial. `trials`: a results file
    (`zoo.results`) each trial is appended to as it ends; `resume`: go on with the search
    in it, taking the trials it holds instead of running them again (the budget counts
    from now). `beat_s`: a time to target found before (another model's, in a race of
    models, `zoo.tuning.race`): every recipe trial races it as it races this search's
    own best. `shard`: run only every `count`-th recipe trial of the search's queue from
    `index` on (the execution stage runs whole in every shard: each measures its own
    machine); `zoo.tuning.merge` puts the shards together and picks the winner.
    `daemon_dir`: every trial is forked from the zoo daemon there (`trial.warm_trials`),
    which imported the framework once; one backend only.

    Raises:
        ZooError: a bad argument, or a trials file that exists without `resume` or holds
            another search.
    """
    search = _start(model, dataset, target, budget_s, seed, samples, data_dir, device, on_trial)
    search.shard = shard
    search.backends = _check_backends(backends)
    if daemon_dir is not None:
        if len(search.backends) > 1:
            raise InvalidArgumentError(
                "Warm trials run on one backend (the daemon imported one); this search "
                f"measures {', '.join(search.backends)}.",
                "Leave out --warm, or measure one backend.",
            )
        search.common["daemon_dir"] = daemon_dir
    check_positive("max_trials", max_trials)
    search.max_trials = max_trials
    check_positive("beat_s", beat_s, float, optional=True)
    search.beat_s = beat_s
    if trials is not None:
        search.results, search.kept = _trials_file(search, trials, resume)
    fastest, batches = _execution_stage(search)
    _recipe_stage(search, fastest, batches, max_trials, seed)
    return _finish(search, fastest, budget_s)


def _start(model, dataset, target, budget_s, seed, samples, data_dir, device, on_trial):
    spec = registry.get_spec(model)
    task = tasks.get(spec.task)
    parsed = ztarget.parse(target, task)
    if parsed is None:
        raise InvalidArgumentError(
            "zoo tune needs a target to race to.", "Pass --target METRIC=VALUE."
        )
    check_positive("budget_s", budget_s, float)
    check_positive("samples", samples, optional=True)
    check_seed(seed)
    RunConfig(device=device)  # the field's check: a bad device is one line now
    # Loaded once here, so that a dataset that is unknown, unprepared or does not fit the
    # model is one line now, not a failure in every trial's process.
    data = zdata.load(
        task.name, dataset, seed=seed, samples=samples, data_dir=data_dir, hints=spec.defaults
    )
    # The training examples a trial fits on (10% are held out where the data has no
    # validation split of its own).
    fit_examples = data.num_train - (0 if data.y_val is not None else round(0.1 * data.num_train))
    common = {"seed": seed, "samples": samples, "data_dir": data_dir, "device": device}
    return _Search(
        spec,
        task,
        dataset,
        parsed,
        time.monotonic() + budget_s,
        common,
        (cache.backend(),),
        on_trial or (lambda stage, record: None),
        fit_examples,
    )


def _check_backends(backends: Sequence[str] | None) -> tuple[str, ...]:
    """The backends asked for, checked to be known and installed.

    Raises:
        InvalidArgumentError: an unknown backend, or one whose extra is not installed.
    """
    import importlib.util

    if not backends:
        return (cache.backend(),)
    for b in backends:
        check_choice("backend", b, BACKENDS)
        if importlib.util.find_spec(b) is None:
            extra = BACKEND_EXTRA[b]
            raise InvalidArgumentError(
                f"The {b} backend is not installed.",
                f"pip install 'keras-zoo[{extra}]'" if extra else f"pip install {b}",
            )
    return tuple(dict.fromkeys(backends))


def _trial(
    search: _Search,
    stage: str,
    settings: dict,
    *,
    target: bool,
    timeout_s: float,
    samples: int | None = None,
    racing: bool = False,
) -> dict[str, Any]:
    """Runs one trial (or takes it from the trials file resumed) and appends it there;
    `racing`: a trial stopped at its time limit could not have won."""
    key = _trial_key(stage, settings, samples)
    if key in search.kept:
        row = search.kept[key]
        search.on_trial(stage, row)
        return row
    row = _run(search, settings, target=target, timeout_s=timeout_s, samples=samples)
    if racing and row["status"] == "timeout":
        row["status"], row["reason"] = "stopped", "slower than the best so far"
    if search.results is not None:
        done = {"search": _identity(search), "stage": stage, "key": key, **row}
        search.results.append(stamp(done, "tune trial"))
    search.on_trial(stage, row)
    return row


def _run(
    search: _Search, settings: dict, *, target: bool, timeout_s: float, samples: int | None
) -> dict[str, Any]:
    """One trial in its own process: the row the search keeps."""
    common = dict(search.common)
    device = common.pop("device")
    run = {k: v for k, v in settings.items() if k != "backend"}
    record = run_trial(
        search.spec.name,
        search.dataset,
        {**run, "device": device},
        backend=settings.get("backend", search.backends[0]),
        target=str(search.target) if target else None,
        timeout_s=max(timeout_s, 1.0),
        **{**common, "samples": samples if samples is not None else common["samples"]},
    )
    return {"settings": settings, **_summary(record)}


def _trial_key(stage: str, settings: dict, samples: int | None) -> str:
    return json.dumps([stage, settings, samples], sort_keys=True)


def _identity(search: _Search) -> dict[str, Any]:
    """What makes two searches the same one: a trials file resumes only its own."""
    common = {k: search.common[k] for k in ("seed", "samples", "data_dir", "device")}
    shard = search.shard
    return {
        "model": search.spec.name,
        "dataset": search.dataset,
        "target": str(search.target),
        "backends": list(search.backends),
        **common,
        **({} if shard is None else {"shard": [shard.index, shard.count]}),
    }


def _trials_file(search: _Search, path, resume: bool) -> tuple[ResultsFile, dict[str, dict]]:
    """The trials file, and (with `resume`) the trials it holds by key.

    Raises:
        OutputError: the file exists without `resume`, or holds another search.
    """
    results = ResultsFile(path)
    kept = results.resume(resume, key=lambda r: r["key"], finished=TRIAL_STATUSES)
    identity = _identity(search)
    for record in kept:
        if record.get("search") != io.to_jsonable(identity):
            raise OutputError(
                f"{path} holds another search ({record.get('search')}).",
                "Pass another --output, or repeat that search's options with --resume.",
            )
    meta = ("schema", "kind", "search", "stage", "key", "provenance")
    return results, {r["key"]: {k: v for k, v in r.items() if k not in meta} for r in kept}


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """The fields of a trial's record that the search and its report keep."""
    row = {k: record.get(k) for k in ("status", "reason", "wall_s", "num_train")}
    history = record.get("history") or []
    if record.get("status") == "ok" and len(history) >= 3 and record.get("num_train"):
        fastest = min(h["seconds"] for h in history[1:])
        row["samples_per_s"] = record["num_train"] / fastest
        row["compile_s"] = max(history[0]["seconds"] - fastest, 0.0)
    t = record.get("target")
    if t is not None:
        keep = (
            "reached",
            "time_to_target_s",
            "train_time_to_target_s",
            "steps_to_target",
            "epochs_to_target",
            "best_validation",
            "test_metric",
            "start",
        )
        row.update({k: t.get(k) for k in keep})
        row["test_metrics"] = record.get("test_metrics")
    return row


def _native_precisions(search: _Search) -> list[str]:
    """The reduced precisions this hardware runs natively; those it would emulate are
    recorded in `search.execution` as left out, with the reason."""
    native = []
    for precision in _values(_tune(RunConfig, "precision"), None):
        support = hardware.precision_support(precision, search.common["device"])
        if support["native"]:
            native.append(precision)
        else:
            search.execution.append(
                {"status": "left out", "precision": precision, "reason": support["reason"]}
            )
    return native


def _variants(search: _Search, fastest: dict) -> list[dict]:
    """What is tried on top of the fastest float32 settings: each native reduced
    precision of the field's space, and (TensorFlow on a CPU of several cores) the
    threads of its space (a part of the cores)."""
    variants = [{**fastest, "precision": p} for p in _native_precisions(search)]
    cores = os.cpu_count() or 1
    if fastest["backend"] == "tensorflow" and search.common["device"] == "cpu" and cores > 1:
        for threads in _values(_tune(RunConfig, "threads"), cores):
            if threads != cores:
                variants.append({**fastest, "threads": threads})
    return variants


def _execution_stage(search: _Search) -> tuple[dict[str, Any], list[int]]:
    """The fastest execution settings and the batch sizes worth trying."""
    batch = search.spec.recipe.batch_size
    stop_at = time.monotonic() + search.left() * EXECUTION_SHARE
    rows: list[dict] = []

    def measure(settings: dict, batch: int) -> dict | None:
        last = rows[-1]["wall_s"] if rows else 0.0  # start only if one as long still fits
        if time.monotonic() + last >= stop_at:
            return None
        run = {**settings, "epochs": 3, "batch_size": batch, "val_fraction": 0}
        limit = max(stop_at - time.monotonic(), 1.0)
        row = _trial(
            search, "execution", run, target=False, samples=batch * EPOCH_STEPS, timeout_s=limit
        )
        rows.append(row)
        search.execution.append(row)
        return row

    for candidate in _candidates(search):
        measure(candidate, batch)
    examples = search.spec.recipe.epochs * search.fit_examples  # the default route's
    fastest = _fastest(rows, examples)
    if fastest is None:
        return {**DEFAULT_EXECUTION, "backend": search.backends[0]}, [batch]
    for variant in _variants(search, fastest):
        measure(variant, batch)
    fastest = _fastest(rows, examples)
    speed, batches = max(r.get("samples_per_s") or 0 for r in rows), [batch]
    while len(batches) < 4:
        row = measure(fastest, batches[-1] * 2)
        if row is None or (row.get("samples_per_s") or 0) < speed * RISE:
            break
        batches.append(batches[-1] * 2)
        speed = row["samples_per_s"]
    return fastest, batches


def _candidates(search: _Search) -> list[dict]:
    """jit_compile x steps_per_execution (their fields' spaces) in float32 on the first
    backend; each steps_per_execution on each other backend (JAX always compiles with
    XLA, PyTorch runs eager: torch.compile is slow)."""
    first, *others = search.backends
    jits = _values(_tune(RunConfig, "jit_compile"), False)
    spes = _values(_tune(RunConfig, "steps_per_execution"), 1)
    out = [
        {**DEFAULT_EXECUTION, "backend": first, "jit_compile": jit, "steps_per_execution": spe}
        for jit in jits
        for spe in spes
    ]
    out += [
        {**DEFAULT_EXECUTION, "backend": b, "jit_compile": b == "jax", "steps_per_execution": spe}
        for b in others
        for spe in spes
    ]
    return out


def _fastest(rows: list[dict], examples: float) -> dict | None:
    """The execution settings that would train `examples` examples soonest: compilation
    (`compile_s`, the first epoch's time beyond a steady one) plus the examples at the
    steady rate. A short run is decided by compilation (fastText on 2,480 texts: XLA ran
    2.4x the examples a second but took 0.8 s longer to compile, more than it saves over
    the default's 5 epochs), a long one by throughput."""
    ok = [r for r in rows if r.get("samples_per_s")]
    if not ok:
        return None
    best = min(ok, key=lambda r: (r.get("compile_s") or 0.0) + examples / r["samples_per_s"])
    return {k: best["settings"][k] for k in EXECUTION_KEYS if best["settings"].get(k) is not None}


def _tune(cls: type, name: str):
    return field_of(cls, name).metadata["tune"]


def _values(space: Values | Scale, current: Any) -> list:
    """The candidates of a field's space around its `current` value, in order, once each."""
    if isinstance(space, Scale):
        found = [
            max(1, int(current * f)) if isinstance(current, int) else current * f
            for f in space.factors
        ]
    else:
        found = [current, *space.values] if space.with_current else list(space.values)
    return list(dict.fromkeys(found))


def _space(search: _Search, batches: list[int]) -> dict[str, list]:
    """The values each tuned recipe field is drawn from: its space around the model's
    recipe; batch sizes are those the execution stage kept, label smoothing only where
    the task's loss takes it, and model_kwargs per hyper-parameter the model has."""
    recipe, spec = search.spec.recipe, search.spec
    space = {}
    for name in TUNED_RECIPE:
        if name == "batch_size":
            space[name] = list(batches)
        elif name == "model_kwargs":
            kwargs = {
                k: _values(s, _number(s, recipe.model_kwargs.get(k, spec.defaults[k])))
                for k, s in _tune(Recipe, name).items()
                if k in spec.defaults
            }
            space.update({f"{name}.{k}": v for k, v in kwargs.items()})
        elif name != "label_smoothing" or _smooths(search.task):
            space[name] = _values(_tune(Recipe, name), getattr(recipe, name))
    return space


def _number(space: Values | Scale, current: Any) -> Any:
    """A model hyper-parameter's value as its space draws from it: a float to be scaled
    (dropout), as it is among listed values (fastText's ngrams, an int)."""
    return float(current) if isinstance(space, Scale) else current


def _smooths(task: tasks.Task) -> bool:
    """Whether the task's loss takes label smoothing (`zoo.tasks.check_label_smoothing`)."""
    try:
        tasks.check_label_smoothing(task, 0.1)
    except InvalidArgumentError:
        return False
    return True


def _recipes(search: _Search, batches: list[int], count: int, seed: int) -> list[dict]:
    """`count` distinct recipes drawn from the fields' spaces, seeded; the learning rate
    scales with the square root of the batch (from the first batch size)."""
    space = _space(search, batches)
    rng = np.random.default_rng([seed, 13])
    drawn: list[dict] = []
    for _ in range(count * 20):
        if len(drawn) == count:
            break
        r: dict[str, Any] = {}
        for name, values in space.items():
            value = values[int(rng.integers(len(values)))]
            field, _, kwarg = name.partition(".")
            if kwarg:
                r.setdefault(field, {})[kwarg] = value
            else:
                r[name] = value
        lr = r["learning_rate"] * (r["batch_size"] / batches[0]) ** 0.5
        r["learning_rate"] = float(f"{lr:.3g}")
        if r not in drawn:
            drawn.append(r)
    return drawn


def default_recipe(spec: registry.ModelSpec) -> dict[str, Any]:
    """The model's recipe (its tuned fields), given DEFAULT_EPOCHS times its epochs to
    reach the target (its constant learning rate makes the longer run the same run,
    continued)."""
    r, smooths = spec.recipe, _smooths(tasks.get(spec.task))
    fields = {k: getattr(r, k) for k in TUNED_RECIPE if k != "label_smoothing" or smooths}
    return {**fields, "epochs": r.epochs * DEFAULT_EPOCHS, "schedule": "constant"}


def _recipe_stage(
    search: _Search, fastest: dict, batches: list[int], max_trials: int, seed: int
) -> None:
    """The recipe trials, in queue order (this shard's share of it), each racing the
    best so far; every trial row records its `queue_index`."""
    default = default_recipe(search.spec)
    queue = [
        {**default, **DEFAULT_EXECUTION, "backend": search.backends[0]},  # what `zoo train` does
        {**default, **fastest},
        *(
            {**r, **fastest, "eval_every": _cadence(search, r["batch_size"])}
            for r in _recipes(search, batches, max_trials, seed)
        ),
    ]
    queue = [q for i, q in enumerate(queue) if q not in queue[:i]]  # each settings once
    # Sharded, the queue is the search's first max_trials trials, split over the shards;
    # whole, trials run until max_trials of them have (a skipped one makes room).
    shard, end = search.shard or Shard(0, 1), len(queue)
    if search.shard is not None:
        end = min(end, max_trials)
    for index in range(shard.index, end, shard.count):
        settings = queue[index]
        if len(search.trials) >= max_trials or search.left() < 1:
            break
        if settings == {**default, **fastest} and _default_missed(search.trials):
            continue  # the same recipe and epochs, only faster: it would miss the target too
        best = best_trial(search.trials)
        times = [t for t in (best and best["time_to_target_s"], search.beat_s) if t]
        limit = search.left()
        if times:  # race: past the best time (and a margin) it cannot win
            limit = min(limit, min(times) + MARGIN_S + _startup(search))
        row = _trial(search, "recipe", settings, target=True, timeout_s=limit, racing=bool(times))
        search.trials.append({**row, "queue_index": index})


def _cadence(search: _Search, batch_size: int) -> int:
    """Steps between target checks: CHECKS_PER_EPOCH a epoch, so that a recipe that
    reaches the target inside an epoch stops there (the default route checks each
    epoch, as `zoo train --target` does)."""
    steps = -(-search.fit_examples // batch_size)
    return max(1, -(-steps // CHECKS_PER_EPOCH))


def _default_missed(trials: list[dict]) -> bool:
    """The default route (queue position 0) ran here and missed the target."""
    return bool(trials) and trials[0].get("queue_index") == 0 and _missed(trials[0])


def _missed(trial: dict) -> bool:
    """The trial ran its epochs to the end without reaching the target."""
    return trial["status"] == "ok" and not trial.get("reached")


def _startup(search: _Search) -> float:
    """Seconds between a trial's process start and its worker's clock (Python start)."""
    done = [t for t in search.trials if t.get("time_to_target_s") and t.get("wall_s")]
    return 2.0 if not done else max(0.0, min(t["wall_s"] - t["time_to_target_s"] for t in done))


def best_trial(trials: list[dict]) -> dict | None:
    reached = [t for t in trials if t.get("reached")]
    return min(reached, key=lambda t: t["time_to_target_s"]) if reached else None


def _finish(search: _Search, fastest: dict, budget_s: float) -> dict[str, Any]:
    winner = best_trial(search.trials)
    default = search.trials[0] if search.trials else None
    result = {
        "model": search.spec.name,
        "dataset": search.dataset,
        "backend": ((winner or {}).get("settings") or {}).get("backend", search.backends[0]),
        "backends": list(search.backends),
        "device": cache.device_kind(search.common["device"]),
        "seed": search.common["seed"],
        "samples": search.common["samples"],
        "target": str(search.target),
        "budget_s": budget_s,
        "spent_s": budget_s - search.left(),
        # warm: every trial forked from a zoo daemon, its times without the import
        "start": "warm" if search.common.get("daemon_dir") else "cold",
        "fastest_execution": fastest,
        "execution": search.execution,
        "trials": search.trials,
        "default": default,
        "winner": winner,
        "speedup": speedup_of(default, winner),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "env": io.environment(),  # the machine the figures were measured on
    }
    if search.shard is not None:
        result["shard"] = search.shard.to_dict(len(search.trials))
        result["max_trials"] = search.max_trials
    result = stamp(result, "tune")  # the schema, command line, commit and machine
    if winner is not None:
        found = winner_recipe(result, search.common["device"], search.common["data_dir"])
        result["recipe"] = io.to_jsonable(found)
        # a shard's best is not the search's: `zoo tune merge` picks that, across shards
        result["cached"] = NOT_CACHED_IN_SHARD if search.shard else _cache_winner(result)
    return result


def winner_recipe(
    result: dict[str, Any], device: str, data_dir: str | None = None
) -> zrecipe.RecipeFile:
    """The winner of a search as a recipe file: its settings over the model's recipe, run
    on `device`, with the search's data, seed and target (`zoo train --recipe` reruns
    the winning trial)."""
    found = zrecipe.from_settings(result["model"], result["winner"]["settings"], "the winner")
    data = zrecipe.Data(dataset=result["dataset"], samples=result["samples"], data_dir=data_dir)
    return dataclasses.replace(
        found,
        run=found.run.replace(device=device),
        data=data,
        seed=result["seed"],
        target=result["target"],
    )


def _cache_winner(result: dict[str, Any]) -> str:
    """Caches the winner, unless an earlier search for the same target on this machine
    found a faster one: "new", "kept the earlier, faster winner" or "replaced"."""
    entry = _entry(result)
    earlier = cache.lookup(entry["model"], entry["dataset"], entry["backend"], entry["device"])
    if (
        earlier is not None
        and earlier.get("target") == entry["target"]
        and earlier.get("samples") == entry["samples"]
        and earlier["time_to_target_s"] <= entry["time_to_target_s"]
    ):
        return "kept the earlier, faster winner"
    cache.store(entry)
    return "new" if earlier is None else "replaced"


def speedup_of(default: dict | None, winner: dict | None) -> float | None:
    if not default or not winner or not default.get("reached"):
        return None
    return default["time_to_target_s"] / winner["time_to_target_s"]


def _entry(result: dict[str, Any]) -> dict[str, Any]:
    """The cache entry of a search's winner."""
    w = result["winner"]
    return {
        "model": result["model"],
        "dataset": result["dataset"],
        "backend": result["backend"],
        "device": result["device"],
        "target": result["target"],
        "seed": result["seed"],
        "samples": result["samples"],
        "settings": w["settings"],
        "recipe": result["recipe"],  # the winner as a recipe file (zoo.recipe.from_dict)
        "time_to_target_s": w["time_to_target_s"],
        "test_metric": w.get("test_metric"),
        "default_time_to_target_s": (result["default"] or {}).get("time_to_target_s"),
        "trials": len(result["trials"]),
        "created": result["created"],
    }
