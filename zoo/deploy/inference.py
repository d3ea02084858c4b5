"""Inference speed per batch size, of a Keras model or of an exported artifact run in its
own runtime: what `zoo profile --inference` shows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.choices import check_positive
from zoo.deploy import runtimes, verify


def example_inputs(specs: list[dict[str, Any]], rows: int, seed: int = 0) -> Any:
    """Inputs of the given specs (name, shape, dtype): floats in [0, 1), integers 1 (a
    valid id and token of any vocabulary, never padding), pixels 0-255."""
    rng = np.random.default_rng(seed)
    out = {}
    for s in specs:
        shape = (rows, *[d or 1 for d in s["shape"][1:]])
        if s["dtype"] == "uint8":
            out[s["name"]] = rng.integers(0, 256, size=shape).astype("uint8")
        elif "int" in s["dtype"]:
            out[s["name"]] = np.ones(shape, dtype=s["dtype"])
        else:
            out[s["name"]] = rng.random(shape, dtype="float32")
    return out if len(out) > 1 else next(iter(out.values()))


def _target(model_or_artifact) -> tuple[Any, list[dict[str, Any]]]:
    """The call to time and the inputs it takes."""
    if isinstance(model_or_artifact, (str, Path)):
        runner = runtimes.load(model_or_artifact)
        specs = runtimes.input_specs(runner)
        return verify.runner_call(runner, [s["name"] for s in specs]), specs
    net = model_or_artifact
    specs = [{"name": t.name, "shape": list(t.shape), "dtype": str(t.dtype)} for t in net.inputs]
    return verify.keras_call(net), specs


def inference_profile(
    model_or_artifact,
    batch_sizes: Sequence[int] = (1, 8, 32, 128),
    *,
    example: Any = None,
    repeats: int = 20,
) -> list[dict[str, Any]]:
    """Latency (p50, p99) and throughput per batch size.

    Args:
        model_or_artifact: a Keras model, or the path of an exported artifact (a SavedModel
            folder, .onnx, .tflite or .xml), which runs in its own runtime.
        batch_sizes: the batch sizes to time, each after one warm-up call.
        example: inputs to tile up to the batch (default: `example_inputs`).
        repeats: timed calls per batch size.

    Returns:
        One row per batch size: batch_size, p50_ms, p99_ms, samples_per_s.

    Raises:
        MissingRuntimeError: an artifact's runtime is not installed.
    """
    rows = compare_profiles(
        {"it": model_or_artifact}, batch_sizes, example=example, repeats=repeats
    )
    return rows["it"]


def compare_profiles(
    targets: dict[str, Any],
    batch_sizes: Sequence[int] = (1, 8, 32, 128),
    *,
    example: Any = None,
    repeats: int = 20,
) -> dict[str, list[dict[str, Any]]]:
    """`inference_profile` of several models or artifacts at once, timed interleaved (call
    by call, A B A B...) at each batch size, so a change in the machine's load hits all
    alike. They take the same inputs (`example` tiled, or `example_inputs` of the first).

    Returns:
        {target name: one row per batch size}.
    """
    for b in batch_sizes:
        check_positive("batch_size", b)
    check_positive("repeats", repeats)
    loaded = {k: _target(t) for k, t in targets.items()}
    specs = next(iter(loaded.values()))[1]
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in targets}
    for b in batch_sizes:
        x = _tiled(example, b) if example is not None else example_inputs(specs, b)
        for call, _ in loaded.values():
            call(x)  # warm-up
        seconds: dict[str, list[float]] = {k: [] for k in targets}
        for _ in range(repeats):
            for k, (call, _) in loaded.items():
                seconds[k].append(verify._seconds(call, x))
        for k in targets:
            rows[k].append(_row(b, seconds[k]))
    return rows


def _row(batch_size: int, seconds: list[float]) -> dict[str, Any]:
    return {
        "batch_size": int(batch_size),
        "p50_ms": 1e3 * float(np.percentile(seconds, 50)),
        "p99_ms": 1e3 * float(np.percentile(seconds, 99)),
        "samples_per_s": batch_size / float(np.median(seconds)),
    }


def _tiled(x: Any, rows: int) -> Any:
    take = np.arange(rows) % verify.num_rows(x)
    return (
        {k: np.asarray(v)[take] for k, v in x.items()}
        if isinstance(x, dict)
        else np.asarray(x)[take]
    )
