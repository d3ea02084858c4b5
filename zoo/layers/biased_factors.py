"""Biased matrix factorization in one layer: mu + b_u + b_i + p_u . q_i."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class BiasedFactors(keras.layers.Layer):
    """Scores (user, item) id pairs as mu + b_u + b_i + p_u . q_i from two tables whose
    rows hold an id's factors and its bias (one gather per id), and a global mean mu.

    Args:
        num_users, num_items: numbers of ids (rows of each table).
        embedding_dim: size of the factors p_u and q_i.
        l2: penalty on the factors of the batch's rows, l2 * mean(|p_u|^2 + |q_i|^2) added
            to the loss (the regularizer of Koren, Bell and Volinsky's per-rating
            objective); the biases are not penalized.
        initial_mean: mu's starting value.
        init_std: standard deviation of the factors' normal initialization (the biases
            start at 0).

    Call arguments:
        inputs: a dict of "user" and "item" int ids, each of shape (batch,).

    Returns:
        (batch, 1) scores.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int,
        l2: float = 0.0,
        initial_mean: float = 0.0,
        init_std: float = 0.05,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_users, self.num_items = int(num_users), int(num_items)
        self.embedding_dim = int(embedding_dim)
        self.l2, self.initial_mean, self.init_std = float(l2), float(initial_mean), float(init_std)

    def build(self, input_shape):
        def table(name, rows):
            # the factors' columns drawn, the bias column (the last) zero
            def initializer(shape, dtype=None):
                factors = keras.random.normal(
                    (shape[0], shape[1] - 1), stddev=self.init_std, dtype=dtype
                )
                return ops.concatenate([factors, ops.zeros((shape[0], 1), dtype=dtype)], 1)

            return self.add_weight(
                name=name, shape=(rows, self.embedding_dim + 1), initializer=initializer
            )

        self.users = table("users", self.num_users)
        self.items = table("items", self.num_items)
        self.mean = self.add_weight(
            name="mean", shape=(), initializer=keras.initializers.Constant(self.initial_mean)
        )

    def call(self, inputs):
        d = self.embedding_dim
        p = ops.take(self.users, ops.cast(inputs["user"], "int32"), axis=0)
        q = ops.take(self.items, ops.cast(inputs["item"], "int32"), axis=0)
        p_f, q_f = p[:, :d], q[:, :d]
        scores = ops.sum(p_f * q_f, axis=1, keepdims=True) + p[:, d:] + q[:, d:]
        if self.l2:
            penalty = ops.sum(ops.square(p_f), axis=1) + ops.sum(ops.square(q_f), axis=1)
            self.add_loss(self.l2 * ops.cast(ops.mean(penalty), "float32"))
        return scores + ops.cast(self.mean, scores.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape["user"][0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_users=self.num_users,
            num_items=self.num_items,
            embedding_dim=self.embedding_dim,
            l2=self.l2,
            initial_mean=self.initial_mean,
            init_std=self.init_std,
        )
        return config
