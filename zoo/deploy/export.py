"""`export`: a zoo model written as a deployable artifact with Keras' own `model.export`,
then loaded back in its own runtime and checked against the Keras model.

The workflow reads: load the model and its test data -> quantize (optional) -> wrap the
preprocessing (image models) -> write the artifact -> write its contract -> load it in
its runtime -> compare outputs, metric, size and speed with the Keras model.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo import io
from zoo.choices import EXPORT_FORMATS, check_choice, check_positive
from zoo.deploy import contract as contracts
from zoo.deploy import runtimes, verify
from zoo.deploy.quantize import QuantizeReport, quantize_model
from zoo.deploy.source import Source, call_once, load_source
from zoo.errors import (
    InvalidArgumentError,
    MissingRuntimeError,
    ParityError,
    UnsupportedExportError,
)

KERAS_FORMAT = {
    "saved_model": "tf_saved_model",
    "onnx": "onnx",
    "litert": "litert",
    "openvino": "openvino",
}
SUFFIX = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite", "openvino": ".xml"}
# The Python module Keras converts with, where it is not TensorFlow itself.
CONVERTER = {"onnx": ("tf2onnx", "tf2onnx"), "openvino": ("openvino", "OpenVINO")}


@dataclass
class ExportResult:
    """What `export` wrote and measured."""

    model: str
    format: str
    artifact: str
    contract_path: str
    contract: dict[str, Any]
    quantize: str | None
    dataset: str
    num_examples: int
    quantize_report: QuantizeReport | None = None
    notes: list[str] = field(default_factory=list)
    # measured by the comparison
    size_bytes: dict[str, int] = field(default_factory=dict)  # "keras" (.keras), "artifact"
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # the same two
    timing: dict[str, verify.Timing] = field(default_factory=dict)
    speedup: dict[str, dict[str, Any]] = field(default_factory=dict)  # artifact over Keras
    parity: verify.Parity = field(default_factory=lambda: verify.Parity([], [], None))
    weight_bytes: dict[str, int] = field(default_factory=dict)  # the artifact's, by dtype

    @property
    def differing(self) -> list[str]:
        return [f"output_{i}" for i in self.parity.failing]

    def check(self) -> None:
        """Raises ParityError when an output differs beyond the tolerance."""
        if self.differing:
            worst = max(self.parity.max_abs_diff)
            raise ParityError(
                f"The {self.format} artifact's {', '.join(self.differing)} differ from the "
                f"Keras model's by up to {worst:.3g} (tolerance {self.parity.tolerance:.3g} "
                "x max(1, |output|)).",
                "See docs/export.md#tolerances.",
            )

    def to_dict(self) -> dict[str, Any]:
        record = io.to_jsonable(self)
        record["parity"] = self.parity.to_dict()
        return record


def export(
    source: str | Path,
    format: str,
    *,
    quantize: str | None = None,
    output: str | Path | None = None,
    include_preprocessing: bool | None = None,
    dataset: str | None = None,
    data_dir: str | None = None,
    batch_size: int = 128,
    repeats: int = 50,
    on_stage: Callable[[int, int, str], None] | None = None,
) -> ExportResult:
    """Exports a run folder, a `.keras` file or a registry model (random weights) and
    checks the artifact in its own runtime on the test split (synthetic for a name).
    `on_stage(n, total, what)` hears of each stage as it starts (STAGES).

    Raises:
        UnsupportedExportError: the format, model, quantization and backend do not go
            together (exit 2).
        MissingRuntimeError: the converter or runtime is not installed.
        ModelFileError, DataError: as `zoo.evaluate`.
    """
    check_choice("export format", format, EXPORT_FORMATS)
    check_positive("batch_size", batch_size)

    stage = _stages(on_stage)
    stage(1)
    src = load_source(source, dataset=dataset, data_dir=data_dir)
    path = _output_path(src, format, quantize, output)
    net, report, notes = _quantized(src, format, quantize)
    pixels, x, more = _preprocessing(src, include_preprocessing)
    exported = contracts.with_preprocessing(net) if pixels else net
    call_once(exported, x)  # the exporters take only a model that was called
    stage(2)
    write_artifact(exported, format, path, quantize=quantize)
    contract = contracts.describe(
        exported, src.task, fmt=format, preprocessing=pixels, vocab_size=src.vocab_size,
        quantize=quantize,
    )  # fmt: skip
    contract.notes = notes + more
    contract_path = contracts.write(contract, path)
    stage(3)
    runner = runtimes.load(path, format, num_outputs=len(exported.outputs))
    result = ExportResult(
        model=src.spec.name,
        format=format,
        artifact=str(path),
        contract_path=str(contract_path),
        contract=contract.to_dict(),
        quantize=quantize,
        dataset=src.dataset,
        num_examples=src.data.num_test,
        quantize_report=report,
        notes=contract.notes,
    )
    return _compare(src, exported, runner, x, batch_size, repeats, result, stage)


def _stages(on_stage: Callable[[int, int, str], None] | None) -> Callable[[int], None]:
    """stage(n): tells `on_stage` that stage n of STAGES starts."""

    def stage(n: int) -> None:
        if on_stage:
            on_stage(n, len(STAGES), STAGES[n - 1])

    return stage


# What `export` does, in order (its on_stage hears each).
STAGES = (
    "loading the model and data",
    "converting",
    "loading the artifact in its runtime",
    "comparing outputs and metrics",
    "timing both, interleaved",
)


def _quantized(src: Source, fmt: str, mode: str | None):
    """The model to export and what quantizing it did. LiteRT's converter cannot take
    Keras' int8 matmuls (BatchMatMul on int8): for LiteRT, int8 is the converter's own
    weight quantization of the float32 model."""
    if mode is None:
        return src.net, None, []
    if fmt == "litert" and mode == "int8":
        return (
            src.net,
            None,
            [
                "LiteRT int8: the converter quantizes the float32 model's "
                "weights to int8 (dynamic range); the Keras reference is float32."
            ],
        )
    net, report = quantize_model(src.net, mode)
    return net, report, report.notes


def _preprocessing(src: Source, include: bool | None) -> tuple[bool, Any, list[str]]:
    """Whether the artifact takes raw pixels, the test inputs it takes, and notes."""
    x = src.data.x_test
    pixels = contracts.takes_pixels(src.task.name, src.dataset, x)
    if include is None or include == pixels:
        return pixels, contracts.to_pixels(x) if pixels else x, []
    if not include:
        return False, x, []
    if src.task.name != "image_classification":
        return (
            False,
            x,
            [
                f"{src.task.name} models take {src.task.inputs}: there is no "
                "preprocessing to include."
            ],
        )
    return (
        True,
        contracts.to_pixels(x),
        ["The test images are not pixels in [0, 1] (synthetic data): the uint8 inputs clip them."],
    )


def _output_path(src: Source, fmt: str, quantize: str | None, output) -> Path:
    suffix = SUFFIX[fmt]
    if output is not None:
        path = Path(output)
        if suffix and path.suffix != suffix:
            raise InvalidArgumentError(
                f"The {fmt} artifact is a {suffix} file; received: --output {path}.",
                f"Pass a path ending in {suffix}.",
            )
        return path
    stem = f"{src.stem}{'_' + quantize if quantize else ''}"
    return src.folder / (f"{stem}{suffix}" if suffix else f"{stem}_saved_model")


def write_artifact(net, fmt: str, path: Path, quantize: str | None = None) -> Path:
    """Writes `net` as a `fmt` artifact at `path` with `model.export`, atomically (into a
    temporary folder beside it, then moved: an OpenVINO .xml takes its .bin along).

    Raises:
        MissingRuntimeError: the converter Keras needs is not installed.
        UnsupportedExportError: the converter refuses this model.
    """
    _require_converter(fmt)
    if fmt == "onnx":
        from zoo.deploy.onnx_ops import register_erfc

        register_erfc()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as tmp:
        staged = Path(tmp) / (path.name if SUFFIX[fmt] else "saved_model")
        kwargs = _litert_int8() if fmt == "litert" and quantize == "int8" else {}
        _run_export(net, fmt, staged, quantize, kwargs)
        for part in [staged, *([staged.with_suffix(".bin")] if fmt == "openvino" else [])]:
            target = path.with_suffix(part.suffix) if fmt == "openvino" else path
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(part, target)
    return path


def _run_export(net, fmt: str, staged: Path, quantize: str | None, kwargs: dict) -> None:
    import keras

    try:
        with warnings.catch_warnings(), _native_stderr_captured():
            warnings.simplefilter("ignore", FutureWarning)  # Keras' tf2onnx patch
            net.export(str(staged), format=KERAS_FORMAT[fmt], verbose=False, **kwargs)
    except Exception as e:  # the converters raise their own types, several per format
        first = _reason(e)
        quantized = f" quantized to {quantize}" if quantize else ""
        raise UnsupportedExportError(
            f"Keras cannot export {net.name}{quantized} to {fmt} on the "
            f"{keras.backend.backend()} backend: {first.strip()[:200]}",
            QUANTIZED_HINT if quantize else runtimes.SUPPORTED_HINT.get(fmt, runtimes.EXPORT_HINT),
        ) from None


QUANTIZED_HINT = (
    "Keras int8 exports to saved_model and onnx (LiteRT: --quantize int8 uses its "
    "converter's); see docs/export.md#quantization."
)


@contextlib.contextmanager
def _native_stderr_captured():
    """The converters (MLIR, OpenVINO) log from C++ straight to file descriptor 2: what
    they write goes to a temporary file, so a refused export reads as one line."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _reason(e: Exception) -> str:
    """The informative line of a converter's error (OpenVINO lists the operations it could
    not convert after a line of its own source location)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    ops = [line.lstrip("- ") for line in lines if "No conversion rule" in line]
    errors = [line.rsplit("error: ", 1)[1] for line in lines if "error: " in line]  # MLIR's
    errors = [text for text in errors if not text.startswith("loc(")]
    return ([*ops, *errors, *lines, type(e).__name__][0])[:200]


def _litert_int8() -> dict[str, Any]:
    import tensorflow as tf

    return {"optimizations": [tf.lite.Optimize.DEFAULT]}


def _require_converter(fmt: str) -> None:
    import importlib

    if fmt not in CONVERTER:
        return
    module, name = CONVERTER[fmt]
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingRuntimeError(
            f"{name} is not installed, so Keras cannot write a {fmt} artifact.", runtimes.EXTRA
        ) from None


def _compare(
    src: Source,
    exported,
    runner,
    x,
    batch_size: int,
    repeats: int,
    result: ExportResult,
    stage: Callable[[int], None] = lambda n: None,
) -> ExportResult:
    """Fills `result` with outputs, metrics, sizes and interleaved timings of both."""
    stage(4)
    names = [t.name for t in exported.inputs]
    calls = {"keras": verify.keras_call(exported), "artifact": verify.runner_call(runner, names)}
    eval_batch = src.task.eval_batch_size or batch_size
    outputs = {k: verify.predict(call, x, eval_batch) for k, call in calls.items()}
    result.parity = verify.parity(outputs["keras"], outputs["artifact"], result.quantize)
    if result.quantize and result.quantize_report is None:  # LiteRT's converter quantized
        result.parity.tolerance = None
    y = src.data.y_test
    result.metrics = {
        k: verify.task_metrics(src.task, y, o, eval_batch) for k, o in outputs.items()
    }
    result.size_bytes = {
        "keras": verify.keras_bytes(exported),
        "artifact": verify.artifact_bytes(Path(result.artifact)),
    }
    result.weight_bytes = runtimes.weight_dtypes(result.artifact, result.format)
    stage(5)
    result.timing = verify.interleaved_timing(calls, x, batch_size, repeats)
    result.speedup = verify.speedup(result.timing["keras"], result.timing["artifact"])
    return result
