"""`import zoo`, `zoo.list_models()`, `zoo --help`, `zoo list`, `zoo --version` and
`zoo --show-completion` import no framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("tensorflow", "keras", "jax", "torch", "tensorflow_datasets")

CHECK = f"""
import sys
heavy = [m for m in {HEAVY!r} if m in sys.modules]
assert not heavy, heavy
"""


def run(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_import_zoo_and_list_models_import_no_framework():
    run(
        "import zoo\nzoo.list_models(family='cnn')\nzoo.get_spec('seed_cnn')\n"
        "zoo.list_models(task='regression')\nzoo.list_presets()\n" + CHECK
    )


def test_cli_help_list_version_and_completion_import_no_framework():
    # The variable makes Typer take the shell as an argument instead of detecting it.
    run(
        "import os\n"
        "os.environ['_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION'] = '1'\n"
        "from typer.testing import CliRunner\n"
        "from zoo.cli.main import app\n"
        "for args in (['--help'], ['list'], ['list', '--json'], ['list', '--recipes'],\n"
        "             ['train', '--help'],\n"
        "             ['--version'], ['--show-completion', 'bash']):\n"
        "    r = CliRunner().invoke(app, args)\n"
        "    assert r.exit_code == 0 and r.stdout, (args, r.output)\n" + CHECK
    )


def test_create_model_does_import_keras():
    out = run(
        "import sys, zoo\nzoo.create_model('linear_regression')\nprint('keras' in sys.modules)"
    )
    assert out.strip().endswith("True")


def test_the_cli_imports_tensorflow_without_jax_and_matplotlib_which_import_later():
    # Both are installed with the test extras; TensorFlow's import would pull them in.
    out = run(
        "import sys\n"
        "from zoo.cli import _keras\n"
        "_keras.import_quietly()\n"
        "names = ('tensorflow', 'keras', 'jax', 'matplotlib')\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
        "import jax.numpy, matplotlib.pyplot\n"
        "print(jax.numpy.ones(2).sum(), matplotlib.pyplot.figure() is not None)\n"
    )
    assert out.splitlines() == ["['keras', 'tensorflow']", "2.0 True"]


@pytest.mark.parametrize("how", ["variable", "keras.json"])
def test_the_jax_backend_keeps_jax_in_the_cli_import(how, tmp_path):
    # Keras reads the backend from KERAS_BACKEND, else from KERAS_HOME/keras.json.
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    setting = (
        "os.environ['KERAS_BACKEND'] = 'jax'\n"
        if how == "variable"
        else "os.environ.pop('KERAS_BACKEND', None)\n"
        f"os.environ['KERAS_HOME'] = {str(tmp_path)!r}\n"
    )
    out = run(
        "import os, sys\n" + setting + "from zoo.cli import _keras\n"
        "_keras.import_quietly()\n"
        "import keras\n"
        "print(keras.backend.backend(), 'jax' in sys.modules)\n"
    )
    assert out.split() == ["jax", "True"]
