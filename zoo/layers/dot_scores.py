"""Scores of every query against every candidate of a batch."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class DotScores(keras.layers.Layer):
    """(batch, d) queries and (batch, d) candidates -> (batch, batch) dot products.

    Row i holds query i's score for every candidate in the batch: the in-batch logits of
    a two-tower retrieval model.
    """

    def call(self, queries, candidates):
        return ops.matmul(queries, ops.transpose(candidates))

    def compute_output_shape(self, queries_shape, candidates_shape):
        return (queries_shape[0], candidates_shape[0])
