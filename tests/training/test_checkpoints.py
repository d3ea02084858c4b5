"""Checkpoints, resume after a kill, TensorBoard logs and validation splits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import zoo
from zoo.errors import InvalidArgumentError, TrainingDivergedError


def _zoo(*args, env=None, **kwargs):
    """Runs the real CLI in a fresh process (its own TensorFlow runtime)."""
    return subprocess.Popen(
        [sys.executable, "-m", "zoo.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def _in_process(*args):
    """The CLI in this process: for commands that stop before training."""
    from typer.testing import CliRunner
    from zoo.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_model_keras_is_the_best_epoch_and_last_keras_the_last(tmp_path):
    out = tmp_path / "run"
    r = zoo.train("mlp", epochs=4, samples=1024, learning_rate=0.01, output=out)
    val = [h["val_loss"] for h in r.history]
    assert r.best_epoch == int(np.argmin(val)) + 1
    assert {"model", "last", "history", "result"} <= set(r.paths)
    assert not (out / "backup").exists()
    # model.keras is what was tested; last.keras holds the weights after the last epoch.
    assert zoo.evaluate(out).metrics == pytest.approx(r.test_metrics, rel=1e-5)
    best, last = zoo.load_model(out / "model.keras"), zoo.load_model(out / "last.keras")
    same = all(
        np.array_equal(a, b) for a, b in zip(best.get_weights(), last.get_weights(), strict=True)
    )
    assert same == (r.best_epoch == 4)


def test_a_diverging_run_keeps_its_last_good_checkpoint(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(TrainingDivergedError) as e:  # this rate overflows in epoch 3
        zoo.train(
            "linear_regression",
            epochs=6,
            samples=256,
            learning_rate=4.0,
            optimizer="sgd",
            output=out,
        )
    assert "of epoch 3" in str(e.value) and "last.keras (epoch 2)" in str(e.value)
    rows = (out / "history.csv").read_text().splitlines()
    assert len(rows) == 3  # the header and the two good epochs
    assert zoo.load_model(out / "last.keras").name == "linear_regression"
    state = json.loads((out / "backup" / "state.json").read_text())
    assert state["epoch"] == 2  # the training state is the good one, never the overflowed


def test_flags_that_need_an_output_folder_say_so():
    for flag in ("resume", "tensorboard"):
        with pytest.raises(InvalidArgumentError, match="needs an output folder"):
            zoo.train("linear_regression", samples=64, **{flag: True})


def test_tensorboard_logs_hold_the_epoch_metrics(tmp_path):
    import tensorflow as tf

    out = tmp_path / "run"
    r = zoo.train("linear_regression", epochs=2, samples=256, output=out, tensorboard=True)
    assert r.paths["tensorboard"] == str(out / "tensorboard")
    tags = {}
    for split in ("train", "validation"):
        (events,) = (out / "tensorboard" / split).glob("events.out.tfevents.*")
        tags[split] = {
            v.tag for e in tf.compat.v1.train.summary_iterator(str(events)) for v in e.summary.value
        }
    assert {"epoch_loss", "epoch_mae"} <= tags["train"]
    assert "epoch_loss" in tags["validation"]


def test_an_npz_validation_split_is_used_unless_a_fraction_is_given(tmp_path):
    rng = np.random.default_rng(0)

    def split(n):
        x = rng.normal(size=(n, 3)).astype("float32")
        return x, x @ np.array([1.0, -2.0, 0.5], dtype="float32")

    (xt, yt), (xv, yv), (xs, ys) = split(200), split(40), split(50)
    path = tmp_path / "data.npz"
    np.savez(path, x_train=xt, y_train=yt, x_val=xv, y_val=yv, x_test=xs, y_test=ys)
    r = zoo.train("linear_regression", str(path), epochs=1)
    assert r.validation == {"source": "the dataset's validation split", "examples": 40}
    r = zoo.train("linear_regression", str(path), epochs=1, val_fraction=0.25)
    assert r.validation == {"source": "0.25 of the training split", "examples": 50}
    np.savez(path, x_train=xt, y_train=yt, x_val=xv, x_test=xs, y_test=ys)
    with pytest.raises(zoo.ZooError, match="x_val without its pair"):
        zoo.train("linear_regression", str(path), epochs=1)


def _wait_for_epoch(path, epoch, proc, limit=300):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(path.read_text())["epoch"] >= epoch:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"no epoch {epoch} checkpoint; the run ended with {proc.poll()}")


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_and_finishes_its_epochs(tmp_path):
    out = tmp_path / "run"
    args = ["train", "mlp", "--samples", "3000", "--epochs", "12", "--output", str(out)]
    proc = _zoo(*args)
    _wait_for_epoch(out / "backup" / "state.json", 2, proc)
    time.sleep(0.3)  # somewhere inside a later epoch, maybe inside a write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    state = json.loads((out / "backup" / "state.json").read_text())
    done = state["epoch"]
    assert 2 <= done < 12 and (out / "backup" / state["weights"]).is_file()
    assert zoo.load_model(out / "last.keras").name == "mlp"  # never half-written

    # Starting over in that folder, or resuming with other settings, is refused: the same
    # command line, in this process (the refusals come before any training).
    again = _in_process(*args)
    assert again.exit_code == 2 and "holds an interrupted run" in again.output
    other = _in_process(*args[:-4], "--epochs", "13", "--output", str(out), "--resume")
    assert other.exit_code == 2 and "config.epochs (was 12, now 13)" in other.output

    resumed = _zoo(*args, "--resume", "--json")
    stdout, stderr = resumed.communicate()
    assert resumed.returncode == 0, stderr
    assert f"Resuming after epoch {done} of 12" in stderr
    result = json.loads(stdout)
    assert result["resumed_from"] == done
    assert [h["epoch"] for h in result["history"]] == list(range(1, 13))
    assert len((out / "history.csv").read_text().splitlines()) == 13
    assert not (out / "backup").exists()
    finished = _in_process(*args, "--resume")
    assert finished.exit_code == 2 and "already finished" in finished.output


def test_strategy_errors_are_one_clear_line(monkeypatch):
    from zoo.errors import DeviceError
    from zoo.runtime import RunConfig

    with pytest.raises(InvalidArgumentError, match="Unknown strategy"):
        RunConfig(strategy="horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InvalidArgumentError, match="needs the TF_CONFIG"):
        zoo.train("linear_regression", samples=64, run=RunConfig(strategy="multi-worker"))
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(InvalidArgumentError, match="not a valid cluster"):
        zoo.train("linear_regression", samples=64, run=RunConfig(strategy="multi_worker"))
    with pytest.raises(DeviceError, match="No TPU found"):
        zoo.train("linear_regression", samples=64, run=RunConfig(strategy="tpu"))
    with pytest.raises(DeviceError, match="sees 0 GPUs"):
        zoo.train("linear_regression", samples=64, run=RunConfig(strategy="mirrored", device="gpu"))


DIST_ARGS = ["train", "mlp", "--samples", "4000", "--epochs", "3", "--seed", "1", "--json"]


@pytest.fixture(scope="module")
def single_device():
    return zoo.train("mlp", samples=4000, epochs=3, seed=1)


@pytest.mark.slow
def test_mirrored_over_two_cpu_devices_matches_one_device(single_device):
    proc = _zoo(*DIST_ARGS, "--strategy", "mirrored", "--cpu-devices", "2")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    r = json.loads(stdout)
    assert r["run"]["strategy"] == "mirrored" and r["run"]["replicas"] == 2
    assert len(r["run"]["replica_devices"]) == 2
    acc = single_device.test_metrics["accuracy"]
    assert abs(r["test_metrics"]["accuracy"] - acc) < 0.03, (r["test_metrics"], acc)


def _free_ports(n):
    import socket

    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_on_two_local_processes_matches_one_device(tmp_path, single_device):
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = [
        _zoo(
            *DIST_ARGS,
            "--strategy",
            "multi-worker",
            "--output",
            str(tmp_path / "run"),
            env={
                "TF_CONFIG": json.dumps(
                    {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
                )
            },
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    chief, other = (json.loads(o[0]) for o in outs)
    assert chief["run"]["replicas"] == 2 and chief["run"]["worker"]["index"] == 0
    assert chief["test_metrics"] == other["test_metrics"]  # one model, trained together
    assert chief["paths"] and not other["paths"]  # only the chief writes the run
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "history.csv",
        "last.keras",
        "model.keras",
        "recipe.toml",
        "result.json",
    ]  # the other worker's folder is gone, and it wrote no recipe.toml of its own
    acc = single_device.test_metrics["accuracy"]
    assert abs(chief["test_metrics"]["accuracy"] - acc) < 0.03, (chief["test_metrics"], acc)


@pytest.mark.slow
def _as_from_a_shell():
    """The child's Ctrl-C as a terminal gives it: SIGINT unblocked and at its default
    disposition. In the full suite a library loaded earlier in the pytest process can leave
    SIGINT blocked in the thread that spawns, and a child inherits the mask (seen in CI:
    the run never heard the signal)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_ctrl_c_swallowed_inside_the_run_is_raised_again_at_the_next_batch_end():
    """zoo train's SIGINT handler raises KeyboardInterrupt as Python's does and notes it:
    where the first is swallowed (raised inside a destructor), the next batch or epoch end
    raises it again. The handler is Python's own again afterwards."""
    from zoo.cli import train as cli_train
    from zoo.cli.views.train import TrainProgress

    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in `zoo train`
    try:
        progress = TrainProgress()
        progress.info = {"epochs": 3, "steps_per_epoch": 10}
        progress.on_batch_end(1, 1, {"loss": 1.0})  # nothing noted: no interrupt
        with cli_train._interrupts_noted(progress):
            ctrl_c = signal.getsignal(signal.SIGINT)
            assert ctrl_c is not signal.default_int_handler
            with pytest.raises(KeyboardInterrupt):
                ctrl_c(signal.SIGINT, None)  # what a Ctrl-C runs; a destructor swallows it
            with pytest.raises(KeyboardInterrupt):
                progress.on_batch_end(1, 2, {"loss": 1.0})
            with pytest.raises(KeyboardInterrupt):
                progress.on_epoch_end(1, {"loss": 1.0, "seconds": 0.1})
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        # A host that handles SIGINT itself keeps its handler.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with cli_train._interrupts_noted(TrainProgress()):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    # Enough epochs that the run is still training when the signal comes (an mlp epoch on
    # 3,000 examples takes about 0.1 s).
    args = ["train", "mlp", "--samples", "3000", "--epochs", "2000", "--output", str(out)]
    proc = _zoo(*args, preexec_fn=_as_from_a_shell)
    _wait_for_epoch(out / "backup" / "state.json", 1, proc)
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # seen once in CI: say what the run printed besides epochs
        proc.kill()
        _, stderr = proc.communicate()
        said = "\n".join(x for x in stderr.splitlines() if not x.startswith("epoch "))
        raise AssertionError(f"the run went on after SIGINT; it printed:\n{said}") from None
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    line = next(x for x in stderr.splitlines() if x.startswith("Interrupted."))
    assert "Continue with: zoo train mlp" in line and line.endswith("--resume")
    state = json.loads((out / "backup" / "state.json").read_text())
    assert f"holds {state['epoch']} of 2000 epochs" in line
    assert zoo.load_model(out / "last.keras").name == "mlp"


def test_the_multi_worker_patch_refuses_a_keras_it_was_not_checked_on(monkeypatch):
    import types

    import keras

    from zoo.runtime import distribute

    def reduce_per_replica(values, strategy, reduction):
        return values

    trainer = types.SimpleNamespace(reduce_per_replica=reduce_per_replica)
    distribute._check_patchable(trainer)  # this Keras, the expected signature: accepted
    monkeypatch.setattr(keras, "__version__", "3.99.0")
    with pytest.raises(InvalidArgumentError, match="this is Keras 3.99.0") as e:
        distribute._check_patchable(trainer)
    assert "keras-team/keras#20585" in str(e.value)
    monkeypatch.setattr(keras, "__version__", "3.15.1")
    with pytest.raises(InvalidArgumentError, match="which has no such function"):
        distribute._check_patchable(types.SimpleNamespace())


def test_a_run_killed_after_its_last_backup_resumes_to_its_trained_model(tmp_path, monkeypatch):
    """Killed between the last epoch's backup and the end of the run: nothing is left to
    fit, and the resumed run reports the trained weights, not a fresh model's."""
    import shutil

    from zoo.training import checkpoint

    out = tmp_path / "run"
    monkeypatch.setattr(checkpoint, "finish", lambda folder: None)  # the kill
    first = zoo.train("mlp", epochs=2, samples=512, output=str(out))
    monkeypatch.undo()
    (out / "result.json").unlink()
    assert json.loads((out / "backup" / "state.json").read_text())["epoch"] == 2
    shutil.copytree(out, tmp_path / "cli")
    accuracy = first.test_metrics["accuracy"]

    resumed = zoo.train("mlp", epochs=2, samples=512, output=str(out), resume=True)
    assert resumed.resumed_from == 2
    assert resumed.test_metrics["accuracy"] == pytest.approx(accuracy)
    cli = _zoo(
        *"train mlp --epochs 2 --samples 512 --resume --json --output".split(),
        str(tmp_path / "cli"),
    )
    stdout, stderr = cli.communicate()
    assert cli.returncode == 0, stderr
    assert json.loads(stdout)["test_metrics"]["accuracy"] == pytest.approx(accuracy)


@pytest.mark.slow  # a process importing TensorFlow and keras-hub: about 10 s
def test_loading_imports_keras_hub_only_for_a_model_that_names_it(tmp_path, mlp_run):
    """keras-hub registers its classes at import, and its import imports TensorFlow (2-3 s
    on another backend): a model file is read for its name first."""
    from zoo.training import checkpoint

    hub = tmp_path / "gpt2.keras"
    zoo.create_model("gpt2_small", **dict(zoo.get_spec("gpt2_small").small)).save(hub)
    assert checkpoint._names_keras_hub(hub)
    assert not checkpoint._names_keras_hub(mlp_run[0] / "model.keras")
    assert checkpoint._names_keras_hub(tmp_path / "missing.keras")  # the load says why
    script = (
        "import sys; from zoo.training import checkpoint; "
        f"checkpoint.load_model({str(mlp_run[0] / 'model.keras')!r}); "
        "print('keras_hub' in sys.modules); "
        f"print(type(checkpoint.load_model({str(hub)!r})).__name__, 'keras_hub' in sys.modules)"
    )
    # In a fresh process: the mlp loads without keras-hub, the hub model with it.
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-2:] == ["False", "Functional True"]
