"""Speech recognizers: a spectrogram to per-frame token logits for CTC (Graves et al.
2006), where class 0 is the blank and 1..vocab_size the tokens."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def ctc_speech(
    input_shape: tuple[int, int, int] = (74, 40, 1),
    vocab_size: int = 10,
    filters: int = 32,
    units: int = 64,
    num_layers: int = 2,
) -> keras.Model:
    """A small DeepSpeech2-style recognizer (Amodei et al. 2016; keras-io's "Automatic
    Speech Recognition using CTC"): two 2D convolutions over the spectrogram (the first
    halves time and frequency, the second frequency), the frames' features flattened,
    bidirectional GRUs, and a Dense layer to vocab_size + 1 logits a frame.

    Args:
        input_shape: (frames, mel_bins, 1) of one log-mel spectrogram.
        vocab_size: tokens (the blank is added as class 0).
        filters: channels of the convolutions.
        units: GRU units per direction.
        num_layers: bidirectional GRU layers.

    Returns:
        A Functional `keras.Model` returning (batch, ceil(frames / 2), vocab_size + 1).
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    vocab_size = _checks.positive_int("vocab_size", vocab_size)
    filters = _checks.positive_int("filters", filters)
    units = _checks.positive_int("units", units)
    num_layers = _checks.positive_int("num_layers", num_layers)
    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = inputs
    for i, strides in enumerate(((2, 2), (1, 2)), start=1):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                          name=f"conv{i}")(x)  # fmt: skip
        x = layers.BatchNormalization(name=f"conv{i}_bn")(x)
        x = layers.ReLU(name=f"conv{i}_relu")(x)
    frames, bins = x.shape[1], x.shape[2]
    x = layers.Reshape((frames, bins * filters), name="frames")(x)
    for i in range(1, num_layers + 1):
        x = layers.Bidirectional(layers.GRU(units, return_sequences=True), name=f"bigru{i}")(x)
    outputs = layers.Dense(vocab_size + 1, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="ctc_speech")
