"""What users expect of any command line: --version, `python -m zoo`, shell completion, and
--json on `zoo generate` and `zoo data prepare` (one JSON object on stdout)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from tests.data.test_real_data import _cifar_python_tarball
from tests.test_generation import SMALL


def test_version():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0, r.output
    assert r.stdout == f"zoo {zoo.__version__}\n"


def test_python_m_zoo_is_the_same_command():
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "zoo", *args], capture_output=True, text=True, timeout=120
        )

    version, helped = run("--version"), run("--help")
    assert version.returncode == 0 and version.stdout == f"zoo {zoo.__version__}\n"
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: zoo ") and "generate" in helped.stdout


def test_shell_completion(monkeypatch):
    assert "--install-completion" in CliRunner().invoke(app, ["--help"]).stdout
    # Typer detects the user's shell; this variable makes it take the shell as an argument.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    r = CliRunner().invoke(app, ["--show-completion", "bash"])
    assert r.exit_code == 0 and "_ZOO_COMPLETE=complete_bash" in r.stdout, r.output
    # What the installed script asks for when the user presses Tab after `zoo tr`.
    env = {"_ZOO_COMPLETE": "complete_bash", "COMP_WORDS": "zoo tr", "COMP_CWORD": "1"}
    r = CliRunner().invoke(app, [], prog_name="zoo", env=env)
    assert r.exit_code == 0 and r.stdout.split() == ["train"], r.output


@pytest.fixture(scope="module")
def lm_file(tmp_path_factory):
    """An untrained tiny language model: sampling needs weights, not good ones."""
    path = tmp_path_factory.mktemp("lm") / "gpt.keras"
    zoo.create_model("gpt_tiny", **SMALL).save(path)
    return path


def test_generate_json_holds_what_the_terminal_shows(lm_file):
    argv = ["generate", str(lm_file), "--prompt", "1 2", "--length", "5", "--top-k", "3"]
    shown = CliRunner().invoke(app, argv)
    r = CliRunner().invoke(app, [*argv, "--json"])
    assert r.exit_code == 0 == shown.exit_code, r.output
    record = json.loads(r.stdout)
    assert record["prompt"] == [1, 2] and len(record["generated"]) == 5
    assert record["output"] == [1, 2, *record["generated"]]
    assert " ".join(map(str, record["output"])) == shown.stdout.strip()
    assert (record["length"], record["top_k"], record["seed"]) == (5, 3, 0)


def test_data_prepare_json(tmp_path):
    _cifar_python_tarball(tmp_path / "cifar-10-python.tar.gz", 2, np.random.default_rng(0))
    data_dir = str(tmp_path / "tfds")
    argv = ["data", "prepare", "cifar10", "--from", str(tmp_path), "--data-dir", data_dir]
    r = CliRunner().invoke(app, [*argv, "--json"])
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout)  # the whole of stdout: the progress went to stderr
    assert record["dataset"] == "cifar10" and record["path"].startswith(data_dir)
    assert record["bytes"] > 0
    assert record["train"] == f"zoo train seed_cnn --dataset cifar10 --data-dir {data_dir}"


@pytest.mark.parametrize(
    "backend, hint",
    [("tensorflow", "pip install tensorflow"), ("jax", "pip install 'keras-zoo[jax]'")],
)
def test_a_missing_backend_names_what_installs_it(monkeypatch, backend, hint):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == backend else find_spec(n, *a)
    )
    r = CliRunner().invoke(app, ["train", "mlp", "--backend", backend])
    assert r.exit_code == 2 and hint in r.output, r.output


@pytest.mark.parametrize("interrupted", [True, False])
def test_an_error_that_comes_out_of_ctrl_c_is_the_interruption(monkeypatch, interrupted):
    """Ctrl-C raises KeyboardInterrupt in whatever frame runs; from a frame that
    TensorFlow's C++ called, another error may come out (a SystemError, seen once in
    the daemon's Ctrl-C test). After Ctrl-C it is the interruption: exit 130, one line.
    Without Ctrl-C it is a bug, and stays one."""

    def train(*args, progress, **kwargs):
        progress.interrupted = interrupted
        raise SystemError("Objects/listobject.c:338: bad argument to internal function")

    monkeypatch.setattr(zoo, "train", train)
    r = CliRunner().invoke(app, ["train", "linear_regression"])
    assert (r.exit_code == 130) is interrupted
    assert ("Interrupted before anything was saved" in r.output) is interrupted
    assert isinstance(r.exception, SystemError) is not interrupted
