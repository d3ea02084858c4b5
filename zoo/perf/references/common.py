"""What the references share: the data batch, FLOPs, timing and the record they return."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def batch(model: str, batch_size: int):
    """The same fixed synthetic batch `zoo.perf.profile` trains on, and the model's kwargs."""
    from zoo import registry
    from zoo.perf import profile as profiling

    spec = registry.get_spec(model)
    x, y, data = profiling._batch(spec, {}, batch_size)
    kwargs = {k: v for k, v in data.model_kwargs.items() if k in spec.defaults}
    return x, y, kwargs


def time_steps(step: Callable[[], Any], steps: int, warmup: int) -> tuple[float, list[float]]:
    """Times the first call apart, then `steps` calls after `warmup`; each call must return
    only once its work is done (the loss fetched to the host)."""
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return first, times


def record(
    *,
    model: str,
    mode: str,
    batch_size: int,
    first_s: float,
    times: list[float],
    flops_model,
    implementation: str,
    params: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of a reference run; FLOPs are counted on `flops_model`, the zoo model of
    the same architecture, and MFU is against the cached float32 CPU peak."""
    from zoo import io
    from zoo.perf import flops, peak
    from zoo.perf import profile as profiling

    median = statistics.median(times)
    sps = batch_size / median
    flops_s = flops.count(flops_model, batch_size=batch_size)["train"] * sps
    peak_flops = peak.cached_peak_flops("cpu", "float32")
    return {
        "model": model,
        "mode": mode,
        "batch_size": batch_size,
        "params": params,
        "compile_s": first_s,
        "train": {
            "step_ms_median": 1e3 * median,
            "step_ms_p10": 1e3 * float(np.percentile(times, 10)),
            "step_ms_p90": 1e3 * float(np.percentile(times, 90)),
            "samples_per_s": sps,
            "steps": len(times),
        },
        "infer": {},
        "peak_memory_mb": profiling.peak_memory_mb("cpu"),
        "train_flops_per_s": flops_s,
        "mfu": flops_s / peak_flops if flops_s and peak_flops else None,
        "resolved": {"implementation": implementation, "jit_compile": False},
        "env": io.environment(),
        **(extra or {}),
    }
