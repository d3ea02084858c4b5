"""What training and evaluation hand back: the `Progress` protocol the caller passes in and
the `TrainResult` / `EvalResult` records (written as result.json). No framework here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from zoo import io
from zoo.data import Dataset
from zoo.spec import whole
from zoo.training.config import TrainConfig


class Progress:
    """Receives training progress; subclass it and override what you need."""

    def on_train_begin(self, info: dict[str, Any]) -> None:
        """`info` has model, dataset, num_params, epochs, steps_per_epoch, num_train."""

    def on_batch_end(self, epoch: int, step: int, logs: dict[str, float]) -> None:
        """After each training batch; `epoch` and `step` count from 1."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """After each epoch, with its train and validation metrics and `seconds`."""

    def on_evaluate_begin(self, num_examples: int) -> None:
        """Before the test split is evaluated."""


@dataclass
class TrainResult:
    """What `train` returns and writes as result.json."""

    model: str
    dataset: dict[str, Any]  # name and the parameters that regenerate it
    config: TrainConfig
    history: list[dict[str, float]]  # one entry per epoch
    test_metrics: dict[str, float]
    optimum: dict[str, float]  # best expected test metrics on this data, where known
    num_params: int
    train_seconds: float
    env: dict[str, Any]
    paths: dict[str, str] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)  # resolved: device, XLA, precision...
    validation: dict[str, Any] = field(default_factory=dict)  # source and examples
    best_epoch: int | None = None  # the epoch whose weights were evaluated and saved
    resumed_from: int | None = None  # the epochs already done when --resume took over
    target: dict[str, Any] | None = None  # time to target (`zoo.training.target.record`)
    keras_model: Any = field(default=None, repr=False, metadata={"json": False})

    @property
    def epochs_run(self) -> int | float:
        """The passes over the training split the run made (a resumed run's earlier ones
        included), a last partial pass as its fraction: a target reached mid-epoch (where
        the run stopped: its last check), or a fractional `epochs`."""
        checks = (self.target or {}).get("history") or []
        if checks:
            return whole(float(checks[-1]["epoch"]))
        epochs = self.config.epochs
        if len(self.history) == math.ceil(epochs):  # the whole run, its last pass partway
            return epochs
        return len(self.history)  # early stopping, at an epoch's end

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


@dataclass
class EvalResult:
    """What `evaluate` returns."""

    model: str
    path: str
    dataset: dict[str, Any]
    metrics: dict[str, float]
    optimum: dict[str, float]
    num_examples: int

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def dataset_record(data: Dataset) -> dict[str, Any]:
    """The dataset as a result records it: enough to load it again."""
    record = {"name": data.name, "task": data.task, "params": data.params}
    if data.vocabulary is not None:
        record["vocabulary"] = data.vocabulary
    return record
