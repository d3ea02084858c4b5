"""zoo export: artifacts checked in their own runtimes (parity, metric, contract), the
one-line errors (unsupported pair, missing runtime, parity failure), quantization."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

runner = CliRunner()


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


needs_onnx = pytest.mark.skipif(
    not (_installed("onnxruntime") and _installed("tf2onnx")),
    reason="ONNX Runtime and tf2onnx are not installed (pip install 'keras-zoo[export]')",
)
needs_litert = pytest.mark.skipif(
    not _installed("ai_edge_litert"), reason="ai-edge-litert is not installed"
)


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    import zoo

    out = tmp_path_factory.mktemp("linear_run")
    zoo.train("linear_regression", epochs=2, samples=256, output=out)
    return out


@pytest.fixture(scope="module")
def small_mlp_run(tmp_path_factory):
    import zoo

    out = tmp_path_factory.mktemp("small_mlp_run")
    zoo.train("mlp", epochs=1, samples=256, output=out, model_kwargs={"hidden_units": 32})
    return out


def _export(src, fmt, tmp_path, suffix, **kwargs):
    from zoo import deploy

    return deploy.export(src, fmt, output=tmp_path / f"model{suffix}", repeats=5, **kwargs)


@pytest.mark.parametrize(
    "fmt,suffix",
    [("saved_model", ""), pytest.param("onnx", ".onnx", marks=needs_onnx)],
)
@pytest.mark.parametrize("run", ["linear_run", "small_mlp_run"])
def test_the_artifact_gives_the_keras_models_outputs_in_its_own_runtime(
    fmt, suffix, run, request, tmp_path
):
    result = _export(request.getfixturevalue(run), fmt, tmp_path, suffix)
    assert result.parity.failing == [] and result.parity.tolerance == 2**10 * 2.0**-23
    assert 0 <= max(result.parity.max_abs_diff) <= 1e-4  # float32 arithmetic, reordered
    keras_metrics, artifact_metrics = result.metrics["keras"], result.metrics["artifact"]
    assert keras_metrics.keys() == artifact_metrics.keys()
    for name, value in keras_metrics.items():
        assert artifact_metrics[name] == pytest.approx(value, rel=1e-4)
    assert result.size_bytes["artifact"] > 0 and result.timing["artifact"].p50_ms > 0
    # reloaded on its own, the artifact answers like the Keras model of the run
    from zoo import deploy
    from zoo.training import load_run

    net, _ = load_run(request.getfixturevalue(run))
    x = np.random.default_rng(1).random((3, *net.inputs[0].shape[1:])).astype("float32")
    artifact = deploy.load_artifact(tmp_path / f"model{suffix}")
    got = artifact({net.inputs[0].name: x})[0]
    np.testing.assert_allclose(got, np.asarray(net(x)), atol=1e-4 * max(1, np.abs(got).max()))


def test_the_contract_is_written_beside_the_artifact_and_printed(small_mlp_run, tmp_path):
    out = tmp_path / "mlp_sm"
    result = runner.invoke(
        app,
        [
            "export",
            str(small_mlp_run),
            "--format",
            "saved_model",
            "--output",
            str(out),
            "--include-preprocessing",
        ],
    )
    assert result.exit_code == 0, result.output
    contract = json.loads((tmp_path / "mlp_sm.contract.json").read_text())
    assert contract["preprocessing_included"] is True
    (spec,) = contract["inputs"]
    assert spec["dtype"] == "uint8" and spec["range"] == [0, 255]
    assert spec["shape"][1:] == [28, 28, 1]
    assert "Input contract" in result.output and "uint8" in result.output
    assert "synthetic" in result.output  # the note: synthetic images are clipped to pixels


def test_the_preprocessing_wrapper_scales_pixels_as_the_pipeline_does():
    import zoo
    from zoo.deploy import contract

    net = zoo.create_model("mlp", hidden_units=8)
    pixels = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype("uint8")
    wrapped = contract.with_preprocessing(net)
    assert wrapped.inputs[0].dtype == "uint8"
    np.testing.assert_allclose(
        np.asarray(wrapped(pixels)), np.asarray(net(pixels / np.float32(255))), atol=1e-6
    )
    np.testing.assert_array_equal(contract.to_pixels(pixels / np.float32(255)), pixels)


@needs_litert
def test_an_unsupported_pair_is_one_line_naming_what_is_supported(tmp_path):
    result = runner.invoke(
        app,
        ["export", "lstm_classifier", "--format", "litert", "--output", str(tmp_path / "m.tflite")],
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "saved_model or onnx" in result.output


def test_a_wrong_suffix_is_a_usage_error(linear_run):
    args = ["export", str(linear_run), "--format", "onnx", "--output", "m.tflite"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Pass a path ending in .onnx" in result.output


@pytest.fixture
def without(monkeypatch):
    """Makes importing the named modules fail, as if they were not installed (a None in
    sys.modules makes `import` and importlib raise ImportError)."""

    def hide(*names):
        for name in list(sys.modules):
            if name.split(".")[0] in names:
                monkeypatch.delitem(sys.modules, name)
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)

    return hide


def test_a_missing_runtime_is_one_line_naming_the_extra(without, linear_run, tmp_path):
    without("onnxruntime", "tf2onnx")
    result = runner.invoke(
        app, ["export", str(linear_run), "--format", "onnx", "--output", str(tmp_path / "m.onnx")]
    )
    assert result.exit_code == 1
    assert "pip install 'keras-zoo[export]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_missing_runtime_of_an_artifact(without, tmp_path):
    from zoo.deploy import runtimes
    from zoo.errors import MissingRuntimeError

    without("onnxruntime")
    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(MissingRuntimeError, match=r"ONNX Runtime is not installed.*\[export\]"):
        runtimes.load(tmp_path / "m.onnx")


@needs_onnx
def test_outputs_beyond_tolerance_exit_1_naming_them(linear_run, tmp_path, monkeypatch):
    from zoo.deploy import runtimes

    real = runtimes.OnnxRunner.__call__
    monkeypatch.setattr(
        runtimes.OnnxRunner, "__call__", lambda self, feeds: [o + 1e-2 for o in real(self, feeds)]
    )
    result = runner.invoke(
        app, ["export", str(linear_run), "--format", "onnx", "--output", str(tmp_path / "m.onnx")]
    )
    assert result.exit_code == 1
    assert "output_0 differ from the Keras model's by up to 0.01" in result.output


def test_evaluate_quantize_int8_compares_with_float32(small_mlp_run):
    result = runner.invoke(app, ["evaluate", str(small_mlp_run), "--quantize", "int8", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["mode"] == "int8" and set(record["metrics"]) == {"float32", "int8"}
    assert record["report"]["quantized"] == ["dense_1 (Dense)", "dense_2 (Dense)", "logits (Dense)"]
    # int8 kernels: a quarter of the float32 bytes, plus one float32 scale per unit
    assert record["report"]["weight_bytes_quantized"] < 0.3 * record["report"]["weight_bytes_float"]
    assert record["size_bytes"]["int8"] < record["size_bytes"]["float32"]
    assert 0 < record["max_abs_diff"] < 1.0
    accuracy = {mode: m["accuracy"] for mode, m in record["metrics"].items()}
    assert abs(accuracy["int8"] - accuracy["float32"]) < 0.1
    # the speed of int8 over float32, from the interleaved turns, with its interval
    for key, turns in (("latency", 50), ("throughput", 10)):
        s = record["speedup"][key]
        assert s["repeats"] == turns and s["low"] <= s["ratio"] <= s["high"]
        assert s["verdict"] in ("faster", "slower", "no difference detected")
    shown = runner.invoke(app, ["evaluate", str(small_mlp_run), "--quantize", "int8"])
    assert shown.exit_code == 0, shown.output
    assert "Speed of int8 over float32 (95% interval, 50 and 10 interleaved turns)" in " ".join(
        shown.output.split()
    )


def test_a_model_without_quantizable_layers_is_refused():
    import keras

    from zoo.deploy import quantize_model
    from zoo.errors import UnsupportedExportError

    inputs = keras.Input((8, 8, 1))
    net = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs), name="convs")
    with pytest.raises(UnsupportedExportError, match=r"no layer Keras quantizes to int8.*Conv2D"):
        quantize_model(net, "int8")


@needs_onnx
def test_inference_profile_of_a_model_and_of_an_artifact(linear_run, tmp_path):
    from zoo import deploy
    from zoo.training import load_run

    net, _ = load_run(linear_run)
    _export(linear_run, "onnx", tmp_path, ".onnx")
    for target in (net, tmp_path / "model.onnx"):
        rows = deploy.inference_profile(target, batch_sizes=(1, 4), repeats=3)
        assert [r["batch_size"] for r in rows] == [1, 4]
        assert all(r["p99_ms"] >= r["p50_ms"] > 0 and r["samples_per_s"] > 0 for r in rows)


def test_export_says_each_stage_and_a_terminal_sees_them_live(linear_run, tmp_path, monkeypatch):
    import io

    from rich.console import Console
    from zoo.cli import render

    from zoo.deploy.export import STAGES

    heard = []
    _export(linear_run, "saved_model", tmp_path, "", on_stage=lambda *s: heard.append(s))
    assert heard == [(n, 5, what) for n, what in enumerate(STAGES, 1)]
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, color_system=None, width=150)
    monkeypatch.setattr(render, "err", terminal)
    out = tmp_path / "again"
    result = runner.invoke(
        app, ["export", str(linear_run), "--format", "saved_model", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "zoo export saved_model: timing both, interleaved" in screen.getvalue()
    assert "left about" not in result.output  # the table on stdout stays clean
