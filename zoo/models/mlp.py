"""Multi-layer perceptrons: stacked y = sigma(Wx + b)."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def mlp(
    input_shape: tuple[int, ...] = (28, 28, 1),
    num_classes: int = 10,
    hidden_units: int = 256,
    num_layers: int = 2,
    activation: str = "relu",
    dropout: float = 0.0,
) -> keras.Model:
    """A classifier of flattened inputs through `num_layers` Dense + activation layers.

    Each hidden layer is the seed's y = sigma(Wx + b), with sigma = `activation`.

    Args:
        input_shape: shape of one example; it is flattened first.
        num_classes: number of classes; the model returns logits.
        hidden_units: width of every hidden layer.
        num_layers: number of hidden layers (0 gives multinomial logistic regression).
        activation: a Keras activation name.
        dropout: dropout rate after each hidden layer.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape)
    num_classes = _checks.positive_int("num_classes", num_classes)
    hidden_units = _checks.positive_int("hidden_units", hidden_units)
    num_layers = _checks.non_negative_int("num_layers", num_layers)
    activation = _checks.activation("activation", activation)
    dropout = _checks.fraction("dropout", dropout)

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = layers.Flatten(name="flatten")(inputs)
    for i in range(num_layers):
        x = layers.Dense(hidden_units, activation=activation, name=f"dense_{i + 1}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="mlp")
