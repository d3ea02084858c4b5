"""One training trial in its own process: `run_trial` starts `python -m zoo.tuning.worker`,
which trains with `zoo.train` and prints one JSON line. A trial that runs past its time
limit is killed and recorded as such; nothing the trial does can crash the caller.

Times are taken inside the worker: `time_to_target_s` counts from the worker's start, so
every trial pays the same imports and data loading, as a user's `zoo train` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Settings a trial takes: zoo.train's keyword arguments ...
TRAIN_KEYS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "optimizer",
    "schedule",
    "weight_decay",
    "label_smoothing",
    "steps_per_execution",
    "val_fraction",
    "eval_every",
    "model_kwargs",
)
# ... and the execution settings of its RunConfig.
RUN_KEYS = ("jit_compile", "precision", "device", "threads")


def run_trial(
    model: str,
    dataset: str,
    settings: dict[str, Any],
    *,
    target: str | None = None,
    seed: int = 0,
    samples: int | None = None,
    data_dir: str | None = None,
    backend: str = "tensorflow",
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Trains `model` on `dataset` with `settings` (keys of TRAIN_KEYS and RUN_KEYS) in a
    fresh process. Returns the worker's record: status "ok" with `target`, `test_metrics`,
    `history`, `num_train`, `config` and `run`; or "timeout", "error" (a ZooError: the
    reason is its message) or "crashed"; and `wall_s` in every case."""
    unknown = sorted(set(settings) - set(TRAIN_KEYS) - set(RUN_KEYS))
    if unknown:
        raise ValueError(f"unknown trial settings: {unknown}")
    with tempfile.TemporaryDirectory(prefix="zoo-trial-") as tmp:
        record_path = Path(tmp) / "record.json"
        payload = {
            "model": model,
            "dataset": dataset,
            "settings": settings,
            "target": target,
            "seed": seed,
            "samples": samples,
            "data_dir": data_dir,
            "record_path": str(record_path),
        }
        return _run(payload, backend, timeout_s, record_path)


def _run(payload: dict, backend: str, timeout_s: float, record_path: Path) -> dict[str, Any]:
    """Runs the worker; its record, or what went wrong."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": backend}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "zoo.tuning.worker", json.dumps(payload)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {
            "status": "timeout",
            "reason": f"stopped after {timeout_s:.0f} s",
            "wall_s": time.perf_counter() - t0,
        }
    wall = time.perf_counter() - t0
    if record_path.is_file():
        return {**json.loads(record_path.read_text(encoding="utf-8")), "wall_s": wall}
    tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-1:] or [""]
    return {
        "status": "crashed",
        "reason": f"exit code {proc.returncode}: {tail[0][:300]}",
        "wall_s": wall,
    }
