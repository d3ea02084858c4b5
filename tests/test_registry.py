"""The registry: listing, filtering, errors, duplicate registration, plugins."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import zoo
from zoo.errors import InvalidArgumentError, RegistryError, UnknownModelError
from zoo.registry import ModelSpec

BUILTIN = [
    "linear_regression",
    "lstm_classifier",
    "matrix_factorization",
    "mlp",
    "seed_cnn",
    "transformer_classifier",
]


def test_list_models_is_sorted_and_covers_every_family():
    names = zoo.list_models()
    assert set(BUILTIN) <= set(names) and len(names) >= 20
    assert names == sorted(names)
    families = {zoo.get_spec(n).family for n in names}
    assert families == {
        "linear",
        "mlp",
        "cnn",
        "rnn",
        "transformer",
        "recommender",
        "applications",
        "hub",
        "bag",
    }
    assert families == set(zoo.families())


def test_every_model_names_a_known_task_and_a_factory_module_in_the_zoo():
    for name in zoo.list_models():
        spec = zoo.get_spec(name)
        assert spec.task in zoo.tasks.TASKS
        assert (
            spec.factory.startswith(f"zoo.models.{spec.family}:")
            or spec.family in ("linear", "mlp")
            or spec.factory.split(":")[0].startswith("zoo.models.")
        )
        assert spec.summary and spec.reference


def test_filters():
    assert zoo.list_models("*lstm*") == [
        "bilstm_classifier", "convlstm_video", "lstm_classifier", "lstm_forecaster"
    ]  # fmt: skip
    assert zoo.list_models(family="cnn") == [
        "centernet_tiny",
        "conv2plus1d_video",
        "fast_cnn",
        "keras_convnet",
        "kws_cnn",
        "resnet20",
        "seed_cnn",
        "unet",
    ]
    assert zoo.list_models(task="translation") == ["transformer_seq2seq"]
    # every task has two models or more: one of keras.layers, one of keras-hub
    for task in ("summarization", "speech_recognition", "object_detection"):
        names = zoo.list_models(task=task)
        families = {zoo.get_spec(n).family for n in names}
        assert len(names) >= 2 and "hub" in families and families - {"hub"}, task
    assert zoo.list_models(tag="seed") == ["linear_regression", "mlp", "seed_cnn", "simple_rnn"]
    assert zoo.list_models(["mlp", "seed_*"]) == ["mlp", "seed_cnn"]
    assert zoo.list_models("*", exclude="*classifier", family="rnn") == [
        "convlstm_video",
        "ctc_speech",
        "lstm_forecaster",
        "simple_rnn",
    ]


def test_natural_sort(monkeypatch):
    from zoo import registry

    for n in ("net10", "net2", "net1"):
        monkeypatch.setitem(registry._REGISTRY, n, ModelSpec(n, "cnn", "regression", "", "m:f"))
    assert zoo.list_models("net*") == ["net1", "net2", "net10"]


@pytest.mark.parametrize("kind", ["family", "task"])
def test_unknown_filter_value_is_an_error_listing_allowed_values(kind):
    with pytest.raises(InvalidArgumentError, match=f"Unknown {kind} 'nope'. Allowed: "):
        zoo.list_models(**{kind: "nope"})


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownModelError) as e:
        zoo.get_spec("seed_cn")
    assert "Did you mean seed_cnn," in str(e.value)
    with pytest.raises(UnknownModelError, match="See `zoo list`"):
        zoo.create_model("qqqqqq")


def test_unknown_override_lists_accepted_ones():
    with pytest.raises(InvalidArgumentError) as e:
        zoo.create_model("mlp", hidden_unit=3)
    assert "'hidden_unit'" in str(e.value) and "hidden_units" in str(e.value)


def test_duplicate_registration_is_refused():
    spec = zoo.get_spec("mlp")
    with pytest.raises(RegistryError, match="already registered"):
        zoo.register(spec)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"name": "Bad-Name"}, "lower_snake_case"), ({"factory": "nocolon"}, "module:function")],
)
def test_spec_validation(kwargs, match):
    base = dict(name="ok", family="mlp", task="regression", summary="", factory="m:f")
    with pytest.raises(RegistryError, match=match):
        ModelSpec(**{**base, **kwargs})


def test_spec_defaults_are_read_only():
    with pytest.raises(TypeError):
        zoo.get_spec("mlp").defaults["hidden_units"] = 1


def _install_fake_plugin(root, body: str, name="zoo_fake_plugin"):
    dist = root / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[keras_zoo.models]\nfake = {name}:MODELS\n")
    (root / f"{name}.py").write_text(textwrap.dedent(body))


def _run(code, root):
    env_path = f"{root}"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": env_path},
        timeout=300,
    )


def test_entry_point_plugin_appears_in_zoo_list_and_builds(tmp_path):
    _install_fake_plugin(
        tmp_path,
        """
        from zoo.registry import ModelSpec

        def tiny(num_features=3):
            import keras
            inputs = keras.Input((num_features,))
            return keras.Model(inputs, keras.layers.Dense(1)(inputs), name="plugin_linear")

        MODELS = [ModelSpec(name="plugin_linear", family="linear", task="regression",
                            summary="From a plugin.", factory="zoo_fake_plugin:tiny",
                            defaults={"num_features": 3})]
        """,
    )
    code = (
        "import json, zoo\n"
        "from typer.testing import CliRunner\n"
        "from zoo.cli.main import app\n"
        "r = CliRunner().invoke(app, ['list', '--json'])\n"
        "names = [m['name'] for m in json.loads(r.stdout)]\n"
        "m = zoo.create_model('plugin_linear')\n"
        "print(json.dumps({'names': names, 'params': m.count_params()}))\n"
    )
    proc = _run(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "plugin_linear" in out["names"] and "seed_cnn" in out["names"]
    assert out["params"] == 4


def test_broken_plugin_does_not_break_zoo_list(tmp_path):
    _install_fake_plugin(tmp_path, "raise RuntimeError('boom')\n")
    code = (
        "from typer.testing import CliRunner\n"
        "from zoo.cli.main import app\n"
        "r = CliRunner().invoke(app, ['list'])\n"
        "print(r.exit_code)\n"
        "print(r.output)\n"
    )
    proc = _run(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "0"
    assert "a plugin failed to load" in proc.stdout and "boom" in proc.stdout
    assert "seed_cnn" in proc.stdout
