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


def start_detached(
    argv: list[str], *, env: Mapping[str, str] | None = None, log: Path, cwd: str | None = None
) -> subprocess.Popen:
    """Starts a background service (the zoo daemon) in a session of its own, so that it
    outlives the command that started it: no standard input or output, its stderr
    appended to `log`, in folder `cwd`. The caller waits for it to be ready; `end_group`
    ends it."""
    with open(log, "ab") as err:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, **(env or {})}, start_new_session=True, cwd=cwd,
        )  # fmt: skip


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
    io.write_json(record_file, _record_of(lambda: fn(job)))
    return 0


def _record_of(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The record of a worker's call: status "ok" unless it says otherwise, "failed" with
    a ZooError's message, "failed" or "oom" with another exception's (traceback on stderr)."""
    try:
        return {"status": "ok", **call()}
    except ZooError as e:
        return {"status": "failed", "reason": str(e)}  # the message and its hint
    except EOFError:  # a session's runner closed the pipe: nobody to tell
        raise
    except Exception as e:  # the caller records it; its suite goes on
        traceback.print_exc()
        text = f"{type(e).__name__}: {e}".strip()
        status = "oom" if isinstance(e, MemoryError) or is_oom(text) else "failed"
        return {"status": status, "reason": text.splitlines()[0][:REASON_CHARS]}


class Channel:
    """A session worker's side of its pipes: one JSON object a line each way."""

    def __init__(self, incoming, outgoing):
        self._in, self._out = incoming, outgoing

    def receive(self) -> dict[str, Any]:
        """The next message; EOFError when the runner has closed the pipe."""
        line = self._in.readline()
        if not line:
            raise EOFError("the runner closed the session")
        return json.loads(line)

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(json.dumps(io.to_jsonable(message)) + "\n")
        self._out.flush()


def session_main(fn: Callable[[dict[str, Any], Channel], dict[str, Any]]) -> int:
    """The main of a long-lived worker (`Session`): reads the job as the first line of
    stdin, calls `fn(job, channel)`, which may talk with the runner over `channel` in
    between, and sends its record (as `worker_main` makes it) with `final` as the last
    line. The protocol owns the real stdout: whatever else the process prints goes to
    stderr. Returns the exit code, 0."""
    _as_from_a_shell()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # a library's print must not break the protocol
    channel = Channel(sys.stdin, out)
    try:
        job = channel.receive()
        channel.send({**_record_of(lambda: fn(job, channel)), "final": True})
    except (EOFError, BrokenPipeError):  # the runner is gone: nobody to tell
        return 1
    return 0


def _as_from_a_shell() -> None:
    """SIGINT and SIGTERM unblocked and at their usual disposition, as a shell starts a
    program: a child inherits its parent's signal mask, and a library loaded in the parent
    can leave SIGINT blocked in the thread that spawned (commit 668f713)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ---- long-lived workers ----


class Session:
    """A long-lived worker, `python -m MODULE --session` in a process group of its own
    (the worker's main is `session_main`), talked with one JSON line each way: the job
    first, then a message and its reply at a time, each reply within `timeout_s`.

    A reply with `final` ends the session: the worker's record, or, where the worker
    crashed, went silent past the limit or was killed, the record `run_module` would give
    (`outcome`); with `wall_s`, the session's seconds from its start. `close` ends the
    process group whatever state it is in; on Ctrl-C in `ask` the group is ended before
    the KeyboardInterrupt goes on.
    """

    def __init__(
        self,
        module: str,
        job: dict[str, Any],
        *,
        timeout_s: float,
        env: Mapping[str, str] | None = None,
        python: str | None = None,
    ):
        self.timeout_s, self.final = timeout_s, None
        self._tmp = tempfile.TemporaryDirectory(prefix="zoo-session-")
        self._err = open(Path(self._tmp.name) / "stderr.txt", "w+b")  # noqa: SIM115
        argv = [python or sys.executable, "-m", module, "--session"]
        try:
            self.child = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                env={**os.environ, **(env or {})}, start_new_session=True,
            )  # fmt: skip
        except BaseException:  # no interpreter there: nothing of ours may stay behind
            self._err.close()
            self._tmp.cleanup()
            raise
        self._buffer, self._job, self._t0 = b"", job, time.perf_counter()
        self._ended = False

    def start(self) -> dict[str, Any]:
        """Sends the job; the worker's first reply."""
        return self.ask(self._job)

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """Sends `message` and returns the reply (the final record, once there is one)."""
        if self.final is not None:
            return self.final
        try:
            self.child.stdin.write(json.dumps(message).encode() + b"\n")
            self.child.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it has exited: reading says how
        try:
            reply = self._read()
        except BaseException:  # Ctrl-C: nothing of the job may outlive the caller's wish
            self.close()
            raise
        if reply.get("final"):
            reply.pop("final")
            self.final = {**reply, "wall_s": time.perf_counter() - self._t0}
            return self.final
        return reply

    def _read(self) -> dict[str, Any]:
        import select

        fd, deadline = self.child.stdout.fileno(), time.monotonic() + self.timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self._end()
                reason = f"no reply within {self.timeout_s:g} s"
                return {"status": "timeout", "reason": reason, "final": True}
            chunk = os.read(fd, 1 << 16)
            if not chunk:  # the worker exited without a final line
                code = self.child.wait()
                return {**outcome(code, None, _tail(self._err)), "final": True}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            self._end()
            text = line.decode("utf-8", "replace")[:REASON_CHARS]
            reason = f"not the session protocol: {text}"
            return {"status": "failed", "reason": reason, "final": True}
        return reply

    def close(self) -> None:
        """Ends the worker's process group, once, and removes its files."""
        with contextlib.suppress(OSError):
            self.child.stdin.close()
        if self.child.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.wait(timeout=GRACE_S)  # it exits on EOF
        if not self._ended:  # never signal a group id that may have been reused since
            self._end()
        self.child.stdout.close()
        self._err.close()
        self._tmp.cleanup()

    def _end(self) -> None:
        self._ended = True
        end_group(self.child)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
