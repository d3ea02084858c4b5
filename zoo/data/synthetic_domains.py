"""Synthetic datasets of the sequence-output and box-output tasks, each from a known rule
with a known optimum (as `zoo.data.synthetic`'s):

- summarization: a source of filler tokens with a few content tokens (ids in the upper
  half of the vocabulary) scattered through it; the summary is the content tokens in
  order, then the end token. The summary is a function of the source, so the optimum
  ROUGE-1/2/L and token accuracy are 1.
- speech_recognition: digit strings (2-5 digits) spoken by a fixed rule: each digit is a
  pair of tones at its own frequencies lasting 120-200 ms, with 50-100 ms of silence
  between digits, in white noise 10 dB below the tones; 1.5 s of 16 kHz audio as log-mel
  spectrograms. The tones' bands are apart and the gaps mark repeated digits, so the
  optimum WER and CER are 0.
- object_detection: 1-3 objects on noise, each a filled square, a filled disk or a square
  frame 2 pixels wide (classes 0-2) of random size and position, apart from each other;
  the label is each object's tight pixel box and class (encoded as `boxes.encode` target
  maps). The boxes are a function of the noise-free image and the shapes stand 6 noise
  deviations or more above the background, so the optimum COCO mAP is 1.
"""

from __future__ import annotations

import numpy as np

from zoo.data import boxes
from zoo.data.dataset import Dataset
from zoo.data.synthetic import SHAPES, _shape_mask, _streams, _synthetic
from zoo.errors import InvalidArgumentError
from zoo.scoring import END, START


def summarization(
    seed: int = 0,
    samples: int = 4000,
    vocab_size: int = 32,
    source_length: int = 24,
    target_length: int = 8,
) -> Dataset:
    """Sources with 2 to target_length - 1 content tokens; the summary lists them."""
    if vocab_size < 8 or target_length < 3 or source_length < target_length:
        raise InvalidArgumentError(
            "summarization's synthetic data needs vocab_size >= 8, target_length >= 3 and "
            f"source_length >= target_length; received vocab_size={vocab_size}, "
            f"source_length={source_length}, target_length={target_length}.",
            "Use the defaults (32, 24, 8).",
        )
    _, train, test = _streams(seed)
    content = (END + 1 + vocab_size) // 2  # ids >= content are content tokens

    def draw(rng, n):
        source = rng.integers(END + 1, content, size=(n, source_length)).astype("int32")
        summary = np.zeros((n, target_length), "int32")
        for i in range(n):
            k = int(rng.integers(2, target_length))
            where = np.sort(rng.choice(source_length, size=k, replace=False))
            tokens = rng.integers(content, vocab_size, size=k)
            source[i, where] = tokens
            summary[i, :k], summary[i, k] = tokens, END
        decoder_in = np.concatenate([np.full((n, 1), START, "int32"), summary[:, :-1]], axis=1)
        return {"source": source, "target": decoder_in}, summary

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    params = {"seed": seed, "samples": samples, "vocab_size": vocab_size}
    lengths = {"source_length": source_length, "target_length": target_length}
    return _synthetic(
        "summarization",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"vocab_size": vocab_size, **lengths},
        optimum={"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "accuracy": 1.0},
        params={**params, **lengths},
    )


DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPEECH_VOCABULARY = ["<blank>", *DIGITS]  # CTC label ids: 0 is the blank


def speech_recognition(
    seed: int = 0, samples: int = 2000, max_digits: int = 5, snr_db: float = 10.0
) -> Dataset:
    """Digit strings as tone pairs with silences between; the label is the digits."""
    from zoo.data import audio

    if not 1 <= max_digits <= 5:
        raise InvalidArgumentError(
            f"max_digits must be 1-5 (1.5 s of audio); received max_digits={max_digits}.",
            "Use the default, 5.",
        )
    rule, train, test = _streams(seed)
    grid = 700.0 * np.expm1(
        np.linspace(*audio._hertz_to_mel([300.0, 6000.0]), 2 * len(DIGITS)) / 1127.0
    )
    tones = rule.permutation(grid).reshape(len(DIGITS), 2)
    rate, total = audio.SAMPLE_RATE, int(1.5 * audio.SAMPLE_RATE)
    t = np.arange(total) / rate
    noise_std = np.sqrt(1.0 / 10 ** (snr_db / 10))  # each tone has power 1/2

    def utterance(rng, digits):
        wave = np.zeros(total)
        at = rng.uniform(0.0, 0.1)
        for d in digits:
            length = rng.uniform(0.12, 0.2)
            on = (t >= at) & (t < at + length)
            phase = rng.uniform(0, 2 * np.pi, size=2)
            wave[on] += np.sin(2 * np.pi * tones[d][:, None] * t[on] + phase[:, None]).sum(0)
            at += length + rng.uniform(0.05, 0.1)
        return wave + rng.normal(scale=noise_std, size=total)

    def draw(rng, n):
        labels = np.zeros((n, max_digits), "int32")
        x = []
        for start in range(0, n, 256):  # 256 waveforms at a time: 50 MB
            waves = []
            for i in range(start, min(start + 256, n)):
                digits = rng.integers(0, len(DIGITS), size=int(rng.integers(2, max_digits + 1)))
                labels[i, : len(digits)] = digits + 1
                waves.append(utterance(rng, digits))
            x.append(audio.log_mel_spectrogram(np.stack(waves).astype("float32")))
        return np.concatenate(x), labels

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    dataset = _synthetic(
        "speech_recognition",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"input_shape": x_train.shape[1:], "vocab_size": len(DIGITS)},
        optimum={"wer": 0.0, "cer": 0.0},
        params={"seed": seed, "samples": samples, "max_digits": max_digits, "snr_db": snr_db},
        truth={"tones_hz": tones},
    )
    dataset.vocabulary = list(SPEECH_VOCABULARY)
    return dataset


def _place(rng, size: int, taken: list[tuple]) -> tuple | None:
    """A square region (radius, cy, cx) apart from every taken one, or None."""
    for _ in range(50):
        radius = float(rng.uniform(3.0, size / 5))
        cy, cx = (float(v) for v in rng.uniform(radius + 1, size - radius - 2, size=2))
        if all(abs(cy - y) > radius + r + 2 or abs(cx - x) > radius + r + 2 for r, y, x in taken):
            return radius, cy, cx
    return None


def object_detection(
    seed: int = 0,
    samples: int = 3000,
    image_size: int = 32,
    channels: int = 3,
    max_objects: int = 3,
    noise_std: float = 0.1,
) -> Dataset:
    """1 to max_objects shapes an image; the label is their boxes and classes."""
    if image_size < 16 or image_size % boxes.STRIDE:
        raise InvalidArgumentError(
            f"object_detection's synthetic images need a side of 16 or more that "
            f"{boxes.STRIDE} divides; received image_size={image_size}.",
            "Use 32 (the default) or 64.",
        )
    _, train, test = _streams(seed)

    def draw(rng, n):
        x = rng.normal(scale=noise_std, size=(n, image_size, image_size, channels))
        y = np.zeros((n, boxes.grid(image_size), boxes.grid(image_size), 3 + boxes.EXTRA))
        for i in range(n):
            taken, found = [], []
            for _ in range(int(rng.integers(1, max_objects + 1))):
                region = _place(rng, image_size, taken)
                if region is None:
                    continue
                taken.append(region)
                kind = int(rng.integers(len(SHAPES)))
                mask = _shape_mask(SHAPES[kind], image_size, *region)
                x[i][mask] += rng.uniform(0.6, 1.0)
                rows, cols = np.nonzero(mask)
                found.append(
                    (kind, cols.min(), rows.min(), cols.max() - cols.min() + 1,
                     rows.max() - rows.min() + 1)
                )  # fmt: skip
            y[i] = boxes.encode(found, (image_size, image_size), len(SHAPES))
        return x.astype("float32"), y.astype("float32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    return _synthetic(
        "object_detection",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={
            "input_shape": (image_size, image_size, channels),
            "num_classes": len(SHAPES),
        },
        optimum={"map": 1.0, "map_50": 1.0},
        params={
            "seed": seed,
            "samples": samples,
            "image_size": image_size,
            "channels": channels,
            "max_objects": max_objects,
            "noise_std": noise_std,
        },
    )


GENERATORS = {
    "summarization": summarization,
    "speech_recognition": speech_recognition,
    "object_detection": object_detection,
}
