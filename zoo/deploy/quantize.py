"""Quantizing a Keras model's weights with Keras' own `model.quantize(mode)`, and saying
which layers it changed.

Keras 3.15 quantizes Dense, EinsumDense, Embedding and ReversibleEmbedding layers (int8,
int4, float8; int4 and float8 not Embedding in every version); Conv, LSTM/GRU cells,
normalization and the zoo's own layers keep float32 weights. The model is copied first:
the caller's float32 model is left as it was, to be compared with.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from zoo import io
from zoo.choices import QUANTIZE_MODES, check_choice
from zoo.errors import UnsupportedExportError

QUANTIZABLE = ("Dense", "EinsumDense", "Embedding", "ReversibleEmbedding")


@dataclass
class QuantizeReport:
    """What `quantize_model` did."""

    mode: str
    quantized: list[str]  # "layer_name (Class)"
    kept_float: list[str]  # layers with weights that stay in float32
    weight_bytes_float: int  # the model's weights before
    weight_bytes_quantized: int  # and after (quantized kernels plus their scales)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def copy_model(net):
    """A copy of a built model with the same weights (the original stays float32)."""
    import keras

    twin = keras.models.clone_model(net)
    twin.set_weights(net.get_weights())
    return twin


def quantize_model(net, mode: str) -> tuple[Any, QuantizeReport]:
    """A quantized copy of `net` and what was quantized.

    Raises:
        InvalidArgumentError: an unknown mode.
        UnsupportedExportError: no layer of the model is one Keras quantizes in `mode`.
    """
    check_choice("quantization mode", mode, QUANTIZE_MODES)
    before = _weight_bytes(net)
    twin = copy_model(net)
    with warnings.catch_warnings(record=True) as caught:  # "Layer X has no quantize method"
        warnings.simplefilter("always")
        try:
            twin.quantize(mode)
        except (NotImplementedError, ValueError) as e:
            raise UnsupportedExportError(
                f"Keras cannot quantize {net.name} to {mode}: {str(e).splitlines()[0][:200]}",
                f"Modes: {', '.join(QUANTIZE_MODES)}; Keras quantizes {', '.join(QUANTIZABLE)}.",
            ) from None
    done, kept = _layers(twin)
    if not done:
        raise UnsupportedExportError(
            f"{net.name} has no layer Keras quantizes to {mode} (it quantizes "
            f"{', '.join(QUANTIZABLE)}; this model's weights are in {', '.join(kept) or 'none'}).",
            "Quantize a model with Dense, EinsumDense or Embedding layers.",
        )
    notes = sorted(
        {str(w.message).splitlines()[0] for w in caught if "does not support" in str(w.message)}
    )
    return twin, QuantizeReport(mode, done, kept, before, _weight_bytes(twin), notes)


def _layers(net) -> tuple[list[str], list[str]]:
    """The layers holding quantized weights, and the other layers holding weights."""
    done, kept = [], []
    for layer in net._flatten_layers(include_self=False):
        if list(layer._flatten_layers(include_self=False)) or not layer.weights:
            continue
        label = f"{layer.name} ({type(layer).__name__})"
        (done if getattr(layer, "quantization_mode", None) else kept).append(label)
    return done, kept


def _weight_bytes(net) -> int:
    import numpy as np

    return int(sum(np.dtype(w.dtype).itemsize * int(np.prod(w.shape)) for w in net.weights))


@dataclass
class QuantizedEvaluation:
    """A model's float32 and quantized versions side by side on the same test data."""

    model: str
    mode: str
    dataset: str
    num_examples: int
    metrics: dict[str, dict[str, float]]  # "float32" and the mode
    size_bytes: dict[str, int]  # the .keras file of each
    timing: dict[str, Any]  # verify.Timing of each, measured interleaved
    speedup: dict[str, dict[str, Any]]  # the quantized model over float32 (verify.speedup)
    max_abs_diff: float  # between the two models' outputs
    report: QuantizeReport
    headline: str  # the task's headline metric
    higher_is_better: bool

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def evaluate_quantized(
    path, mode: str, *, dataset=None, data_dir=None, batch_size: int = 256, repeats: int = 50
) -> QuantizedEvaluation:
    """`zoo evaluate PATH --quantize MODE`: the metric, size and speed of the float32
    model and of its `mode` copy, on the run's test split (or a registry name's synthetic
    data).

    Raises:
        UnsupportedExportError: nothing in the model quantizes in `mode`.
        ModelFileError, DataError: as `zoo.evaluate`.
    """
    from zoo.deploy import verify
    from zoo.deploy.source import load_source

    src = load_source(path, dataset=dataset, data_dir=data_dir)
    twin, report = quantize_model(src.net, mode)
    calls = {"float32": verify.keras_call(src.net), mode: verify.keras_call(twin)}
    eval_batch = src.task.eval_batch_size or batch_size
    outputs = {k: verify.predict(c, src.data.x_test, eval_batch) for k, c in calls.items()}
    metrics = {
        k: verify.task_metrics(src.task, src.data.y_test, o, eval_batch) for k, o in outputs.items()
    }
    diff = verify.parity(outputs["float32"], outputs[mode], mode).max_abs_diff
    timing = verify.interleaved_timing(calls, src.data.x_test, batch_size, repeats)
    return QuantizedEvaluation(
        model=src.spec.name,
        mode=mode,
        dataset=src.dataset,
        num_examples=src.data.num_test,
        metrics=metrics,
        size_bytes={"float32": verify.keras_bytes(src.net), mode: verify.keras_bytes(twin)},
        timing=timing,
        speedup=verify.speedup(timing["float32"], timing[mode]),
        max_abs_diff=max(diff),
        report=report,
        headline=src.task.epoch_headline,
        higher_is_better=src.task.higher_is_better,
    )
