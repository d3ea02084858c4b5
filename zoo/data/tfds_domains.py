"""TFDS datasets of the newer tasks, read into the zoo's arrays (downloads only with
--download, as every TFDS dataset):

- voc (object_detection; PASCAL VOC 2007, 20 classes): images resized to the model's
  input (--param input_shape; default 32x32x3), their boxes with them, as
  `zoo.data.boxes` target maps; the test split is VOC's test.
- oxford_iiit_pet (semantic_segmentation): images and trimaps resized to the model's
  input (the masks by nearest neighbour); classes 0 pet, 1 background, 2 border.
- cnn_dailymail (summarization): articles and their highlights, lower-cased words from a
  vocabulary adapted on the training articles (`TextVectorization`), cut to the model's
  source and target lengths; ids 0 padding, 1 start, 2 end, 3 unknown.
- speech_commands (speech_recognition): each one-second clip's keyword as a one-word
  transcript (log-mel spectrograms as for audio_classification).
- ucf101 (video_classification; 101 actions): `frames` frames spread evenly over each clip,
  resized to the model's frame size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo.data import boxes, tfds
from zoo.data.dataset import Dataset
from zoo.data.tfds import load_splits, to_numpy

SUMMARY_VOCABULARY = 20000


def _size(hints: dict, default=(32, 32, 3)) -> tuple[int, int, int]:
    shape = tuple(hints.get("input_shape", default))
    return tuple(int(v) for v in shape[-3:])


def _image(pixels, height: int, width: int, channels: int):
    """uint8 RGB pixels (tf) resized to the model's input, in [0, 1], grey where it takes 1
    channel."""
    import tensorflow as tf

    image = tf.image.resize(pixels, (height, width)) / 255.0
    return image if channels == 3 else tf.image.rgb_to_grayscale(image)


def _voc(name, data_dir, download, samples, hints):
    height, width, channels = _size(hints)
    train, test = load_splits(name, ["train+validation", "test"], data_dir, download)

    def resize(example):
        image = _image(example["image"], height, width, channels)
        return image, example["objects"]["bbox"], example["objects"]["label"]

    def arrays(ds, limit):
        xs, ys = [], []
        for image, bbox, label in ds.map(resize).take(limit) if limit else ds.map(resize):
            found = [
                (int(k), x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height)
                for (y0, x0, y1, x1), k in zip(bbox.numpy(), label.numpy(), strict=False)
            ]
            xs.append(image.numpy().astype("float32"))
            ys.append(boxes.encode(found, (height, width), 20))
        return np.stack(xs), np.stack(ys)

    x_train, y_train = arrays(train, samples)
    x_test, y_test = arrays(test, None)
    kwargs = {"input_shape": (height, width, channels), "num_classes": 20}
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                model_kwargs=kwargs)  # fmt: skip


def _pets(name, data_dir, download, samples, hints):
    import tensorflow as tf

    height, width, channels = _size(hints)
    train, test = load_splits(name, ["train", "test"], data_dir, download)

    def resize(example):
        image = _image(example["image"], height, width, channels)
        mask = tf.image.resize(example["segmentation_mask"], (height, width), method="nearest")
        return image, tf.cast(mask[..., 0], tf.int32) - 1

    x_train, y_train = to_numpy(train.map(resize), samples)
    x_test, y_test = to_numpy(test.map(resize))
    kwargs = {"input_shape": (height, width, channels), "num_classes": 3}
    return dict(x_train=x_train.astype("float32"), y_train=y_train,
                x_test=x_test.astype("float32"), y_test=y_test, model_kwargs=kwargs)  # fmt: skip


def _cnn_dailymail(name, data_dir, download, samples, hints):
    import keras
    import tensorflow as tf

    source_length = int(hints.get("source_length", 256))
    target_length = int(hints.get("target_length", 32))
    train, test = load_splits(name, ["train", "test"], data_dir, download)
    if samples is not None:
        train = train.take(samples)
    vectorize = keras.layers.TextVectorization(max_tokens=SUMMARY_VOCABULARY)
    vectorize.adapt(train.map(lambda e: e["article"]).batch(1024))  # training split only
    shift = 2  # TextVectorization: 0 padding, 1 [UNK]; the zoo: 0, 1 start, 2 end, 3 [UNK]

    def encode(example):
        source = vectorize(example["article"])[:source_length]
        source = tf.where(source > 0, source + shift, 0)
        words = vectorize(example["highlights"])[: target_length - 1]
        words = tf.where(words > 0, words + shift, 0)
        summary = tf.concat([words, [2]], 0)
        pad = lambda t, n: tf.pad(t, [[0, n - tf.shape(t)[0]]])  # noqa: E731
        summary = pad(summary, target_length)
        decoder = tf.concat([[1], summary[:-1]], 0)
        return pad(source, source_length), tf.cast(decoder, tf.int64), summary

    def arrays(ds):
        source, decoder, summary = to_numpy(ds.map(encode))
        x = {"source": source.astype("int32"), "target": decoder.astype("int32")}
        return x, summary.astype("int32")

    x_train, y_train = arrays(train)
    x_test, y_test = arrays(test)
    vocabulary = ["", "<s>", "</s>", *vectorize.get_vocabulary()[1:]]
    kwargs = {"vocab_size": len(vocabulary), "source_length": source_length,
              "target_length": target_length}  # fmt: skip
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                model_kwargs=kwargs, extra={"vocabulary": vocabulary})  # fmt: skip


def _keywords(name, data_dir, download, samples, hints):
    parts = tfds._speech_commands(name, data_dir, download, samples)
    names = tfds._tfds().builder(name, data_dir=data_dir).info.features["label"].names
    vocabulary = ["<blank>", *names]
    for split in ("y_train", "y_val", "y_test"):
        parts[split] = (parts[split].astype("int32") + 1)[:, None]  # one word each
    parts["model_kwargs"] = {"input_shape": parts["x_train"].shape[1:],
                             "vocab_size": len(names)}  # fmt: skip
    parts["extra"] = {"vocabulary": vocabulary}
    return parts


def _ucf101(name, data_dir, download, samples, hints):
    import tensorflow as tf

    shape = tuple(hints.get("input_shape", (8, 16, 16, 1)))
    frames, (height, width, channels) = int(shape[0]), _size({"input_shape": shape})
    train, test = load_splits(name, ["train", "test"], data_dir, download)

    def clip(example):
        video = example["video"]
        index = tf.cast(tf.linspace(0.0, tf.cast(tf.shape(video)[0] - 1, tf.float32), frames),
                        tf.int32)  # fmt: skip
        x = _image(tf.gather(video, index), height, width, channels)
        return x, tf.cast(example["label"], tf.int32)

    x_train, y_train = to_numpy(train.map(clip), samples)
    x_test, y_test = to_numpy(test.map(clip))
    kwargs = {"input_shape": (frames, height, width, channels), "num_classes": 101}
    return dict(x_train=x_train.astype("float32"), y_train=y_train,
                x_test=x_test.astype("float32"), y_test=y_test, model_kwargs=kwargs)  # fmt: skip


# name -> (tasks it serves, loader(name, data_dir, download, samples, hints))
DATASETS: dict[str, tuple[tuple[str, ...], Any]] = {
    "voc": (("object_detection",), _voc),
    "oxford_iiit_pet": (("semantic_segmentation",), _pets),
    "cnn_dailymail": (("summarization",), _cnn_dailymail),
    "speech_commands": (("speech_recognition",), _keywords),
    "ucf101": (("video_classification",), _ucf101),
}


def serves(task: str, name: str) -> bool:
    return task in DATASETS.get(name, ((), None))[0]


def served() -> dict[str, tuple[str, ...]]:
    """Every TFDS dataset the zoo reads (these and `zoo.data.tfds`'s), and its tasks."""
    out = {name: tasks for name, (tasks, _) in tfds.DATASETS.items()}
    for name, (tasks, _) in DATASETS.items():
        out[name] = (*out.get(name, ()), *tasks)
    return out


def load(task: str, name: str, *, seed, samples, data_dir, download, hints) -> Dataset:
    """A dataset of this module for `task`, shaped by the model's `hints`."""
    parts = DATASETS[name][1](name, data_dir, download, samples, dict(hints or {}))
    extra = parts.pop("extra", {})
    params = {"seed": seed, "samples": samples, "data_dir": data_dir}
    return Dataset(name=name, task=task, params=params, **parts, **extra)
