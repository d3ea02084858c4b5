"""What one training run is asked (`TrainRequest`) and what it resolves to (`TrainConfig`).

`resolve` starts from the model's recipe (or the one given), applies the keyword
overrides to the `Recipe` and `RunConfig` fields they name, and checks every value
before anything slow happens; `fit_model_kwargs` merges the user's hyper-parameters with
the ones the dataset fixes. Importing this module imports no framework.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from zoo import registry
from zoo.choices import check_seed
from zoo.errors import InvalidArgumentError
from zoo.recipe import DATA_FIELDS, Data
from zoo.runtime.config import RUN_FIELDS, RunConfig
from zoo.spec import RECIPE_FIELDS, ModelSpec, Recipe, epochs_before, positive, unknown_setting


@dataclass(frozen=True)
class TrainConfig(Recipe):
    """The resolved settings of one training run: its recipe (whose `model_kwargs` here
    also hold what the data fixes), and the seed, validation split and target it ran with
    (checked where they are declared: `zoo.recipe`)."""

    seed: int = 0
    val_fraction: float | None = None  # None: the dataset's own validation split, else 0.1
    target: str | None = None  # METRIC=VALUE on the validation split: stop when reached
    eval_every: int | None = None  # check the target every N steps (None: every epoch)
    check_from: int | float | None = None  # epochs before the first check (None: 0)

    @property
    def recipe(self) -> Recipe:
        return Recipe(**{k: getattr(self, k) for k in RECIPE_FIELDS})


@dataclass(frozen=True)
class TrainRequest:
    """The arguments of `zoo.train`, as given (its docstring says what each one means)."""

    model: str
    dataset: str = "synthetic"
    recipe: Recipe | None = None
    run: RunConfig | None = None
    seed: int = 0
    samples: int | None = None
    val_fraction: float | None = None
    test_fraction: float = 0.2
    data_dir: str | None = None
    download: bool = False
    target: str | None = None
    eval_every: int | None = None
    check_from: int | float | None = None
    output: str | Path | None = None
    resume: bool = False
    tensorboard: bool = False
    progress: Any = None  # a Progress
    started: float | None = None  # time.time() when the command started
    overrides: dict[str, Any] = field(default_factory=dict)  # Recipe and RunConfig fields


@dataclass(frozen=True)
class Resolved:
    """What a request resolves to, checked: the recipe and run config as run, the data
    options, and the run's config (the model's keyword arguments not yet fitted)."""

    recipe: Recipe
    run: RunConfig
    data: Data
    config: TrainConfig


def resolve(request: TrainRequest, spec: ModelSpec) -> Resolved:
    """The request's recipe (else the model's) and run config (else the default) with its
    overrides, checked; the model's keyword arguments are left for `fit_model_kwargs`
    (they depend on the data).

    Raises:
        InvalidArgumentError: an override no field declares (with a did-you-mean), or the
            first bad value.
    """
    recipe_changes, run_changes = split_overrides(request.overrides)
    recipe = _given(request.recipe, Recipe, spec.recipe, "recipe").replace(**recipe_changes)
    run = _given(request.run, RunConfig, RunConfig(), "run").replace(**run_changes)
    data = Data(
        **{k: getattr(request, k) for k in DATA_FIELDS if k != "dataset"},
        dataset=str(request.dataset),
    )
    check_seed(request.seed)
    config = TrainConfig(
        **{k: getattr(recipe, k) for k in RECIPE_FIELDS},
        seed=int(request.seed),
        val_fraction=data.val_fraction,
        eval_every=positive(int, optional=True)("eval_every", request.eval_every),
        check_from=epochs_before("check_from", request.check_from),
    )
    return Resolved(recipe, run, data, config)


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """zoo.train's keyword overrides, split into Recipe and RunConfig changes; a None
    value means "not given" (the recipe's value stays).

    Raises:
        InvalidArgumentError: a name that neither declares, with a did-you-mean.
    """
    recipe, run = {}, {}
    for name, value in overrides.items():
        if name in RECIPE_FIELDS:
            recipe[name] = value
        elif name in RUN_FIELDS:
            run[name] = value
        else:
            known = [*RECIPE_FIELDS, *RUN_FIELDS, *TRAIN_ARGUMENTS]
            raise unknown_setting(name, known, "zoo.train")
    drop = {k for k, v in {**recipe, **run}.items() if v is None}
    return (
        {k: v for k, v in recipe.items() if k not in drop},
        {k: v for k, v in run.items() if k not in drop},
    )


TRAIN_ARGUMENTS = tuple(f.name for f in dataclasses.fields(TrainRequest) if f.name != "overrides")


def _given(value, cls: type, default, name: str):
    if value is None:
        return default
    if not isinstance(value, cls):
        raise InvalidArgumentError(
            f"{name} must be a zoo.{cls.__name__}; received: {type(value).__name__}.",
            f"Build one with zoo.{cls.__name__}(...), or pass its fields as keywords.",
        )
    return value


def check_target(request: TrainRequest, config: TrainConfig, task) -> TrainConfig:
    """The target parsed against the task's metrics; --eval-every and --check-from need a
    target, and a target needs one process (not --resume) and a validation split.

    Raises:
        InvalidArgumentError: naming what does not fit.
    """
    from zoo.tasks import check_label_smoothing
    from zoo.training import target as ztarget

    check_label_smoothing(task, config.label_smoothing)
    parsed = ztarget.parse(request.target, task)
    if parsed is None:
        for flag, value, what in (
            ("--eval-every", config.eval_every, "how often"),
            ("--check-from", config.check_from, "from when"),
        ):
            if value is not None:
                raise InvalidArgumentError(
                    f"{flag} sets {what} a --target is checked; no target was given.",
                    f"Add --target METRIC=VALUE, or drop {flag}.",
                )
        return config
    if request.resume:
        raise InvalidArgumentError(
            "--target times one run from its start; it cannot continue a --resume.",
            "Start the run again without --resume.",
        )
    if config.val_fraction == 0:
        raise InvalidArgumentError(
            "--target is checked on the validation split, and --val-fraction 0 leaves none.",
            "Use --val-fraction 0.1 (or leave it out).",
        )
    return replace(config, target=str(parsed))


def check_outputs(request: TrainRequest) -> None:
    """--resume and --tensorboard need an output folder; --tensorboard its package."""
    if (request.resume or request.tensorboard) and request.output is None:
        flag = "--resume" if request.resume else "--tensorboard"
        raise InvalidArgumentError(
            f"{flag} needs an output folder.", "Pass --output DIR (output= in Python)."
        )
    if request.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise InvalidArgumentError(
            "--tensorboard needs the tensorboard package, which is not installed.",
            "pip install 'keras-zoo[tensorboard]' (or tensorboard).",
        )


def fit_model_kwargs(spec: ModelSpec, fixed: dict[str, Any], overrides: dict) -> dict:
    """The factory's arguments: the user's `overrides` and what the data `fixed` (input
    shape, classes, vocabulary size), which an override may repeat but not change.

    Raises:
        InvalidArgumentError: an override contradicts the data, or the factory does not
            take it.
    """
    fitted = {k: v for k, v in fixed.items() if k in spec.defaults}
    for k, v in overrides.items():
        if (
            k in fitted
            and v is not None
            and tuple(np.atleast_1d(v)) != tuple(np.atleast_1d(fitted[k]))
        ):
            raise InvalidArgumentError(
                f"{k}={v!r} does not fit the dataset, which fixes {k}={fitted[k]!r}.",
                f"Drop the {k} override.",
            )
    return registry.check_overrides(spec, {**overrides, **fitted})
