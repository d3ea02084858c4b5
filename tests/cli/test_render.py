"""The one renderer: `zoo list` piped and in a narrow terminal, `zoo compare` at 80
columns, and one precision per number column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner
from zoo.cli import render
from zoo.cli.main import app

import zoo

runner = CliRunner()
RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"


@pytest.fixture
def terminal80(monkeypatch):
    """stdout as an 80-column terminal (no colour codes, so lines can be measured)."""
    console = Console(width=80, force_terminal=True, color_system=None, highlight=False)
    monkeypatch.setattr(render, "out", console)
    return console


def _decimals(cell: str) -> int:
    number = re.search(r"[\d,]+(\.\d+)?", cell).group(0)
    return len(number.split(".")[1]) if "." in number else 0


@pytest.mark.parametrize("args", [["list"], ["list", "--plain"]])
def test_list_piped_is_one_model_per_line_tab_separated(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == zoo.list_models()
    for line in lines:
        name, family, task, summary = line.split("\t")
        spec = zoo.get_spec(name)
        assert (family, task, summary) == (spec.family, spec.task, spec.summary)
    assert "transformer_classifier" in [line.split("\t")[0] for line in lines]


def test_list_in_an_80_column_terminal_keeps_every_name_whole(terminal80):
    r = runner.invoke(app, ["list"], env={"COLUMNS": "80"})
    assert r.exit_code == 0 and "\t" not in r.stdout
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    assert "…" not in r.stdout
    first_words = {line.split()[0] for line in r.stdout.splitlines() if line[:1].strip()}
    assert set(zoo.list_models()) <= first_words
    r = runner.invoke(app, ["list", "--plain"], env={"COLUMNS": "80"})
    assert r.stdout.splitlines()[0].count("\t") == 3  # --plain wins over a terminal


def test_list_too_narrow_for_the_names_prints_wider_and_never_cuts(monkeypatch):
    console = Console(width=30, force_terminal=True, color_system=None, highlight=False)
    monkeypatch.setattr(render, "out", console)
    r = runner.invoke(app, ["list", "*classifier"])
    assert "transformer_classifier" in r.stdout and "text_classification" in r.stdout
    assert "…" not in r.stdout


def test_each_number_column_has_one_precision():
    assert render.column([0.5909, 4.405, 12.3], "ms") == ["0.59", "4.41", "12.30"]
    assert render.column([0.7654, 1.27], "s") == ["0.77", "1.27"]
    assert render.column([48442.3, 1177216.4, 255.2], "throughput") == [
        "48,442",
        "1,177,216",
        "255",
    ]
    assert render.column([5.25, 1177216.4], "throughput") == ["5.2", "1,177,216.4"]
    assert render.column([0.0000377, 0.73], "%") == ["0.0%", "73.0%"]
    assert render.column([1.0, 0.09, None], "ratio") == ["1.00", "0.09", "-"]
    assert render.column([604.5, 1520.0], "MB") == ["604", "1,520"]
    assert render.column([1, 1625866], "count") == ["1", "1,625,866"]
    assert render.column([1e-9, 3.0e7], "number")[0] == "0.0000"  # never an exponent
    for kind in render.KINDS:
        cells = render.column([0.000123, 0.5, 7.25, 48442.123, 1e9, None], kind)
        assert len({_decimals(c) for c in cells if c != "-"}) == 1, (kind, cells)
        assert not any("e" in c for c in cells)


def test_compare_at_80_columns_keeps_full_names_and_one_line_per_case(terminal80):
    # A quick run committed earlier, kept as it was (benchmarks/results/ is re-measured).
    quick = str(Path(__file__).parents[1] / "fixtures" / "quick-cpu-before-peak.jsonl")
    r = runner.invoke(app, ["compare", quick, quick], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines) and "…" not in r.stdout
    assert "transformer_classifier" in [line.strip() for line in lines]
    assert "e+" not in r.stdout
    cases = [line for line in lines if line.startswith("  ")]
    assert len(cases) == 12 and all("within noise" in line for line in cases)
    assert "1,177,216" in r.stdout  # thousands separators, not 1.177e+06


def test_bench_table_names_whole_and_one_precision_per_column():
    from zoo import perf
    from zoo.perf import tables

    rows = perf.summarize(perf.read_records(RESULTS / "quick-cpu.jsonl"), "graph")
    console = Console(width=80, color_system=None, record=True)
    console.print(render.rich(tables.bench_table(rows, "graph", title="quick")))
    text = console.export_text()
    assert "…" not in text
    for row in rows:
        assert row["model"] in text
    p50 = render.column([r["infer_p50_ms"] for r in rows], "ms")
    assert len({_decimals(c) for c in p50}) == 1
