"""The hashed bigrams of a token sequence, fastText's n-gram features."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class HashedBigrams(keras.layers.Layer):
    """Each pair of neighbouring token ids as one id in [1, buckets): the hashing trick of
    fastText (Joulin et al. 2016). A pair with padding (id 0) in it is 0, so it can be
    masked like padding.

    Args:
        vocab_size: the token ids' range (kept in the config; the hash needs no more).
        buckets: the size of the hashed range (at most 65,536).
    """

    def __init__(self, vocab_size: int, buckets: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.buckets = int(vocab_size), int(buckets)

    def call(self, tokens):
        tokens = ops.cast(tokens, "int32")
        first, second = tokens[:, :-1], tokens[:, 1:]
        # Mixed in int32 without overflow (JAX computes in int32): the first id reduced to
        # the buckets, times a prime, plus the second, reduced again.
        mixed = ops.mod(first, self.buckets) * 1031 + ops.mod(second, 1 << 20)
        hashed = 1 + ops.mod(mixed, self.buckets - 1)
        real = ops.logical_and(ops.greater(first, 0), ops.greater(second, 0))
        return ops.where(real, hashed, ops.zeros_like(hashed))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None if input_shape[1] is None else input_shape[1] - 1)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, buckets=self.buckets)
        return config
