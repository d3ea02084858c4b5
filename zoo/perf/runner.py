"""Running a suite: each case profiled in its own process, results streamed to JSON lines.

Every case runs in a fresh Python process (`python -m zoo.perf.worker`, through
`zoo.proc`) with a time limit, so a crash, a hang or an out-of-memory in one case becomes
that case's status (one of `zoo.choices.RUN_STATUSES`) and the suite goes on; a fresh
process also isolates global state (the dtype policy, XLA caches) and makes the peak
resident memory that of the case alone. Repeats run interleaved (every case once, then
every case again), so slow drifts of a shared machine hit all cases alike. Each record is
appended to a JSON-lines file (`zoo.results`) as soon as it is known, one line each, so
`resume` runs only the missing cases. Records are stamped (`zoo.record`): kind "bench",
the case's hyper-parameters as `model_kwargs` and the model's size as `num_params`.

This is the profile kind's runner; the other kinds run in their own modules
(`zoo.perf.parity.run_suite`, `zoo.perf.target.run_suite`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo import proc
from zoo.choices import TENSORFLOW_MODES, not_installed
from zoo.perf.shard import Shard
from zoo.perf.suite import Case, Suite
from zoo.perf.summary import write_tables
from zoo.record import stamp
from zoo.results import ResultsFile, check_output

__all__ = ["check_output", "read_records", "run_case", "run_suite"]
# What a worker process of a case is told besides its job.
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}


def backend_installed(backend: str) -> bool:
    """Whether the backend's package can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec(backend) is not None


def _not_installed(backend: str) -> str:
    return not_installed(backend)


def run_case(case: Case, steps: int, timeout_s: float, python: str | None = None) -> dict[str, Any]:
    """Profiles one case in a fresh process (of the interpreter `python`, default this
    one); never raises for the case's own failures.

    On a GPU out-of-memory the case is retried with half the batch (down to 1), and the
    record says so.
    """
    skipped = skip(case, python)
    if skipped:
        return skipped
    batch, notes = case.batch_size, []
    worker = _run_worker if python is None else functools.partial(_run_worker, python=python)
    while True:
        record = worker(dataclasses.replace(case, batch_size=batch), steps, timeout_s)
        if record["status"] != "oom" or batch == 1 or not case.device.startswith("gpu"):
            break
        notes.append(f"out of memory at batch {batch}; retried with {batch // 2}")
        batch //= 2
    if notes:
        record["note"] = "; ".join(notes)
    return record


def skip(case: Case, python: str | None = None) -> dict[str, Any] | None:
    """The record of a case that cannot run on this side, known before any process starts
    (None: it can run)."""
    if python is None and not backend_installed(case.backend):  # another one says itself
        return {"status": "skipped", "reason": _not_installed(case.backend)}
    if case.backend != "tensorflow" and case.mode in TENSORFLOW_MODES:
        return {"status": "skipped", "reason": f"mode {case.mode} needs TensorFlow"}
    return None


def _run_worker(case: Case, steps: int, timeout_s: float, *, python: str | None = None) -> dict:
    job, env = _job(case, steps)
    return proc.run_module("zoo.perf.worker", job, timeout_s=timeout_s, env=env, python=python)


def open_session(case: Case, steps: int, timeout_s: float, python: str | None) -> proc.Session:
    """The case's worker kept alive (`zoo.perf.worker --session`, for `zoo.perf.ab`): each
    reply within `timeout_s`. Call `start` on it, and `close` it."""
    job, env = _job(case, steps)
    return proc.Session("zoo.perf.worker", job, timeout_s=timeout_s, env=env, python=python)


def _job(case: Case, steps: int) -> tuple[dict, dict]:
    """What a worker of the case is given, and the variables it runs with."""
    job = {**dataclasses.asdict(case), "params": dict(case.params), "steps": steps}
    env = {**WORKER_ENV, "KERAS_BACKEND": case.backend}
    if case.replicas != 1 and case.device == "cpu":  # the CPU split before JAX starts
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={case.replicas}"
    return job, env


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a results file; a torn last line (a killed writer) is skipped."""
    return ResultsFile(path).read()


def run_suite(
    suite: Suite,
    output: str | Path,
    *,
    models: str | None = None,
    repeat: int | None = None,
    resume: bool = False,
    on_result: Callable[[int, int, Case, dict], None] | None = None,
    runner: Callable[[Case, int, float], dict] = run_case,
    shard: Shard | None = None,
    on_start: Callable[[int, int, Case], None] | None = None,
) -> list[dict[str, Any]]:
    """Runs a suite's cases (interleaved repeats), appending a record to `output` as each
    ends; with `shard`, only its part of the cases (`zoo.perf.shard`). `on_start(n, total,
    case)` and `on_result(n, total, case, record)` hear of each case.

    Returns:
        All records of the results file, including those of earlier runs when resuming.

    Raises:
        OutputError: `output` exists and `resume` is off, or it cannot be written.
    """
    results = ResultsFile(output)
    repeat = repeat or suite.repeat
    records, todo, size = _todo(suite, results, models, repeat, resume, shard)
    for n, (rep, case) in enumerate(todo, 1):
        if on_start:
            on_start(n, len(todo), case)
        fields = {k: v for k, v in dataclasses.asdict(case).items() if k != "params"}
        record = {"suite": suite.name, "case": case.key, "repeat": rep, **fields}
        if shard is not None:
            record["shard"] = shard.to_dict(size)
        record["model_kwargs"] = dict(case.params)
        record = stamp({**record, **runner(case, suite.steps, suite.timeout_s)}, "bench")
        results.append(record)
        records.append(record)
        if on_result:
            on_result(n, len(todo), case, record)
    write_tables(Path(output), records, suite.baseline, suite.baseline_precision)
    return records


def _todo(suite: Suite, results: ResultsFile, models, repeat: int, resume: bool, shard):
    """The records kept from an earlier run (failures run again), the (repeat, case) pairs
    still to run, interleaved (every case once, then every case again), and how many the
    run holds in all."""
    cases = suite.select(models)
    cases = shard.take(cases) if shard is not None else cases
    records = results.resume(resume, key=lambda r: (r["case"], r["repeat"]))
    todo = [(r, c) for r in range(repeat) for c in cases if not results.done((c.key, r))]
    return records, todo, repeat * len(cases)
