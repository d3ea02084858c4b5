"""One description of each results table, three emitters: what `zoo bench` prints, the
Markdown it writes beside the results file and docs/results.md (benchmarks/report.py)
show the same headers and the same cells for the same records."""

from __future__ import annotations

import re

from zoo.cli import bench as bench_cli

from benchmarks import report
from zoo import perf
from zoo.perf import bottleneck, summary
from zoo.perf.suite import case_key

RATES = {"graph": [100.0, 104.0, 97.0], "xla": [151.0, 160.0, 139.5]}


def _ok(mode: str, rate: float, repeat: int) -> dict:
    return {
        "suite": "quick",
        "case": case_key("mlp", mode, "float32", 64, "cpu"),
        "repeat": repeat,
        "model": "mlp",
        "mode": mode,
        "precision": "float32",
        "batch_size": 64,
        "device": "cpu",
        "backend": "tensorflow",
        "status": "ok",
        "num_params": 269322,
        "model_kwargs": {},
        "flops": {"forward_per_sample": 537600, "train_per_sample": 1612800},
        "train": {"samples_per_s": rate, "step_ms_median": 6400 / rate, "step_ms_p10": 0.4},
        "infer": {"p50_ms": 0.41 + repeat / 100, "samples_per_s": 3 * rate},
        "compile_s": 0.46 if mode == "graph" else 0.84,
        "peak_memory_mb": 627.2,
        "mfu": 0.24 * rate / 100,
        "train_flops_per_s": 1612800 * rate,
        "resolved": {"jit_compile": mode == "xla"},
    }


def _records() -> list[dict]:
    """Two modes over three interleaved repeats, a case that crashed, and an int8 copy
    timed against float32 inference in the same process."""
    records = []
    for i in range(3):
        records += [_ok(mode, rates[i], i) for mode, rates in RATES.items()]
        crashed = {**_ok("graph", 1.0, i), "model": "seed_cnn", "status": "crashed"}
        crashed.update(case=case_key("seed_cnn", "graph", "float32", 64, "cpu"))
        records.append({**crashed, "reason": "exit code -9", "train": None, "infer": None})
        int8 = {**_ok("graph", 1.0, i), "case": records[0]["case"] + "|q=int8", "train": None}
        int8.update(quantize="int8", infer={"p50_ms": 0.6, "samples_per_s": 290.0 + 10 * i})
        records.append({**int8, "float32_infer": {"samples_per_s": 600.0}})
    return records


def _markdown(text: str) -> tuple[list[str], list[list[str]]]:
    """The first Markdown table in `text`: its header and its rows of cells."""
    lines = text[text.index("| ") :].split("\n\n")[0].splitlines()
    cells = [line.strip("| ").split(" | ") for line in lines]
    return cells[0], cells[2:]


def _terminal(text: str) -> tuple[list[str], list[list[str]]]:
    """The first table rich printed: columns are two spaces apart or more, a cell's own
    words one space."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("───"))
    body = []
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        body.append(re.split(r"\s{2,}", line.strip()))
    return re.split(r"\s{2,}", lines[rule - 1].strip()), body


def test_terminal_summary_and_results_page_show_the_same_bench_table(tmp_path, capsys):
    records = _records()
    suite = perf.load_suite("quick")
    rows = perf.summarize(records, suite.baseline, suite.baseline_precision)
    bottleneck.annotate_rows(rows, records)  # as zoo bench does before it prints
    bench_cli._show_bench(suite, rows, records)
    head, body = _terminal(capsys.readouterr().out)
    _, md_path = summary.write_tables(tmp_path / "r.jsonl", records, "graph", None)
    md_head, md_body = _markdown(md_path.read_text())
    page_head, page_body = _markdown(report.case_table(records))

    assert head == md_head == page_head
    assert md_body == page_body
    assert body == [[cell.replace("**", "") for cell in row] for row in md_body]
    # What the three agree on is the table's, not empty or made up.
    assert len(body) == 4 and len({len(row) for row in body}) == 1 == len({len(head)})
    cells = {(row[0], row[4], row[3]): dict(zip(head, row, strict=True)) for row in md_body}
    xla = cells[("mlp", "float32", "xla")]
    assert xla["train samples/s (min-max)"] == "**151 (140-160)**"  # the fastest, bold
    assert re.fullmatch(
        r"1\.5\dx \[1\.\d\d-1\.\d\d\] faster", xla["speed-up vs graph [95% interval]"]
    )
    int8 = cells[("mlp", "float32, int8 weights", "graph")]
    assert int8["infer vs float32 [95% interval]"].startswith("0.50x [0.4")
    assert cells[("seed_cnn", "float32", "graph")]["status"] == "crashed: exit code -9"
    assert "bottleneck: evidence" in head


def test_the_reference_table_is_shared_too(capsys):
    refs = []
    for r in _records():
        if r["status"] == "ok" and not r.get("quantize"):
            mode = "ref_tf" if r["mode"] == "graph" else "fit"
            key = case_key("mlp", mode, "float32", 64, "cpu")
            refs.append({**r, "suite": "reference", "mode": mode, "case": key})
    suite = perf.load_suite("reference")
    bench_cli._show_bench(suite, perf.summarize(refs, suite.baseline), refs)
    printed = capsys.readouterr().out
    head, body = _terminal(printed[printed.index("the zoo against references") :])
    page_head, page_body = _markdown(report.ratio_table(refs))
    assert head == page_head == ["model", "comparison", "ratio [95% interval]", "repeats"]
    assert body == page_body and body[0][1] == "zoo fit / hand-written tf.function loop"
    assert body[0][2].startswith("1.5") and body[0][2].endswith("] faster")


def _target(seed: int, time_s: float | None, tuned: bool = False) -> dict:
    reached = time_s is not None
    target = {
        "reached": reached,
        "time_to_target_s": time_s,
        "train_time_to_target_s": time_s / 2 if reached else None,
        "steps_to_target": 100 * seed + 100 if reached else None,
        "epochs_to_target": seed + 0.5 if reached else None,
        "test_metric": 0.95 + seed / 100 if reached else None,
    }
    return {
        "kind": "target",
        "suite": "time-to-target",
        "case": "mlp|synthetic|accuracy=0.9|{}" + ("|tuned" if tuned else ""),
        "repeat": seed,
        "seed": seed,
        "model": "mlp",
        "dataset": "synthetic",
        "target_spec": "accuracy=0.9",
        "tuned": tuned,
        "status": "ok",
        "target": target,
        "optimum": {"accuracy": 0.9965},
        "config": {"epochs": 3, "batch_size": 64, "learning_rate": 0.001, "schedule": "constant"},
        "run": {"jit_compile": tuned, "precision": "float32"},
    }


def test_the_time_to_target_table_is_shared_too(tmp_path, capsys, monkeypatch):
    from zoo.perf import target

    records = [_target(s, t) for s, t in enumerate((10.0, None, 30.0))]  # 2 of 3 reached
    records += [_target(s, t, tuned=True) for s, t in enumerate((4.0, None, None))]
    monkeypatch.setattr(target, "run_suite", lambda *args, **kwargs: records)
    suite = perf.load_suite("time-to-target")
    bench_cli._bench_targets(
        suite, tmp_path / "t.jsonl", None, None, False, {"tuned": False, "warm": False}, False
    )
    head, body = _terminal(capsys.readouterr().out)
    _, md_path = target.write_tables(tmp_path / "t.jsonl", records)
    md_head, md_body = _markdown(md_path.read_text())
    page_head, page_body = _markdown(report.target_table(records))
    assert head == md_head == page_head and body == md_body == page_body
    default, tuned = (dict(zip(head, row, strict=True)) for row in body)
    assert default["time to target s (min-max)"] == "30.0 (10.0-30.0)"
    assert default["reached"] == "2/3" and default["optimum"] == "0.9965"
    assert tuned["model"] == "mlp (tuned)" and tuned["time to target s (min-max)"] == "not reached"
    assert tuned["steps"] == "not reached"
    # One seed where both reached (0: 10 s against 4 s): a ratio without an interval.
    assert (
        tuned["vs default [95% interval]"] == "2.50x"
        and default["vs default [95% interval]"] == "-"
    )
