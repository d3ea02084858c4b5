"""The one input pipeline: in-memory arrays -> a batched, prefetched tf.data.Dataset.

Every dataset of the zoo arrives as NumPy arrays (see `zoo.data`). On the TensorFlow
backend, training and evaluation read them through `make`: held as tensors, their indices
shuffled with a seed and reshuffled every epoch, batched (optionally dropping the last
partial batch, so that XLA sees one static shape and compiles once), each batch gathered,
and prefetched with AUTOTUNE. Other
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
    cache: bool = False,
):
    """A tf.data.Dataset of (x, y) batches from arrays (x may be a dict of arrays).

    Args:
        x, y: inputs and targets, first axis the examples.
        batch_size: examples per batch.
        shuffle: shuffle over the whole split, with `seed`, anew each epoch.
        seed: the shuffle seed.
        drop_remainder: drop the last partial batch (static shapes for XLA).
        cache: keep the batches in memory after the first full pass, for a split read
            many times in the same order (a validation split checked every few steps):
            a later pass reads them back without starting the gather and prefetch
            threads again (about 10 ms of every pass of a small split). Not with
            `shuffle`: the order would be the first pass's.
    """
    import tensorflow as tf

    # The arrays become tensors once; the dataset shuffles and batches their indices and
    # gathers each batch. Shuffling the examples themselves (from_tensor_slices, cache,
    # shuffle(n)) kept two more copies of the split (the cache and an n-example shuffle
    # buffer, refilled at the start of every epoch); the same seed gives the same order.
    tensors = tf.nest.map_structure(tf.convert_to_tensor, (x, y))
    n = len(y)
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(
        lambda idx: tf.nest.map_structure(lambda t: tf.gather(t, idx), tensors),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if cache and not shuffle:
        return ds.cache().with_options(no_autotune())
    return ds.prefetch(tf.data.AUTOTUNE).with_options(no_autotune())


def no_autotune():
    """tf.data options with autotuning off. Its optimization thread made the stalls of
    6-60 s at some epoch boundaries (the fast suite's 'other' phase): `fit` makes a new
    iterator each epoch, and the old one's destructor waited in
    `UnboundedThreadPool::LogicalThreadWrapper::~LogicalThreadWrapper` for that thread
    (py-spy's native stack of a stalled run; it followed a `model.evaluate` inside `fit`,
    as `--eval-every` runs). A gather per batch needs no tuning: AUTOTUNE then means the
    defaults (parallel calls up to the cores, a small prefetch buffer)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def repeated(x: Any, y: Any):
    """One batch (x, y), repeated forever: `fit` with no input cost (for profiling)."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensors((x, y)).repeat()
