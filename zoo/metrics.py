"""Losses and metrics the zoo's tasks need beyond Keras' own, registered as serializable.

- `Perplexity`: exp of the mean token cross-entropy, for language models.
- `InBatchSoftmax`: the retrieval loss of two-tower models, where every other item in the
  batch is a negative (Yi et al. 2019); items equal to the positive count as positives.
- `InBatchRecallAtK`: keras-rs' RecallAtK over the in-batch candidates.
"""

from __future__ import annotations

import keras
import keras_rs
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class Perplexity(keras.metrics.Metric):
    """exp(mean sparse categorical cross-entropy) of logits, over all tokens seen."""

    def __init__(self, name="perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        self.total.assign_add(ops.sum(ops.cast(ce, "float32")))
        self.count.assign_add(ops.cast(ops.size(ce), "float32"))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total, self.count))


def _relevance(item_ids):
    """(batch,) item ids -> (batch, batch) 1.0 where row and column hold the same item."""
    ids = ops.reshape(item_ids, (-1,))
    return ops.cast(ops.equal(ids[:, None], ids[None, :]), "float32")


@keras.saving.register_keras_serializable(package="zoo")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels smoothed by `label_smoothing`: the
    target puts 1 - eps on the label and eps spread evenly over every class (Keras'
    CategoricalCrossentropy's smoothing, without one-hot labels)."""

    def __init__(
        self, label_smoothing: float = 0.1, name="sparse_categorical_crossentropy", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        logp = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        labels = ops.expand_dims(ops.cast(ops.reshape(y_true, (-1,)), "int32"), -1)
        nll = -ops.squeeze(ops.take_along_axis(logp, labels, axis=-1), -1)
        uniform = -ops.mean(logp, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="zoo")
class InBatchSoftmax(keras.losses.Loss):
    """Softmax cross-entropy over in-batch candidates.

    y_true: the positive item id of each row, shape (batch,).
    y_pred: scores of every row's query against every row's item, shape (batch, batch).
    """

    def __init__(self, name="in_batch_softmax", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        relevance = _relevance(y_true)
        labels = relevance / ops.sum(relevance, axis=1, keepdims=True)
        return keras.losses.categorical_crossentropy(labels, y_pred, from_logits=True)


@keras.saving.register_keras_serializable(package="zoo")
class InBatchRecallAtK(keras_rs.metrics.RecallAtK):
    """keras-rs RecallAtK where y_true is the positive item id of each row."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(_relevance(y_true), y_pred, sample_weight)


@keras.saving.register_keras_serializable(package="zoo")
class CenterNetLoss(keras.losses.Loss):
    """CenterNet's loss (Zhou et al. 2019, Objects as Points) on `zoo.data.boxes` maps.

    y_true, y_pred: (batch, grid_h, grid_w, num_classes + 4): the class heat maps (labels:
    Gaussian peaks of 1 at object centres; predictions: logits), then the box's width
    and height and the centre's offset in its cell. The loss is the penalty-reduced focal
    loss of the heat maps (alpha 2, beta 4) plus `size_weight` times the L1 error of the
    size and the L1 error of the offset at the true centres, each over the number of
    objects in the image.
    """

    def __init__(self, size_weight: float = 0.1, name="centernet", **kwargs):
        super().__init__(name=name, **kwargs)
        self.size_weight = float(size_weight)

    def call(self, y_true, y_pred):
        y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
        k = ops.shape(y_true)[-1] - 4
        heat, logits = y_true[..., :k], y_pred[..., :k]
        p = ops.sigmoid(logits)
        centre = ops.cast(ops.equal(heat, 1.0), "float32")
        # log p and log(1 - p) from the logits, stable at both ends
        pos = -ops.softplus(-logits) * ops.square(1.0 - p) * centre
        neg = -ops.softplus(logits) * ops.square(p) * ops.power(1.0 - heat, 4.0) * (1 - centre)
        objects = ops.maximum(ops.sum(centre, axis=(1, 2, 3)), 1.0)
        focal = -ops.sum(pos + neg, axis=(1, 2, 3)) / objects
        at = ops.max(centre, axis=-1, keepdims=True)  # the cells that hold a centre
        error = ops.abs(y_true[..., k:] - y_pred[..., k:]) * at
        size = ops.sum(error[..., :2], axis=(1, 2, 3)) / objects
        offset = ops.sum(error[..., 2:], axis=(1, 2, 3)) / objects
        return focal + self.size_weight * size + offset

    def get_config(self):
        return {**super().get_config(), "size_weight": self.size_weight}
