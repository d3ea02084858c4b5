"""One training trial in its own process: `run_trial` runs `python -m zoo.tuning.worker`
through `zoo.proc`; the worker trains with `zoo.train` and writes one record. A trial that
runs past its time limit is ended (its whole process group) and recorded as a timeout;
nothing the trial does can crash the caller.

Times are taken inside the worker: `time_to_target_s` counts from the worker's start, so
every trial pays the same imports and data loading, as a user's `zoo train` does.
"""

from __future__ import annotations

from typing import Any

from zoo import proc

# Settings a trial takes: zoo.train's recipe fields (with the split and the target's
# cadence) and the execution settings of its RunConfig, read from the fields themselves.
from zoo.recipe import TRIAL_RUN_KEYS as RUN_KEYS
from zoo.recipe import TRIAL_TRAIN_KEYS as TRAIN_KEYS


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
    daemon_dir: str | None = None,
) -> dict[str, Any]:
    """Trains `model` on `dataset` with `settings` (keys of TRAIN_KEYS and RUN_KEYS) in a
    fresh process. Returns the worker's record: status "ok" with `target`, `test_metrics`,
    `history`, `num_train`, `config` and `run`; or another of `zoo.choices.RUN_STATUSES`
    ("failed" for a ZooError, whose message is the reason, or a crash; "timeout", "oom",
    "killed") with its `reason`; and `wall_s` in every case. With `daemon_dir`, the worker
    has the zoo daemon listening there run the trial (forked, the framework imported:
    `zoo.daemon.running`), or fails saying why it could not."""
    unknown = sorted(set(settings) - set(TRAIN_KEYS) - set(RUN_KEYS))
    if unknown:
        raise ValueError(f"unknown trial settings: {unknown}")
    job = {
        "model": model,
        "dataset": dataset,
        "settings": settings,
        "target": target,
        "seed": seed,
        "samples": samples,
        "data_dir": data_dir,
    }
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": backend}
    if daemon_dir is not None:
        env["ZOO_TRIAL_DAEMON"] = daemon_dir  # zoo.tuning.worker.DAEMON_ENV
    return proc.run_module("zoo.tuning.worker", job, timeout_s=timeout_s, env=env)
