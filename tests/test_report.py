"""benchmarks/report.py: the measured-results page is generated from the committed result
files, deterministically, without a framework, in the tables `zoo bench` prints; and every
link in the docs resolves."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report

ROOT = Path(__file__).resolve().parent.parent


def test_committed_page_matches_the_results():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.report", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def _a_ratio(text: str) -> str:
    """A speed-up figure the page shows (e.g. 1.71x), whatever the committed run measured."""
    found = re.search(r"\b\d+\.\d\dx \[", text)
    assert found, "the page shows no ratio with an interval"
    return found.group(0)[:-2]


@pytest.mark.slow  # renders the page four times, the html too: 12 s
def test_check_fails_on_a_page_out_of_step(tmp_path):
    page = report.render()
    figure = _a_ratio(page)
    stale = tmp_path / "results.md"
    stale.write_text(page.replace(figure, "9.99x"), encoding="utf-8")
    assert report.main(["--check", "--output", str(stale)]) == 1
    assert report.main(["--output", str(stale)]) == 0
    assert report.main(["--check", "--output", str(stale)]) == 0


def test_render_is_deterministic_and_carries_the_committed_figures():
    import json
    import math
    import statistics

    text = report.render()
    assert text == report.render()
    # A figure computed here from the committed records, independently of the report's
    # code: the median time to target of each time-to-target case (a run that never
    # reached it counts as never), found in that case's row.
    runs = [
        json.loads(line)
        for line in (report.RESULTS / "time-to-target-cpu.jsonl").read_text().splitlines()
        if line
    ]
    section = text[text.index("## time-to-target-cpu") :].split("\n## ")[0]
    checked = 0
    for case in {(r["model"], r["tuned"]) for r in runs}:
        times = [
            (r.get("target") or {}).get("time_to_target_s") or math.inf
            for r in runs
            if (r["model"], r["tuned"]) == case and r["status"] == "ok"
        ]
        if len(times) % 2 == 0 or not math.isfinite(median := statistics.median(times)):
            continue
        name = case[0] + (" (tuned)" if case[1] else "")
        row = next(line for line in section.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {median:.1f} (" in row, row
        checked += 1
    assert checked >= 8  # most cases have an odd number of finished runs with a median
    # Every committed result file has its section, named by its stem.
    for path in report.RESULTS.glob("*.jsonl"):
        assert path.stem in text, path.stem


def test_report_imports_no_framework():
    # It reads the results with the zoo's summaries and tables, which are standard library
    # only; the CLI (rich, typer) stays out too.
    code = (
        "import sys; import benchmarks.report as r; r.render(); "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'jax', 'torch', 'numpy', 'rich', 'typer')]; "
        "bad += [m for m in sys.modules if m.startswith('zoo.cli')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"#{1,6} (.+)", line)
        if match:
            base = anchor(match.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_every_relative_link_and_anchor_in_the_docs_resolves():
    pages = [ROOT / "README.md", ROOT / "benchmarks" / "RESULTS.md"]
    pages += sorted((ROOT / "docs").glob("*.md"))
    broken = []
    for page in pages:
        for link in links(page):
            if re.match(r"[a-z]+:", link):  # http(s), mailto: not checked offline
                continue
            target, _, fragment = link.partition("#")
            dest = (page.parent / target).resolve() if target else page
            if not dest.exists():
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
            elif fragment and (dest.suffix != ".md" or fragment not in anchors(dest)):
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, "\n".join(broken)


def test_anchor_rules():
    assert anchor("Checkpoints and resume") == "checkpoints-and-resume"
    assert anchor("`zoo train NAME [options]`") == "zoo-train-name-options"
    assert anchor("Against references (`reference` suite)") == "against-references-reference-suite"


def test_a_tune_search_becomes_a_row_of_default_against_winner():
    trial = {
        "settings": {"batch_size": 64, "precision": "mixed_bfloat16"},
        "status": "ok",
        "reached": True,
        "time_to_target_s": 20.0,
        "test_metric": 0.91,
        "wall_s": 25.0,
    }
    search = {
        "model": "seed_cnn",
        "dataset": "fashion_mnist",
        "target": "accuracy=0.91",
        "budget_s": 600.0,
        "spent_s": 590.0,
        "speedup": 2.5,
        "execution": [{"status": "ok"}, {"status": "left out", "precision": "mixed_float16"}],
        "trials": [trial, trial],
        "default": {**trial, "settings": {"batch_size": 64}, "time_to_target_s": 50.0},
        "winner": trial,
        "env": {"cpu": "AMD EPYC"},
    }
    record = report.tune_record(search)
    assert record["execution_trials"] == 1 and record["recipe_trials"] == 2
    assert [t["reached"] for t in record["trials"]] == [True, True]
    assert "wall_s" not in record["trials"][0]  # the outcome, not the process's seconds
    assert record["left_out"][0]["precision"] == "mixed_float16"
    section = report.tune_section("tune-cpu", [record])
    row = next(line for line in section.splitlines() if line.startswith("| seed_cnn"))
    assert "50.0 s (test 0.91)" in row and "20.0 s (test 0.91)" in row and "2.50x" in row
    assert "precision=mixed_bfloat16" in row and "1 + 2" in row and "590 of 600" in row


def test_a_search_keeps_its_own_provenance_and_never_this_machines(monkeypatch):
    from zoo import io

    monkeypatch.setattr(io, "environment", lambda: pytest.fail("read this machine"))
    execution = [
        {"settings": {"jit_compile": True}, "status": "ok", "samples_per_s": 968.0, "wall_s": 20},
        {"status": "left out", "precision": "mixed_float16"},
    ]
    search = {"model": "mlp", "execution": execution, "trials": [], "default": None}
    record = report.tune_record(search)  # saved before searches carried an environment
    assert record["env"] is None and record["provenance"] is None
    assert record["execution"] == [
        {
            "settings": {"jit_compile": True},
            "status": "ok",
            "samples_per_s": 968.0,
            "compile_s": None,
        }
    ]  # each trial's speed, so a figure quoted from the search has its file
    stamped = {**search, "schema": 2, "provenance": {"git": {"commit": "abc"}}}
    assert report.tune_record(stamped)["provenance"] == {"git": {"commit": "abc"}}
    section = report.environment_table({"tune-cpu": [record]})
    assert "| tune-cpu.jsonl | 1 | - |" in section  # not recorded reads "-", never filled in


def test_an_ab_run_gets_its_own_section_with_the_gate_on_fewer_repeats(tmp_path, monkeypatch):
    from tests.perf.test_compare import TINY, _fake_sides
    from zoo.perf import ab
    from zoo.perf import suite as perf_suite

    monkeypatch.setattr(ab, "probe", lambda python: {"executable": python, "prefix": "/b"})
    (tmp_path / "s.toml").write_text(TINY)
    run, _ = _fake_sides(slow_b=0.7)
    out = tmp_path / "ab-one-core-cpu.jsonl"
    records = ab.run_ab_suite(perf_suite.load_suite(tmp_path / "s.toml"), out, "/b/python",
                              repeat=6, runner=run)  # fmt: skip
    section = report.ab_section("ab-one-core-cpu", records)
    assert section.startswith("## ab-one-core-cpu: A/B in one run")
    assert "B/A (95% interval)" in section and "0.70x" in section
    assert "At --fail-above 10 with 6 repeats: 1 of 1 cases flagged" in section
    assert "At --fail-above 10 with 5 repeats: 1 of 1 cases flagged" in section
    assert "Cases below 0.9x over all repeats: 1; flagged with the fewer repeats: 1." in section
    page = report.render(tmp_path)  # a file with sides is never summarized as one run
    assert "## ab-one-core-cpu: A/B in one run" in page
    assert "the `tiny` suite" not in page


def test_an_ab_run_with_windows_reports_their_spread_beside_the_clocks(tmp_path, monkeypatch):
    """The section says how much B/A moved between repeats on the windows and on the same
    workers' training clocks, from the records (here the fake sessions' windows cancel a
    machine that swings 2x, which their clocks, whole runs apart, see unpaired)."""
    from tests.perf.test_compare import TINY, _fake_sessions
    from zoo.perf import ab
    from zoo.perf import suite as perf_suite

    _fake_sessions(monkeypatch)
    monkeypatch.setattr(ab, "probe", lambda python: {"prefix": "/b", "sessions": True})
    (tmp_path / "s.toml").write_text(TINY)
    suite = perf_suite.load_suite(tmp_path / "s.toml")
    records = ab.run_ab_suite(suite, tmp_path / "w.jsonl", "/b/python", repeat=3)
    section = report.ab_section("ab-one-core-windows-cpu", records)
    assert "B/A from timed windows" in section and "0.80x" in section
    assert "timed windows 0.000 (0.000-0.000)" in section
    clocks = section.split("as before windows, ")[1]
    assert float(clocks.split()[0]) > 0.1  # the unpaired swings
    old = report.ab_section("ab-one-core-cpu", [{**r, "windows": None} for r in records])
    assert "Spread of B/A" not in old and "from whole worker runs" in old


def test_add_tune_appends_only_to_a_searches_file(capsys):
    # --to names a results file of searches (tune_section's); any other is refused
    # before anything is written
    with pytest.raises(SystemExit) as refused:
        report.main(["--add-tune", "search.json", "--to", "quick-cpu"])
    assert refused.value.code == 2 and "tune-real-cpu-epyc" in capsys.readouterr().err


def test_a_warm_suite_says_so_in_its_section(tmp_path):
    from zoo.perf import target as perf_target

    def record(seed: int, start: str | None) -> dict:
        target = {"metric": "accuracy", "value": 0.9, "reached": True, "time_to_target_s": 2.0,
                  "train_time_to_target_s": 1.0, "steps_to_target": 10, "epochs_to_target": 1.0,
                  "test_metric": 0.91, **({"start": start} if start else {})}  # fmt: skip
        return {"kind": "target", "suite": "fast", "case": "mlp|synthetic", "repeat": seed,
                "seed": seed, "model": "mlp", "dataset": "synthetic", "tuned": False,
                "target_spec": "accuracy=0.9", "status": "ok", "target": target}  # fmt: skip

    (tmp_path / "w.csv").write_text("x\n")
    warm = report.target_section("w", [record(0, "warm")], tmp_path)
    cold = report.target_section("w", [record(0, None)], tmp_path)
    assert perf_target.WARM_NOTE in warm and perf_target.WARM_NOTE not in cold
    assert "| warm |" in warm.replace("  ", " ") and "| warm |" not in cold.replace("  ", " ")
