"""A warm process for the zoo's commands: the framework imported once, a fresh fork a run.

A cold `zoo train` spends its first seconds importing TensorFlow (1.7-2.3 s of a 3 s
fastText run to its target on a 2-core EPYC), and no recipe can win them back. The daemon
is a fork server, as `multiprocessing`'s forkserver with preloaded modules is: `serve`
imports Keras and the entries' modules, listens on a Unix socket that only its user can
reach, and forks a child a request. The child takes the client's standard streams (passed
over the socket), working folder, environment, command line and start time, runs the
entry as the command would have run, and exits; the server reports its exit status to the
client, which exits with it. Nothing carries from one run to the next: every run is a
fork of the same process, in which the framework is imported but its runtime not started
(threads and devices are still the run's to set).

A daemon serves only clients that would have run the same code the same way: the same
interpreter, the same files of the zoo, Keras and TensorFlow, the same Keras backend and
the same variables that act at import (FINGERPRINT_ENV). Any other request is answered
"run it yourself", with the reason, and the client runs cold.

Linux only (the fork server relies on fork(2) and SO_PEERCRED). The library side never
prints: `delegate` returns the exit code or why it did not run the command.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from zoo import io, proc
from zoo.errors import InvalidArgumentError

DIR_ENV = "ZOO_DAEMON_DIR"  # where the daemon's socket, record and log live
OFF_ENV = "ZOO_DAEMON"  # "off": never delegate (`zoo train` runs cold)
SOCKET, INFO, LOG, LOCK = "daemon.sock", "daemon.json", "daemon.log", "daemon.lock"
# A daemon's exit status where another one holds the folder (two `zoo daemon start` at
# once): its starter waits for that one's record instead.
HELD_ELSEWHERE = 3
IDLE_S = 3600.0  # a daemon with nothing to do for this long exits
START_TIMEOUT_S = 120.0  # the import, on a slow machine
GRACE_S = 3.0
REPLY_TIMEOUT_S = 10.0  # a daemon that takes longer to answer is not used (the run goes cold)
# Variables read while the framework imports (or that change what is imported): a client
# whose values differ would not have run what the daemon imported.
FINGERPRINT_ENV = (
    "KERAS_", "TF_", "XLA_", "JAX_", "PYTHON", "LD_", "CUDA_", "TORCH",
    "OMP_", "OPENBLAS_", "MKL_", "KMP_",  # thread pools, sized when their library loads
)  # fmt: skip
# Variables of other tools under those prefixes (Terraform's TF_VAR_*, TF_CLI_*, TF_LOG).
NOT_OURS_ENV = ("TF_VAR_", "TF_CLI_", "TF_LOG", "TF_DATA_DIR", "TF_WORKSPACE", "TF_IN_AUTOMATION")
# Variables that differ between a daemon and its clients without changing the import.
IGNORED_ENV = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", OFF_ENV, "PYTHONDONTWRITEBYTECODE")
# The modules a server imports beside its entries': what every training run imports,
# and what a run imported lazily at its first use (an import in a served run is paid by
# every run: 70 ms of a 1.3 s `zoo train --recipe fast-ratings`, measured by diffing
# `sys.modules` around a run). The model modules: every factory of the zoo's own.
PRELOAD = (
    "zoo.training.loop",
    "zoo.training.callbacks",
    "zoo.models",
    "zoo.data",
    "zoo.data.pipeline",
    "zoo.layers",
    "zoo.track",
    "zoo.runtime.hardware",
    "zoo.runtime.distribute",
)
# Other projects' modules a run imports lazily (typer's coercion pulls in pydantic, rich
# its emoji table), imported where they exist: a private module may go in a release.
PRELOAD_OPTIONAL = (
    "typer._adapters",
    "typer._click.decorators",
    "pydantic.plugin._loader",
    "rich._emoji_codes",
)
# TensorFlow's lazily loaded dataset operations that the zoo's pipelines build, on its
# backend only (another backend's daemon must not import TensorFlow).
PRELOAD_TENSORFLOW = (
    "tensorflow.python.data.ops.range_op",
    "tensorflow.python.data.ops.cache_op",
)


def directory() -> Path:
    """The daemon's folder: ZOO_DAEMON_DIR, else $XDG_RUNTIME_DIR/keras-zoo, else
    /tmp/keras-zoo-UID (a Unix socket's path must stay under about 100 bytes)."""
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV])
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.path.isdir(runtime_dir):
        return Path(runtime_dir) / "keras-zoo"
    return Path(f"/tmp/keras-zoo-{os.getuid()}")


def fingerprint() -> dict[str, Any]:
    """What decides whether a daemon's imports are this process's: the interpreter, the
    files of the zoo and of the framework packages, the Keras backend and FINGERPRINT_ENV.
    Nothing is imported (the files are stat'ed, a few milliseconds)."""
    from zoo.runtime.imports import keras_backend

    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(FINGERPRINT_ENV) and not k.startswith(NOT_OURS_ENV)
        and k not in IGNORED_ENV
    }  # fmt: skip
    return {
        "python": sys.prefix,  # the environment (its interpreter has several names)
        "python_version": sys.version,
        "backend": keras_backend(),
        "env": env,
        "code": _code_stamp(),
    }


def _code_stamp() -> str:
    """A hash of the name, size and modification time of every Python file of the zoo (the
    CLI included), of the entry files of Keras and its backends, of keras.json (read once,
    at import: floatx, image_data_format) and of the environment's site-packages folders (a
    package installed, upgraded or removed there changes its folder's time)."""
    import importlib.util

    import zoo
    from zoo.runtime.imports import keras_json

    h = hashlib.sha256()
    roots = {Path(zoo.__file__).resolve().parent}
    cli = importlib.util.find_spec("zoo.cli")
    if cli is not None and cli.origin:
        roots.add(Path(cli.origin).resolve().parent)
    files = sorted(f for root in roots for f in root.rglob("*.py"))
    for name in ("keras", "tensorflow", "jax", "torch"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    files.append(Path(keras_json()))
    paths = sysconfig.get_paths()
    files += sorted({Path(paths["purelib"]), Path(paths["platlib"])})
    for f in files:
        with contextlib.suppress(OSError):
            st = f.stat()
            h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def mismatch(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """Why a daemon with fingerprint `ours` cannot run a client's `theirs`, or None."""
    if ours["python"] != theirs.get("python") or ours["python_version"] != theirs.get(
        "python_version"
    ):
        return f"it runs another Python environment ({ours['python']})"
    if ours["backend"] != theirs.get("backend"):
        return f"it runs Keras on {ours['backend']}, this command on {theirs.get('backend')}"
    if ours["code"] != theirs.get("code"):
        return "the zoo's or the framework's files changed since it started"
    env = theirs.get("env", {})
    differ = sorted(k for k in set(ours["env"]) | set(env) if ours["env"].get(k) != env.get(k))
    if differ:
        return f"it started with other values of {', '.join(differ)}"
    return None


# A served run that finds it needs a process of its own (another Keras backend than the
# daemon imported) exits with this code before doing anything; its client runs it cold.
RUN_COLD = 75  # sysexits' EX_TEMPFAIL; no zoo command exits with it


class RunCold(Exception):  # noqa: N818  (a request, not an error)
    """Raised in a served run that cannot run in the daemon's process (`RUN_COLD`)."""


# ---- the client ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Delegated:
    """What `delegate` did: `code`, the command's exit code where the daemon ran it;
    otherwise None, with `why` where a daemon runs but could not take the command."""

    code: int | None
    why: str | None = None


def delegate(entry: str, argv: list[str], started: float) -> Delegated:
    """Runs `entry` with `argv` in the daemon, as this process would have: its standard
    streams, folder, environment and start time (`started`, seconds since the epoch).
    Signals this process gets (Ctrl-C, SIGTERM, SIGHUP; Ctrl-Z stops both) go on to the
    run. Returns at once, code None, where no daemon listens or ZOO_DAEMON=off; code None
    with `why` where one listens and cannot take the command (it never sees the
    environment of a process of another user: the listener's uid is checked first)."""
    path = directory() / SOCKET
    if os.environ.get(OFF_ENV) == "off" or sys.platform != "linux" or not path.exists():
        return Delegated(None)
    if None in (sys.stdin, sys.stdout, sys.stderr):  # started with one closed
        return Delegated(None, "a standard stream of this process is closed")
    try:  # made before connecting: a daemon waits for nobody's preparations
        request = _request(entry, argv, started)
    except OSError as e:  # the current folder was deleted
        return Delegated(None, f"the request cannot be made ({e})")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:  # a stale socket: the daemon is gone
        conn.close()
        return Delegated(None)
    with conn:
        if _peer(conn)[1] != os.getuid():
            return Delegated(None, f"its socket {path} is another user's")
        try:
            conn.settimeout(REPLY_TIMEOUT_S)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
            lines = _lines(conn)
            reply = next(lines, None)
        except (OSError, ValueError) as e:  # a closed stream, no answer in time
            return Delegated(None, f"the request failed ({e})")
        if reply is None or "pid" not in reply:
            return Delegated(None, (reply or {}).get("cold", "the daemon closed the connection"))
        conn.settimeout(None)  # the run takes as long as it takes
        with _forwarding(reply["pid"], request["ignored"]):
            done = next(lines, None)
    if done is None:
        return Delegated(1, "the zoo daemon stopped during the run")
    if done["exit"] == RUN_COLD:
        return Delegated(None, "the command asks for another Keras backend")
    return Delegated(_exit_code(done["exit"]))


def _umask() -> int:
    """This process's file-creation mask (read by setting it, then set back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _peer(conn: socket.socket) -> tuple[int, int]:
    """The pid and user id of the process at the other end of a Unix socket."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _ = struct.unpack("3i", creds)
    return pid, uid


# The signals a run hears from its caller's terminal or session; those the caller ignores
# (nohup: SIGHUP; a background job of a script: SIGINT) the run ignores too.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _request(entry: str, argv: list[str], started: float) -> dict[str, Any]:
    """What the daemon needs to run the command as this process would."""
    return {
        "entry": entry,
        "argv": list(argv),
        "cwd": os.getcwd(),
        "umask": _umask(),
        "env": dict(os.environ),
        "started": started,
        "ignored": [int(s) for s in FORWARDED if signal.getsignal(s) is signal.SIG_IGN],
        "encodings": [[f.encoding, f.errors] for f in (sys.stdin, sys.stdout, sys.stderr)],
        "fingerprint": fingerprint(),
    }


def _exit_code(status: int) -> int:
    """A child's status as waitpid reports it (negative: the signal that ended it), as a
    shell's exit code (128 + the signal)."""
    return 128 - status if status < 0 else status


def _lines(conn: socket.socket) -> Iterator[dict[str, Any]]:
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = conn.recv(1 << 16)
            if not chunk:
                return
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        yield json.loads(line)


@contextlib.contextmanager
def _forwarding(pid: int, ignored: list[int]) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP sent to this process go on to the run's process group
    (the run leads a session of its own, outside the terminal's foreground group), but
    those this process ignores (the run ignores them as well). Ctrl-Z (SIGTSTP) stops the
    run and then this process, as a job; `fg` or `bg` continues both."""
    signums = [s for s in FORWARDED if int(s) not in ignored]

    def forward(signum, frame):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)

    def suspend(signum, frame):
        # SIGSTOP: the run's group is orphaned (its parent, the daemon, is in another
        # session), and the kernel drops a SIGTSTP sent to one.
        forward(signal.SIGSTOP, frame)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here, until the shell's SIGCONT
        signal.signal(signal.SIGTSTP, suspend)
        forward(signal.SIGCONT, frame)  # continued (or this job could not stop): the run too

    saved = {s: signal.signal(s, forward) for s in signums}
    if signal.getsignal(signal.SIGTSTP) is signal.SIG_DFL:
        saved[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, suspend)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(saved))
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


# ---- starting, asking and stopping ------------------------------------------------------


def info(folder: Path | None = None) -> dict[str, Any] | None:
    """The running daemon's record (pid, started, idle_s, entries, fingerprint), or None
    where none runs (a record whose process is gone is stale: None)."""
    folder = folder or directory()
    if _folder_problem(folder) is not None:
        return None
    try:
        record = json.loads((folder / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not _alive(record.get("pid")):
        return None
    # The pid alone may be another process's by now: the listener must be that process,
    # of this user.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(REPLY_TIMEOUT_S)
        try:
            conn.connect(str(folder / SOCKET))
            pid, uid = _peer(conn)
        except OSError:
            return None
    return record if (pid, uid) == (record["pid"], os.getuid()) else None


def _folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot hold this user's daemon (None: it can, or it is not there):
    a symbolic link, another user's, or writable by others (who could replace the
    socket)."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return f"{folder} is not a folder (a symbolic link is not taken)"
    if st.st_uid != os.getuid():
        return f"the zoo daemon's folder {folder} belongs to another user"
    if st.st_mode & 0o022:
        return f"the zoo daemon's folder {folder} is writable by other users"
    return None


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_supported() -> None:
    """Raises InvalidArgumentError where a daemon cannot run (not Linux)."""
    if sys.platform != "linux":
        raise InvalidArgumentError(
            f"The zoo daemon needs Linux (fork and Unix-socket credentials); this is "
            f"{sys.platform}.",
            "Run the commands without it: they import the framework themselves.",
        )


def start(
    entries: dict[str, str],
    *,
    folder: Path | None = None,
    idle_s: float = IDLE_S,
    env: dict[str, str] | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> dict[str, Any]:
    """Starts a daemon serving `entries` (name -> "module:function", the function taking
    the client's argv and start time and returning an exit code) in the background, and
    returns its record once it listens. One that already runs is returned as it is.

    Raises:
        InvalidArgumentError: not Linux, an idle time that is not positive, or the daemon
            did not start (the last line of its log says why).
    """
    check_supported()
    if not idle_s > 0:
        raise InvalidArgumentError(
            f"The idle time must be positive; received {idle_s:g} s.", "For example 60."
        )
    folder = folder or directory()
    running = info(folder)
    if running is not None:
        return running
    problem = _folder_problem(folder)
    if problem is not None:
        raise InvalidArgumentError(
            f"{problem[0].upper()}{problem[1:]}.",
            f"Set {DIR_ENV} to a folder of your own that only you can write to.",
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    # -P and the root folder: the zoo is imported from the environment, never from a
    # source tree that happens to be the current folder (its cli/ is not zoo/cli there).
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    argv = [sys.executable, *safe_path, "-m", "zoo.daemon", str(folder), f"{idle_s:g}"]
    argv.append(json.dumps(entries))
    child = proc.start_detached(argv, env=env, log=folder / LOG, cwd="/")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = info(folder)
        ended = child.poll()
        # Ours, or (ours having found the folder held) the one that started beside it.
        if record is not None and (record.get("pid") == child.pid or ended is not None):
            return record
        if ended is not None and ended != HELD_ELSEWHERE:
            break
        time.sleep(0.05)
    proc.end_group(child)
    raise InvalidArgumentError(
        f"The zoo daemon did not start: {_last_line(folder / LOG) or 'no reason given'}",
        f"Its log is {folder / LOG}.",
    )


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "")


def stop(folder: Path | None = None, timeout_s: float = 30.0) -> dict[str, Any] | None:
    """Stops the running daemon (its runs in progress get SIGTERM first); its record, or
    None where none ran."""
    folder = folder or directory()
    record = info(folder)
    if record is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(record["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(record["pid"]):
        with contextlib.suppress(ChildProcessError):  # this process started it: reap it
            os.waitpid(record["pid"], os.WNOHANG)
        time.sleep(0.05)
    if _alive(record["pid"]):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record["pid"], signal.SIGKILL)
    return record


@contextlib.contextmanager
def running(entries: dict[str, str], folder: Path, env: dict[str, str] | None = None):
    """A daemon of its own for the block (a benchmark's): started, yielded, stopped."""
    record = start(entries, folder=folder, env=env)
    try:
        yield record
    finally:
        stop(folder)


# ---- the server -------------------------------------------------------------------------


class _Server:
    """The fork server's state: the listening socket, each run's pid -> client connection,
    and the runs to be killed (pid -> deadline) whose clients went away."""

    def __init__(self, folder: Path, idle_s: float, entries: dict[str, str], ours: dict, lock: int):
        self.folder, self.idle_s, self.entries = folder, idle_s, entries
        self.fingerprint = ours
        self.runs: dict[int, socket.socket] = {}
        self.killed: set[int] = set()  # runs whose clients went away, SIGKILLed
        self.stopping = False
        self.lock = lock  # the folder's lock (serve's), which no run holds
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tmp = folder / f".{SOCKET}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        self.listener.bind(str(tmp))
        os.chmod(tmp, 0o600)
        self.listener.listen(16)
        os.replace(tmp, folder / SOCKET)  # whole: a client never meets a half-made socket
        self.last_busy = time.monotonic()
        # A run's end wakes the loop at once (SIGCHLD writes to the wake-up socket).
        self.wake, wake_w = socket.socketpair()
        self._wake_w = wake_w
        for end in (self.wake, wake_w):
            end.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def loop(self) -> None:
        while not self.stopping:
            self._reap()
            if not self.runs and time.monotonic() - self.last_busy > self.idle_s:
                return
            conns = [c for p, c in self.runs.items() if p not in self.killed]
            with contextlib.suppress(InterruptedError):
                ready = select.select([self.listener, self.wake, *conns], [], [], 1.0)[0]
                for sock in ready:
                    if sock is self.listener:
                        self._accept()
                    elif sock is self.wake:
                        with contextlib.suppress(BlockingIOError):
                            sock.recv(4096)
                    else:
                        self._client_gone(sock)
        self._end_runs()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        self.last_busy = time.monotonic()
        try:
            request, fds = _receive(conn)
        except (OSError, ValueError):
            conn.close()
            return
        try:
            why = self._refusal(conn, request)
            if why is not None:
                _send(conn, {"cold": why})
                conn.close()
                return
            pid = os.fork()
            if pid == 0:
                self._child(conn, request, fds)  # never returns
            self.runs[pid] = conn
        finally:
            for fd in fds:
                os.close(fd)

    def _refusal(self, conn: socket.socket, request: dict[str, Any]) -> str | None:
        if _peer(conn)[1] != os.getuid():
            return "the daemon serves its own user only"
        if request.get("entry") not in self.entries:
            return f"the daemon does not serve {request.get('entry')!r}"
        why = mismatch(self.fingerprint, request.get("fingerprint") or {})
        if why is not None:
            return why
        threads = len(os.listdir("/proc/self/task"))
        if threads > 1:  # a fork would copy locks that other threads hold
            return f"the daemon runs {threads} threads, and only a single thread may fork"
        return None

    def _child(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        code = 1
        try:
            _signals_as_the_callers(request)  # first: the server's handlers are not the run's
            os.setsid()  # a process group of its own: the client signals it whole
            _end_with_the_daemon()
            signal.set_wakeup_fd(-1)
            for own in (self.listener, self.wake, self._wake_w, *self.runs.values()):
                own.close()
            os.close(self.lock)
            _send(conn, {"pid": os.getpid()})
            conn.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            _as_a_new_process(request)
            module, _, name = self.entries[request["entry"]].partition(":")
            fn = getattr(importlib.import_module(module), name)
            code = _run_entry(fn, request["argv"], float(request["started"]))
        except BaseException:
            traceback.print_exc()
        finally:
            _exit(code)

    def _reap(self) -> None:
        while self.runs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.runs.pop(pid, None)
            self.killed.discard(pid)
            if conn is not None:
                with contextlib.suppress(OSError):
                    _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                conn.close()
            self.last_busy = time.monotonic()

    def _client_gone(self, conn: socket.socket) -> None:
        """A client's connection is readable only when it closed: its run is ended (once;
        the reaper then tells nobody)."""
        pid = next(p for p, c in self.runs.items() if c is conn)
        with contextlib.suppress(OSError):
            if conn.recv(1, socket.MSG_PEEK):
                conn.recv(1 << 16)  # a client says nothing after its request: dropped
                return
        if pid not in self.killed:
            self.killed.add(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def _end_runs(self) -> None:
        """SIGTERM to every run, SIGKILL after GRACE_S, each client told how its run ended."""
        for pid in self.runs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        while self.runs and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for pid in self.runs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        while self.runs:
            self._reap()
            time.sleep(0.05)

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        for own in (self.listener, self.wake, self._wake_w):
            own.close()
        record = info(self.folder)
        if record is None or record.get("pid") == os.getpid():
            for name in (SOCKET, INFO):
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / name).unlink()


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """A client's request and its three standard streams; a client that does not send
    them within REPLY_TIMEOUT_S (stopped, or not a client) holds up nobody else."""
    conn.settimeout(REPLY_TIMEOUT_S)
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    while not data.endswith(b"\n"):
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("a request passes three file descriptors")
    conn.settimeout(None)
    try:
        return json.loads(data), fds
    except ValueError:
        for fd in fds:
            os.close(fd)
        raise


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _signals_as_the_callers(request: dict[str, Any]) -> None:
    """Python's dispositions, with the signals the caller ignores ignored (nohup)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(s, signal.SIG_DFL)
    for s in request.get("ignored", []):
        signal.signal(s, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _end_with_the_daemon() -> None:
    """SIGTERM to this run when the daemon ends, however it ends (prctl PR_SET_PDEATHSIG):
    a run whose client has been told the daemon stopped does not train on unseen."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)


def _as_a_new_process(request: dict[str, Any]) -> None:
    """The forked run as the client's own process would be: its folder, file-creation
    mask and environment (os.environ writes through to the C environment), sys.argv, its
    streams' encodings, and the mark that it was served warm (`served`)."""
    global _SERVED
    import tempfile

    os.chdir(request["cwd"])
    os.umask(int(request["umask"]))
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # found again from the client's TMPDIR
    sys.argv = list(request["argv"])
    (ein, rin), (eout, rout), (eerr, rerr) = request["encodings"]
    sys.stdin = os.fdopen(0, "r", encoding=ein, errors=rin, closefd=False)
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding=eout, errors=rout, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, encoding=eerr, errors=rerr, closefd=False)
    _SERVED = True


def _exit(code: int) -> None:
    """Ends a run as the interpreter ends a process (its atexit functions, its
    non-daemon threads joined, its streams flushed), without returning to the server."""
    import atexit
    import threading

    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _run_entry(fn: Callable[[list[str], float], int], argv: list[str], started: float) -> int:
    try:
        code = fn(argv, started)
    except SystemExit as e:
        code = e.code
    except RunCold:
        return RUN_COLD
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")  # sys.exit("message"), as Python itself reports it
    return 1


_SERVED = False


def served() -> bool:
    """Whether this process is a run forked from a warm daemon (its results say so)."""
    return _SERVED


def _settle() -> None:
    """One fork that exits at once: NumPy's OpenBLAS starts a thread pool at import and
    stops it around a fork (pthread_atfork), to start it again in whichever process next
    multiplies; afterwards the server runs one thread, as `_refusal` wants."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def preload(entries: dict[str, str]) -> None:
    """What a daemon imports before it serves: Keras, PRELOAD, the entries' modules, and
    what a run would import at its first use (PRELOAD_OPTIONAL, the model modules,
    TensorFlow's dataset operations on its backend). Imports only: nothing that starts a
    framework's runtime before the fork."""
    import pkgutil

    from zoo.runtime import imports

    imports.import_keras()
    for module in (*PRELOAD, *(e.partition(":")[0] for e in entries.values())):
        importlib.import_module(module)

    import keras

    import zoo.models

    names = [f"zoo.models.{m.name}" for m in pkgutil.iter_modules(zoo.models.__path__)]
    optional = [*PRELOAD_OPTIONAL]
    if keras.backend.backend() == "tensorflow":
        optional += PRELOAD_TENSORFLOW
    for name in names:
        importlib.import_module(name)
    for name in optional:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _hold(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on `path` (each run the daemon forks
    closes its copy), or None where another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def serve(folder: Path, idle_s: float, entries: dict[str, str]) -> int:
    """The daemon's main: imports Keras (as the zoo's commands do) and the entries'
    modules, listens, forks a child per request, and returns (0) after `idle_s` without a
    request or on SIGTERM, its socket and record removed."""
    # One daemon a folder: a second started at the same moment (both found none running)
    # leaves before its imports, and the lock goes with the process however it ends.
    lock = _hold(folder / LOCK)
    if lock is None:
        return HELD_ELSEWHERE
    # Taken first: importing Keras sets variables of its own (TF_FORCE_GPU_ALLOW_GROWTH on
    # JAX), and a file edited during the import must not count as imported.
    ours = fingerprint()
    preload(entries)
    _settle()
    server = _Server(folder, idle_s, entries, ours, lock)

    def stopping(signum, frame):
        server.stopping = True

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    # A signal mask is inherited, and a library in the starting process may block these.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD})
    try:
        record = {
            "pid": os.getpid(),
            "started": time.time(),
            "idle_s": idle_s,
            "entries": sorted(entries),
            "fingerprint": server.fingerprint,
        }
        io.write_json(folder / INFO, record)
        server.loop()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    # Served through the module's own name: a run reads `zoo.daemon.served()`, not
    # __main__'s copy of the flag.
    from zoo import daemon as _daemon

    sys.exit(_daemon.serve(Path(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])))
