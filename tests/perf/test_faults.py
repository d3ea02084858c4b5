"""Faults: SIGKILL at random moments, a killed bench runner, a full disk, a crashing or
hanging case, and the runner's memory under load."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo import io
from zoo.errors import OutputError
from zoo.perf import runner as perf_runner
from zoo.perf import suite as perf_suite
from zoo.perf import summary as perf_summary


@pytest.mark.slow
def test_random_sigkills_of_training_lose_nothing():
    from benchmarks.faults import kill_resume

    # One run killed at random points until it finishes (`--points 10` for more; the
    # SIGKILL of a known epoch is tests/training/test_checkpoints.py's).
    records = kill_resume.run(points=1, seed=1, epochs=4)
    assert sum(len(r["kills_after_s"]) for r in records) >= 1
    assert all(r["survived"] for r in records), records


TINY = """
[suite]
name = "tiny"
steps = 2
timeout_s = 300
[[case]]
model = "linear_regression"
modes = ["graph"]
batch_sizes = [8, 16, 32, 64]
"""


@pytest.mark.slow
def test_a_killed_bench_runner_leaves_valid_results_and_resumes_the_rest(tmp_path):
    suite, out = tmp_path / "tiny.toml", tmp_path / "r.jsonl"
    suite.write_text(TINY)
    argv = [
        sys.executable,
        "-m",
        "zoo.cli.main",
        "bench",
        "--suite",
        str(suite),
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and len(out.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = perf_runner.read_records(out)  # every line is a whole record
    assert 2 <= len(before) < 4
    r = subprocess.run([*argv, "--resume", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    missing = 4 - len(before)
    ran = [line for line in r.stderr.splitlines() if line.startswith("[")]
    assert len(ran) == missing and ran[-1].startswith(f"[{missing}/{missing}]")  # only those
    after = perf_runner.read_records(out)
    assert len(after) == 4 and after[: len(before)] == before
    assert {a["batch_size"] for a in after} == {8, 16, 32, 64}


def test_a_full_disk_is_one_error_and_the_previous_run_is_intact(tmp_path, mlp_run, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(mlp_run[0], run)
    saved = {p.name: p.read_bytes() for p in run.iterdir()}

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io.os, "replace", no_space)
    with pytest.raises(OutputError, match="No space left on device") as e:
        zoo.train("mlp", epochs=1, samples=512, output=run)
    assert "the previous file is intact" in str(e.value)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == saved
    assert not [p for p in run.rglob("*") if ".tmp" in p.name]  # no temporary files left
    r = CliRunner().invoke(app, ["train", "mlp", "--epochs", "1", "--output", str(run)])
    assert r.exit_code == 1 and "No space left on device" in r.output
    assert "Traceback" not in r.output


def test_crashing_and_hanging_cases_get_their_status_and_the_suite_goes_on(tmp_path):
    suite = perf_suite.load_suite(
        perf_suite.SUITES_DIR / "quick.toml"
    )  # any suite: the runner below decides the outcome
    cases = suite.cases[:3]
    outcomes = iter(
        [
            {"status": "failed", "reason": "exit code -11 (SIGSEGV): Segmentation fault"},
            {"status": "timeout", "reason": "no result within 1 s"},
            {"status": "oom", "reason": "ResourceExhausted"},
        ]
    )
    suite.cases = cases
    records = perf_runner.run_suite(
        suite, tmp_path / "r.jsonl", runner=lambda c, s, t: next(outcomes)
    )
    assert [r["status"] for r in records] == ["failed", "timeout", "oom"]
    rows = perf_summary.summarize(records)
    assert [r["status"] for r in rows] == ["failed", "timeout", "oom"]


def test_a_crashing_worker_process_is_reported_as_failed(tmp_path, monkeypatch):
    # The worker's interpreter dies of a segmentation fault as it starts.
    (tmp_path / "sitecustomize.py").write_text("import os, signal\nos.kill(os.getpid(), 11)\n")
    monkeypatch.setitem(perf_runner.WORKER_ENV, "PYTHONPATH", str(tmp_path))
    record = perf_runner.run_case(perf_suite.Case("mlp", "graph", "float32", 8, "cpu"), 2, 60)
    assert record["status"] == "failed" and "exit code -11 (SIGSEGV)" in record["reason"]


@pytest.mark.slow
def test_the_runner_stays_small_because_cases_run_elsewhere():
    code = "from benchmarks.faults import load; import json; print(json.dumps(load.run(2)))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["ok"] == 2 and report["runner_imported_tensorflow"] is False
    assert report["memory_mb"]["2"]["VmHWM"] < 200  # TensorFlow alone would be ~600 MB


def test_ctrl_c_in_a_benchmark_says_where_the_results_are_and_how_to_finish(tmp_path, monkeypatch):
    out = tmp_path / "r.jsonl"

    def interrupted(suite, output, **kwargs):
        Path(output).write_text('{"case": "a", "repeat": 0, "status": "ok"}\n')
        raise KeyboardInterrupt

    monkeypatch.setattr(perf_runner, "run_suite", interrupted)
    r = CliRunner().invoke(app, ["bench", "--suite", "quick", "--output", str(out)])
    assert r.exit_code == 130 and "Traceback" not in r.output
    assert f"Finished cases are in {out}" in r.output
    assert f"zoo bench --suite quick --output {out} --resume" in r.output.replace("\n", "")
    assert perf_runner.read_records(out)[0]["case"] == "a"


def test_a_torn_last_line_of_a_killed_writer_is_read_past_and_resumed(tmp_path):
    from tests.perf.test_bench import TINY as TWO_CASES
    from tests.perf.test_bench import _fake

    suite = perf_suite.load_suite(_write(tmp_path / "two.toml", TWO_CASES))
    out = tmp_path / "r.jsonl"
    run, calls = _fake({"graph": [100.0] * 2, "xla": [150.0] * 2})
    perf_runner.run_suite(suite, out, runner=run)
    with open(out, "a") as f:  # the third record, cut short as a SIGKILL may leave it
        f.write('{"suite": "tiny", "case": "linear_regression|graph|flo')
    r = CliRunner().invoke(app, ["compare", str(out), str(out)])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    records = perf_runner.run_suite(suite, out, repeat=2, resume=True, runner=run)
    assert len(calls) == 4 and len(records) == 4
    assert [json.loads(line)["repeat"] for line in out.read_text().splitlines()] == [0, 0, 1, 1]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
