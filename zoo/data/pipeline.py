"""The one input pipeline: in-memory arrays -> a batched, prefetched tf.data.Dataset.

Every dataset of the zoo arrives as NumPy arrays (see `zoo.data`). On the TensorFlow
backend, training and evaluation read them through `make`: cached once, shuffled with a
seed and reshuffled every epoch, batched (optionally dropping the last partial batch, so
that XLA sees one static shape and compiles once) and prefetched with AUTOTUNE. Other
backends take the arrays directly. This module needs TensorFlow.
"""

from __future__ import annotations

from typing import Any


def make(
    x: Any,
    y: Any,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
):
    """A tf.data.Dataset of (x, y) batches from arrays (x may be a dict of arrays).

    Args:
        x, y: inputs and targets, first axis the examples.
        batch_size: examples per batch.
        shuffle: shuffle over the whole split, with `seed`, anew each epoch.
        seed: the shuffle seed.
        drop_remainder: drop the last partial batch (static shapes for XLA).
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle:
        n = len(y)
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


def repeated(x: Any, y: Any):
    """One batch (x, y), repeated forever: `fit` with no input cost (for profiling)."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensors((x, y)).repeat()
