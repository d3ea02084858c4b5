"""zoo.table: one table description, several emitters that agree."""

from __future__ import annotations

import csv
import io

import pytest

from zoo.table import Column, Table

ROWS = [
    {"model": "mlp", "rate": 1234.5, "low": 1100.2, "high": 1300.9, "best": True, "r": 1.5},
    {"model": "seed_cnn", "rate": 98.76, "low": None, "high": None, "best": False, "r": None},
]


def _table() -> Table:
    return Table(
        "bench",
        [
            Column("model"),
            Column("samples/s", "throughput", key="rate", spread=("low", "high"), emphasis="best"),
            Column("vs graph", "ratio", key="r", suffix="x", csv="speedup"),
        ],
        ROWS,
    )


def test_one_precision_per_column_from_its_smallest_value():
    cells = _table().column_cells(_table().columns[1])
    # 98.76 keeps two significant digits: no decimals; the bounds share the precision.
    assert [c.text for c in cells] == ["1,234 (1,100-1,301)", "99"]


def test_markdown_and_csv_carry_the_same_figures():
    t = _table()
    md = t.markdown().splitlines()
    assert md[0] == "| model | samples/s | vs graph |"
    assert md[2] == "| mlp | **1,234 (1,100-1,301)** | 1.50x |"
    assert md[3] == "| seed_cnn | 99 | - |"
    rows = list(csv.reader(io.StringIO(t.csv())))
    assert rows[0] == ["model", "samples/s", "samples/s_low", "samples/s_high", "speedup"]
    assert rows[1] == ["mlp", "1234", "1100", "1301", "1.50"]
    assert rows[2] == ["seed_cnn", "99", "", "", ""]


def test_a_function_key_and_missing_values():
    t = Table(None, [Column("n", "count", key=lambda r: len(r["model"]))], ROWS)
    assert [c.text for c in t.column_cells(t.columns[0])] == ["3", "8"]


def test_a_pipe_in_a_cell_does_not_break_the_markdown():
    t = Table(None, [Column("status", "text")], [{"status": "failed: a|b"}])
    assert t.markdown().splitlines()[2] == "| failed: a\\|b |"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown column kind 'speed'"):
        Column("x", "speed")


def test_a_range_of_one_value_is_left_out():
    rows = [{"rate": 5.0, "low": 5.0, "high": 5.0}, {"rate": 6.0, "low": 5.5, "high": 7.0}]
    t = Table(None, [Column("rate", "throughput", spread=("low", "high"))], rows)
    assert [c.text for c in t.column_cells(t.columns[0])] == ["5.0", "6.0 (5.5-7.0)"]


def test_an_interval_is_shown_with_its_verdict_and_only_where_there_is_one():
    rows = [
        {"r": 1.0, "low": None, "high": None, "v": None},  # the baseline itself
        {"r": 1.5, "low": 1.42, "high": 1.61, "v": "faster"},
        {"r": 0.9, "low": 0.8, "high": 1.05, "v": None},  # no verdict: the ratio alone
        {"r": 2.0, "low": 2.0, "high": 2.0, "v": "faster"},  # an interval of one value
    ]
    col = Column("vs graph", "ratio", "r", ("low", "high"), "x", verdict="v", csv="speedup")
    t = Table(None, [col], rows)
    cells = [c.text for c in t.column_cells(col)]
    assert cells == ["1.00x", "1.50x [1.42-1.61] faster", "0.90x", "2.00x [2.00-2.00] faster"]
    got = list(csv.reader(io.StringIO(t.csv())))
    assert got[0] == ["speedup", "speedup_low", "speedup_high", "speedup_verdict"]
    assert got[2] == ["1.50", "1.42", "1.61", "faster"] and got[1] == ["1.00", "", "", ""]


def test_text_in_a_number_column_passes_through_without_its_spread():
    rows = [{"t": "not reached", "low": 10.0, "high": 30.0}, {"t": 12.5, "low": 10.0, "high": 30.0}]
    t = Table(None, [Column("time s", "s", key="t", spread=("low", "high"))], rows)
    assert t.texts() == [["not reached"], ["12 (10-30)"]]
    assert t.header() == ["time s"]
