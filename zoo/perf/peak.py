"""The measured peak of a device: matmul FLOP/s and copy bandwidth, the denominator of MFU.

`measure_peak` times large matrix multiplies (FLOP/s) and a large element-wise copy (memory
bandwidth) with `keras.ops`, so it measures the backend the models run on. `device_peak`
is what a profile asks for: the cached entry, measured on first use (a second or two).

A peak is cached under `peak_key`: the machine fingerprint (CPU model, id, ISA flags and
cores; on a GPU its model and driver), the backend, the device kind, the dtype and the
float32 matmul precision in force (TF32 on or off). A bench worker pins float32 matmuls to
"highest" while a GPU's default may use TF32, several times faster: the peak of an MFU is
measured, and looked up, in the process and the matmul precision the step ran in.
"""

from __future__ import annotations

import os
import time
from typing import Any

from zoo import io
from zoo.choices import check_choice
from zoo.runtime.device import compute_dtype, device_scope

DTYPES = ("float32", "bfloat16", "float16")
PEAK_CACHE = "peak.json"
COPY_ELEMENTS = 64 * 2**20  # float32: 256 MiB
TIME_BUDGET_S = 2.0  # the matmul repeats stop after this long (at least MIN_REPEATS)
MIN_REPEATS = 3


def machine_fingerprint(device: str = "cpu", cpuinfo: str | None = None) -> dict[str, Any]:
    """What makes a measurement on `device` of this machine differ from one on another
    (`zoo.io.machine`'s fields): on the CPU its model, id (vendor, family, model,
    stepping), ISA flags and cores; on a GPU its model and driver. `cpuinfo`:
    /proc/cpuinfo's text to read instead of this machine's."""
    m = io.machine()
    if _kind(device) == "gpu":
        index = int(device.partition(":")[2] or 0)
        names = m["gpus"] or []
        if index < len(names):
            return {"gpu": names[index], "gpu_driver": m["gpu_driver"]}
        from zoo.perf import manifest  # no NVIDIA driver files: ask the backend

        name, driver = manifest._gpu(_backend(), device)
        return {"gpu": name, "gpu_driver": driver}
    if cpuinfo is not None:
        cpu = io.cpu_info(cpuinfo)
        m = {**m, "cpu": cpu["model"], "cpu_id": cpu["id"], "cpu_flags": cpu["flags"]}
    return {k: m[k] for k in ("cpu", "cpu_id", "cpu_flags", "cores")}


def measurement_key(device: str, *parts: Any, cpuinfo: str | None = None) -> str:
    """A cache key for something measured on `device` of this machine and Keras backend:
    the fingerprint, the backend, the device kind and `parts` (never the host name: two
    hosts of one kind share a measurement, one host that changed its CPU does not)."""
    fp = machine_fingerprint(device, cpuinfo)
    flags = fp.get("cpu_flags")
    fields = [v for k, v in fp.items() if k != "cpu_flags"]
    if "cpu_flags" in fp:
        fields.append("flags " + (",".join(flags) if flags is not None else "unlisted"))
    return "|".join(map(str, [*fields, _backend(), _kind(device), *parts]))


def peak_key(
    device: str, dtype: str, matmul: dict | None = None, cpuinfo: str | None = None
) -> str:
    """The cache key of a peak: the machine, backend, device, dtype and `matmul` (the
    float32 matmul settings, `zoo.runtime.device.matmul_settings`; default: those in force
    in this process)."""
    from zoo.runtime.device import matmul_settings

    m = matmul if matmul is not None else matmul_settings()
    tf32 = (m.get("tf32") or {}).get("matmul")
    return measurement_key(
        device, dtype, f"matmul {m.get('matmul_precision')}", f"tf32 {tf32}", cpuinfo=cpuinfo
    )


def cached_peak(device: str, precision: str) -> dict[str, Any] | None:
    """The cached peak of a device for a precision policy's compute dtype, under the matmul
    precision in force; None if never measured so."""
    return io.read_cache(PEAK_CACHE).get(peak_key(device, compute_dtype(precision)))


def cached_peak_flops(device: str, precision: str) -> float | None:
    """The cached peak FLOP/s for a device and precision, or None if never measured."""
    entry = cached_peak(device, precision)
    return entry["matmul_flops_per_s"] if entry else None


def device_peak(device: str, precision: str, at_least: float | None = None) -> dict[str, Any]:
    """The peak for MFU: the cached entry (`cached` True), else measured now and cached
    (`cached` False). Run it in the process that timed the step, after the step: it reads
    that process's matmul precision, and its arrays would count in the step's peak memory.

    `at_least`: the FLOP/s the step just reached. A cached peak below it was measured at a
    busy moment (on a shared 2-core machine one measurement read 158 GFLOP/s where the
    same CPU does 300, and MFU read 109%): it is measured again now, the higher kept, and
    the entry says so (`remeasured`: the low figure it replaced). Where the step still beats
    the peak (a convolution library faster than the matmul), `below_achieved` is True and
    MFU reads over 100%: the measurement is shown, not hidden."""
    entry = cached_peak(device, precision)
    if entry and (at_least is None or entry["matmul_flops_per_s"] >= at_least):
        return {**entry, "cached": True}
    measure_peak(device, compute_dtype(precision))  # caches the higher of the two
    out = {**cached_peak(device, precision), "cached": False}
    if entry:
        out["remeasured"] = {
            "matmul_flops_per_s": entry["matmul_flops_per_s"],
            "load_average": entry.get("load_average"),
            "why": "below the FLOP/s a measured step reached",
        }
    if at_least is not None and out["matmul_flops_per_s"] < at_least:
        out["below_achieved"] = True
    return out


def measure_peak(
    device: str = "cpu",
    dtype: str = "float32",
    size: int | None = None,
    repeats: int = 10,
    cache: bool = True,
) -> dict[str, Any]:
    """Measures matmul FLOP/s and memory-copy bandwidth on a device; caches the result.

    Args:
        device: "cpu", "gpu", "gpu:N" or "auto".
        dtype: float32, bfloat16 or float16.
        size: the side of the square matrices (default 2048 on CPU, 8192 on GPU: on a
            2-core AVX-512 EPYC, 2048 reached within a few percent of 3072 and 4096).
        repeats: timed matmuls at most (at least MIN_REPEATS, within TIME_BUDGET_S); the
            fastest is the peak.
        cache: store the result under `peak_key` for MFU, unless the key holds a higher
            peak (then `kept` says which); the cached copy bandwidth is the highest
            measured, and `measurements` counts them.

    Returns:
        ``{"matmul_flops_per_s", "copy_bytes_per_s", "size", "dtype", "device", "backend",
        "matmul", "fingerprint", "key", "measure_s", "measured_at", "load_average"}``, and
        "kept": the higher cached peak where one stays.
    """
    from zoo.runtime.device import matmul_settings

    check_choice("dtype", dtype, DTYPES)
    size = size or (8192 if _kind(device) == "gpu" else 2048)
    t0 = time.perf_counter()
    with device_scope(device):
        best = _best_matmul(size, dtype, repeats)
        best_copy = _best_time(_copy_pass(), max(repeats // 2, MIN_REPEATS))
    matmul = matmul_settings()
    result = {
        "matmul_flops_per_s": 2 * size**3 / best,
        "copy_bytes_per_s": 2 * 4 * COPY_ELEMENTS / best_copy,  # read + write
        "size": size,
        "dtype": dtype,
        "device": device,
        "backend": _backend(),
        "matmul": matmul,
        "fingerprint": machine_fingerprint(device),
        "key": peak_key(device, dtype, matmul),
        "measure_s": time.perf_counter() - t0,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # Other work on the machine lowers the measured peak: on a shared 2-core EPYC the
        # same key measured 112-435 GFLOP/s in one session. The load says how busy it was.
        "load_average": _load_average(),
    }
    kept = _remember(result) if cache else None
    return {**result, "kept": kept} if kept else result


def _remember(result: dict[str, Any]) -> dict[str, Any] | None:
    """Caches a measurement unless its key holds a higher matmul peak, which it returns
    (None: this one was cached); the copy bandwidth cached is the highest measured too.
    Other work on the machine only ever lowers a measurement, so the highest is the
    device's, and one busy moment cannot inflate every MFU."""
    best = io.read_cache(PEAK_CACHE).get(result["key"])
    copy = max(result["copy_bytes_per_s"], (best or {}).get("copy_bytes_per_s") or 0)
    count = best.get("measurements", 1) + 1 if best else 1
    if best and best["matmul_flops_per_s"] > result["matmul_flops_per_s"]:
        io.write_cache(
            PEAK_CACHE, result["key"], {**best, "copy_bytes_per_s": copy, "measurements": count}
        )
        return {k: best.get(k) for k in ("matmul_flops_per_s", "measured_at", "load_average")}
    entry = {**result, "copy_bytes_per_s": copy, "measurements": count}
    io.write_cache(PEAK_CACHE, result["key"], entry)
    return None


def _load_average() -> float | None:
    """The machine's 1-minute load average (runnable processes), where the OS reports it."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _kind(device: str) -> str:
    """cpu or gpu: what `device` ("auto" included) runs on."""
    kind = device.partition(":")[0]
    if kind == "auto":
        from zoo.runtime.device import gpus

        return "gpu" if gpus() else "cpu"
    return kind


def _backend() -> str:
    import keras

    return keras.backend.backend()


def _sync(x) -> None:
    """Waits for x by reading one element (as float32: NumPy has no bfloat16)."""
    from keras import ops

    ops.convert_to_numpy(ops.cast(ops.reshape(x, (-1,))[:1], "float32"))


def _best_time(fn, repeats: int, budget_s: float = TIME_BUDGET_S) -> float:
    """The fastest of up to `repeats` timed calls after one untimed (warm-up) call; past
    `budget_s` of timed calls it stops once MIN_REPEATS are done (a slow device)."""
    fn()
    best, start = float("inf"), time.perf_counter()
    for n in range(repeats):
        if n >= MIN_REPEATS and time.perf_counter() - start > budget_s:
            break
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


def _copy_pass():
    """One element-wise pass over COPY_ELEMENTS float32 values, as a call to time."""
    from keras import ops

    big = ops.ones((COPY_ELEMENTS,), dtype="float32")
    return lambda: _sync(big + 1.0)
