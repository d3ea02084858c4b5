"""`predict`: a trained model's output on one example, in a form a person can look at.

The example is a file (`.npy` of one example; for image models also a PNG or JPEG, read
with Pillow and scaled to the model's input as `zoo data` reads image folders; for speech
recognizers a 16 kHz mono WAV file) or an
example of the run's own test split, regenerated from result.json (synthetic data needs
no file). What comes back depends on the task: the class and its probability for a
classifier (image, text, audio, video), the per-pixel classes and the pixels of each for
a segmenter (`overlay` draws them over the image), the boxes of a detector (`draw_boxes`),
the transcript of a speech recognizer and the summary of a summarizer (greedy decoding,
as `zoo.scoring` scores them). Nothing here prints or writes: the CLI writes the picture.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from zoo import tasks
from zoo.errors import DataError, InvalidArgumentError

# The tasks `predict` shows, and what it shows for each.
CLASSIFIERS = (
    "image_classification",
    "text_classification",
    "audio_classification",
    "video_classification",
)
SEGMENTERS = ("semantic_segmentation",)
DETECTORS = ("object_detection",)
WRITERS = ("speech_recognition", "summarization")  # text out
SHOWN = CLASSIFIERS + SEGMENTERS + DETECTORS + WRITERS
IMAGE_FILES = (".png", ".jpg", ".jpeg")
# Colours of the classes on an overlay (class 0, the background, is left as it is).
PALETTE = np.array(
    [[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180],
     [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212]], dtype="uint8",
)  # fmt: skip


@dataclasses.dataclass
class Prediction:
    """One example's prediction: `task`, `input` (the example as the model took it),
    `label` (the class a classifier gives; None for a segmenter), `probabilities` (of a
    classifier's classes), `mask` (a segmenter's class per pixel) and `pixels` (per class
    of the mask, how many pixels), `boxes` (a detector's (class, x, y, width, height,
    score) in pixels, best first), `text` (a transcript or summary), and `truth` where the
    example came with its label (`truth_text`, `truth_boxes`: the same, decoded)."""

    model: str
    task: str
    source: str
    input: np.ndarray
    label: int | None = None
    probabilities: list[float] | None = None
    mask: np.ndarray | None = None
    pixels: dict[int, int] | None = None
    boxes: list[tuple] | None = None
    text: str | None = None
    truth: Any = None
    truth_text: str | None = None
    truth_boxes: list[tuple] | None = None

    def summary(self) -> dict[str, Any]:
        """The prediction as JSON-ready data (the mask as its per-class pixel counts)."""
        out = {"model": self.model, "task": self.task, "source": self.source}
        if self.label is not None:
            out.update(label=self.label, probabilities=self.probabilities)
        if self.pixels is not None:
            out["pixels"] = {str(k): v for k, v in self.pixels.items()}
        if self.boxes is not None:
            out["boxes"] = [_box_record(b) for b in self.boxes]
        if self.truth_boxes is not None:
            out["truth_boxes"] = [_box_record(b) for b in self.truth_boxes]
        if self.text is not None:
            out["text"] = self.text
        if self.truth_text is not None:
            out["truth_text"] = self.truth_text
        truth = None if self.truth is None else np.asarray(self.truth)
        if truth is not None and truth.ndim == 0:
            out["truth"] = int(truth)
        if truth is not None and self.mask is not None and truth.shape == self.mask.shape:
            out["pixel_accuracy"] = float((truth == self.mask).mean())
        return out


def predict(path: str | Path, example: str | Path | None = None, index: int = 0) -> Prediction:
    """The prediction of the model saved at `path` (a run folder or `.keras` file) on
    `example` (a file), or else on example `index` of the run's test split.

    Raises:
        ModelFileError: no loadable zoo model at `path`.
        InvalidArgumentError: a task predict does not show, or an index out of range.
        DataError: a file that cannot be read or does not fit the model.
    """
    from zoo.training import evaluation, feed, load_run

    if example is None:
        net, spec, data = evaluation.load_with_test_data(path)
        if not 0 <= index < len(data.y_test):
            raise InvalidArgumentError(
                f"--example {index} is not in the test split (0..{len(data.y_test) - 1}).",
                "Pass an index in range, or a file.",
            )
        x, truth = feed.take(data.x_test, index), data.y_test[index]
        source, vocabulary = f"test example {index}", data.vocabulary
    else:
        net, run = load_run(path)
        spec = evaluation.spec_of(net, run, Path(path))
        if spec.task == "summarization":
            raise InvalidArgumentError(
                f"{spec.name} summarizes token ids of its dataset; zoo predict reads no file "
                "for it.",
                "Leave INPUT out and pick a test example with --example N.",
            )
        x, truth, source = _read(Path(example), net), None, str(example)
        vocabulary = run.get("dataset", {}).get("vocabulary")
    task = tasks.get(spec.task)
    if task.name not in SHOWN:
        raise InvalidArgumentError(
            f"zoo predict shows classifiers, segmenters, detectors, transcripts and summaries; "
            f"{spec.name} is a {task.name} model.",
            "Use zoo evaluate for its metrics, or zoo generate for a language model.",
        )
    shown = x if isinstance(x, dict) else np.asarray(x)
    result = Prediction(spec.name, task.name, source, shown, truth=truth)
    if task.name in WRITERS:
        return _write(result, net, x, truth, vocabulary)
    logits = np.asarray(net.predict(_batch(x), verbose=0))[0].astype("float64")
    if task.name in DETECTORS:
        from zoo.data import boxes

        result.boxes = boxes.decode(logits, np.shape(x)[:2])
        if truth is not None:
            result.truth_boxes = boxes.decode_truth(np.asarray(truth), np.shape(x)[:2])
    elif task.name in SEGMENTERS:
        result.mask = logits.argmax(-1).astype("int32")
        classes, counts = np.unique(result.mask, return_counts=True)
        result.pixels = {int(c): int(n) for c, n in zip(classes, counts, strict=True)}
    else:
        p = np.exp(logits - logits.max())
        result.probabilities = [float(v) for v in p / p.sum()]
        result.label = int(np.argmax(p))
    return result


def _write(result: Prediction, net, x, truth, vocabulary) -> Prediction:
    """A transcript or a summary, decoded as `zoo.scoring` decodes them to score."""
    from zoo import scoring

    if result.task == "summarization":
        result.text = scoring.summaries(net, _batch(x), 1, vocabulary)[0]
        if truth is not None:
            result.truth_text = scoring.words(scoring.until_end(truth), vocabulary)
    else:
        result.text = scoring.transcripts(net, _batch(x), 1, vocabulary)[0]
        if truth is not None:
            result.truth_text = scoring.label_text(truth, vocabulary)
    return result


def _box_record(box: tuple) -> dict[str, Any]:
    names = ("class", "x", "y", "width", "height", "score")
    pairs = zip(names, box, strict=False)
    return {k: (int(v) if k == "class" else round(float(v), 4)) for k, v in pairs}


def draw_boxes(image: np.ndarray, found: list[tuple], scale: int = 1) -> np.ndarray:
    """The image as 8-bit RGB, scaled up `scale` times (nearest), with each box's outline
    in its class's PALETTE colour (class c drawn as c + 1: 0 is the background's); where
    outlines cross, the better box's (earlier in `found`) is on top."""
    x = np.asarray(image, dtype="float64")
    if x.ndim == 3 and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    lo, hi = float(x.min()), float(x.max())
    rgb = ((x - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(x)).astype("uint8")
    rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    height, width = rgb.shape[:2]
    for box in reversed(found):  # the best last, on top
        c, bx, by, bw, bh = box[:5]
        colour = PALETTE[(int(c) + 1) % len(PALETTE)]
        x0, y0 = int(round(bx * scale)), int(round(by * scale))
        x1, y1 = int(round((bx + bw) * scale)) - 1, int(round((by + bh) * scale)) - 1
        x0, y0 = max(0, min(x0, width - 1)), max(0, min(y0, height - 1))
        # a box under a pixel wide (an untrained model's) is drawn as its corner
        x1, y1 = max(x0, min(x1, width - 1)), max(y0, min(y1, height - 1))
        rgb[y0, x0 : x1 + 1] = rgb[y1, x0 : x1 + 1] = colour
        rgb[y0 : y1 + 1, x0] = rgb[y0 : y1 + 1, x1] = colour
    return rgb


def _batch(x):
    return {k: v[None] for k, v in x.items()} if isinstance(x, dict) else np.asarray(x)[None]


def _read(path: Path, net) -> np.ndarray:
    """One example from a file, checked against the model's input shape."""
    shape = tuple(net.inputs[0].shape[1:])
    if not path.is_file():
        raise DataError(f"No file at {path}.", "Pass a .npy file of one example, or an image.")
    if path.suffix.lower() in IMAGE_FILES:
        x = _read_image(path, shape)
    elif path.suffix.lower() == ".wav":
        x = _read_speech(path, shape)
    elif path.suffix.lower() == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"Cannot read {path} as a NumPy array ({e}).") from None
    else:
        raise DataError(
            f"{path.name}: zoo predict reads .npy files, PNG or JPEG images and .wav files.",
            "Save the example with numpy.save, or pass an image.",
        )
    if x.ndim != len(shape) or any(
        d not in (None, n) for d, n in zip(shape, x.shape, strict=False)
    ):
        raise DataError(
            f"{path.name} holds an example of shape {tuple(x.shape)}; the model takes {shape}.",
            "Pass one example (no batch axis) of the model's input shape.",
        )
    return x.astype(net.inputs[0].dtype if "int" in str(net.inputs[0].dtype) else "float32")


def _read_image(path: Path, shape: tuple) -> np.ndarray:
    """An image file as the model's (height, width, channels) input, in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    if len(shape) != 3:
        raise DataError(f"{path.name} is an image; the model takes inputs of shape {shape}.")
    height, width, channels = shape
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB").resize((width, height))
            x = np.asarray(image, dtype="float32") / 255.0
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"Cannot read {path} as an image ({e}).") from None
    return x[..., None] if channels == 1 else x


def _read_speech(path: Path, shape: tuple) -> np.ndarray:
    """A 16 kHz mono WAV file as the model's log-mel input, padded with silence to its
    frames (`zoo.data.local_domains` reads training folders the same way)."""
    from zoo.data import audio, local_domains

    if len(shape) != 3 or shape[1] != audio.MEL_BINS:
        raise DataError(f"{path.name} is audio; the model takes inputs of shape {shape}.")
    frames = int(shape[0])
    room = (frames - 1) * audio.FRAME_STEP + audio.FRAME_LENGTH
    wave = local_domains.read_wav(path)
    if 1 + (len(wave) - audio.FRAME_LENGTH) // audio.FRAME_STEP > frames:
        raise DataError(
            f"{path.name} lasts {len(wave) / audio.SAMPLE_RATE:.2f} s; the model hears "
            f"{room / audio.SAMPLE_RATE:.2f} s ({frames} frames).",
            "Cut the clip, or train a model on clips as long (its input_shape).",
        )
    padded = np.zeros((1, room), "float32")  # the samples after the last frame drop out
    padded[0, : min(len(wave), room)] = wave[:room]
    return audio.log_mel_spectrogram(padded)[0]


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image (height, width, channels; any range) as 8-bit RGB with each non-zero
    class of `mask` blended in its PALETTE colour; a picture for a person."""
    x = np.asarray(image, dtype="float64")
    if x.ndim == 3 and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    lo, hi = float(x.min()), float(x.max())
    rgb = (x - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(x)
    colours = PALETTE[np.asarray(mask) % len(PALETTE)].astype("float64")
    on = (np.asarray(mask) > 0)[..., None]
    out = np.where(on, (1 - alpha) * rgb + alpha * colours, rgb)
    return np.clip(out, 0, 255).astype("uint8")
