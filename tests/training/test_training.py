"""zoo.train and zoo.evaluate through the Python API: results, files, errors."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import zoo
from zoo import io
from zoo.errors import DataError, InvalidArgumentError, ModelFileError, OutputError


def test_train_returns_history_and_writes_the_run(mlp_run):
    out, result = mlp_run
    assert result.model == "mlp" and len(result.history) == 1
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(result.history[0])
    assert 0 <= result.test_metrics["accuracy"] <= 1
    saved = json.loads((out / "result.json").read_text())
    assert {"model", "dataset", "config", "history", "test_metrics", "env"} <= set(saved)
    assert saved["config"]["epochs"] == 1 and saved["dataset"]["params"]["samples"] == 512
    assert saved["env"]["keras"].startswith("3.") and saved["env"]["device"] == "cpu"
    assert sorted(p.name for p in out.iterdir()) == [
        "history.csv",
        "last.keras",
        "model.keras",
        "recipe.toml",
        "result.json",
    ]  # the training state (backup/) is gone once the run finished
    assert (out / "history.csv").read_text().splitlines()[0].startswith("epoch,")


def test_evaluate_a_run_folder_and_a_keras_file_give_the_training_test_metrics(mlp_run):
    out, result = mlp_run
    for path in (out, out / "model.keras"):
        ev = zoo.evaluate(path, samples=512)
        assert ev.model == "mlp" and ev.num_examples == result.dataset["params"]["samples"] // 5
        assert ev.metrics["accuracy"] == pytest.approx(result.test_metrics["accuracy"])


def test_callbacks_reach_the_progress_object():
    events = []

    class Recorder(zoo.Progress):
        def on_train_begin(self, info):
            events.append(("begin", info["epochs"], info["steps_per_epoch"]))

        def on_batch_end(self, epoch, step, logs):
            events.append(("batch", epoch, step))

        def on_epoch_end(self, epoch, logs):
            events.append(("epoch", epoch, round(logs["seconds"] >= 0)))

    zoo.train("linear_regression", epochs=2, samples=64, batch_size=32, progress=Recorder())
    steps = -(-int(64 * 0.9 + 0.5) // 32)
    assert events[0] == ("begin", 2, steps)
    assert [e for e in events if e[0] == "epoch"] == [("epoch", 1, 1), ("epoch", 2, 1)]
    assert ("batch", 2, steps) in events


def test_same_seed_gives_same_initial_model_and_data():
    a = zoo.train("linear_regression", epochs=1, samples=64, seed=3)
    b = zoo.train("linear_regression", epochs=1, samples=64, seed=3)
    np.testing.assert_allclose(
        a.keras_model.get_weights()[0], b.keras_model.get_weights()[0], rtol=1e-5
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, InvalidArgumentError, "epochs=0"),
        ({"batch_size": -4}, InvalidArgumentError, "batch_size=-4"),
        ({"learning_rate": 0.0}, InvalidArgumentError, "learning_rate=0.0"),
        ({"optimizer": "rmsprop"}, InvalidArgumentError, "Allowed: sgd, adam, adamw"),
        ({"val_fraction": 1.0}, InvalidArgumentError, r"\[0, 1\)"),
        ({"samples": -1}, InvalidArgumentError, "samples=-1"),
        ({"dataset": "imagenet"}, DataError, "Available: synthetic, mnist"),
        ({"dataset": "mnist"}, DataError, "not prepared in .*--download.*zoo data prepare"),
        ({"model_kwargs": {"widht": 3}}, InvalidArgumentError, "Accepted: input_shape"),
    ],
)
def test_bad_settings_fail_before_training(kwargs, error, match, tmp_path):
    with pytest.raises(error, match=match):
        zoo.train(
            "mlp",
            **{"samples": 64, "data_dir": str(tmp_path / "tfds"), **kwargs},
            output=tmp_path / "run",
        )
    assert not (tmp_path / "run" / "model.keras").exists()


def test_model_settings_that_the_data_fixes_are_refused():
    with pytest.raises(InvalidArgumentError, match=r"fixes input_shape=\(49, 40, 1\)"):
        zoo.train("kws_cnn", samples=16, model_kwargs={"input_shape": (20, 20, 1)})


def test_synthetic_data_takes_the_model_shapes():
    r = zoo.train(
        "mlp", epochs=1, samples=64, model_kwargs={"num_classes": 3, "input_shape": (8, 8, 2)}
    )
    assert r.dataset["params"]["num_classes"] == 3 and r.dataset["params"]["channels"] == 2
    assert r.keras_model.output_shape == (None, 3)


def test_output_that_is_a_file_or_unreachable_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        zoo.train("linear_regression", samples=64, output=blocker)
    with pytest.raises(OutputError, match="Cannot write"):
        zoo.train("linear_regression", samples=64, output=blocker / "sub")
    assert blocker.read_text() == "x"


def test_model_kwargs_from_the_user_reach_the_factory():
    r = zoo.train("mlp", epochs=1, samples=64, model_kwargs={"hidden_units": 8, "num_layers": 1})
    assert r.num_params == 784 * 8 + 8 + 8 * 10 + 10
    assert r.config.model_kwargs["hidden_units"] == 8


def _keras_file(tmp_path, model, name="m.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def test_evaluate_refuses_bad_files(tmp_path, mlp_run):
    import keras

    good = mlp_run[0] / "model.keras"
    cases = {
        "missing": tmp_path / "nothing.keras",
        "not_zip": tmp_path / "text.keras",
        "truncated": tmp_path / "cut.keras",
        "garbage_zip": tmp_path / "garbage.keras",
    }
    cases["not_zip"].write_text("hello")
    cases["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with zipfile.ZipFile(cases["garbage_zip"], "w") as z:
        z.writestr("config.json", "{not json")
    for path in cases.values():
        with pytest.raises(ModelFileError):
            zoo.evaluate(path)

    inputs = keras.Input((3,))
    foreign = keras.Model(inputs, keras.layers.Dense(1)(inputs), name="not_in_the_zoo")
    with pytest.raises(ModelFileError, match="not in the zoo"):
        zoo.evaluate(_keras_file(tmp_path, foreign))

    lam = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs), name="mlp")
    with pytest.raises(ModelFileError, match="[Ss]afe|Lambda"):
        zoo.evaluate(_keras_file(tmp_path, lam, "lambda.keras"))


def test_evaluate_on_data_that_does_not_fit_the_model(tmp_path, mlp_run):
    model = mlp_run[0] / "model.keras"
    rng = np.random.default_rng(0)
    small = tmp_path / "small.npz"
    np.savez(
        small,
        x_train=rng.random((4, 8, 8, 1)),
        y_train=np.arange(4),
        x_test=rng.random((2, 8, 8, 1)),
        y_test=np.arange(2),
    )
    with pytest.raises(DataError, match="does not fit the model"):
        zoo.evaluate(model, str(small))
    many = tmp_path / "many.npz"
    np.savez(
        many,
        x_train=rng.random((12, 28, 28, 1)),
        y_train=np.arange(12),
        x_test=rng.random((2, 28, 28, 1)),
        y_test=np.array([0, 11]),
    )
    with pytest.raises(DataError, match="10 classes"):
        zoo.evaluate(model, str(many))


def test_a_bare_model_file_is_evaluated_on_synthetic_data_of_its_shape(tmp_path):
    small = zoo.create_model("mlp", input_shape=(8, 8, 1), num_classes=3)
    result = zoo.evaluate(_keras_file(tmp_path, small))
    assert result.dataset["params"]["image_size"] == 8
    assert result.dataset["params"]["num_classes"] == 3


def test_atomic_json_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "r.json"
    io.write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        io.write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    io.write_json(path, {"a": [float("inf"), float("nan")]})  # not JSON: written as null
    assert json.loads(path.read_text()) == {"a": [None, None]}


def test_the_tf_data_pipeline_batches_shuffles_per_epoch_and_drops_remainders():
    from zoo.data import pipeline

    x = np.arange(10, dtype="float32")[:, None]
    ds = pipeline.make(x, np.arange(10), 4, shuffle=True, seed=1)
    first = [y.numpy().tolist() for _, y in ds]
    second = [y.numpy().tolist() for _, y in ds]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10)) and first != second
    again = [
        y.numpy().tolist() for _, y in pipeline.make(x, np.arange(10), 4, shuffle=True, seed=1)
    ]
    assert again == first
    dropped = pipeline.make({"a": x}, np.arange(10), 4, drop_remainder=True)
    assert [tuple(b["a"].shape) for b, _ in dropped] == [(4, 1), (4, 1)]
    assert dropped.element_spec[0]["a"].shape[0] == 4  # static batch for XLA
    # tf.data's autotuning thread stalled epoch boundaries for seconds (pipeline.py)
    assert ds.options().autotune.enabled is False
    assert dropped.options().autotune.enabled is False


def test_the_train_request_mirrors_the_signature_of_train():
    import dataclasses
    import inspect

    from zoo.recipe import DATA_FIELDS, Data
    from zoo.training import TrainRequest

    params = inspect.signature(zoo.train).parameters
    fields = {f.name: f.default for f in dataclasses.fields(TrainRequest)}
    assert list(fields) == list(params)  # **overrides last: the Recipe and RunConfig fields
    assert params["overrides"].kind is inspect.Parameter.VAR_KEYWORD
    assert all(fields[k] == p.default for k, p in params.items() if p.default is not p.empty)
    # The data options' defaults are the recipe file's [data] defaults.
    assert {k: params[k].default for k in DATA_FIELDS} == dataclasses.asdict(Data())


def test_importing_the_training_package_imports_no_framework():
    import subprocess
    import sys

    code = "import sys, zoo.training\nassert 'keras' not in sys.modules, 'keras'\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_settings_are_checked_with_the_shared_vocabulary_before_any_data():
    with pytest.raises(InvalidArgumentError, match="Allowed: constant, cosine, warmup_cosine"):
        zoo.train("mlp", schedule="linear", samples=64)
    with pytest.raises(InvalidArgumentError, match="clip_norm=-1"):
        zoo.train("mlp", clip_norm=-1, samples=64)
    with pytest.raises(InvalidArgumentError, match="early_stopping=True"):
        zoo.train("mlp", early_stopping=True, samples=64)
