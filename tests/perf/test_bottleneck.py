"""The bottleneck verdict: hand-made records that hit each rule, and a real profile."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo.choices import BOTTLENECKS
from zoo.perf import bottleneck
from zoo.perf.bottleneck import verdict

AVX512_BF16 = ["avx2", "fma", "avx512f", "avx512_bf16"]
PEAK = {"matmul_flops_per_s": 100e9, "copy_bytes_per_s": 20e9}  # ridge: 5 FLOP/byte


def record(**changes) -> dict:
    """A graph-mode float32 CPU profile of a mid-sized model: 1 M parameters, 100 MFLOP per
    example per training step, 10 ms steps at batch 64, compiled in 1 s, MFU 64%."""
    r = {
        "model": "m",
        "mode": "graph",
        "precision": "float32",
        "device": "cpu",
        "batch_size": 64,
        "params": 1_000_000,
        "flops": {"forward_per_sample": 33_333_333, "train_per_sample": 100_000_000},
        "compile_s": 1.0,
        "train": {"step_ms_median": 10.0, "samples_per_s": 6400.0},
        "mfu": 0.64,
        "activations_per_sample": 50_000,
        "resolved": {"jit_compile": False, "steps_per_execution": 1},
        "overhead": {"step_ms": 1.0},
        "env": {"cpu_flags": AVX512_BF16},
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(r.get(key), dict):
            r[key] = {**r[key], **value}
        else:
            r[key] = value
    return r


def test_compute_bound_at_a_high_mfu_with_the_native_bf16_advice():
    v = verdict(record(), peak=PEAK)
    assert v["kind"] == "compute" and "MFU 64%" in v["evidence"]
    assert v["figures"]["mfu"] == 0.64
    assert v["advice"] == "--precision mixed_bfloat16 (this CPU has avx512_bf16)"
    avx2 = verdict(record(env={"cpu_flags": ["avx2", "fma"]}), peak=PEAK)
    assert "on a GPU or a CPU with native bf16" in avx2["advice"]


def test_compile_bound_when_compile_outlasts_a_typical_run():
    v = verdict(record(compile_s=12.0), peak=PEAK)  # 1000 steps of 10 ms: 10 s
    assert v["kind"] == "compile" and "compile 12.00 s > 1000 training steps" in v["evidence"]
    assert v["figures"]["typical_run_s"] == pytest.approx(10.0)
    xla = verdict(record(compile_s=12.0, resolved={"jit_compile": True}), peak=PEAK)
    assert xla["advice"].startswith("--no-jit-compile")
    assert verdict(record(compile_s=9.0), peak=PEAK)["kind"] != "compile"


def test_input_bound_only_when_the_pipeline_and_memory_were_both_measured():
    slow = record(mode="pipeline", train={"step_ms_median": 13.0}, memory_fit=None)
    assert verdict(slow, peak=PEAK)["kind"] != "input"  # one side only: never claimed
    v = verdict({**slow, "memory_fit": {"step_ms_median": 10.0}}, peak=PEAK)
    assert v["kind"] == "input" and "13.00 ms vs 10.00 ms from memory (1.30x" in v["evidence"]
    assert v["figures"]["input_ratio"] == pytest.approx(1.3)
    assert "from memory" in v["advice"] and "3.00 ms a step" in v["advice"]
    # A bench's in-memory fit case stands in for memory_fit.
    bench = verdict(slow, peak=PEAK, memory_record={"train": {"step_ms_median": 10.0}})
    assert bench["kind"] == "input"
    close = verdict({**slow, "memory_fit": {"step_ms_median": 12.0}}, peak=PEAK)
    assert close["kind"] != "input"  # 1.08x: within the margin


def test_dispatch_bound_when_the_fixed_overhead_is_most_of_the_step():
    v = verdict(record(overhead={"step_ms": 6.0}, mfu=0.1), peak=PEAK)
    assert v["kind"] == "dispatch" and "10.00 ms" in v["evidence"] and "6.00 ms" in v["evidence"]
    assert v["figures"]["overhead_share"] == pytest.approx(0.6)
    assert v["advice"] == "--steps-per-execution 8 (zoo train; zoo profile --mode fit)"
    fit = record(mode="fit", overhead={"step_ms": 6.0}, resolved={"steps_per_execution": 8})
    assert verdict(fit, peak=PEAK)["advice"].startswith("--batch-size 256")
    eager = record(mode="eager", overhead={"step_ms": 9.0})
    assert verdict(eager, peak=PEAK)["advice"].startswith("--mode graph")


def test_dispatch_by_flops_alone_where_no_overhead_was_measured():
    tiny = record(overhead=None, flops={"train_per_sample": 1000}, mfu=0.0)
    v = verdict(tiny, peak=PEAK)
    assert v["kind"] == "dispatch" and "64,000 FLOPs per step" in v["evidence"]


def test_memory_bound_at_low_intensity_and_low_mfu():
    # 2 MFLOP per example x 64 = 128 MFLOP per step; weights 40 MB, activations 38 MB.
    lean = record(flops={"train_per_sample": 2_000_000}, mfu=0.2)
    v = verdict(lean, peak=PEAK)
    assert v["kind"] == "memory"
    assert v["figures"]["weight_bytes"] == 4 * 1_000_000 * bottleneck.WEIGHT_PASSES
    assert v["figures"]["intensity"] < v["figures"]["ridge"] == pytest.approx(5.0)
    assert "FLOPs per byte moved" in v["evidence"] and "MFU 20%" in v["evidence"]
    assert v["advice"].startswith("--batch-size 256")  # weights dominate the traffic
    acts = record(flops={"train_per_sample": 2_000_000}, mfu=0.2, activations_per_sample=1e6)
    assert verdict(acts, peak=PEAK)["advice"].startswith("--jit-compile")


def test_without_a_peak_mfu_is_unknown_and_said_so():
    v = verdict(record(mfu=None))
    assert v["kind"] == "compute" and "MFU unknown (run `zoo peak`)" in v["evidence"]
    lean = verdict(record(mfu=None, flops={"train_per_sample": 2_000_000}))
    assert lean["kind"] == "memory" and lean["figures"]["ridge"] == bottleneck.DEFAULT_RIDGE


def test_unknown_when_intensity_is_high_but_mfu_low():
    v = verdict(record(mfu=0.3), peak=PEAK)
    assert v["kind"] == "unknown" and "MFU 30%" in v["evidence"]
    assert v["advice"].startswith("--jit-compile")


def test_an_emulated_precision_is_advised_back_to_float32():
    v = verdict(record(precision="mixed_float16", mfu=0.6), peak=PEAK)
    assert v["kind"] == "compute" and v["advice"].startswith("--precision mixed_bfloat16")
    avx2 = record(precision="mixed_bfloat16", mfu=None, env={"cpu_flags": ["avx2"]})
    assert verdict(avx2)["advice"].startswith("--precision float32")
    bf16 = verdict(record(precision="mixed_bfloat16", mfu=None))  # native, no bf16 peak
    assert bf16["kind"] == "compute" and bf16["advice"].startswith("zoo peak --dtype bfloat16")


def test_every_kind_is_in_the_vocabulary():
    hits = [
        record(compile_s=12.0),
        record(mode="pipeline", train={"step_ms_median": 13.0}, memory_fit={"step_ms_median": 10}),
        record(overhead={"step_ms": 6.0}),
        record(),
        record(flops={"train_per_sample": 2_000_000}, mfu=0.2),
        record(mfu=0.3),
    ]
    assert sorted(verdict(r, peak=PEAK)["kind"] for r in hits) == sorted(BOTTLENECKS)


def test_bench_rows_get_the_kind_most_repeats_got_and_old_records_none():
    records = [
        {"case": "a", "status": "ok", "bottleneck": {"kind": "compute"}},
        {"case": "a", "status": "ok", "bottleneck": {"kind": "compute"}},
        {"case": "a", "status": "ok", "bottleneck": {"kind": "memory"}},
        {"case": "b", "status": "ok"},  # written before verdicts
        {"case": "c", "status": "error", "bottleneck": {"kind": "compute"}},
    ]
    rows = [{"case": c} for c in "abc"]
    bottleneck.annotate_rows(rows, records)
    assert [r["bottleneck"] for r in rows] == ["compute", None, None]


def test_zoo_profile_prints_the_verdict_and_the_setting_to_try(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    r = CliRunner().invoke(app, ["profile", "linear_regression", "--steps", "5"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    verdicts = [line for line in lines if line.startswith("bottleneck: ")]
    assert len(verdicts) == 1 and verdicts[0].split()[1] in BOTTLENECKS
    assert any(line.startswith("try: --") for line in lines)
    r = CliRunner().invoke(app, ["profile", "linear_regression", "--steps", "5", "--json"])
    record = __import__("json").loads(r.stdout)
    assert record["bottleneck"]["kind"] in BOTTLENECKS
    assert record["overhead"]["cached"] is True  # measured once per machine
