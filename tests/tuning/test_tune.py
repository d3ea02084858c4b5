"""`zoo tune`: the search's logic (with trials faked), the per-machine cache, `--tuned`,
and one real search."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app
from zoo.cli.tune import parse_budget

from zoo import io, recipe
from zoo.errors import InvalidArgumentError
from zoo.tuning import cache, search

runner = CliRunner()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_budget_parsing():
    assert parse_budget("90s") == 90 and parse_budget("10m") == 600 and parse_budget("2") == 2
    assert parse_budget("1.5h") == 5400
    for bad in ("", "0", "-3m", "10 minutes", "m"):
        with pytest.raises(InvalidArgumentError, match="positive time"):
            parse_budget(bad)


@pytest.fixture
def on_cpu(monkeypatch):
    """Sets what this process reads as /proc/cpuinfo; `zoo.io.machine()` reads it once per
    process (the machine does not change under it), so its cache is emptied around."""

    def read_as(cpuinfo: str) -> None:
        monkeypatch.setattr(io, "_read_cpuinfo", lambda: cpuinfo)
        io.machine.cache_clear()

    yield read_as
    io.machine.cache_clear()


def test_the_cache_key_holds_the_cpu_flags(fresh_cache, on_cpu):
    avx512 = "flags\t: fpu avx2 avx512f avx512_bf16\nmodel name\t: AMD EPYC\n"
    avx2 = "flags\t: fpu avx2\nmodel name\t: AMD EPYC\n"
    on_cpu(avx512)
    entry = {"model": "mlp", "dataset": "synthetic", "backend": "tensorflow", "created": "x"}
    cache.store({**entry, "settings": {"precision": "mixed_bfloat16"}})
    assert cache.lookup("mlp", "synthetic", "tensorflow")["settings"]["precision"] == (
        "mixed_bfloat16"
    )
    on_cpu(avx2)  # the other kind of EPYC
    assert cache.lookup("mlp", "synthetic", "tensorflow") is None
    assert cache.entries() == [] and len(cache.entries(this_machine=False)) == 1
    cache.store({**entry, "settings": {"precision": "float32"}})
    assert cache.lookup("mlp", "synthetic", "tensorflow")["settings"]["precision"] == "float32"
    assert cache.lookup("mlp", "synthetic", "jax") is None


def _fake_trials(monkeypatch, seconds_of):
    """run_trial replaced: execution trials report a speed, recipe trials the time
    `seconds_of(settings)` (None: not reached); a trial past its limit times out."""
    calls = []

    def fake(model, dataset, settings, *, target, timeout_s, **kw):
        calls.append(({k: v for k, v in settings.items() if k != "device"}, target, timeout_s))
        history = [{"seconds": 2.0}, {"seconds": 1.0}, {"seconds": 1.0}]
        if target is None:  # execution: XLA with 8 steps per execution is fastest
            fast = settings["jit_compile"] and settings["steps_per_execution"] == 8
            history = [{"seconds": 2.0}, {"seconds": 0.5 if fast else 1.0}] * 2
            return {"status": "ok", "history": history, "num_train": 1000, "wall_s": 1.0}
        t = seconds_of(settings)
        if t is not None and t > timeout_s:
            return {"status": "timeout", "reason": "stopped", "wall_s": timeout_s}
        reached = t is not None
        tt = {
            "reached": reached,
            "time_to_target_s": t,
            "steps_to_target": 10 if reached else None,
            "epochs_to_target": 1.0 if reached else None,
            "best_validation": 0.9,
            "test_metric": 0.91 if reached else None,
        }
        return {
            "status": "ok",
            "target": tt,
            "history": history,
            "num_train": 1000,
            "test_metrics": {"accuracy": 0.91},
            "wall_s": (t or 30) + 1,
        }

    monkeypatch.setattr(search, "run_trial", fake)
    return calls


def test_the_search_races_trials_and_caches_the_winner(fresh_cache, monkeypatch):
    def seconds_of(s):
        if not s["jit_compile"]:
            return 40.0  # the default route
        return 10.0 if s.get("schedule") == "one_cycle" else 25.0

    calls = _fake_trials(monkeypatch, seconds_of)
    result = search.tune("mlp", target="accuracy=0.9", budget_s=600, max_trials=6)
    fastest = result["fastest_execution"]
    assert fastest["jit_compile"] is True and fastest["steps_per_execution"] == 8
    default, winner = result["default"], result["winner"]
    assert default["settings"]["jit_compile"] is False and default["time_to_target_s"] == 40
    assert default["settings"]["epochs"] == 3 * search.registry.get_spec("mlp").recipe.epochs
    assert winner["settings"]["schedule"] == "one_cycle" and winner["time_to_target_s"] == 10
    assert result["speedup"] == pytest.approx(4.0)
    recipe_calls = [c for c in calls if c[1] is not None]
    assert len(recipe_calls) == len(result["trials"]) <= 6
    # Racing: once 10 s is the best, later trials get at most 10 s + the margins.
    won = {k: v for k, v in winner["settings"].items() if k != "backend"}
    after = recipe_calls[[c[0] for c in recipe_calls].index(won) + 1 :]
    assert after and all(limit < 10 + search.MARGIN_S + 5 for _, _, limit in after)
    statuses = [t["status"] for t in result["trials"]]
    assert set(statuses) == {"ok", "stopped"}  # the 25 s trials after the 10 s one stop
    entry = cache.lookup("mlp", "synthetic")
    assert entry["settings"] == winner["settings"] and entry["default_time_to_target_s"] == 40
    assert result["cached"] == "new" and entry["seed"] == search.TUNING_SEED


def test_a_slower_search_keeps_the_earlier_winner(fresh_cache, monkeypatch):
    _fake_trials(monkeypatch, lambda s: 10.0 if s.get("schedule") == "one_cycle" else 40.0)
    first = search.tune("mlp", target="accuracy=0.9", budget_s=600, max_trials=6)
    _fake_trials(monkeypatch, lambda s: 30.0)
    second = search.tune("mlp", target="accuracy=0.9", budget_s=600, max_trials=3)
    assert second["cached"] == "kept the earlier, faster winner"
    assert cache.lookup("mlp", "synthetic")["time_to_target_s"] == 10.0
    _fake_trials(monkeypatch, lambda s: 30.0)  # another target: its own winner replaces
    third = search.tune("mlp", target="accuracy=0.8", budget_s=600, max_trials=3)
    assert third["cached"] == "replaced" and first["cached"] == "new"
    assert cache.lookup("mlp", "synthetic")["target"] == "accuracy=0.8"


def test_nothing_reached_caches_nothing(fresh_cache, monkeypatch):
    _fake_trials(monkeypatch, lambda s: None)
    result = search.tune("mlp", target="accuracy=0.99", budget_s=600, max_trials=3)
    assert result["winner"] is None and result["speedup"] is None
    assert cache.lookup("mlp", "synthetic") is None
    # The default recipe missed in its epochs: the same recipe, only faster, is not tried.
    default = search.default_recipe(search.registry.get_spec("mlp"))
    same = [
        t for t in result["trials"][1:] if all(t["settings"][k] == v for k, v in default.items())
    ]
    assert same == [] and len(result["trials"]) == 3


def test_recipes_are_seeded_distinct_and_fit_the_task():
    spec = search.registry.get_spec("keras_convnet")
    s = search._Search(
        spec,
        search.tasks.get(spec.task),
        "synthetic",
        search.ztarget.parse("accuracy=0.9", search.tasks.get(spec.task)),
        0.0,
        {},
        ("tensorflow",),
        lambda *a: None,
    )
    a, b = search._recipes(s, [128, 256], 8, seed=1), search._recipes(s, [128, 256], 8, seed=1)
    assert a == b and len(a) == 8 and len({json.dumps(r, sort_keys=True) for r in a}) == 8
    assert {r["batch_size"] for r in a} <= {128, 256}
    assert all(r["model_kwargs"]["dropout"] in (0.5, 0.25, 0.0) for r in a)
    assert all("label_smoothing" in r for r in a)
    assert all("ngrams" not in r["model_kwargs"] for r in a)  # a convnet has none


def test_the_execution_chosen_is_the_one_that_would_train_the_default_route_soonest():
    def row(jit, rate, compile_s):
        return {"settings": {"jit_compile": jit}, "samples_per_s": rate, "compile_s": compile_s}

    # fortunes' measured pair: XLA 2.4x the rate, 0.8 s more to compile
    rows = [row(False, 10_115.0, 0.44), row(True, 24_066.0, 1.26)]
    assert search._fastest(rows, 5 * 2_480)["jit_compile"] is False  # a short run
    assert search._fastest(rows, 6 * 54_000)["jit_compile"] is True  # a long one
    assert search._fastest([{"settings": {}, "status": "failed"}], 100) is None


def test_a_search_tries_fasttext_without_its_bigrams():
    # fastText's bigrams are a design choice the search makes: drawn as the ints the
    # factory takes (1 or 2), never scaled like dropout, and each drawn recipe builds
    spec = search.registry.get_spec("fasttext_classifier")
    task = search.tasks.get(spec.task)
    s = search._Search(
        spec,
        task,
        "synthetic",
        search.ztarget.parse("accuracy=0.9", task),
        0.0,
        {},
        ("tensorflow",),
        lambda *a: None,
    )
    a = search._recipes(s, [64, 128], 8, seed=1)
    drawn = [r["model_kwargs"]["ngrams"] for r in a]
    assert set(drawn) == {1, 2} and all(type(n) is int for n in drawn)
    for n in (1, 2):
        net = search.registry.create_model("fasttext_classifier", ngrams=n, sequence_length=8)
        assert ("bigrams" in [layer.name for layer in net.layers]) == (n == 2)


def test_tuned_training_uses_the_cache_and_says_so(fresh_cache):
    settings = {
        "epochs": 1,
        "batch_size": 50,
        "learning_rate": 0.02,
        "optimizer": "adam",
        "schedule": "one_cycle",
        "jit_compile": False,
        "steps_per_execution": 2,
        "precision": "float32",
    }
    missing = runner.invoke(app, ["train", "linear_regression", "--tuned"])
    assert missing.exit_code == 1 and "zoo tune linear_regression" in missing.output
    cache.store(
        {
            "model": "linear_regression",
            "dataset": "synthetic",
            "backend": cache.backend(),
            "target": "mse=1",
            "settings": settings,
            "time_to_target_s": 3.0,
            "created": "2026-11-30T00:00:00+00:00",
        }
    )
    r = runner.invoke(
        app,
        [
            "train",
            "linear_regression",
            "--tuned",
            "--samples",
            "200",
            "--batch-size",
            "20",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Using the settings tuned on this machine on 2026-11-30" in r.output
    done = json.loads(r.output[r.output.index("{") :])
    config = done["config"]
    assert config["batch_size"] == 20  # the command line wins
    assert (config["learning_rate"], config["schedule"], done["run"]["steps_per_execution"]) == (
        0.02,
        "one_cycle",
        2,
    )
    # An option given at its default value is still given: it wins too.
    again = runner.invoke(
        app,
        [
            "train",
            "linear_regression",
            "--tuned",
            "--samples",
            "200",
            "--schedule",
            "constant",
            "--json",
        ],
    )
    assert json.loads(again.output[again.output.index("{") :])["config"]["schedule"] == "constant"
    shown = runner.invoke(app, ["tune", "--show"])
    assert "linear_regression" in shown.output and "mse=1" in shown.output


@pytest.mark.slow
def test_a_real_search_from_the_command_line(fresh_cache, tmp_path):
    out = tmp_path / "search.json"
    r = runner.invoke(
        app,
        [
            "tune",
            "linear_regression",
            "--target",
            "mse=1.5",
            "--samples",
            "200",
            "--budget",
            "50s",
            "--max-trials",
            "2",
            "--output",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    saved = json.loads(out.read_text())
    assert saved["execution"] and saved["trials"] and saved["budget_s"] == 50
    assert "time to mse=1.5 (validation)" in r.output
    # A winner is cached; a search where no trial reached the target caches nothing.
    cached = cache.lookup("linear_regression", "synthetic")
    assert (cached is not None) == (saved["winner"] is not None)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--dataset", "imagenet"], "Available: synthetic"),
        (["--samples", "0"], "samples"),
        (["--device", "tpu7"], "Unknown device"),
        (["--target", "rmse=1"], "report accuracy, loss"),
        (["--backends", "tensorflow,nope"], "nope"),
    ],
)
def test_tune_mistakes_are_one_line_before_any_trial(args, says, monkeypatch):
    monkeypatch.setattr(search, "run_trial", lambda *a, **k: pytest.fail("a trial ran"))
    base = ["tune", "mlp", "--target", "accuracy=0.9", "--budget", "1m"]
    r = runner.invoke(app, [*base, *args])
    assert r.exit_code in (1, 2) and says in r.output, r.output
    assert "Traceback" not in r.output


def test_the_command_line_tunes_on_the_held_out_seed_and_writes_the_winner(
    fresh_cache, monkeypatch, tmp_path
):
    seen = []

    def seconds_of(s):
        return 10.0 if s.get("schedule") == "one_cycle" else 40.0

    _fake_trials(monkeypatch, seconds_of)
    fake = search.run_trial
    monkeypatch.setattr(search, "run_trial", lambda *a, **k: seen.append(k) or fake(*a, **k))
    out = tmp_path / "search.json"
    args = ["tune", "mlp", "--target", "accuracy=0.9", "--max-trials", "4", "--output", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert {k["seed"] for k in seen} == {search.TUNING_SEED}  # not 0: the suite judges on 0-2
    winner = recipe.read(tmp_path / "search.recipe.toml")
    assert (winner.model, winner.seed, winner.target) == ("mlp", 100, "accuracy=0.9")
    won = json.loads(out.read_text())["winner"]["settings"]
    for key in ("epochs", "batch_size", "learning_rate", "schedule", "optimizer"):
        assert getattr(winner.recipe, key) == won[key]
    assert (winner.run.jit_compile, winner.run.device) == (won["jit_compile"], "auto")
    assert "zoo train --recipe" in r.output
    entry = cache.lookup("mlp", "synthetic")
    assert cache.recipe_of(entry) == winner  # the cache holds the same recipe file
    r = runner.invoke(
        app, ["train", "mlp", "--tuned", "--epochs", "1", "--samples", "128", "--json"]
    )
    assert r.exit_code == 0, r.output
    done = json.loads(r.output[r.output.index("{") :])
    assert done["config"]["epochs"] == 1 and done["config"]["seed"] == 0  # the user's seed
    assert done["config"]["learning_rate"] == won["learning_rate"]
    assert done["run"]["steps_per_execution"] == won["steps_per_execution"]


def test_the_search_space_is_the_fields_spaces():
    import dataclasses

    from zoo.spec import Recipe

    tuned = {f.name for f in dataclasses.fields(Recipe) if f.metadata.get("tune")}
    assert tuned == set(search.TUNED_RECIPE) and "learning_rate" in tuned
    assert search.DEFAULT_EXECUTION == {
        "jit_compile": False,
        "precision": "float32",
        "steps_per_execution": 1,
    }
    spec = search.registry.get_spec("mlp")
    task = search.tasks.get(spec.task)
    s = search._Search(spec, task, "synthetic", None, 0.0, {}, ("tensorflow",), print)
    (drawn,) = search._recipes(s, [64], 1, seed=0)
    assert set(drawn) == tuned  # every tuned field, nothing else


def test_a_killed_search_resumes_from_its_trials_file(fresh_cache, monkeypatch, tmp_path):
    def seconds_of(s):
        return 10.0 if s.get("schedule") == "one_cycle" else 40.0

    args = ["tune", "mlp", "--target", "accuracy=0.9", "--max-trials", "5", "--output"]
    whole = _fake_trials(monkeypatch, seconds_of)
    assert runner.invoke(app, [*args, str(tmp_path / "a.json")]).exit_code == 0
    ran = len(whole)
    calls, fake = [], search.run_trial

    def killed(*a, **k):
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C (or a kill) in the fifth trial
        calls.append(a)
        return fake(*a, **k)

    monkeypatch.setattr(search, "run_trial", killed)
    out = tmp_path / "b.json"
    r = runner.invoke(app, [*args, str(out)])
    assert r.exit_code == 130, r.output
    trials = tmp_path / "b.trials.jsonl"
    lines = trials.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["kind"] == "tune trial"
    with open(trials, "a") as f:
        f.write('{"schema": 2, "kind": "tu')  # the line a killed writer cut short
    again = runner.invoke(app, [*args, str(out)])
    assert again.exit_code == 1 and "--resume" in again.output  # never overwritten
    rest = _fake_trials(monkeypatch, seconds_of)
    r = runner.invoke(app, [*args, str(out), "--resume"])
    assert r.exit_code == 0, r.output
    assert len(rest) == ran - 4  # the four kept trials did not run again
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert [t["settings"] for t in b["trials"]] == [t["settings"] for t in a["trials"]]
    assert b["winner"]["settings"] == a["winner"]["settings"]
    assert len(trials.read_text().splitlines()) == ran
    other = runner.invoke(app, [*args, str(out), "--resume", "--seed", "5"])
    assert other.exit_code == 1 and "holds another search" in other.output


@pytest.mark.slow
def test_a_warm_search_forks_every_trial_from_its_own_daemon(fresh_cache, tmp_path):
    out = tmp_path / "search.json"
    args = ["tune", "linear_regression", "--target", "mse=1.5", "--samples", "200"]
    r = runner.invoke(
        app, [*args, "--budget", "20s", "--max-trials", "2", "--warm", "--output", str(out)]
    )
    assert r.exit_code == 0, r.output
    saved = json.loads(out.read_text())
    assert saved["start"] == "warm"
    raced = [t for t in saved["trials"] if t.get("status") == "ok"]  # the ones to a target
    assert raced and all(t["start"] == "warm" for t in raced)
    assert "forked from the search's zoo daemon" in r.output


def test_a_warm_search_measures_one_backend():
    r = runner.invoke(
        app,
        ["tune", "linear_regression", "--target", "mse=1.5", "--warm", "--backends",
         "tensorflow,jax"],
    )  # fmt: skip
    assert r.exit_code == 2 and "Warm trials run on one backend" in r.output
    with pytest.raises(InvalidArgumentError, match="one backend"):
        search.tune(
            "linear_regression",
            target="mse=1.5",
            samples=200,
            backends=["tensorflow", "jax"],
            daemon_dir="/nonexistent",
        )
