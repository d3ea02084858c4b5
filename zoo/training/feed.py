"""How arrays reach `fit` and `evaluate`: the validation split, and the feed (the tf.data
pipeline on TensorFlow, arrays on the other backends)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from zoo.data import Dataset
from zoo.errors import DataError
from zoo.training.config import TrainConfig


class Split(NamedTuple):
    """The training arrays, the validation pair (or None) and where validation came from."""

    x: Any
    y: Any
    validation: tuple[Any, Any] | None
    info: dict[str, Any]  # source and examples, as result.json records them


def split(data: Dataset, config: TrainConfig) -> Split:
    """The dataset's own validation split where it has one and `val_fraction` is None, else
    a seeded `val_fraction` (default 0.1) of the training split.

    Raises:
        DataError: the fraction leaves an empty split.
    """
    if config.val_fraction is None and data.y_val is not None:
        info = {"source": "the dataset's validation split", "examples": len(data.y_val)}
        return Split(data.x_train, data.y_train, (data.x_val, data.y_val), info)
    fraction = 0.1 if config.val_fraction is None else config.val_fraction
    order = np.random.default_rng([config.seed, 99]).permutation(data.num_train)
    num_val = int(round(fraction * data.num_train))
    if fraction and not 0 < num_val < data.num_train:
        raise DataError(
            f"val_fraction={fraction} of {data.num_train} training examples leaves an empty split.",
            "Use more samples or val_fraction=0.",
        )
    x_fit, y_fit = take(data.x_train, order[num_val:]), data.y_train[order[num_val:]]
    validation = (
        (take(data.x_train, order[:num_val]), data.y_train[order[:num_val]]) if num_val else None
    )
    source = f"{fraction:g} of the training split" if num_val else "none"
    return Split(x_fit, y_fit, validation, {"source": source, "examples": num_val})


# A validation split read again and again (every check of a --target) is kept in memory
# as batches up to this size; larger ones are gathered anew on each pass.
CACHE_BYTES = 256 * 2**20
# The most layer outputs a validation batch may hold: a check's batch grows to this (up
# to the whole split) for a model whose per-example outputs are small (`validation_batch`).
CHECK_ELEMENTS = 8 * 2**20


def feed(
    x,
    y,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
    options=None,
    repeated: bool = False,
) -> dict[str, Any]:
    """The arguments of `fit` / `evaluate` that feed (x, y): through the tf.data pipeline on
    the TensorFlow backend, as arrays (shuffled by Keras) on the others. `repeated`: a
    split evaluated many times in one order (validation), whose batches stay in memory
    after the first pass where the arrays take at most CACHE_BYTES."""
    import keras

    if keras.backend.backend() == "tensorflow":
        from zoo.data import pipeline

        cache = repeated and options is None and nbytes(x) + nbytes(y) <= CACHE_BYTES
        ds = pipeline.make(
            x,
            y,
            batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_remainder=drop_remainder,
            cache=cache,
        )
        if options is not None:  # tf.data options, e.g. sharding across workers
            ds = ds.with_options(options)
        return {"x": ds, "shuffle": False} if shuffle else {"x": ds}  # the dataset shuffles
    return {"x": x, "y": y, "batch_size": batch_size, **({"shuffle": True} if shuffle else {})}


def nbytes(x) -> int:
    """The bytes of an array or of a dict of arrays."""
    return sum(np.asarray(v).nbytes for v in (x.values() if isinstance(x, dict) else [x]))


def validation_batch(net, batch: int, examples: int) -> int:
    """The batch of the validation passes: `batch`, or more for a model whose layer
    outputs per example are small, up to the whole split of `examples`, while a batch's
    outputs stay within CHECK_ELEMENTS (32 MiB in float32).

    A pass costs a few milliseconds a batch beyond its arithmetic (a step's call, its
    metrics), and a run with --target --eval-every makes a pass at every check: a
    factorization model's 4,000 validation ratings took 16 batches of 256 where one
    suffices. A convnet's outputs (tens of thousands of values an example) keep `batch`.
    Where a layer's output shape is not known to the last axis (variable-length inputs,
    a subclassed model), `batch` too."""
    per_example = output_elements(net)
    if not per_example:
        return batch
    return max(batch, min(examples, CHECK_ELEMENTS // per_example))


def output_elements(net) -> int | None:
    """The values every layer of a functional model outputs for one example, the layers
    of a nested model counted in it (the inputs included); None where a shape is not
    known. Layers that compute more inside than they output (attention) are counted by
    their output."""
    import keras

    total = 0
    for layer in net.layers:
        if isinstance(layer, keras.Model):
            inner = output_elements(layer)
            if inner is None:
                return None
            total += inner
            continue
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # not called symbolically, or shared
            return None
        for t in outputs:
            dims = tuple(t.shape)[1:]
            if any(d is None for d in dims):
                return None
            total += int(np.prod(dims, dtype=np.int64))
    return total


def take(x, idx):
    """Rows `idx` of an array or of a dict of arrays."""
    return {k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]


def even(x: Any, y: Any, n: int) -> tuple[tuple[Any, Any], int]:
    """(x, y) cut to a multiple of `n` examples, and how many were left out."""
    keep = len(y) - len(y) % n
    if keep == len(y):
        return (x, y), 0
    cut = {k: v[:keep] for k, v in x.items()} if isinstance(x, dict) else x[:keep]
    return (cut, y[:keep]), len(y) - keep
