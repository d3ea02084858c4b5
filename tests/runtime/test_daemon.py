"""The zoo daemon (zoo.daemon, `zoo daemon`): a warm process that forks each run it serves.

One daemon serves the module (it imports TensorFlow once, a few seconds); each test talks
to it through the real `python -m zoo` command, as a user's shell would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner
from zoo.cli.daemon import ENTRIES
from zoo.cli.main import app

from zoo import daemon
from zoo.tuning import cache

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the daemon is Linux only")

QUIET_TEXT = ["--recipe", "fast-text", "--epochs", "1", "--target", "accuracy=0.9"]


def _zoo(*args, env=None, cwd=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def short_folder():
    """A folder of its own with a short path (a Unix socket's path is short), removed after."""
    folder = Path(tempfile.mkdtemp(prefix="zd-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A daemon for the module in a short folder of its own (a socket path is short),
    started from a folder holding a `zoo` package that is not the zoo (a source checkout
    whose cli/ is beside zoo/, say): the daemon imports the installed zoo all the same."""
    folder = Path(tempfile.mkdtemp(prefix="zd-", dir="/tmp"))
    decoy = tmp_path_factory.mktemp("checkout")
    (decoy / "zoo").mkdir()
    (decoy / "zoo" / "__init__.py").write_text("raise ImportError('not the zoo')\n")
    here = os.getcwd()
    os.chdir(decoy)
    try:
        record = daemon.start(ENTRIES, folder=folder)
    finally:
        os.chdir(here)
    yield folder, record
    daemon.stop(folder)
    assert daemon.info(folder) is None
    assert not (folder / daemon.SOCKET).exists()
    free = daemon._hold(folder / daemon.LOCK)  # the lock went with it
    assert free is not None
    os.close(free)
    shutil.rmtree(folder)


def _history(result: dict) -> list[dict]:
    return [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in result["history"]]


@pytest.mark.slow  # four processes, two of them cold: the umask test serves a run fast
def test_a_served_run_trains_as_a_cold_one_does(served, tmp_path):
    folder, _ = served
    args = ["train", "fasttext_classifier", *QUIET_TEXT[2:], "--deterministic", "--seed", "3"]
    env = {daemon.DIR_ENV: str(folder)}
    warm = _zoo(*args, "--output", "w", env=env, cwd=tmp_path)
    cold = _zoo(*args, "--output", "c", env={**env, "ZOO_DAEMON": "off"}, cwd=tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert cold.returncode == 0, cold.stderr
    # The run took the client's folder (a relative --output), streams and exit code.
    warm_result = json.loads((tmp_path / "w" / "result.json").read_text())
    cold_result = json.loads((tmp_path / "c" / "result.json").read_text())
    assert warm_result["target"]["start"] == "warm" and cold_result["target"]["start"] == "cold"
    assert _history(warm_result) == _history(cold_result)
    assert "(warm: the zoo daemon had imported the framework)" in warm.stdout
    assert "Reached accuracy=0.9" in warm.stdout
    for noise in ("absl", "I0000", "oneDNN", "cuda"):  # its runtime started quietly too
        assert noise not in warm.stderr, warm.stderr
    # zoo evaluate is served as well, with the same figures.
    scores = [
        _zoo("evaluate", "w", "--json", env={**env, **off}, cwd=tmp_path)
        for off in ({}, {"ZOO_DAEMON": "off"})
    ]
    assert [p.returncode for p in scores] == [0, 0], scores[0].stderr
    assert json.loads(scores[0].stdout) == json.loads(scores[1].stdout)


def test_a_users_mistake_through_the_daemon_is_one_line_and_its_exit_code(served):
    folder, _ = served
    proc = _zoo("train", "no_such_model", env={daemon.DIR_ENV: str(folder)})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "no_such_model" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_client_the_daemon_cannot_serve_runs_cold_and_says_why(served):
    folder, _ = served
    env = {daemon.DIR_ENV: str(folder), "TF_ENABLE_ONEDNN_OPTS": "0"}
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
        env["TF_ENABLE_ONEDNN_OPTS"] = "1"
    proc = _zoo("train", "no_such_model", env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert "did not take this command" in lines[0] and "TF_ENABLE_ONEDNN_OPTS" in lines[0]
    assert "zoo daemon restart" in lines[0] and "no_such_model" in lines[1]


@pytest.mark.slow
def test_ctrl_c_reaches_the_run_and_ends_it_as_it_ends_a_cold_one(served, tmp_path):
    folder, _ = served
    client = _long_run(folder, tmp_path / "run")
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=120)
    assert client.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    assert "did not take" not in err  # it ran in the daemon
    assert _children(served[1]["pid"]) == []  # and ended there before its client did


@pytest.mark.slow
def test_ctrl_z_stops_the_run_with_its_client_and_fg_continues_both(served, tmp_path):
    folder, _ = served
    # A job of its own, as a shell with job control starts one (Ctrl-Z at its default, in
    # a process group of its own): the kernel drops a stop signal sent to an orphaned
    # process group (none of its processes' parents in another group of the session,
    # which pytest's may be in CI), and the run then goes on, as a cold one would.
    client = _long_run(folder, tmp_path / "run", own_group=True)
    (run,) = _children(served[1]["pid"])
    client.send_signal(signal.SIGTSTP)  # Ctrl-Z
    assert _state_soon(client.pid, "T") and _state_soon(run, "T")
    client.send_signal(signal.SIGCONT)  # fg
    assert _state_soon(client.pid, "RS") and _state_soon(run, "RS")
    client.send_signal(signal.SIGINT)
    _, err = client.communicate(timeout=120)
    assert client.returncode == 130, err


def _state_soon(pid: int, states: str, within_s: float = 30.0) -> bool:
    """Whether process `pid` is in one of `states` (R running, S sleeping, T stopped) now
    or within a while (a signal takes a moment)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in states:
            return True
        time.sleep(0.05)
    return False


def _long_run(folder: Path, out: Path, ignore=(), own_group=False) -> subprocess.Popen:
    """A client of the daemon in `folder` training for minutes, once its run has started
    training (its output folder is made at the start); it ignores the signals `ignore`,
    and leads a process group of its own with `own_group`."""

    def as_a_shell_would():
        for s in ignore:
            signal.signal(s, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTSTP})
        if own_group:  # a job, as a shell with job control starts one
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            os.setpgid(0, 0)

    client = subprocess.Popen(
        [sys.executable, "-m", "zoo", "train", "gpt_tiny", "--epochs", "50", "--output", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, daemon.DIR_ENV: str(folder)},
        preexec_fn=as_a_shell_would,
    )
    deadline = time.monotonic() + 120
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    return client


def _children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_status_and_the_cli_say_what_runs(served):
    folder, record = served
    runner = CliRunner()
    r = runner.invoke(app, ["daemon", "status", "--json"], env={daemon.DIR_ENV: str(folder)})
    assert r.exit_code == 0, r.output
    status = json.loads(r.stdout)
    assert status["running"] and status["serves_this_shell"] and status["why_not"] is None
    assert status["daemon"]["pid"] == record["pid"] and status["daemon"]["entries"] == sorted(
        ENTRIES
    )
    again = runner.invoke(app, ["daemon", "start"], env={daemon.DIR_ENV: str(folder)})
    assert again.exit_code == 0 and f"already runs (pid {record['pid']})" in again.output


def test_no_daemon_status_exits_1_and_commands_run_here(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["daemon", "status"], env={daemon.DIR_ENV: str(tmp_path)})
    assert r.exit_code == 1 and "No zoo daemon runs" in r.output
    r = runner.invoke(app, ["daemon", "stop"], env={daemon.DIR_ENV: str(tmp_path)})
    assert r.exit_code == 0 and "No zoo daemon runs" in r.output
    os.environ[daemon.DIR_ENV] = str(tmp_path)
    try:
        assert daemon.delegate("cli", ["zoo", "train"], time.time()) == daemon.Delegated(None)
    finally:
        del os.environ[daemon.DIR_ENV]


def test_a_bad_idle_time_is_refused_before_anything_starts(tmp_path):
    r = CliRunner().invoke(
        app, ["daemon", "start", "--idle", "0"], env={daemon.DIR_ENV: str(tmp_path)}
    )
    assert r.exit_code == 2 and "idle time must be positive" in r.output
    assert list(tmp_path.iterdir()) == []


FP = {"python": "/env", "python_version": "3.11", "backend": "tensorflow", "env": {}, "code": "a"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"python": "/other"}, "another Python environment"),
        ({"backend": "jax"}, "runs Keras on tensorflow, this command on jax"),
        ({"code": "b"}, "files changed since it started"),
        ({"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}}, "other values of TF_ENABLE_ONEDNN_OPTS"),
    ],
)
def test_a_daemon_serves_only_what_it_imported(change, reason):
    assert daemon.mismatch(FP, dict(FP)) is None
    assert reason in daemon.mismatch(FP, {**FP, **change})


def test_what_acts_at_import_is_in_the_fingerprint(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_thunk_runtime=false")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # logging only: not compared
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # compared as the backend it picks
    fp = daemon.fingerprint()
    assert fp["env"]["XLA_FLAGS"] == "--xla_cpu_use_thunk_runtime=false"
    assert "TF_CPP_MIN_LOG_LEVEL" not in fp["env"] and "KERAS_BACKEND" not in fp["env"]
    assert fp["backend"] == "tensorflow" and fp["python"] == sys.prefix


@pytest.mark.slow
def test_a_run_on_another_backend_than_the_daemons_runs_cold(served, tmp_path, monkeypatch):
    folder, _ = served
    # A recipe tuned for JAX: the served run finds it, then that it must run cold, and the
    # line naming it is said once (by the cold run), not once by each.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = {"batch_size": 16, "learning_rate": 0.05, "epochs": 1, "precision": "float32"}
    entry = {"model": "linear_regression", "dataset": "synthetic", "backend": "jax"}
    cache.store({**entry, "target": "mse=1", "settings": settings, "time_to_target_s": 3.0,
                 "created": "2026-12-01T00:00:00+00:00"})  # fmt: skip
    args = ["train", "linear_regression", "--backend", "jax", "--tuned", "--samples", "64"]
    proc = _zoo(*args, env={daemon.DIR_ENV: str(folder)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    why = "did not take this command (the command asks for another Keras backend)"
    assert why in proc.stderr
    assert proc.stderr.count("Using the settings tuned on this machine") == 1, proc.stderr
    assert "mse" in proc.stdout  # trained, cold, on JAX


def test_a_closed_standard_input_runs_the_command_cold(served):
    folder, _ = served
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", "train", "no_such_model"],
        capture_output=True,
        text=True,
        env={**os.environ, daemon.DIR_ENV: str(folder)},
        preexec_fn=lambda: os.close(0),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "did not take this command (a standard stream of this process is closed)" in lines[0]
    assert "no_such_model" in lines[-1] and "Traceback" not in proc.stderr


def _on_a_terminal(args: list[str], env: dict) -> bytes:
    """What a command writes to a terminal (a pseudo-terminal as its three streams)."""
    import pty

    master, terminal = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "zoo", *args],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env={**os.environ, **env},
            timeout=300,
        )
    finally:
        os.close(terminal)
    written = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: everything written has been read
            break
        if not chunk:
            break
        written += chunk
    os.close(master)
    return written


def test_a_served_run_colours_a_terminal_as_a_cold_one(served):
    folder, _ = served
    env = {daemon.DIR_ENV: str(folder)}
    warm = _on_a_terminal(["train", "no_such_model"], env)
    cold = _on_a_terminal(["train", "no_such_model"], {**env, "ZOO_DAEMON": "off"})
    assert b"\x1b[" in cold and b"no_such_model" in cold  # the red Error:
    assert warm == cold


def test_a_served_run_creates_files_with_its_callers_umask(served, tmp_path):
    folder, _ = served
    args = ["train", "linear_regression", "--epochs", "1", "--target", "mse=1e9", "--output", "o"]
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        capture_output=True,
        text=True,
        env={**os.environ, daemon.DIR_ENV: str(folder)},
        cwd=tmp_path,
        preexec_fn=lambda: os.umask(0o077),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "o" / "result.json").read_text())["target"]["start"] == "warm"
    assert (tmp_path / "o").stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_a_run_ignores_what_its_caller_ignores(served, tmp_path):
    """nohup: the caller ignores SIGHUP, and so does its run; Ctrl-C still ends it."""
    folder, _ = served
    client = _long_run(folder, tmp_path / "run", ignore=(signal.SIGHUP,))
    client.send_signal(signal.SIGHUP)  # ignored by both
    time.sleep(1.0)
    assert client.poll() is None
    client.send_signal(signal.SIGINT)
    _, err = client.communicate(timeout=120)
    assert client.returncode == 130, err


def test_a_record_naming_another_live_process_is_no_daemon(short_folder):
    """A daemon killed without cleaning up, its pid reused: `info` sees the listener is
    not that process, and `stop` signals nobody."""
    folder = short_folder
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / daemon.SOCKET))
    listener.listen(8)  # the probes queue up unaccepted
    try:
        (folder / daemon.INFO).write_text(json.dumps({"pid": os.getppid(), "started": 0}))
        assert daemon.info(folder) is None
        assert daemon.stop(folder) is None
        (folder / daemon.INFO).write_text(json.dumps({"pid": os.getpid(), "started": 0}))
        assert daemon.info(folder)["pid"] == os.getpid()  # this process does listen
    finally:
        listener.close()
    assert os.getppid() > 1 and daemon._alive(os.getppid())


def test_one_daemon_holds_a_folder_and_a_second_leaves_it_untouched(short_folder):
    folder = short_folder
    held = daemon._hold(folder / daemon.LOCK)  # this process: a daemon starting up
    try:
        assert held is not None and daemon._hold(folder / daemon.LOCK) is None
        assert daemon.serve(folder, 60.0, ENTRIES) == daemon.HELD_ELSEWHERE
        assert not (folder / daemon.SOCKET).exists() and not (folder / daemon.INFO).exists()
    finally:
        os.close(held)
    free = daemon._hold(folder / daemon.LOCK)  # free once its holder closed it
    assert free is not None
    os.close(free)


def test_two_starts_at_once_return_the_one_daemon_that_holds_the_folder(short_folder):
    """`zoo daemon start` twice at once: both found none running. The second daemon finds
    the folder held and leaves; its starter returns the first one once that listens (here
    this process plays the first: it holds the lock, then listens and writes its record)."""
    folder = short_folder
    held = daemon._hold(folder / daemon.LOCK)
    assert held is not None
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / daemon.SOCKET))
    listener.listen(8)

    def listening():
        time.sleep(1.0)
        record = {"pid": os.getpid(), "started": 0}
        (folder / daemon.INFO).write_text(json.dumps(record))

    first = threading.Thread(target=listening)
    first.start()
    try:
        record = daemon.start(ENTRIES, folder=folder, timeout_s=120)
    finally:
        first.join()
        listener.close()
        os.close(held)
    assert record["pid"] == os.getpid()


def test_a_folder_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(daemon.InvalidArgumentError, match="writable by other users"):
        daemon.start(ENTRIES, folder=shared)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(daemon.InvalidArgumentError, match="symbolic link"):
        daemon.start(ENTRIES, folder=link)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "shared"]
    assert list(shared.iterdir()) == []


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_of_another_user_is_refused_and_never_read(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    (theirs / daemon.INFO).write_text(json.dumps({"pid": os.getpid(), "started": 0}))
    os.chown(theirs, 65534, 65534)
    assert daemon.info(theirs) is None
    with pytest.raises(daemon.InvalidArgumentError, match="belongs to another user"):
        daemon.start(ENTRIES, folder=theirs)


PRELOADED = """
import json, sys
from zoo import daemon
from zoo.cli.daemon import ENTRIES
daemon.preload(ENTRIES)
before = set(sys.modules)
from zoo.cli.main import app
args = ["train", "fast_factorization", "--epochs", "1", "--samples", "2000"]
args += ["--target", "rmse=9", "--eval-every", "4", "--json"]
try:
    app(args, standalone_mode=False)
finally:
    new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in sys.argv[1:])
    print("NEW", json.dumps(new), file=sys.stderr)
"""


@pytest.mark.slow  # a process that imports TensorFlow and trains
def test_a_run_after_the_daemons_imports_imports_nothing_more_of_ours(tmp_path):
    # An import inside a served run is paid by every run (70 ms of a 1.3 s one, before
    # these modules were preloaded); the packages named here are the zoo's and what its
    # commands import lazily.
    r = subprocess.run(
        [sys.executable, "-c", PRELOADED, "zoo", "typer", "pydantic", "rich"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    line = [x for x in r.stderr.splitlines() if x.startswith("NEW ")]
    assert line and json.loads(line[-1][4:]) == []


@pytest.mark.slow  # imports JAX and the zoo's modules in a process of its own
def test_a_jax_daemons_preload_imports_no_tensorflow(tmp_path):
    code = (
        "import sys\nfrom zoo import daemon\nfrom zoo.cli.daemon import ENTRIES\n"
        "daemon.preload(ENTRIES)\nimport keras\n"
        "m = sys.modules\n"
        "print(keras.backend.backend(), 'tensorflow' in m, 'zoo.models.cnn' in m)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["jax", "False", "True"]


@pytest.mark.slow
def test_a_jax_daemon_serves_jax_commands(short_folder):
    """Keras on JAX sets a variable of its own at import; the daemon's fingerprint is
    taken before, so its JAX clients match it."""
    folder = short_folder
    env = {daemon.DIR_ENV: str(folder), "KERAS_BACKEND": "jax"}
    os.environ["KERAS_BACKEND"] = "jax"
    try:
        daemon.start(ENTRIES, folder=folder)
    finally:
        del os.environ["KERAS_BACKEND"]
    try:
        proc = _zoo("train", "no_such_model", env=env)
    finally:
        daemon.stop(folder)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "did not take" not in proc.stderr, proc.stderr
