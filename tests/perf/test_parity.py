"""zoo parity: the same weights and batches on TensorFlow and JAX, compared; tolerances,
the perturbed-weight check, skipped backends, bad input, the parity suite."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo.errors import InvalidArgumentError, UnknownModelError
from zoo.perf import parity
from zoo.perf import suite as perf_suite

runner = CliRunner()

needs_jax = pytest.mark.skipif(not parity.installed("jax"), reason="JAX is not installed")
# Each runs a TensorFlow and a JAX process (20-70 s on a shared 2-core machine).
slow = pytest.mark.slow
ROW_FIELDS = {
    "forward_max_abs", "forward_max_rel", "loss_step1_abs", "loss_step1_rel", "gradients",
    "gradient_first_exceeding", "gradient_worst", "gradient_worst_abs", "gradient_worst_rel",
    "curve_rel", "curve_max_rel", "curve_final_rel", "curve_first_step", "metric",
    "samples_per_s", "verdict", "detail",
}  # fmt: skip
REPORT_FIELDS = {
    "model", "backends", "steps", "precision", "batch_size", "model_kwargs", "dropout_off",
    "optimizer", "learning_rate", "metric", "optimum", "tolerance", "equal", "rows",
}  # fmt: skip


def test_tolerances_come_from_the_dtype_eps():
    f32, bf16 = parity.tolerances("float32"), parity.tolerances("mixed_bfloat16")
    assert f32["forward"] == (1024 + 8) * 2.0**-23
    assert f32["gradient"] == (2048 + 8) * 2.0**-23
    assert f32["curve_per_step"] == 2 * f32["gradient"]
    assert bf16["forward"] == 1024 * 2.0**-23 + 8 * 2.0**-7
    assert bf16["forward"] > f32["forward"]


def test_request_turns_dropout_off_and_defaults():
    req = parity.check_request("keras_convnet", ["tensorflow"])
    assert dict(req.params)["dropout"] == 0.0 and req.dropout_off == ("dropout",)
    assert req.steps == 20 and req.batch_size == 32 and req.precision == "float32"
    small = parity.check_request("resnet50", ["tensorflow"], small=True)
    assert dict(small.params)["input_shape"] == (32, 32, 3)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"model": "no_such_model"}, UnknownModelError),
        ({"model": "mlp", "backends": ["mxnet"]}, InvalidArgumentError),
        ({"model": "mlp", "steps": 0}, InvalidArgumentError),
        ({"model": "mlp", "batch_size": -1}, InvalidArgumentError),
        ({"model": "mlp", "precision": "float8"}, InvalidArgumentError),
        ({"model": "mlp", "params": {"no_such": 1}}, InvalidArgumentError),
    ],
)
def test_bad_requests_raise_usage_errors(kwargs, error):
    with pytest.raises(error):
        parity.check_request(**kwargs)


@pytest.mark.parametrize(
    "args, says",
    [
        (["no_such_model"], "Unknown model"),
        (["mlp", "--backends", "tensorflow,mxnet"], "Unknown backend 'mxnet'"),
        (["mlp", "--steps", "0"], "steps must be a positive integer"),
        (["mlp", "--backends", "jax:cpu,jax:tpu"], "Unknown device 'tpu' in 'jax:tpu'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args, says):
    result = runner.invoke(app, ["parity", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in result.output


def test_a_backend_not_installed_is_a_skipped_row_naming_the_extra(monkeypatch):
    monkeypatch.setattr(parity, "installed", lambda b: b != "torch")
    spawned = []
    monkeypatch.setattr(parity, "_spawn", lambda b, job, t: spawned.append(b) or {"status": "x"})
    req = parity.check_request("linear_regression", ["tensorflow", "torch"], steps=2)
    report = parity.run_parity(req)
    torch_row = report["rows"][1]
    assert spawned == ["tensorflow"]
    assert torch_row["status"] == "skipped" and torch_row["verdict"] == "skipped"
    assert "pip install 'keras-zoo[torch]'" in torch_row["reason"]
    assert parity.default_backends() == ["tensorflow", "jax"]


def test_an_entry_places_its_backend_on_a_device(monkeypatch):
    spawned = []

    def run_module(module, job, timeout_s, env):
        spawned.append((job["backend"], job["file"], job["device"], env))
        return {"status": "skipped", "reason": "not run here"}

    monkeypatch.setattr(parity.proc, "run_module", run_module)
    req = parity.check_request("linear_regression", ["jax:cpu", "jax:gpu", "jax"], steps=2)
    report = parity.run_parity(req)
    assert [r["backend"] for r in report["rows"]] == ["jax:cpu", "jax:gpu", "jax"]
    (cpu, cpu_file, cpu_dev, cpu_env), (gpu, _, gpu_dev, gpu_env), (_, plain, _, plain_env) = (
        spawned
    )
    assert (cpu, cpu_file, cpu_dev) == ("jax:cpu", "jax-cpu", "cpu")
    # The CPU entry hides every GPU from its backend; the others leave the machine as it is.
    assert cpu_env["CUDA_VISIBLE_DEVICES"] == "" and cpu_env["JAX_PLATFORMS"] == "cpu"
    assert cpu_env["KERAS_BACKEND"] == gpu_env["KERAS_BACKEND"] == "jax"
    assert gpu_dev == "gpu" and "CUDA_VISIBLE_DEVICES" not in gpu_env
    assert plain == "jax" and "JAX_PLATFORMS" not in plain_env


@slow
@needs_jax
def test_a_gpu_entry_where_there_is_none_is_skipped_and_the_cpu_entry_runs_there():
    """The GPU path of `zoo parity` (jax:cpu against jax:gpu) on a machine without one."""
    result = runner.invoke(
        app,
        ["parity", "linear_regression", "--backends", "jax:cpu,jax:gpu", "--steps", "2"]
        + ["--batch-size", "8", "--json"],
    )
    assert result.exit_code == 0, result.output
    cpu, gpu = json.loads(result.output[result.output.index("{") :])["rows"]
    assert cpu["verdict"] == "reference" and cpu["env"]["device"] == "cpu"
    assert cpu["env"]["matmul_precision"] == "highest"
    assert gpu["status"] == "skipped" and "sees no GPU" in gpu["reason"]


def _run(model, steps=3, **kwargs):
    params = {"hidden_units": 16, "num_layers": 1} if model == "mlp" else {}
    req = parity.check_request(
        model, ["tensorflow", "jax"], steps=steps, batch_size=8, params=params
    )
    return parity.run_parity(req, **kwargs)


@pytest.fixture(scope="module")
def cli_report():
    """One real TensorFlow-and-JAX run through the CLI, shared by the tests below."""
    result = runner.invoke(
        app,
        ["parity", "linear_regression", "--backends", "tensorflow,jax", "--steps", "3"]
        + ["--batch-size", "8", "--json"],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


@slow
@needs_jax
def test_linear_regression_tf_and_jax_agree_and_the_report_has_every_field(cli_report):
    report = cli_report
    assert REPORT_FIELDS <= set(report)
    ref, jax_row = report["rows"]
    assert ref["verdict"] == "reference" and ref["samples_per_s"] > 0
    assert ROW_FIELDS <= set(jax_row), ROW_FIELDS - set(jax_row)
    assert jax_row["verdict"] == "equal", jax_row["detail"]
    assert [g["weight"] for g in jax_row["gradients"]] == ["linear/kernel", "linear/bias"]
    assert len(jax_row["curve_rel"]) == 3 and report["optimum"] == pytest.approx(0.01)
    assert report["equal"] is True


@slow
@needs_jax
def test_the_table_shows_the_verdicts_and_the_tolerances(cli_report):
    from rich.console import Console
    from zoo.cli.views import parity as parity_view

    console = Console(width=200, record=True)
    console.print(parity_view.parity_table(cli_report))
    console.print(parity_view.parity_notes(cli_report))
    text = console.export_text()
    assert "reference" in text and "equal" in text and "Tolerances: forward" in text


@slow
@needs_jax
def test_a_perturbed_weight_is_detected_naming_its_layer():
    report = _run("mlp", perturb="dense_1/kernel")
    jax_row = report["rows"][1]
    assert jax_row["verdict"] == "diverges"
    assert jax_row["gradient_first_exceeding"] == "dense_1/kernel"
    assert "gradients from dense_1/kernel" in jax_row["detail"]
    assert "forward outputs" in jax_row["detail"]
    assert report["equal"] is False


def test_parity_suite_groups_backends_and_uses_small_overrides():
    s = perf_suite.load_suite("parity")
    assert s.kind == "parity"
    requests = parity.suite_requests(s, "linear_regression,resnet50")
    assert [r.model for r in requests] == ["linear_regression", "resnet50"]
    assert requests[0].backends == ("tensorflow", "jax", "torch")
    assert dict(requests[1].params)["input_shape"] == (32, 32, 3)


def test_parity_suite_writes_jsonl_and_markdown(tmp_path, monkeypatch):
    def fake(req, timeout_s=600):
        rows = [
            {"backend": "tensorflow", "status": "ok", "verdict": "reference", "metric": 0.5},
            {"backend": "torch", "status": "skipped", "verdict": "skipped", "reason": "extra"},
        ]
        return {"model": req.model, "precision": "float32", "optimum": 1.0, "rows": rows}

    monkeypatch.setattr(parity, "run_parity", fake)
    s = perf_suite.load_suite("parity")
    out = tmp_path / "p.jsonl"
    records = parity.run_suite(s, out, models="mlp")
    assert [r["model"] for r in records] == ["mlp"]
    line = json.loads(out.read_text())
    assert line["rows"][1]["status"] == "skipped"
    assert line["schema"] == 2 and line["kind"] == "parity" and line["provenance"]["machine"]
    md = out.with_suffix(".md").read_text()
    assert "| mlp | torch | skipped | extra |" in md and "| mlp | tensorflow | reference" in md


def test_a_backend_listing_the_weights_in_another_order_is_compared_by_path():
    import numpy as np

    from zoo.perf.parity import by_path

    mine = {
        "grad_0": np.ones(2),
        "weight_0": np.zeros(2),
        "grad_1": np.ones(3),
        "weight_1": np.zeros(3),
    }
    theirs = {
        "grad_0": np.ones(3),
        "weight_0": np.zeros(3),
        "grad_1": np.ones(2),
        "weight_1": np.zeros(2),
    }
    aligned = by_path(["a/kernel", "b/kernel"], ["b/kernel", "a/kernel"], theirs)
    assert [aligned[f"grad_{i}"].shape for i in (0, 1)] == [mine[f"grad_{i}"].shape for i in (0, 1)]
    assert by_path(["a"], ["a"], theirs) is theirs
    with pytest.raises(ValueError, match="trainable weights differ"):
        by_path(["a/kernel", "b/kernel"], ["a/kernel", "c/kernel"], theirs)
