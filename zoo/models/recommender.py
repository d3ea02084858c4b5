"""Recommenders over (user, item) id pairs."""

from __future__ import annotations

import keras
from keras import layers

from zoo.layers import GlobalBias
from zoo.models import _checks


def matrix_factorization(
    num_users: int = 300,
    num_items: int = 200,
    embedding_dim: int = 8,
    l2: float = 1e-4,
) -> keras.Model:
    """Biased matrix factorization (Koren, Bell and Volinsky 2009).

    rating(u, i) = mu + b_u + b_i + p_u . q_i, with mu, the biases and the factors learned
    and the factors L2-regularized.

    Args:
        num_users: number of user ids (0 .. num_users - 1).
        num_items: number of item ids (0 .. num_items - 1).
        embedding_dim: size of the user and item factors.
        l2: L2 penalty on the factors.

    Returns:
        A Functional `keras.Model` taking ``{"user": ids, "item": ids}`` and returning
        (batch, 1) ratings.
    """
    num_users = _checks.positive_int("num_users", num_users)
    num_items = _checks.positive_int("num_items", num_items)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    l2 = _checks.non_negative("l2", l2)
    reg = keras.regularizers.L2(l2) if l2 else None

    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")
    p = layers.Embedding(num_users, embedding_dim, embeddings_regularizer=reg, name="user_factors")(
        user
    )
    q = layers.Embedding(num_items, embedding_dim, embeddings_regularizer=reg, name="item_factors")(
        item
    )
    b_u = layers.Embedding(num_users, 1, embeddings_initializer="zeros", name="user_bias")(user)
    b_i = layers.Embedding(num_items, 1, embeddings_initializer="zeros", name="item_bias")(item)
    dot = layers.Dot(axes=1, name="dot")([p, q])
    rating = GlobalBias(name="global_bias")(layers.Add(name="sum")([dot, b_u, b_i]))
    return keras.Model({"user": user, "item": item}, rating, name="matrix_factorization")
