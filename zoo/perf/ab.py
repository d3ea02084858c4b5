"""A/B in one run: `zoo bench --suite S --against PYTHON`.

Side A is this interpreter, side B another environment's (its own zoo, Keras or
TensorFlow: an upgrade, or a change of one's own installed there). Each case runs on A and
on B in alternating order, A B in even repeats and B A in odd ones (A B B A A B ...), each
run in a fresh worker process of its side's interpreter, so a slow spell of a shared
machine hits both sides alike and neither always goes first. The records (one results
file, `side` "A" or "B") are then compared case by case with paired intervals
(`zoo.perf.compare.compare_sides`), and what differs between the sides is named from their
manifests and provenance.

B's interpreter must have a zoo whose benchmark worker speaks this one's protocol
(`zoo.proc`: a job file and a record file); `probe` checks that before anything runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.errors import InvalidArgumentError
from zoo.perf.suite import Case, Suite

SIDES = ("A", "B")
# What B's interpreter runs to show that it can run the worker, and where it comes from.
PROBE = (
    "import json, sys, zoo.perf.worker; from zoo.record import provenance; "
    "print(json.dumps({**provenance(), 'executable': sys.executable, 'prefix': sys.prefix}))"
)
PROBE_TIMEOUT_S = 120.0


def order(repeat: int) -> tuple[str, str]:
    """The sides of one repeat of a case: A B, then B A in the next repeat."""
    return SIDES if repeat % 2 == 0 else SIDES[::-1]


def probe(python: str) -> dict[str, Any]:
    """B's provenance as its own zoo gives it (`zoo.record.provenance`), with its
    `executable` and `prefix` (the environment: a virtualenv's folder).

    Raises:
        InvalidArgumentError: `python` cannot be run, or cannot import the zoo's worker.
    """
    from zoo import proc

    out = proc.output_of([python, "-c", PROBE], timeout_s=PROBE_TIMEOUT_S)
    lines = (out or "").strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise InvalidArgumentError(
            f"--against {python}: that interpreter cannot run the zoo's benchmark worker "
            "(it is not there, or it cannot import zoo.perf.worker and zoo.record).",
            "Install keras-zoo there (PYTHON -m pip install -e CHECKOUT), or name another.",
        )
    return found


def sides_provenance(python: str) -> dict[str, dict[str, Any]]:
    """{side: its provenance}: A's from this process, B's from its interpreter (the
    command line is A's: it is the one that ran)."""
    from zoo.record import provenance

    a = {**provenance(), "executable": sys.executable, "prefix": sys.prefix}
    return {"A": a, "B": {**probe(python), "argv": a["argv"]}}


def run_ab_suite(
    suite: Suite,
    output: str | Path,
    python: str,
    *,
    models: str | None = None,
    repeat: int | None = None,
    resume: bool = False,
    on_result: Callable[[int, int, Case, dict], None] | None = None,
    runner: Callable[..., dict] | None = None,
) -> list[dict[str, Any]]:
    """Runs every case on A (this interpreter) and on B (`python`), alternating A B B A
    across repeats, appending a record (`side`, `python`) to `output` as each ends.

    Returns:
        All records of the results file, earlier ones included when resuming.

    Raises:
        InvalidArgumentError: `python` cannot run the worker, or no case matches `models`.
        OutputError: `output` exists and `resume` is off, or it cannot be written.
    """
    from zoo.perf.runner import run_case
    from zoo.record import stamp
    from zoo.results import ResultsFile

    cases = suite.select(models)
    prov = sides_provenance(python)
    # B runs as given: a wrapper (taskset, env) must stay between us and its interpreter.
    interpreters = {"A": None, "B": python}
    results = ResultsFile(output)
    records = results.resume(resume, key=lambda r: (r["case"], r["repeat"], r.get("side")))
    todo = [
        (rep, case, side)
        for rep in range(repeat or suite.repeat)
        for case in cases
        for side in order(rep)
        if not results.done((case.key, rep, side))
    ]
    for n, (rep, case, side) in enumerate(todo, 1):
        fields = {k: v for k, v in dataclasses.asdict(case).items() if k != "params"}
        record = {"suite": suite.name, "case": case.key, "repeat": rep, "side": side, **fields}
        record |= {
            "model_kwargs": dict(case.params),
            "python": interpreters[side] or sys.executable,
        }
        result = (runner or run_case)(case, suite.steps, suite.timeout_s, interpreters[side])
        record = stamp({**record, **result, "provenance": prov[side]}, "bench")
        results.append(record)
        records.append(record)
        if on_result:
            on_result(n, len(todo), case, record)
    return records
