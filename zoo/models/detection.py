"""Object detectors: CenterNet-style heads (Zhou et al. 2019, Objects as Points) that
predict, on a grid 4 times coarser than the image, a heat map per class, the box size and
the centre's offset (`zoo.data.boxes` decodes them into boxes)."""

from __future__ import annotations

import math

import keras
from keras import layers

from zoo.data import boxes
from zoo.models import _checks

# CenterNet's heat-map bias: sigmoid(-2.19) = 0.1, so the focal loss starts small
HEAT_BIAS = -math.log((1 - 0.1) / 0.1)


def _conv(x, filters: int, name: str, strides: int = 1):
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def centernet_head(x, num_classes: int, width: int) -> keras.KerasTensor:
    """CenterNet's heads on stride-4 features: a 3x3 conv and a 1x1 conv each, one to the
    class heat-map logits (biased to 0.1), one to the box size and centre offset; joined
    on the channel axis (the `zoo.data.boxes` layout)."""
    heat = layers.Conv2D(width, 3, padding="same", activation="relu", name="heat_conv")(x)
    heat = layers.Conv2D(
        num_classes, 1, bias_initializer=keras.initializers.Constant(HEAT_BIAS), name="heat"
    )(heat)
    box = layers.Conv2D(width, 3, padding="same", activation="relu", name="box_conv")(x)
    box = layers.Conv2D(boxes.EXTRA, 1, name="box")(box)
    return layers.Concatenate(name="detections", dtype="float32")([heat, box])


def check_image(input_shape, multiple: int) -> tuple[int, int, int]:
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    for side, size in zip(("height", "width"), input_shape[:2], strict=False):
        _checks.divisible(side, size, "the detector's largest stride", multiple)
    return input_shape


def centernet_tiny(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 3,
    widths: tuple[int, int, int] = (16, 32, 64),
) -> keras.Model:
    """A compact CenterNet of ours: conv blocks (BatchNorm, ReLU) at strides 1, 2, 4 and 8,
    the stride-8 features upsampled and added to the stride-4 ones (a one-level feature
    pyramid, so a cell sees the whole object), then CenterNet's heads.

    Args:
        input_shape: (height, width, channels) of one image; height and width multiples
            of 8.
        num_classes: object classes.
        widths: channels at strides 1-2, 4 and 8.

    Returns:
        A Functional `keras.Model` returning (batch, height/4, width/4, num_classes + 4).
    """
    input_shape = check_image(input_shape, 8)
    num_classes = _checks.positive_int("num_classes", num_classes)
    w1, w2, w3 = (_checks.positive_int("widths", w) for w in widths)
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, w1, "stem")
    x = _conv(x, w1, "down2", strides=2)
    x = _conv(x, w2, "down4", strides=2)
    fine = _conv(x, w2, "stride4")
    x = _conv(fine, w3, "down8", strides=2)
    x = _conv(x, w3, "stride8")
    x = layers.Conv2DTranspose(w2, 2, strides=2, name="up4")(x)
    x = layers.Add(name="fuse")([x, fine])
    x = _conv(x, w2, "neck")
    return keras.Model(inputs, centernet_head(x, num_classes, w2), name="centernet_tiny")
