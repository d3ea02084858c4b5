"""One trial in its own process: `python -m zoo.tuning.worker '<trial JSON>'`.

Trains with `zoo.train` and writes one JSON record (atomically) to the trial's
`record_path`: status "ok" with the result's target, metrics, history and settings, or
"error" with a ZooError's message. Used by `zoo.tuning.trial`; not an interface for users.
"""

from __future__ import annotations

import json
import sys
import time

STARTED = time.time()  # the time to target counts from here: imports included


def main(argv: list[str]) -> int:
    trial = json.loads(argv[0])
    from zoo import io, runtime
    from zoo.errors import ZooError
    from zoo.tuning.trial import RUN_KEYS

    settings = dict(trial["settings"])
    run_kwargs = {k: settings.pop(k) for k in RUN_KEYS if k in settings}
    try:
        run = runtime.RunConfig(**run_kwargs)
        runtime.prepare(run)  # threads: before anything starts TensorFlow's runtime
        record = {"status": "ok", **_train(trial, settings, run)}
    except ZooError as e:
        record = {"status": "error", "reason": str(e)}  # the message and its hint
    io.write_json(trial["record_path"], record)
    return 0


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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
