"""Where and how a model runs: devices, placement, thread pools, what `jit_compile` means.

Every function imports its framework when called, never at import time.
"""

from __future__ import annotations

import contextlib
import os

from zoo.errors import DeviceError, InvalidArgumentError


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


def resolve(device: str) -> str:
    """`device` with "auto" made what it places on: "gpu" where the backend sees one, else
    "cpu" (so a record, a cache key and a table name the device that really ran)."""
    if device != "auto":
        return device
    return "gpu" if gpus() else "cpu"


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
    """Splits the CPU into `count` logical devices (to try tf.distribute, or
    keras.distribution on JAX, on one machine); must run before the backend starts its
    runtime (on JAX: `XLA_FLAGS=--xla_force_host_platform_device_count=N`).

    Raises:
        InvalidArgumentError: the runtime has already started with another split, or the
            backend is PyTorch.
    """
    import keras

    if keras.backend.backend() == "jax":
        return _split_jax_cpu(count)
    if keras.backend.backend() != "tensorflow":
        raise InvalidArgumentError(
            f"cpu_devices splits TensorFlow's or JAX's CPU; the {keras.backend.backend()} "
            "backend is running."
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


def set_matmul_precision(precision: str, backend: str | None = None) -> None:
    """Pins the precision of float32 matmuls and convolutions for this process.

    "highest" runs them in full float32 on every backend (TensorFlow: TF32 execution off;
    JAX: `jax_default_matmul_precision` "highest"; PyTorch: float32 matmul precision
    "highest" and TF32 off for matmuls and cuDNN); "default" leaves the backend's own.
    `backend` defaults to Keras's (a PyTorch reference runs in a TensorFlow-backend process).
    """
    from zoo.choices import MATMUL_PRECISIONS, check_choice

    check_choice("matmul precision", precision, MATMUL_PRECISIONS)
    if precision == "default":
        return
    backend = backend or _keras_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
    elif backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
    elif backend == "torch":
        import torch

        torch.set_float32_matmul_precision("highest")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def matmul_settings(backend: str | None = None) -> dict:
    """What float32 matmuls run in, read back from the backend: `matmul_precision`
    ("default" or "highest" on TensorFlow, by its TF32 switch; JAX's
    `jax_default_matmul_precision`, "default" when unset; PyTorch's float32 matmul
    precision) and `tf32` (whether matmuls and convolutions may use TF32 on a GPU with it)."""
    backend = backend or _keras_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        on = bool(tf.config.experimental.tensor_float_32_execution_enabled())
        return {"matmul_precision": "default" if on else "highest", "tf32": _tf32(on, on)}
    if backend == "jax":
        import jax

        value = jax.config.jax_default_matmul_precision or "default"
        full = value in ("highest", "float32")
        return {"matmul_precision": value, "tf32": _tf32(not full, not full)}
    if backend == "torch":
        import torch

        value = torch.get_float32_matmul_precision()
        matmul = value != "highest" or bool(torch.backends.cuda.matmul.allow_tf32)
        return {"matmul_precision": value, "tf32": _tf32(matmul, torch.backends.cudnn.allow_tf32)}
    return {"matmul_precision": None, "tf32": None}


def _tf32(matmul: bool, conv: bool) -> dict[str, bool]:
    return {"matmul": bool(matmul), "conv": bool(conv)}


def _keras_backend() -> str:
    import keras

    return keras.backend.backend()


JAX_SPLIT = "--xla_force_host_platform_device_count"


def _split_jax_cpu(count: int) -> None:
    """XLA's host platform split into `count` devices, set before JAX starts its backends."""
    import re

    from jax._src import xla_bridge

    flags = os.environ.get("XLA_FLAGS", "")
    found = re.search(rf"{JAX_SPLIT}=(\d+)", flags)
    if found and int(found.group(1)) == count:
        return
    if xla_bridge.backends_are_initialized():
        raise InvalidArgumentError(
            f"cpu_devices={count}: JAX has started with "
            f"{int(found.group(1)) if found else 1} CPU device(s).",
            f"Set XLA_FLAGS={JAX_SPLIT}={count} before the process starts (the CLI does).",
        )
    rest = re.sub(rf"{JAX_SPLIT}=\d+", "", flags).strip()
    os.environ["XLA_FLAGS"] = f"{rest} {JAX_SPLIT}={count}".strip()
