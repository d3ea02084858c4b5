"""Recurrent networks over token sequences."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def lstm_classifier(
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    embedding_dim: int = 64,
    units: int = 64,
    dropout: float = 0.0,
) -> keras.Model:
    """Embedding, one LSTM reading the whole sequence, and a Dense classifier.

    Args:
        vocab_size: number of token ids (0 is padding).
        sequence_length: tokens per example.
        num_classes: number of classes; the model returns logits.
        embedding_dim: size of the token embeddings.
        units: size of the LSTM state.
        dropout: dropout rate on the final state.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    vocab_size = _checks.positive_int("vocab_size", vocab_size)
    sequence_length = _checks.positive_int("sequence_length", sequence_length)
    num_classes = _checks.positive_int("num_classes", num_classes)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    units = _checks.positive_int("units", units)
    dropout = _checks.fraction("dropout", dropout)

    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    x = layers.LSTM(units, name="lstm")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="lstm_classifier")
