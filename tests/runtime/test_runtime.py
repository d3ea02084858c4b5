"""Run settings of `zoo train`: device, XLA, precision, threads, determinism."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo.errors import DeviceError, InvalidArgumentError
from zoo.runtime import RunConfig


def test_mixed_bfloat16_keeps_the_output_in_float32_and_restores_the_policy():
    import keras

    r = zoo.train("mlp", epochs=2, samples=3000, run=RunConfig(precision="mixed_bfloat16"))
    net = r.keras_model
    assert r.run["precision"] == "mixed_bfloat16"
    assert net.get_layer("dense_1").compute_dtype == "bfloat16"
    assert net.output.dtype == "float32" and net.name == "mlp"
    assert r.test_metrics["accuracy"] > 0.5
    assert keras.config.dtype_policy().name == "float32"


def test_mixed_float16_scales_the_loss():
    import keras

    r = zoo.train(
        "linear_regression", epochs=1, samples=64, run=RunConfig(precision="mixed_float16")
    )
    assert isinstance(r.keras_model.optimizer, keras.optimizers.LossScaleOptimizer)


@pytest.mark.parametrize("jit, ran", [(True, True), (False, False)])
def test_the_result_records_whether_xla_ran(jit, ran):
    r = zoo.train("linear_regression", epochs=1, samples=64, run=RunConfig(jit_compile=jit))
    assert r.run["jit_compile"] is ran and r.to_dict()["run"]["jit_compile"] is ran


def test_auto_xla_is_resolved_to_what_keras_chose():
    r = zoo.train("linear_regression", epochs=1, samples=64, run=RunConfig(jit_compile="auto"))
    probe = r.run["jit_probe"]
    # "auto" is resolved to the faster mode the probe measured, and that is what Keras ran.
    faster = probe["xla_step_ms"] < probe["graph_step_ms"] and probe["xla_compiled"]
    assert r.run["jit_compile"] is faster is probe["jit_compile"]
    assert r.keras_model.jit_compile is faster


def test_a_gpu_that_is_not_there_is_an_error_before_training(tmp_path):
    with pytest.raises(DeviceError, match="sees 0 GPU"):
        zoo.train("mlp", samples=64, run=RunConfig(device="gpu"), output=tmp_path / "run")
    assert not (tmp_path / "run" / "model.keras").exists()
    r = CliRunner().invoke(app, ["train", "mlp", "--samples", "64", "--device", "gpu"])
    assert r.exit_code == 1 and "sees 0 GPU" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"precision": "fp8"}, "Unknown precision"),
        ({"jit_compile": "yes"}, "jit_compile"),
        ({"threads": 0}, "threads"),
        ({"device": "npu"}, "Unknown device 'npu'. Allowed: auto, cpu, gpu, gpu:N"),
        ({"steps_per_execution": 0}, "steps_per_execution must be a positive integer"),
        ({"backend": "mxnet"}, "Unknown backend 'mxnet'"),
        ({"deterministic": "yes"}, "deterministic must be true or false"),
    ],
)
def test_bad_run_settings(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        RunConfig(**kwargs)


@pytest.mark.slow  # a process training seed_cnn twice: about 7 s
def test_deterministic_runs_repeat_the_loss_history_to_the_last_digit():
    code = (
        "import json, zoo\n"
        "from zoo.runtime import RunConfig\n"
        "run = RunConfig(deterministic=True)\n"
        "h = [zoo.train('seed_cnn', epochs=2, samples=256, seed=7, run=run).history "
        "for _ in range(2)]\n"
        "print(json.dumps([[e['loss'] for e in x] for x in h]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    first, second = json.loads(proc.stdout.strip().splitlines()[-1])
    assert first == second and len(first) == 2


@pytest.mark.skipif(shutil.which("zoo") is None, reason="the zoo script is not installed")
@pytest.mark.slow  # a `zoo train` process: about 7 s
def test_threads_size_tensorflows_pools(tmp_path):
    proc = subprocess.run(
        [
            "zoo",
            "train",
            "linear_regression",
            "--epochs",
            "1",
            "--samples",
            "64",
            "--threads",
            "1",
            "--jit-compile",
            "on",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)["run"]
    assert run["threads"]["intra_op"] == 1 and run["jit_compile"] is True


def test_xla_training_drops_the_last_partial_batch():
    class Steps(zoo.Progress):
        def on_train_begin(self, info):
            self.steps = info["steps_per_epoch"]

        def on_batch_end(self, epoch, step, logs):
            self.last = step

    xla, graph = Steps(), Steps()
    zoo.train(
        "linear_regression",
        epochs=1,
        samples=100,
        batch_size=32,
        val_fraction=0,
        run=RunConfig(jit_compile=True),
        progress=xla,
    )
    zoo.train(
        "linear_regression", epochs=1, samples=100, batch_size=32, val_fraction=0, progress=graph
    )
    assert (xla.steps, xla.last) == (3, 3)  # 100 // 32: one static shape for XLA
    assert (graph.steps, graph.last) == (4, 4)


def test_schedules_clipping_and_fused_steps_reach_the_optimizer():
    r = zoo.train(
        "linear_regression",
        epochs=2,
        samples=320,
        batch_size=32,
        val_fraction=0,
        schedule="warmup_cosine",
        clip_norm=1.0,
        steps_per_execution=5,
    )
    opt = r.keras_model.optimizer
    lr = opt.learning_rate
    assert opt.global_clipnorm == 1.0 and r.run["steps_per_execution"] == 5
    assert r.config.schedule == "warmup_cosine"
    schedule = opt._learning_rate  # the schedule behind the current value
    assert float(schedule(0)) < float(schedule(2)) and float(schedule(20)) < 0.01 * 0.5
    assert float(lr) == pytest.approx(float(schedule(opt.iterations)))  # where training left it
    with pytest.raises(InvalidArgumentError, match="Allowed: constant, cosine, warmup_cosine"):
        zoo.train("mlp", samples=64, schedule="linear")


def test_early_stopping_ends_a_converged_run_and_keeps_the_best_weights():
    r = zoo.train("linear_regression", epochs=60, samples=512, learning_rate=0.05, early_stopping=2)
    assert len(r.history) < 60
    best = min(h["val_loss"] for h in r.history)
    assert r.test_metrics["mse"] < 2 * best


def test_a_diverging_loss_stops_with_a_clear_error_naming_the_step(tmp_path):
    from zoo.errors import TrainingDivergedError

    with pytest.raises(TrainingDivergedError, match="learning rate") as e:
        zoo.train(
            "linear_regression",
            epochs=3,
            samples=256,
            learning_rate=1e8,
            optimizer="sgd",
            output=tmp_path / "run",
        )
    assert re.search(r"at step \d+ of epoch 1;", str(e.value))
    assert "Nothing was saved" in str(e.value)
    assert not (tmp_path / "run" / "model.keras").exists()
    r = CliRunner().invoke(
        app,
        [
            "train",
            "linear_regression",
            "--samples",
            "256",
            "--learning-rate",
            "1e8",
            "--optimizer",
            "sgd",
        ],
    )
    assert r.exit_code == 1 and "training loss became" in r.output
    assert "Traceback" not in r.output and "Invalid loss" not in r.output
