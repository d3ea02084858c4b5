"""Convolutional networks for images."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def seed_cnn(input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """A faithful Keras port of the seed's PyTorch MNIST convnet `CNN`.

    conv1 = Conv2d(1, 32, 3, padding=1), conv2 = Conv2d(32, 64, 3, padding=1), one
    MaxPool2d(2), fc1 = Linear(?, 128), fc2 = Linear(128, 10); ReLU after conv1, conv2 and
    fc1; the output is logits (the seed trains it with CrossEntropyLoss).

    The seed sizes fc1 as 64 * 7 * 7, which is wrong: a single 2x2 pool of a 28x28 input
    leaves 14x14, so fc1 takes 64 * 14 * 14 = 12544 features and the seed's model fails on
    its first batch. Here Flatten infers the size from the shapes, and at the default
    input the model has exactly 1,625,866 parameters.

    Args:
        input_shape: (height, width, channels) of one image.
        num_classes: number of classes; the model returns logits.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="fc1")(x)
    outputs = layers.Dense(num_classes, name="fc2")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")
