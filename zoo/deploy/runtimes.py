"""Loading an exported artifact in its own runtime and running it on NumPy inputs:
TensorFlow's SavedModel serving signature, ONNX Runtime, the LiteRT interpreter and
OpenVINO Runtime. None of them is Keras: what runs here is what a server would run.

Every runner is called with a dict of NumPy arrays keyed by the model's input names and
returns the list of output arrays in the Keras model's order.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import MissingRuntimeError, UnsupportedExportError

EXTRA = "pip install 'keras-zoo[export]'"
# The module each format's runtime lives in, and its name for a user.
RUNTIME_MODULES = {
    "saved_model": ("tensorflow", "TensorFlow"),
    "onnx": ("onnxruntime", "ONNX Runtime"),
    "litert": ("ai_edge_litert.interpreter", "the LiteRT interpreter (ai-edge-litert)"),
    "openvino": ("openvino", "OpenVINO Runtime"),
}


def require(fmt: str):
    """The runtime module of `fmt`.

    Raises:
        MissingRuntimeError: it is not installed (one line naming the extra).
    """
    module, name = RUNTIME_MODULES[fmt]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingRuntimeError(
            f"{name} is not installed, so a {fmt} artifact cannot be loaded and checked.", EXTRA
        ) from None


class Runner:
    """An artifact loaded in its runtime; `runner(feeds)` -> list of outputs."""

    format = ""

    def __init__(self, path: Path, num_outputs: int):
        self.path = Path(path)
        self.num_outputs = num_outputs

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError  # each format's subclass runs its runtime


class SavedModelRunner(Runner):
    format = "saved_model"

    def __init__(self, path: Path, num_outputs: int):
        super().__init__(path, num_outputs)
        tf = require("saved_model")
        self._loaded = tf.saved_model.load(str(path))  # kept: the signature needs it alive
        self._fn = self._loaded.signatures["serving_default"]
        self._tf = tf

    def __call__(self, feeds):
        out = self._fn(**{k: self._tf.constant(v) for k, v in feeds.items()})
        return [out[f"output_{i}"].numpy() for i in range(self.num_outputs)]


class OnnxRunner(Runner):
    format = "onnx"

    def __init__(self, path: Path, num_outputs: int):
        super().__init__(path, num_outputs)
        ort = require("onnx")
        try:
            self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own pybind types
            raise UnsupportedExportError(_cannot_load("ONNX Runtime", e), EXPORT_HINT) from None

    def __call__(self, feeds):
        return self._session.run(None, feeds)[: self.num_outputs]


class LiteRTRunner(Runner):
    format = "litert"

    def __init__(self, path: Path, num_outputs: int):
        super().__init__(path, num_outputs)
        litert = require("litert")
        self._interpreter = litert.Interpreter(model_path=str(path))
        self._runner = self._interpreter.get_signature_runner()
        self._outputs = self._interpreter.get_signature_list()["serving_default"]["outputs"]

    def __call__(self, feeds):
        try:
            out = self._runner(**feeds)  # resizes the inputs to the batch it is given
        except RuntimeError as e:
            raise UnsupportedExportError(_litert_reason(e), SUPPORTED_HINT["litert"]) from None
        return [out[name] for name in self._outputs[: self.num_outputs]]


class OpenVINORunner(Runner):
    format = "openvino"

    def __init__(self, path: Path, num_outputs: int):
        super().__init__(path, num_outputs)
        ov = require("openvino")
        try:
            self._compiled = ov.Core().compile_model(str(path), "CPU", OPENVINO_CONFIG)
        except Exception as e:  # OpenVINO raises its own types
            raise UnsupportedExportError(_cannot_load("OpenVINO Runtime", e), EXPORT_HINT) from None
        self._request = self._compiled.create_infer_request()

    def __call__(self, feeds):
        result = self._request.infer(feeds)
        return [np.array(result[self._compiled.outputs[i]]) for i in range(self.num_outputs)]


# OpenVINO's CPU plugin runs a float32 model in bfloat16 where the CPU has bf16 units
# (AVX512_BF16, AMX): the artifact is float32, so it is run and checked in float32.
OPENVINO_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}

RUNNERS = {r.format: r for r in (SavedModelRunner, OnnxRunner, LiteRTRunner, OpenVINORunner)}

SUPPORTED_HINT = {
    "litert": "LiteRT runs the image, MLP, Transformer, linear and recommender models; "
    "export an RNN or a video model as saved_model or onnx.",
    "openvino": "OpenVINO runs the image, MLP, Transformer, linear and recommender models; "
    "export an RNN as saved_model or onnx.",
}


EXPORT_HINT = "See docs/export.md#what-exports-where."


def _cannot_load(runtime: str, e: Exception) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{runtime} cannot load the artifact: {(lines[0] if lines else type(e).__name__)[:200]}"


def _litert_reason(e: Exception) -> str:
    text = str(e)
    if "Select TensorFlow op" in text or "Flex" in text:
        import re

        ops = sorted(set(re.findall(r"Flex(\w+)", text)) - {"Delegate"})
        which = ", ".join(ops) if ops else "an RNN's loop, a 3D convolution"
        return (
            f"The LiteRT artifact needs TensorFlow's Flex ops ({which}), which the "
            "standalone LiteRT interpreter does not run."
        )
    return f"The LiteRT interpreter cannot run this artifact: {text.splitlines()[0][:200]}"


def format_of(path: str | Path) -> str:
    """The artifact format a path names: a SavedModel folder, .onnx, .tflite or .xml.

    Raises:
        UnsupportedExportError: none of these.
    """
    path = Path(path)
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return "saved_model"
    by_suffix = {".onnx": "onnx", ".tflite": "litert", ".xml": "openvino"}
    if path.suffix in by_suffix:
        return by_suffix[path.suffix]
    raise UnsupportedExportError(
        f"{path} is not an exported artifact the zoo reads.",
        "Pass a SavedModel folder, a .onnx, a .tflite or an OpenVINO .xml file.",
    )


def load(path: str | Path, fmt: str | None = None, num_outputs: int = 1) -> Runner:
    """The artifact at `path` loaded in its own runtime.

    Raises:
        MissingRuntimeError: the runtime is not installed.
        UnsupportedExportError: the path is not an artifact.
    """
    fmt = fmt or format_of(path)
    return RUNNERS[fmt](Path(path), num_outputs)


def input_specs(runner: Runner) -> list[dict[str, Any]]:
    """The inputs an artifact takes: name, shape (None for a free size) and NumPy dtype."""
    if isinstance(runner, OnnxRunner):
        types = {
            "tensor(float)": "float32",
            "tensor(int32)": "int32",
            "tensor(uint8)": "uint8",
            "tensor(int64)": "int64",
        }
        return [
            {
                "name": i.name,
                "shape": [d if isinstance(d, int) else None for d in i.shape],
                "dtype": types.get(i.type, "float32"),
            }
            for i in runner._session.get_inputs()
        ]
    if isinstance(runner, LiteRTRunner):
        details = runner._runner.get_input_details()
        return [
            {
                "name": k,
                "shape": [None if d < 0 else int(d) for d in v["shape_signature"]],
                "dtype": np.dtype(v["dtype"]).name,
            }
            for k, v in details.items()
        ]
    if isinstance(runner, OpenVINORunner):
        return [
            {
                "name": i.get_any_name(),
                "shape": [d.get_length() if d.is_static else None for d in i.get_partial_shape()],
                "dtype": i.get_element_type().to_dtype().name,
            }
            for i in runner._compiled.inputs
        ]
    spec = runner._fn.structured_input_signature[1]
    return [{"name": k, "shape": list(v.shape), "dtype": v.dtype.name} for k, v in spec.items()]


def weight_dtypes(path: str | Path, fmt: str | None = None) -> dict[str, int]:
    """Bytes of the artifact's stored weights by dtype, read from the artifact itself
    (ONNX initializers, LiteRT constant tensors, OpenVINO constants, SavedModel
    variables): whether int8 weights survived the export."""
    fmt = fmt or format_of(path)
    counts: dict[str, int] = {}
    for dtype, nbytes in _WEIGHT_READERS[fmt](Path(path)):
        counts[dtype] = counts.get(dtype, 0) + int(nbytes)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _onnx_weights(path: Path):
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(path)).graph.initializer:
        array = numpy_helper.to_array(init)
        yield array.dtype.name, array.nbytes


def _litert_weights(path: Path):
    litert = require("litert")
    interpreter = litert.Interpreter(model_path=str(path))
    for t in interpreter.get_tensor_details():
        if t["index"] in _constant_indices(interpreter):
            dtype = np.dtype(t["dtype"])
            yield dtype.name, int(np.prod(t["shape"])) * dtype.itemsize


def _constant_indices(interpreter) -> set[int]:
    """Tensors that hold data before any call: the weights (inputs and activations don't)."""
    found = set()
    for t in interpreter.get_tensor_details():
        try:
            interpreter.get_tensor(t["index"])
            found.add(t["index"])
        except ValueError:  # unallocated: an activation
            pass
    return found


def _openvino_weights(path: Path):
    ov = require("openvino")
    for op in ov.Core().read_model(str(path)).get_ordered_ops():
        if op.get_type_name() == "Constant":
            dtype = op.get_element_type().to_dtype()
            yield dtype.name, int(np.prod(list(op.get_output_shape(0)))) * dtype.itemsize


def _saved_model_weights(path: Path):
    tf = require("saved_model")
    reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
    shapes = reader.get_variable_to_shape_map()
    for name, dtype in reader.get_variable_to_dtype_map().items():
        if name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"):
            continue
        yield dtype.name, int(np.prod(shapes[name])) * dtype.size


_WEIGHT_READERS = {
    "onnx": _onnx_weights,
    "litert": _litert_weights,
    "openvino": _openvino_weights,
    "saved_model": _saved_model_weights,
}
