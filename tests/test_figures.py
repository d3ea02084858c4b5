"""benchmarks/figures.py: a figure on a hand-written page needs a committed file behind it."""

from __future__ import annotations

import json

from benchmarks import figures


def _project(tmp_path, page: str, record: dict) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "README.md").write_text("# zoo\n")
    (tmp_path / "docs" / "guide.md").write_text(page)
    (tmp_path / "docs" / "results.md").write_text("| a | 2,908 samples/s |\n")  # generated
    line = json.dumps(record) + "\n"
    (tmp_path / "benchmarks" / "results" / "quick-cpu.jsonl").write_text(line)


def test_a_figure_no_file_holds_is_named_with_its_line(tmp_path):
    record = {"samples_per_s": 1462.37, "ratio": 0.5213, "flops_per_s": 1.4303e11, "mfu": 0.664}
    page = (
        "seed_cnn trains at 1,462 samples/s (143.03 GFLOP/s, MFU 66.4%).\n"
        "XLA gives 0.52x here.\n"
        "A figure typed from memory: 1,568 samples/s and 1.55x.\n"
        "The tolerance is 1,032 eps, from the formula. <!-- derived -->\n"
        "The generated page's 2,908 samples/s counts too.\n"
    )
    _project(tmp_path, page, record)
    found = figures.unsupported(tmp_path)
    assert found == [
        "docs/guide.md:3: 1,568 samples/s",
        "docs/guide.md:3: 1.55x",
    ]


def test_a_figure_matches_at_its_own_precision_only(tmp_path):
    _project(tmp_path, "about 1.5x, or 1.52x, not 1.53x\n", {"ratio": 1.5213})
    assert figures.unsupported(tmp_path) == ["docs/guide.md:1: 1.53x"]


def test_the_committed_pages_quote_only_committed_figures():
    missing = figures.unsupported()
    assert not missing, "\n".join(missing)
