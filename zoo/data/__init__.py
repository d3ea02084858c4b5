"""Datasets for the zoo's tasks: `load(task, dataset)` returns train and test arrays.

`dataset` is ``"synthetic"`` (NumPy, no download, every Keras backend; see
`zoo.data.synthetic`), the name of a real dataset the task lists (through TFDS, see
`zoo.data.tfds`), or the path of the user's own data (see `zoo.data.local`).
"""

from __future__ import annotations

import inspect
from typing import Any

from zoo.choices import check_positive
from zoo.data import synthetic, synthetic_domains
from zoo.data.dataset import Dataset
from zoo.errors import DataError, InvalidArgumentError
from zoo.tasks import get as get_task

__all__ = ["Dataset", "load", "available", "synthetic_params"]

GENERATORS = {**synthetic.GENERATORS, **synthetic_domains.GENERATORS}


def available(task: str) -> tuple[str, ...]:
    """The dataset names `load` accepts for a task (besides a path to the user's data)."""
    return get_task(task).datasets


def synthetic_params(task: str, model_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Parameters of a task's synthetic generator that make its data fit a model built
    with `model_kwargs` (e.g. 32x32x3 images for resnet20, 64 tokens for gpt_tiny)."""
    accepted = inspect.signature(GENERATORS[task]).parameters
    params = {k: v for k, v in model_kwargs.items() if k in accepted and k != "samples"}
    shape = model_kwargs.get("input_shape")
    if shape is not None and len(shape) == 4 and "frames" in accepted:  # a clip
        params["frames"], shape = int(shape[0]), shape[1:]
    if shape is not None and "image_size" in accepted:
        height, width, channels = shape
        if height != width:
            raise InvalidArgumentError(
                f"Synthetic images are square; received: input_shape={tuple(shape)}."
            )
        params.update(image_size=int(height), channels=int(channels))
    if "source_length" in model_kwargs and "sequence_length" in accepted:
        params["sequence_length"] = model_kwargs["source_length"]
    return params


def load(
    task: str,
    dataset: str = "synthetic",
    *,
    seed: int = 0,
    samples: int | None = None,
    data_dir: str | None = None,
    download: bool = False,
    test_fraction: float = 0.2,
    hints: dict[str, Any] | None = None,
    **params,
) -> Dataset:
    """Loads a dataset of a task.

    Args:
        task: a task name (see `zoo.tasks.TASKS`).
        dataset: ``"synthetic"``, a name from `available(task)`, or a path to an ``.npz``,
            a ratings ``.csv`` or a folder of class sub-folders.
        seed: seeds synthetic data and the splits of the user's data.
        samples: synthetic: training examples to generate; real data: at most this many
            training examples. None: all (or the task's default size).
        data_dir: where TFDS keeps prepared datasets (None: its default).
        download: let TFDS download a dataset that is not prepared.
        test_fraction: the test part of data that comes without a test split.
        hints: the model's hyper-parameters, so that the data can take its shapes
            (synthetic data, windows of text, image size of a folder).
        **params: parameters of the synthetic generator (e.g. ``noise_std``), or
            ``sequence_length`` for language-model windows of a text dataset.

    Raises:
        DataError: the dataset is unknown, missing, or its files are malformed.
        InvalidArgumentError: a parameter is out of range.
    """
    spec = get_task(task)
    _check_arguments(samples, test_fraction)
    hints = dict(hints or {})
    if dataset == "synthetic":
        return _synthetic(task, seed, samples, hints, params)
    if dataset in spec.datasets:
        return _tfds(task, dataset, seed, samples, data_dir, download, test_fraction, hints, params)
    from zoo.data import local

    if local.is_local(dataset):
        return local.load(
            task, dataset, seed=seed, samples=samples, test_fraction=test_fraction, hints=hints
        )
    raise DataError(
        f"Task {task!r} has no dataset {dataset!r}. Available: {', '.join(spec.datasets)}, "
        "or the path of an .npz, a ratings .csv or a folder of class sub-folders."
    )


def _check_arguments(samples: int | None, test_fraction: float) -> None:
    check_positive("samples", samples, optional=True)
    if not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise InvalidArgumentError(
            f"test_fraction must be in (0, 1); received: test_fraction={test_fraction!r}."
        )


def _synthetic(task, seed, samples, hints, params) -> Dataset:
    """Generates a task's synthetic data, shaped by the model's hints."""
    params = {**synthetic_params(task, hints), **params}
    if samples is not None:
        params["samples"] = samples
    try:
        return GENERATORS[task](seed=seed, **params)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"Synthetic {task} data: {e}.") from None


def _tfds(task, dataset, seed, samples, data_dir, download, test_fraction, hints, params):
    """Loads a named real dataset through TFDS; only text windows take a sequence_length
    (the newer tasks' datasets take the model's shapes: `zoo.data.tfds_domains`)."""
    from zoo.data import tfds, tfds_domains

    if tfds_domains.serves(task, dataset):
        return tfds_domains.load(task, dataset, seed=seed, samples=samples, data_dir=data_dir,
                                 download=download, hints=hints)  # fmt: skip

    if "sequence_length" not in params and "sequence_length" in hints:
        params["sequence_length"] = hints["sequence_length"]
    if dataset != "tiny_shakespeare":
        params.pop("sequence_length", None)
    return tfds.load(
        task,
        dataset,
        seed=seed,
        samples=samples,
        data_dir=data_dir,
        download=download,
        test_fraction=test_fraction,
        **params,
    )
