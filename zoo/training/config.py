"""What one training run is asked (`TrainRequest`) and what it resolves to (`TrainConfig`).

`resolve` fills what the request leaves as None from the model's recipe and checks every
value before anything slow happens; `fit_model_kwargs` merges the user's hyper-parameters
with the ones the dataset fixes. Importing this module imports no framework.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from zoo import registry, runtime
from zoo.choices import OPTIMIZERS, SCHEDULES, check_choice, check_positive
from zoo.errors import InvalidArgumentError
from zoo.spec import ModelSpec, Recipe


@dataclass(frozen=True)
class TrainConfig:
    """The resolved settings of one training run."""

    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str  # sgd (momentum 0.9), adam or adamw
    seed: int = 0
    val_fraction: float | None = None  # of the training split (None: the dataset's own
    # validation split where it has one, else 0.1)
    schedule: str = "constant"  # constant, cosine, or warmup_cosine (10% linear warm-up)
    clip_norm: float | None = None  # clip the global gradient norm to this
    weight_decay: float | None = None  # decoupled weight decay (None: the optimizer's)
    label_smoothing: float | None = None  # classification losses only
    steps_per_execution: int = 1  # training steps fused into one call of the compiled step
    early_stopping: int | None = None  # patience in epochs on the validation loss
    target: str | None = None  # METRIC=VALUE on the validation split: stop when reached
    eval_every: int | None = None  # check the target every N steps (None: every epoch)
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # the factory's arguments


@dataclass(frozen=True)
class TrainRequest:
    """The arguments of `zoo.train`, as given (its docstring says what each one means)."""

    model: str
    dataset: str = "synthetic"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    seed: int = 0
    samples: int | None = None
    val_fraction: float | None = None
    test_fraction: float = 0.2
    data_dir: str | None = None
    download: bool = False
    output: str | Path | None = None
    resume: bool = False
    tensorboard: bool = False
    schedule: str = "constant"
    clip_norm: float | None = None
    weight_decay: float | None = None
    label_smoothing: float | None = None
    steps_per_execution: int = 1
    early_stopping: int | None = None
    target: str | None = None
    eval_every: int | None = None
    model_kwargs: dict[str, Any] | None = None
    run: runtime.RunConfig | None = None
    progress: Any = None  # a Progress
    started: float | None = None  # time.time() when the command started


def resolve(request: TrainRequest, recipe: Recipe) -> TrainConfig:
    """The request's settings, checked, with the recipe's where the request has None; the
    model's keyword arguments are left for `fit_model_kwargs` (they depend on the data).

    Raises:
        InvalidArgumentError: naming the first bad value.
    """
    r = request
    optimizer = r.optimizer if r.optimizer is not None else recipe.optimizer
    check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_fraction("val_fraction", r.val_fraction)
    epochs = _positive("epochs", _or(r.epochs, recipe.epochs))
    batch_size = _positive("batch_size", _or(r.batch_size, recipe.batch_size))
    learning_rate = _positive("learning_rate", _or(r.learning_rate, recipe.learning_rate), float)
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        seed=int(r.seed),
        val_fraction=None if r.val_fraction is None else float(r.val_fraction),
        schedule=r.schedule,
        clip_norm=_positive("clip_norm", r.clip_norm, float, optional=True),
        weight_decay=_non_negative("weight_decay", r.weight_decay),
        label_smoothing=None if r.label_smoothing is None else float(r.label_smoothing),
        steps_per_execution=_positive("steps_per_execution", r.steps_per_execution),
        early_stopping=_positive("early_stopping", r.early_stopping, optional=True),
        eval_every=_positive("eval_every", r.eval_every, optional=True),
    )
    check_choice("schedule", r.schedule, SCHEDULES)
    return config


def check_target(request: TrainRequest, config: TrainConfig, task) -> TrainConfig:
    """The target parsed against the task's metrics; --eval-every needs a target, and a
    target needs one process (not --resume) and a validation split.

    Raises:
        InvalidArgumentError: naming what does not fit.
    """
    from zoo.tasks import check_label_smoothing
    from zoo.training import target as ztarget

    check_label_smoothing(task, request.label_smoothing)
    parsed = ztarget.parse(request.target, task)
    if parsed is None:
        if config.eval_every is not None:
            raise InvalidArgumentError(
                "--eval-every sets how often a --target is checked; no target was given.",
                "Add --target METRIC=VALUE, or drop --eval-every.",
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


def _or(value, default):
    return value if value is not None else default


def _positive(name: str, value, kind: type = int, optional: bool = False):
    """`value` checked by `check_positive`, as `kind` (None stays None when optional)."""
    check_positive(name, value, kind, optional=optional)
    return None if value is None else kind(value)


def _non_negative(name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidArgumentError(
            f"{name} must be a number >= 0; received: {name}={value!r}.", "Try 0.0001."
        )
    return float(value)


def _check_fraction(name: str, value) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1
    ):
        raise InvalidArgumentError(f"{name} must be in [0, 1); received: {name}={value!r}.")
