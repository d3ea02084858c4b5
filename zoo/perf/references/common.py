"""What the references share: the data batch, the clock and the record they return."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo.perf.profile import Timing, make_result, synthetic_batch, time_calls


def batch(model: str, batch_size: int):
    """The same fixed synthetic batch `zoo.perf.profile` trains on, and the model's kwargs."""
    from zoo import registry

    return synthetic_batch(registry.get_spec(model), {}, batch_size)


def time_steps(step: Callable[[], Any], steps: int, warmup: int) -> tuple[float, list[float]]:
    """The profiler's clock: the first call apart, then `steps` calls after `warmup`; each
    call must return only once its work is done (the loss fetched to the host)."""
    return time_calls(step, steps, warmup)


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
    framework: str = "tensorflow",
    warmup: int = 0,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of a reference run: a `ProfileResult` like the zoo's (float32 on the
    CPU, no inference timed, the batch as tensors in memory), plus `extra`. FLOPs are
    counted on `flops_model`, the zoo model of the same architecture; MFU is against the
    cached float32 CPU peak; the manifest describes `framework`, which ran the step."""
    from zoo import registry

    result = make_result(
        registry.get_spec(model),
        flops_model,
        {"mode": mode, "precision": "float32", "device": "cpu", "batch_size": batch_size},
        Timing(first_s, times, len(times), warmup),
        infer={},
        resolved={
            "implementation": implementation,
            "jit_compile": False,
            "data_placement": "memory",
        },
        params=params,
        framework=framework,
    )
    return {**result.to_dict(), **(extra or {})}
