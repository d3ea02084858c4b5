"""A/B in one run: `zoo bench --suite S --against PYTHON`.

Side A is this interpreter, side B another environment's (its own zoo, Keras or
TensorFlow: an upgrade, or a change of one's own installed there). Each repeat of a case
starts a fresh worker process on each side, A first in even repeats and B first in odd
ones, so neither always goes first.

**Timed windows.** On a shared machine the speed of a process swings by up to 2x within
seconds (stop 33's A/B file: side A alone 36-72 ms a step between repeats), so two whole
runs some ten seconds apart do not see the same machine, and pairing them cancels little.
So both workers of a repeat are kept alive (`zoo.proc.Session`): each builds, compiles and
runs its own training clock once, then the two take turns timing short windows of steps
on the runner's command, A B B A A B ... (WINDOW_PAIRS pairs, each window about WINDOW_S
seconds, the same number of steps on both sides), so the two windows of a pair run a
fraction of a second apart. The repeat's B/A is the ratio of the geometric means of its
windows (the mean of the pairs' log-ratios); across repeats, fresh processes each, the
paired interval of `zoo.stats.paired` keeps the spread between processes in the answer.
A case that has no windows (a reference, a quantized or a pipeline case, a GPU case: two
live workers would fight over its memory), or a B whose zoo predates sessions, falls back
to one worker run per side and repeat, compared on its own training clock.

The records (one results file, `side` "A" or "B", the windows under `windows`) are
compared case by case by `zoo.perf.compare.compare_sides`, and what differs between the
sides is named from their manifests and provenance. B's interpreter must have a zoo whose
benchmark worker speaks this one's protocol (`zoo.proc`); `probe` checks that first.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.errors import InvalidArgumentError
from zoo.perf.suite import Case, Suite

SIDES = ("A", "B")
# What B's interpreter runs to show that it can run the worker, and where it comes from.
PROBE = (
    "import json, sys, zoo.proc, zoo.perf.worker; from zoo.record import provenance; "
    "print(json.dumps({**provenance(), 'executable': sys.executable, 'prefix': sys.prefix, "
    "'sessions': hasattr(zoo.proc, 'Session')}))"
)
WINDOW_PAIRS = 10  # A B then B A ...: 20 windows a repeat
WINDOW_S = 0.25  # a window's length, at the slower side's step
MAX_WINDOW_STEPS = 100
# The modes whose worker keeps a warm model to time windows on (`zoo.perf.profile`).
WINDOWED_MODES = ("eager", "graph", "xla", "auto", "fit")
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
    """Runs every case on A (this interpreter) and on B (`python`), A first in even
    repeats and B first in odd ones, with timed windows in turns where the case and B's
    zoo allow (see the module docstring); appends a record (`side`, `python`) to `output`
    as each ends. `runner(case, steps, timeout_s, python)`, where given, runs each side
    once instead (no windows).

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
    windows = runner is None and prov["B"].get("sessions", False)
    results = ResultsFile(output)
    records = results.resume(resume, key=lambda r: (r["case"], r["repeat"], r.get("side")))
    todo = [
        (rep, case, [s for s in order(rep) if not results.done((case.key, rep, s))])
        for rep in range(repeat or suite.repeat)
        for case in cases
    ]
    total, n = sum(len(sides) for *_, sides in todo), 0
    for rep, case, sides in todo:
        if len(sides) == 2 and windows and windowed(case):
            found = run_pair(case, suite.steps, suite.timeout_s, interpreters, sides)
        else:
            one = runner or run_case
            found = {s: one(case, suite.steps, suite.timeout_s, interpreters[s]) for s in sides}
        for side in sides:
            fields = {k: v for k, v in dataclasses.asdict(case).items() if k != "params"}
            record = {"suite": suite.name, "case": case.key, "repeat": rep, "side": side}
            record |= {**fields, "model_kwargs": dict(case.params)}
            record["python"] = interpreters[side] or sys.executable
            record = stamp({**record, **found[side], "provenance": prov[side]}, "bench")
            results.append(record)
            records.append(record)
            n += 1
            if on_result:
                on_result(n, total, case, record)
    return records


def windowed(case: Case) -> bool:
    """Whether the case's workers can time windows: a profile mode, not quantized, on the
    CPU (two live workers on one GPU would fight over its memory: each backend reserves
    most of it up front)."""
    return case.mode in WINDOWED_MODES and case.quantize == "none" and case.device == "cpu"


def run_pair(
    case: Case, steps: int, timeout_s: float, interpreters: dict, sides: list[str]
) -> dict[str, dict[str, Any]]:
    """{side: its record}: both workers of one repeat kept alive, started in the order of
    `sides`, then timing windows in turns (see the module docstring); the windows go in
    each record as `windows`: the steps of each, their median step in ms in the order
    run, and the samples/s of their geometric mean."""
    from zoo.perf.runner import open_session, run_case, skip

    if any(skip(case, interpreters[s]) for s in sides):  # a side that cannot run it says why
        return {s: run_case(case, steps, timeout_s, interpreters[s]) for s in sides}
    sessions: dict = {}
    try:
        ready = {}
        for s in sides:  # one after the other: they would share the cores
            sessions[s] = open_session(case, steps, timeout_s, interpreters[s])
            ready[s] = sessions[s].start()
        ok = all(r.get("status") == "ready" and r.get("windowed") for r in ready.values())
        n = _window_steps(ready) if ok else 0
        times = _alternate(sessions, sides, n) if ok else None
        found = {s: sessions[s].ask({"finish": True}) for s in sides}
    finally:
        for session in sessions.values():
            session.close()
    if times is not None:  # _alternate gives every window or none
        for s in sides:
            found[s]["windows"] = _windows(times[s], n, case.batch_size)
    return found


def _window_steps(ready: dict[str, dict]) -> int:
    """Steps a window, the same on both sides: about WINDOW_S at the slower one's step."""
    slow = max(r["step_s"] for r in ready.values())
    return max(1, min(MAX_WINDOW_STEPS, round(WINDOW_S / slow))) if slow > 0 else 1


def _alternate(sessions: dict, sides: list[str], steps: int) -> dict[str, list[float]] | None:
    """The median step (s) of each side's windows, taken in turns A B B A ...; None when a
    worker stops answering (its final record says why)."""
    times: dict[str, list[float]] = {s: [] for s in sides}
    for k in range(WINDOW_PAIRS):
        for s in sides if k % 2 == 0 else sides[::-1]:
            reply = sessions[s].ask({"window": steps})
            if reply.get("status") != "window":
                return None
            times[s].append(reply["step_s"])
    return times


def _windows(step_s: list[float], steps: int, batch_size: int) -> dict[str, Any]:
    mean_log = sum(math.log(t) for t in step_s) / len(step_s)
    return {
        "steps": steps,
        "step_ms": [1e3 * t for t in step_s],
        "samples_per_s": batch_size / math.exp(mean_log),
    }
