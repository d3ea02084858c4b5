"""Semantic segmentation: a class for every pixel of an image."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def _conv_block(x, width: int, name: str):
    for j in (1, 2):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv{j}")(x)
        x = layers.BatchNormalization(name=f"{name}_norm{j}")(x)
        x = layers.ReLU(name=f"{name}_relu{j}")(x)
    return x


def unet(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 4,
    widths: tuple[int, ...] = (16, 32, 64),
) -> keras.Model:
    """A small U-Net (Ronneberger et al. 2015; keras-io's oxford_pets_image_segmentation):
    an encoder of two-convolution blocks halving the resolution between them, a decoder
    that doubles it back (a transposed convolution) and concatenates the encoder's block
    of the same resolution (the skip connection), and a 1x1 convolution to per-pixel
    class logits.

    Args:
        input_shape: (height, width, channels) of one image; height and width divisible by
            2 ** (len(widths) - 1).
        num_classes: number of classes (the background is one); the model returns logits.
        widths: channels of each encoder block, from the full resolution down.

    Returns:
        A Functional `keras.Model` returning (batch, height, width, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)
    widths = tuple(_checks.positive_int("widths", w) for w in widths)
    for side, size in zip(("height", "width"), input_shape[:2], strict=False):
        _checks.divisible(side, size, "2 ** (len(widths) - 1)", 2 ** (len(widths) - 1))

    inputs = keras.Input(shape=input_shape, name="image")
    skips, x = [], inputs
    for i, width in enumerate(widths[:-1], start=1):
        x = _conv_block(x, width, f"down{i}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"down{i}_pool")(x)
    x = _conv_block(x, widths[-1], "bottom")
    for i, (width, skip) in enumerate(zip(widths[-2::-1], skips[::-1], strict=True), start=1):
        x = layers.Conv2DTranspose(width, 2, strides=2, name=f"up{i}_upsample")(x)
        x = layers.Concatenate(name=f"up{i}_skip")([x, skip])
        x = _conv_block(x, width, f"up{i}")
    outputs = layers.Conv2D(num_classes, 1, name="logits")(x)
    return keras.Model(inputs, outputs, name="unet")
