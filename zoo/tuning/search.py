"""`tune`: the settings that reach a quality target fastest on this machine.

Every candidate runs as a real `zoo.train` in its own process (`zoo.tuning.trial`), so a
setting is judged by what training with it really does on this machine: imports, data
loading, compilation and the input pipeline included.

    execution  at the recipe's batch size, time two epochs of training under each of
               graph and XLA x steps_per_execution 1 and 8, then the fastest of those
               in each reduced precision this hardware runs natively
               (`zoo.runtime.hardware`: an emulated one is left out, with the reason);
               then, with the fastest, double the batch size
               while throughput rises by more than RISE; samples/s is read from the
               faster of the second and third epochs (the first compiles).
    recipe     trials of the fastest execution settings with recipes drawn (seeded) from
               SPACE: batch size (those measured), learning rate (scaled with the batch),
               schedule, epochs, optimizer, weight decay, label smoothing (classifiers)
               and dropout (models that have it); each trial trains until the validation
               split reaches the target, and is scored by its time to target. Trials race
               the best so far: a trial still running when it has taken longer than the
               best time to target plus a margin is stopped, since it cannot win (the
               time-based form of successive halving). The first trials are the default
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
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from zoo import data as zdata
from zoo import io, registry, tasks
from zoo.choices import BACKEND_EXTRA, BACKENDS, DEVICES, check_choice, check_positive
from zoo.errors import InvalidArgumentError
from zoo.runtime import hardware
from zoo.training import target as ztarget
from zoo.tuning import cache
from zoo.tuning.trial import run_trial

# The seed of the search's data split, weights and shuffling: not one of the seeds (0, 1,
# 2...) the time-to-target suite checks a tuned recipe on, so those runs see validation
# splits (and synthetic data) the search never chose by.
TUNING_SEED = 100
CHECKS_PER_EPOCH = 4  # target checks per epoch in the recipe trials
RISE = 1.10  # a larger batch must be this much faster to be kept
EXECUTION_SHARE = 0.35  # of the budget, at most, for the execution stage
EPOCH_STEPS = 32  # steps per epoch of an execution trial (3 epochs; the first compiles)
MARGIN_S = 5.0  # a racing trial may run this much past the best time to target
LR_FACTORS = (0.5, 1.0, 2.0, 3.0)
SCHEDULES = ("constant", "warmup_cosine", "one_cycle")
WEIGHT_DECAYS = (None, 1e-4, 5e-4)
DEFAULT_EPOCHS = 3  # the default recipe may take this many times its epochs
DEFAULT_EXECUTION = {"jit_compile": False, "steps_per_execution": 1, "precision": "float32"}
EXECUTION_KEYS = (*DEFAULT_EXECUTION, "backend", "threads")


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
    device: str = "auto",
    backends: Sequence[str] | None = None,
    on_trial: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Finds the execution settings and recipe that reach `target` fastest on this
    machine, caches the winner (`zoo.tuning.cache`) and returns the whole search: the
    `execution` rows, the recipe `trials`, the `default` trial and the `winner` (None when
    no trial reached the target). `backends`: the Keras backends to measure (default: this
    process's). `on_trial(stage, record)` hears of each trial."""
    search = _start(model, dataset, target, budget_s, seed, samples, data_dir, device, on_trial)
    search.backends = _check_backends(backends)
    check_positive("max_trials", max_trials)
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
    if device not in DEVICES and not re.fullmatch(r"gpu:\d+", device):
        raise InvalidArgumentError(
            f"Unknown device {device!r}.", "Use auto, cpu, gpu or gpu:N (e.g. gpu:0)."
        )
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
    """Runs one trial; `racing`: a trial stopped at its time limit could not have won."""
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
    row = {"settings": settings, **_summary(record)}
    if racing and row["status"] == "timeout":
        row["status"], row["reason"] = "stopped", "slower than the best so far"
    search.on_trial(stage, row)
    return row


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
        )
        row.update({k: t.get(k) for k in keep})
        row["test_metrics"] = record.get("test_metrics")
    return row


def _native_precisions(search: _Search) -> list[str]:
    """The reduced precisions this hardware runs natively; those it would emulate are
    recorded in `search.execution` as left out, with the reason."""
    native = []
    for precision in ("mixed_bfloat16", "mixed_float16"):
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
    precision, and (TensorFlow on a CPU of several cores) half the cores' threads."""
    variants = [{**fastest, "precision": p} for p in _native_precisions(search)]
    cores = os.cpu_count() or 1
    if fastest["backend"] == "tensorflow" and search.common["device"] == "cpu" and cores > 1:
        variants.append({**fastest, "threads": cores // 2})
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
    fastest = _fastest(rows)
    if fastest is None:
        return {**DEFAULT_EXECUTION, "backend": search.backends[0]}, [batch]
    for variant in _variants(search, fastest):
        measure(variant, batch)
    fastest = _fastest(rows)
    speed, batches = max(r.get("samples_per_s") or 0 for r in rows), [batch]
    while len(batches) < 4:
        row = measure(fastest, batches[-1] * 2)
        if row is None or (row.get("samples_per_s") or 0) < speed * RISE:
            break
        batches.append(batches[-1] * 2)
        speed = row["samples_per_s"]
    return fastest, batches


def _candidates(search: _Search) -> list[dict]:
    """Graph and XLA x steps_per_execution 1 and 8 in float32 on the first backend; steps
    per execution 1 and 8 on each other backend (JAX always compiles with XLA)."""
    first, *others = search.backends
    out = [
        {**DEFAULT_EXECUTION, "backend": first, "jit_compile": jit, "steps_per_execution": spe}
        for jit in (False, True)
        for spe in (1, 8)
    ]
    out += [  # jit_compile: XLA on JAX (always), eager PyTorch (torch.compile is slow)
        {**DEFAULT_EXECUTION, "backend": b, "jit_compile": b == "jax", "steps_per_execution": spe}
        for b in others
        for spe in (1, 8)
    ]
    return out


def _fastest(rows: list[dict]) -> dict | None:
    ok = [r for r in rows if r.get("samples_per_s")]
    if not ok:
        return None
    best = max(ok, key=lambda r: r["samples_per_s"])
    return {k: best["settings"][k] for k in EXECUTION_KEYS if best["settings"].get(k) is not None}


def _recipes(search: _Search, batches: list[int], count: int, seed: int) -> list[dict]:
    """`count` distinct recipes drawn from the space, seeded."""
    recipe, spec = search.spec.recipe, search.spec
    rng = np.random.default_rng([seed, 13])
    epochs = sorted(
        {max(1, recipe.epochs // 2), recipe.epochs, recipe.epochs * 2, recipe.epochs * 4}
    )
    drawn: list[dict] = []
    for _ in range(count * 20):
        if len(drawn) == count:
            break
        batch = int(rng.choice(batches))
        lr = recipe.learning_rate * float(rng.choice(LR_FACTORS)) * (batch / batches[0]) ** 0.5
        r = {
            "batch_size": batch,
            "learning_rate": float(f"{lr:.3g}"),
            "schedule": str(rng.choice(SCHEDULES)),
            "epochs": int(rng.choice(epochs)),
            "optimizer": str(rng.choice([recipe.optimizer, "adamw"])),
            "weight_decay": WEIGHT_DECAYS[int(rng.integers(len(WEIGHT_DECAYS)))],
        }
        if search.task.loss == "sparse_categorical_crossentropy":
            r["label_smoothing"] = [None, 0.1][int(rng.integers(2))]
        if "dropout" in spec.defaults:
            d = float(spec.defaults["dropout"])
            r["model_kwargs"] = {"dropout": float(rng.choice([d, d / 2, 0.0]))}
        if r not in drawn:
            drawn.append(r)
    return drawn


def default_recipe(spec: registry.ModelSpec) -> dict[str, Any]:
    """The model's recipe, given DEFAULT_EPOCHS times its epochs to reach the target (its
    constant learning rate makes the longer run the same run, continued)."""
    r = spec.recipe
    return {
        "epochs": r.epochs * DEFAULT_EPOCHS,
        "batch_size": r.batch_size,
        "learning_rate": r.learning_rate,
        "optimizer": r.optimizer,
        "schedule": "constant",
    }


def _recipe_stage(
    search: _Search, fastest: dict, batches: list[int], max_trials: int, seed: int
) -> None:
    default = default_recipe(search.spec)
    queue = [
        {**default, **DEFAULT_EXECUTION, "backend": search.backends[0]},  # what `zoo train` does
        {**default, **fastest},
        *(
            {**r, **fastest, "eval_every": _cadence(search, r["batch_size"])}
            for r in _recipes(search, batches, max_trials, seed)
        ),
    ]
    seen: list[dict] = []
    for settings in queue:
        if len(search.trials) >= max_trials or search.left() < 1 or settings in seen:
            continue
        if settings is queue[1] and _missed(search.trials[0]):
            continue  # the same recipe and epochs, only faster: it would miss the target too
        seen.append(settings)
        best = _best(search.trials)
        limit = search.left()
        if best is not None:  # race: past the best time (and a margin) it cannot win
            limit = min(limit, best["time_to_target_s"] + MARGIN_S + _startup(search))
        row = _trial(
            search, "recipe", settings, target=True, timeout_s=limit, racing=best is not None
        )
        search.trials.append(row)


def _cadence(search: _Search, batch_size: int) -> int:
    """Steps between target checks: CHECKS_PER_EPOCH a epoch, so that a recipe that
    reaches the target inside an epoch stops there (the default route checks each
    epoch, as `zoo train --target` does)."""
    steps = -(-search.fit_examples // batch_size)
    return max(1, -(-steps // CHECKS_PER_EPOCH))


def _missed(trial: dict) -> bool:
    """The trial ran its epochs to the end without reaching the target."""
    return trial["status"] == "ok" and not trial.get("reached")


def _startup(search: _Search) -> float:
    """Seconds between a trial's process start and its worker's clock (Python start)."""
    done = [t for t in search.trials if t.get("time_to_target_s") and t.get("wall_s")]
    return 2.0 if not done else max(0.0, min(t["wall_s"] - t["time_to_target_s"] for t in done))


def _best(trials: list[dict]) -> dict | None:
    reached = [t for t in trials if t.get("reached")]
    return min(reached, key=lambda t: t["time_to_target_s"]) if reached else None


def _finish(search: _Search, fastest: dict, budget_s: float) -> dict[str, Any]:
    winner = _best(search.trials)
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
        "fastest_execution": fastest,
        "execution": search.execution,
        "trials": search.trials,
        "default": default,
        "winner": winner,
        "speedup": _speedup(default, winner),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "env": io.environment(),  # the machine the figures were measured on
    }
    if winner is not None:
        result["cached"] = _cache_winner(result)
    return result


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


def _speedup(default: dict | None, winner: dict | None) -> float | None:
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
        "time_to_target_s": w["time_to_target_s"],
        "test_metric": w.get("test_metric"),
        "default_time_to_target_s": (result["default"] or {}).get("time_to_target_s"),
        "trials": len(result["trials"]),
        "created": result["created"],
    }
