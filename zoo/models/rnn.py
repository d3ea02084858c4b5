"""Recurrent networks over token sequences."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def _recurrent_classifier(
    name, rnn_layer, vocab_size, sequence_length, num_classes, embedding_dim, dropout
):
    """Embedding, a recurrent layer that returns its final state, and a Dense classifier."""
    vocab_size = _checks.positive_int("vocab_size", vocab_size)
    sequence_length = _checks.positive_int("sequence_length", sequence_length)
    num_classes = _checks.positive_int("num_classes", num_classes)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    dropout = _checks.fraction("dropout", dropout)

    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    x = rnn_layer(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


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
    units = _checks.positive_int("units", units)
    return _recurrent_classifier(
        "lstm_classifier",
        layers.LSTM(units, name="lstm"),
        vocab_size,
        sequence_length,
        num_classes,
        embedding_dim,
        dropout,
    )


def gru_classifier(
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    embedding_dim: int = 64,
    units: int = 64,
    dropout: float = 0.0,
) -> keras.Model:
    """Embedding, one GRU (Cho et al. 2014), and a Dense classifier; arguments as
    `lstm_classifier`."""
    units = _checks.positive_int("units", units)
    return _recurrent_classifier(
        "gru_classifier",
        layers.GRU(units, name="gru"),
        vocab_size,
        sequence_length,
        num_classes,
        embedding_dim,
        dropout,
    )


def bilstm_classifier(
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    embedding_dim: int = 64,
    units: int = 32,
    dropout: float = 0.0,
) -> keras.Model:
    """Embedding, a bidirectional LSTM (final states of both directions concatenated),
    and a Dense classifier; `units` is the state size of each direction."""
    units = _checks.positive_int("units", units)
    rnn = layers.Bidirectional(layers.LSTM(units), name="bilstm")
    return _recurrent_classifier(
        "bilstm_classifier", rnn, vocab_size, sequence_length, num_classes, embedding_dim, dropout
    )


def simple_rnn(
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    embedding_dim: int = 64,
    units: int = 64,
    dropout: float = 0.0,
) -> keras.Model:
    """The seed's recurrence h_t = tanh(W h_{t-1} + U x_t + b) over token embeddings, then
    a Dense classifier on the last state (Elman 1990)."""
    units = _checks.positive_int("units", units)
    return _recurrent_classifier(
        "simple_rnn",
        layers.SimpleRNN(units, name="rnn"),
        vocab_size,
        sequence_length,
        num_classes,
        embedding_dim,
        dropout,
    )


def lstm_forecaster(
    window: int = 48,
    horizon: int = 8,
    num_series: int = 1,
    units: int = 64,
) -> keras.Model:
    """An LSTM that reads a window of a series and predicts its next `horizon` values.

    Args:
        window: past time steps per example.
        horizon: future time steps predicted at once.
        num_series: variables per time step; all are read, the first is predicted.
        units: size of the LSTM state.

    Returns:
        A Functional `keras.Model` mapping (batch, window, num_series) to (batch, horizon).
    """
    window = _checks.positive_int("window", window)
    horizon = _checks.positive_int("horizon", horizon)
    num_series = _checks.positive_int("num_series", num_series)
    units = _checks.positive_int("units", units)

    inputs = keras.Input(shape=(window, num_series), name="window")
    x = layers.LSTM(units, name="lstm")(inputs)
    outputs = layers.Dense(horizon, name="forecast")(x)
    return keras.Model(inputs, outputs, name="lstm_forecaster")
