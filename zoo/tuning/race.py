"""`race`: any zoo model, as a user would ask for one: the models of a task (or those
named) each searched by `zoo.tuning.search.tune` in turn, on the same data, seed and
target, and the one that reaches the target fastest wins.

    order      the models as named; a task's in registry order, without those tagged
               "large" (name them with `models` to race them)
    budget     what is left of the whole budget, shared equally by the models still to
               run: a model that finishes early leaves its time to the rest
    racing     every recipe trial of a later model races the best time to target found
               so far, by any model (`tune(beat_s=...)`): past it and a margin it cannot
               win, and is stopped
    held out   every search runs on the race's seed (`zoo.tuning.TUNING_SEED` unless
               told otherwise), so the time-to-target suite's seeds (0, 1, 2...) stay
               unseen by the choice of model too

Each model's search caches its own winner as `tune` does (`zoo train NAME --tuned`); the
race's winner is a recipe file that names its model (`zoo train --recipe FILE`).
A model that cannot run on the data (its inputs do not fit, a package is missing) is
recorded as skipped, with the reason, and the race goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from zoo import io, registry, tasks
from zoo.choices import check_positive
from zoo.errors import InvalidArgumentError, ZooError
from zoo.record import stamp
from zoo.training import target as ztarget
from zoo.tuning import TUNING_SEED
from zoo.tuning import search as zsearch

LEFT_OUT_TAG = "large"  # a task's models race without these unless named


def race_models(task: str | None = None, models: Sequence[str] | None = None) -> list[str]:
    """The models a race runs: `models` as named (checked, one task), else `task`'s
    models without the LEFT_OUT_TAG ones.

    Raises:
        InvalidArgumentError: neither or both given, an unknown name or task, models of
            different tasks, fewer than two models.
    """
    if (task is None) == (not models):
        raise InvalidArgumentError(
            "A race of models needs a task or a list of models, not both.",
            "Pass --task TASK (e.g. image_classification) or --models a,b,c.",
        )
    if models:
        names = list(dict.fromkeys(m.strip() for m in models if m.strip()))
        specs = [registry.get_spec(m) for m in names]
        found = sorted({s.task for s in specs})
        if len(found) > 1:
            raise InvalidArgumentError(
                f"The models of a race share one task; {', '.join(names)} are of "
                f"{', '.join(found)}.",
                "Race models of one task: `zoo list` shows each model's task.",
            )
    else:
        names = [
            m
            for m in registry.list_models(task=task)
            if LEFT_OUT_TAG not in registry.get_spec(m).tags
        ]
    if len(names) < 2:
        raise InvalidArgumentError(
            f"A race needs two models at least; received {', '.join(names) or 'none'}.",
            "Name two or more with --models a,b, or tune one model with `zoo tune NAME`.",
        )
    return names


def race(
    *,
    target: str,
    task: str | None = None,
    models: Sequence[str] | None = None,
    dataset: str = "synthetic",
    budget_s: float = 1200.0,
    max_trials: int = 20,
    seed: int = TUNING_SEED,
    samples: int | None = None,
    data_dir: str | None = None,
    device: str = "auto",
    on_trial: Callable[[str, str, dict[str, Any]], None] | None = None,
    tune: Callable[..., dict[str, Any]] | None = None,
    daemon_dir: str | None = None,
) -> dict[str, Any]:
    """Races `models` (or `task`'s, see `race_models`) to `target` on `dataset`: one
    `tune` search per model, in turn, each on an equal share of what is left of
    `budget_s`. Returns the race: `models` (one row per model: its status, its winner's
    time to target, the default route's, the trials run, or the reason it was skipped),
    `searches` (each model's whole search), `winner` (the fastest model's winning trial,
    with `model`; None when no model reached the target) and `recipe` (the winner as a
    recipe file that names the model). `on_trial(model, stage, record)` hears of each
    trial. `tune`: the search to run (default `zoo.tuning.search.tune`). `daemon_dir`:
    every trial forked from the zoo daemon there (`zoo.tuning.trial.warm_trials`).

    Raises:
        ZooError: a bad task, model list, target or budget (before any trial runs).
    """
    names = race_models(task, models)
    check_positive("budget_s", budget_s, float)
    # The race's own arguments, checked once: a target the task does not report is wrong
    # for every model, not a reason to skip one.
    if ztarget.parse(target, tasks.get(registry.get_spec(names[0]).task)) is None:
        raise InvalidArgumentError("A race needs a target.", "Pass --target METRIC=VALUE.")
    run = tune or zsearch.tune
    deadline = time.monotonic() + budget_s
    common = {"target": target, "max_trials": max_trials, "seed": seed, "samples": samples}
    common.update(data_dir=data_dir, device=device)
    if daemon_dir is not None:
        common["daemon_dir"] = daemon_dir
    rows, searches, best = [], {}, None
    for i, name in enumerate(names):
        share = (deadline - time.monotonic()) / (len(names) - i)
        result, row = _search_one(run, name, dataset, share, best, on_trial, common)
        rows.append(row)
        if result is None:
            continue
        searches[name] = result
        winner = result.get("winner")
        if winner and (best is None or winner["time_to_target_s"] < best["time_to_target_s"]):
            best = {**winner, "model": name}
    return _finish(names, rows, searches, best, target, dataset, seed, budget_s, deadline)


def _search_one(
    run: Callable[..., dict[str, Any]],
    name: str,
    dataset: str,
    share: float,
    best: dict[str, Any] | None,
    on_trial: Callable[[str, str, dict[str, Any]], None] | None,
    common: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """One model's search on `share` seconds, to beat `best`: (its search, or None where
    it was skipped, and its row)."""
    if share < 1:
        return None, {"model": name, "status": "skipped", "reason": "the budget was spent"}
    heard = (lambda stage, rec: on_trial(name, stage, rec)) if on_trial else None
    beat_s = best and best["time_to_target_s"]
    try:
        result = run(name, dataset, budget_s=share, on_trial=heard, beat_s=beat_s, **common)
    except ZooError as e:  # this model cannot run here: the race goes on without it
        return None, {"model": name, "status": "skipped", "reason": str(e)}
    return result, _row(name, result)


def _row(name: str, result: dict[str, Any]) -> dict[str, Any]:
    winner, default = result.get("winner"), result.get("default") or {}
    return {
        "model": name,
        "status": "reached" if winner else "not reached",
        "time_to_target_s": winner and winner["time_to_target_s"],
        "test_metric": winner and winner.get("test_metric"),
        "default_time_to_target_s": default.get("time_to_target_s") if default else None,
        "trials": len(result.get("trials") or []),
        "spent_s": result.get("spent_s"),
    }


def _finish(names, rows, searches, best, target, dataset, seed, budget_s, deadline):
    result = {
        "models": rows,
        "raced": names,
        "dataset": dataset,
        "target": target,
        "seed": seed,
        "budget_s": budget_s,
        "spent_s": budget_s - max(0.0, deadline - time.monotonic()),
        "winner": best,
        "searches": searches,
        "env": io.environment(),
    }
    result = stamp(result, "race")
    if best is not None:
        result["recipe"] = searches[best["model"]].get("recipe")
    return result


def winner_recipe(result: dict[str, Any], device: str, data_dir: str | None = None):
    """The race's winner as a recipe file naming its model (see `search.winner_recipe`)."""
    found = result["searches"][result["winner"]["model"]]
    return zsearch.winner_recipe(found, device, data_dir)
