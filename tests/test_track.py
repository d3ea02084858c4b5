"""The trackers: `--track mlflow` and `--tensorboard DIR`, read back with MLflow's own client
and TensorBoard's own event reader (not by checking the zoo's calls)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo.perf import runner as perf_runner
from zoo.tuning import search as zsearch

runner = CliRunner()
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
SUITE = """
[suite]
name = "tracked"
steps = 2
[[case]]
model = "linear_regression"
modes = ["graph", "xla"]
batch_sizes = [8]
"""


@pytest.fixture
def store(tmp_path, monkeypatch):
    """MLflow's default local store, in a folder of this test's (no server)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "zoo-test")
    yield tmp_path
    import mlflow

    mlflow.set_tracking_uri(None)  # the next test's store is its own


def _client():
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    exp = client.get_experiment_by_name("zoo-test")
    return client, client.search_runs([exp.experiment_id]), mlflow


@pytest.fixture
def fake_cases(monkeypatch, tmp_path):
    def worker(case, steps, timeout_s):
        rate = 100.0 if case.mode == "graph" else 150.0
        return {"status": "ok", "train": {"samples_per_s": rate, "step_ms_median": 80.0}}

    monkeypatch.setattr(perf_runner, "_run_worker", worker)
    suite = tmp_path / "tracked.toml"
    suite.write_text(SUITE)
    return ["bench", "--suite", str(suite), "--output", str(tmp_path / "r.jsonl")]


def test_bench_cases_are_mlflow_runs_nested_under_the_suite(store, fake_cases):
    r = runner.invoke(app, [*fake_cases, "--track", "mlflow"])
    assert r.exit_code == 0, r.output
    assert "Logged to MLflow" in r.output
    assert (store / "mlflow.db").is_file()  # the default local store, no server
    _, runs, _ = _client()
    (parent,) = [x for x in runs if "mlflow.parentRunId" not in x.data.tags]
    children = [x for x in runs if x.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.run_name == "bench tracked" and parent.data.params["cases"] == "2"
    by_mode = {c.data.params["mode"]: c for c in children}
    assert set(by_mode) == {"graph", "xla"}
    assert by_mode["xla"].data.metrics["train_samples_per_s"] == 150.0
    assert by_mode["graph"].data.params["model"] == "linear_regression"


def test_bench_cases_are_tensorboard_runs_with_their_hparams(tmp_path, fake_cases):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    logdir = tmp_path / "tb"
    r = runner.invoke(app, [*fake_cases, "--tensorboard", str(logdir)])
    assert r.exit_code == 0, r.output
    folders = sorted(p for p in logdir.iterdir() if p.is_dir())
    assert len(folders) == 2
    seen = {}
    for folder in folders:
        events = EventAccumulator(str(folder))
        events.Reload()
        content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
        mode = hparams["mode"].string_value
        seen[mode] = events.Scalars("train_samples_per_s")[0].value
        assert hparams["model"].string_value == "linear_regression"
    assert seen == {"graph": 100.0, "xla": 150.0}


def test_a_trained_run_logs_its_settings_metrics_per_epoch_and_folder(store):
    out = store / "run"
    args = ["train", "linear_regression", "--epochs", "3", "--samples", "256"]
    r = runner.invoke(app, [*args, "--output", str(out), "--track", "mlflow"])
    assert r.exit_code == 0, r.output
    client, (run,), _ = _client()
    assert run.data.params["model"] == "linear_regression" and run.data.params["epochs"] == "3"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [1, 2, 3]
    result = json.loads((out / "result.json").read_text())
    assert [m.value for m in history] == pytest.approx([h["loss"] for h in result["history"]])
    assert "test_mse" in run.data.metrics
    kept = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model.keras", "result.json", "recipe.toml"} <= kept


def test_a_search_logs_each_trial_nested_under_it(store, monkeypatch):
    kept = json.loads((RESULTS / "tune-cpu.jsonl").read_text().splitlines()[0])
    # A search's own result, as zoo.tuning.search.tune returns it, from the committed record
    # (which keeps the execution trials, and of the recipe trials the default and winner).
    search = {**kept, "trials": [kept["default"], kept["winner"]]}
    monkeypatch.setattr(zsearch, "tune", lambda *a, **k: search)
    r = runner.invoke(
        app,
        ["tune", search["model"], "--target", search["target"], "--track", "mlflow", "--json"],
    )
    assert r.exit_code == 0, r.output
    _, runs, _ = _client()
    (parent,) = [x for x in runs if "mlflow.parentRunId" not in x.data.tags]
    trials = [x for x in runs if "mlflow.parentRunId" in x.data.tags]
    assert len(trials) == len(search["execution"]) + len(search["trials"])
    assert parent.data.params["model"] == search["model"]
    reached = [t for t in trials if "time_to_target_s" in t.data.metrics]
    assert reached and {t.data.params["stage"] for t in trials} == {"execution", "recipe"}


def test_an_unknown_tracker_is_one_line_exit_2(fake_cases):
    r = runner.invoke(app, [*fake_cases, "--track", "wandb"])
    assert r.exit_code == 2 and "Unknown tracker 'wandb'. Allowed: mlflow" in r.output
