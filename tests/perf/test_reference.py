"""References (hand-written TF loop, PyTorch CNN), profiling modes fit/pipeline/auto, the
XLA probe, and the reference suite's ratios."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import tensorflow_datasets as tfds

import zoo
from tests.perf.test_bench import _fake, _suite
from zoo.errors import SuiteError
from zoo.perf import profile as profiling
from zoo.perf import runner as perf_runner
from zoo.perf import suite as perf_suite
from zoo.perf import summary as perf_summary
from zoo.perf import worker as bench_worker
from zoo.runtime import RunConfig, autojit


def test_the_hand_written_loop_trains_the_zoo_model():
    from zoo.perf.references import tf_loop

    r = tf_loop.measure("mlp", 32, steps=4, warmup=1)
    assert r["mode"] == "ref_tf" and r["params"] == zoo.create_model("mlp").count_params()
    assert r["train"]["samples_per_s"] > 0 and r["train"]["steps"] == 4
    assert r["loss_last"] < r["loss_first"]  # it really trains on the batch
    assert "tf.function" in r["resolved"]["implementation"]


@pytest.mark.slow  # trains the PyTorch CNN in a worker process
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs PyTorch")
def test_the_pytorch_seed_cnn_is_the_zoo_port_and_trains():
    # In its own process, as `zoo bench` runs it: PyTorch builds that ship Triton can
    # crash when torch._dynamo is imported into a process already running TensorFlow.
    case = perf_suite.Case("seed_cnn", "ref_torch", "float32", 16, "cpu")
    r = perf_runner.run_case(case, steps=3, timeout_s=600)  # zoo.proc's worker, as bench's
    assert r["status"] == "ok", r.get("reason")
    assert r["mode"] == "ref_torch" and r["num_params"] == 1_625_866  # the zoo port's count
    assert r["loss_last"] < r["loss_first"]


def test_a_missing_pytorch_is_a_skipped_case(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    case = {"model": "seed_cnn", "mode": "ref_torch", "precision": "float32", "device": "cpu"}
    with pytest.raises(bench_worker._Skip, match=r"keras-zoo\[compare\]"):
        bench_worker._reference({**case, "batch_size": 8, "steps": 1})


def test_fit_mode_times_whole_epochs_with_steps_per_execution():
    r = profiling.profile("mlp", mode="fit", batch_size=32, steps=4, steps_per_execution=2)
    assert r.resolved["steps_per_execution"] == 2 and r.train["samples_per_s"] > 0
    assert len({r.train["step_ms_p10"], r.train["step_ms_p90"]}) >= 1


def test_pipeline_mode_reads_a_real_dataset_and_needs_one():
    with tfds.testing.mock_data(num_examples=64):
        r = profiling.profile("mlp", mode="pipeline", dataset="mnist", batch_size=16, steps=2)
    assert r.resolved["dataset"] == "mnist" and r.train["samples_per_s"] > 0
    with pytest.raises(zoo.ZooError, match="pass dataset="):
        profiling.profile("mlp", mode="pipeline", steps=2)


@pytest.mark.slow  # a real probe of graph against XLA: about 4 s
def test_auto_xla_is_the_faster_by_a_probe_measured_once(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = zoo.train("linear_regression", epochs=1, samples=128, run=RunConfig(jit_compile="auto"))
    probe = first.run["jit_probe"]
    assert probe["cached"] is False
    assert probe["jit_compile"] == (probe["xla_step_ms"] < probe["graph_step_ms"])
    assert first.run["jit_compile"] is probe["jit_compile"]
    again = zoo.train("linear_regression", epochs=1, samples=128, run=RunConfig(jit_compile="auto"))
    assert again.run["jit_probe"]["cached"] is True
    assert again.run["jit_compile"] is probe["jit_compile"]
    assert (tmp_path / "keras-zoo" / "jit.json").is_file()
    other = autojit.cache_key("linear_regression", {}, 64, "cpu", "mixed_bfloat16")
    assert other not in autojit._read()  # per precision (and model, batch, device, machine)


def test_the_reference_suite_loads_and_refuses_what_cannot_run(tmp_path):
    suite = perf_suite.load_suite("reference")
    modes = {(c.model, c.mode) for c in suite.cases}
    assert {("seed_cnn", "ref_torch"), ("mlp", "ref_tf"), ("lstm_classifier", "ref_tf")} <= modes
    pipe = next(c for c in suite.cases if c.mode == "pipeline" and c.steps_per_execution == 1)
    assert pipe.dataset == "fashion_mnist" and "data=fashion_mnist" in pipe.key
    fused = {c.model for c in suite.cases if c.mode == "fit" and c.steps_per_execution == 8}
    assert fused == {"seed_cnn", "mlp", "lstm_classifier"}
    bad = '[[case]]\nmodel = "mlp"\nmodes = ["ref_torch"]\n'
    with pytest.raises(SuiteError, match="ref_torch.*seed_cnn"):
        perf_suite.load_suite(_suite(tmp_path, bad))
    bad = '[[case]]\nmodel = "mlp"\nmodes = ["pipeline"]\n'
    with pytest.raises(SuiteError, match="needs a `dataset`"):
        perf_suite.load_suite(_suite(tmp_path, bad))
    bad = '[[case]]\nmodel = "mlp"\nmodes = ["fit"]\nsteps_per_execution = 0\n'
    with pytest.raises(SuiteError, match="steps_per_execution"):
        perf_suite.load_suite(_suite(tmp_path, bad))


def test_reference_ratios_are_zoo_over_reference_per_repeat(tmp_path):
    text = """
[suite]
baseline = "fit"
[[case]]
model = "seed_cnn"
modes = ["fit", "ref_tf", "ref_torch", "pipeline"]
dataset = "fashion_mnist"
"""
    suite = perf_suite.load_suite(_suite(tmp_path, text))
    rates = {
        "fit": [100.0, 110.0],
        "ref_tf": [100.0, 100.0],
        "ref_torch": [50.0, 55.0],
        "pipeline": [95.0, 110.0],
    }
    records = perf_runner.run_suite(suite, tmp_path / "r.jsonl", repeat=2, runner=_fake(rates)[0])
    refs = {r["comparison"]: r for r in perf_summary.reference_ratios(records, "fit")}
    tf = refs["zoo fit / hand-written tf.function loop"]
    assert (tf["min"], tf["ratio"], tf["max"]) == pytest.approx((1.0, 1.05, 1.1))
    assert refs["zoo fit / PyTorch eager"]["ratio"] == pytest.approx(2.0)
    pipe = refs["tf.data pipeline on real data / fit from memory"]
    assert (pipe["min"], pipe["max"]) == pytest.approx((0.95, 1.0))
    assert "zoo fit / PyTorch eager | 2.00x" in (tmp_path / "r.md").read_text()


def test_a_reference_record_is_a_profile_result():
    from zoo.perf.references import common

    x, y, kwargs = common.batch("mlp", 8)
    assert len(y) == 8 and kwargs == profiling.synthetic_batch(zoo.get_spec("mlp"), {}, 8)[2]
    r = common.record(
        model="mlp",
        mode="ref_tf",
        batch_size=8,
        first_s=0.5,
        times=[0.01, 0.02, 0.03],
        flops_model=zoo.create_model("mlp"),
        implementation="by hand",
        params=7,
        extra={"loss_first": 2.0},
    )
    fields = set(profiling.ProfileResult.__dataclass_fields__)
    assert fields <= set(r) and r["loss_first"] == 2.0 and r["params"] == 7
    assert r["train"]["samples_per_s"] == pytest.approx(8 / 0.02) and r["train"]["steps"] == 3
    assert r["flops"]["forward_per_sample"] > 0 and r["precision"] == "float32"
