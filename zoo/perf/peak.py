"""The measured peak of a device: matmul FLOP/s and copy bandwidth, cached per machine.

`measure_peak` times large matrix multiplies (FLOP/s) and a large element-wise copy (memory
bandwidth) with `keras.ops`, so it measures the backend the models run on; the result is
cached per machine, backend, device and dtype and is the denominator of MFU.
"""

from __future__ import annotations

import time
from typing import Any

from zoo import io
from zoo.errors import InvalidArgumentError
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
        io.write_cache(PEAK_CACHE, io.machine_key(device, dtype), result)
    return result
