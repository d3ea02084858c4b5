"""FLOP counting, profiling and the device peak."""

from __future__ import annotations

import json
import platform
import sys

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo import io
from zoo.errors import DeviceError, InvalidArgumentError
from zoo.perf import flops, peak
from zoo.perf import profile as profiling

runner = CliRunner()


def _tf_profiler_flops(model) -> int:
    """Forward FLOPs of batch 1 as TensorFlow's graph profiler counts them."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2_as_graph,
    )

    @tf.autograph.experimental.do_not_convert
    def forward(x):
        return model(x, training=False)

    spec = tf.TensorSpec([1, *model.inputs[0].shape[1:]], model.inputs[0].dtype)
    frozen, _ = convert_variables_to_constants_v2_as_graph(
        tf.function(forward).get_concrete_function(spec)
    )
    options = (
        tf.compat.v1.profiler.ProfileOptionBuilder(
            tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        )
        .with_empty_output()
        .build()
    )
    return tf.compat.v1.profiler.profile(
        graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options
    ).total_float_ops


@pytest.mark.parametrize(
    "name",
    [
        "mlp",
        "seed_cnn",
        "keras_convnet",
        "resnet20",
        "kws_cnn",
        "mobilenet_v2",
        "unet",
        "conv2plus1d_video",
        "segformer_b0",
    ],  # fmt: skip
)
def test_flop_counter_agrees_with_tensorflows_profiler(name):
    model = zoo.create_model(name, **zoo.get_spec(name).small)
    ours, theirs = flops.count(model)["forward"], _tf_profiler_flops(model)
    assert abs(ours - theirs) / theirs < 0.10, (ours, theirs)


def test_convlstm_flops_by_hand():
    # TensorFlow's profiler counts no step of a while loop, so ConvLSTM2D is checked here:
    # 8 frames x (the per-frame 3x3 conv 1 -> 4 channels, and the ConvLSTM's input and
    # recurrent 3x3 convs, 4 + 4 channels into 4 gates of 4) on 16x16, pooling, the head.
    model = zoo.create_model("convlstm_video", filters=4)
    frame_conv = 8 * 2 * 9 * 1 * 4 * 256
    conv_lstm = 8 * 2 * 9 * (4 + 4) * 4 * 4 * 256
    assert flops.count(model)["forward"] == frame_conv + conv_lstm + 16 * 16 * 4 + 2 * 4 * 4


def test_flops_by_hand():
    # seed_cnn: 2 * (28*28*32*9 + 28*28*64*32*9 + 12544*128 + 128*10) multiply-adds, plus
    # the ReLUs and the pool (one op per element they read or write).
    c = flops.count(zoo.create_model("seed_cnn"))
    assert c["by_layer"]["conv2"] == 2 * 28 * 28 * 64 * 32 * 9
    assert c["by_layer"]["fc1"] == 2 * 12544 * 128
    assert c["train"] == 3 * c["forward"] and not c["uncounted"]
    lstm = flops.count(zoo.create_model("lstm_classifier"))
    assert lstm["by_layer"]["lstm"] == 64 * 4 * 2 * (64 + 64) * 64
    assert lstm["by_layer"]["embedding"] == 0
    gpt = flops.count(zoo.create_model("gpt_tiny", num_layers=1))
    t, d, h = 64, 64, 4
    attn = gpt["by_layer"]["block_1_self_attention"]
    assert attn == 2 * 4 * t * d * d + 2 * 2 * t * t * d + 3 * t * t * h
    tower = flops.count(zoo.create_model("two_tower"), batch_size=256)
    assert tower["by_layer"]["scores"] == 2 * 16 * 256


def test_every_zoo_layer_is_counted():
    for name in zoo.list_models():
        model = zoo.create_model(name, **zoo.get_spec(name).small)
        assert flops.count(model)["uncounted"] == [], name


def test_profile_reports_what_ran():
    r = profiling.profile("mlp", batch_size=32, mode="graph", steps=5, peak_flops=1e12)
    d = r.to_dict()
    assert d["model"] == "mlp" and d["backend"] == "tensorflow" and d["device"] == "cpu"
    assert d["train"]["step_ms_p10"] <= d["train"]["step_ms_median"] <= d["train"]["step_ms_p90"]
    assert d["train"]["samples_per_s"] == pytest.approx(32e3 / d["train"]["step_ms_median"])
    assert d["infer"]["p50_ms"] <= d["infer"]["p99_ms"] and d["compile_s"] > 0
    assert d["mfu"] == pytest.approx(d["train_flops_per_s"] / 1e12)
    assert d["peak_memory_mb"] > 0 and d["resolved"]["jit_compile"] is False
    assert d["flops"]["train_per_sample"] == 3 * d["flops"]["forward_per_sample"]


@pytest.mark.parametrize("mode", ["graph", "fit"])
def test_serve_times_windows_on_the_warm_model_before_inference(mode, monkeypatch):
    """`serve` gets the window function and the median step once the training clock has
    run: each window times more steps of the same compiled step (no new trace: the train
    step's Python body runs only while tracing)."""
    traces, seen = [], []
    original = profiling._builder

    def builder(run, sample):
        build = original(run, sample)

        def counted(*args):
            model = build(*args)
            step = model.train_step
            model.train_step = lambda data: traces.append(1) or step(data)
            return model

        return counted

    def serve(window, step_s):
        before = len(traces)
        seen.extend([step_s, window(3), window(1)])
        assert before == 1 and len(traces) == before  # built first, traced once

    monkeypatch.setattr(profiling, "_builder", builder)
    r = profiling.profile("mlp", batch_size=16, mode=mode, steps=2, peak_flops=1e12, serve=serve)
    assert len(seen) == 3 and all(t > 0 for t in seen)
    assert seen[0] == pytest.approx(r.train["step_ms_median"] / 1e3)


def test_a_profile_carries_the_manifest_of_the_settings_in_force():
    import tensorflow as tf

    from zoo.runtime.device import set_matmul_precision

    m = profiling.profile("mlp", batch_size=16, steps=2, peak_flops=1e12).manifest
    assert m["threads"]["intra_op"] == tf.config.threading.get_intra_op_parallelism_threads()
    assert m["threads"]["inter_op"] == tf.config.threading.get_inter_op_parallelism_threads()
    assert m["matmul_precision"] == "default" and m["tf32"] == {"matmul": True, "conv": True}
    assert (m["warmup_steps"], m["timed_steps"], m["batch_size"]) == (3, 2, 16)
    assert m["data_placement"] == "memory" and m["xla"] is False
    set_matmul_precision("highest")
    try:
        m = profiling.profile("mlp", batch_size=16, steps=2, peak_flops=1e12).manifest
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(True)
    assert m["matmul_precision"] == "highest" and m["tf32"] == {"matmul": False, "conv": False}


def test_profile_xla_and_mixed_precision_are_resolved_and_restored():
    import keras

    r = profiling.profile("linear_regression", mode="xla", precision="mixed_bfloat16", steps=3)
    assert r.resolved["jit_compile"] is True and r.resolved["dtype_policy"] == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "turbo"}, "Allowed: eager, graph, xla"),
        ({"precision": "int8"}, "Allowed: float32"),
        ({"steps": 0}, "steps=0"),
    ],
)
def test_profile_bad_settings(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        profiling.profile("mlp", **kwargs)


def test_asking_for_a_missing_gpu_is_an_error():
    with pytest.raises(DeviceError, match="sees 0 GPU"):
        profiling.profile("mlp", device="gpu", steps=1)


CPUINFO = """processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC
stepping	: 1
flags		: fpu sse4_2 avx avx2 fma {extra}
"""
DEFAULT = {"matmul_precision": "default", "tf32": {"matmul": True, "conv": True}}
HIGHEST = {"matmul_precision": "highest", "tf32": {"matmul": False, "conv": False}}


def test_the_peak_key_is_the_cpu_its_flags_the_dtype_and_the_matmul_precision():
    def key(extra="avx512f avx512_bf16", dtype="float32", matmul=DEFAULT):
        return peak.peak_key("cpu", dtype, matmul, cpuinfo=CPUINFO.format(extra=extra))

    # Two "AMD EPYC"s, with and without AVX-512: not one peak.
    assert key() != key(extra="") and "avx512_bf16" in key() and "avx512f" not in key(extra="")
    assert key(dtype="bfloat16") != key()
    assert key(matmul=HIGHEST) != key()  # a TF32 peak is never the denominator of float32
    assert platform.node() not in key().split("|")  # never the host name
    assert key() == key()


def test_the_peak_is_measured_once_per_key_and_used_for_mfu(tmp_path, monkeypatch):
    from zoo.runtime import device

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert peak.cached_peak_flops("cpu", "float32") is None
    r = peak.measure_peak("cpu", "float32", size=256, repeats=2)
    assert r["matmul_flops_per_s"] > 0 and r["copy_bytes_per_s"] > 0 and r["measure_s"] > 0
    assert r["fingerprint"]["cpu_flags"] == io.cpu_info()["flags"]
    assert peak.cached_peak_flops("cpu", "float32") == r["matmul_flops_per_s"]
    assert peak.device_peak("cpu", "float32") == {**r, "measurements": 1, "cached": True}
    assert peak.cached_peak_flops("cpu", "mixed_bfloat16") is None
    # A busy moment cannot lower the cached peak: the highest measurement stays.
    io.write_cache(peak.PEAK_CACHE, r["key"], {**r, "matmul_flops_per_s": 1e15})
    lower = peak.measure_peak("cpu", "float32", size=128, repeats=1)
    assert lower["kept"]["matmul_flops_per_s"] == 1e15 == peak.cached_peak_flops("cpu", "float32")
    kept = peak.cached_peak("cpu", "float32")
    assert kept["measurements"] == 2
    assert kept["copy_bytes_per_s"] == max(r["copy_bytes_per_s"], lower["copy_bytes_per_s"])
    # Under another matmul precision (a bench worker pinning "highest"), not the same peak.
    monkeypatch.setattr(device, "matmul_settings", lambda backend=None: HIGHEST)
    assert peak.cached_peak("cpu", "float32") is None


def test_a_profile_without_a_cached_peak_measures_it_after_the_step(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    asked = []
    measure = peak.measure_peak
    monkeypatch.setattr(
        peak, "measure_peak", lambda d, t: asked.append(t) or measure(d, t, size=128, repeats=1)
    )
    r = profiling.profile("linear_regression", steps=2, warmup=0)
    assert asked == ["float32"] and r.peak["cached"] is False and r.mfu is not None
    assert r.mfu == pytest.approx(r.train_flops_per_s / r.peak["matmul_flops_per_s"])
    again = profiling.profile("linear_regression", steps=2, warmup=0)
    assert asked == ["float32"] and again.peak["cached"] is True


def test_profile_and_peak_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runner = CliRunner()
    out = tmp_path / "peaks" / "peak.jsonl"
    r = runner.invoke(app, ["peak", "--size", "256", "--json", "--output", str(out)])
    assert r.exit_code == 0, r.output
    default = json.loads(r.stdout)
    assert default["dtype"] == "float32" and default["matmul"]["matmul_precision"] == "default"
    (kept,) = [json.loads(line) for line in out.read_text().splitlines()]  # stamped
    assert kept["kind"] == "peak" and kept["provenance"]["machine"]["cpu_flags"]
    assert kept["matmul_flops_per_s"] == default["matmul_flops_per_s"]
    r = runner.invoke(app, ["profile", "linear_regression", "--steps", "3", "--jit-compile"])
    assert r.exit_code == 0, r.output
    assert "XLA really ran" in r.output and "MFU" in r.output and "%" in r.output
    assert "cached)" in r.output  # the peak `zoo peak` measured
    try:
        r = runner.invoke(app, ["peak", "--size", "256", "--matmul-precision", "highest"])
    finally:
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(True)
    assert r.exit_code == 0, r.output
    assert "precision highest, TF32 off" in r.output and "machine" in r.output
    assert len(io.read_cache(peak.PEAK_CACHE)) == 2  # one peak per matmul precision
    r = runner.invoke(app, ["profile", "mlp", "--device", "gpu"])
    assert r.exit_code == 1 and "sees 0 GPU" in r.output and "Traceback" not in r.output


def test_profile_quantize_gives_both_sides_and_the_quantized_layers():
    result = runner.invoke(
        app,
        ["profile", "mlp", "--quantize", "int8", "--steps", "2", "--batch-size", "16"]
        + ["-p", "hidden_units=16", "--batch-sizes", "1,4", "--json"],
    )
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert [row["batch_size"] for row in r["rows"]["float32"]] == [1, 4]
    assert [row["batch_size"] for row in r["rows"]["int8"]] == [1, 4]
    assert all(row["samples_per_s"] > 0 for side in r["rows"].values() for row in side)
    assert r["quantized"] == ["dense_1 (Dense)", "dense_2 (Dense)", "logits (Dense)"]
    assert r["weight_bytes"]["int8"] < r["weight_bytes"]["float32"]
    assert r["train"]["samples_per_s"] > 0 and "inference-only" in r["notes"][0]


def test_profile_quantize_table_says_training_is_float32_only():
    result = runner.invoke(
        app, ["profile", "mlp", "--quantize", "int8", "--steps", "2", "-p", "hidden_units=16"]
    )
    assert result.exit_code == 0, result.output
    assert "int8: not timed" in result.stdout and "Quantized to int8: dense_1" in result.stdout
    assert "int8 samples/s" in result.stdout


@pytest.mark.parametrize("fmt", [None, "onnx"])
def test_profile_inference_per_batch_size(fmt, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("tf2onnx")
    args = ["profile", "mlp", "--inference", "--batch-sizes", "1,4", "-p", "hidden_units=16"]
    result = runner.invoke(app, args + (["--format", fmt] if fmt else []) + ["--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert list(r["rows"]) == ["keras"] + ([fmt] if fmt else [])
    for side in r["rows"].values():
        assert [row["batch_size"] for row in side] == [1, 4]
        assert all(row["p99_ms"] >= row["p50_ms"] > 0 for row in side)
    assert (r["artifact_bytes"] or 0) > 0 if fmt else r["artifact_bytes"] is None


@pytest.mark.parametrize(
    "args, match",
    [
        (["--inference", "--batch-sizes", "1,x"], "--batch-sizes takes positive integers"),
        (["--inference", "--batch-sizes", "0"], "--batch-sizes takes positive integers"),
        (["--quantize", "int8", "--format", "onnx"], "do not go together"),
        (["--inference", "--precision", "mixed_bfloat16"], "profile the float32 model"),
    ],
)
def test_bad_inference_options_are_one_line_exit_2(args, match):
    result = runner.invoke(app, ["profile", "mlp", *args])
    assert result.exit_code == 2
    assert match in result.output and len(result.output.strip().splitlines()) == 1


def test_profile_inference_without_the_converter_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # importing it raises ImportError
    args = ["profile", "mlp", "--inference", "--batch-sizes", "1", "-p", "hidden_units=8"]
    result = runner.invoke(app, [*args, "--format", "onnx"])
    assert result.exit_code == 1
    assert "pip install 'keras-zoo[export]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_cached_peak_below_what_a_step_reached_is_measured_again(tmp_path, monkeypatch):
    # A peak measured at a busy moment read half the CPU's matmul rate, and MFU read 109%:
    # a step faster than the cached peak proves it low, so it is measured again.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = peak.measure_peak("cpu", "float32", size=128, repeats=1)
    low = {**first, "matmul_flops_per_s": 1.0, "load_average": 1.5}
    io.write_cache(peak.PEAK_CACHE, first["key"], low)
    assert peak.device_peak("cpu", "float32", at_least=0.5)["cached"] is True  # not beaten
    measured = []
    monkeypatch.setattr(
        peak, "measure_peak", lambda d, t: measured.append(t) or peak._remember(first) or first
    )
    again = peak.device_peak("cpu", "float32", at_least=10.0)
    assert measured == ["float32"] and again["cached"] is False
    assert again["remeasured"]["matmul_flops_per_s"] == 1.0
    assert again["remeasured"]["load_average"] == 1.5 and "below_achieved" not in again
    # a step that still beats the new measurement is flagged, its MFU over 1 shown
    beaten = peak.device_peak("cpu", "float32", at_least=1e30)
    assert beaten["below_achieved"] is True


def test_a_profile_remeasures_a_peak_its_step_beat(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    measure = peak.measure_peak
    monkeypatch.setattr(peak, "measure_peak", lambda d, t: measure(d, t, size=128, repeats=1))
    r = profiling.profile("linear_regression", steps=2, warmup=0)
    io.write_cache(peak.PEAK_CACHE, r.peak["key"], {**r.peak, "matmul_flops_per_s": 1.0})
    again = profiling.profile("linear_regression", steps=2, warmup=0)
    assert again.peak["remeasured"]["matmul_flops_per_s"] == 1.0
    assert again.peak["matmul_flops_per_s"] > 1.0
    assert again.mfu == pytest.approx(again.train_flops_per_s / again.peak["matmul_flops_per_s"])
