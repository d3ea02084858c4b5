"""Linear models: the seed's y = wx + b."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def linear_regression(num_features: int = 4) -> keras.Model:
    """The seed's linear model, y = wx + b, as one Dense unit.

    Trained with mean squared error on data drawn from y = wx + b + noise, its kernel and
    bias converge to the generating w and b.

    Args:
        num_features: length of the input vector x.

    Returns:
        A Functional `keras.Model` mapping (batch, num_features) to (batch, 1).
    """
    num_features = _checks.positive_int("num_features", num_features)
    inputs = keras.Input(shape=(num_features,), name="features")
    outputs = layers.Dense(1, name="linear")(inputs)
    return keras.Model(inputs, outputs, name="linear_regression")
