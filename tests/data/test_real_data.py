"""Real data without the network: TFDS loaders under tfds.testing.mock_data, offline
preparation from original files, and the user's own .npz, .csv and folders."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo.errors import DataError, InvalidArgumentError

tfds = pytest.importorskip("tensorflow_datasets")

FASHION = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


@pytest.mark.parametrize(
    "task, name, x_shape, kwargs",
    [
        ("image_classification", "mnist", (28, 28, 1), {"num_classes": 10}),
        ("image_classification", "fashion_mnist", (28, 28, 1), {"num_classes": 10}),
        ("image_classification", "cifar10", (32, 32, 3), {"num_classes": 10}),
        ("text_classification", "imdb_reviews", (256,), {"num_classes": 2}),
        ("audio_classification", "speech_commands", (49, 40, 1), {"num_classes": 12}),
        ("language_modeling", "tiny_shakespeare", (16,), {"sequence_length": 16}),
    ],
)
def test_tfds_loaders_shape_the_data_for_the_task(task, name, x_shape, kwargs):
    with tfds.testing.mock_data(num_examples=64):
        data = zoo.load_dataset(task, name, hints={"sequence_length": 16})
    assert data.x_train.shape[1:] == x_shape and data.x_test.shape[1:] == x_shape
    assert len(data.x_train) == len(data.y_train) > 0
    assert data.model_kwargs.items() >= kwargs.items()
    assert np.isfinite(data.x_train).all()
    if task == "image_classification":
        assert 0 <= data.x_train.min() and data.x_train.max() <= 1
    if name in ("speech_commands", "tiny_shakespeare"):  # their own validation split
        assert data.x_val.shape[1:] == x_shape and data.num_val == len(data.x_val) > 0
    else:
        assert data.x_val is None
    if task == "language_modeling":
        np.testing.assert_array_equal(data.x_train[:, 1:], data.y_train[:, :-1])
        assert data.vocabulary and len(data.vocabulary) == data.model_kwargs["vocab_size"]


@pytest.mark.parametrize("task", ["rating_prediction", "retrieval"])
def test_movielens_ids_are_reindexed_and_split(task):
    with tfds.testing.mock_data(num_examples=2000):
        data = zoo.load_dataset(task, "movielens/100k-ratings", test_fraction=0.2)
    n_users, n_items = data.model_kwargs["num_users"], data.model_kwargs["num_items"]
    for x in (data.x_train, data.x_test):
        assert x["user"].max() < n_users and x["item"].max() < n_items
    if task == "retrieval":
        assert len(data.y_test) % 256 == 0
        np.testing.assert_array_equal(data.y_train, data.x_train["item"])


def test_samples_caps_a_real_training_split():
    with tfds.testing.mock_data(num_examples=100):
        data = zoo.load_dataset("image_classification", "mnist", samples=30)
    assert len(data.y_train) == 30 and len(data.y_test) == 100


def test_a_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as e:
        zoo.load_dataset("image_classification", "cifar10", data_dir=str(tmp_path))
    message = str(e.value)
    assert "cifar10 is not prepared" in message and "--download" in message
    assert "zoo data prepare cifar10 --from DIR" in message


def test_train_on_a_mocked_real_dataset_records_it(tmp_path):
    class Sizes(zoo.Progress):
        def on_train_begin(self, info):
            self.info = info

        def on_evaluate_begin(self, num_examples):
            self.evaluated = num_examples

    sizes = Sizes()
    with tfds.testing.mock_data(num_examples=96):
        result = zoo.train("keras_convnet", "mnist", epochs=1, output=tmp_path, progress=sizes)
    # mock_data gives each split 96 random examples; mnist has no validation split, so
    # 0.1 of the training split (10 examples) validates and 86 train.
    assert result.dataset["name"] == "mnist" and result.dataset["task"] == "image_classification"
    assert result.validation == {"source": "0.1 of the training split", "examples": 10}
    info = sizes.info
    assert (info["dataset"], info["num_train"], info["num_val"], info["num_test"]) == (
        "mnist",
        86,
        10,
        96,
    )
    assert sizes.evaluated == 96
    # Random labels: no threshold, but a real accuracy over the 96 mocked test examples.
    accuracy = result.test_metrics["accuracy"]
    assert np.isfinite(accuracy) and 0 <= accuracy <= 1
    assert abs(accuracy * 96 - round(accuracy * 96)) < 1e-3
    saved = json.loads(Path(result.paths["result"]).read_text())
    assert saved["dataset"]["name"] == "mnist" and saved["test_metrics"] == pytest.approx(
        result.test_metrics
    )


def _write_idx(folder: Path, prefix: str, n: int, rng, gz: bool):
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    blobs = {
        f"{prefix}-images-idx3-ubyte": b"\0\0\x08\x03"
        + n.to_bytes(4, "big")
        + (28).to_bytes(4, "big") * 2
        + images.tobytes(),
        f"{prefix}-labels-idx1-ubyte": b"\0\0\x08\x01" + n.to_bytes(4, "big") + labels.tobytes(),
    }
    for name, blob in blobs.items():
        if gz:
            with gzip.open(folder / f"{name}.gz", "wb") as f:
                f.write(blob)
        else:
            (folder / name).write_bytes(blob)
    return labels


@pytest.mark.slow
def test_prepare_fashion_mnist_from_the_original_files_then_train(tmp_path, monkeypatch):
    if FASHION.is_dir():
        source = FASHION  # the real files, gzipped by Debian (other checksums than TFDS's)
    else:
        source = tmp_path / "idx"
        source.mkdir()
        rng = np.random.default_rng(0)
        _write_idx(source, "train", 60000, rng, gz=True)
        _write_idx(source, "t10k", 10000, rng, gz=True)
    from zoo.data import prepare

    data_dir = str(tmp_path / "tfds")
    prepare.prepare("fashion_mnist", source, data_dir)
    assert prepare.status("fashion_mnist", data_dir)["prepared"]
    ds = tfds.load("fashion_mnist", split="test", data_dir=data_dir, download=False)
    assert int(ds.cardinality()) == 10000
    data = zoo.load_dataset("image_classification", "fashion_mnist", data_dir=data_dir, samples=512)
    assert data.x_train.shape == (512, 28, 28, 1) and len(data.y_test) == 10000
    # A full read is cached decoded (zoo.data.decoded); the next read gives the same arrays.
    from zoo.data import decoded

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    full = zoo.load_dataset("image_classification", "fashion_mnist", data_dir=data_dir)
    key = decoded.fingerprint(prepare.status("fashion_mnist", data_dir)["path"])
    assert key is not None and decoded.path("fashion_mnist", key).is_file()
    again = zoo.load_dataset("image_classification", "fashion_mnist", data_dir=data_dir)
    assert np.array_equal(full.x_train, again.x_train) and np.array_equal(full.y_test, again.y_test)
    assert np.array_equal(full.x_train[:512], data.x_train)  # the cap is the same first rows


@pytest.mark.slow
def test_prepare_mnist_from_uncompressed_idx_files_keeps_the_labels(tmp_path):
    rng = np.random.default_rng(1)
    _write_idx(tmp_path, "train", 60000, rng, gz=False)
    test_labels = _write_idx(tmp_path, "t10k", 10000, rng, gz=False)
    from zoo.data import prepare

    prepare.prepare("mnist", tmp_path, str(tmp_path / "tfds"))
    data = zoo.load_dataset(
        "image_classification", "mnist", data_dir=str(tmp_path / "tfds"), samples=16
    )
    assert sorted(np.bincount(data.y_test, minlength=10)) == sorted(
        np.bincount(test_labels, minlength=10)
    )


def _cifar_python_tarball(path: Path, per_batch: int, rng):
    with tarfile.open(path, "w:gz") as tar:

        def add(name, obj):
            blob = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            add(
                name,
                {
                    b"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
                    b"labels": rng.integers(0, 10, size=per_batch).tolist(),
                },
            )
        add("batches.meta", {b"label_names": [f"class{i}".encode() for i in range(10)]})


def test_prepare_cifar10_from_the_python_tarball(tmp_path):
    _cifar_python_tarball(tmp_path / "cifar-10-python.tar.gz", 8, np.random.default_rng(0))
    from zoo.data import prepare

    prepare.prepare("cifar10", tmp_path, str(tmp_path / "tfds"))
    data = zoo.load_dataset("image_classification", "cifar10", data_dir=str(tmp_path / "tfds"))
    assert data.x_train.shape == (40, 32, 32, 3) and data.x_test.shape == (8, 32, 32, 3)


@pytest.mark.parametrize(
    "name, files, match",
    [
        ("mnist", {}, "no train-images-idx3-ubyte"),
        ("mnist", {"train-images-idx3-ubyte.gz": b"not gzip"}, "not a readable gzip"),
        ("mnist", {"train-images-idx3-ubyte": b"\0\0\0\0garbage"}, "bad magic number"),
        ("cifar10", {}, "no CIFAR-10 files"),
        ("imagenet2012", {}, "zoo data prepare knows"),
    ],
)
def test_prepare_refuses_bad_sources(tmp_path, name, files, match):
    for fname, blob in files.items():
        (tmp_path / fname).write_bytes(blob)
    from zoo.data import prepare

    # An unknown name is a usage error; bad files are data errors.
    error = InvalidArgumentError if name == "imagenet2012" else DataError
    with pytest.raises(error, match=match):
        prepare.prepare(name, tmp_path, str(tmp_path / "tfds"))


# --- the user's own data -------------------------------------------------------------


def _npz(path, **arrays):
    rng = np.random.default_rng(0)
    base = dict(
        x_train=rng.random((20, 8, 8, 1)),
        y_train=rng.integers(0, 3, 20),
        x_test=rng.random((6, 8, 8, 1)),
        y_test=rng.integers(0, 3, 6),
    )
    base.update(arrays)
    base = {k: v for k, v in base.items() if v is not None}
    np.savez(path, **base)
    return str(path)


def test_npz_data_sets_the_model_shape_and_trains(tmp_path):
    path = _npz(tmp_path / "d.npz", y_train=np.arange(20) % 4, y_test=np.arange(6) % 4)
    result = zoo.train("seed_cnn", path, epochs=1)
    assert result.keras_model.input_shape == (None, 8, 8, 1)
    assert result.keras_model.output_shape == (None, 4)
    again = zoo.load_dataset("image_classification", path)
    assert again.model_kwargs == {"input_shape": (8, 8, 1), "num_classes": 4}


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"x_test": None}, "missing key.*x_test"),
        ({"x_train": np.zeros((20, 8, 8))}, "rank 3"),
        ({"y_train": np.full(20, -1)}, "negative labels"),
        ({"y_test": np.array([0, 1, 2, 3, 9, 0])}, "label 9, out of the range 0..2"),
        ({"y_train": np.linspace(0, 2, 20)}, "non-integer labels"),
        ({"x_train": np.full((20, 8, 8, 1), np.nan)}, "NaN"),
        ({"x_train": np.zeros((0, 8, 8, 1)), "y_train": np.zeros(0)}, "train split is empty"),
        ({"y_train": np.zeros(5)}, "20 examples but y_train has 5"),
        ({"x_test": np.zeros((6, 9, 9, 1))}, "x_test examples have"),
    ],
)
def test_bad_npz_files_name_the_file_and_the_problem(tmp_path, arrays, match):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=match) as e:
        zoo.load_dataset("image_classification", path)
    assert "bad.npz" in str(e.value)


def test_segmentation_and_video_npz_files_take_per_pixel_and_per_clip_labels(tmp_path):
    rng = np.random.default_rng(1)
    masks = _npz(tmp_path / "masks.npz", x_train=rng.random((12, 16, 16, 3)),
                 y_train=rng.integers(0, 3, (12, 16, 16)), x_test=rng.random((4, 16, 16, 3)),
                 y_test=rng.integers(0, 3, (4, 16, 16)))  # fmt: skip
    recipe = zoo.Recipe(epochs=1, batch_size=4, learning_rate=1e-3, model_kwargs={"widths": (4, 8)})
    result = zoo.train("unet", masks, recipe=recipe)
    assert result.keras_model.output_shape == (None, 16, 16, 3)
    assert set(result.test_metrics) >= {"mean_iou", "accuracy"}
    d = zoo.load_dataset("semantic_segmentation", masks)
    assert d.y_train.shape == (12, 16, 16) and d.y_train.dtype == np.int32
    assert d.model_kwargs == {"input_shape": (16, 16, 3), "num_classes": 3}
    clips = _npz(tmp_path / "clips.npz", x_train=rng.random((12, 4, 8, 8, 1)),
                 y_train=np.arange(12) % 2, x_test=rng.random((4, 4, 8, 8, 1)),
                 y_test=np.arange(4) % 2)  # fmt: skip
    d = zoo.load_dataset("video_classification", clips)
    assert d.model_kwargs == {"input_shape": (4, 8, 8, 1), "num_classes": 2}
    bad = _npz(tmp_path / "bad.npz", x_train=rng.random((12, 16, 16, 3)),
               y_train=rng.integers(0, 3, (12, 16, 16, 1)), x_test=rng.random((4, 16, 16, 3)),
               y_test=rng.integers(0, 3, (4, 16, 16)))  # fmt: skip
    with pytest.raises(DataError, match=r"bad.npz: y_train has shape \(12, 16, 16, 1\)"):
        zoo.load_dataset("semantic_segmentation", bad)


def test_a_file_that_is_not_npz(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_text("hello")
    with pytest.raises(DataError, match="not a readable .npz"):
        zoo.load_dataset("image_classification", str(bad))
    with pytest.raises(DataError, match="No such file"):
        zoo.load_dataset("image_classification", str(tmp_path / "none.npz"))


def _ratings_csv(path, rows, header="user,item,rating"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(path)


def test_ratings_csv_reindexes_ids_of_any_kind_and_splits_by_seed(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        f"u{rng.integers(50)},item-{rng.integers(30)},{rng.integers(1, 6)}" for _ in range(1000)
    ]
    path = _ratings_csv(tmp_path / "r.csv", rows)
    a = zoo.load_dataset("rating_prediction", path, seed=1, test_fraction=0.25)
    b = zoo.load_dataset("rating_prediction", path, seed=1, test_fraction=0.25)
    assert len(a.y_test) == 250 and a.model_kwargs["num_users"] <= 50
    np.testing.assert_array_equal(a.x_test["user"], b.x_test["user"])
    result = zoo.train("matrix_factorization", path, epochs=1)
    assert result.config.model_kwargs["num_items"] == a.model_kwargs["num_items"]


@pytest.mark.parametrize(
    "rows, header, match",
    [
        (["1,2,3"], "user,rating", "missing column.*item"),
        (["1,2,three"] + ["1,2,3"] * 9, "user,item,rating", "line 2: rating 'three'"),
        ([], "user,item,rating", "no rows"),
    ],
)
def test_bad_ratings_csv(tmp_path, rows, header, match):
    path = _ratings_csv(tmp_path / "bad.csv", rows, header)
    with pytest.raises(DataError, match=match):
        zoo.load_dataset("rating_prediction", path)


def test_an_image_folder_adapts_to_the_model_input(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, name in enumerate(["cats", "dogs", "owls"]):
        (tmp_path / name).mkdir()
        for i in range(8):
            pixels = np.full((20, 24, 3), 80 * c, dtype=np.uint8) + rng.integers(
                0, 10, (20, 24, 3), dtype=np.uint8
            )
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    data = zoo.load_dataset(
        "image_classification",
        str(tmp_path),
        test_fraction=0.25,
        hints={"input_shape": (16, 16, 1)},
    )
    assert data.x_train.shape[1:] == (16, 16, 1)
    assert data.model_kwargs["num_classes"] == 3 and len(data.y_train) + len(data.y_test) == 24
    assert capsys.readouterr().out == ""  # not Keras' "Found 24 files ..."


def _text_folder(root: Path, per_class: int = 10) -> Path:
    words = {"pos": "good great fine", "neg": "bad awful poor"}
    for label, text in words.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / label / f"{i}.txt").write_text(f"{text} {i}")
    return root


def test_a_text_folder_is_tokenized_on_its_training_split(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _text_folder(tmp_path / "texts")
    tmp_path = tmp_path / "texts"
    data = zoo.load_dataset("text_classification", str(tmp_path))
    assert data.x_train.shape[1] == 256 and data.model_kwargs["num_classes"] == 2
    assert data.x_train.max() < data.model_kwargs["vocab_size"]
    assert capsys.readouterr().out == ""
    # and `zoo train --json` on the folder writes nothing but its JSON to stdout
    r = CliRunner().invoke(
        app,
        ["train", "fasttext_classifier", "--dataset", str(tmp_path), "--epochs", "1", "--json"],
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)  # the whole of stdout is the record
    assert result["model"] == "fasttext_classifier" and "accuracy" in result["test_metrics"]


def test_a_text_folder_is_read_once_then_from_the_cache_until_a_file_changes(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = _text_folder(tmp_path / "texts")
    first = zoo.load_dataset("text_classification", str(folder), seed=3)
    entries = list((tmp_path / "cache" / "keras-zoo" / "decoded").glob("texts-*.npz"))
    assert len(entries) == 1
    read = keras.utils.text_dataset_from_directory

    def unread(*args, **kwargs):
        raise AssertionError("the folder was read again")

    monkeypatch.setattr(keras.utils, "text_dataset_from_directory", unread)
    again = zoo.load_dataset("text_classification", str(folder), seed=3)
    for k in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(first, k), getattr(again, k)), k
    assert again.model_kwargs == first.model_kwargs
    assert again.x_train.dtype == first.x_train.dtype == np.int32
    # Another seed splits differently: read again, never the other split's arrays; then
    # each seed has its entry, and seed 3's is still read from the cache.
    with pytest.raises(AssertionError, match="read again"):
        zoo.load_dataset("text_classification", str(folder), seed=4)
    monkeypatch.setattr(keras.utils, "text_dataset_from_directory", read)
    zoo.load_dataset("text_classification", str(folder), seed=4)
    monkeypatch.setattr(keras.utils, "text_dataset_from_directory", unread)
    zoo.load_dataset("text_classification", str(folder), seed=3)
    assert len(list(entries[0].parent.glob("texts-*.npz"))) == 2
    # A file added: read again, and its entry replaces the old one of the same seed.
    monkeypatch.setattr(keras.utils, "text_dataset_from_directory", read)
    (folder / "pos" / "extra.txt").write_text("good fine extra")
    grown = zoo.load_dataset("text_classification", str(folder), seed=3)
    assert len(grown.y_train) + len(grown.y_test) == len(first.y_train) + len(first.y_test) + 1
    assert len(list(entries[0].parent.glob("texts-*.npz"))) == 2
    assert not entries[0].exists()


def test_a_folder_with_one_class_is_refused(tmp_path):
    (tmp_path / "only").mkdir()
    with pytest.raises(DataError, match="1 class sub-folder"):
        zoo.load_dataset("image_classification", str(tmp_path))


@pytest.mark.parametrize(
    "task, name, hints, x_shape, y_shape",
    [
        ("object_detection", "voc", {"input_shape": (32, 32, 3)}, (32, 32, 3), (8, 8, 24)),
        ("semantic_segmentation", "oxford_iiit_pet", {"input_shape": (32, 32, 3)}, (32, 32, 3),
         (32, 32)),
        ("summarization", "cnn_dailymail", {"source_length": 24, "target_length": 8}, None,
         (8,)),
        ("speech_recognition", "speech_commands", {}, (49, 40, 1), (1,)),
        ("video_classification", "ucf101", {"input_shape": (4, 16, 16, 1)}, (4, 16, 16, 1), ()),
    ],
)  # fmt: skip
def test_tfds_loaders_of_the_newer_tasks_shape_the_data_for_the_model(
    task, name, hints, x_shape, y_shape
):
    from zoo.data import boxes

    with tfds.testing.mock_data(num_examples=6):
        data = zoo.load_dataset(task, name, hints=hints)
    assert data.y_train.shape[1:] == y_shape and data.y_test.shape[1:] == y_shape
    assert len(data.y_train) > 0 and len(data.y_test) > 0
    if x_shape is None:  # summarization: ids 0 pad, 1 start, 2 end, then the words
        x = data.x_train
        assert x["source"].shape[1:] == (24,) and x["target"].shape[1:] == (8,)
        assert (x["target"][:, 0] == 1).all() and (data.y_train == 2).any(1).all()
        assert data.vocabulary[:4] == ["", "<s>", "</s>", "[UNK]"]
        assert data.model_kwargs["vocab_size"] == len(data.vocabulary)
        return
    assert data.x_train.shape[1:] == x_shape and np.isfinite(data.x_train).all()
    if task == "object_detection":  # every example's boxes decode back from its map
        assert data.model_kwargs == {"input_shape": (32, 32, 3), "num_classes": 20}
        assert sum(len(boxes.decode_truth(y, (32, 32))) for y in data.y_train) > 0
    if task == "speech_recognition":
        assert data.vocabulary[0] == "<blank>" and data.y_train.min() >= 1
        assert data.model_kwargs["vocab_size"] == len(data.vocabulary) - 1
