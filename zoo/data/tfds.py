"""Real datasets through TensorFlow Datasets, turned into the zoo's NumPy `Dataset`.

TFDS is always called with download=False unless the user asks for a download: a dataset
that is not on disk is one clear error naming the two fixes, at once, instead of TFDS's
retry loop. Preprocessing runs once, when the data is loaded: pixels scaled to [0, 1] (the
decoded images cached, `zoo.data.decoded`), IMDB reviews tokenized with a vocabulary
built on the training split, speech-commands audio turned into log-mel spectrograms (the
same as `zoo.data.audio`), Shakespeare cut into character windows, MovieLens ids
re-indexed.
This module needs TensorFlow.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from zoo.data.dataset import Dataset
from zoo.errors import DataError

IMDB_VOCABULARY = 20000
IMDB_LENGTH = 256


def _tfds():
    import tensorflow_datasets as tfds

    return tfds


def load_splits(name: str, splits: list[str], data_dir: str | None, download: bool, **kwargs):
    """tfds.load with downloads off by default and a clear error when data is missing."""
    tfds = _tfds()
    try:
        return tfds.load(
            name, split=splits, data_dir=data_dir, download=download, shuffle_files=False, **kwargs
        )
    except AssertionError as e:  # TFDS's "could not find data in ..."
        if "could not find data" not in str(e):
            raise
        where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
        raise DataError(
            f"Dataset {name} is not prepared in {where}.",
            f"Fix: add --download to fetch it, or build it from files you have with "
            f"`zoo data prepare {name} --from DIR`.",
        ) from None


def to_numpy(ds, limit: int | None = None) -> tuple:
    """Materializes a tf.data.Dataset of tuples (or single tensors) as NumPy arrays."""
    tfds = _tfds()
    if limit is not None:
        ds = ds.take(limit)
    parts: list[list] = []
    for batch in tfds.as_numpy(ds.batch(4096)):
        batch = batch if isinstance(batch, tuple) else (batch,)
        if not parts:
            parts = [[] for _ in batch]
        for acc, b in zip(parts, batch, strict=True):
            acc.append(b)
    if not parts:
        raise DataError("The dataset split is empty.")
    return tuple(np.concatenate(p) for p in parts)


def _cached_images(name, data_dir):
    """(the decoded arrays, or None; their cache key, or None). The folder TFDS named last
    time is tried first, without importing TFDS (zoo.data.decoded)."""
    from zoo.data import decoded

    folder = decoded.remembered_folder(name, data_dir)
    key = decoded.fingerprint(folder) if folder else None
    arrays = decoded.load(name, key) if key else None
    if arrays is None:
        folder = _tfds().builder(name, data_dir=data_dir).data_dir
        key = decoded.fingerprint(folder)
        arrays = decoded.load(name, key) if key else None
        if key:
            decoded.remember_folder(name, data_dir, folder)
    return arrays, key


def _images(name, data_dir, download, samples):
    from zoo.data import decoded

    arrays, key = _cached_images(name, data_dir)
    if arrays is None:
        train, test = load_splits(name, ["train", "test"], data_dir, download, as_supervised=True)
        # A full read is cached decoded (zoo.data.decoded); a capped one decodes only
        # what it keeps.
        x_train, y_train = to_numpy(train, samples)
        x_test, y_test = to_numpy(test)
        arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        if key and samples is None:
            decoded.save(name, key, arrays)
    # Pixels to [0, 1] as float32 (the same values as tf.cast(image, float32) / 255).
    x_train = _scaled(arrays["x_train"][:samples])
    x_test = _scaled(arrays["x_test"])
    y_train = arrays["y_train"][:samples].astype(np.int32)
    y_test = arrays["y_test"].astype(np.int32)
    num_classes = int(max(y_train.max(), y_test.max()) + 1)
    num_classes = {"cifar10": 10, "mnist": 10, "fashion_mnist": 10}.get(name, num_classes)
    return dict(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        model_kwargs={"input_shape": x_train.shape[1:], "num_classes": num_classes},
    )


def _scaled(images: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], the values of tf.cast(image, float32) / 255.

    A cast, then an in-place divide: NumPy's one-call `np.divide(uint8, float32,
    dtype=float32)` takes a mixed-type loop about 7x slower (0.26 s against 0.04 s for
    Fashion-MNIST's 60,000 training images on the 2-core EPYC), and on the fast route
    that was most of the data phase.
    """
    out = images.astype(np.float32)
    out /= np.float32(255.0)
    return out


def _imdb(name, data_dir, download, samples):
    import keras
    import tensorflow as tf

    train, test = load_splits(name, ["train", "test"], data_dir, download, as_supervised=True)
    if samples is not None:
        train = train.take(samples)
    vectorize = keras.layers.TextVectorization(
        max_tokens=IMDB_VOCABULARY, output_sequence_length=IMDB_LENGTH
    )
    vectorize.adapt(train.map(lambda text, label: text).batch(1024))  # training split only

    def tokenize(text, label):
        return tf.cast(vectorize(text), tf.int32), tf.cast(label, tf.int32)

    x_train, y_train = to_numpy(train.map(tokenize))
    x_test, y_test = to_numpy(test.map(tokenize))
    return dict(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        model_kwargs={
            "vocab_size": int(vectorize.vocabulary_size()),
            "sequence_length": IMDB_LENGTH,
            "num_classes": 2,
        },
    )


def _speech_commands(name, data_dir, download, samples):
    import tensorflow as tf

    from zoo.data import audio

    train, val, test = load_splits(
        name, ["train", "validation", "test"], data_dir, download, as_supervised=True
    )
    mel = tf.constant(audio.mel_matrix())

    def spectrogram(wave, label):
        wave = tf.cast(wave[: audio.SAMPLE_RATE], tf.float32) / 32768.0
        wave = tf.pad(wave, [[0, audio.SAMPLE_RATE - tf.shape(wave)[0]]])
        stft = tf.signal.stft(wave, audio.FRAME_LENGTH, audio.FRAME_STEP, audio.FFT_LENGTH)
        spec = tf.math.log(tf.matmul(tf.abs(stft), mel) + 1e-6)
        return spec[..., None], tf.cast(label, tf.int32)

    x_train, y_train = to_numpy(
        train.map(spectrogram, num_parallel_calls=tf.data.AUTOTUNE), samples
    )
    x_val, y_val = to_numpy(val.map(spectrogram, num_parallel_calls=tf.data.AUTOTUNE))
    x_test, y_test = to_numpy(test.map(spectrogram, num_parallel_calls=tf.data.AUTOTUNE))
    return dict(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        x_val=x_val,
        y_val=y_val,
        model_kwargs={"input_shape": x_train.shape[1:], "num_classes": 12},
    )


def _text_of(ds) -> str:
    tfds = _tfds()
    return "".join(ex["text"].decode("utf-8") for ex in tfds.as_numpy(ds))


def _shakespeare(name, data_dir, download, samples, sequence_length=64):
    train, val, test = load_splits(name, ["train", "validation", "test"], data_dir, download)
    train_text, test_text = _text_of(train), _text_of(test)
    vocabulary = sorted(set(train_text))  # characters, from the training split only
    index = {c: i for i, c in enumerate(vocabulary)}

    def windows(text, limit=None):
        ids = np.array([index[c] for c in text if c in index], dtype="int32")
        n = (len(ids) - 1) // sequence_length
        if n < 1:
            raise DataError(
                f"{name}: a split is shorter than one window of {sequence_length + 1} characters."
            )
        n = min(n, limit) if limit else n
        x = ids[: n * sequence_length].reshape(n, sequence_length)
        y = ids[1 : n * sequence_length + 1].reshape(n, sequence_length)
        return x, y

    x_train, y_train = windows(train_text, samples)
    x_val, y_val = windows(_text_of(val))
    x_test, y_test = windows(test_text)
    return dict(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        x_val=x_val,
        y_val=y_val,
        model_kwargs={"vocab_size": len(vocabulary), "sequence_length": sequence_length},
        extra={"vocabulary": vocabulary},
    )


def reindex(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Ids of any kind (strings, sparse ints) -> 0..n-1, and n."""
    uniques, inverse = np.unique(values, return_inverse=True)
    return inverse.astype("int32"), len(uniques)


def split_pairs(
    task: str,
    users,
    items,
    ratings,
    seed: int,
    test_fraction: float,
    samples: int | None,
    source: str,
) -> dict[str, Any]:
    """A seeded train/test split of (user, item, rating) triples for rating prediction
    or retrieval (whose test split is a whole number of in-batch evaluation batches)."""
    from zoo.tasks import TASKS

    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be in (0, 1); received: {test_fraction}.")
    u, num_users = reindex(users)
    i, num_items = reindex(items)
    order = np.random.default_rng([seed, 7]).permutation(len(u))
    num_test = int(round(test_fraction * len(u)))
    batch = TASKS[task].eval_batch_size
    if batch:
        num_test = num_test // batch * batch
    if num_test < 1 or num_test >= len(u):
        raise DataError(
            f"{source}: {len(u)} rows leave an empty train or test split "
            f"(test_fraction={test_fraction}"
            + (f"; a retrieval test split is whole batches of {batch}" if batch else "")
            + ")."
        )
    test, train = order[:num_test], order[num_test:]
    if samples is not None:
        train = train[:samples]
    y = i if task == "retrieval" else np.asarray(ratings, dtype="float32")
    return dict(
        x_train={"user": u[train], "item": i[train]},
        y_train=y[train],
        x_test={"user": u[test], "item": i[test]},
        y_test=y[test],
        model_kwargs={"num_users": num_users, "num_items": num_items},
    )


def _movielens(name, data_dir, download, samples, task, seed, test_fraction):
    (ratings,) = load_splits(name, ["train"], data_dir, download)
    columns = ratings.map(lambda ex: (ex["user_id"], ex["movie_id"], ex["user_rating"]))
    users, items, values = to_numpy(columns)
    return split_pairs(task, users, items, values, seed, test_fraction, samples, name)


# name -> (tasks it serves, loader)
DATASETS: dict[str, tuple[tuple[str, ...], Any]] = {
    "mnist": (("image_classification",), _images),
    "fashion_mnist": (("image_classification",), _images),
    "cifar10": (("image_classification",), _images),
    "imdb_reviews": (("text_classification",), _imdb),
    "speech_commands": (("audio_classification",), _speech_commands),
    "tiny_shakespeare": (("language_modeling",), _shakespeare),
    "movielens/100k-ratings": (("rating_prediction", "retrieval"), _movielens),
}


def load(
    task: str,
    name: str,
    *,
    seed: int = 0,
    samples: int | None = None,
    data_dir: str | None = None,
    download: bool = False,
    test_fraction: float = 0.2,
    sequence_length: int | None = None,
) -> Dataset:
    """Loads a TFDS dataset for a task as NumPy arrays (see the module docstring)."""
    _, loader = DATASETS[name]
    kwargs: dict[str, Any] = {}
    if loader is _movielens:
        kwargs.update(task=task, seed=seed, test_fraction=test_fraction)
    if loader is _shakespeare and sequence_length:
        kwargs["sequence_length"] = int(sequence_length)
    parts = loader(name, data_dir, download, samples, **kwargs)
    extra = parts.pop("extra", {})
    params = {
        "seed": seed,
        "samples": samples,
        "data_dir": data_dir,
        "test_fraction": test_fraction,
    }
    if "sequence_length" in kwargs:
        params["sequence_length"] = kwargs["sequence_length"]
    return Dataset(name=name, task=task, params=params, **parts, **extra)
