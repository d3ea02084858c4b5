"""One training trial in its own process: `run_trial` runs `python -m zoo.tuning.worker`
through `zoo.proc`; the worker trains with `zoo.train` and writes one record. A trial that
runs past its time limit is ended (its whole process group) and recorded as a timeout;
nothing the trial does can crash the caller.

Times are taken inside the worker: `time_to_target_s` counts from the worker's start, so
every trial pays the same imports and data loading, as a user's `zoo train` does.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
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


# What a daemon of trials serves: the trial workers (zoo.tuning.worker).
TRIAL_ENTRY = {"trial": "zoo.tuning.worker:served"}


@contextlib.contextmanager
def warm_trials(backends: list[str] | tuple[str, ...], what: str) -> Iterator[str]:
    """A zoo daemon of its own for the block, in a folder that goes with it, importing the
    framework once for every trial: yields the `daemon_dir` to pass to `run_trial`. All
    trials must run on one backend (a process imports one); `what` names them in the
    error (a suite's cases, a search's backends).

    Raises:
        InvalidArgumentError: several backends, or the daemon cannot start.
    """
    from zoo import daemon
    from zoo.errors import InvalidArgumentError

    chosen = sorted(set(backends)) or ["tensorflow"]
    if len(chosen) > 1:
        raise InvalidArgumentError(
            f"Warm trials run on one backend; {what} run on {', '.join(chosen)}.",
            "Pick one backend, or run without --warm.",
        )
    with tempfile.TemporaryDirectory(prefix="zoo-d-") as folder:
        with daemon.running(TRIAL_ENTRY, Path(folder), env={"KERAS_BACKEND": chosen[0]}):
            yield folder
