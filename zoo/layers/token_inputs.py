"""Inputs a Transformer backbone needs that follow from the token ids alone."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class PaddingMask(keras.layers.Layer):
    """1 where a token id is not `pad_id`, else 0 (int32), the backbone's padding mask.

    Args:
        pad_id: the padding token.
    """

    def __init__(self, pad_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = int(pad_id)

    def call(self, token_ids):
        return ops.cast(ops.not_equal(token_ids, self.pad_id), "int32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


@keras.saving.register_keras_serializable(package="zoo")
class SegmentIds(keras.layers.Layer):
    """All-zero segment ids (int32) of the token ids' shape: one segment per sequence."""

    def call(self, token_ids):
        return ops.zeros_like(token_ids, dtype="int32")

    def compute_output_shape(self, input_shape):
        return input_shape
