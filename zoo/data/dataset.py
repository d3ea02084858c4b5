"""The zoo's dataset type: train, test and (optionally) validation arrays of one task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Dataset:
    """Train and test arrays (NumPy, or dicts of them for multi-input tasks)."""

    name: str
    task: str
    x_train: Any
    y_train: np.ndarray
    x_test: Any
    y_test: np.ndarray
    model_kwargs: dict[str, Any]  # hyper-parameters the model must take to fit this data
    optimum: dict[str, float] = field(default_factory=dict)  # best expected test metrics
    params: dict[str, Any] = field(default_factory=dict)  # how to regenerate it (JSON-able)
    truth: dict[str, Any] = field(default_factory=dict)  # the generating rule, for tests
    vocabulary: list[str] | None = None  # token strings by id, where the data is text
    x_val: Any = None  # the dataset's own validation split, where it has one
    y_val: np.ndarray | None = None

    @property
    def num_train(self) -> int:
        return len(self.y_train)

    @property
    def num_val(self) -> int:
        return 0 if self.y_val is None else len(self.y_val)

    @property
    def num_test(self) -> int:
        return len(self.y_test)
