"""The runtime: how a process runs models (config), where (device) and over what (distribute).

`prepare` does what must happen before TensorFlow starts its runtime; `apply` applies a
`RunConfig` for the duration of a block. Importing this package imports no framework.
"""

from __future__ import annotations

import contextlib
from typing import Any

from zoo.runtime.config import RUN_FIELDS, RunConfig
from zoo.runtime.device import (
    backend_jit,
    compute_dtype,
    device_scope,
    gpus,
    set_cpu_devices,
    set_threads,
    threads,
)

__all__ = [
    "RUN_FIELDS",
    "RunConfig",
    "apply",
    "backend_jit",
    "compute_dtype",
    "device_scope",
    "gpus",
    "prepare",
    "set_cpu_devices",
    "set_seed",
    "set_threads",
    "threads",
]


def set_seed(seed: int) -> None:
    """`keras.utils.set_random_seed(seed)`, but on JAX or torch without importing
    TensorFlow to seed it (`imports.tensorflow_left_alone`): such a run never calls it,
    and a TensorFlow imported already (tf.data, TFDS) is seeded as Keras seeds it."""
    import keras

    from zoo.runtime.imports import tensorflow_left_alone

    with tensorflow_left_alone():
        keras.utils.set_random_seed(seed)


def prepare(config: RunConfig) -> None:
    """What must happen before TensorFlow starts its runtime: thread pools, logical CPU
    devices and a multi-worker strategy. Call it first thing in a process (the CLI does);
    `apply` calls it too, and it does nothing the second time.

    Raises:
        InvalidArgumentError: the runtime started already with other settings.
    """
    if config.threads is not None:
        set_threads(config.threads)
    if config.cpu_devices is not None:
        set_cpu_devices(config.cpu_devices)
    if config.strategy == "multi_worker":
        from zoo.runtime import distribute

        distribute.make(config)
    if config.strategy == "data_parallel":
        from zoo.runtime import distribute

        distribute.initialize_processes()


def _deterministic(backend: str) -> None:
    """Deterministic kernels for the rest of the process (it cannot be undone)."""
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True)


@contextlib.contextmanager
def apply(config: RunConfig, seed: int = 0, batch_size: int | None = None):
    """Applies a RunConfig for the duration of the block: seeds, determinism, threads, the
    dtype policy (restored afterwards), the device and the distribution strategy. Yields
    the resolved settings; under a tf.distribute strategy, ``resolved["strategy_object"]``
    is the `tf.distribute.Strategy` (the block runs in its scope; pop it before saving);
    under a keras.distribution (`data_parallel`, JAX), it is set for the block and
    restored after (`batch_size`: the global batch it must split)."""
    import keras

    prepare(config)
    strategy = distribution = None
    if config.strategy != "none":
        from zoo.runtime import distribute

        if distribute.is_keras(config):
            distribution = distribute.make_keras(config, batch_size)
        else:
            strategy = distribute.make(config)
    set_seed(seed)
    if config.deterministic:
        _deterministic(keras.backend.backend())
    found = gpus()
    device = config.device
    if device == "auto":
        device = "gpu" if found else "cpu"
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.precision)
    resolved: dict[str, Any] = {
        "device": device,
        "precision": config.precision,
        "deterministic": config.deterministic,
        "threads": threads(),
        "gpus": found,
    }
    try:
        if distribution is not None:
            from zoo.runtime import distribute

            resolved.update(distribute.describe_keras(distribution, config))
            previous_distribution = keras.distribution.distribution()
            keras.distribution.set_distribution(distribution)
            try:
                yield resolved
            finally:
                keras.distribution.set_distribution(previous_distribution)
        elif strategy is None:
            with device_scope(device):
                yield resolved
        else:
            from zoo.runtime import distribute

            resolved.update(distribute.describe(strategy, config))
            resolved["strategy_object"] = strategy
            with strategy.scope():
                yield resolved
    finally:
        keras.config.set_dtype_policy(previous)
