"""The live progress line of long commands: on a terminal, what runs, how many are done,
the time so far and left; piped, nothing but each finished item's line."""

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner
from zoo.cli import render
from zoo.cli.main import app
from zoo.cli.views import bench as bench_view

from zoo.perf import runner as perf_runner

SUITE = """
[suite]
name = "three"
steps = 2
[[case]]
model = "linear_regression"
modes = ["graph"]
batch_sizes = [8, 16, 32]
"""


@pytest.fixture
def fake_cases(monkeypatch, tmp_path):
    monkeypatch.setattr(
        perf_runner,
        "_run_worker",
        lambda case, steps, timeout_s: {"status": "ok", "train": {"samples_per_s": 1.0}},
    )
    suite = tmp_path / "three.toml"
    suite.write_text(SUITE)
    return ["bench", "--suite", str(suite), "--output", str(tmp_path / "r.jsonl")]


def test_a_terminal_gets_the_live_line_with_the_time_left(monkeypatch, fake_cases):
    screen = io.StringIO()
    console = Console(
        file=screen, force_terminal=True, color_system=None, highlight=False, width=160
    )
    monkeypatch.setattr(render, "err", console)
    monkeypatch.setattr(bench_view, "err", console)  # the finished cases' lines
    result = CliRunner().invoke(app, fake_cases)
    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    assert "suite three: linear_regression" in shown and "left about" in shown
    assert "3/3" in shown  # done of total
    for n in (1, 2, 3):  # each finished case keeps its own line
        assert f"[{n}/3] linear_regression graph" in shown


def test_piped_output_has_no_live_line(fake_cases):
    result = CliRunner().invoke(app, fake_cases)
    assert result.exit_code == 0, result.output
    assert "left about" not in result.output and "[3/3] linear_regression" in result.output
