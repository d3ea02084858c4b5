"""Inference side by side: a float32 model against its quantized copy (`zoo profile
--quantize`, the bench suites' `quantize` axis), and a Keras model against its exported
artifact per batch size (`zoo profile --inference [--format]`).

Both sides take the same fixed batch of the task's synthetic data (tiled up to each batch
size) and are timed interleaved, call by call, so a change in the machine's load hits both
alike. A quantized model is timed for inference only: Keras' quantized layers are
inference-only (their int8 kernels are not trainable), so a training step of a quantized
model measures nothing a user runs. The float32 side is also trained for a few steps (the
same step `zoo profile` times), and its trained weights are the ones quantized.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo import io, registry
from zoo.choices import EXPORT_FORMATS, QUANTIZE_MODES, check_choice, check_positive
from zoo.errors import InvalidArgumentError
from zoo.perf import profile as profiling

TRAINING_NOTE = (
    "Training is timed for float32 only: Keras' quantized layers are inference-only "
    "(int8 kernels are not trainable), so the {mode} side is timed for inference."
)


@dataclass
class QuantizedProfile:
    """A model's float32 and quantized versions, inference timed interleaved."""

    model: str
    mode: str  # the quantization mode
    backend: str
    device: str
    batch_size: int  # the training batch of the float32 side
    params: int
    train: dict[str, float]  # float32 only: step_ms_median, samples_per_s, steps
    rows: dict[str, list[dict[str, Any]]]  # "float32" and `mode`: one row per batch size
    weight_bytes: dict[str, int]  # the weights in memory, before and after
    quantized: list[str]  # "layer (Class)"
    kept_float: list[str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


@dataclass
class InferenceProfile:
    """Latency and throughput per batch size of a Keras model (and of its artifact)."""

    model: str
    backend: str
    device: str
    format: str | None  # the exported artifact's format, or None for Keras alone
    rows: dict[str, list[dict[str, Any]]]  # "keras" (and `format`): one row per batch size
    artifact_bytes: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def _float32_model(name: str, model_kwargs: dict | None, batch_size: int | None, device: str):
    """(the compiled float32 model, its synthetic batch x, y, the checked run)."""
    spec = registry.get_spec(name)
    run = profiling._Run(spec, "graph", "float32", device, batch_size or spec.recipe.batch_size)
    run.model_kwargs = dict(model_kwargs or {})
    profiling._check(run)
    x, y, run.model_kwargs = profiling.synthetic_batch(spec, run.model_kwargs, run.batch_size)
    model = profiling._builder(run, (x, y))(False)
    return model, x, y, run


def _check_batch_sizes(batch_sizes: Sequence[int]) -> list[int]:
    if not batch_sizes:
        raise InvalidArgumentError("No batch size given.", "Pass positive integers, e.g. 1,8,32.")
    for b in batch_sizes:
        check_positive("batch_size", b)
    return [int(b) for b in batch_sizes]


def profile_quantized(
    name: str,
    mode: str,
    *,
    batch_size: int | None = None,
    batch_sizes: Sequence[int] | None = None,
    device: str = "cpu",
    steps: int = 10,
    model_kwargs: dict[str, Any] | None = None,
    repeats: int = 20,
) -> QuantizedProfile:
    """`zoo profile NAME --quantize MODE`: trains the float32 model `steps` steps (timed),
    quantizes a copy, and times both at each batch size, interleaved.

    Args:
        batch_sizes: inference batch sizes (default: 1 and the training batch).

    Raises:
        InvalidArgumentError: an unknown mode, a batch size or step count below 1.
        UnsupportedExportError: nothing in the model quantizes in `mode`.
    """
    from zoo import deploy, runtime

    check_choice("quantization mode", mode, QUANTIZE_MODES)
    check_positive("steps", steps)
    with runtime.apply(runtime.RunConfig(device=device, precision="float32"), seed=0):
        model, x, y, run = _float32_model(name, model_kwargs, batch_size, device)
        sizes = _check_batch_sizes(batch_sizes or sorted({1, run.batch_size}))
        _, seconds = profiling.time_calls(lambda: model.train_on_batch(x, y), steps, 2)
        twin, report = deploy.quantize_model(model, mode)
        rows = deploy.compare_profiles(
            {"float32": model, mode: twin}, sizes, example=x, repeats=repeats
        )
    median = sorted(seconds)[len(seconds) // 2]
    return QuantizedProfile(
        model=name,
        mode=mode,
        backend=profiling._backend(),
        device=device,
        batch_size=run.batch_size,
        params=int(model.count_params()),
        train={"step_ms_median": 1e3 * median, "samples_per_s": run.batch_size / median},
        rows=rows,
        weight_bytes={"float32": report.weight_bytes_float, mode: report.weight_bytes_quantized},
        quantized=report.quantized,
        kept_float=report.kept_float,
        notes=[TRAINING_NOTE.format(mode=mode), *report.notes],
    )


def profile_inference(
    name: str,
    *,
    batch_sizes: Sequence[int] = (1, 8, 32, 128),
    fmt: str | None = None,
    device: str = "cpu",
    model_kwargs: dict[str, Any] | None = None,
    repeats: int = 20,
) -> InferenceProfile:
    """`zoo profile NAME --inference [--format FMT]`: latency and throughput per batch size
    of the Keras model (random weights) and, with `fmt`, of the model exported to `fmt`
    (in a temporary folder) and run in that format's runtime, timed interleaved.

    Raises:
        InvalidArgumentError: an unknown format, a batch size below 1.
        MissingRuntimeError: the converter or runtime of `fmt` is not installed.
        UnsupportedExportError: the format does not take this model.
    """
    from zoo import deploy, runtime
    from zoo.deploy import verify
    from zoo.deploy.source import call_once

    sizes = _check_batch_sizes(batch_sizes)
    if fmt is not None:
        check_choice("export format", fmt, EXPORT_FORMATS)
    with runtime.apply(runtime.RunConfig(device=device, precision="float32"), seed=0):
        model, x, _, _ = _float32_model(name, model_kwargs, None, device)
        call_once(model, x)
        targets: dict[str, Any] = {"keras": model}
        with tempfile.TemporaryDirectory(prefix="zoo-profile-") as tmp:
            if fmt is not None:
                from zoo.deploy.export import SUFFIX

                path = Path(tmp) / f"{name}{SUFFIX[fmt] or '_saved_model'}"
                targets[fmt] = deploy.write_artifact(model, fmt, path)
            rows = deploy.compare_profiles(targets, sizes, example=x, repeats=repeats)
            size = verify.artifact_bytes(targets[fmt]) if fmt else None
    return InferenceProfile(
        model=name,
        backend=profiling._backend(),
        device=device,
        format=fmt,
        rows=rows,
        artifact_bytes=size,
    )


def quantized_case(case: dict[str, Any]) -> dict[str, Any]:
    """A bench case with `quantize` set (run by `zoo.perf.worker`): the float32 model and
    its quantized copy, inference only, interleaved: batch-1 latency and throughput at the
    case's batch. `infer` is the quantized model's, `float32_infer` the float32 model's."""
    from zoo import deploy, runtime
    from zoo.deploy import verify
    from zoo.deploy.source import call_once

    mode = case["quantize"]
    check_choice("quantization mode", mode, QUANTIZE_MODES)
    setting = {k: case[k] for k in ("mode", "precision", "device", "batch_size")}
    with runtime.apply(runtime.RunConfig(device=case["device"], precision="float32"), seed=0):
        model, x, _, run = _float32_model(
            case["model"], case.get("params"), case["batch_size"], case["device"]
        )
        call_once(model, x)
        twin, report = deploy.quantize_model(model, mode)
        calls = {"float32": verify.keras_call(model), mode: verify.keras_call(twin)}
        timing = verify.interleaved_timing(calls, x, run.batch_size, max(case["steps"], 20))
    clock = profiling.Timing(0.0, [0.0], max(case["steps"], 20), 1)  # inference calls
    return {
        "model": run.spec.name,
        "family": run.spec.family,
        "task": run.spec.task,
        "backend": profiling._backend(),
        **setting,
        "quantize": mode,
        "params": int(model.count_params()),
        "train": None,  # quantized layers are inference-only
        "infer": timing[mode].to_dict(),
        "float32_infer": timing["float32"].to_dict(),
        "weight_bytes": {"float32": report.weight_bytes_float, mode: report.weight_bytes_quantized},
        "quantized_layers": report.quantized,
        "peak_memory_mb": profiling.peak_memory_mb(case["device"]),
        "env": io.environment(),
        "manifest": profiling._manifest(setting, clock, {}, profiling._backend()),
    }
