"""One trial in its own process: `python -m zoo.tuning.worker JOB_FILE RECORD_FILE`,
started by `zoo.tuning.trial` through `zoo.proc` (not an interface for users).

Trains with `zoo.train`; the record (written atomically by `zoo.proc.worker_main`) has
status "ok" with the result's target, metrics, history and settings, or "failed" with a
ZooError's message.
"""

from __future__ import annotations

import os
import sys
import time

STARTED = time.time()  # the time to target counts from here: imports included

from zoo.proc import worker_main  # noqa: E402  (after the clock starts)

DAEMON_ENV = "ZOO_TRIAL_DAEMON"  # the folder of the daemon a warm benchmark's trials run in


def train_trial(trial: dict) -> dict:
    """Trains as the job says: the trial's record."""
    from zoo import runtime
    from zoo.runtime import imports
    from zoo.tuning.trial import RUN_KEYS

    settings = dict(trial["settings"])
    run_kwargs = {k: settings.pop(k) for k in RUN_KEYS if k in settings}
    run = runtime.RunConfig(**run_kwargs)
    imports.import_keras()  # as `zoo train` does: without JAX and matplotlib
    runtime.prepare(run)  # threads: before anything starts TensorFlow's runtime
    return {"status": "ok", **_train(trial, settings, run)}


def _train(trial: dict, settings: dict, run) -> dict:
    import zoo

    info = _Info()
    result = zoo.train(
        trial["model"],
        trial["dataset"],
        seed=trial["seed"],
        samples=trial["samples"],
        data_dir=trial["data_dir"],
        target=trial["target"],
        run=run,
        started=STARTED,
        progress=info,
        **settings,
    )
    record = result.to_dict()
    keep = ("target", "test_metrics", "history", "config", "run", "train_seconds", "num_params")
    keep += ("optimum", "env")  # what the data allows; the machine (time-to-target records)
    return {
        **{k: record[k] for k in keep},
        "num_train": info.seen.get("num_train"),
        "steps_per_epoch": info.seen.get("steps_per_epoch"),
        "wall_in_worker_s": time.time() - STARTED,
    }


class _Info:
    """Keeps what the run announces (a zoo.Progress with only that)."""

    def __init__(self):
        self.seen: dict = {}

    def on_train_begin(self, info):
        self.seen = dict(info)

    def on_batch_end(self, epoch, step, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_evaluate_begin(self, num_examples):
        pass


def served(argv: list[str], started: float) -> int:
    """The trial as the zoo daemon runs it (forked, the framework imported): timed from
    `started`, the start of the worker process that delegated it."""
    global STARTED
    STARTED = started
    return worker_main(train_trial, argv[1:3])


def main() -> int:
    """The trial, run in the daemon named by DAEMON_ENV where the runner set one (a warm
    benchmark), else here."""
    if os.environ.get(DAEMON_ENV):
        from zoo import daemon

        os.environ[daemon.DIR_ENV] = os.environ[DAEMON_ENV]
        done = daemon.delegate("trial", sys.argv, STARTED)
        if done.code is not None:
            return done.code
        sys.stderr.write(f"the zoo daemon did not take the trial: {done.why}\n")
        return 3  # a warm benchmark's run must not silently run cold
    return worker_main(train_trial)


if __name__ == "__main__":
    sys.exit(main())
