"""The user's own detection and speech data, read with the standard readers:

- object detection: a COCO-format annotation ``.json`` (read by pycocotools' `COCO`) with
  its images beside it (``file_name`` relative to the JSON's folder or its ``images/``).
  Each image is resized to the model's input (`--param input_shape=...`; default 32x32x3)
  and its boxes with it; categories become classes 0..K-1 in id order; crowd regions are
  left out. Labels are `zoo.data.boxes` target maps.
- semantic segmentation: a folder with ``images/`` and ``masks/`` of the same file names
  (Pillow): masks are single-channel PNGs whose pixel values are the classes 0..K-1;
  both are resized to the model's input (masks by nearest neighbour).
- video classification: a folder of class sub-folders, each clip a sub-folder of its
  frames as images in name order; `frames` of them are taken evenly spread, resized to
  the model's frame size.
- speech recognition: a folder of 16 kHz mono 16-bit PCM ``.wav`` files (Python's `wave`)
  and a ``transcripts.txt`` of lines ``FILE_STEM the words spoken`` (LibriSpeech's layout);
  log-mel spectrograms as `zoo.data.audio` computes them, padded with silence to the
  longest clip (the model's input_shape follows it); the vocabulary is the transcripts'
  words, id 0 the CTC blank.

A seeded shuffle splits off `test_fraction` for the test split. Every check names the file
and what is wrong with it, in one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import audio, boxes
from zoo.errors import DataError

TRANSCRIPTS = "transcripts.txt"


def _split(n: int, seed: int, test_fraction: float, samples: int | None):
    order = np.random.default_rng(seed).permutation(n)
    cut = max(1, int(round(n * test_fraction)))
    if n - cut < 1:
        raise DataError(f"{n} examples cannot be split into a training and a test part.")
    train, test = order[cut:], order[:cut]
    return (train if samples is None else train[:samples]), test


def coco(path: Path, seed: int, samples, test_fraction: float, hints: dict) -> dict[str, Any]:
    """A COCO annotation file and its images as (images, target maps)."""
    from PIL import Image, UnidentifiedImageError

    from zoo import scoring

    coco_mod = scoring.need("pycocotools.coco", "pycocotools")
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it loads
        try:
            index = coco_mod.COCO(str(path))  # one read: json.load, then its index
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataError(f"Cannot read {path} as COCO JSON ({e}).") from None
        except (KeyError, TypeError, AssertionError) as e:
            raise DataError(f"{path} is not COCO-format annotations (missing {e}).") from None
    missing = sorted({"images", "annotations", "categories"} - set(index.dataset))
    if missing:
        raise DataError(
            f"{path} is not COCO-format annotations: no {', '.join(missing)}.",
            "A COCO file has images, annotations and categories.",
        )
    categories = sorted(index.getCatIds())
    if not categories or not index.getImgIds():
        raise DataError(f"{path} lists no images or no categories.", "Pass COCO annotations.")
    height, width, channels = hints.get("input_shape", (32, 32, 3))
    mode = {1: "L", 3: "RGB"}.get(int(channels), "RGB")
    xs, ys = [], []
    for image_id in sorted(index.getImgIds()):
        info = index.loadImgs(image_id)[0]
        file = _image_file(path, info["file_name"])
        try:
            with Image.open(file) as image:
                sx, sy = width / image.width, height / image.height
                pixels = np.asarray(image.convert(mode).resize((width, height)), "float32")
        except (OSError, UnidentifiedImageError) as e:
            raise DataError(f"Cannot read {file} as an image ({e}).") from None
        xs.append(pixels.reshape(height, width, -1) / 255.0)
        found = [
            (categories.index(a["category_id"]), a["bbox"][0] * sx, a["bbox"][1] * sy,
             a["bbox"][2] * sx, a["bbox"][3] * sy)
            for a in index.loadAnns(index.getAnnIds(imgIds=image_id, iscrowd=False))
        ]  # fmt: skip
        ys.append(boxes.encode(found, (height, width), len(categories)))
    x, y = np.stack(xs), np.stack(ys)
    train, test = _split(len(x), seed, test_fraction, samples)
    names = [index.loadCats(c)[0].get("name", str(c)) for c in categories]
    return dict(
        x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
        model_kwargs={"input_shape": (height, width, channels), "num_classes": len(categories)},
        vocabulary=names,
    )  # fmt: skip


def _image_file(path: Path, name: str) -> Path:
    for folder in (path.parent, path.parent / "images"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"{path} names the image {name}, which is neither beside it nor in images/.",
        "Put the images next to the annotation file or in its images/ folder.",
    )


IMAGES = (".png", ".jpg", ".jpeg")


def _picture(file: Path, size: tuple[int, int], mode: str, nearest: bool = False):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            resample = Image.NEAREST if nearest else Image.BILINEAR
            return np.asarray(image.convert(mode).resize(size[::-1], resample))
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"Cannot read {file} as an image ({e}).") from None


def mask_folder(path: Path, seed: int, samples, test_fraction: float, hints: dict) -> dict:
    """images/ and masks/ of the same names as (images, per-pixel classes)."""
    images, masks = path / "images", path / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise DataError(
            f"{path} needs images/ and masks/ folders for segmentation.",
            "Put each image in images/ and its mask (a PNG of class ids) under the same "
            "name in masks/.",
        )
    files = sorted(f for f in images.iterdir() if f.suffix.lower() in IMAGES)
    if len(files) < 2:
        raise DataError(f"{images} holds {len(files)} image(s); need at least 2.")
    height, width, channels = hints.get("input_shape", (32, 32, 3))
    mode = {1: "L", 3: "RGB"}.get(int(channels), "RGB")
    x, y = [], []
    for f in files:
        mask = next((m for m in (masks / f"{f.stem}{e}" for e in IMAGES) if m.is_file()), None)
        if mask is None:
            raise DataError(f"{f.name} has no mask in {masks} (a PNG named {f.stem}.png).")
        x.append(_picture(f, (height, width), mode).reshape(height, width, -1) / 255.0)
        y.append(_picture(mask, (height, width), "L", nearest=True).astype("int32"))
    x, y = np.stack(x).astype("float32"), np.stack(y)
    train, test = _split(len(x), seed, test_fraction, samples)
    kwargs = {"input_shape": (height, width, channels), "num_classes": int(y.max()) + 1}
    return dict(x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
                model_kwargs=kwargs, vocabulary=None)  # fmt: skip


def frame_folders(path: Path, seed: int, samples, test_fraction: float, hints: dict) -> dict:
    """Class sub-folders of clips, each a folder of frames, as (clips, classes)."""
    classes = sorted(d.name for d in path.iterdir() if d.is_dir())
    frames, height, width, channels = hints.get("input_shape", (8, 16, 16, 1))
    mode = {1: "L", 3: "RGB"}.get(int(channels), "RGB")
    x, y = [], []
    for label, name in enumerate(classes):
        for clip in sorted(d for d in (path / name).iterdir() if d.is_dir()):
            shots = sorted(f for f in clip.iterdir() if f.suffix.lower() in IMAGES)
            if len(shots) < frames:
                raise DataError(
                    f"{clip} has {len(shots)} frames; the model takes {frames}.",
                    "Add frames, or train on fewer (--param input_shape=...).",
                )
            keep = np.linspace(0, len(shots) - 1, frames).round().astype(int)
            x.append(np.stack([_picture(shots[i], (height, width), mode).reshape(
                height, width, -1) / 255.0 for i in keep]))  # fmt: skip
            y.append(label)
    if len(classes) < 2 or len(x) < 2:
        raise DataError(
            f"{path}: found {len(classes)} class folder(s) and {len(x)} clip(s); need 2 "
            "classes or more, each clip a folder of frames."
        )
    x, y = np.stack(x).astype("float32"), np.asarray(y, "int32")
    train, test = _split(len(x), seed, test_fraction, samples)
    kwargs = {"input_shape": (frames, height, width, channels), "num_classes": len(classes)}
    return dict(x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
                model_kwargs=kwargs, vocabulary=classes)  # fmt: skip


def speech_folder(path: Path, seed: int, samples, test_fraction: float, hints: dict) -> dict:
    """WAV files and their transcripts as (log-mel spectrograms, word ids); the model's
    input follows the longest clip, so `hints` are not needed."""
    lines = _transcripts(path)
    words = sorted({w for _, text in lines for w in text})
    vocabulary = ["<blank>", *words]
    waves = [read_wav(path / f"{stem}.wav") for stem, _ in lines]
    longest = max(len(w) for w in waves)
    length = max(longest, audio.FRAME_LENGTH)
    padded = np.zeros((len(waves), length), "float32")
    for i, w in enumerate(waves):
        padded[i, : len(w)] = w
    x = audio.log_mel_spectrogram(padded)
    labels = np.zeros((len(lines), max(len(t) for _, t in lines)), "int32")
    for i, (_, text) in enumerate(lines):
        labels[i, : len(text)] = [vocabulary.index(w) for w in text]
    train, test = _split(len(x), seed, test_fraction, samples)
    return dict(
        x_train=x[train], y_train=labels[train], x_test=x[test], y_test=labels[test],
        model_kwargs={"input_shape": x.shape[1:], "vocab_size": len(words)},
        vocabulary=vocabulary,
    )  # fmt: skip


def _transcripts(path: Path) -> list[tuple[str, list[str]]]:
    file = path / TRANSCRIPTS
    if not file.is_file():
        raise DataError(
            f"{path} has no {TRANSCRIPTS}.",
            f"Add {TRANSCRIPTS} with a line 'FILE_STEM the words spoken' per .wav file.",
        )
    out = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        stem, _, text = line.strip().partition(" ")
        if not line.strip():
            continue
        if not text.strip():
            raise DataError(f"{file}, line {number}: no words after {stem!r}.")
        out.append((stem, text.lower().split()))
    if len(out) < 2:
        raise DataError(f"{file} lists {len(out)} recording(s); need at least 2.")
    return out


def read_wav(file: Path) -> np.ndarray:
    """A 16 kHz mono 16-bit PCM WAV file as float32 samples in [-1, 1)."""
    try:
        with wave.open(str(file), "rb") as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            frames = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        raise DataError(f"Cannot read {file} as a WAV file ({e}).") from None
    if (rate, channels, width) != (audio.SAMPLE_RATE, 1, 2):
        raise DataError(
            f"{file} is {rate} Hz, {channels} channel(s), {8 * width}-bit; the zoo reads "
            f"{audio.SAMPLE_RATE} Hz mono 16-bit PCM.",
            f"Convert it, e.g. sox IN.wav -r {audio.SAMPLE_RATE} -c 1 -b 16 OUT.wav.",
        )
    return np.frombuffer(frames, "<i2").astype("float32") / 32768.0
