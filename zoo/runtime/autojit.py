"""`jit_compile="auto"`: choose graph or XLA per model and device from a measured probe.

Keras' own "auto" only asks whether a model *can* be compiled with XLA; whether XLA is
*faster* depends on the model and the machine (on a 2-core CPU it made the convnet twice
as slow and the linear model faster). The probe trains the model a few steps in graph
mode and in XLA, interleaved (graph, XLA, graph, XLA...), takes each mode's median step
time, and caches the choice per machine, backend, device, precision, model, its
hyper-parameters and batch size in ~/.cache/keras-zoo/jit.json, so it runs once.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from zoo import io

CACHE = "jit.json"


def _read() -> dict[str, Any]:
    return io.read_cache(CACHE)


def cache_key(model: str, model_kwargs: dict, batch_size: int, device: str, precision: str) -> str:
    kwargs = json.dumps(io.to_jsonable(model_kwargs), sort_keys=True)
    return io.machine_key(device, precision, model, kwargs, batch_size)


def choose(
    build,
    x,
    y,
    *,
    key: str,
    rounds: int = 3,
    steps: int = 3,
) -> dict[str, Any]:
    """Graph or XLA for a model, from the cache or a probe.

    Args:
        build: `build(jit_compile: bool) -> compiled keras.Model` (fresh weights each call).
        x, y: one training batch (tensors).
        key: the cache key (`cache_key`).
        rounds: interleaved rounds of the probe; each times `steps` steps per mode.

    Returns:
        ``{"jit_compile": bool, "graph_step_ms", "xla_step_ms", "cached": bool}``.
    """
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":  # JAX always compiles with XLA; torch.compile is opt-in
        return {
            "jit_compile": backend == "jax",
            "reason": f"the {backend} backend",
            "cached": False,
        }
    entries = _read()
    if key in entries:
        return {**entries[key], "cached": True}
    models = {mode: build(mode == "xla") for mode in ("graph", "xla")}
    for net in models.values():  # trace and compile outside the clock
        net.train_on_batch(x, y)
        net.train_on_batch(x, y)
    times: dict[str, list[float]] = {"graph": [], "xla": []}
    for _ in range(rounds):
        for mode, net in models.items():
            for _ in range(steps):
                t0 = time.perf_counter()
                net.train_on_batch(x, y)
                times[mode].append(time.perf_counter() - t0)
    graph, xla = (statistics.median(times[m]) for m in ("graph", "xla"))
    entry = {
        "jit_compile": xla < graph,
        "graph_step_ms": 1e3 * graph,
        "xla_step_ms": 1e3 * xla,
        "xla_compiled": bool(models["xla"].jit_compile),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if not entry["xla_compiled"]:  # Keras refused XLA for this model: graph it is
        entry["jit_compile"] = False
    io.write_cache(CACHE, key, entry)
    return {**entry, "cached": False}
