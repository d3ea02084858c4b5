"""zoo bench and zoo compare: suites, isolation, streaming and resume, summaries."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo.errors import OutputError, SuiteError
from zoo.perf import runner as perf_runner
from zoo.perf import suite as perf_suite
from zoo.perf import summary as perf_summary
from zoo.perf import tables as perf_tables

runner = CliRunner()


def _suite(tmp_path, text: str, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


TINY = """
[suite]
name = "tiny"
baseline = "graph"
steps = 2
timeout_s = 240

[defaults]
modes = ["graph", "xla"]

[[case]]
model = "linear_regression"
batch_sizes = [64]
"""


def profile_fields(rate: float, mode: str) -> dict:
    """What a successful profile of linear_regression returns, at a given throughput."""
    return {
        "status": "ok",
        "num_params": 5,
        "flops": {"forward_per_sample": 8},
        "train": {"samples_per_s": rate, "step_ms_p10": 1.0, "step_ms_p90": 2.0},
        "infer": {"p50_ms": 0.1},
        "compile_s": 0.5,
        "peak_memory_mb": 100.0,
        "mfu": None,
        "resolved": {"jit_compile": mode == "xla"},
    }


def _fake(rates):
    """A runner that records the order of calls and returns given throughputs."""
    calls = []

    def run(case, steps, timeout_s):
        calls.append(case.key)
        rate = rates[case.mode][len([c for c in calls if c == case.key]) - 1]
        return profile_fields(rate, case.mode)

    return run, calls


def test_shipped_suites_load_and_expand():
    quick = perf_suite.load_suite("quick")
    families = {__import__("zoo").get_spec(c.model).family for c in quick.cases}
    assert families == {"linear", "mlp", "cnn", "rnn", "transformer", "recommender"}
    assert {c.mode for c in quick.cases} == {"graph", "xla"}
    assert len(quick.cases) == 12
    models = set(__import__("zoo").list_models())
    heavy = {"resnet50", "mobilenet_v2", "efficientnet_b0", "bert_base", "gpt2_small"}
    xla = perf_suite.load_suite("xla").cases
    assert {c.model for c in xla} == models - heavy and len(xla) == 2 * len(models - heavy)
    assert {c.precision for c in perf_suite.load_suite("precision").cases} == {
        "float32",
        "mixed_bfloat16",
        "mixed_float16",
    }
    full = perf_suite.load_suite("full")
    # Every model, bert_base and gpt2_small included, in three settings.
    assert {c.model for c in full.cases} == models and len(full.cases) == 3 * len(models)
    assert {"bert_base", "gpt2_small"} <= {c.model for c in full.cases}


@pytest.mark.parametrize(
    "text, match",
    [
        ("[suite\nname = 1", "not valid TOML"),
        ("[suite]\nspeed = 3\n[[case]]\nmodel = 'mlp'", r"line 2: unknown field 'speed'"),
        ("[[case]]\nmodel = 'mlpp'", r"line 2 \('mlpp'\): Unknown model 'mlpp'. Did you mean mlp"),
        ("[[case]]\nmodel = 'mlp'\nmodes = ['fast']", "line 3: unknown mode 'fast'"),
        ("[[case]]\nmodel = 'mlp'\nprecisions = ['int4']", "unknown precision 'int4'"),
        ("[[case]]\nmodel = 'mlp'\ndevices = ['tpu']", "unknown device 'tpu'"),
        ("[[case]]\nmodel = 'mlp'\nbatch_sizes = [0]", "positive integers"),
        ("[[case]]\nmodel = 'mlp'\nparams = {width = 3}", "has no hyper-parameter 'width'"),
        ("[extra]\na = 1", r"unknown table \[extra\]"),
        ("[suite]\nname = 'x'", "no cases"),
        ("[[case]]\nmodel = 'mlp'\nreplicas = [1, 2]", "line 3 .mlp.: replicas over 1 run"),
        ("[[case]]\nmodel = 'mlp'\nbackends = ['jax']\nreplicas = [0]", "positive integers"),
    ],
)
def test_bad_suites_name_the_problem_and_the_line(tmp_path, text, match):
    with pytest.raises(SuiteError, match=match):
        perf_suite.load_suite(_suite(tmp_path, text))


def test_unknown_suite_name_lists_the_shipped_ones():
    shipped = (
        "domains, fast, full, gpu, parity, parity-gpu, precision, quantization, quick, reference, "
        "time-to-target, xla"
    )
    with pytest.raises(SuiteError, match=f"Shipped: {shipped}"):
        perf_suite.load_suite("quik")


def test_repeats_interleave_and_results_stream(tmp_path):
    suite = perf_suite.load_suite(_suite(tmp_path, TINY))
    run, calls = _fake({"graph": [100.0, 110.0, 90.0], "xla": [150.0, 160.0, 140.0]})
    out = tmp_path / "r.jsonl"
    records = perf_runner.run_suite(suite, out, repeat=3, runner=run)
    graph, xla = (c.key for c in suite.cases)
    assert calls == [graph, xla] * 3  # A B A B A B
    assert [json.loads(line)["repeat"] for line in out.read_text().splitlines()] == [
        0,
        0,
        1,
        1,
        2,
        2,
    ]
    first = json.loads(out.read_text().splitlines()[0])
    assert first["schema"] == 2 and first["kind"] == "bench"
    assert first["model_kwargs"] == {} and first["num_params"] == 5 and "params" not in first
    rows = {r["mode"]: r for r in perf_summary.summarize(records)}
    assert rows["graph"]["train_samples_per_s"] == 100.0
    assert rows["xla"]["speedup"] == pytest.approx(1.5)
    assert rows["xla"]["speedup_min"] == pytest.approx(160 / 110)  # pairs of one repeat
    assert rows["xla"]["speedup_max"] == pytest.approx(140 / 90)
    assert rows["xla"]["fastest"] and not rows["graph"]["fastest"]
    assert out.with_suffix(".csv").is_file() and "**150" in out.with_suffix(".md").read_text()


def test_an_interrupted_suite_leaves_valid_lines_and_resume_runs_only_the_rest(tmp_path):
    suite = perf_suite.load_suite(_suite(tmp_path, TINY))
    run, calls = _fake({"graph": [100.0] * 3, "xla": [150.0] * 3})

    def dies_on_third(case, steps, timeout_s):
        if len(calls) == 2:
            raise KeyboardInterrupt
        return run(case, steps, timeout_s)

    out = tmp_path / "r.jsonl"
    with pytest.raises(KeyboardInterrupt):
        perf_runner.run_suite(suite, out, repeat=2, runner=dies_on_third)
    assert len(perf_runner.read_records(out)) == 2
    with pytest.raises(OutputError, match="--resume"):
        perf_runner.run_suite(suite, out, repeat=2, runner=run)
    records = perf_runner.run_suite(suite, out, repeat=2, resume=True, runner=run)
    assert len(calls) == 4 and len(records) == 4
    assert sorted((r["case"], r["repeat"]) for r in records) == sorted(
        (c.key, r) for r in range(2) for c in suite.cases
    )


@pytest.mark.slow  # real worker processes, a crash and a timeout: about 15 s
def test_real_cases_run_isolated_and_failures_are_statuses(tmp_path):
    text = (
        TINY
        + """
[[case]]
model = "mlp"
batch_sizes = [8]
devices = ["gpu"]
modes = ["graph"]
"""
    )
    suite = perf_suite.load_suite(_suite(tmp_path, text))
    records = perf_runner.run_suite(suite, tmp_path / "r.jsonl")
    by = {(r["model"], r["mode"]): r for r in records}
    ok = by[("linear_regression", "xla")]
    assert ok["status"] == "ok" and ok["resolved"]["jit_compile"] is True
    assert ok["peak_memory_mb"] > 0 and ok["train"]["samples_per_s"] > 0
    assert by[("mlp", "graph")]["status"] == "skipped"
    assert "GPU" in by[("mlp", "graph")]["reason"]


@pytest.mark.slow  # a JAX worker process: about 8 s
def test_bench_workers_pin_the_matmul_precision_and_record_it():
    from zoo.perf import manifest

    case = perf_suite.Case("linear_regression", "graph", "float32", 16, "cpu", backend="jax")
    with manifest.workers_pin("highest"):
        record = perf_runner.run_case(case, steps=2, timeout_s=240)
    assert record["status"] == "ok", record
    m = record["manifest"]
    assert m["backend"] == "jax" and m["xla"] is True  # every compiled JAX step is XLA
    assert m["matmul_precision"] == "highest" and m["tf32"] == {"matmul": False, "conv": False}
    assert m["threads"]["intra_op"] is None and m["cpu_flags"] == record["env"]["cpu_flags"]


def test_a_case_past_its_time_limit_is_a_timeout(tmp_path):
    case = perf_suite.Case("mlp", "graph", "float32", 8, "cpu")
    record = perf_runner.run_case(case, steps=2, timeout_s=0.5)
    assert record["status"] == "timeout"


def test_bench_command_end_to_end(tmp_path):
    suite = _suite(tmp_path, TINY)
    out = tmp_path / "res.jsonl"
    r = runner.invoke(app, ["bench", "--suite", str(suite), "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert "linear_regression" in r.output and "vs graph" in r.output and "[2/2]" in r.output
    for line in out.read_text().splitlines():  # each record says where it comes from
        record = json.loads(line)
        assert record["schema"] == 2 and record["num_params"] == 5  # 4 weights and a bias
        provenance = record["provenance"]
        assert provenance["machine"]["cpu_flags"] == __import__("zoo.io").io.cpu_info()["flags"]
        assert provenance["argv"] and provenance["versions"]["keras"]
        assert "git" in provenance  # the commit where the zoo runs from a checkout
    r = runner.invoke(app, ["bench", "--suite", str(suite), "--output", str(out)])
    assert r.exit_code == 1 and "--resume" in r.output
    r = runner.invoke(
        app, ["bench", "--suite", str(suite), "--output", str(out), "--resume", "--json"]
    )
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 2
    r = runner.invoke(app, ["bench", "--suite", "nope"])
    assert r.exit_code == 1 and "Unknown suite" in r.output
    r = runner.invoke(app, ["bench", "--models", "zzz*", "--output", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "No case" in r.output


def test_gpu_out_of_memory_retries_with_half_the_batch(monkeypatch):
    seen = []

    def fake_worker(case, steps, timeout_s):
        seen.append(case.batch_size)
        if case.batch_size > 16:
            return {"status": "oom", "reason": "ResourceExhausted"}
        return {"status": "ok", "batch_size": case.batch_size}

    monkeypatch.setattr(perf_runner, "_run_worker", fake_worker)
    record = perf_runner.run_case(perf_suite.Case("resnet50", "xla", "float32", 64, "gpu"), 5, 60)
    assert seen == [64, 32, 16] and record["status"] == "ok"
    assert record["note"] == (
        "out of memory at batch 64; retried with 32; out of memory at batch 32; retried with 16"
    )
    seen.clear()
    cpu = perf_runner.run_case(perf_suite.Case("resnet50", "xla", "float32", 64, "cpu"), 5, 60)
    assert seen == [64] and cpu["status"] == "oom"  # only GPU cases shrink the batch


def test_charts_are_written_as_png(tmp_path):
    suite = perf_suite.load_suite(_suite(tmp_path, TINY))
    base = perf_runner.run_suite(
        suite,
        tmp_path / "a.jsonl",
        repeat=2,
        runner=_fake({"graph": [100.0, 101.0], "xla": [150.0, 151.0]})[0],
    )
    from zoo.cli import plot

    png = plot.bench_chart(perf_summary.summarize(base), tmp_path / "bench.png", "tiny")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = runner.invoke(
        app,
        [
            "compare",
            str(tmp_path / "a.jsonl"),
            str(tmp_path / "a.jsonl"),
            "--plot",
            str(tmp_path / "cmp.png"),
        ],
    )
    assert r.exit_code == 0 and (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_is_one_clear_error(monkeypatch):
    import sys

    from zoo.cli import plot

    from zoo.errors import UsageError

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match=r"pip install 'keras-zoo\[plot\]'"):
        plot.bench_chart([], "x.png", "t")


def test_the_case_key_is_spelled_by_one_function():
    case = perf_suite.Case("mlp", "fit", "float32", 32, "cpu", (("depth", 2),), 4, backend="jax")
    assert case.key == perf_suite.case_key(
        "mlp", "fit", "float32", 32, "cpu", {"depth": 2}, 4, backend="jax"
    )
    assert case.key == 'mlp|fit|float32|32|cpu|{"depth": 2}|spe=4|jax'
    plain = perf_suite.Case("mlp", "graph", "float32", 32, "cpu")
    assert plain.key == perf_suite.case_key("mlp", "graph", "float32", 32, "cpu")


def test_format_column_gives_each_column_one_precision():
    fmt = perf_summary.format_column
    assert fmt([0.5909, 4.405, None], "ms") == ["0.59", "4.41", "-"]
    assert fmt([0.7654, 1.27], "s") == ["0.77", "1.27"]
    assert fmt([0.079, 1.8], "s") == ["0.079", "1.800"]
    assert fmt([290740.43, 847.2], "throughput") == ["290,740", "847"]
    assert fmt([290740.43, None], "throughput", grouping=False, missing="") == ["290740", ""]
    assert fmt([269322, 5], "count") == ["269,322", "5"]
    assert fmt([0.24, 0.000032], "%") == ["24.0%", "0.0%"]


def test_written_tables_print_each_number_column_with_one_precision(tmp_path):
    suite = perf_suite.load_suite(_suite(tmp_path, TINY))
    run, _ = _fake({"graph": [100.0], "xla": [150.0]})

    def varied(case, steps, timeout_s):  # an inference latency ten times the other
        record = run(case, steps, timeout_s)
        record["infer"] = {"p50_ms": 0.5909 if case.mode == "graph" else 4.405}
        return record

    out = tmp_path / "r.jsonl"
    perf_runner.run_suite(suite, out, runner=varied)
    lines = out.with_suffix(".md").read_text().splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:4]]
    assert [row[head.index("infer p50 ms")] for row in cells] == ["0.59", "4.41"]
    rows = list(__import__("csv").DictReader(out.with_suffix(".csv").open()))
    assert [r["infer_p50_ms"] for r in rows] == ["0.59", "4.41"]
    assert [r["speedup"] for r in rows] == ["1.00", "1.50"]


def test_the_quantize_axis_parses_expands_and_keys(tmp_path):
    text = """
[defaults]
quantize = ["none", "int8"]

[[case]]
model = "mlp"
batch_sizes = [8, 16]
"""
    cases = perf_suite.load_suite(_suite(tmp_path, text)).cases
    assert [(c.batch_size, c.quantize) for c in cases] == [
        (8, "none"),
        (8, "int8"),
        (16, "none"),
        (16, "int8"),
    ]
    # "none" adds nothing to the key: the committed results keep matching.
    assert cases[0].key == perf_suite.case_key("mlp", "graph", "float32", 8, "cpu")
    assert cases[1].key == cases[0].key + "|q=int8"
    assert "int8 inference" in cases[1].label() and "int8" not in cases[0].label()
    shipped = perf_suite.load_suite("quantization").cases
    assert {c.quantize for c in shipped} == {"none", "int8"}
    assert {c.model for c in shipped} == {
        "mlp",
        "seed_cnn",
        "lstm_classifier",
        "transformer_classifier",
        "matrix_factorization",
        "gpt_tiny",
    }


@pytest.mark.parametrize(
    "text, match",
    [
        ("[[case]]\nmodel = 'mlp'\nquantize = ['int3']", "line 3: unknown quantization 'int3'"),
        (
            "[[case]]\nmodel = 'seed_cnn'\nmodes = ['ref_tf']\nquantize = ['none', 'int8']",
            "references",
        ),
    ],
)
def test_a_bad_quantize_axis_names_the_line(tmp_path, text, match):
    with pytest.raises(SuiteError, match=match):
        perf_suite.load_suite(_suite(tmp_path, text))


def test_quantized_records_summarize_as_inference_only():
    base = {"status": "ok", "repeat": 0, "model": "mlp", "mode": "graph", "precision": "float32"}
    base.update(batch_size=8, device="cpu", params=5, peak_memory_mb=1.0, compile_s=0.1)
    plain = {
        **base,
        "case": perf_suite.case_key("mlp", "graph", "float32", 8, "cpu"),
        "train": {"samples_per_s": 100.0},
        "infer": {"p50_ms": 1.0, "samples_per_s": 400.0},
    }
    quantized = {
        **base,
        "case": plain["case"] + "|q=int8",
        "quantize": "int8",
        "train": None,
        "infer": {"p50_ms": 2.0, "samples_per_s": 300.0},
        "float32_infer": {"p50_ms": 1.0, "samples_per_s": 600.0},
    }
    rows = perf_summary.summarize([plain, quantized])
    assert rows[0]["quantize"] == "none" and rows[0]["infer_vs_float32"] is None
    assert rows[1]["train_samples_per_s"] is None and rows[1]["speedup"] is None
    assert rows[1]["infer_vs_float32"] == pytest.approx(0.5)
    table = perf_tables.bench_table(rows, "graph")
    head, body = table.header(), table.texts()
    assert "infer vs float32 [95% interval]" in head
    assert body[1][head.index("precision")] == "float32, int8 weights"
    assert body[1][head.index("infer vs float32 [95% interval]")] == "0.50x"
