"""A sharded search through the command line: `zoo tune NAME --shard I/N --output F` runs
every N-th recipe trial of the search's queue, caches nothing, and `zoo tune merge`
gives the search's winner, the fastest trial of any shard, over the same trials as an
unsharded search. Shards of different searches or machines, or the same shard twice, are
refused in one line; a missing shard exits 1. Trials are faked (tests/tuning/test_tune.py)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo import recipe
from zoo.tuning import cache, search

from .test_tune import _fake_trials, fresh_cache  # noqa: F401 (a fixture)

runner = CliRunner()
TUNE = ["tune", "mlp", "--target", "accuracy=0.9", "--max-trials", "6"]


def seconds_of(settings: dict) -> float:
    """The default route takes 40 s, a one-cycle recipe 10 s, another 25 s."""
    if not settings["jit_compile"]:
        return 40.0
    return 10.0 if settings.get("schedule") == "one_cycle" else 25.0


@pytest.fixture
def shards(fresh_cache, monkeypatch, tmp_path):  # noqa: F811
    """The two shards' files of one search, and the search run whole."""
    _fake_trials(monkeypatch, seconds_of)
    out = tmp_path / "s.json"
    for i in range(2):
        r = runner.invoke(app, [*TUNE, "--shard", f"{i}/2", "--output", str(out)])
        assert r.exit_code == 0, r.output
        assert "not cached: merge the shards with `zoo tune merge`" in r.output
    assert cache.lookup("mlp", "synthetic") is None  # a shard's best is not the search's
    files = [tmp_path / f"s-shard-{i}-of-2.json" for i in range(2)]
    whole = search.tune("mlp", target="accuracy=0.9", budget_s=600, max_trials=6)
    return files, whole


def _settings(trials: list[dict]) -> list[str]:
    return sorted(json.dumps(t["settings"], sort_keys=True) for t in trials)


def test_the_merged_search_has_the_whole_searchs_trials_and_its_winner(shards, tmp_path):
    files, whole = shards
    parts = [json.loads(f.read_text()) for f in files]
    for i, part in enumerate(parts):
        assert part["shard"] == {"index": i, "count": 2, "size": len(part["trials"])}
        assert {t["queue_index"] % 2 for t in part["trials"]} == {i}
    out = tmp_path / "merged.json"
    r = runner.invoke(app, ["tune", "merge", *map(str, files), "--output", str(out)])
    assert r.exit_code == 0, r.output
    merged = json.loads(out.read_text())
    assert _settings(merged["trials"]) == _settings(whole["trials"])
    assert [t["queue_index"] for t in merged["trials"]] == list(range(6))
    assert merged["winner"]["settings"] == whole["winner"]["settings"]
    assert merged["winner"]["time_to_target_s"] == 10.0
    assert merged["default"]["shard"] == 0 and merged["default"]["time_to_target_s"] == 40.0
    assert merged["speedup"] == pytest.approx(4.0)
    assert merged["merged_shards"] == {
        "count": 2, "found": [0, 1], "fastest_execution_agrees": True
    }  # fmt: skip
    found = recipe.read(tmp_path / "merged.recipe.toml")
    assert found.recipe.schedule == merged["winner"]["settings"]["schedule"] == "one_cycle"
    assert "Merged 2 of 2 shard(s)" in r.output and "Not cached here" in r.output


def test_a_missing_shard_is_listed_and_exits_1(shards, tmp_path):
    files, _ = shards
    r = runner.invoke(app, ["tune", "merge", str(files[1]), "--output", str(tmp_path / "m.json")])
    assert r.exit_code == 1, r.output
    assert "shard 0 of 2 is missing: run it with --shard 0/2." in r.output


def _bad_merge(tmp_path, files) -> str:
    r = runner.invoke(app, ["tune", "merge", *map(str, files), "--output", str(tmp_path / "x")])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and not (tmp_path / "x").exists()
    return r.output


def test_shards_of_another_machine_search_or_the_same_shard_twice_are_refused(shards, tmp_path):
    files, _ = shards
    other = json.loads(files[1].read_text())
    other["provenance"]["machine"]["cpu_flags"] = ["sse4_2"]
    (tmp_path / "other.json").write_text(json.dumps(other))
    said = _bad_merge(tmp_path, [files[0], tmp_path / "other.json"])
    assert "differ in machine" in said
    target = {**json.loads(files[1].read_text()), "target": "accuracy=0.95"}
    (tmp_path / "target.json").write_text(json.dumps(target))
    assert "differ in target" in _bad_merge(tmp_path, [files[0], tmp_path / "target.json"])
    assert "are both shard 0" in _bad_merge(tmp_path, [files[0], files[0]])
    whole = {k: v for k, v in json.loads(files[0].read_text()).items() if k != "shard"}
    (tmp_path / "whole.json").write_text(json.dumps(whole))
    assert "is not one shard of a search" in _bad_merge(tmp_path, [tmp_path / "whole.json"])
    (tmp_path / "torn.json").write_text("{")
    assert "Cannot read" in _bad_merge(tmp_path, [tmp_path / "torn.json"])


@pytest.mark.parametrize(
    "args, says",
    [
        ([*TUNE, "--shard", "0/2"], "none was given"),
        ([*TUNE, "--shard", "2/2", "--output", "s.json"], "shard index 2 is not in 0..1"),
        (["tune", "mlp", "lstm_classifier", "--target", "accuracy=0.9"], "takes one model name"),
        (["tune", "merge"], "needs the shards' files and --output"),
        (
            [
                "tune",
                "--task",
                "image_classification",
                "--target",
                "accuracy=0.9",
                "--shard",
                "0/2",
            ],
            "takes no --shard",
        ),  # fmt: skip
    ],
)
def test_shard_mistakes_are_one_line_before_any_trial(args, says, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(search, "run_trial", lambda *a, **k: pytest.fail("a trial ran"))
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert says in r.output and "Traceback" not in r.output


def test_a_kubernetes_pod_takes_its_shard_from_job_completion_index(
    fresh_cache,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    _fake_trials(monkeypatch, seconds_of)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    r = runner.invoke(app, [*TUNE, "--shard", "2", "--output", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    done = json.loads((tmp_path / "s-shard-1-of-2.json").read_text())
    assert done["shard"]["index"] == 1 and {t["queue_index"] for t in done["trials"]} == {1, 3, 5}
