"""Recipes are data and files: `zoo.Recipe` and `zoo.RunConfig` declare each setting once
(its check beside it), `recipe.toml` in every run folder reruns the run exactly, and a bad
recipe file is one line naming the file, the key and what is allowed."""

from __future__ import annotations

import csv
import dataclasses
import subprocess
import sys

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo import recipe
from zoo.errors import InvalidArgumentError, SuiteError
from zoo.perf import suite as perf_suite

runner = CliRunner()


def _history(folder) -> list[dict]:
    """history.csv without the wall-clock column."""
    with open(folder / "history.csv", encoding="utf-8") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_every_setting_has_its_check_and_help_beside_it():
    for cls in (zoo.Recipe, zoo.RunConfig, recipe.Data):
        for f in dataclasses.fields(cls):
            assert callable(f.metadata["check"]) and f.metadata["help"], f.name
    assert all(isinstance(zoo.get_spec(n).recipe, zoo.Recipe) for n in zoo.list_models())
    with pytest.raises(InvalidArgumentError, match="epochs must be a positive number"):
        zoo.Recipe(epochs=0)
    with pytest.raises(InvalidArgumentError, match="Did you mean learning_rate"):
        zoo.Recipe().replace(learnig_rate=0.1)
    with pytest.raises(InvalidArgumentError, match="zoo.train has no setting 'sample'"):
        zoo.train("mlp", sample=64)  # a data option misspelled: named too
    with pytest.raises(InvalidArgumentError, match="recipe must be a zoo.Recipe"):
        zoo.train("mlp", recipe={"epochs": 1})


def test_a_recipe_file_round_trips_for_every_model():
    odd = zoo.Recipe(learning_rate=1e-5, weight_decay=0.0, model_kwargs={"name": 'a "b"\n'})
    files = [recipe.RecipeFile(n, zoo.get_spec(n).recipe) for n in zoo.list_models()]
    files.append(
        recipe.RecipeFile(
            "mlp",
            odd.replace(model_kwargs={"input_shape": (28, 28, 1)}),
            zoo.RunConfig(jit_compile="auto", threads=2, backend="jax"),
            recipe.Data(samples=64, val_fraction=0.0),
            seed=7,
            target="accuracy=0.9",
            eval_every=5,
            check_from=1.5,
        )
    )
    for f in files:
        assert recipe.loads(recipe.dumps(f)) == f
        assert recipe.loads(recipe.dumps(f, "a comment", explain=True)) == f


@pytest.mark.slow  # two training runs, one in a subprocess
def test_a_run_reruns_exactly_from_its_folder(tmp_path):
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    # In a process of its own: op determinism, once on, stays on (and turns XLA off).
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom zoo.cli.main import app\n"
        "first = ['train', 'mlp', '--epochs', '2', '--seed', '3', '--deterministic']\n"
        f"for argv in (first + ['--samples', '256', '--output', {str(a)!r}],\n"
        f"             ['train', '--recipe', {str(a)!r}, '--output', {str(b)!r}]):\n"
        "    r = CliRunner().invoke(app, argv)\n"
        "    assert r.exit_code == 0, r.output\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _history(a) == _history(b) and len(_history(a)) == 2
    saved = recipe.read(b)
    assert (saved.model, saved.seed, saved.recipe.epochs, saved.data.samples) == ("mlp", 3, 2, 256)
    assert saved.run.deterministic and saved.run.backend == "tensorflow"
    # Options given on the command line go on top of the file.
    argv = ["train", "mlp", "--recipe", str(a), "-p", "hidden_units=8", "--epochs", "1"]
    r = runner.invoke(app, [*argv, "--no-deterministic", "--output", str(c)])
    assert r.exit_code == 0, r.output
    again = recipe.read(c)
    assert again.recipe.model_kwargs == {"hidden_units": 8} and again.recipe.epochs == 1
    assert again.seed == 3 and again.data.samples == 256 and not again.run.deterministic


def test_info_prints_the_default_recipe_ready_to_run(tmp_path):
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom zoo.cli.main import app\n"
        "r = CliRunner().invoke(app, ['info', 'linear_regression', '--recipe'])\n"
        "assert r.exit_code == 0 and 'keras' not in sys.modules, r.output\n"
        "sys.stdout.write(r.stdout)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "lr.toml"
    path.write_text(proc.stdout.replace("epochs = 10", "epochs = 1"), encoding="utf-8")
    spec = zoo.get_spec("linear_regression")
    assert recipe.read(path) == recipe.RecipeFile(spec.name, spec.recipe.replace(epochs=1))
    r = runner.invoke(app, ["train", "--recipe", str(path), "--samples", "64", "--json"])
    assert r.exit_code == 0, r.output
    assert '"epochs": 1' in r.stdout and '"learning_rate": 0.01' in r.stdout


@pytest.mark.parametrize(
    "content, says",
    [
        ('model = "mlp"\n[recipe\n', "not valid TOML"),
        ('model = "mlp"\n[recipe]\nlearnig_rate = 0.1\n', "[recipe] has no setting 'learnig_rate'"),
        ('model = "mlp"\n[recipe]\nepochs = 0\n', "[recipe] epochs: epochs must be a positive"),
        ('model = "mlp"\n[run]\nprecision = "fp8"\n', "Allowed: float32, mixed_float16"),
        ('model = "mlpp"\n', "model: Unknown model 'mlpp'. Did you mean mlp?"),
        ("[recipe]\nepochs = 1\n", "no `model`"),
    ],
)
def test_a_bad_recipe_file_is_one_line_naming_the_file_and_key(tmp_path, content, says):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    r = runner.invoke(app, ["train", "--recipe", str(path)])
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: ") and says in lines[0]


def test_train_needs_a_name_or_a_recipe(tmp_path):
    r = runner.invoke(app, ["train"])
    assert r.exit_code == 2 and "needs a model name, or a --recipe" in r.output
    r = runner.invoke(app, ["train", "--recipe", str(tmp_path)])
    assert r.exit_code == 2 and "has no recipe.toml" in r.output


def test_the_time_to_target_suite_uses_the_recipe_files_tables(tmp_path):
    def case(text: str):
        path = tmp_path / "t.toml"
        path.write_text(f'[suite]\nkind = "target"\n\n[[case]]\nmodel = "mlp"\n{text}\n')
        return perf_suite.load_suite(path)

    (c,) = case(
        'target = "accuracy=0.9"\neval_every = 5\nrecipe = { epochs = 2 }\n'
        "run = { jit_compile = true }\ndata = { samples = 300 }"
    ).cases
    assert c.overrides == {"epochs": 2, "eval_every": 5, "jit_compile": True}
    assert c.samples == 300
    for text, says in (
        ("recipe = { epoch = 2 }", "unknown setting 'epoch'"),
        ("recipe = { epochs = 0 }", "line 7 (mlp): [recipe] epochs: epochs must be a positive"),
        ('data = { folder = "x" }', "unknown data key 'folder'"),
    ):
        with pytest.raises(SuiteError) as e:
            case(f'target = "accuracy=0.9"\n{text}')
        assert says in str(e.value)
