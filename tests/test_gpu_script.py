"""benchmarks/gpu.sh --dry-run: the GPU run's every step on this CPU with JAX (issue: the
GPU path proven before a GPU is lent), writing the files the real run writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_the_dry_run_writes_every_results_file_of_the_gpu_run(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "KERAS_BACKEND": ""}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # its `zoo`
    out = tmp_path / "out"
    run = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--dry-run", str(out)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "backend: jax" in run.stderr and "dry run" in run.stderr
    peaks = _records(out / "peak-cpu-jax.jsonl")
    assert [(p["dtype"], p["matmul"]["matmul_precision"]) for p in peaks] == [
        ("float32", "default"),
        ("float32", "highest"),
        ("bfloat16", "default"),
    ]
    assert all(p["kind"] == "peak" and p["provenance"]["machine"] for p in peaks)
    bench = _records(out / "gpu-jax.jsonl")
    assert {(r["model"], r["precision"]) for r in bench} == {
        ("linear_regression", "mixed_bfloat16"),
        ("linear_regression", "float32"),
    }
    for r in bench:
        assert r["status"] == "ok" and r["backend"] == "jax" and r["mode"] == "xla"
        assert r["energy"] == {
            "source": None,
            "reason": "energy is read from NVML, on an NVIDIA GPU only",
        }
        assert r["peak"]["matmul_flops_per_s"] > 0 and r["mfu"] is not None
    assert (out / "gpu-jax.md").is_file() and (out / "gpu-jax.csv").is_file()
    (parity,) = _records(out / "parity-gpu.jsonl")
    cpu, gpu = parity["rows"]
    assert (cpu["backend"], cpu["verdict"]) == ("jax:cpu", "reference")
    assert gpu["backend"] == "jax:gpu" and gpu["status"] == "skipped"
    assert parity["equal"] is False  # nothing was compared with the reference
