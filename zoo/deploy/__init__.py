"""From a zoo model to a deployable artifact, verified in its own runtime.

    export.py      `export`: write with Keras' `model.export`, load back, compare
    source.py      what an export starts from: a run, a .keras file or a registry name
    contract.py    the input contract (shape, dtype, scaling) and the preprocessing wrapper
    runtimes.py    TensorFlow SavedModel, ONNX Runtime, LiteRT, OpenVINO Runtime runners
    quantize.py    `quantize_model` (Keras' model.quantize on a copy), `evaluate_quantized`
    verify.py      parity tolerances, task metrics, interleaved latency and throughput
    inference.py   `inference_profile`, `compare_profiles`: latency and throughput per batch
                   size (several targets timed interleaved)

Nothing heavy is imported here: Keras and the runtimes load inside the functions.
"""

from __future__ import annotations

from zoo.deploy.export import ExportResult, export, write_artifact
from zoo.deploy.inference import compare_profiles, inference_profile
from zoo.deploy.quantize import (
    QuantizedEvaluation,
    QuantizeReport,
    evaluate_quantized,
    quantize_model,
)
from zoo.deploy.runtimes import load as load_artifact

__all__ = [
    "ExportResult",
    "QuantizeReport",
    "QuantizedEvaluation",
    "compare_profiles",
    "evaluate_quantized",
    "export",
    "inference_profile",
    "load_artifact",
    "quantize_model",
    "write_artifact",
]
