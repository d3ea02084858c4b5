"""Ratios with their uncertainty: the summary's intervals and `zoo compare` as a CI gate
(exit 0 nothing regressed, 1 regressed, 2 any error), on record files of the real shape."""

from __future__ import annotations

import dataclasses
import json
import statistics

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from tests.perf.test_bench import profile_fields
from zoo.perf import compare as perf_compare
from zoo.perf import summary as perf_summary
from zoo.perf import tables as perf_tables
from zoo.perf.suite import case_key

runner = CliRunner()

# Per-repeat factors on a case's throughput: the same distribution, a spread of about 20%
# of the median. CHANCE_LOW's median is 7% under NOISE_A's by chance alone.
NOISE_A = (0.90, 1.10, 1.00, 0.95, 1.05)
NOISE_B = (1.08, 0.92, 0.97, 1.10, 0.89)
CHANCE_LOW = (0.86, 0.90, 0.93, 1.00, 0.95)
CASES = {("mlp", "graph"): 30_000.0, ("mlp", "xla"): 45_000.0, ("seed_cnn", "graph"): 900.0}


def _record(model: str, mode: str, rate: float, repeat: int, new_schema: bool) -> dict:
    """A successful bench record as zoo bench writes it; the old schema's `params` is the
    parameter count, the new one has `num_params` and `model_kwargs`."""
    fields = profile_fields(rate, mode)
    count = fields.pop("num_params", None) or fields.pop("params")
    return {
        "suite": "quick",
        "case": case_key(model, mode, "float32", 64, "cpu"),
        "repeat": repeat,
        "model": model,
        "mode": mode,
        "precision": "float32",
        "batch_size": 64,
        "device": "cpu",
        "backend": "tensorflow",
        **({"num_params": count, "model_kwargs": {}} if new_schema else {"params": count}),
        **fields,
        "env": {"cpu": "AMD EPYC", "cpu_flags": ["avx2"]},
    }


def _run(path, factors: dict, repeats: int = 5, new_schema: bool = False) -> str:
    """A results file: each case's rate times its factor of each repeat, interleaved."""
    lines = [
        json.dumps(_record(model, mode, rate * factors[(model, mode)][i], i, new_schema))
        for i in range(repeats)
        for (model, mode), rate in CASES.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _gate(base: str, new: str, *extra: str):
    return runner.invoke(app, ["compare", base, new, "--fail-above", "5", *extra])


def test_a_torn_last_line_is_read_past_and_said(tmp_path):
    """A run killed while writing: compare reads the whole records and says what it left."""
    base = _run(tmp_path / "a.jsonl", dict.fromkeys(CASES, NOISE_A))
    new = _run(tmp_path / "b.jsonl", dict.fromkeys(CASES, NOISE_A))
    with open(new, "a") as f:
        f.write('{"model": "mlp", "mode": "gr')  # the writer died here
    r = _gate(base, new)
    assert r.exit_code == 0, r.output
    assert "b.jsonl, line" in r.output and "cut short" in r.output
    assert "Traceback" not in r.output


def test_an_a_a_pair_of_noisy_runs_flags_nothing(tmp_path):
    base = _run(tmp_path / "a.jsonl", dict.fromkeys(CASES, NOISE_A))
    factors = {**dict.fromkeys(CASES, NOISE_B), ("mlp", "xla"): CHANCE_LOW}
    new = _run(tmp_path / "b.jsonl", factors, new_schema=True)
    # The median ratio alone is 0.93: the rule of "slower by more than 5%" would fail it.
    assert statistics.median(CHANCE_LOW) / statistics.median(NOISE_A) < 0.95
    r = _gate(base, new)
    assert r.exit_code == 0, r.output
    assert "REGRESSION" not in r.output and "undecided" in r.output
    assert "undecided at --fail-above 5" in r.output and "repeats per run" in r.output
    result = perf_compare.compare_runs(
        perf_compare.load_run(base), perf_compare.load_run(new), fail_above=5
    )
    assert result["regressions"] == [] and len(result["rows"]) == 3
    for row in result["rows"]:
        assert row["low"] < 1 < row["high"] and row["verdict"] == "no difference detected"
        assert row["repeats"] == [5, 5] and not row["decided"] and row["repeats_needed"] > 5


def test_a_real_slowdown_with_five_repeats_is_flagged(tmp_path):
    base = _run(tmp_path / "a.jsonl", dict.fromkeys(CASES, NOISE_A))
    slow = tuple(0.7 * f for f in NOISE_B)
    new = _run(tmp_path / "b.jsonl", {**dict.fromkeys(CASES, NOISE_B), ("mlp", "xla"): slow})
    r = _gate(base, new)
    assert r.exit_code == 1, r.output
    flagged = [line for line in r.output.splitlines() if "REGRESSION" in line]
    assert len(flagged) == 1 and "xla f32 b64" in flagged[0]
    assert "1 case(s) regressed by more than 5% (95% confidence)" in r.output
    result = json.loads(_gate(base, new, "--json").stdout)
    (row,) = [x for x in result["rows"] if x["regressed"]]
    assert row["ratio"] == pytest.approx(0.7, abs=0.02) and row["high"] < 0.95
    assert row["verdict"] == "slower" and result["regressions"] == [row["case"]]
    # A stricter confidence widens every interval; the 0.7x case stays flagged.
    assert _gate(base, new, "--confidence", "0.99").exit_code == 1


def test_one_repeat_is_never_a_regression_and_says_so(tmp_path):
    base = _run(tmp_path / "a.jsonl", dict.fromkeys(CASES, NOISE_A), repeats=1)
    new = _run(tmp_path / "b.jsonl", dict.fromkeys(CASES, (0.5,)), repeats=1)
    r = _gate(base, new)
    assert r.exit_code == 0, r.output
    assert "1 repeat" in r.output and "no interval, so never flagged" in r.output


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "No results file at"),
        ('{"name": "x", "seconds": 1.5}\n', "lacks case, status, model"),
        ("[1, 2]\n", "not a JSON"),
        ("", "holds no records"),
        (b"\xff\xfe\x00binary\n\x01\n", "line 1"),
    ],
)
def test_a_missing_or_foreign_file_is_one_line_and_exit_2(tmp_path, content, expected):
    good = _run(tmp_path / "good.jsonl", dict.fromkeys(CASES, NOISE_A))
    bad = tmp_path / "other.jsonl"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    r = runner.invoke(app, ["compare", str(bad), good])
    assert r.exit_code == 2, r.output
    assert expected in r.output and str(bad) in r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_runs_that_share_no_case_are_an_error(tmp_path):
    base = _run(tmp_path / "a.jsonl", dict.fromkeys(CASES, NOISE_A))
    other = tmp_path / "b.jsonl"
    other.write_text(json.dumps(_record("lstm_classifier", "graph", 10.0, 0, True)) + "\n")
    r = runner.invoke(app, ["compare", base, str(other)])
    assert r.exit_code == 2 and "share no successful case" in r.output


def test_summary_ratios_carry_paired_intervals_and_verdicts(tmp_path):
    rates = {"graph": [100.0, 110.0, 90.0], "xla": [150.0, 160.0, 140.0]}
    records = [
        _record("mlp", mode, rates[mode][i], i, new_schema=i > 0)  # both schemas at once
        for i in range(3)
        for mode in ("graph", "xla")
    ]
    rows = {r["mode"]: r for r in perf_summary.summarize(records)}
    xla = rows["xla"]
    assert xla["num_params"] == 5 and xla["model_kwargs"] == {}
    assert xla["speedup"] == pytest.approx(1.5)  # the median of the per-repeat ratios
    assert xla["speedup_low"] < 1.45 and 1.55 < xla["speedup_high"] < 1.7
    assert xla["speedup_verdict"] == "faster" and xla["speedup_repeats_needed"] is None
    assert rows["graph"]["speedup_verdict"] is None  # the baseline itself
    table = perf_tables.bench_table(list(rows.values()), "graph")
    head, body = table.header(), table.texts()
    cell = body[1][head.index("speed-up vs graph [95% interval]")]
    assert cell.startswith("1.50x [1.") and cell.endswith("] faster")
    assert body[0][head.index("speed-up vs graph [95% interval]")] == "1.00x"
    one = perf_summary.summarize(records[:2])  # one repeat: no interval, the ratio alone
    assert one[1]["speedup_verdict"] == "too few repeats"
    one_table = perf_tables.bench_table(one, "graph")
    speedup = one_table.header().index("speed-up vs graph [95% interval]")
    assert [row[speedup] for row in one_table.texts()] == ["1.00x", "1.50x"]


def test_reference_and_quantized_ratios_carry_intervals():
    records = [
        {**_record("seed_cnn", mode, rate * f, i, True), "steps_per_execution": 1}
        for i, f in enumerate((1.0, 1.02, 0.98))
        for mode, rate in (("fit", 105.0), ("ref_tf", 100.0))
    ]
    (ref,) = perf_summary.reference_ratios(records, "fit")
    assert ref["ratio"] == pytest.approx(1.05)
    assert ref["ratio_low"] == pytest.approx(ref["ratio_high"])
    assert ref["ratio_verdict"] == "faster"  # the same 1.05 in every repeat
    quantized = {
        **_record("mlp", "graph", 100.0, 0, True),
        "case": case_key("mlp", "graph", "float32", 64, "cpu") + "|q=int8",
        "quantize": "int8",
        "train": None,
    }
    repeats = [
        {
            **quantized,
            "repeat": i,
            "infer": {"samples_per_s": q},
            "float32_infer": {"samples_per_s": f},
        }
        for i, (q, f) in enumerate(((300.0, 600.0), (330.0, 600.0), (270.0, 600.0)))
    ]
    (row,) = perf_summary.summarize(repeats)
    assert row["infer_vs_float32"] == pytest.approx(0.5)
    assert row["infer_vs_float32_high"] < 1 and row["infer_vs_float32_verdict"] == "slower"


# --- A/B in one run: zoo bench --against PYTHON ------------------------------------------

TINY = """
[suite]
name = "tiny"
baseline = "graph"
steps = 2
timeout_s = 240

[[case]]
model = "linear_regression"
modes = ["graph"]
batch_sizes = [64]
"""


def _fake_sides(slow_b: float = 1.0):
    """A case runner (case, steps, timeout, python) that records the side of each call and
    returns throughputs with 20% noise, B `slow_b` times A."""
    calls = []

    def run(case, steps, timeout_s, python=None):
        calls.append("A" if python is None else "B")
        n = len(calls) - 1
        rate = 1000.0 * NOISE_A[n // 2 % 5] * (1.0 if python is None else slow_b)
        fields = profile_fields(rate, case.mode)
        versions = {"keras": "3.15" if python is None else "3.16"}
        return {**fields, "manifest": {"versions": versions, "threads": {"intra_op": 0}}}

    return run, calls


def test_ab_runs_alternate_and_compare_paired(tmp_path, monkeypatch):
    """With a runner of one worker a side (no windows): A B, then B A, paired by repeat."""
    from zoo.perf import ab
    from zoo.perf import suite as perf_suite

    b = {"executable": "/opt/b/bin/python", "prefix": "/opt/b", "zoo": "0.2.0"}
    monkeypatch.setattr(ab, "probe", lambda python: b)
    suite = perf_suite.load_suite(_write(tmp_path / "s.toml", TINY))
    run, calls = _fake_sides(slow_b=0.7)
    out = tmp_path / "ab.jsonl"
    records = ab.run_ab_suite(suite, out, "/opt/b/python", repeat=4, runner=run)
    assert calls == ["A", "B", "B", "A", "A", "B", "B", "A"]
    assert [r["side"] for r in records] == calls
    assert {r["python"] for r in records if r["side"] == "B"} == {"/opt/b/python"}
    assert records[1]["provenance"]["zoo"] == "0.2.0"  # B's own, not this process's
    result = perf_compare.compare_sides(records, fail_above=5)
    (row,) = result["rows"]
    assert row["ratio"] == pytest.approx(0.7) and row["regressed"]  # paired: noise cancels
    assert row["repeats"] == [4] and row["windowed"] == 0
    assert any(d.startswith("prefix (") and "/opt/b in NEW" in d for d in result["differences"])
    assert "versions (keras=3.15 in BASE, keras=3.16 in NEW)" in result["differences"]
    assert "B/A (95% interval)" in perf_compare.write_ab_tables(out, result).read_text()
    more = ab.run_ab_suite(suite, out, "/opt/b/python", repeat=5, resume=True, runner=run)
    assert calls[8:] == ["A", "B"] and len(more) == 10  # repeat 4 only, A first again


class _FakeSession:
    """A worker session whose step is `step_s` times a swing of the machine that changes
    from one window to the next and hits whichever side runs then; it logs its calls."""

    log: list = []
    swing = clock = iter(())

    def __init__(self, case, steps, timeout_s, python):
        self.side = "A" if python is None else "B"
        self.step_s = 0.010 * (1.0 if python is None else 1 / 0.8)  # B 0.8x A's speed

    def start(self):
        self.log.append(("start", self.side))
        return {"status": "ready", "step_s": self.step_s, "windowed": True}

    def ask(self, message):
        if "window" in message:
            self.log.append((message["window"], self.side))
            return {"status": "window", "step_s": self.step_s * next(self.swing)}
        return {**profile_fields(next(self.clock), "graph"), "status": "ok"}

    def close(self):
        self.log.append(("close", self.side))


def _fake_sessions(monkeypatch):
    import itertools

    from zoo.perf import runner as perf_runner

    _FakeSession.log = []
    # The machine's speed swings 2x between windows: each pair of windows shares a level.
    _FakeSession.swing = itertools.cycle([1.0, 1.0, 2.0, 2.0, 1.3, 1.3])
    # Their own training clocks, whole runs apart, see the swings unpaired.
    _FakeSession.clock = itertools.cycle([1000.0, 1500.0, 800.0, 1300.0, 1100.0])
    monkeypatch.setattr(perf_runner, "open_session", _FakeSession)
    return _FakeSession.log


def test_ab_windows_alternate_within_a_repeat_and_decide_on_their_ratio(tmp_path, monkeypatch):
    from zoo.perf import ab
    from zoo.perf import suite as perf_suite

    log = _fake_sessions(monkeypatch)
    monkeypatch.setattr(ab, "probe", lambda python: {"prefix": "/opt/b", "sessions": True})
    suite = perf_suite.load_suite(_write(tmp_path / "s.toml", TINY))
    records = ab.run_ab_suite(suite, tmp_path / "ab.jsonl", "/opt/b/python", repeat=2)
    steps = round(ab.WINDOW_S / 0.0125)  # the slower side's step sets a window's length
    pairs = ab.WINDOW_PAIRS
    first = [(steps, s) for k in range(pairs) for s in ("AB" if k % 2 == 0 else "BA")]
    second = [(steps, s) for k in range(pairs) for s in ("BA" if k % 2 == 0 else "AB")]
    assert log[:2] == [("start", "A"), ("start", "B")]  # both built before any window
    assert log[2 : 2 + 2 * pairs] == first and log[2 + 2 * pairs : 4 + 2 * pairs] == [
        ("close", "A"),
        ("close", "B"),
    ]
    assert log[4 + 2 * pairs : 6 + 2 * pairs] == [("start", "B"), ("start", "A")]
    assert log[6 + 2 * pairs : 6 + 4 * pairs] == second
    assert [r["side"] for r in records] == ["A", "B", "B", "A"]
    assert all(len(r["windows"]["step_ms"]) == pairs for r in records)
    (row,) = perf_compare.compare_sides(records, fail_above=5)["rows"]
    # The training clocks say 1.0 (both 1000 samples/s); the windows measure B at 0.8x
    # through a machine that swung 2x, because both windows of a pair saw one level.
    assert row["windowed"] == 2 and row["ratio"] == pytest.approx(0.8)
    assert row["high"] == pytest.approx(0.8) and row["regressed"]


def test_ab_falls_back_to_one_run_a_side_where_windows_cannot_run(tmp_path, monkeypatch):
    """A B whose zoo predates sessions, and a quantized case: one worker run a side."""
    from zoo.perf import ab
    from zoo.perf import runner as perf_runner
    from zoo.perf import suite as perf_suite

    log = _fake_sessions(monkeypatch)
    run, calls = _fake_sides()
    monkeypatch.setattr(perf_runner, "run_case", run)
    suite = perf_suite.load_suite(_write(tmp_path / "s.toml", TINY))
    monkeypatch.setattr(ab, "probe", lambda python: {"prefix": "/opt/b"})  # no "sessions"
    ab.run_ab_suite(suite, tmp_path / "old.jsonl", "/opt/b/python", repeat=2)
    assert calls == ["A", "B", "B", "A"] and log == []
    (case,) = suite.cases
    assert ab.windowed(case)
    assert not ab.windowed(dataclasses.replace(case, quantize="int8"))
    assert not ab.windowed(dataclasses.replace(case, mode="ref_tf"))
    assert not ab.windowed(dataclasses.replace(case, device="gpu"))  # one GPU's memory


def _fake_pairs(slow_b: float = 1.0):
    """`ab.run_pair` faked: windows with 20% noise between repeats, B `slow_b` times A."""
    calls = []

    def run_pair(case, steps, timeout_s, interpreters, sides):
        calls.append("".join(sides))
        level = NOISE_A[len(calls) % 5]
        found = {}
        for side in sides:
            rate = 1000.0 * level * (slow_b if side == "B" else 1.0)
            versions = {"keras": "3.15" if side == "A" else "3.16"}
            found[side] = {
                **profile_fields(rate, case.mode),
                "manifest": {"versions": versions, "threads": {"intra_op": 0}},
                "windows": {"steps": 5, "step_ms": [1.0], "samples_per_s": rate},
            }
        return found

    return run_pair, calls


def test_bench_against_through_the_cli(tmp_path, monkeypatch):
    import sys

    from zoo.perf import ab

    run_pair, calls = _fake_pairs()
    monkeypatch.setattr(ab, "run_pair", run_pair)
    suite, out = _write(tmp_path / "s.toml", TINY), tmp_path / "ab.jsonl"
    args = ["bench", "--suite", suite, "--output", str(out), "--repeat", "2"]
    r = runner.invoke(app, [*args, "--against", sys.executable])  # the real probe
    assert r.exit_code == 0, r.output
    assert calls == ["AB", "BA"]
    assert "95% CI" in r.output and "within noise" in r.output
    assert "differ in: versions (keras=3.15 in BASE, keras=3.16 in NEW)" in r.output
    assert "timed windows" in r.output
    assert out.with_suffix(".md").is_file()
    r = runner.invoke(app, ["compare", str(out), str(out)])
    assert r.exit_code == 2 and "holds an A/B run" in r.output
    r = runner.invoke(app, [*args, "--against", str(tmp_path / "nope"), "--output", "x.jsonl"])
    assert r.exit_code == 2 and "cannot run the zoo's benchmark worker" in r.output


def test_bench_against_gates_like_compare(tmp_path, monkeypatch):
    """--fail-above on an A/B run: exit 1 where B is slower beyond it, as zoo compare."""
    import sys

    from zoo.perf import ab

    run_pair, calls = _fake_pairs(slow_b=0.7)
    monkeypatch.setattr(ab, "run_pair", run_pair)
    suite, out = _write(tmp_path / "s.toml", TINY), tmp_path / "ab.jsonl"
    args = ["bench", "--suite", suite, "--repeat", "2", "--against", sys.executable]
    r = runner.invoke(app, [*args, "--output", str(out), "--fail-above", "5"])
    assert r.exit_code == 1, r.output
    assert "1 case(s) regressed by more than 5%" in r.output and "REGRESSION" in r.output
    r = runner.invoke(app, [*args, "--output", str(tmp_path / "b.jsonl"), "--fail-above", "40"])
    assert r.exit_code == 0, r.output  # 0.7x is within 40%
    r = runner.invoke(app, ["bench", "--suite", suite, "--output", "x.jsonl", "--fail-above", "5"])
    assert r.exit_code == 2 and "--fail-above gates an A/B run" in r.output
    assert "zoo compare BASE NEW" in r.output and "Traceback" not in r.output


@pytest.mark.slow  # four real worker sessions: about 20 s
def test_an_a_a_run_against_this_interpreter_flags_nothing(tmp_path):
    import sys

    suite, out = _write(tmp_path / "s.toml", TINY), tmp_path / "aa.jsonl"
    args = ["bench", "--suite", suite, "--output", str(out), "--repeat", "2"]
    r = runner.invoke(app, [*args, "--against", sys.executable, "--json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    (row,) = result["rows"]
    assert row["regressed"] is False and row["repeats"] == [2]
    assert row["windowed"] == 2  # real sessions timed their windows
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(len(r["windows"]["step_ms"]) == 10 for r in records)
    assert result["differences"] == []  # the same environment: nothing differs


def _write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_ab_a_side_that_cannot_run_the_case_says_why_without_a_session(tmp_path, monkeypatch):
    """A backend this interpreter lacks: A's record says it is not installed (as in a plain
    suite), B still runs its own worker, and no session starts."""
    from zoo.perf import ab
    from zoo.perf import runner as perf_runner
    from zoo.perf import suite as perf_suite

    monkeypatch.setattr(perf_runner, "backend_installed", lambda backend: False)
    monkeypatch.setattr(perf_runner, "open_session", lambda *a: pytest.fail("a session"))
    ran = []
    monkeypatch.setattr(
        perf_runner,
        "_run_worker",
        lambda c, *a, python=None: ran.append(python) or {"status": "ok"},
    )
    (case,) = perf_suite.load_suite(_write(tmp_path / "s.toml", TINY)).cases
    found = ab.run_pair(case, 2, 60.0, {"A": None, "B": "/opt/b/python"}, ["A", "B"])
    assert found["A"]["status"] == "skipped" and "not installed" in found["A"]["reason"]
    assert ran == ["/opt/b/python"]


def _ab_record(side: str, repeat: int, rate: float, windows: float | None = None) -> dict:
    from tests.perf.test_bench import profile_fields

    record = {"case": "c", "side": side, "repeat": repeat, "model": "mlp", "mode": "graph"}
    record |= {"precision": "float32", "batch_size": 8, "device": "cpu", "backend": "tf"}
    record |= {**profile_fields(rate, "graph"), "status": "ok", "quantize": "none"}
    if windows is not None:
        record["windows"] = {"steps": 4, "step_ms": [1.0], "samples_per_s": windows}
    return record


def test_ab_pairs_one_measure_per_case_windows_where_two_repeats_have_them():
    """Windows in repeats 0 and 1, clocks only in repeat 2 (a resumed side): B/A from the
    two windowed repeats alone; with windows in one repeat only, the clocks of all."""
    records = [
        *(_ab_record("A", r, 1000.0, 500.0) for r in (0, 1)),
        *(_ab_record("B", r, 1000.0, 400.0) for r in (0, 1)),
        _ab_record("A", 2, 1000.0),
        _ab_record("B", 2, 3000.0),  # a clock seconds apart: not mixed in
    ]
    (row,) = perf_compare.compare_sides(records)["rows"]
    assert row["windowed"] == 2 and row["repeats"] == [2]
    assert row["ratio"] == pytest.approx(0.8) and (row["base"], row["new"]) == (500.0, 400.0)
    one = [r for r in records if r["repeat"] != 1]
    (row,) = perf_compare.compare_sides(one)["rows"]
    assert row["windowed"] == 0 and row["repeats"] == [2]  # clocks of repeats 0 and 2
    assert row["ratio"] == pytest.approx(3.0**0.5)


def test_ab_a_case_the_sides_never_ran_in_the_same_repeat_is_left_unpaired():
    records = [_ab_record("A", 0, 1000.0), _ab_record("B", 1, 900.0)]
    result = perf_compare.compare_sides(records, fail_above=5)
    assert result["rows"] == [] and result["unmatched"] == 1
    assert "nothing was compared" in perf_compare.window_note(result)
