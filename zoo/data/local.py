"""The user's own data: an .npz file, a ratings .csv, or a folder of class sub-folders.

- ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test``: images as N x H x W x C,
  token ids as N x T, features as N x F, series windows as N x T x F, clips as
  N x frames x H x W x C; labels as integers 0..K-1 for classification (for semantic
  segmentation one per pixel, N x H x W), numbers for regression and forecasting; optionally
  ``x_val``, ``y_val`` (a validation split, used instead of one cut from training).
- ``.csv`` with a header and columns ``user,item,rating`` (rating prediction, retrieval):
  ids of any kind are re-indexed, and a seeded shuffle splits off ``test_fraction``.
- a folder with one sub-folder per class of images (read with
  ``keras.utils.image_dataset_from_directory``, resized to the model's input size) or of
  ``.txt`` files (tokenized with a vocabulary built on the training split).
- a COCO annotation ``.json`` with its images (object detection), a folder of ``.wav``
  files with a ``transcripts.txt`` (speech recognition), of ``images/`` and ``masks/``
  (segmentation) or of class sub-folders of frame folders (video): see
  `zoo.data.local_domains`.

Every check names the file and what is wrong with it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import local_domains
from zoo.data.dataset import Dataset
from zoo.errors import DataError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
CLASSIFICATION = (
    "image_classification",
    "text_classification",
    "audio_classification",
    "video_classification",
)
# The rank of x (with the batch axis) each task takes from an .npz file.
NPZ_RANKS = {
    "image_classification": 4,
    "audio_classification": 4,
    "text_classification": 2,
    "regression": 2,
    "forecasting": 3,
    "language_modeling": 2,
    "video_classification": 5,
    "semantic_segmentation": 4,
}
TEXT_LENGTH = 256
# Tasks whose folders are not class sub-folders of single files.
FOLDERS = {
    "speech_recognition": local_domains.speech_folder,
    "semantic_segmentation": local_domains.mask_folder,
    "video_classification": local_domains.frame_folders,
}
TEXT_VOCABULARY = 20000


def is_local(dataset: str) -> bool:
    """Whether a --dataset value names a file or folder rather than a dataset."""
    path = Path(dataset)
    return path.suffix.lower() in (".npz", ".csv") or path.is_dir() or path.exists()


def load(
    task: str,
    path: str,
    *,
    seed: int = 0,
    samples: int | None = None,
    test_fraction: float = 0.2,
    hints: dict[str, Any] | None = None,
) -> Dataset:
    """Loads the user's data for a task (see the module docstring)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(
            f"No such file or folder: {path}.",
            "Pass an .npz file, a ratings .csv, or a folder of class sub-folders.",
        )
    if p.is_dir() and task in FOLDERS:
        parts = FOLDERS[task](p, seed, samples, test_fraction, hints or {})
    elif p.suffix.lower() == ".json":
        _check_task(p, task, "object_detection", "COCO annotations")
        parts = local_domains.coco(p, seed, samples, test_fraction, hints or {})
    elif p.is_dir():
        parts = _folder(task, p, seed, samples, test_fraction, hints or {})
    elif p.suffix.lower() == ".npz":
        parts = _npz(task, p, samples)
    elif p.suffix.lower() == ".csv":
        parts = _csv(task, p, seed, samples, test_fraction)
    else:
        raise DataError(
            f"{p}: unknown data file type {p.suffix!r}.",
            "Use .npz, .csv (user,item,rating), COCO .json, or a folder of class sub-folders "
            "(or of .wav files with transcripts.txt).",
        )
    params = {"seed": seed, "samples": samples, "test_fraction": test_fraction}
    return Dataset(name=str(p.resolve()), task=task, params=params, **parts)


def _npz(task: str, path: Path, samples: int | None) -> dict[str, Any]:
    if task not in NPZ_RANKS:
        raise DataError(
            f"{path}: .npz files serve the tasks {', '.join(NPZ_RANKS)}; the "
            f"model's task is {task}.",
            "Use a ratings .csv for recommenders.",
        )
    arrays = _read_npz(path)
    splits = ("train", "val", "test") if "x_val" in arrays else ("train", "test")
    for split in splits:
        _check_npz_split(task, path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    for split in splits[1:]:
        if arrays["x_train"].shape[1:] != arrays[f"x_{split}"].shape[1:]:
            raise DataError(
                f"{path}: x_train examples have shape {arrays['x_train'].shape[1:]} "
                f"but x_{split} examples have {arrays[f'x_{split}'].shape[1:]}."
            )
    parts, kwargs = _npz_train_test(task, path, arrays, samples)
    if "x_val" in arrays:
        parts.update(_npz_val(task, path, arrays, parts, kwargs))
    return dict(**parts, model_kwargs=kwargs)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four required arrays and, where both are there, x_val and y_val."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in NPZ_KEYS if k not in f.files]
            if missing:
                raise DataError(
                    f"{path}: missing key(s) {', '.join(missing)}; found "
                    f"{', '.join(f.files) or 'none'}.",
                    f"An .npz needs {', '.join(NPZ_KEYS)}.",
                )
            arrays = {k: f[k] for k in NPZ_KEYS}
            val_keys = [k for k in ("x_val", "y_val") if k in f.files]
            if len(val_keys) == 1:
                raise DataError(
                    f"{path}: has {val_keys[0]} without its pair.",
                    "A validation split needs both x_val and y_val (or neither).",
                )
            arrays.update({k: f[k] for k in val_keys})
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e}).") from None
    return arrays


def _check_npz_split(task: str, path: Path, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """One split is non-empty, of the task's rank, paired, numeric and finite."""
    rank = NPZ_RANKS[task]
    if len(x) == 0:
        raise DataError(f"{path}: the {split} split is empty.")
    if x.ndim != rank:
        raise DataError(
            f"{path}: x_{split} has rank {x.ndim} (shape {x.shape}); the "
            f"{task} task needs rank {rank} (examples first)."
        )
    if len(y) != len(x):
        raise DataError(f"{path}: x_{split} has {len(x)} examples but y_{split} has {len(y)}.")
    for key, a in ((f"x_{split}", x), (f"y_{split}", y)):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise DataError(f"{path}: {key} is not numeric (dtype {a.dtype}).")
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise DataError(
                f"{path}: {key} holds NaN or infinite values.", "Clean or impute them first."
            )


def _npz_train_test(task, path, arrays, samples) -> tuple[dict[str, Any], dict[str, Any]]:
    """The train (at most `samples`) and test splits in the task's dtypes, and the
    hyper-parameters a model needs to take them."""
    x_train, y_train = arrays["x_train"][:samples], arrays["y_train"][:samples]
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    kwargs: dict[str, Any] = {}
    if task in CLASSIFICATION:
        y_train, y_test, kwargs["num_classes"] = _labels(path, y_train, y_test)
    elif task == "semantic_segmentation":
        _check_masks(path, {"y_train": (x_train, y_train), "y_test": (x_test, y_test)})
        y_train, y_test, kwargs["num_classes"] = _labels(
            path, y_train.reshape(-1), y_test.reshape(-1)
        )
        y_train, y_test = y_train.reshape(x_train.shape[:3]), y_test.reshape(x_test.shape[:3])
    else:
        y_train, y_test = y_train.astype("float32"), y_test.astype("float32")
    if task in ("image_classification", "audio_classification", "video_classification",
                "semantic_segmentation"):  # fmt: skip
        x_train, x_test = x_train.astype("float32"), x_test.astype("float32")
        kwargs["input_shape"] = x_train.shape[1:]
    elif task == "text_classification":
        if not np.issubdtype(x_train.dtype, np.integer) or x_train.min() < 0:
            raise DataError(f"{path}: text inputs must be non-negative integer token ids.")
        kwargs.update(
            vocab_size=int(max(x_train.max(), x_test.max()) + 1), sequence_length=x_train.shape[1]
        )
    elif task == "regression":
        kwargs["num_features"] = x_train.shape[1]
    elif task == "forecasting":
        kwargs.update(
            window=x_train.shape[1],
            num_series=x_train.shape[2],
            horizon=y_train.shape[1] if y_train.ndim == 2 else 1,
        )
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test), kwargs


def _npz_val(task, path, arrays, parts, kwargs) -> dict[str, Any]:
    """The file's validation split, in the training split's dtypes and label range."""
    x_val, y_val = arrays["x_val"], arrays["y_val"]
    if task in CLASSIFICATION:
        _, y_val, _ = _labels(path, parts["y_train"], y_val, test_key="y_val")
    elif task == "semantic_segmentation":
        _check_masks(path, {"y_val": (x_val, y_val)})
        _, flat, _ = _labels(path, parts["y_train"].reshape(-1), y_val.reshape(-1), "y_val")
        y_val = flat.reshape(y_val.shape)
    else:
        y_val = y_val.astype("float32")
    if parts["x_train"].dtype == np.float32:
        x_val = x_val.astype("float32")
    if task == "text_classification" and x_val.max() >= kwargs["vocab_size"]:
        raise DataError(f"{path}: x_val holds token ids absent from x_train and x_test.")
    return dict(x_val=x_val, y_val=y_val)


def _check_masks(path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Segmentation labels: one class per pixel, N x H x W, as the images' N x H x W."""
    for key, (x, y) in splits.items():
        if y.shape != x.shape[:3]:
            raise DataError(
                f"{path}: {key} has shape {y.shape}; a class per pixel of its images needs "
                f"{x.shape[:3]} (N x height x width).",
                "Store the masks as integer class indices, one per pixel, without channels.",
            )


def _labels(path, y_train, y_test, test_key="y_test"):
    for key, y in (("y_train", y_train), (test_key, y_test)):
        if y.ndim != 1:
            raise DataError(
                f"{path}: {key} must be one integer label per example; it has shape {y.shape}."
            )
        if not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0):
            raise DataError(
                f"{path}: {key} holds non-integer labels.", "Labels are class indices 0..K-1."
            )
        if y.min() < 0:
            raise DataError(
                f"{path}: {key} holds negative labels (min {y.min()}).",
                "Labels are class indices 0..K-1.",
            )
    num_classes = int(y_train.max()) + 1
    if y_test.max() >= num_classes:
        raise DataError(
            f"{path}: {test_key} has label {int(y_test.max())}, out of the range "
            f"0..{num_classes - 1} seen in y_train."
        )
    return y_train.astype("int32"), y_test.astype("int32"), num_classes


def _csv(task, path, seed, samples, test_fraction):
    from zoo.data.tfds import split_pairs

    if task not in ("rating_prediction", "retrieval"):
        raise DataError(
            f"{path}: ratings .csv files serve rating_prediction and retrieval; "
            f"the model's task is {task}."
        )
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in ("user", "item", "rating") if c not in columns]
            if missing:
                raise DataError(
                    f"{path}: missing column(s) {', '.join(missing)}; found "
                    f"{', '.join(columns) or 'none'}.",
                    "The header must name user,item,rating.",
                )
            rows = [{k.strip(): v for k, v in row.items() if k} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot read it as CSV ({e}).") from None
    if not rows:
        raise DataError(f"{path}: no rows after the header.")
    ratings = np.empty(len(rows), dtype="float32")
    for n, row in enumerate(rows):
        try:
            ratings[n] = float(row["rating"])
        except (TypeError, ValueError):
            raise DataError(
                f"{path}: line {n + 2}: rating {row['rating']!r} is not a number.",
                "Ratings must be numeric.",
            ) from None
        if not np.isfinite(ratings[n]):
            raise DataError(f"{path}: line {n + 2}: rating {row['rating']!r} is not finite.")
    users = np.array([row["user"] for row in rows])
    items = np.array([row["item"] for row in rows])
    return split_pairs(task, users, items, ratings, seed, test_fraction, samples, str(path))


def _check_task(path: Path, task: str, wanted: str, what: str) -> None:
    if task != wanted:
        raise DataError(f"{path}: {what} serve {wanted}; the model's task is {task}.")


def _folder(task, path, seed, samples, test_fraction, hints):
    classes = sorted(d.name for d in path.iterdir() if d.is_dir())
    if len(classes) < 2:
        raise DataError(
            f"{path}: found {len(classes)} class sub-folder(s); need at least 2.",
            "Put each class's files in a sub-folder named after the class.",
        )
    if task not in ("image_classification", "text_classification"):
        raise DataError(
            f"{path}: folders of class sub-folders serve image and text "
            f"classification; the model's task is {task}."
        )
    common = dict(
        seed=seed,
        validation_split=test_fraction,
        subset="both",
        shuffle=True,
        batch_size=None,
        labels="inferred",
        label_mode="int",
    )
    read = _image_folder if task == "image_classification" else _cached_text_folder
    try:
        parts = read(path, samples, hints, common)
    except ValueError as e:  # Keras: no files found, an empty split, ...
        raise DataError(f"{path}: {e}") from None
    parts["model_kwargs"]["num_classes"] = len(classes)
    return dict(**parts, vocabulary=None)


def _quiet():
    """Keras' folder readers print "Found N files belonging to K classes." to stdout; the
    zoo never prints (its own counts are in the Dataset), and `zoo train --json` must
    write JSON alone to stdout."""
    import contextlib
    import io as text_io

    return contextlib.redirect_stdout(text_io.StringIO())


def _image_folder(path, samples, hints, common) -> dict[str, Any]:
    """Images resized to the model's input shape and scaled to [0, 1]."""
    import keras
    import tensorflow as tf

    from zoo.data.tfds import to_numpy

    height, width, channels = hints.get("input_shape", (64, 64, 3))
    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}.get(int(channels), "rgb")
    with _quiet():
        train, test = keras.utils.image_dataset_from_directory(
            path, image_size=(int(height), int(width)), color_mode=mode, **common
        )
    scale = lambda x, y: (x / 255.0, tf.cast(y, tf.int32))  # noqa: E731
    x_train, y_train = to_numpy(train.map(scale), samples)
    x_test, y_test = to_numpy(test.map(scale))
    kwargs = {"input_shape": x_train.shape[1:]}
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, model_kwargs=kwargs)


TEXT_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "vocab_size")


def _cached_text_folder(path, samples, hints, common) -> dict[str, Any]:
    """`_text_folder`, read once and then from the zoo's cache (`zoo.data.decoded`)."""
    from zoo.data import decoded

    settings = (common["seed"], common["validation_split"], samples, TEXT_VOCABULARY, TEXT_LENGTH)
    name = decoded.folder_name("texts", path, repr(settings))
    key = decoded.tree_fingerprint(path)
    found = decoded.load(name, key, TEXT_ARRAYS)
    if found is not None:
        kwargs = {"vocab_size": int(found.pop("vocab_size")), "sequence_length": TEXT_LENGTH}
        return dict(**found, model_kwargs=kwargs)
    parts = _text_folder(path, samples, hints, common)
    vocab_size = np.asarray(parts["model_kwargs"]["vocab_size"])
    decoded.save(name, key, {**parts, "vocab_size": vocab_size}, TEXT_ARRAYS)
    return parts


def _text_folder(path, samples, hints, common) -> dict[str, Any]:
    """Texts tokenized with a vocabulary adapted on the training split."""
    import keras
    import tensorflow as tf

    from zoo.data.tfds import to_numpy

    with _quiet():
        train, test = keras.utils.text_dataset_from_directory(path, **common)
    if samples is not None:
        train = train.take(samples)
    vectorize = keras.layers.TextVectorization(
        max_tokens=TEXT_VOCABULARY, output_sequence_length=TEXT_LENGTH
    )
    vectorize.adapt(train.map(lambda x, y: x).batch(256))
    tok = lambda x, y: (tf.cast(vectorize(x), tf.int32), tf.cast(y, tf.int32))  # noqa
    x_train, y_train = to_numpy(train.map(tok))
    x_test, y_test = to_numpy(test.map(tok))
    kwargs = {"vocab_size": int(vectorize.vocabulary_size()), "sequence_length": TEXT_LENGTH}
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, model_kwargs=kwargs)
