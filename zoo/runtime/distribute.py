"""Distributed training: tf.distribute on TensorFlow, keras.distribution on JAX.

`make_keras(run_config)` returns the `keras.distribution` of a RunConfig on JAX:
`data_parallel` is `keras.distribution.DataParallel` over every visible device (the GPUs,
else the CPU's devices; `XLA_FLAGS=--xla_force_host_platform_device_count=N` splits a CPU
into N), each global batch split across them and the weights replicated. Several
processes (hosts) join through `keras.distribution.initialize()`, which reads the
standard `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
`KERAS_DISTRIBUTION_PROCESS_ID`; `prepare` calls it when they name more than one process.
`model_parallel` is `keras.distribution.ModelParallel` on a ("batch", "model") mesh of
shape (1, N): the weights of a transformer's attention heads, feed-forward networks and
token embedding are split over the N devices by `TRANSFORMER_LAYOUT` (Megatron-style:
query, key and value by head, the attention output by head, the first feed-forward kernel
by column and the second by row), the rest replicated. The layout names the zoo's own
blocks and keras-hub's (BERT, GPT-2); a model none of whose weights it shards is refused
(`check_sharded`).

`make(run_config)` returns the strategy a `RunConfig` names: MirroredStrategy over the
local GPUs (or the logical CPU devices of `cpu_devices`), MultiWorkerMirroredStrategy from
the standard ``TF_CONFIG`` environment variable, or TPUStrategy. Keras splits each global
batch across the replicas and TensorFlow distributes the tf.data pipeline; the zoo adds no
parallelism of its own.

Keras 3 does not yet run `fit` under MultiWorkerMirroredStrategy (keras-team/keras#20585,
open): it averages a data batch and the per-replica metrics with cross-worker reductions
that fail. `prepare_model` and the patch of `reduce_per_replica` below work around the two
failing calls, and only under that strategy.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any

from zoo.errors import DeviceError, InvalidArgumentError


def _tf():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise InvalidArgumentError(
            f"Distribution strategies are tf.distribute; the {keras.backend.backend()} "
            "backend is running.",
            "Use KERAS_BACKEND=tensorflow, or --strategy none.",
        )
    import tensorflow as tf

    return tf


def _tf_config() -> dict[str, Any]:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise InvalidArgumentError(
            "--strategy multi-worker needs the TF_CONFIG environment variable (the cluster's "
            "workers and this worker's index).",
            'Set e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
            '"task": {"type": "worker", "index": 0}}\' on each worker.',
        )
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        if not isinstance(workers, list) or not workers or task["type"] not in ("worker", "chief"):
            raise ValueError
        int(task["index"])
    except (ValueError, KeyError, TypeError):
        raise InvalidArgumentError(
            f"TF_CONFIG is not a valid cluster description: {raw[:200]}",
            'It needs {"cluster": {"worker": [...]}, "task": {"type": "worker", "index": N}}.',
        ) from None
    return config


# The strategies of keras.distribution (JAX); the others are tf.distribute's.
KERAS_DISTRIBUTIONS = ("data_parallel", "model_parallel")

# model_parallel's layout: a variable-path pattern (matched whole) and the mesh axis of each
# of the variable's dimensions (None: not split). The zoo's transformer blocks name their
# feed-forward layers ff_in/ff_out, keras-hub's feedforward_intermediate/output_dense;
# both name the attention's einsum kernels query/key/value/attention_output, of shape
# (width, heads, head_dim) and (heads, head_dim, width).
_FF_IN = "(ff_in|feedforward_intermediate_dense)"
_FF_OUT = "(ff_out|feedforward_output_dense)"
TRANSFORMER_LAYOUT: dict[str, tuple[str | None, ...]] = {
    ".*/(query|key|value)/kernel": (None, "model", None),
    ".*/(query|key|value)/bias": ("model", None),
    ".*/attention_output/kernel": ("model", None, None),
    f".*{_FF_IN}/kernel": (None, "model"),
    f".*{_FF_IN}/bias": ("model",),
    f".*{_FF_OUT}/kernel": ("model", None),
    "(.*_)?token_embedding/embeddings": (None, "model"),
}


def layout_map(mesh):
    """`TRANSFORMER_LAYOUT` as a keras.distribution.LayoutMap on `mesh`."""
    import keras

    layouts = keras.distribution.LayoutMap(mesh)
    for pattern, axes in TRANSFORMER_LAYOUT.items():
        layouts[pattern] = axes
    return layouts


def _model_parallel(devices):
    import keras

    mesh = keras.distribution.DeviceMesh((1, len(devices)), ("batch", "model"), devices)
    return keras.distribution.ModelParallel(layout_map=layout_map(mesh), batch_dim_name="batch")


def _is_split(weight) -> bool:
    """Whether a (JAX) weight's value is split over a mesh axis, as its sharding says."""
    spec = getattr(getattr(weight.value, "sharding", None), "spec", None)
    return spec is not None and any(axis is not None for axis in spec)


@contextlib.contextmanager
def indivisible_as_error(config):
    """Under model_parallel, a weight dimension that does not split evenly over the devices
    (JAX's IndivisibleError while the model is built) becomes one clear line."""
    try:
        yield
    except ValueError as e:
        if config.strategy != "model_parallel" or type(e).__name__ != "IndivisibleError":
            raise
        found = re.search(r"partitioned (\d+) times, but the dimension size is (\d+)", str(e))
        n, size = found.groups() if found else ("N", "?")
        raise InvalidArgumentError(
            f"--strategy model_parallel splits the model's heads and widths over {n} devices, "
            f"but one of its weights has a dimension of {size}, which {n} does not divide.",
            "Use a device count that divides the number of heads, the width and the "
            "feed-forward width (e.g. --cpu-devices 2 or 4), or set them with --param.",
        ) from None


def check_sharded(model, config) -> int:
    """How many of `model`'s weights model_parallel split over the devices, as their
    values' shardings say (0 for any other strategy).

    Raises:
        InvalidArgumentError: model_parallel split none of them (a model without the
            transformer blocks TRANSFORMER_LAYOUT names).
    """
    if config.strategy != "model_parallel":
        return 0
    count = sum(_is_split(w) for w in model.weights)
    if not count:
        raise InvalidArgumentError(
            f"--strategy model_parallel splits a transformer's attention, feed-forward and "
            f"embedding weights; {model.name} has none of them.",
            "Use --strategy data_parallel for this model, or a transformer (gpt_tiny, "
            "transformer_classifier, gpt2_small, bert_base).",
        )
    return count


def is_keras(config) -> bool:
    """Whether a RunConfig's strategy is keras.distribution's (JAX)."""
    return config.strategy in KERAS_DISTRIBUTIONS


_initialized = False


def processes_asked(config) -> int:
    """How many processes the KERAS_DISTRIBUTION_* variables name for a keras.distribution
    strategy (1: none, or another strategy)."""
    count = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "").strip()
    if not is_keras(config) or not count.isdigit():
        return 1
    return int(count)


def initialize_processes() -> bool:
    """Joins this process to a multi-process JAX job where the KERAS_DISTRIBUTION_*
    variables name more than one process (once per process); whether it did."""
    global _initialized
    if _initialized:
        return True
    count = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "").strip()
    if not count.isdigit() or int(count) <= 1:
        return False
    import keras

    keras.distribution.initialize()
    _initialized = True
    return True


def make_keras(config, batch_size: int | None = None):
    """The keras.distribution of a RunConfig (JAX only).

    Raises:
        InvalidArgumentError: another backend runs, or the batch does not split evenly
            over the devices.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise InvalidArgumentError(
            f"--strategy {config.strategy} is keras.distribution, which runs on JAX; the "
            f"{keras.backend.backend()} backend is running.",
            "Use --backend jax (or KERAS_BACKEND=jax), or --strategy mirrored on TensorFlow.",
        )
    initialize_processes()
    from zoo.runtime.device import gpus

    kind = "gpu" if config.device in ("gpu", "auto") and gpus() else "cpu"
    if config.device.startswith("gpu") and kind != "gpu":
        raise DeviceError(
            f"--strategy {config.strategy} --device gpu, but JAX sees 0 GPUs.",
            "Check `nvidia-smi` and jax[cuda], or use --device cpu.",
        )
    devices = keras.distribution.list_devices(kind)
    if config.strategy == "model_parallel":
        return _model_parallel(devices)  # the batch is not split: any size runs
    if batch_size is not None and batch_size % len(devices):
        fits = len(devices) * max(1, batch_size // len(devices))
        raise InvalidArgumentError(
            f"The batch size {batch_size} does not split over the {len(devices)} devices of "
            "--strategy data_parallel.",
            f"Use a multiple of {len(devices)}, e.g. --batch-size {fits}.",
        )
    distribution = keras.distribution.DataParallel(devices=devices)
    if process_of()[1] > 1:  # each process feeds its own share of every global batch
        distribution.auto_shard_dataset = False
    return distribution


def process_of() -> tuple[int, int]:
    """(this process's index, the process count) of a JAX job: (0, 1) in one process."""
    import jax

    return int(jax.process_index()), int(jax.process_count())


def device_count(config) -> int:
    """How many devices a keras.distribution of this RunConfig splits a batch over."""
    return len(make_keras(config).device_mesh.devices.flatten())


def describe_keras(distribution, config) -> dict[str, Any]:
    """What a keras.distribution runs on, for the run record."""
    import jax

    devices = list(distribution.device_mesh.devices.flatten())
    if config.strategy == "model_parallel":  # one replica, its weights over every device
        return {
            "strategy": config.strategy,
            "replicas": 1,
            "model_shards": len(devices),
            "shard_devices": [str(d) for d in devices],
            "processes": int(jax.process_count()),
        }
    return {
        "strategy": config.strategy,
        "replicas": len(devices),
        "replica_devices": [str(d) for d in devices],
        "processes": int(jax.process_count()),
    }


_multi_worker = None


def make(config):
    """The tf.distribute strategy of a RunConfig (whose strategy is not "none").

    Raises:
        DeviceError: no TPU is reachable.
        InvalidArgumentError: TF_CONFIG is missing or malformed, or the backend is not
            TensorFlow.
    """
    tf = _tf()
    if config.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        wanted = "gpu" if config.device == "auto" and gpus else config.device.split(":")[0]
        if wanted == "gpu" and not gpus:
            raise DeviceError(
                "--strategy mirrored --device gpu, but TensorFlow sees 0 GPUs.",
                "Check `nvidia-smi`, or use --device cpu (with --cpu-devices N to try it).",
            )
        kind = "GPU" if wanted == "gpu" else "CPU"
        return tf.distribute.MirroredStrategy(
            [d.name for d in tf.config.list_logical_devices(kind)]
        )
    if config.strategy == "multi_worker":
        global _multi_worker
        if _multi_worker is None:  # one per process, made before the runtime starts
            _tf_config()
            _patch_keras_multi_worker()
            try:
                _multi_worker = tf.distribute.MultiWorkerMirroredStrategy()
            except RuntimeError:
                raise InvalidArgumentError(
                    "A multi-worker strategy must be made before TensorFlow starts.",
                    "Call zoo.runtime.prepare(run_config) first thing in the process.",
                ) from None
        return _multi_worker
    try:  # tpu
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=config.tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise DeviceError(
            f"No TPU found ({first[:200]}).",
            "Run on a Cloud TPU VM, or pass --tpu with the TPU's name or grpc:// address.",
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def describe(strategy, config) -> dict[str, Any]:
    """What a strategy runs on, for the run record."""
    info: dict[str, Any] = {
        "strategy": config.strategy,
        "replicas": int(strategy.num_replicas_in_sync),
    }
    extended = strategy.extended
    devices = getattr(extended, "worker_devices", None)
    if devices:
        info["replica_devices"] = list(devices)
    if config.strategy == "multi_worker":
        task = _tf_config()["task"]
        info["worker"] = {"type": task["type"], "index": int(task["index"])}
    return info


def several_processes(config) -> bool:
    """Whether the run is one of several processes: multi-worker (TF_CONFIG), or a
    keras.distribution over the processes the KERAS_DISTRIBUTION_* variables name."""
    return config.strategy == "multi_worker" or processes_asked(config) > 1


def task_index(config) -> int:
    """This worker's index in TF_CONFIG, or this process's KERAS_DISTRIBUTION_PROCESS_ID
    (0 in a run of one process)."""
    if config.strategy == "multi_worker":
        return int(_tf_config()["task"]["index"])
    if processes_asked(config) > 1:
        return int(os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", "0").strip() or 0)
    return 0


def is_chief(config) -> bool:
    """Whether this process writes the run's files (the first worker or process, or the
    chief)."""
    if config.strategy != "multi_worker":
        return task_index(config) == 0
    cfg = _tf_config()
    task, cluster = cfg["task"], cfg["cluster"]
    if task["type"] == "chief":
        return True
    return "chief" not in cluster and int(task["index"]) == 0


def prepare_model(net, strategy, x, y) -> None:
    """Builds the compiled model's metrics and optimizer on one local batch, so that `fit`
    need not average a distributed batch first (which fails across workers)."""
    tf = _tf()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    import keras

    take = (keras.tree.map_structure(lambda a: a[:2], x), y[:2])
    with strategy.scope():
        net._symbolic_build(data_batch=take)
    net._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


_patched = False


def _patch_keras_multi_worker() -> None:
    """Averages scalar metrics across workers without an axis (Keras asks for axis 0,
    which scalars do not have). Other strategies go through Keras' own code."""
    global _patched
    if _patched:
        return
    tf = _tf()
    from keras.src.backend.tensorflow import trainer

    _check_patchable(trainer)
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("mean", "auto") and isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            return tf.nest.map_structure(
                lambda v: (
                    strategy.reduce("MEAN", v, axis=None)
                    if isinstance(v, tf.distribute.DistributedValues)
                    else v
                ),
                values,
            )
        return original(values, strategy, reduction)

    trainer.reduce_per_replica = reduce_per_replica
    _patched = True


# The Keras releases whose private `reduce_per_replica` the multi-worker patch was checked
# against (tests/training/test_checkpoints.py's two-process run): (lowest, highest) minor.
PATCHED_KERAS = ((3, 3), (3, 15))


def _check_patchable(trainer) -> None:
    """Refuses, in one line, a Keras whose private code the patch was not checked against:
    a wrong run would be worse than none."""
    import inspect

    import keras

    version = tuple(int(p) for p in keras.__version__.split(".")[:2] if p.isdigit())
    params = None
    if hasattr(trainer, "reduce_per_replica"):
        params = list(inspect.signature(trainer.reduce_per_replica).parameters)
    low, high = PATCHED_KERAS
    if params != ["values", "strategy", "reduction"] or not low <= version <= high:
        raise InvalidArgumentError(
            f"--strategy multi_worker patches Keras' private reduce_per_replica "
            f"(keras-team/keras#20585), checked on Keras {low[0]}.{low[1]} to "
            f"{high[0]}.{high[1]}; this is Keras {keras.__version__}"
            + ("" if params is not None else ", which has no such function")
            + ".",
            f"pip install 'keras>={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}', or train on one "
            "machine (--strategy mirrored).",
        )


def shard_data_options():
    """tf.data options that shard in-memory data by element across workers (there are no
    files to shard by)."""
    tf = _tf()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options
