"""zoo.results: one appended line per record, a torn last line read past and repaired, a bad
line in the middle named, resume by key."""

from __future__ import annotations

import json

import pytest

from zoo import io
from zoo.errors import OutputError
from zoo.results import ResultsFile


def _lines(path):
    return path.read_text().splitlines()


def test_append_adds_one_line_and_leaves_the_others_as_they_were(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    path.write_text('{"case":  "a",   "status": "ok"}\n')  # spelled as no rewrite would
    monkeypatch.setattr(io, "atomic_path", None)  # appending never rewrites the file
    results = ResultsFile(path)
    results.append({"case": "b", "status": "ok", "nan": float("nan")})
    assert _lines(path) == [
        '{"case":  "a",   "status": "ok"}',
        '{"case": "b", "status": "ok", "nan": null}',
    ]
    assert [r["case"] for r in results.read()] == ["a", "b"] and results.note is None


def test_a_torn_last_line_is_skipped_with_a_note_and_repaired_on_append(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"case": "a"}\n{"case": "b"}\n{"case": "c", "trai')  # a killed writer
    results = ResultsFile(path)
    assert [r["case"] for r in results.read()] == ["a", "b"]
    assert "line 3: cut short" in results.note
    results.append({"case": "c"})
    assert "removed the cut-short last line 3" in results.note
    assert [json.loads(line)["case"] for line in _lines(path)] == ["a", "b", "c"]


def test_a_whole_last_line_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"case": "a"}')  # written by hand
    results = ResultsFile(path)
    results.append({"case": "b"})
    assert [r["case"] for r in results.read()] == ["a", "b"] and results.note is None


@pytest.mark.parametrize("bad", ["not json", "[1, 2]"])
def test_a_bad_line_in_the_middle_names_the_file_and_the_line(tmp_path, bad):
    path = tmp_path / "r.jsonl"
    path.write_text(f'{{"case": "a"}}\n{bad}\n{{"case": "c"}}\n')
    with pytest.raises(OutputError, match=r"r.jsonl, line 2: not a JSON record"):
        ResultsFile(path).read()


def test_resume_keeps_finished_records_and_runs_failures_again(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = [("a", "ok"), ("b", "failed"), ("c", "skipped")]
    path.write_text("".join(json.dumps({"case": c, "status": s}) + "\n" for c, s in rows))
    with pytest.raises(OutputError, match="exists. Pass --resume"):
        ResultsFile(path).resume(False, key=lambda r: r["case"])
    results = ResultsFile(path)
    kept = results.resume(True, key=lambda r: r["case"])
    assert [r["case"] for r in kept] == ["a", "c"]
    assert results.done("a") and results.done("c") and not results.done("b")
    assert [json.loads(line)["case"] for line in _lines(path)] == ["a", "c"]  # compacted
    results.append({"case": "b", "status": "ok"})
    assert results.done("b")


def test_resume_of_a_file_of_other_records_is_one_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"status": "ok", "name": "from another tool"}\n')
    with pytest.raises(
        OutputError, match=r"record 1 is not one of this suite's \(it has no 'case'\)"
    ):
        ResultsFile(path).resume(True, key=lambda r: r["case"])


def test_a_new_file_starts_in_a_new_folder(tmp_path):
    results = ResultsFile(tmp_path / "deep" / "r.jsonl")
    assert results.resume(False, key=lambda r: r["case"]) == []
    results.append({"case": "a", "status": "ok"})
    assert results.read() == [{"case": "a", "status": "ok"}]


def test_a_missing_file_is_one_error(tmp_path):
    with pytest.raises(OutputError, match="No results file at"):
        ResultsFile(tmp_path / "none.jsonl").read()
