"""The bad-input matrix: every way users get the CLI and the API wrong gets one clear
message, exit code 2 for usage errors and 1 for the rest, no traceback, and nothing
half-written in --output."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo.errors import DataError, InvalidArgumentError, ModelFileError, UnknownModelError


@pytest.fixture(scope="module")
def files(tmp_path_factory, mlp_run):
    """Broken data, model and suite files, written once."""
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    img = rng.random((20, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 3, 20)

    def npz(name, **arrays):
        np.savez(d / name, **arrays)
        return str(d / name)

    paths = {
        "missing_keys": npz("missing_keys.npz", x_train=img, y_train=labels),
        "wrong_rank": npz(
            "wrong_rank.npz", x_train=img[..., 0], y_train=labels, x_test=img[..., 0], y_test=labels
        ),
        "label_range": npz(
            "label_range.npz", x_train=img, y_train=labels, x_test=img, y_test=labels + 5
        ),
        "nan": npz(
            "nan.npz",
            x_train=np.where(img > 0.9, np.nan, img),
            y_train=labels,
            x_test=img,
            y_test=labels,
        ),
        "empty": npz("empty.npz", x_train=img[:0], y_train=labels[:0], x_test=img, y_test=labels),
        "text_x": npz(
            "text_x.npz",
            x_train=np.array(["a"] * 20).reshape(20, 1, 1, 1),
            y_train=labels,
            x_test=img,
            y_test=labels,
        ),
    }
    (d / "no_rating.csv").write_text("user,item\n1,2\n3,4\n")
    (d / "bad_rating.csv").write_text("user,item,rating\n1,2,4\n3,4,five\n")
    (d / "corrupt.keras").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    (d / "not_zip.keras").write_text("hello")
    good = (mlp_run[0] / "model.keras").read_bytes()
    (d / "truncated.keras").write_bytes(good[: len(good) // 2])
    with zipfile.ZipFile(d / "empty_zip.keras", "w") as z:
        z.writestr("nothing.txt", "")
    (d / "syntax.toml").write_text("[suite\nname = 1\n")
    (d / "field.toml").write_text('[[case]]\nmodel = "mlp"\ncolour = "red"\n')
    (d / "model.toml").write_text('[[case]]\nmodel = "no_such_model"\n')
    (d / "mode.toml").write_text('[[case]]\nmodel = "mlp"\nmodes = ["turbo"]\n')
    (d / "batch.toml").write_text('[[case]]\nmodel = "mlp"\nbatch_sizes = [0]\n')
    (d / "a_file").write_text("x")
    (d / "results.jsonl").write_text('{"case": "x", "repeat": 0}\n')
    (d / "torn.jsonl").write_text("{not json\n")
    paths["other_shape"] = npz(
        "other_shape.npz", x_train=img, y_train=labels, x_test=img, y_test=labels
    )
    paths.update({p.name.replace(".", "_"): str(p) for p in d.iterdir()})
    paths.update({p.stem: str(p) for p in d.iterdir() if p.suffix != ".keras"})
    paths["run"] = str(mlp_run[0])
    paths["dir"] = str(d)
    return paths


# (case id, argv with {placeholders} from `files`, exit code, a phrase of the message)
CLI_CASES = [
    ("unknown model", ["train", "nope"], 2, "Unknown model 'nope'"),
    ("close model name", ["info", "seed_cn"], 2, "Did you mean seed_cnn"),
    ("unknown family", ["list", "--family", "nope"], 2, "Unknown family"),
    ("unknown task", ["list", "--task", "nope"], 2, "Unknown task"),
    ("unknown dataset", ["train", "mlp", "--dataset", "imagenet"], 1, "has no dataset"),
    ("zero epochs", ["train", "mlp", "--epochs", "0"], 2, "--epochs"),
    ("negative epochs", ["train", "mlp", "--epochs", "-3"], 2, "--epochs"),
    ("epochs not a number", ["train", "mlp", "--epochs", "three"], 2, "--epochs"),
    ("zero batch size", ["train", "mlp", "--batch-size", "0"], 2, "--batch-size"),
    ("zero learning rate", ["train", "mlp", "--learning-rate", "0"], 2, "learning_rate"),
    ("negative learning rate", ["train", "mlp", "--learning-rate", "-1"], 2, "learning_rate"),
    ("learning rate a word", ["train", "mlp", "--learning-rate", "fast"], 2, "--learning-rate"),
    ("val fraction 1.5", ["train", "mlp", "--val-fraction", "1.5"], 2, "val_fraction"),
    ("unknown optimizer", ["train", "mlp", "--optimizer", "rmsprop"], 2, "--optimizer"),
    ("unknown precision", ["train", "mlp", "--precision", "float8"], 2, "--precision"),
    ("unknown schedule", ["train", "mlp", "--schedule", "step"], 2, "--schedule"),
    ("unknown device", ["train", "mlp", "--device", "npu"], 2, "Unknown device"),
    ("absent GPU", ["train", "mlp", "--device", "gpu"], 1, "sees 0 GPU"),
    ("zero threads", ["train", "mlp", "--threads", "0"], 2, "--threads"),
    ("unknown hyper-parameter", ["train", "mlp", "-p", "depth=3"], 2, "depth"),
    ("bad hyper-parameter value", ["train", "mlp", "-p", "hidden_units=-4"], 2, "hidden_units"),
    ("param without =", ["train", "mlp", "-p", "hidden_units"], 2, "KEY=VALUE"),
    ("negative val fraction", ["train", "mlp", "--val-fraction", "-0.1"], 2, "val_fraction"),
    ("resume without output", ["train", "mlp", "--resume"], 2, "needs an output"),
    ("misspelt preset", ["train", "--recipe", "fast-fashion-mnst"], 2, "'fast-fashion-mnist'"),
    ("missing recipe file", ["train", "--recipe", "nope.toml"], 2, "No recipe file at nope.toml"),
    ("tensorboard without output", ["train", "mlp", "--tensorboard"], 2, "needs an output"),
    ("unknown strategy", ["train", "mlp", "--strategy", "horovod"], 2, "--strategy"),
    (
        "multi-worker without TF_CONFIG",
        ["train", "mlp", "--strategy", "multi-worker"],
        2,
        "TF_CONFIG",
    ),
    ("no TPU", ["train", "mlp", "--strategy", "tpu"], 1, "No TPU found"),
    ("output is a file", ["train", "mlp", "--output", "{a_file}"], 1, "is a file"),
    ("output unwritable", ["train", "mlp", "--output", "/proc/zoo-run"], 1, "Cannot write"),
    ("npz missing keys", ["train", "seed_cnn", "--dataset", "{missing_keys}"], 1, "missing key"),
    ("npz wrong rank", ["train", "seed_cnn", "--dataset", "{wrong_rank}"], 1, "rank"),
    ("npz labels out of range", ["train", "seed_cnn", "--dataset", "{label_range}"], 1, "label"),
    ("npz NaN values", ["train", "seed_cnn", "--dataset", "{nan}"], 1, "NaN"),
    ("npz empty split", ["train", "seed_cnn", "--dataset", "{empty}"], 1, "empty"),
    ("npz strings", ["train", "seed_cnn", "--dataset", "{text_x}"], 1, "not numeric"),
    ("missing data file", ["train", "seed_cnn", "--dataset", "nope.npz"], 1, "nope.npz"),
    ("csv without rating", ["train", "ncf", "--dataset", "{no_rating}"], 1, "rating"),
    ("csv word rating", ["train", "ncf", "--dataset", "{bad_rating}"], 1, "five"),
    ("npz for a recommender", ["train", "ncf", "--dataset", "{nan}"], 1, "ratings .csv"),
    ("corrupt .keras", ["evaluate", "{corrupt_keras}"], 1, "corrupt.keras"),
    ("not a zip .keras", ["evaluate", "{not_zip_keras}"], 1, "not a zip"),
    ("truncated .keras", ["evaluate", "{truncated_keras}"], 1, "truncated.keras"),
    ("zip of something else", ["evaluate", "{empty_zip_keras}"], 1, "Cannot load"),
    ("missing model file", ["evaluate", "/nonexistent/model.keras"], 1, "does not exist"),
    (
        "data of another shape",
        ["evaluate", "{run}", "--dataset", "{other_shape}"],
        1,
        "does not fit",
    ),
    ("generate with a classifier", ["generate", "{run}"], 1, "language model"),
    ("unknown suite", ["bench", "--suite", "quik"], 1, "Unknown suite"),
    ("suite not TOML", ["bench", "--suite", "{syntax}"], 1, "not valid TOML"),
    ("suite unknown field", ["bench", "--suite", "{field}"], 1, "unknown field 'colour'"),
    ("suite unknown model", ["bench", "--suite", "{model}"], 1, "no_such_model"),
    ("suite unknown mode", ["bench", "--suite", "{mode}"], 1, "unknown mode"),
    ("suite zero batch", ["bench", "--suite", "{batch}"], 1, "positive integers"),
    ("results exist", ["bench", "--suite", "quick", "--output", "{results}"], 1, "exists"),
    ("compare a missing file", ["compare", "/nonexistent.jsonl", "{results}"], 2, "No results"),
    ("compare a torn file", ["compare", "{torn}", "{results}"], 2, "not a JSON record"),
    ("parity param without =", ["parity", "mlp", "-p", "hidden_units"], 2, "KEY=VALUE"),
    ("parity unknown hyper-parameter", ["parity", "mlp", "-p", "depth=3"], 2, "depth"),
    # Refused by the factory before any backend runs, not once per backend.
    ("parity bad hyper-parameter value", ["parity", "mlp", "-p", "hidden_units=-4"], 2, "-4"),
    ("negative seed", ["train", "mlp", "--seed", "-1"], 2, "seed must be an integer from 0"),
    ("seed past numpy's", ["train", "mlp", "--seed", str(2**32)], 2, "2**32 - 1"),
    ("tune negative seed", ["tune", "mlp", "--target", "accuracy=0.5", "--seed", "-1"], 2, "-1"),
    ("evaluate negative seed", ["evaluate", "{run}", "--seed", "-3"], 2, "received: seed=-3"),
    ("profile unknown mode", ["profile", "mlp", "--mode", "turbo"], 2, "--mode"),
    ("profile zero steps", ["profile", "mlp", "--steps", "0"], 2, "--steps"),
    ("pipeline without data", ["profile", "mlp", "--mode", "pipeline"], 2, "dataset"),
    ("peak unknown dtype", ["peak", "--dtype", "int4"], 2, "--dtype"),
    ("prepare unknown dataset", ["data", "prepare", "imagenet", "--from", "{dir}"], 2, "imagenet"),
    (
        "prepare from nothing",
        ["data", "prepare", "mnist", "--from", "/nonexistent"],
        1,
        "nonexistent",
    ),
]


@pytest.mark.parametrize(
    "argv, code, phrase", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_bad_input_is_one_clear_message(files, tmp_path, argv, code, phrase):
    argv = [a.format(**files) for a in argv]
    out = tmp_path / "out"
    if argv[0] == "train" and not {"--output", "--resume", "--tensorboard"} & set(argv):
        argv += ["--output", str(out)]
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == code, r.output
    assert phrase in r.output, r.output
    assert (
        "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    )
    if not phrase.startswith("--") and "Usage:" not in r.output:  # ours, not Typer's
        lines = [line for line in r.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    assert not out.exists()  # nothing half-written


API_CASES = [
    ("unknown model", lambda: zoo.create_model("nope"), UnknownModelError, "nope"),
    ("unknown override", lambda: zoo.create_model("mlp", depth=3), InvalidArgumentError, "depth"),
    ("epochs as text", lambda: zoo.train("mlp", epochs="3"), InvalidArgumentError, "epochs"),
    ("epochs a bool", lambda: zoo.train("mlp", epochs=True), InvalidArgumentError, "epochs"),
    ("batch float", lambda: zoo.train("mlp", batch_size=1.5), InvalidArgumentError, "batch_size"),
    ("lr negative", lambda: zoo.train("mlp", learning_rate=-1), InvalidArgumentError, "learning"),
    ("val bool", lambda: zoo.train("mlp", val_fraction=True), InvalidArgumentError, "val_fraction"),
    ("samples zero", lambda: zoo.train("mlp", samples=0), InvalidArgumentError, "samples"),
    ("clip negative", lambda: zoo.train("mlp", clip_norm=-1.0), InvalidArgumentError, "clip_norm"),
    ("unknown task", lambda: zoo.load_dataset("painting"), InvalidArgumentError, "painting"),
    ("evaluate nothing", lambda: zoo.evaluate("/nonexistent"), ModelFileError, "No model file"),
    ("steps zero", lambda: zoo.perf.profile.profile("mlp", steps=0), InvalidArgumentError, "steps"),
    ("seed a bool", lambda: zoo.train("mlp", seed=True), InvalidArgumentError, "seed=True"),
    ("seed negative", lambda: zoo.train("mlp", seed=np.int64(-2)), InvalidArgumentError, "seed"),
]


@pytest.mark.parametrize(
    "call, error, phrase", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_bad_input_raises_a_zoo_error(call, error, phrase):
    import zoo.perf.profile  # noqa: F401

    with pytest.raises(error, match=phrase):
        call()


def test_run_config_refuses_bad_values():
    from zoo.runtime import RunConfig

    for kwargs in (
        {"precision": "float8"},
        {"threads": 0},
        {"jit_compile": "yes"},
        {"strategy": "horovod"},
        {"cpu_devices": -1},
    ):
        with pytest.raises(InvalidArgumentError):
            RunConfig(**kwargs)


def test_the_matrix_is_at_least_forty_cases():
    assert len(CLI_CASES) + len(API_CASES) + 5 >= 40
    assert len({c[0] for c in CLI_CASES}) == len(CLI_CASES)


def test_a_dataset_error_names_the_file(files):
    with pytest.raises(DataError, match="label_range.npz"):
        zoo.train("seed_cnn", files["label_range"])
