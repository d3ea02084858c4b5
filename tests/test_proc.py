"""zoo.proc, the one process runner: statuses, the whole process group ended on a timeout
or Ctrl-C, and a worker that starts with SIGINT unblocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from zoo import proc

HEAD = """
import os, signal, subprocess, sys, time
from pathlib import Path
from zoo.errors import DataError
from zoo.proc import worker_main
"""


def _worker(tmp_path: Path, body: str, name: str = "fake_worker") -> str:
    """A worker module in tmp_path whose job function has `body`."""
    code = HEAD + "\n\ndef job(job):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    code += "\n\nif __name__ == '__main__':\n    sys.exit(worker_main(job))\n"
    (tmp_path / f"{name}.py").write_text(code)
    return name


def _run(tmp_path, body, job=None, timeout_s=60.0):
    module = _worker(tmp_path, body)
    return proc.run_module(
        module, job or {}, timeout_s=timeout_s, env={"PYTHONPATH": str(tmp_path)}
    )


# A worker that starts a child of its own, says its pid, and hangs.
HANGS_WITH_A_CHILD = """
child = subprocess.Popen(['sleep', '60'])
Path(job['pid_file']).write_text(str(child.pid))
time.sleep(60)
"""


def _running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_the_record_comes_back_with_its_wall_time(tmp_path):
    record = _run(tmp_path, "return {'twice': job['x'] * 2}", {"x": 21})
    assert record["status"] == "ok" and record["twice"] == 42 and record["wall_s"] > 0


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ("raise DataError('No data here.', 'Prepare it.')", "failed", "No data here. Prepare it."),
        ("raise ValueError('bad shape')", "failed", "ValueError: bad shape"),
        ("raise RuntimeError('ResourceExhausted: OOM')", "oom", "RuntimeError: Resource"),
        ("return {'status': 'skipped', 'reason': 'no GPU'}", "skipped", "no GPU"),
        ("print('boom', file=sys.stderr); os._exit(3)", "failed", "exit code 3: boom"),
        ("os.kill(os.getpid(), signal.SIGSEGV)", "failed", "exit code -11 (SIGSEGV)"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "killed", "killed by SIGKILL"),
        (
            "print('CUDA_ERROR_OUT_OF_MEMORY: out of memory', file=sys.stderr); os._exit(1)",
            "oom",
            "CUDA_ERROR_OUT_OF_MEMORY",
        ),
    ],
)
def test_every_ending_is_one_status_of_the_vocabulary(tmp_path, body, status, reason):
    record = _run(tmp_path, body)
    assert record["status"] == status and record["reason"].startswith(reason), record
    assert record["status"] in __import__("zoo.choices").choices.RUN_STATUSES


def test_a_timeout_ends_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    record = _run(tmp_path, HANGS_WITH_A_CHILD, {"pid_file": str(pid_file)}, timeout_s=3)
    assert record["status"] == "timeout" and record["reason"] == "no result within 3 s"
    assert not _running(int(pid_file.read_text()))  # the worker's own child went too


def test_ctrl_c_ends_the_group_and_is_raised_again(tmp_path):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("this process does not turn SIGINT into KeyboardInterrupt")
    pid_file = tmp_path / "grandchild.pid"

    def press_ctrl_c():
        while not pid_file.exists():
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, HANGS_WITH_A_CHILD, {"pid_file": str(pid_file)})
    assert not _running(int(pid_file.read_text()))


def test_end_group_gives_sigterm_then_sigkill(tmp_path):
    # A leader that ignores SIGTERM, and its child that ignores it too: SIGKILL ends both.
    code = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "c = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)']);"
        f"open({str(tmp_path / 'pid')!r}, 'w').write(str(c.pid)); time.sleep(60)"
    )
    leader = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    while not (tmp_path / "pid").exists() or not (tmp_path / "pid").read_text():
        time.sleep(0.02)
    proc.end_group(leader, grace_s=0.5)
    assert leader.returncode == -signal.SIGKILL
    assert not _running(int((tmp_path / "pid").read_text()))


def test_the_worker_starts_with_sigint_unblocked_and_at_its_default(tmp_path):
    body = """
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    return {'blocked': signal.SIGINT in blocked,
            'raises': signal.getsignal(signal.SIGINT) is signal.default_int_handler}
    """
    found = {}

    def spawn_with_sigint_blocked():  # as a library may leave a thread
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        found.update(_run(tmp_path, body))

    thread = threading.Thread(target=spawn_with_sigint_blocked)
    thread.start()
    thread.join()
    assert found["status"] == "ok" and found["blocked"] is False and found["raises"] is True


def test_outcome_maps_exit_codes_without_a_record():
    assert proc.outcome(0, {"x": 1}, "")["status"] == "ok"
    assert proc.outcome(-15, None, "")["reason"] == "killed by SIGTERM"
    assert proc.outcome(137, None, "")["status"] == "killed"  # 128 + 9, through a shell
    assert proc.outcome(1, None, "Traceback\nMemoryError\n")["status"] == "oom"
    assert proc.outcome(0, None, "")["reason"] == "exit code 0"  # no record: failed
    assert proc.outcome(0, None, "")["status"] == "failed"


def test_output_of_a_missing_tool_is_none():
    assert proc.output_of(["no-such-tool-zoo"]) is None
    assert proc.output_of([sys.executable, "-c", "print('hi')"]) == "hi\n"


# --- long-lived workers: Session and session_main ----------------------------------------

SESSION = """
import os, sys, time
from zoo.errors import DataError
from zoo.proc import session_main

def job(job, channel):
    print('a library printing to stdout')  # must not break the protocol
    channel.send({'status': 'ready'})
    while (message := channel.receive()).get('add') is not None:
        if message['add'] == 'hang':
            time.sleep(60)
        if message['add'] == 'crash':
            os._exit(3)
        if message['add'] == 'bad':
            raise DataError('no such data', 'Prepare it.')
        channel.send({'status': 'sum', 'sum': job['start'] + message['add']})
    return {'finished': message}

if __name__ == '__main__':
    sys.exit(session_main(job))
"""


def _session(tmp_path, timeout_s=60.0) -> proc.Session:
    (tmp_path / "fake_session.py").write_text(SESSION)
    env = {"PYTHONPATH": str(tmp_path)}
    return proc.Session("fake_session", {"start": 40}, timeout_s=timeout_s, env=env)


def test_a_session_answers_each_message_then_gives_its_record(tmp_path):
    with _session(tmp_path) as session:
        assert session.start() == {"status": "ready"}
        assert session.ask({"add": 2}) == {"status": "sum", "sum": 42}
        assert session.ask({"add": 3}) == {"status": "sum", "sum": 43}
        final = session.ask({"done": True})
        assert final["status"] == "ok" and final["finished"] == {"done": True}
        assert final["wall_s"] > 0 and session.final is final
        assert session.ask({"add": 1}) is final  # nothing more after the record
    assert session.child.poll() is not None  # closed: the process is gone


@pytest.mark.parametrize(
    ("add", "status", "reason"),
    [
        ("bad", "failed", "no such data"),  # a ZooError: its message
        ("crash", "failed", "exit code 3"),  # died without a record
        ("hang", "timeout", "no reply within 3 s"),
    ],
)
def test_a_session_that_fails_crashes_or_hangs_ends_with_a_record(tmp_path, add, status, reason):
    with _session(tmp_path, timeout_s=3.0 if add == "hang" else 60.0) as session:
        session.start()
        record = session.ask({"add": add})
        assert record["status"] == status and reason in record["reason"], record
        assert session.final is record and "wall_s" in record
        pid = session.child.pid
    assert not _running(pid)


def test_a_closed_pipe_ends_a_session_worker_quietly():
    """EOF from the runner is not the job's failure: no record, no traceback."""
    with pytest.raises(EOFError):
        proc._record_of(lambda: (_ for _ in ()).throw(EOFError("closed")))
