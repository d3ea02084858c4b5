"""The `zoo` command through Typer's CliRunner, and once for real as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_help_lists_the_commands():
    r = invoke("--help")
    assert r.exit_code == 0
    for command in ("list", "info", "train", "evaluate"):
        assert command in r.output


def test_list_table_and_json():
    r = invoke("list")
    assert r.exit_code == 0 and "seed_cnn" in r.output
    assert f"{len(zoo.list_models())} models" in r.output
    data = json.loads(invoke("list", "--json").stdout)
    assert {m["name"] for m in data} >= {"mlp", "seed_cnn", "matrix_factorization"}
    assert data[0].keys() >= {
        "name",
        "family",
        "task",
        "summary",
        "reference",
        "defaults",
        "tags",
        "recipe",
        "factory",
    }
    assert [
        m["name"] for m in json.loads(invoke("list", "--task", "translation", "--json").stdout)
    ] == ["transformer_seq2seq"]
    assert "seed_cnn" not in invoke("list", "*classifier").output


def test_list_with_no_match_says_so():
    r = invoke("list", "zzz*")
    assert r.exit_code == 0 and "no model matches" in r.output


def test_info_shows_spec_params_and_layers():
    r = invoke("info", "seed_cnn")
    assert r.exit_code == 0
    for text in ("1,625,866", "conv1", "fc1", "12544", "image_classification", "recipe"):
        assert text in r.output
    data = json.loads(invoke("info", "matrix_factorization", "--json").stdout)
    assert data["num_params"] > 0 and any(x["type"] == "GlobalBias" for x in data["layers"])


def test_train_writes_the_run_and_evaluate_reads_it(tmp_path):
    out = tmp_path / "run"
    r = invoke(
        "train",
        "mlp",
        "--epochs",
        "1",
        "--samples",
        "256",
        "--output",
        str(out),
        "--param",
        "hidden_units=32",
    )
    assert r.exit_code == 0, r.output
    assert "epoch 1/1" in r.output and "test" in r.output and "optimum" in r.output
    saved = json.loads((out / "result.json").read_text())
    assert saved["config"]["model_kwargs"]["hidden_units"] == 32
    r = invoke("evaluate", str(out))
    assert r.exit_code == 0 and "accuracy" in r.output
    ev = json.loads(
        invoke("evaluate", str(out / "model.keras"), "--samples", "256", "--json").stdout
    )
    assert ev["metrics"]["accuracy"] == pytest.approx(saved["test_metrics"]["accuracy"])


def test_train_json_output():
    r = invoke("train", "linear_regression", "--epochs", "2", "--samples", "64", "--json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert len(data["history"]) == 2 and "mse" in data["test_metrics"]


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["train", "seed_cn"], 2, "Did you mean seed_cnn"),
        (["train", "mlp", "--epochs", "0"], 2, "--epochs"),
        (["train", "mlp", "--batch-size", "-1"], 2, "--batch-size"),
        (["train", "mlp", "--epochs", "many"], 2, "valid number"),
        (["train", "mlp", "--optimizer", "rmsprop"], 2, "rmsprop"),
        (["train", "mlp", "--learning-rate", "-0.1"], 2, "learning_rate=-0.1"),
        (["train", "mlp", "--val-fraction", "1"], 2, "val_fraction"),
        (["train", "mlp", "--param", "nokey"], 2, "KEY=VALUE"),
        (["train", "mlp", "--param", "hidden_units=0"], 2, "hidden_units=0"),
        (["train", "mlp", "--param", "colour=3"], 2, "Accepted:"),
        (["train", "mlp", "--dataset", "imagenet"], 1, "Available: synthetic, mnist"),
        (["info", "nope"], 2, "Unknown model 'nope'"),
        (["list", "--family", "nope"], 2, "Unknown family"),
        (["evaluate", "/no/such/run"], 1, "does not exist"),
    ],
)
def test_user_mistakes_give_one_clear_error_and_no_traceback(args, code, text):
    r = invoke(*args)
    assert r.exit_code == code, r.output
    assert text in r.output


def test_output_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("keep")
    r = invoke("train", "linear_regression", "--samples", "32", "--output", str(f))
    assert r.exit_code == 1 and "is a file" in r.output and f.read_text() == "keep"


def test_evaluate_a_corrupt_file(tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"PK\x03\x04 truncated")
    r = invoke("evaluate", str(bad))
    assert r.exit_code == 1 and "Error:" in r.output and len(r.output.strip().splitlines()) <= 3


@pytest.mark.skipif(shutil.which("zoo") is None, reason="the zoo script is not installed")
def test_the_real_command_keeps_tensorflow_logs_off_the_terminal(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    proc = subprocess.run(
        ["zoo", "train", "linear_regression", "--epochs", "1", "--samples", "64"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mse" in proc.stdout
    for noise in ("absl", "I0000", "oneDNN", "cuda"):
        assert noise not in proc.stderr, proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "zoo.cli.main", "info", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_data_list_shows_every_real_dataset_and_its_state(tmp_path):
    r = invoke("data", "list", "--data-dir", str(tmp_path), "--json")
    assert r.exit_code == 0, r.output
    rows = {row["dataset"]: row for row in json.loads(r.stdout)}
    assert {
        "mnist",
        "fashion_mnist",
        "cifar10",
        "imdb_reviews",
        "speech_commands",
        "tiny_shakespeare",
        "movielens/100k-ratings",
    } <= set(rows)
    assert not rows["mnist"]["prepared"] and rows["mnist"]["prepare_from_files"]
    assert rows["movielens/100k-ratings"]["tasks"] == ["rating_prediction", "retrieval"]
    assert rows["speech_commands"]["tasks"] == ["audio_classification", "speech_recognition"]
    assert {"voc", "oxford_iiit_pet", "cnn_dailymail", "ucf101"} <= set(rows)
    table = invoke("data", "list", "--data-dir", str(tmp_path))
    assert table.exit_code == 0 and "speech_commands" in table.output


def test_data_prepare_then_list_then_train(tmp_path):
    from tests.data.test_real_data import _cifar_python_tarball

    _cifar_python_tarball(
        tmp_path / "cifar-10-python.tar.gz", 16, __import__("numpy").random.default_rng(0)
    )
    data_dir = str(tmp_path / "tfds")
    r = invoke("data", "prepare", "cifar10", "--from", str(tmp_path), "--data-dir", data_dir)
    assert r.exit_code == 0, r.output
    assert "Prepared cifar10" in r.output
    rows = {
        x["dataset"]: x
        for x in json.loads(invoke("data", "list", "--data-dir", data_dir, "--json").stdout)
    }
    assert rows["cifar10"]["prepared"] and rows["cifar10"]["bytes"] > 0
    r = invoke(
        "train",
        "keras_convnet",
        "--dataset",
        "cifar10",
        "--data-dir",
        data_dir,
        "--epochs",
        "1",
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["config"]["model_kwargs"]["input_shape"] == [32, 32, 3]


def test_data_prepare_errors(tmp_path):
    r = invoke("data", "prepare", "mnist", "--from", str(tmp_path), "--data-dir", str(tmp_path))
    assert r.exit_code == 1 and "no train-images-idx3-ubyte" in r.output
    r = invoke("data", "prepare", "mnist")
    assert r.exit_code == 2 and "--from" in r.output


def test_a_missing_real_dataset_is_one_line_naming_both_fixes(tmp_path):
    r = invoke("train", "seed_cnn", "--dataset", "fashion_mnist", "--data-dir", str(tmp_path))
    assert r.exit_code == 1
    assert "--download" in r.output and "zoo data prepare fashion_mnist" in r.output
