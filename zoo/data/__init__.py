"""Datasets for the zoo's tasks: `load(task, dataset)` returns train and test arrays.

This slice ships the synthetic dataset of every task (NumPy, no download, works on every
Keras backend); see `zoo.data.synthetic` for the rules they are drawn from.
"""

from __future__ import annotations

from zoo.data.synthetic import GENERATORS, Dataset
from zoo.errors import DataError, InvalidArgumentError
from zoo.tasks import get as get_task

__all__ = ["Dataset", "load", "available"]


def available(task: str) -> tuple[str, ...]:
    """The dataset names `load` accepts for a task."""
    return get_task(task).datasets


def load(
    task: str, dataset: str = "synthetic", *, seed: int = 0, samples: int | None = None, **params
) -> Dataset:
    """Loads a dataset of a task.

    Args:
        task: a task name (see `zoo.tasks.TASKS`).
        dataset: a dataset name from `available(task)`.
        seed: seed of the synthetic rule and draws.
        samples: number of training examples to generate (the test split is a fixed
            fraction of it); None keeps the task's default size.
        **params: further parameters of the synthetic generator (e.g. ``noise_std``).

    Raises:
        DataError: the dataset is not one the task has.
        InvalidArgumentError: a parameter is out of range.
    """
    names = available(task)
    if dataset not in names:
        raise DataError(f"Task {task!r} has no dataset {dataset!r}. Available: {', '.join(names)}.")
    if samples is not None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise InvalidArgumentError(
                f"samples must be a positive integer; received: samples={samples!r}."
            )
        params["samples"] = samples
    try:
        return GENERATORS[task](seed=seed, **params)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"Synthetic {task} data: {e}.") from None
