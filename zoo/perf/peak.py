"""The measured peak of a device: matmul FLOP/s and copy bandwidth, cached per machine.

`measure_peak` times large matrix multiplies (FLOP/s) and a large element-wise copy (memory
bandwidth) with `keras.ops`, so it measures the backend the models run on; the result is
cached per machine, backend, device and dtype and is the denominator of MFU.
"""

from __future__ import annotations

import time
from typing import Any

from zoo import io
from zoo.choices import check_choice
from zoo.runtime.device import compute_dtype, device_scope

DTYPES = ("float32", "bfloat16", "float16")


PEAK_CACHE = "peak.json"


def cached_peak_flops(device: str, precision: str) -> float | None:
    """The cached peak FLOP/s for a device and precision, or None if never measured."""
    entry = io.read_cache(PEAK_CACHE).get(io.machine_key(device, compute_dtype(precision)))
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
    check_choice("dtype", dtype, DTYPES)
    import keras

    size = size or (8192 if device.startswith("gpu") else 2048)
    with device_scope(device):
        best = _best_matmul(size, dtype, repeats)
        best_copy = _best_copy(max(repeats // 2, 3))
    result = {
        "matmul_flops_per_s": 2 * size**3 / best,
        "copy_bytes_per_s": 2 * 4 * COPY_ELEMENTS / best_copy,  # read + write
        "size": size,
        "dtype": dtype,
        "device": device,
        "backend": keras.backend.backend(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if cache:
        io.write_cache(PEAK_CACHE, io.machine_key(device, dtype), result)
    return result


COPY_ELEMENTS = 64 * 2**20  # float32: 256 MiB


def _sync(x) -> None:
    """Waits for x by reading one element (as float32: NumPy has no bfloat16)."""
    from keras import ops

    ops.convert_to_numpy(ops.cast(ops.reshape(x, (-1,))[:1], "float32"))


def _best_time(fn, repeats: int) -> float:
    """The fastest of `repeats` timed calls, after one untimed (warm-up) call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _best_matmul(size: int, dtype: str, repeats: int) -> float:
    """Seconds of the fastest (size x size) @ (size x size) matrix multiply."""
    import keras
    from keras import ops

    a = ops.cast(keras.random.normal((size, size), seed=1), dtype)
    b = ops.cast(keras.random.normal((size, size), seed=2), dtype)
    return _best_time(lambda: _sync(ops.matmul(a, b)), repeats)


def _best_copy(repeats: int) -> float:
    """Seconds of the fastest element-wise pass over COPY_ELEMENTS float32 values."""
    from keras import ops

    big = ops.ones((COPY_ELEMENTS,), dtype="float32")
    return _best_time(lambda: _sync(big + 1.0), repeats)
