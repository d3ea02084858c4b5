"""The execution environment: device placement, threads, and the measured peak of a device.

`measure_peak` times large matrix multiplies (FLOP/s) and a large element-wise copy (memory
bandwidth) with `keras.ops`, so it measures the backend the models run on; the result is
cached per machine, backend, device and dtype for MFU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import Any

from zoo import results
from zoo.errors import InvalidArgumentError, ZooError

DTYPES = ("float32", "bfloat16", "float16")


class DeviceError(ZooError):
    """The requested device is not there."""


def compute_dtype(precision: str) -> str:
    """The dtype the matmuls of a precision policy run in."""
    return {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(precision, precision)


def gpus() -> list[str]:
    """The GPUs the current Keras backend can use."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def device_scope(device: str):
    """A context placing ops on "cpu", "gpu", "gpu:N" or "auto" (GPU if there is one).

    Raises:
        DeviceError: a GPU was asked for and the backend sees none.
    """
    import keras

    kind, _, index = device.partition(":")
    if kind not in ("cpu", "gpu", "auto"):
        raise InvalidArgumentError(f"Unknown device {device!r}. Allowed: auto, cpu, gpu, gpu:N.")
    found = gpus()
    if kind == "auto":
        kind = "gpu" if found else "cpu"
    n = int(index or 0)
    if kind == "gpu" and n >= len(found):
        raise DeviceError(
            f"Asked for {device}, but the {keras.backend.backend()} backend sees "
            f"{len(found)} GPU(s).",
            "Check `nvidia-smi` and that the backend was installed with GPU support, or use "
            "--device cpu.",
        )
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.device(f"/{kind.upper()}:{n}")
    if keras.backend.backend() == "jax" and kind == "gpu":
        import jax

        return jax.default_device(jax.devices("gpu")[n])
    return contextlib.nullcontext()


def threads() -> dict[str, int | None]:
    """The thread pools in use (TensorFlow's, where it runs; 0 means its default)."""
    info: dict[str, int | None] = {"cpu_count": os.cpu_count()}
    with contextlib.suppress(ImportError):
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            info["intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
            info["inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
    return info


PEAK_CACHE = "peak.json"


def cached_peak_flops(device: str, precision: str) -> float | None:
    """The cached peak FLOP/s for a device and precision, or None if never measured."""
    entry = results.read_cache(PEAK_CACHE).get(
        results.machine_key(device, compute_dtype(precision))
    )
    return entry["matmul_flops_per_s"] if entry else None


def measure_peak(
    device: str = "cpu",
    dtype: str = "float32",
    size: int | None = None,
    repeats: int = 10,
    cache: bool = True,
) -> dict[str, Any]:
    """Measures matmul FLOP/s and memory-copy bandwidth on a device; caches the result.

    Args:
        device: "cpu", "gpu" or "gpu:N".
        dtype: float32, bfloat16 or float16.
        size: the side of the square matrices (default 2048 on CPU, 8192 on GPU).
        repeats: timed repeats; the best is the peak.
        cache: store the result for MFU.

    Returns:
        ``{"matmul_flops_per_s", "copy_bytes_per_s", "size", "dtype", "device", "backend"}``.
    """
    if dtype not in DTYPES:
        raise InvalidArgumentError(f"Unknown dtype {dtype!r}. Allowed: {', '.join(DTYPES)}.")
    import keras
    from keras import ops

    size = size or (8192 if device.startswith("gpu") else 2048)
    with device_scope(device):
        a = ops.cast(keras.random.normal((size, size), seed=1), dtype)
        b = ops.cast(keras.random.normal((size, size), seed=2), dtype)

        def sync(x):  # wait for x by reading one element (as float32: NumPy has no bf16)
            ops.convert_to_numpy(ops.cast(ops.reshape(x, (-1,))[:1], "float32"))

        sync(ops.matmul(a, b))  # warm up

        def matmul():
            t0 = time.perf_counter()
            sync(ops.matmul(a, b))
            return time.perf_counter() - t0

        best = min(matmul() for _ in range(repeats))
        big = ops.ones((64 * 2**20,), dtype="float32")  # 256 MiB

        def copy():
            t0 = time.perf_counter()
            sync(big + 1.0)
            return time.perf_counter() - t0

        copy()
        best_copy = min(copy() for _ in range(max(repeats // 2, 3)))
    result = {
        "matmul_flops_per_s": 2 * size**3 / best,
        "copy_bytes_per_s": 2 * 4 * 64 * 2**20 / best_copy,  # read + write
        "size": size,
        "dtype": dtype,
        "device": device,
        "backend": keras.backend.backend(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if cache:
        results.write_cache(PEAK_CACHE, results.machine_key(device, dtype), result)
    return result


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("none", "mirrored", "multi_worker", "tpu")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """How a model runs: where, compiled how, in which precision, reproducibly or not."""

    device: str = "auto"  # auto (a GPU if there is one), cpu, gpu, gpu:N
    jit_compile: bool | str = False  # False, True (XLA) or "auto" (the faster, by a probe)
    precision: str = "float32"  # float32, mixed_float16 (with loss scaling), mixed_bfloat16
    threads: int | None = None  # TensorFlow's intra-op pool (None: its default)
    deterministic: bool = False  # TensorFlow op determinism: identical runs, slower
    strategy: str = "none"  # tf.distribute: none, mirrored, multi_worker (TF_CONFIG) or tpu
    cpu_devices: int | None = None  # split the CPU into this many logical devices
    tpu: str | None = None  # the TPU's name or grpc:// address (None: the local TPU VM)

    def __post_init__(self):
        if self.strategy == "multi-worker":
            object.__setattr__(self, "strategy", "multi_worker")
        if self.strategy not in STRATEGIES:
            raise InvalidArgumentError(
                f"Unknown strategy {self.strategy!r}. Allowed: {', '.join(STRATEGIES)}."
            )
        if self.cpu_devices is not None and (
            isinstance(self.cpu_devices, bool)
            or not isinstance(self.cpu_devices, int)
            or self.cpu_devices < 1
        ):
            raise InvalidArgumentError(
                "cpu_devices must be a positive integer; received: "
                f"cpu_devices={self.cpu_devices!r}."
            )
        if self.jit_compile not in (False, True, "auto"):
            raise InvalidArgumentError(
                f"jit_compile must be True, False or 'auto'; received: {self.jit_compile!r}."
            )
        if self.precision not in PRECISIONS:
            raise InvalidArgumentError(
                f"Unknown precision {self.precision!r}. Allowed: {', '.join(PRECISIONS)}."
            )
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise InvalidArgumentError(
                f"threads must be a positive integer; received: threads={self.threads!r}."
            )


def set_threads(threads: int) -> None:
    """Sizes TensorFlow's thread pools; must run before TensorFlow starts its runtime.

    Raises:
        InvalidArgumentError: the runtime has already started, or the backend is not
            TensorFlow.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise InvalidArgumentError(
            f"--threads sizes TensorFlow's pools; the {keras.backend.backend()} backend is "
            "running.",
            "Set its own variables (e.g. XLA_FLAGS) instead.",
        )
    import tensorflow as tf

    if (
        tf.config.threading.get_intra_op_parallelism_threads() == threads
        and tf.config.threading.get_inter_op_parallelism_threads() == min(threads, 2)
    ):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:
        raise InvalidArgumentError(
            "threads can only be set before TensorFlow starts its runtime.",
            "Set them first thing in the process (the CLI does).",
        ) from None


def backend_jit(jit_compile: bool | str) -> bool | str:
    """What `jit_compile` means on the running backend: on JAX every compiled step is XLA
    (jax.jit), so False would mean op-by-op execution; it becomes True. On TensorFlow it
    is kept (graph or XLA), on PyTorch True means torch.compile."""
    import keras

    if keras.backend.backend() == "jax" and jit_compile is False:
        return True
    return jit_compile


def set_cpu_devices(count: int) -> None:
    """Splits the CPU into `count` logical devices (to try tf.distribute on one machine);
    must run before TensorFlow starts its runtime.

    Raises:
        InvalidArgumentError: the runtime has already started with another split, or the
            backend is not TensorFlow.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise InvalidArgumentError(
            f"cpu_devices splits TensorFlow's CPU; the {keras.backend.backend()} backend is "
            "running."
        )
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if len(current or [None]) == count:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError:
        raise InvalidArgumentError(
            "cpu_devices can only be set before TensorFlow starts its runtime.",
            "Set it first thing in the process (the CLI does).",
        ) from None


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
        from zoo import distribute

        distribute.make(config)


@contextlib.contextmanager
def apply(config: RunConfig, seed: int = 0):
    """Applies a RunConfig for the duration of the block: seeds, determinism, threads, the
    dtype policy (restored afterwards), the device and the distribution strategy. Yields
    the resolved settings; under a strategy, ``resolved["strategy_object"]`` is the
    `tf.distribute.Strategy` (the block runs in its scope; pop it before saving)."""
    import keras

    prepare(config)
    strategy = None
    if config.strategy != "none":
        from zoo import distribute

        strategy = distribute.make(config)
    keras.utils.set_random_seed(seed)
    if config.deterministic:
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()  # process-wide, cannot be undone
        elif keras.backend.backend() == "torch":
            import torch

            torch.use_deterministic_algorithms(True)
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
        if strategy is None:
            with device_scope(device):
                yield resolved
        else:
            from zoo import distribute

            resolved.update(distribute.describe(strategy, config))
            resolved["strategy_object"] = strategy
            with strategy.scope():
                yield resolved
    finally:
        keras.config.set_dtype_policy(previous)
