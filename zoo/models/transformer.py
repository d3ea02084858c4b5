"""Transformer models built from Keras attention layers."""

from __future__ import annotations

import keras
from keras import layers

from zoo.layers import PositionEmbedding
from zoo.models import _checks


def encoder_block(x, num_heads: int, ff_dim: int, dropout: float, name: str):
    """One post-norm Transformer encoder block (Vaswani et al. 2017) on a tensor."""
    embed_dim = x.shape[-1]
    attn = layers.MultiHeadAttention(
        num_heads, embed_dim // num_heads, dropout=dropout, name=f"{name}_attention"
    )(x, x)
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_attention_norm")(
        layers.Add(name=f"{name}_attention_add")([x, layers.Dropout(dropout)(attn)])
    )
    ff = layers.Dense(ff_dim, activation="gelu", name=f"{name}_ff_in")(x)
    ff = layers.Dense(embed_dim, name=f"{name}_ff_out")(ff)
    return layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ff_norm")(
        layers.Add(name=f"{name}_ff_add")([x, layers.Dropout(dropout)(ff)])
    )


def transformer_classifier(
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    embed_dim: int = 64,
    num_heads: int = 4,
    ff_dim: int = 128,
    num_layers: int = 1,
    dropout: float = 0.1,
) -> keras.Model:
    """A Transformer encoder text classifier, after the keras-io example.

    Token and learned position embeddings, `num_layers` encoder blocks of multi-head
    self-attention and a feed-forward network, mean pooling over positions, and a Dense
    classifier.

    Args:
        vocab_size: number of token ids (0 is padding).
        sequence_length: tokens per example.
        num_classes: number of classes; the model returns logits.
        embed_dim: width of the model; must be divisible by `num_heads`.
        num_heads: attention heads per block.
        ff_dim: hidden width of each feed-forward network.
        num_layers: number of encoder blocks.
        dropout: dropout rate in the blocks and before the classifier.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    vocab_size = _checks.positive_int("vocab_size", vocab_size)
    sequence_length = _checks.positive_int("sequence_length", sequence_length)
    num_classes = _checks.positive_int("num_classes", num_classes)
    embed_dim = _checks.positive_int("embed_dim", embed_dim)
    num_heads = _checks.positive_int("num_heads", num_heads)
    _checks.divisible("embed_dim", embed_dim, "num_heads", num_heads)
    ff_dim = _checks.positive_int("ff_dim", ff_dim)
    num_layers = _checks.positive_int("num_layers", num_layers)
    dropout = _checks.fraction("dropout", dropout)

    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim, name="token_embedding")(inputs)
    x = PositionEmbedding(sequence_length, name="position_embedding")(x)
    for i in range(num_layers):
        x = encoder_block(x, num_heads, ff_dim, dropout, name=f"block_{i + 1}")
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="transformer_classifier")
