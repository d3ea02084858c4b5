"""The one process runner: every job the zoo runs in another process goes through here.

`run_module` writes the job to a JSON file, starts `python -m MODULE JOB_FILE RECORD_FILE`
in a process group of its own with a time limit, and returns the record the worker wrote
(atomically) plus `wall_s`. Whatever the worker does, the caller gets a record whose
`status` is one of `zoo.choices.RUN_STATUSES`:

- ok, skipped, or what the worker itself reported;
- failed: the worker reported a ZooError (the reason is its message) or another exception,
  or its process crashed (the exit code, or the crashing signal, and the last line of its
  stderr);
- oom: out of memory, from the worker's exception or its stderr;
- killed: ended from outside by SIGKILL, SIGTERM, SIGINT or SIGHUP (the kernel's
  out-of-memory killer sends SIGKILL);
- timeout: no result within the time limit.

On a timeout, and on Ctrl-C in the caller (re-raised), the whole process group is ended:
SIGTERM, then SIGKILL after GRACE_S. A worker's own children go with it, so nothing keeps
running into the next job. The group is also cleared after a normal exit.

The worker side is `worker_main(fn)`. `output_of` runs a short tool (git) for its output;
this module is the only one that starts processes (tests/test_architecture.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from zoo import io
from zoo.errors import ZooError

GRACE_S = 3.0  # how long SIGTERM may take before SIGKILL
TAIL_BYTES = 64 * 1024  # how much of the worker's stderr is kept
REASON_CHARS = 300
# Phrases by which TensorFlow, JAX, PyTorch and Python say they ran out of memory.
OOM_MARKERS = (
    "out of memory",
    "resourceexhausted",
    "resource_exhausted",
    "memoryerror",
    "cannot allocate memory",
)
# Signals that end a process from outside; any other signal is a crash (SIGSEGV, SIGABRT).
KILL_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_module(
    module: str,
    job: dict[str, Any],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    python: str | None = None,
) -> dict[str, Any]:
    """Runs `python -m module JOB_FILE RECORD_FILE` on `job` in its own process group.

    Args:
        module: a module whose main calls `worker_main`.
        job: what the worker gets (JSON types).
        timeout_s: the time limit; past it the process group is ended.
        env: variables set for the worker on top of this process's environment.
        python: the interpreter (another environment's, for an A/B run); default this one.

    Returns:
        The worker's record, or one describing what went wrong, with `status` (one of
        RUN_STATUSES), `reason` where it is not ok, and `wall_s` in every case.

    Raises:
        KeyboardInterrupt: after ending the worker's process group.
    """
    with tempfile.TemporaryDirectory(prefix="zoo-job-") as tmp:
        job_path, record_path = Path(tmp) / "job.json", Path(tmp) / "record.json"
        io.write_json(job_path, job)
        argv = [python or sys.executable, "-m", module, str(job_path), str(record_path)]
        t0 = time.perf_counter()
        with open(Path(tmp) / "stderr.txt", "w+b") as err:
            code = _wait(argv, {**os.environ, **(env or {})}, err, timeout_s)
            wall = time.perf_counter() - t0
            tail = _tail(err)
        if code is None:
            ended = {"status": "timeout", "reason": f"no result within {timeout_s:g} s"}
        else:
            ended = outcome(code, _load(record_path), tail)
        return {**ended, "wall_s": wall}


def _wait(argv: list[str], env: dict, err, timeout_s: float) -> int | None:
    """Starts the worker and waits: its exit code, or None past the time limit."""
    child = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        code = child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        end_group(child)
        return None
    except BaseException:  # Ctrl-C: nothing of the job may outlive the caller's wish
        end_group(child)
        raise
    _signal_group(child.pid, signal.SIGKILL)  # what the worker left behind
    return code


def end_group(child: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """Ends `child`'s whole process group (the child leads it): SIGTERM, then SIGKILL to
    whatever is left after `grace_s`; returns once the child is reaped and the group gone
    (or after another `grace_s`). A second Ctrl-C skips the grace."""
    _signal_group(child.pid, signal.SIGTERM)
    try:
        _wait_group(child, grace_s)
    finally:
        _signal_group(child.pid, signal.SIGKILL)
        child.wait()
        _wait_group(child, grace_s)  # SIGKILL is certain, but takes a moment


def _wait_group(child: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (child.poll() is None or _alive(child.pid)):
        time.sleep(0.02)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _alive(pgid: int) -> bool:
    """Whether a process of the group is left (a group id is not reused while it has one)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _tail(err) -> str:
    err.seek(0, os.SEEK_END)
    err.seek(max(0, err.tell() - TAIL_BYTES))
    return err.read().decode("utf-8", errors="replace")


def _load(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def outcome(code: int, record: dict[str, Any] | None, stderr: str) -> dict[str, Any]:
    """The record of a worker that exited with `code` (negative: the signal that ended it),
    given the record it wrote (None: none) and the tail of its stderr."""
    if record is not None:
        return {"status": "ok", **record}
    last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), "")
    # A signal: a negative code, or 128 + its number where a shell stood between.
    signum = -code if code < 0 else code - 128 if code - 128 in KILL_SIGNALS else 0
    name = signal.Signals(signum).name if signum in set(signal.Signals) else None
    if signum in KILL_SIGNALS:
        hint = " (the system's out-of-memory killer?)" if signum == signal.SIGKILL else ""
        return {"status": "killed", "reason": f"killed by {name}{hint}"}
    if is_oom(stderr):
        return {"status": "oom", "reason": last[:REASON_CHARS]}
    how = f"exit code {code}" + (f" ({name})" if name else "")
    return {"status": "failed", "reason": f"{how}: {last}"[:REASON_CHARS] if last else how}


def is_oom(text: str) -> bool:
    """Whether an error message or a stderr says the process ran out of memory."""
    low = text.lower()
    return any(marker in low for marker in OOM_MARKERS)


# ---- the worker side ----


def worker_main(fn: Callable[[dict[str, Any]], dict[str, Any]], argv: list[str] | None = None):
    """The main of a worker module: `sys.exit(worker_main(fn))`.

    Reads the job file named by argv[0], calls `fn(job)` and writes its record (status "ok"
    unless the record says otherwise) atomically to the file named by argv[1]. A ZooError
    becomes status "failed" with its message; another exception "failed" (or "oom") with
    its type and message, its traceback on stderr. Returns the exit code, 0.
    """
    _as_from_a_shell()
    job_file, record_file = argv if argv is not None else sys.argv[1:3]
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    try:
        record = {"status": "ok", **fn(job)}
    except ZooError as e:
        record = {"status": "failed", "reason": str(e)}  # the message and its hint
    except Exception as e:  # the caller records it; its suite goes on
        traceback.print_exc()
        text = f"{type(e).__name__}: {e}".strip()
        status = "oom" if isinstance(e, MemoryError) or is_oom(text) else "failed"
        record = {"status": status, "reason": text.splitlines()[0][:REASON_CHARS]}
    io.write_json(record_file, record)
    return 0


def _as_from_a_shell() -> None:
    """SIGINT and SIGTERM unblocked and at their usual disposition, as a shell starts a
    program: a child inherits its parent's signal mask, and a library loaded in the parent
    can leave SIGINT blocked in the thread that spawned (commit 668f713)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ---- short tools ----


def output_of(argv: list[str], timeout_s: float = 10.0) -> str | None:
    """The standard output of a short command (git), or None when it is not installed,
    fails or takes longer than `timeout_s`."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
