"""zoo bench --suite time-to-target: the suite file, its runs per seed, the table."""

from __future__ import annotations

import json
import statistics

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo import registry, tasks
from zoo.errors import SuiteError
from zoo.perf import runner as perf_runner
from zoo.perf import suite as perf_suite
from zoo.perf import summary as perf_summary
from zoo.perf import target as perf_target
from zoo.training.target import parse
from zoo.tuning.trial import RUN_KEYS, TRAIN_KEYS

cli = CliRunner()


def test_the_suite_parses_and_every_case_is_valid():
    s = perf_suite.load_suite("time-to-target")
    assert s.kind == "target" and s.repeat == 3
    for case in s.cases:
        spec = registry.get_spec(case.model)  # a registry model
        task = tasks.get(spec.task)
        assert case.dataset in task.datasets
        target = parse(case.target, task)  # a metric its task reports
        assert str(target) == case.target
        assert set(case.overrides) <= set(TRAIN_KEYS) | set(RUN_KEYS)
        assert "epochs" in case.overrides  # each case says how long it may take
    families = {registry.get_spec(c.model).family for c in s.cases}
    assert {"linear", "mlp", "cnn", "rnn", "transformer", "recommender"} <= families
    real = [c for c in s.cases if c.dataset != "synthetic"]
    assert [(c.dataset, c.target) for c in real] == [("fashion_mnist", "accuracy=0.915")]


def _suite(tmp_path, case: str):
    path = tmp_path / "t.toml"
    path.write_text(f'[suite]\nkind = "target"\n\n[[case]]\nmodel = "mlp"\n{case}\n')
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ('target = "rmse=0.3"', "line 6 (mlp): image_classification models report"),
        ('target = "accuracy"', "line 6 (mlp): The target must be METRIC=VALUE"),
        ('target = "accuracy=91"', "line 6 (mlp): accuracy takes values in [0, 1]"),
        ('target = "accuracy=0.9"\nsettings = {epoch = 3}', "unknown setting 'epoch'"),
        ('target = "accuracy=0.9"\ndataset = "movielens"', "unknown dataset 'movielens'"),
        ("settings = {epochs = 3}", "a target case needs `target"),
        ('target = "accuracy=0.9"\nmodes = ["graph"]', "unknown field 'modes' in [[case]]"),
    ],
)
def test_a_wrong_case_is_one_line_naming_it(tmp_path, case, message):
    with pytest.raises(SuiteError, match=None) as e:
        perf_suite.load_suite(_suite(tmp_path, case))
    assert message in str(e.value)


def _record(seed: int, reached: bool, time_s: float, status: str = "ok") -> dict:
    target = {
        "metric": "accuracy",
        "value": 0.9,
        "split": "validation",
        "reached": reached,
        "time_to_target_s": time_s if reached else None,
        "train_time_to_target_s": time_s / 2 if reached else None,
        "steps_to_target": 100 * seed + 100 if reached else None,
        "epochs_to_target": seed + 1.0 if reached else None,
        "test_metric": 0.9 + seed / 100 if reached else None,
    }
    return {
        "kind": "target",
        "case": "mlp|synthetic|accuracy=0.9|{}",
        "repeat": seed,
        "seed": seed,
        "model": "mlp",
        "dataset": "synthetic",
        "target_spec": "accuracy=0.9",
        "tuned": False,
        "status": status,
        **({"target": target} if status == "ok" else {"reason": "stopped after 5 s"}),
        "config": {"epochs": 3, "batch_size": 64, "learning_rate": 0.001, "schedule": "constant"},
        "run": {"jit_compile": False, "precision": "float32"},
    }


def test_a_run_that_never_reached_counts_as_never_in_the_median():
    two_of_three = [_record(0, True, 10.0), _record(1, False, 0), _record(2, True, 30.0)]
    (row,) = perf_target.summarize(two_of_three)
    assert (row["reached"], row["runs"]) == (2, 3)
    assert row["time_to_target_s"] == 30.0  # median of 10, 30 and never
    assert (row["time_to_target_s_min"], row["time_to_target_s_max"]) == (10.0, 30.0)
    assert row["test_metric"] == pytest.approx(0.91)  # over the runs that reached it
    one_of_three = [_record(0, True, 10.0), _record(1, False, 0), _record(2, True, 0, "timeout")]
    (row,) = perf_target.summarize(one_of_three)
    assert row["time_to_target_s"] is None and row["steps_to_target"] is None
    table = perf_target.table([row])
    cells = dict(zip(table.header(), table.texts()[0], strict=True))
    assert cells["time to target s (min-max)"] == "not reached"
    assert cells["steps"] == "not reached" and cells["reached"] == "1/3"


@pytest.mark.slow  # two real training processes: about 11 s
def test_a_tiny_real_run_of_two_seeds(tmp_path):
    out = tmp_path / "ttt.jsonl"
    args = ["bench", "--suite", "time-to-target", "--models", "linear_regression"]
    result = cli.invoke(app, [*args, "--repeat", "2", "--output", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seed"] for r in records] == [0, 1]
    assert all(r["kind"] == "target" and r["status"] == "ok" for r in records)
    assert all(r["schema"] == 2 and r["provenance"]["machine"]["cores"] for r in records)
    assert all(r["target"]["split"] == "validation" for r in records)
    assert all(r["target"]["reached"] for r in records)  # the target sits in reach
    times = [r["target"]["time_to_target_s"] for r in records]
    (row,) = perf_target.summarize(records)
    assert row["time_to_target_s"] == pytest.approx(statistics.median(times))
    assert row["seeds"] == [0, 1] and row["reached"] == 2
    median = perf_summary.format_spread([row], "time_to_target_s", "s", only_when_varies=True)
    assert median[0] in result.output  # the printed median and its range
    assert "linear_regression" in result.output and "2/2" in result.output
    assert "mse=" in result.output and "validation split" in result.output
    assert out.with_suffix(".md").read_text().count("linear_regression") == 1
    assert out.with_suffix(".csv").is_file()


def test_fashion_mnist_is_skipped_when_it_is_not_prepared(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    out = tmp_path / "fm.jsonl"
    args = ["bench", "--suite", "time-to-target", "--models", "seed_cnn", "--repeat", "2"]
    result = cli.invoke(app, [*args, "--output", str(out)])
    assert result.exit_code == 0, result.output
    records = perf_runner.read_records(out)
    assert [(r["dataset"], r["status"]) for r in records] == [("fashion_mnist", "skipped")] * 2
    reason = records[0]["reason"]
    assert "not prepared" in reason and "zoo data prepare fashion_mnist --from DIR" in reason
    assert "\n" not in reason and "skipped" in result.output


def test_tuned_belongs_to_the_time_to_target_suite():
    result = cli.invoke(app, ["bench", "--suite", "quick", "--tuned", "--output", "x.jsonl"])
    assert result.exit_code == 2
    assert "--tuned applies to a time-to-target suite" in result.output


def test_a_tuned_case_shows_its_speedup_over_the_default():
    tuned = [{**_record(s, True, t), "tuned": True, "case": "tuned"} for s, t in ((0, 5), (1, 6))]
    default = [_record(0, True, 20.0), _record(1, True, 30.0)]
    rows = perf_target.summarize(default + tuned)
    assert [r["tuned"] for r in rows] == [False, True]
    assert rows[0]["vs_default"] is None
    # Paired by seed: 20/5 and 30/6, their geometric mean and its interval.
    assert rows[1]["vs_default"] == pytest.approx((4.0 * 5.0) ** 0.5)
    assert rows[1]["vs_default_pairs"] == 2
    assert rows[1]["vs_default_low"] < rows[1]["vs_default"] < rows[1]["vs_default_high"]
    assert rows[1]["vs_default_verdict"] == "faster"  # 2 pairs, both 4x-5x: the interval > 1
    table = perf_target.table(rows)
    head, body = table.header(), table.texts()
    vs_head = "vs default [95% interval]"
    assert vs_head in head and body[1][0] == "mlp (tuned)"
    vs = body[1][head.index(vs_head)]
    assert vs.startswith("4.47x [") and vs.endswith("faster")
    assert body[0][head.index(vs_head)] == "-"
    assert body[1][head.index("checks every (steps)")] == "-"  # no steps_per_epoch recorded


def test_the_ceiling_is_the_default_time_over_the_routes_fixed_phases():
    """What a route could gain if its training and checks were free: per seed, the
    default's time over the route's start, data, build, probe and compilation; shown
    beside the speed-up, and "-" where the records hold no phases."""

    def phased(seed, time_s, fixed):
        r = {**_record(seed, True, time_s), "tuned": True, "case": "tuned"}
        start, rest = fixed / 2, fixed / 8  # start, then data, build, probe and compile
        phases = dict.fromkeys(("data_s", "build_s", "xla_probe_s", "compile_s"), rest)
        r["target"]["phases"] = {"start_s": start, **phases, "train_s": 1.0, "checks_s": 0.5}
        return r

    default = [_record(0, True, 6.0), _record(1, True, 8.0)]
    rows = perf_target.summarize(default + [phased(0, 4.0, 3.0), phased(1, 5.0, 2.0)])
    assert rows[1]["vs_default_ceiling"] == pytest.approx((6 / 3 * 8 / 2) ** 0.5)
    table = perf_target.table(rows)
    head, body = table.header(), table.texts()
    assert body[1][head.index("ceiling")] == "2.83x" and body[0][head.index("ceiling")] == "-"
    assert "ceiling is the most the route could gain" in perf_target.NOTE
    bare = [{**_record(s, True, t), "tuned": True, "case": "tuned"} for s, t in ((0, 4), (1, 5))]
    assert perf_target.summarize(default + bare)[1]["vs_default_ceiling"] is None


def test_a_tuned_speedup_within_the_noise_is_no_difference():
    times = ((0, 10.0, 10.5), (1, 12.0, 11.0), (2, 9.0, 9.4))
    default = [_record(s, True, d) for s, d, _ in times]
    tuned = [{**_record(s, True, t), "tuned": True, "case": "tuned"} for s, _, t in times]
    _, row = perf_target.summarize(default + tuned)
    assert row["vs_default_low"] < 1 < row["vs_default_high"]
    assert row["vs_default_verdict"] == "no difference detected"
    assert row["vs_default_repeats_needed"] is None or row["vs_default_repeats_needed"] > 3
    table = perf_target.table([row])
    vs = table.texts()[0][table.header().index("vs default [95% interval]")]
    assert "no difference" in vs and "faster" not in vs


def test_only_seeds_where_both_reached_are_paired():
    default = [_record(0, True, 20.0), _record(1, False, 0), _record(2, True, 30.0)]
    tuned = [{**_record(s, True, 10.0), "tuned": True, "case": "tuned"} for s in (0, 1, 2)]
    _, row = perf_target.summarize(default + tuned)
    assert row["vs_default_pairs"] == 2 and row["vs_default"] == pytest.approx(6**0.5)


def _case(**changes) -> perf_target.TargetCase:
    return perf_target.TargetCase("mlp", "synthetic", "accuracy=0.9", **changes)


def test_default_and_tuned_alternate_across_seeds():
    default, tuned = _case(), _case(tuned=True, settings='{"epochs": 3, "batch_size": 32}')
    other = perf_target.TargetCase("lstm_classifier", "synthetic", "accuracy=1")
    todo = [(s, c) for s in range(4) for c in (default, tuned, other)]
    order = [(s, "tuned" if c.tuned else c.model) for s, c in perf_target.alternate(todo)]
    assert order == [
        (0, "mlp"), (0, "tuned"), (0, "lstm_classifier"),
        (1, "tuned"), (1, "mlp"), (1, "lstm_classifier"),
        (2, "mlp"), (2, "tuned"), (2, "lstm_classifier"),
        (3, "tuned"), (3, "mlp"), (3, "lstm_classifier"),
    ]  # fmt: skip


def test_a_tuned_recipe_equal_to_the_default_is_said_so():
    assert perf_target.same_recipe("mlp", {"epochs": 3}, {"epochs": 3}) == "same as default"
    assert perf_target.same_recipe("mlp", {"epochs": 3}, {"epochs": 9}) == (
        "same as default but its epoch limit (3 -> 9)"
    )
    # Under a schedule that spans the run, the epoch limit changes every step: not the same.
    cosine = {"schedule": "warmup_cosine"}
    assert perf_target.same_recipe("mlp", {"epochs": 3, **cosine}, {"epochs": 9, **cosine}) is None
    assert perf_target.same_recipe("mlp", {"epochs": 3}, {"epochs": 3, "batch_size": 32}) is None


def _fake_trial(calls):
    def run_trial(model, dataset, settings, *, seed, **kwargs):
        calls.append((seed, dict(settings)))
        time_s = 10.0 + seed if settings.get("batch_size") != 256 else 5.0 + seed
        record = _record(seed, True, time_s)
        return {k: record[k] for k in ("status", "target", "config", "run")}

    return run_trial


def _tuned_suite(monkeypatch, out, entry: dict, repeat: int):
    """`zoo bench --suite time-to-target --models mlp --tuned` with `entry` as mlp's cached
    recipe and a fake trial: the CLI's result and the (seed, settings) of each trial."""
    from zoo.tuning import cache, trial

    monkeypatch.setattr(cache, "lookup", lambda m, d, b=None: entry if m == "mlp" else None)
    calls: list = []
    monkeypatch.setattr(trial, "run_trial", _fake_trial(calls))
    args = ["bench", "--suite", "time-to-target", "--models", "mlp", "--tuned"]
    result = cli.invoke(app, [*args, "--repeat", str(repeat), "--output", str(out)])
    assert result.exit_code == 0, result.output
    return result, calls


def test_the_suite_never_judges_a_tuned_recipe_on_its_search_seed(tmp_path, monkeypatch):
    """Through the CLI, as a user runs it: the cached winner was searched on seed 1."""
    entry = {"settings": {"epochs": 3, "batch_size": 256}, "backend": "tensorflow", "seed": 1}
    out = tmp_path / "ttt.jsonl"
    result, calls = _tuned_suite(monkeypatch, out, entry, repeat=3)
    tuned_seeds = [seed for seed, settings in calls if settings.get("batch_size") == 256]
    assert tuned_seeds == [0, 2]  # never seed 1, the search's
    records = perf_runner.read_records(out)
    (held,) = [r for r in records if r["tuned"] and r["seed"] == 1]
    assert held["status"] == "skipped" and "the one its search ran on" in held["reason"]
    assert [(r["seed"], r["tuned"]) for r in records] == [
        (0, False),
        (0, True),
        (1, True),
        (1, False),
        (2, False),
        (2, True),
    ]  # alternating
    _, row = perf_target.summarize(records)
    assert row["vs_default_pairs"] == 2 and row["vs_default"] == pytest.approx((2 * 12 / 7) ** 0.5)
    assert "vs default" in result.output


def test_a_tuned_twin_that_is_the_default_is_not_run(tmp_path, monkeypatch):
    entry = {"settings": {"epochs": 3}, "backend": "tensorflow", "seed": 100}
    out = tmp_path / "same.jsonl"
    _, calls = _tuned_suite(monkeypatch, out, entry, repeat=2)
    assert [seed for seed, _ in calls] == [0, 1]  # the default's runs only
    _, row = perf_target.summarize(perf_runner.read_records(out))
    assert row["status"] == "skipped" and row["same_as_default"] == "same as default"
    table = perf_target.table([row])
    assert table.texts()[0][table.header().index("vs default [95% interval]")] == "same as default"


def test_tuned_twins_come_from_the_cache_of_this_machine(monkeypatch):
    from zoo.tuning import cache

    # As zoo tune caches a winner: its settings name the backend it was found on.
    settings = {"batch_size": 256, "learning_rate": 0.003, "backend": "jax"}
    found = {("mlp", "synthetic"): {"settings": settings, "backend": "jax"}}
    monkeypatch.setattr(cache, "lookup", lambda m, d, b=None: found.get((m, d)))
    cases = perf_suite.load_suite("time-to-target").cases
    twins, missing = perf_target.with_tuned(cases)
    assert len(twins) == len(cases) + 1 and len(missing) == len(cases) - 1
    default, tuned = [c for c in twins if c.model == "mlp"]
    assert not default.tuned and tuned.tuned and tuned.key != default.key
    assert tuned.overrides == {"epochs": 3, "batch_size": 256, "learning_rate": 0.003}
    assert tuned.backend == "jax" and default.backend == "tensorflow"
    from zoo.tuning.trial import RUN_KEYS, TRAIN_KEYS

    assert set(tuned.overrides) <= {*TRAIN_KEYS, *RUN_KEYS}  # what run_trial accepts


def test_the_fast_suite_runs_each_preset_against_its_baseline_through_the_cli(
    tmp_path, monkeypatch
):
    """`zoo bench --suite fast`: the preset's case takes its model, data, target and
    settings from the shipped recipe, runs beside seed_cnn's default in alternating order,
    and its speed-up is over seed_cnn's time, paired by seed."""
    from zoo import recipe
    from zoo.tuning import trial

    s = perf_suite.load_suite("fast")
    base, preset = s.cases[:2]
    # Every preset of the suite runs beside the default route of the model it is against.
    defaults = {c.model for c in s.cases if not c.challenger}
    assert all(c.against in defaults for c in s.cases if c.challenger)
    assert {c.preset for c in s.cases if c.challenger} == set(__import__("zoo").presets.names())
    shipped = recipe.read("fast-fashion-mnist")
    assert (base.model, base.against, base.challenger) == ("seed_cnn", None, False)
    assert (preset.model, preset.dataset, preset.target) == (
        shipped.model,
        shipped.data.dataset,
        shipped.target,
    )
    assert preset.against == "seed_cnn" and preset.challenger and not preset.tuned
    assert preset.overrides["schedule"] == shipped.recipe.schedule
    assert preset.overrides["check_from"] == shipped.check_from == 2
    assert "eval_every" not in preset.overrides  # checked once, at the end of its cycle
    assert (base.dataset, base.target) == (preset.dataset, preset.target)

    calls: list = []

    def run_trial(model, dataset, settings, *, seed, **kwargs):
        calls.append((seed, model))
        record = _record(seed, True, (4.0 if model == "fast_cnn" else 40.0) + seed)
        record["target"]["phases"] = {"start_s": 2.0, "data_s": 0.5, "compile_s": 0.5}
        return {k: record[k] for k in ("status", "target", "config", "run")}

    monkeypatch.setattr(trial, "run_trial", run_trial)
    monkeypatch.setattr(perf_target, "missing_dataset", lambda dataset: None)
    out = tmp_path / "fast.jsonl"
    args = ["bench", "--suite", "fast", "--repeat", "3", "--output", str(out)]
    args += ["--models", "seed_cnn,fast_cnn"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls == [
        (0, "seed_cnn"), (0, "fast_cnn"),
        (1, "fast_cnn"), (1, "seed_cnn"),
        (2, "seed_cnn"), (2, "fast_cnn"),
    ]  # fmt: skip
    rows = perf_target.summarize(perf_runner.read_records(out))
    (row,) = [r for r in rows if r["model"] == "fast_cnn"]
    expected = statistics.geometric_mean([40 / 4, 41 / 5, 42 / 6])
    assert row["vs_default"] == pytest.approx(expected) and row["vs_default_pairs"] == 3
    ceiling = statistics.geometric_mean([40 / 3, 41 / 3, 42 / 3])  # over 3 s before training
    assert row["vs_default_ceiling"] == pytest.approx(ceiling)
    assert "ceiling" in result.output and f"{ceiling:.2f}x" in result.output
    table = perf_target.table(rows)
    labels = [line[0] for line in table.texts()]
    assert "fast_cnn (preset fast-fashion-mnist, vs seed_cnn default)" in labels
    assert "fast-fashion-mnist" in result.output


@pytest.mark.parametrize(
    "case, message",
    [
        ('preset = "no-such-preset"', "No recipe file or preset named 'no-such-preset'"),
        ('preset = "fast-fashion-mnist"\nagainst = "nope"', "Unknown model 'nope'"),
        (
            'preset = "fast-fashion-mnist"\nagainst = "lstm_classifier"',
            "lstm_classifier is a text_classification model",
        ),
    ],
)
def test_a_wrong_preset_or_baseline_is_one_line_naming_it(tmp_path, case, message):
    path = tmp_path / "t.toml"
    path.write_text(f'[suite]\nkind = "target"\n\n[[case]]\n{case}\n')
    with pytest.raises(SuiteError) as e:
        perf_suite.load_suite(path)
    assert message in str(e.value)


def test_warm_belongs_to_the_time_to_target_suites():
    result = cli.invoke(app, ["bench", "--suite", "quick", "--warm", "--output", "x.jsonl"])
    assert result.exit_code == 2
    assert "--warm applies to a time-to-target suite" in result.output


def test_a_warm_suite_runs_on_one_backend():
    cases = [perf_target.TargetCase("mlp", "synthetic", "accuracy=0.9", backend=b) for b in
             ("tensorflow", "jax")]  # fmt: skip
    with pytest.raises(perf_target.InvalidArgumentError, match="one backend; these cases run"):
        with perf_target.warm(cases):
            pass


def test_a_table_of_warm_runs_says_they_were_warm():
    cold = perf_target.summarize([_record(s, True, 10.0) for s in range(2)])
    warm_records = [_record(s, True, 2.0) for s in range(2)]
    for r in warm_records:
        r["target"]["start"] = "warm"
    warm = perf_target.summarize(warm_records)
    assert cold[0]["start"] == "cold" and warm[0]["start"] == "warm"
    assert "start" not in perf_target.table(cold).markdown()
    assert perf_target.note(cold) == perf_target.NOTE
    assert "| warm |" in perf_target.table(warm).markdown().replace("  ", " ")
    assert perf_target.note(warm).endswith(perf_target.WARM_NOTE)
    mixed = perf_target.summarize([*warm_records, _record(2, True, 9.0)])
    assert mixed[0]["start"] == "mixed"


@pytest.mark.slow
def test_a_warm_bench_forks_every_run_from_its_own_daemon(tmp_path):
    out = tmp_path / "fast.jsonl"
    args = ["bench", "--suite", "fast", "--warm", "--models", "fasttext_classifier"]
    result = cli.invoke(app, [*args, "--repeat", "1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    records = perf_runner.read_records(out)
    assert [(r["preset"], r["status"], r["target"]["start"]) for r in records] == [
        ("fast-text", "ok", "warm")
    ]
    assert "start warm" in out.with_suffix(".md").read_text()
