"""Shipped recipes (zoo/recipes/, `zoo.presets`): each is a valid recipe of a registered
model on a dataset of its task, and every entry point finds them: `zoo.list_presets()`,
`zoo list --recipes`, `zoo info NAME` and `zoo train --recipe NAME`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo import presets, recipe, tasks
from zoo.errors import InvalidArgumentError

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_the_fast_fashion_mnist_preset_is_shipped():
    assert "fast-fashion-mnist" in presets.names()
    found = {p["name"]: p for p in zoo.list_presets()}
    assert found["fast-fashion-mnist"]["model"] == "fast_cnn"
    assert found["fast-fashion-mnist"]["dataset"] == "fashion_mnist"


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_is_a_recipe_of_a_model_on_a_dataset_of_its_task(name):
    about = presets.describe(name)
    file = recipe.read(name)  # by name, as `zoo train --recipe NAME` reads it
    spec = zoo.get_spec(file.model)
    task = tasks.get(spec.task)
    assert file.data.dataset in task.datasets
    assert file.target is not None
    assert file.target.partition("=")[0] in task.metrics
    assert about["summary"] and len(about["summary"]) < 120
    assert "fast" in about["description"]  # it says what makes it fast


def test_a_misspelt_preset_names_the_close_one():
    with pytest.raises(InvalidArgumentError, match="fast-fashion-mnist"):
        recipe.read("fast-fashion-mnst")


def test_list_recipes_json_plain_and_filtered():
    rows = json.loads(invoke("list", "--recipes", "--json").stdout)
    assert [r["name"] for r in rows] == presets.names()
    plain = invoke("list", "--recipes", "--plain")
    assert plain.exit_code == 0
    lines = [line.split("\t") for line in plain.stdout.splitlines()]
    assert ["fast-fashion-mnist", "fast_cnn", "fashion_mnist", "accuracy=0.91"] in [
        line[:4] for line in lines
    ]
    assert json.loads(invoke("list", "--recipes", "--family", "cnn", "--json").stdout)
    none = invoke("list", "--recipes", "--task", "regression")
    assert none.exit_code == 0 and "no shipped recipe matches" in none.output


def test_info_names_the_models_presets():
    fast = json.loads(invoke("info", "fast_cnn", "--json").stdout)
    assert [p["name"] for p in fast["presets"]] == ["fast-fashion-mnist"]
    assert json.loads(invoke("info", "mlp", "--json").stdout)["presets"] == []
    assert "fast-fashion-mnist" in invoke("info", "fast_cnn").output


def test_train_runs_a_preset_by_name_with_options_on_top(tmp_path):
    # The preset's recipe and run settings, on synthetic images of the same shape (the
    # preset's own data and length are what the time-to-target measurement runs).
    r = invoke(
        "train",
        "--recipe",
        "fast-fashion-mnist",
        "--dataset",
        "synthetic",
        "--samples",
        "512",
        "--epochs",
        "1",
        "--output",
        str(tmp_path / "run"),
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["model"] == "fast_cnn"
    config = out["config"]
    assert config["schedule"] == "one_cycle" and config["label_smoothing"] == 0.1
    assert config["epochs"] == 1  # the command line goes on top
    written = recipe.read(tmp_path / "run")
    assert written.model == "fast_cnn" and written.run.steps_per_execution == 8
    assert written.target == "accuracy=0.91"
