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
    _check_transformer(vocab_size, embed_dim, num_heads, ff_dim, num_layers, dropout)
    sequence_length = _checks.positive_int("sequence_length", sequence_length)
    num_classes = _checks.positive_int("num_classes", num_classes)

    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    x = _embed(inputs, int(vocab_size), sequence_length, embed_dim, "encoder")
    for i in range(num_layers):
        x = encoder_block(x, num_heads, ff_dim, dropout, name=f"block_{i + 1}")
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="transformer_classifier")


def decoder_block(x, num_heads: int, ff_dim: int, dropout: float, name: str, context=None):
    """A pre-norm GPT-2-style decoder block: causal self-attention, optional
    cross-attention to `context` (the encoder's output), and a feed-forward network."""
    embed_dim = x.shape[-1]
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_self_norm")(x)
    h = layers.MultiHeadAttention(
        num_heads, embed_dim // num_heads, dropout=dropout, name=f"{name}_self_attention"
    )(h, h, use_causal_mask=True)
    x = layers.Add(name=f"{name}_self_add")([x, layers.Dropout(dropout)(h)])
    if context is not None:
        h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_cross_norm")(x)
        h = layers.MultiHeadAttention(
            num_heads, embed_dim // num_heads, dropout=dropout, name=f"{name}_cross_attention"
        )(h, context)
        x = layers.Add(name=f"{name}_cross_add")([x, layers.Dropout(dropout)(h)])
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ff_norm")(x)
    h = layers.Dense(ff_dim, activation="gelu", name=f"{name}_ff_in")(h)
    h = layers.Dense(embed_dim, name=f"{name}_ff_out")(h)
    return layers.Add(name=f"{name}_ff_add")([x, layers.Dropout(dropout)(h)])


def _embed(tokens, vocab_size, sequence_length, embed_dim, name):
    x = layers.Embedding(vocab_size, embed_dim, name=f"{name}_token_embedding")(tokens)
    return PositionEmbedding(sequence_length, name=f"{name}_position_embedding")(x)


def _check_transformer(vocab_size, embed_dim, num_heads, ff_dim, num_layers, dropout):
    _checks.positive_int("vocab_size", vocab_size)
    _checks.positive_int("embed_dim", embed_dim)
    _checks.positive_int("num_heads", num_heads)
    _checks.divisible("embed_dim", embed_dim, "num_heads", num_heads)
    _checks.positive_int("ff_dim", ff_dim)
    _checks.positive_int("num_layers", num_layers)
    _checks.fraction("dropout", dropout)


def gpt_tiny(
    vocab_size: int = 64,
    sequence_length: int = 64,
    embed_dim: int = 64,
    num_heads: int = 4,
    ff_dim: int = 256,
    num_layers: int = 2,
    dropout: float = 0.0,
) -> keras.Model:
    """A small decoder-only language model in the shape of GPT-2 (Radford et al. 2019).

    Token and learned position embeddings, `num_layers` pre-norm blocks of causal
    self-attention and a feed-forward network, a final LayerNorm, and a Dense head giving
    next-token logits at every position. Sample from a trained one with `zoo.generate`.

    Args:
        vocab_size: number of token ids.
        sequence_length: the context length.
        embed_dim: width of the model; must be divisible by `num_heads`.
        num_heads: attention heads per block.
        ff_dim: hidden width of each feed-forward network.
        num_layers: number of decoder blocks.
        dropout: dropout rate in the blocks.

    Returns:
        A Functional `keras.Model` mapping (batch, sequence_length) token ids to
        (batch, sequence_length, vocab_size) logits.
    """
    _check_transformer(vocab_size, embed_dim, num_heads, ff_dim, num_layers, dropout)
    sequence_length = _checks.positive_int("sequence_length", sequence_length)

    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    x = _embed(inputs, int(vocab_size), sequence_length, embed_dim, "decoder")
    for i in range(num_layers):
        x = decoder_block(x, num_heads, ff_dim, dropout, name=f"block_{i + 1}")
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    outputs = layers.Dense(int(vocab_size), name="logits")(x)
    return keras.Model(inputs, outputs, name="gpt_tiny")


def transformer_summarizer(
    vocab_size: int = 32,
    source_length: int = 24,
    target_length: int = 8,
    embed_dim: int = 64,
    num_heads: int = 4,
    ff_dim: int = 128,
    num_layers: int = 2,
    dropout: float = 0.0,
) -> keras.Model:
    """`transformer_seq2seq` sized for summarization: a longer source than target (24
    tokens to 8 by default); the decoder is decoded greedily to score ROUGE. The
    arguments are transformer_seq2seq's."""
    return _seq2seq(
        vocab_size, source_length, target_length, embed_dim, num_heads, ff_dim, num_layers,
        dropout, name="transformer_summarizer",
    )  # fmt: skip


def transformer_seq2seq(
    vocab_size: int = 32,
    source_length: int = 16,
    target_length: int = 16,
    embed_dim: int = 64,
    num_heads: int = 4,
    ff_dim: int = 128,
    num_layers: int = 2,
    dropout: float = 0.0,
) -> keras.Model:
    """An encoder-decoder Transformer (Vaswani et al. 2017) for sequence-to-sequence tasks.

    The encoder reads the source; the decoder reads the target shifted right (teacher
    forcing: token 1 is the start token) with causal self-attention and cross-attention
    to the encoder, and gives logits for each target position.

    Args:
        vocab_size: number of token ids, shared by source and target.
        source_length: source tokens per example.
        target_length: target tokens per example.
        embed_dim: width of the model; must be divisible by `num_heads`.
        num_heads: attention heads per block.
        ff_dim: hidden width of each feed-forward network.
        num_layers: number of encoder blocks and of decoder blocks.
        dropout: dropout rate in the blocks.

    Returns:
        A Functional `keras.Model` taking ``{"source": ids, "target": ids}`` and returning
        (batch, target_length, vocab_size) logits.
    """
    return _seq2seq(
        vocab_size, source_length, target_length, embed_dim, num_heads, ff_dim, num_layers,
        dropout, name="transformer_seq2seq",
    )  # fmt: skip


def _seq2seq(
    vocab_size, source_length, target_length, embed_dim, num_heads, ff_dim, num_layers,
    dropout, name: str,
) -> keras.Model:  # fmt: skip
    _check_transformer(vocab_size, embed_dim, num_heads, ff_dim, num_layers, dropout)
    source_length = _checks.positive_int("source_length", source_length)
    target_length = _checks.positive_int("target_length", target_length)

    source = keras.Input(shape=(source_length,), dtype="int32", name="source")
    target = keras.Input(shape=(target_length,), dtype="int32", name="target")
    context = _embed(source, int(vocab_size), source_length, embed_dim, "encoder")
    for i in range(num_layers):
        context = encoder_block(context, num_heads, ff_dim, dropout, name=f"encoder_{i + 1}")
    x = _embed(target, int(vocab_size), target_length, embed_dim, "decoder")
    for i in range(num_layers):
        x = decoder_block(x, num_heads, ff_dim, dropout, name=f"decoder_{i + 1}", context=context)
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    outputs = layers.Dense(int(vocab_size), name="logits")(x)
    return keras.Model({"source": source, "target": target}, outputs, name=name)
