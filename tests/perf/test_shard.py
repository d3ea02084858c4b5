"""Shards of a suite (`zoo bench --shard I/N`) and their merge (`zoo bench merge`): the
index from the flag or a job engine's variable, the split, and the merge's refusals."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo.errors import InvalidArgumentError
from zoo.perf import runner as perf_runner
from zoo.perf import shard as zshard

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]

SUITE = """
[suite]
name = "sharded"
steps = 2
[[case]]
model = "linear_regression"
modes = ["graph"]
batch_sizes = [8, 16, 32, 64, 128]
"""


K8S = "JOB_COMPLETION_INDEX of a Kubernetes Indexed Job"
SLURM = "SLURM_ARRAY_TASK_ID of a SLURM job array"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("1/4", {}, (1, 4, "--shard")),
        ("0/1", {"JOB_COMPLETION_INDEX": "3"}, (0, 1, "--shard")),  # the flag wins
        ("4", {"JOB_COMPLETION_INDEX": "2"}, (2, 4, K8S)),
        ("3", {"SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "5"}, (1, 3, SLURM)),
        ("3", {"SLURM_ARRAY_TASK_ID": "2"}, (2, 3, SLURM)),
    ],
)  # fmt: skip
def test_the_index_comes_from_the_flag_or_the_job_engine(text, env, expected):
    s = zshard.parse(text, env)
    assert (s.index, s.count, s.source) == expected


@pytest.mark.parametrize(
    ("text", "env", "says"),
    [
        ("4/4", {}, "shard index 4 is not in 0..3"),
        ("a/b", {}, "is not I/N or N"),
        ("0", {}, "at least 1"),
        ("4", {}, "none is set"),
        ("2", {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "4"}, "index 3 is not in 0..1"),
    ],
)
def test_bad_shards_say_what_is_allowed(text, env, says):
    with pytest.raises(InvalidArgumentError, match=says):
        zshard.parse(text, env)


def test_shards_split_the_cases_without_overlap_and_cover_them():
    items = list(range(11))
    parts = [zshard.Shard(i, 3).take(items) for i in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]


@pytest.fixture
def fake_worker(monkeypatch):
    """Every case 'runs' at once: a record with the batch as its speed."""

    def worker(case, steps, timeout_s):
        return {"status": "ok", "train": {"samples_per_s": float(case.batch_size)}}

    monkeypatch.setattr(perf_runner, "_run_worker", worker)


def _bench(tmp_path, *args):
    suite = tmp_path / "sharded.toml"
    suite.write_text(SUITE)
    return runner.invoke(app, ["bench", "--suite", str(suite), *args])


def _keys(path):
    return [(r["batch_size"], r["shard"]) for r in map(json.loads, path.read_text().splitlines())]


def test_shards_run_through_the_cli_and_merge_into_the_whole_suite(tmp_path, fake_worker):
    outs = [tmp_path / f"s{i}.jsonl" for i in range(2)]
    r = _bench(tmp_path, "--shard", "0/2", "--output", str(outs[0]))
    assert r.exit_code == 0, r.output
    assert "3 cases x 1 repeat(s) (shard 0 of 2, from --shard)" in r.output
    assert _keys(outs[0]) == [(b, {"index": 0, "count": 2, "size": 3}) for b in (8, 32, 128)]
    # The second shard takes its index from a Kubernetes Indexed Job's variable.
    r = runner.invoke(
        app,
        ["bench", "--suite", str(tmp_path / "sharded.toml"), "--shard", "2"]
        + ["--output", str(outs[1])],
        env={"JOB_COMPLETION_INDEX": "1"},
    )
    assert r.exit_code == 0, r.output
    assert [k[0] for k in _keys(outs[1])] == [16, 64]

    merged = tmp_path / "all.jsonl"
    r = runner.invoke(app, ["bench", "merge", *map(str, outs), "--output", str(merged)])
    assert r.exit_code == 0, r.output
    assert "Merged 5 records of 2 of 2 shard(s)" in r.output
    assert sorted(k[0] for k in _keys(merged)) == [8, 16, 32, 64, 128]
    assert (tmp_path / "all.md").is_file() and (tmp_path / "all.csv").is_file()


def test_merge_lists_what_is_missing_and_exits_1(tmp_path, fake_worker):
    out = tmp_path / "s0.jsonl"
    assert _bench(tmp_path, "--shard", "0/3", "--output", str(out)).exit_code == 0
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-1]) + "\n")  # shard 0 lost its last case
    r = runner.invoke(app, ["bench", "merge", str(out), "--output", str(tmp_path / "m.jsonl")])
    assert r.exit_code == 1
    assert "shard 1 of 3 is missing: run it with --shard 1/3" in r.output
    assert "shard 2 of 3 is missing" in r.output
    assert "shard 0 is missing 1 run(s)" in r.output
    assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 1


def test_merge_refuses_duplicates_and_disagreeing_shards_and_writes_nothing(tmp_path, fake_worker):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert _bench(tmp_path, "--shard", "0/2", "--output", str(a)).exit_code == 0
    assert _bench(tmp_path, "--shard", "1/2", "--output", str(b)).exit_code == 0
    merged = tmp_path / "m.jsonl"
    r = runner.invoke(app, ["bench", "merge", str(a), str(a), "--output", str(merged)])
    assert r.exit_code == 2 and "are both shard 0" in r.output and not merged.exists()
    # Shard 1 measured with another Keras: not one run.
    records = [json.loads(line) for line in b.read_text().splitlines()]
    for rec in records:
        rec["provenance"]["versions"]["keras"] = "0.0.1"
    b.write_text("".join(json.dumps(rec) + "\n" for rec in records))
    r = runner.invoke(app, ["bench", "merge", str(a), str(b), "--output", str(merged)])
    assert r.exit_code == 2 and "differ in versions" in r.output and not merged.exists()
    # The same case in two shards' files.
    dup = tmp_path / "dup.jsonl"
    first = json.loads(a.read_text().splitlines()[0])
    dup.write_text(json.dumps({**first, "shard": {**first["shard"], "index": 1}}) + "\n")
    r = runner.invoke(app, ["bench", "merge", str(a), str(dup), "--output", str(merged)])
    assert r.exit_code == 2 and "both hold case linear_regression" in r.output
    r = runner.invoke(app, ["bench", "merge", str(tmp_path / "no.jsonl"), "--output", str(merged)])
    assert r.exit_code == 2 and "No results file" in r.output and "Traceback" not in r.output


def test_a_shard_with_against_or_a_bad_shard_is_one_line_exit_2(tmp_path):
    r = _bench(tmp_path, "--shard", "0/2", "--against", sys.executable)
    assert r.exit_code == 2 and "--shard splits a suite" in r.output
    r = _bench(tmp_path, "--shard", "5/2")
    assert r.exit_code == 2 and "shard index 5 is not in 0..1" in r.output


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["kubernetes", "slurm"])
def test_the_documented_job_scripts_run_their_shards_on_one_machine(tmp_path, engine):
    """docs/benchmarks.md's Indexed Job and SLURM array, run here with their variables set:
    each shard a real `zoo bench` process, then the merge."""
    script = ROOT / "benchmarks" / "shards" / f"{engine}.sh"
    env = {**os.environ, "ZOO_SUITE": str(tmp_path / "sharded.toml"), "RESULTS": str(tmp_path)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    (tmp_path / "sharded.toml").write_text(SUITE.replace("[8, 16, 32, 64, 128]", "[8, 16]"))
    for i in range(2):
        variables = (
            {"JOB_COMPLETION_INDEX": str(i)}
            if engine == "kubernetes"
            else {"SLURM_ARRAY_TASK_ID": str(i + 1), "SLURM_ARRAY_TASK_MIN": "1"}
        )
        run = subprocess.run(
            ["bash", str(script)], env={**env, **variables}, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr[-2000:]
    files = sorted(tmp_path.glob("sharded-shard-*.jsonl"))
    assert len(files) == 2
    r = runner.invoke(
        app, ["bench", "merge", *map(str, files), "--output", str(tmp_path / "all.jsonl")]
    )
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert sorted(rec["batch_size"] for rec in records) == [8, 16]
    assert all(rec["status"] == "ok" for rec in records)


def test_three_shards_of_the_quick_suite_merge_into_the_unsharded_run(tmp_path, fake_worker):
    """The issue's check: quick at 0/3, 1/3 and 2/3, merged, holds exactly the cases (and
    repeats) of one unsharded run."""
    whole = tmp_path / "whole.jsonl"
    args = ["bench", "--suite", "quick", "--repeat", "2"]
    assert runner.invoke(app, [*args, "--output", str(whole)]).exit_code == 0
    parts = [tmp_path / f"q{i}.jsonl" for i in range(3)]
    for i, part in enumerate(parts):
        r = runner.invoke(app, [*args, "--shard", f"{i}/3", "--output", str(part)])
        assert r.exit_code == 0, r.output
    merged = tmp_path / "merged.jsonl"
    r = runner.invoke(app, ["bench", "merge", *map(str, parts), "--output", str(merged)])
    assert r.exit_code == 0, r.output

    def keys(path):
        return sorted(
            (rec["case"], rec["repeat"]) for rec in map(json.loads, path.read_text().splitlines())
        )

    assert keys(merged) == keys(whole) and len(keys(whole)) == 24
