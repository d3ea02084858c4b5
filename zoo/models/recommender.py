"""Recommenders over (user, item) id pairs."""

from __future__ import annotations

import keras
from keras import layers

from zoo.choices import check_positive
from zoo.layers import BiasedFactors, DotScores, GlobalBias
from zoo.models import _checks


def _ids(num_users, num_items):
    num_users = _checks.positive_int("num_users", num_users)
    num_items = _checks.positive_int("num_items", num_items)
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")
    return num_users, num_items, user, item


def _mlp(x, units: int, num_layers: int, name: str):
    """A tower of Dense + ReLU layers halving in width: units, units/2, ..."""
    for i in range(num_layers):
        x = layers.Dense(max(units // 2**i, 1), activation="relu", name=f"{name}_{i + 1}")(x)
    return x


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
    num_users, num_items, user, item = _ids(num_users, num_items)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    l2 = _checks.non_negative("l2", l2)
    reg = keras.regularizers.L2(l2) if l2 else None

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


def fast_factorization(
    num_users: int = 300,
    num_items: int = 200,
    embedding_dim: int = 8,
    l2: float = 0.01,
    target_mean: float = 0.0,
) -> keras.Model:
    """Biased matrix factorization built for time to target: the function of
    `matrix_factorization` (mu + b_u + b_i + p_u . q_i), trained in fewer and cheaper steps.

    What makes it fast:
      - mu starts at the mean rating of the training split (`target_mean`, which the zoo
        fills in from the data it trains on), not at 0. Adam moves a weight by about the
        learning rate a step, so a mean of 3.5 learned from 0 takes dozens of steps of a
        short run before the factors can matter; started there, the run spends its steps
        on the biases and factors;
      - one layer (`zoo.layers.BiasedFactors`) whose two tables hold each id's factors and
        its bias in one row: one gather per id and three variables, where
        `matrix_factorization` runs four Embedding lookups, a Dot, an Add and five
        variables (fewer graph operations to trace, and to run each step);
      - the L2 penalty falls on the factors of the batch's rows (`l2` times the batch mean
        of |p_u|^2 + |q_i|^2, the per-rating objective of Koren et al.), not on the whole
        tables every step: the gradient stays with the rows the batch touched.

    Args:
        num_users: number of user ids (0 .. num_users - 1).
        num_items: number of item ids (0 .. num_items - 1).
        embedding_dim: size of the user and item factors.
        l2: penalty on the batch's factors (see above).
        target_mean: mu's starting value; `zoo.train` sets it to the mean target of the
            training examples (the validation split left out).

    Returns:
        A Functional `keras.Model` taking ``{"user": ids, "item": ids}`` and returning
        (batch, 1) ratings.
    """
    num_users, num_items, user, item = _ids(num_users, num_items)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    l2 = _checks.non_negative("l2", l2)
    target_mean = _checks.finite("target_mean", target_mean)
    rating = BiasedFactors(
        num_users, num_items, embedding_dim, l2=l2, initial_mean=target_mean, name="factors"
    )({"user": user, "item": item})
    return keras.Model({"user": user, "item": item}, rating, name="fast_factorization")


def ncf(
    num_users: int = 300,
    num_items: int = 200,
    mf_dim: int = 8,
    mlp_units: int = 64,
    mlp_layers: int = 3,
) -> keras.Model:
    """Neural collaborative filtering, NeuMF (He et al. 2017): GMF and MLP paths fused.

    The GMF path multiplies user and item embeddings element-wise; the MLP path
    concatenates separate embeddings and passes them through Dense layers of width
    mlp_units, mlp_units/2, ...; a Dense layer on both outputs predicts the rating (the
    paper predicts implicit feedback; here the target is an explicit rating).

    Args:
        num_users, num_items: numbers of ids.
        mf_dim: size of the GMF embeddings.
        mlp_units: width of the first MLP layer; its embeddings have mlp_units / 2 each.
        mlp_layers: number of MLP layers.

    Returns:
        A Functional `keras.Model` taking ``{"user": ids, "item": ids}`` and returning
        (batch, 1) ratings.
    """
    num_users, num_items, user, item = _ids(num_users, num_items)
    mf_dim = _checks.positive_int("mf_dim", mf_dim)
    mlp_units = _checks.positive_int("mlp_units", mlp_units)
    mlp_layers = _checks.positive_int("mlp_layers", mlp_layers)
    half = max(mlp_units // 2, 1)

    # GMF path
    gmf = layers.Multiply(name="gmf")(
        [
            layers.Embedding(num_users, mf_dim, name="gmf_user")(user),
            layers.Embedding(num_items, mf_dim, name="gmf_item")(item),
        ]
    )
    # MLP path
    x = layers.Concatenate(name="mlp_concat")(
        [
            layers.Embedding(num_users, half, name="mlp_user")(user),
            layers.Embedding(num_items, half, name="mlp_item")(item),
        ]
    )
    x = _mlp(x, mlp_units, mlp_layers, "mlp")
    # Fusion
    x = layers.Concatenate(name="neumf")([gmf, x])
    rating = layers.Dense(1, name="rating")(x)
    return keras.Model({"user": user, "item": item}, rating, name="ncf")


def dcn(
    num_users: int = 300,
    num_items: int = 200,
    embedding_dim: int = 8,
    num_cross: int = 2,
    deep_units: int = 64,
    deep_layers: int = 2,
) -> keras.Model:
    """Deep & Cross Network v2 (Wang et al. 2021) with keras-rs `FeatureCross` layers.

    User and item embeddings are concatenated into x0; a cross network of `num_cross`
    layers (x_{l+1} = x0 * (W x_l + b) + x_l) and a deep network run in parallel, and a
    Dense layer on both predicts the rating.

    Args:
        num_users, num_items: numbers of ids.
        embedding_dim: size of each id's embedding.
        num_cross: number of cross layers.
        deep_units: width of the first deep layer (then halved).
        deep_layers: number of deep layers.

    Returns:
        A Functional `keras.Model` taking ``{"user": ids, "item": ids}`` and returning
        (batch, 1) ratings.
    """
    import keras_rs

    num_users, num_items, user, item = _ids(num_users, num_items)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    num_cross = _checks.positive_int("num_cross", num_cross)
    deep_units = _checks.positive_int("deep_units", deep_units)
    deep_layers = _checks.non_negative_int("deep_layers", deep_layers)

    x0 = layers.Concatenate(name="embeddings")(
        [
            layers.Embedding(num_users, embedding_dim, name="user_embedding")(user),
            layers.Embedding(num_items, embedding_dim, name="item_embedding")(item),
        ]
    )
    # Cross network
    cross = x0
    for i in range(num_cross):
        cross = keras_rs.layers.FeatureCross(name=f"cross_{i + 1}")(x0, cross)
    # Deep network
    deep = _mlp(x0, deep_units, deep_layers, "deep")
    x = layers.Concatenate(name="stack")([cross, deep]) if deep_layers else cross
    rating = layers.Dense(1, name="rating")(x)
    return keras.Model({"user": user, "item": item}, rating, name="dcn")


def _tower(num_ids: int, embedding_dim: int, units: int, name: str) -> keras.Model:
    ids = keras.Input(shape=(), dtype="int32", name=f"{name}_id")
    x = layers.Embedding(num_ids, embedding_dim, name=f"{name}_embedding")(ids)
    x = layers.Dense(units, activation="relu", name=f"{name}_hidden")(x)
    x = layers.Dense(embedding_dim, name=f"{name}_output")(x)
    x = layers.UnitNormalization(name=f"{name}_normalize")(x)
    return keras.Model(ids, x, name=f"{name}_tower")


def two_tower(
    num_users: int = 300,
    num_items: int = 200,
    embedding_dim: int = 16,
    tower_units: int = 64,
    temperature: float = 0.1,
) -> keras.Model:
    """A two-tower retrieval model trained with in-batch softmax (Yi et al. 2019).

    A user tower and an item tower (embedding, a hidden Dense layer, a linear projection,
    L2 normalization) map ids to vectors; the model returns the score of every user in
    the batch against every item in the batch, divided by `temperature`. Use the towers
    alone for serving: ``model.get_layer("user_tower")``, ``model.get_layer("item_tower")``.

    Args:
        num_users, num_items: numbers of ids.
        embedding_dim: size of the output vectors (and of the id embeddings).
        tower_units: width of each tower's hidden layer.
        temperature: divides the cosine scores; lower is sharper.

    Returns:
        A Functional `keras.Model` taking ``{"user": ids, "item": ids}`` and returning
        (batch, batch) scores.
    """
    num_users, num_items, user, item = _ids(num_users, num_items)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    tower_units = _checks.positive_int("tower_units", tower_units)
    check_positive("temperature", temperature, kind=float)

    queries = _tower(num_users, embedding_dim, tower_units, "user")(user)
    candidates = _tower(num_items, embedding_dim, tower_units, "item")(item)
    scores = DotScores(name="scores")(queries, candidates)
    scores = layers.Rescaling(1.0 / temperature, name="temperature")(scores)
    return keras.Model({"user": user, "item": item}, scores, name="two_tower")
