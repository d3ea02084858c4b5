"""GPU power and energy over the timed training steps, read from NVML.

`meter(device)` is a context manager around the timed steps. On an NVIDIA GPU with NVML's
Python binding (`nvidia-ml-py`, imported as `pynvml`; optional) it reads the board's total
energy counter (`nvmlDeviceGetTotalEnergyConsumption`, millijoules since the driver loaded,
Volta and newer) before and after; where the board has no such counter it samples the
power draw (`nvmlDeviceGetPowerUsage`, milliwatts) from a thread every `SAMPLE_S` and
integrates it. On a CPU, or without NVML, it measures nothing and says why: the record
gets `energy: {"source": None, "reason": ...}`, never a figure from somewhere else.

`per_sample(reading, samples)` turns a reading into the record's `energy` entry: joules,
seconds, mean watts and joules per training sample.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

SAMPLE_S = 0.02  # power sampling period where the board has no energy counter


class Reading:
    """What one `meter` measured: `joules` and `seconds` (None where nothing was read),
    `source` (how) or `reason` (why not)."""

    def __init__(self) -> None:
        self.joules: float | None = None
        self.seconds: float | None = None
        self.source: str | None = None
        self.reason: str | None = None
        self.samples = 0  # power samples taken (the sampling fallback)


def _nvml():
    """NVML's binding, initialised, or None with why."""
    try:
        import pynvml
    except ImportError:
        return None, "NVML is not installed (pip install nvidia-ml-py)"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as e:
        return None, f"NVML did not start: {e}"
    return pynvml, None


@contextlib.contextmanager
def meter(device: str):
    """Measures the energy the GPU `device` ("gpu" or "gpu:N") draws inside the block."""
    reading = Reading()
    if not device.startswith("gpu"):
        reading.reason = "energy is read from NVML, on an NVIDIA GPU only"
        yield reading
        return
    nvml, why = _nvml()
    if nvml is None:
        reading.reason = why
        yield reading
        return
    index = int(device.partition(":")[2] or 0)
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except nvml.NVMLError as e:
        reading.reason = f"NVML has no GPU {index}: {e}"
        yield reading
        return
    start = _energy_mj(nvml, handle)
    if start is not None:
        t0 = time.perf_counter()
        yield reading
        reading.seconds = time.perf_counter() - t0
        end = _energy_mj(nvml, handle)
        if end is not None:
            reading.joules, reading.source = (end - start) / 1e3, "nvml energy counter"
        else:
            reading.reason = "NVML's energy counter failed on the second read"
        return
    with _sampling(nvml, handle, reading):
        yield reading


def _energy_mj(nvml, handle) -> float | None:
    try:
        return float(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
    except nvml.NVMLError:  # not supported on this board
        return None


@contextlib.contextmanager
def _sampling(nvml, handle, reading: Reading):
    """Integrates the power draw, sampled every SAMPLE_S (trapezoids), over the block."""
    stop = threading.Event()
    points: list[tuple[float, float]] = []
    failed: list[str] = []

    def sample() -> None:
        while True:
            try:
                points.append((time.perf_counter(), nvml.nvmlDeviceGetPowerUsage(handle) / 1e3))
            except nvml.NVMLError as e:
                failed.append(str(e))
                return
            if stop.wait(SAMPLE_S):
                return

    thread = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    try:
        yield reading
    finally:
        stop.set()
        thread.join()
        reading.seconds = time.perf_counter() - t0
        reading.samples = len(points)
        if len(points) >= 2:
            pairs = zip(points, points[1:], strict=False)
            reading.joules = sum((t1 - ta) * (wa + w1) / 2 for (ta, wa), (t1, w1) in pairs)
            # The span the samples cover, extended to the block at the mean power.
            covered = points[-1][0] - points[0][0]
            if covered > 0:
                reading.joules *= reading.seconds / covered
            reading.source = f"nvml power samples every {SAMPLE_S * 1e3:.0f} ms"
        else:
            reading.reason = "NVML gave fewer than two power samples" + (
                f" ({failed[0]})" if failed else ""
            )


def per_sample(reading: Reading, samples: int) -> dict[str, Any]:
    """The record's `energy` entry: joules and mean watts over the timed steps, and joules
    per training sample (`samples` processed in them); where nothing was read, why."""
    if reading.joules is None or not reading.seconds:
        return {"source": None, "reason": reading.reason or "not measured"}
    return {
        "source": reading.source,
        "joules": reading.joules,
        "seconds": reading.seconds,
        "mean_watts": reading.joules / reading.seconds,
        "joules_per_sample": reading.joules / samples if samples else None,
        "power_samples": reading.samples or None,
    }
