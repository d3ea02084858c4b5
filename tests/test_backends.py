"""Every Keras backend: the zoo without TensorFlow, the registry-wide model tests on JAX,
and benchmark cases per backend."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.perf import runner as perf_runner
from zoo.perf import suite as perf_suite
from zoo.perf import summary as perf_summary

ROOT = Path(__file__).resolve().parents[1]
needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="the jax extra is not installed"
)


# Imported first in the child process: any import of these raises ModuleNotFoundError, as
# if they were not installed (nothing is put in sys.modules, which Keras inspects).
BLOCK_TENSORFLOW = """
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets", "tf_keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def _without_tensorflow(tmp_path) -> dict[str, str]:
    """An environment whose Python cannot import TensorFlow or TFDS (as on a GPU machine
    that has only JAX), with the JAX backend."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCK_TENSORFLOW)
    path = os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": path}


@needs_jax
@pytest.mark.slow
def test_registry_wide_model_tests_pass_on_jax_without_tensorflow(tmp_path):
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            "tests/models/test_models.py",
            # The fast tier of the model tests: the slow tier's heavy training steps run
            # on JAX in `zoo bench --suite parity`, with every model of the registry.
            *("-m", "not slow"),
            # What is backend-specific: every model built at its small size and trained a
            # few steps on one batch (its layers' call, the loss and the gradients on
            # JAX). The spec, hyper-parameter and bad-value tests check configs and
            # signatures, and the builds and round trips repeat the same layers: the
            # TensorFlow run of the file has them. keras.applications is Keras' own code,
            # tested on JAX by Keras; keras-hub's models train on JAX in `zoo bench
            # --suite parity` (its committed results have every one), where their
            # published-size builds belong.
            "-k",
            "few_steps",
        ],
        cwd=ROOT,
        env=_without_tensorflow(tmp_path),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


TF_FREE = """
import json, sys
import zoo
from zoo.perf import profile as profiling, runner as perf_runner, suite as perf_suite
r = zoo.train("mlp", epochs=1, samples=512, output=sys.argv[1] + "/run")
e = zoo.evaluate(sys.argv[1] + "/run")
p = profiling.profile("mlp", mode="fit", batch_size=32, steps=3)
suite = perf_suite.load_suite(sys.argv[1] + "/s.toml")
records = perf_runner.run_suite(suite, sys.argv[1] + "/r.jsonl")
print(json.dumps({
    "backend": r.env["backend"], "jit": r.run["jit_compile"],
    "train": r.test_metrics["accuracy"], "eval": e.metrics["accuracy"],
    "fit_sps": p.train["samples_per_s"], "bench": [x["status"] for x in records],
    "bench_backend": [x.get("backend") for x in records],
    "tensorflow": "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None,
}))
"""


@needs_jax
@pytest.mark.slow  # a JAX process training, profiling and benchmarking: about 10 s
@pytest.mark.parametrize("tensorflow", ["blocked", "installed"])
def test_train_evaluate_profile_and_bench_run_without_tensorflow(tmp_path, tensorflow):
    """On JAX, with TensorFlow not installed (a GPU machine's JAX environment) and with it
    installed (the zoo's own environment): none of it imports TensorFlow. Keras would, to
    seed it and to save a model (2-3 s each run here), and keras-hub at its import."""
    (tmp_path / "s.toml").write_text(
        '[suite]\nsteps = 2\n[[case]]\nmodel = "linear_regression"\nbackends = ["jax"]\n'
    )
    env = _without_tensorflow(tmp_path)
    if tensorflow == "installed":
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", TF_FREE, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["backend"] == "jax" and r["jit"] is True  # JAX compiles with XLA
    assert r["train"] == pytest.approx(r["eval"]) and r["train"] > 0.15  # chance: 0.1
    assert r["fit_sps"] > 0 and r["bench"] == ["ok"] and r["bench_backend"] == ["jax"]
    assert r["tensorflow"] is False


def test_cases_expand_per_backend_and_a_missing_one_is_skipped(monkeypatch, tmp_path):
    suite = perf_suite.load_suite("quick")
    cases = perf_suite.with_backends(suite.cases, ["tensorflow", "jax", "torch"])
    assert len(cases) == 3 * len(suite.cases)
    assert len({c.key for c in cases}) == len(cases)  # the backend is part of the key
    with pytest.raises(perf_suite.InvalidArgumentError, match="Unknown backend 'mxnet'"):
        perf_suite.with_backends(suite.cases, ["mxnet"])
    monkeypatch.setattr(perf_runner, "backend_installed", lambda b: b == "tensorflow")
    record = perf_runner.run_case(
        perf_suite.Case("mlp", "graph", "float32", 8, "cpu", backend="jax"), 2, 60
    )
    assert record == {
        "status": "skipped",
        "reason": "the jax backend is not installed: pip install 'keras-zoo[jax]'",
    }
    monkeypatch.setattr(perf_runner, "backend_installed", lambda b: True)
    ref = perf_suite.Case("mlp", "ref_tf", "float32", 8, "cpu", backend="torch")
    assert perf_runner.run_case(ref, 2, 60) == {
        "status": "skipped",
        "reason": "mode ref_tf needs TensorFlow",
    }


def test_the_backend_table_puts_backends_side_by_side():
    rows = [
        {
            "model": "mlp",
            "mode": "graph",
            "precision": "float32",
            "batch_size": 8,
            "device": "cpu",
            "backend": b,
            "train_samples_per_s": rate,
            "status": "ok" if rate else "skipped",
            "xla_ran": b == "jax",
        }
        for b, rate in (("tensorflow", 10.0), ("jax", 20.0), ("torch", None))
    ]
    backends, pivot = perf_summary.by_backend(rows)
    assert backends == ["tensorflow", "jax", "torch"] and len(pivot) == 1
    assert pivot[0]["jax"] == 20.0 and pivot[0]["torch_status"] == "skipped"


@needs_jax
@pytest.mark.slow  # a JAX worker process: about 6 s
def test_profile_on_another_backend_from_the_cli():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.cli.main",
            "profile",
            "mlp",
            "--backend",
            "jax",
            "--steps",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "mlp · jax · cpu" in proc.stdout and "XLA really ran" in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "zoo.cli.main", "profile", "mlp", "--backend", "mxnet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Unknown backend 'mxnet'" in bad.stderr


@pytest.mark.slow  # the script starts Python processes: about 5 s
def test_the_gpu_script_is_valid_and_says_when_there_is_no_gpu(tmp_path):
    script = ROOT / "benchmarks" / "gpu.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    suite = perf_suite.load_suite("gpu")
    assert {c.device for c in suite.cases} == {"gpu"}
    assert {c.precision for c in suite.cases} == {"float32", "mixed_bfloat16"}
    apps = {c.model: c for c in suite.cases if c.model in ("resnet50", "mobilenet_v2")}
    assert apps["resnet50"].batch_size == 256 and apps["resnet50"].mode == "xla"
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    proc = subprocess.run(
        ["bash", str(script), str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 1 and "sees 0 GPU" in proc.stderr  # stops at `zoo peak`
    assert not (tmp_path / "out" / "gpu-tensorflow.jsonl").exists()
