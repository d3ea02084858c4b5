"""keras.distribution on JAX: `--strategy data-parallel` over the CPU split into devices
(`--cpu-devices N`: XLA_FLAGS=--xla_force_host_platform_device_count=N), against one
device, through the command line."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo.perf import parity

# gpt_tiny (dropout 0) for one epoch: 280 examples split into 252 to train and 28 to
# validate, both multiples of 2 and 4 (as is the last batch of 28), so every device count
# sees the same batches.
ARGS = ["--samples", "280", "--epochs", "1", "--batch-size", "32", "--json"]


def _zoo_on_jax(*args: str) -> subprocess.CompletedProcess:
    """`zoo ARGS --backend jax` in its own process (where --cpu-devices splits the CPU)."""
    argv = [sys.executable, "-m", "zoo.cli.main", *args, "--backend", "jax"]
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "KERAS_BACKEND")}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)


def _train_argv(tmp_path, devices: int, strategy: str = "data-parallel") -> list[str]:
    strategy = "none" if devices == 1 else strategy
    out = str(tmp_path / f"run{devices}{strategy}")
    # one block, not gpt_tiny's two: each process is mostly compiling it
    return ["train", "gpt_tiny", "--strategy", strategy, "--cpu-devices", str(devices), *ARGS,
            "-p", "num_layers=1", "--output", out]  # fmt: skip


def _train_at_once(tmp_path, *runs: tuple) -> list[dict]:
    """Several `_train` processes side by side (each is mostly single-threaded XLA
    compilation), their records in order."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "KERAS_BACKEND")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "zoo.cli.main", *_train_argv(tmp_path, *r), "--backend", "jax"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for r in runs
    ]
    records = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        records.append(json.loads(out))
    return records


@pytest.mark.slow
def test_the_loss_on_2_devices_matches_one_device_within_the_parity_tolerances(tmp_path):
    # 2 devices, as the issue asks (4 agreed to the printed digit too, run by hand: each
    # device count is a process of ~15 s here, most of it compiling gpt_tiny).
    one, split, sharded = _train_at_once(tmp_path, (1,), (2,), (2, "model-parallel"))
    for n in (2,):
        assert split["run"]["strategy"] == "data_parallel" and split["run"]["replicas"] == n
        assert split["run"]["replica_devices"] == [f"cpu:{i}" for i in range(n)]
        left = split["validation"]["left_out_for_replicas"]
        assert left["train"] == left["validation"] == 0  # the same batches as one device
        assert_same_curve(one, split, n)
        assert split["train_seconds"] > 0  # and the time it took is in the record
    # model_parallel: one replica whose attention, feed-forward and embedding weights are
    # split over the 2 devices (1 block x 10, and the token embedding), the same curve
    split = sharded
    run = split["run"]
    assert (run["strategy"], run["replicas"], run["model_shards"]) == ("model_parallel", 1, 2)
    assert run["sharded_weights"] == 11 and run["shard_devices"] == ["cpu:0", "cpu:1"]
    assert_same_curve(one, split, "model")


def assert_same_curve(one: dict, split: dict, label) -> None:
    """Training and validation loss per epoch within parity.md's float32 tolerances."""
    steps = -(-252 // 32)  # one epoch
    tol = parity.tolerances("float32")
    for a, b in zip(one["history"], split["history"], strict=True):
        for key in ("loss", "val_loss"):
            rel = abs(a[key] - b[key]) / abs(a[key])
            assert rel <= tol["forward"] + steps * tol["curve_per_step"], (label, key, rel)


def test_model_parallel_over_a_device_count_that_does_not_divide_the_widths_is_one_line():
    """JAX's error when a weight does not split over the devices (gpt_tiny's 64 on 3, as
    JAX words it) becomes one line; another strategy's errors pass through untouched."""
    from zoo.errors import InvalidArgumentError
    from zoo.runtime import distribute

    class IndivisibleError(ValueError):  # jax._src.sharding's, by name
        pass

    said = (
        "Sharding NamedSharding(mesh=Mesh('batch': 1, 'model': 3)) implies that array axis 1 "
        "is partitioned 3 times, but the dimension size is 64 (full shape: (64, 64))"
    )
    with pytest.raises(InvalidArgumentError, match="over 3 devices, but one of its weights "
                       "has a dimension of 64"):  # fmt: skip
        with distribute.indivisible_as_error(SimpleNamespace(strategy="model_parallel")):
            raise IndivisibleError(said)
    with pytest.raises(IndivisibleError):
        with distribute.indivisible_as_error(SimpleNamespace(strategy="none")):
            raise IndivisibleError(said)


class _Sharding:
    def __init__(self, spec):
        self.spec = spec


class _Weight:
    def __init__(self, path, spec):
        self.path, self.value = path, SimpleNamespace(sharding=_Sharding(spec))


def test_model_parallel_counts_the_weights_whose_sharding_splits_and_refuses_none():
    from zoo.errors import InvalidArgumentError
    from zoo.runtime import distribute

    run = SimpleNamespace(strategy="model_parallel")
    split = [_Weight("b/query/kernel", (None, "model", None)), _Weight("n/gamma", (None,))]
    assert distribute.check_sharded(SimpleNamespace(weights=split, name="t"), run) == 1
    replicated = SimpleNamespace(weights=[_Weight("dense/kernel", (None, None))], name="mlp")
    with pytest.raises(InvalidArgumentError, match="mlp has none of them"):
        distribute.check_sharded(replicated, run)
    assert distribute.check_sharded(replicated, SimpleNamespace(strategy="none")) == 0
    # the layout names the zoo's blocks and keras-hub's, each weight at most once
    import re

    for path in ("block_1_ff_in/kernel", "transformer_layer_0/feedforward_output_dense/kernel",
                 "decoder_token_embedding/embeddings", "token_embedding/embeddings",
                 "transformer_layer_0/self_attention_layer/value/bias"):  # fmt: skip
        hits = [p for p in distribute.TRANSFORMER_LAYOUT if re.fullmatch(p, path)]
        assert len(hits) == 1, (path, hits)


def test_data_parallel_on_tensorflow_or_an_uneven_batch_is_one_line_exit_2():
    runner = CliRunner()
    r = runner.invoke(app, ["train", "mlp", "--strategy", "data-parallel", "--samples", "300"])
    assert r.exit_code == 2 and "keras.distribution, which runs on JAX" in r.output
    assert "Traceback" not in r.output


@pytest.mark.slow
def test_a_batch_that_does_not_split_over_the_devices_says_which_would():
    proc = _zoo_on_jax("train", "mlp", "--strategy", "data-parallel", "--cpu-devices", "2",
                       "--batch-size", "63")  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "The batch size 63 does not split over the 2 devices" in proc.stderr
    assert "--batch-size 62" in proc.stderr and "Traceback" not in proc.stderr


SCALING_SUITE = """
[suite]
name = "scaling"
baseline = "xla"
steps = 3
repeat = 2
[[case]]
model = "mlp"
modes = ["xla"]
backends = ["jax"]
batch_sizes = [64]
replicas = [1, 2]
params = { hidden_units = 32 }
"""


def _records(rates: dict[int, list[float]]) -> list[dict]:
    out = []
    for replicas, per_repeat in rates.items():
        for rep, rate in enumerate(per_repeat):
            key = "mlp|xla|float32|64|cpu||jax" + (f"|x{replicas}" if replicas != 1 else "")
            out.append({
                "case": key, "repeat": rep, "model": "mlp", "mode": "xla",
                "precision": "float32", "batch_size": 64, "device": "cpu", "backend": "jax",
                "replicas": replicas, "status": "ok", "train": {"samples_per_s": rate},
            })  # fmt: skip
    return out


def test_scaling_efficiency_is_the_paired_throughput_ratio_over_the_device_count():
    from zoo.perf import summary, tables

    rows = summary.summarize(_records({1: [100.0, 110.0, 90.0], 2: [150.0, 165.0, 135.0]}), "xla")
    (two,) = [r for r in rows if r["replicas"] == 2]
    assert two["scaling"] == pytest.approx(0.75)
    assert two["scaling_low"] == pytest.approx(0.75) and two["scaling_verdict"] == "below linear"
    (one,) = [r for r in rows if r["replicas"] == 1]
    assert "scaling" not in one
    table = tables.bench_table(rows, "xla")
    assert "scaling efficiency [95% interval]" in table.header()
    assert any("0.75x" in cell for row in table.texts() for cell in row)
    assert "xla x2 jax" in [line[3] for line in table.texts()]


@pytest.mark.slow
def test_zoo_bench_measures_scaling_efficiency_across_forced_cpu_devices(tmp_path):
    """A suite's `replicas` axis through the CLI: the case on 2 devices runs data_parallel
    in its own process (the CPU split there) and the table has its efficiency."""
    suite = tmp_path / "scaling.toml"
    suite.write_text(SCALING_SUITE)
    out = tmp_path / "r.jsonl"
    runner = CliRunner()
    r = runner.invoke(app, ["bench", "--suite", str(suite), "--output", str(out)])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    two = [rec for rec in records if rec["replicas"] == 2]
    assert len(two) == 2 and all(rec["status"] == "ok" for rec in records)
    assert all(rec["resolved"]["replica_devices"] == ["cpu:0", "cpu:1"] for rec in two)
    assert "scaling efficiency" in r.output
    from zoo.perf import summary

    (row,) = [x for x in summary.summarize(records, "xla") if x["replicas"] == 2]
    assert row["scaling"] > 0 and row["scaling_low"] <= row["scaling"] <= row["scaling_high"]


@pytest.mark.slow
def test_zoo_profile_splits_the_batch_over_the_devices_it_asks_for():
    argv = [sys.executable, "-m", "zoo.cli.main", "profile", "mlp", "--backend", "jax"]
    argv += ["--replicas", "2", "--device", "cpu", "--mode", "xla", "--steps", "3", "--json"]
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "KERAS_BACKEND")}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout)
    assert record["resolved"]["replicas"] == 2 and record["resolved"]["strategy"] == "data_parallel"
    assert record["train"]["samples_per_s"] > 0 and record["infer"]["p50_ms"] is None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MLP = ["train", "mlp", "--strategy", "data-parallel", "--samples", "2000", "--epochs", "3",
       "--batch-size", "64", "--json"]  # fmt: skip


@pytest.mark.slow
def test_data_parallel_over_two_local_processes_trains_one_model(tmp_path):
    """Two processes on 127.0.0.1 joined by keras.distribution.initialize() through the
    standard KERAS_DISTRIBUTION_* variables (as on two hosts), one CPU device each: each
    feeds its half of every global batch, both report the same model, only the first
    writes the run, and the model learns."""
    address = f"127.0.0.1:{_free_port()}"
    base = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "KERAS_BACKEND")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zoo.cli.main",
                *MLP,
                "--backend",
                "jax",
                "--output",
                str(tmp_path / "run"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **base,
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": address,
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": str(i),
            },
        )  # fmt: skip
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    first, second = (json.loads(out) for out, _ in outs)  # stdout is the JSON alone
    assert first["run"]["processes"] == 2 and first["run"]["replicas"] == 2
    assert first["validation"]["process"] == {"index": 0, "count": 2}
    assert second["validation"]["process"] == {"index": 1, "count": 2}
    assert first["test_metrics"] == second["test_metrics"]  # one model, trained together
    assert first["paths"] and not second["paths"]  # only the first process writes the run
    assert "(0 left out" not in outs[1][1] and "1800 train" in outs[0][1].replace(",", "")
    assert not any(p.name.startswith(".worker") for p in (tmp_path / "run").iterdir())
    # the two processes trained one model that learned the task
    assert first["test_metrics"]["accuracy"] >= 0.9 * first["optimum"]["accuracy"]
