"""The mean over a sequence's unmasked positions, zero where none is."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMean(keras.layers.Layer):
    """Averages (batch, steps, features) over the steps its mask keeps, as
    `GlobalAveragePooling1D` does, but a sequence with no kept step (an empty text, or a
    one-word text's bigrams) averages to zeros instead of 0 / 0 = NaN, which poisons the
    loss of the whole batch. Without a mask it is the plain mean."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        kept = ops.cast(ops.expand_dims(mask, -1), inputs.dtype)
        count = ops.maximum(ops.sum(kept, axis=1), ops.cast(1, inputs.dtype))
        return ops.sum(inputs * kept, axis=1) / count

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
