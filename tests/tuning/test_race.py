"""`zoo tune --task/--models`: a race of models, each searched by `tune` in turn; the
fastest to the target wins, later models race the best time so far, and the search seed
stays held out. The searches are replaced by a fake that reports a time per model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo import registry
from zoo.errors import InvalidArgumentError, UsageError
from zoo.tuning import TUNING_SEED, search
from zoo.tuning import race as zrace


def _fake_tune(times: dict[str, float | None], calls: list[dict]):
    """A `tune` whose winner reaches the target in times[model] s (None: no trial did);
    a model missing from `times` cannot load the data."""

    def fake(model, dataset, **kw):
        calls.append({"model": model, "dataset": dataset, **kw})
        if model not in times:
            raise InvalidArgumentError(f"{model} does not fit the data.", "Use another.")
        t = times[model]
        winner = None
        if t is not None:
            winner = {"time_to_target_s": t, "test_metric": 0.9, "settings": {"epochs": 3}}
        default = {"time_to_target_s": None if t is None else 2 * t, "reached": t is not None}
        recipe = {"model": model, "recipe": {"epochs": 3}, "target": kw["target"]}
        return {
            "model": model,
            "dataset": dataset,
            "seed": kw["seed"],
            "samples": kw["samples"],
            "target": kw["target"],
            "trials": [default] + ([winner] if winner else []),
            "default": default,
            "winner": winner,
            "spent_s": kw["budget_s"],
            **({"recipe": recipe} if winner else {}),
        }

    return fake


def test_a_task_races_its_models_that_are_not_large():
    names = zrace.race_models(task="image_classification")
    specs = [registry.get_spec(n) for n in names]
    assert len(names) >= 2 and "seed_cnn" in names and "mlp" in names
    assert all(s.task == "image_classification" for s in specs)
    assert not any("large" in s.tags for s in specs)  # resnet50 and friends only when named
    assert "resnet50" in zrace.race_models(models=["mlp", "resnet50"])


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({}, "a task or a list of models"),
        ({"task": "image_classification", "models": ["mlp"]}, "not both"),
        ({"models": ["mlp", "lstm_classifier"]}, "share one task"),
        ({"models": ["mlp"]}, "two models at least"),
        ({"task": "regression"}, "two models at least"),  # linear_regression alone
        ({"task": "pictures"}, "task"),
        ({"models": ["mlp", "no_such_model"]}, "no_such_model"),
    ],
)
def test_a_race_that_cannot_be_run_is_one_line(kwargs, says):
    with pytest.raises(UsageError, match=says):
        zrace.race_models(**kwargs)


def test_the_fastest_model_wins_and_later_models_race_its_time():
    calls: list[dict] = []
    fake = _fake_tune({"mlp": 9.0, "seed_cnn": 4.0, "keras_convnet": 6.0}, calls)
    result = zrace.race(
        target="accuracy=0.9",
        models=["mlp", "seed_cnn", "keras_convnet"],
        budget_s=300,
        tune=fake,
    )
    assert result["winner"]["model"] == "seed_cnn" and result["winner"]["time_to_target_s"] == 4
    assert result["recipe"]["model"] == "seed_cnn"  # the winner's recipe file names its model
    assert [c["model"] for c in calls] == ["mlp", "seed_cnn", "keras_convnet"]
    # Each later model races the best time found so far, by any model.
    assert [c["beat_s"] for c in calls] == [None, 9.0, 4.0]
    # Every search on the held-out seed, the budget shared by the models still to run.
    assert {c["seed"] for c in calls} == {TUNING_SEED}
    # The fake takes no time, so each model leaves its share to the models after it.
    assert [c["budget_s"] for c in calls] == pytest.approx([100, 150, 300], abs=1)
    rows = {r["model"]: r for r in result["models"]}
    assert rows["mlp"]["default_time_to_target_s"] == 18.0 and rows["mlp"]["status"] == "reached"
    assert result["kind"] == "race" and "machine" in result["provenance"]  # stamped


def test_a_model_that_cannot_run_is_skipped_with_its_reason():
    calls: list[dict] = []
    fake = _fake_tune({"mlp": None, "keras_convnet": 5.0}, calls)
    result = zrace.race(
        target="accuracy=0.9", models=["resnet20", "mlp", "keras_convnet"], tune=fake
    )
    rows = {r["model"]: r for r in result["models"]}
    assert rows["resnet20"]["status"] == "skipped"
    assert "does not fit the data" in rows["resnet20"]["reason"]
    assert rows["mlp"]["status"] == "not reached" and rows["mlp"]["time_to_target_s"] is None
    assert result["winner"]["model"] == "keras_convnet"


def test_a_target_the_task_does_not_report_fails_before_any_search():
    fake = _fake_tune({}, calls := [])
    with pytest.raises(InvalidArgumentError, match="report accuracy"):
        zrace.race(target="rmse=0.5", models=["mlp", "seed_cnn"], tune=fake)
    assert calls == []


def test_the_command_line_races_and_writes_the_winner_naming_its_model(monkeypatch, tmp_path):
    calls: list[dict] = []
    monkeypatch.setattr(search, "tune", _fake_tune({"mlp": 7.0, "seed_cnn": 3.5}, calls))
    out = tmp_path / "race.json"
    r = CliRunner().invoke(
        app,
        ["tune", "--models", "mlp,seed_cnn", "--target", "accuracy=0.9", "--budget", "4m"]
        + ["--output", str(out)],
    )
    assert r.exit_code == 0, r.output
    assert "seed_cnn reached accuracy=0.9 fastest, in 3.5 s" in r.output
    assert {c["seed"] for c in calls} == {TUNING_SEED}  # the CLI keeps the seed held out
    saved = json.loads(out.read_text())
    assert saved["winner"]["model"] == "seed_cnn"
    recipe = (tmp_path / "race.recipe.toml").read_text()
    assert 'model = "seed_cnn"' in recipe


@pytest.mark.parametrize(
    "args, says",
    [
        (["mlp", "--models", "mlp,seed_cnn"], "takes no model NAME"),
        (["--models", "mlp,lstm_classifier"], "share one task"),
        (["--task", "image_classification"], "none was given"),
        (["--task", "image_classification", "--target", "acc=1", "--resume"], "--resume"),
        (["--task", "image_classification", "--target", "accuracy=1.2"], "no run reaches"),
    ],
)
def test_race_mistakes_on_the_command_line_are_one_line(args, says, monkeypatch):
    monkeypatch.setattr(search, "tune", lambda *a, **k: pytest.fail("a search ran"))
    r = CliRunner().invoke(app, ["tune", *args])
    assert r.exit_code == 2, r.output
    assert says in r.output and "Traceback" not in r.output
