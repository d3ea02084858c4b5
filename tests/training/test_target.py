"""Time to target: `train(target=...)` stops when the validation split reaches it and
records when; `--target` on the command line."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo import tasks
from zoo.errors import InvalidArgumentError
from zoo.training import target as ztarget

IMAGES = tasks.get("image_classification")
RATINGS = tasks.get("rating_prediction")


def test_parse_knows_each_metric_direction():
    acc = ztarget.parse("accuracy=0.91", IMAGES)
    rmse = ztarget.parse(" rmse = 0.9", RATINGS)
    assert (acc.metric, acc.value, acc.higher_is_better) == ("accuracy", 0.91, True)
    assert (rmse.metric, rmse.value, rmse.higher_is_better) == ("rmse", 0.9, False)
    assert acc.reached(0.91) and not acc.reached(0.909) and not acc.reached(math.nan)
    assert rmse.reached(0.85) and not rmse.reached(0.95) and not rmse.reached(None)
    assert ztarget.parse("loss=0.1", IMAGES).reached(0.05)


@pytest.mark.parametrize(
    "text, says",
    [
        ("accuracy", "METRIC=VALUE"),
        ("=0.5", "METRIC=VALUE"),
        ("rmse=0.5", "report accuracy, loss"),
        ("accuracy=high", "finite number"),
        ("accuracy=nan", "finite number"),
        ("accuracy=1.5", r"accuracy takes values in \[0, 1\], so no run reaches the target"),
        ("accuracy=-0.1", "so every run reaches the target accuracy=-0.1 at its first check"),
    ],
)
def test_parse_rejects_bad_targets_in_one_line(text, says):
    with pytest.raises(InvalidArgumentError, match=says):
        ztarget.parse(text, IMAGES)


def test_a_target_outside_its_metrics_range_is_refused_and_the_bounds_are_allowed():
    with pytest.raises(InvalidArgumentError, match="rmse takes values of 0 or more"):
        ztarget.parse("rmse=-0.5", RATINGS)
    lm = tasks.get("language_modeling")
    with pytest.raises(InvalidArgumentError, match="of 1 or more") as e:
        ztarget.parse("perplexity=0.5", lm)
    assert "e.g. --target perplexity=2." in str(e.value)  # an example that is in range
    assert ztarget.parse("perplexity=2", lm).value == 2
    assert [ztarget.parse(f"accuracy={v}", IMAGES).value for v in (0, 1)] == [0, 1]
    assert ztarget.parse("rmse=0", RATINGS).value == 0
    assert ztarget.parse("loss=-3", IMAGES).value == -3  # a loss may be of any sign


def test_a_reached_target_stops_the_run_and_keeps_the_model_that_reached_it(tmp_path):
    r = zoo.train(
        "mlp", samples=600, epochs=6, target="accuracy=0.6", eval_every=3, output=tmp_path
    )
    t = r.target
    assert t["reached"] and t["split"] == "validation"
    checks = t["history"]
    # Checked every 3 steps; the first check at or above the target is the one recorded.
    assert [c["step"] for c in checks] == [3 * (i + 1) for i in range(len(checks))]
    first = next(c for c in checks if c["value"] >= 0.6)
    assert first is checks[-1]  # the run stopped at the first check that reached it
    assert t["steps_to_target"] == first["step"]
    steps_per_epoch = math.ceil(540 / r.config.batch_size)  # 600 less 10% validation
    assert t["epochs_to_target"] == pytest.approx(first["step"] / steps_per_epoch, abs=1e-3)
    assert 0 < t["train_time_to_target_s"] < t["time_to_target_s"]
    # The run stopped there: fewer epochs than the limit, and the test metric is that model's.
    assert len(r.history) == math.ceil(t["epochs_to_target"]) < 6
    assert t["test_metric"] == r.test_metrics["accuracy"]
    # The check's noise at the target: 60 validation examples, one label each.
    assert t["validation_examples"] == 60
    assert t["standard_error"] == pytest.approx(math.sqrt(0.6 * 0.4 / 60))
    again = zoo.evaluate(tmp_path)
    assert again.metrics["accuracy"] == pytest.approx(r.test_metrics["accuracy"], abs=1e-6)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["target"]["steps_to_target"] == t["steps_to_target"]
    # Where the time went: every phase measured, and together they are the whole time.
    phases = saved["target"]["phases"]
    assert set(phases) == set(ztarget.PHASES)
    assert sum(v for v in phases.values() if v is not None) == pytest.approx(
        t["time_to_target_s"], abs=0.01
    )
    assert all(phases[k] > 0 for k in ("data_s", "build_s", "train_s", "checks_s"))
    # In-process the framework may be imported already (another test in this worker did):
    # the start phase is then the microseconds before the data, rounded to 0.0.
    assert isinstance(phases["start_s"], float)
    assert phases["compile_s"] is not None and phases["compile_s"] >= 0  # many executions
    assert phases["train_s"] + phases["compile_s"] <= t["train_time_to_target_s"] + 1e-3


def test_the_breakdown_splits_the_first_execution_into_compilation_and_a_step():
    marks = {"imported": 3.0, "data": 3.5, "built": 4.5, "xla_probe_s": 0.25}
    # 10 steps in 5 executions of 2: the first took 2.4 s, the other four 0.1 s each.
    at = {"steps_s": 2.8, "first_s": 2.4, "first_steps": 2, "steps_run": 10, "checks_s": 0.5}
    phases = ztarget.breakdown(9.0, marks, at)
    assert phases["start_s"] == 3.0 and phases["data_s"] == 0.5
    assert phases["build_s"] == 0.75 and phases["xla_probe_s"] == 0.25
    assert phases["compile_s"] == pytest.approx(2.3)  # 2.4 s less two steps of 0.05 s
    assert phases["train_s"] == pytest.approx(0.5) and phases["checks_s"] == 0.5
    assert phases["other_s"] == pytest.approx(9.0 - 7.8)
    # One execution only: compilation cannot be told from the step, and is not made up.
    one = ztarget.breakdown(6.0, {**marks, "xla_probe_s": None}, {**at, "steps_run": 2})
    assert one["compile_s"] is None and one["train_s"] == 2.8 and one["build_s"] == 1.0
    assert one["other_s"] == pytest.approx(6.0 - 3.0 - 0.5 - 1.0 - 2.8 - 0.5)


def test_an_unreached_target_is_recorded_without_times():
    r = zoo.train("linear_regression", samples=300, epochs=2, target="mse=0")
    t = r.target
    assert not t["reached"] and len(r.history) == 2
    assert t["time_to_target_s"] is None and t["steps_to_target"] is None
    assert t["checks"] == 2 and t["best_validation"] == min(c["value"] for c in t["history"])
    assert t["best_validation"] == pytest.approx(min(h["val_mse"] for h in r.history), rel=1e-6)
    # An error, not a proportion of examples: its noise is not a binomial one, so none.
    assert t["validation_examples"] == 30 and t["standard_error"] is None


def test_the_standard_error_is_a_binomial_ones_for_per_example_accuracy_only():
    at = ztarget.Target("accuracy", 0.91)
    assert ztarget.standard_error(at, 6000, True) == pytest.approx(0.003695, abs=1e-6)
    assert ztarget.standard_error(ztarget.Target("accuracy", 1.0), 50, True) == 0.0
    assert ztarget.standard_error(at, 6000, False) is None  # tokens or pixels: not independent
    assert ztarget.standard_error(at, None, True) is None
    assert ztarget.standard_error(at, 0, True) is None
    assert ztarget.standard_error(ztarget.Target("loss", 0.3), 6000, True) is None
    record = ztarget.record(at, None, [], None, validation=(6000, True))
    assert record["validation_examples"] == 6000 and record["standard_error"] > 0
    assert ztarget.record(at, None, [], None)["standard_error"] is None


def test_a_fractional_epoch_count_ends_the_last_pass_partway_and_says_so(tmp_path):
    # 640 training examples at batch 64: 10 steps an epoch, so 1.5 epochs are 15 steps.
    settings = dict(samples=800, val_fraction=0.2, batch_size=64, target="loss=0", eval_every=5)
    r = zoo.train("linear_regression", epochs=1.5, output=tmp_path / "run", **settings)
    checks = r.target["history"]
    assert [c["step"] for c in checks] == [5, 10, 15] and checks[-1]["epoch"] == 1.5
    assert len(r.history) == 2 and r.config.epochs == 1.5
    assert "epochs = 1.5" in (tmp_path / "run" / "recipe.toml").read_text()
    # The schedule spans the 15 steps: a one-cycle run ends at its last rate.
    cli = CliRunner().invoke(
        app,
        ["train", "linear_regression", "--epochs", "1.5", "--samples", "800",
         "--val-fraction", "0.2", "--batch-size", "64", "--target", "loss=0", "--eval-every", "5"],
    )  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert "not reached on the validation split in 1.5 epochs" in cli.output
    assert "after 1.5 epochs (" in cli.output and r.epochs_run == 1.5
    whole = zoo.train("linear_regression", epochs=2, **settings)
    assert whole.config.epochs == 2 and isinstance(whole.config.epochs, int)
    assert whole.target["history"][-1]["step"] == 20


def test_a_run_stopped_mid_epoch_by_its_target_says_the_passes_it_made():
    # 10 steps an epoch, a check every 5: any loss reaches loss=1e9 at the first, step 5.
    settings = dict(samples=800, val_fraction=0.2, batch_size=64)
    r = zoo.train("linear_regression", epochs=3, target="loss=1e9", eval_every=5, **settings)
    assert r.target["steps_to_target"] == 5 and len(r.history) == 1
    assert r.epochs_run == 0.5
    assert zoo.train("linear_regression", epochs=2, **settings).epochs_run == 2
    cli = CliRunner().invoke(
        app,
        ["train", "linear_regression", "--epochs", "3", "--samples", "800", "--val-fraction",
         "0.2", "--batch-size", "64", "--target", "loss=1e9", "--eval-every", "5"],
    )  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert "after 0.5 epochs (" in cli.output, cli.output


def test_no_check_falls_before_check_from_through_python_and_the_cli(tmp_path):
    # 640 training examples at batch 64: 10 steps an epoch.
    settings = dict(samples=800, val_fraction=0.2, batch_size=64, target="loss=0", epochs=3)
    # Every eval_every steps from check_from (step 15), then the run's end.
    every = zoo.train("linear_regression", **settings, eval_every=4, check_from=1.5)
    assert [c["step"] for c in every.target["history"]] == [15, 19, 23, 27, 30]
    # Fused 4 steps a call (4, 8, 10 in each epoch): the first chunk at or past each.
    fused = zoo.train(
        "linear_regression", **settings, eval_every=4, check_from=1.5, steps_per_execution=4
    )
    assert [c["step"] for c in fused.target["history"]] == [18, 20, 24, 28, 30]
    epochs = zoo.train("linear_regression", **settings, check_from=2)
    assert [c["step"] for c in epochs.target["history"]] == [20, 30]
    # A run that ends before check_from still checks at its end.
    late = zoo.train("linear_regression", **{**settings, "epochs": 1}, check_from=5)
    assert [c["step"] for c in late.target["history"]] == [10]
    out = tmp_path / "run"
    cli = CliRunner().invoke(
        app,
        ["train", "linear_regression", "--epochs", "2", "--samples", "800", "--val-fraction",
         "0.2", "--batch-size", "64", "--target", "loss=0", "--eval-every", "5",
         "--check-from", "1", "--output", str(out), "--json"],
    )  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert [c["step"] for c in json.loads(cli.stdout)["target"]["history"]] == [10, 15, 20]
    assert "check_from = 1\n" in (out / "recipe.toml").read_text()
    for argv, says in (
        (["--check-from", "1"], "--check-from sets from when a --target is checked"),
        (["--check-from", "-1", "--target", "loss=0"], "greater than or equal to 0"),
        (["--check-from", "inf", "--target", "loss=0"], "check_from must be a finite number"),
    ):
        bad = CliRunner().invoke(app, ["train", "linear_regression", *argv])
        assert bad.exit_code == 2 and says in bad.output, bad.output
        assert "Traceback" not in bad.output


def test_target_combinations_that_cannot_work_fail_before_training(tmp_path):
    with pytest.raises(InvalidArgumentError, match="--eval-every"):
        zoo.train("mlp", eval_every=5)
    with pytest.raises(InvalidArgumentError, match="--check-from"):
        zoo.train("mlp", check_from=1)
    with pytest.raises(InvalidArgumentError, match="check_from must be a number >= 0"):
        zoo.train("mlp", target="accuracy=0.5", check_from=-1)
    with pytest.raises(InvalidArgumentError, match="finite number of epochs"):
        zoo.train("mlp", target="accuracy=0.5", check_from=float("inf"))
    with pytest.raises(InvalidArgumentError, match="--val-fraction 0"):
        zoo.train("mlp", target="accuracy=0.5", val_fraction=0)
    with pytest.raises(InvalidArgumentError, match="--resume"):
        zoo.train("mlp", target="accuracy=0.5", output=tmp_path, resume=True)


def test_the_command_line_says_when_the_target_was_reached():
    r = CliRunner().invoke(
        app, ["train", "linear_regression", "--samples", "300", "--target", "mse=1e9"]
    )
    assert r.exit_code == 0, r.output
    assert "Reached mse=1e+09 on the validation split in" in r.output
    assert "Where the time went: process start and imports" in r.output
    assert "data loading and preparation" in r.output and "training" in r.output
    assert "1 epochs" in r.output or "= 1 epochs" in r.output
    bad = CliRunner().invoke(app, ["train", "mlp", "--target", "rmse=0.5"])
    assert bad.exit_code == 2 and "report accuracy, loss" in bad.output
    never = CliRunner().invoke(app, ["train", "mlp", "--target", "accuracy=2"])
    assert never.exit_code == 2 and "so no run reaches the target accuracy=2" in never.output
    assert len(never.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "samples, target, examples, noisy",
    [(300, "accuracy=0.99", 30, True), (20000, "accuracy=0.9", 2000, False)],
)
def test_the_command_line_gives_the_checks_standard_error_and_advice_when_it_is_large(
    samples, target, examples, noisy
):
    args = ["train", "mlp", "--samples", str(samples), "--epochs", "1", "--target", target]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert f"on the validation split ({examples:,} examples, standard error" in r.output
    assert ("Note: at accuracy" in r.output) is noisy
    assert ("--val-fraction" in r.output) is noisy


def test_recipe_settings_reach_the_optimizer_and_the_loss():
    from zoo.training.compile import build_optimizer

    opt = build_optimizer("adam", 0.01, schedule="one_cycle", total_steps=100, weight_decay=0.05)
    # The schedule, read at steps 0, 30 (the peak) and 100.
    assert float(opt._learning_rate(0)) == pytest.approx(0.01 / 25)
    assert float(opt._learning_rate(30)) == pytest.approx(0.01, rel=1e-5)
    assert float(opt._learning_rate(100)) == pytest.approx(0.0, abs=1e-6)
    assert opt.weight_decay == pytest.approx(0.05)
    loss = IMAGES.build_loss(label_smoothing=0.2)
    import numpy as np

    logits = np.array([[2.0, 0.0, -1.0]], "float32")
    p = np.exp(logits) / np.exp(logits).sum()
    expected = 0.8 * -np.log(p[0, 0]) + 0.2 * -np.log(p[0]).mean()
    assert float(loss(np.array([0]), logits)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(InvalidArgumentError, match="classification loss"):
        zoo.train("matrix_factorization", label_smoothing=0.1)


def test_checks_in_the_middle_of_an_epoch_leave_the_training_metrics_alone():
    kwargs = dict(samples=600, epochs=1, seed=3, learning_rate=1e-4)
    plain = zoo.train("linear_regression", **kwargs, target="mse=0")
    checked = zoo.train("linear_regression", **kwargs, target="mse=0", eval_every=2)
    assert checked.target["checks"] > 3  # evaluations ran inside the epoch
    assert checked.history[0]["loss"] == pytest.approx(plain.history[0]["loss"], rel=1e-4)
    assert checked.history[0]["mse"] == pytest.approx(plain.history[0]["mse"], rel=1e-4)


def test_steps_count_the_real_steps_under_steps_per_execution():
    # 540 training examples at batch 32: 17 steps an epoch, fused 8 at a time (8, 8, 1).
    r = zoo.train(
        "linear_regression",
        samples=600,
        epochs=2,
        batch_size=32,
        steps_per_execution=8,
        target="mse=0",
        eval_every=5,
    )
    steps = [c["step"] for c in r.target["history"]]
    assert steps[-1] == 34  # the last steps are checked too, though 34 is not a multiple of 5
    assert all(s <= 34 for s in steps) and steps == sorted(set(steps))
    assert r.target["history"][-1]["epoch"] == pytest.approx(2.0)
