"""Synthetic datasets, one per task: seeded, NumPy only, generated from a known rule.

They are not noise. Each is drawn from a rule a model of its task can learn, and each
reports the best value a model can expect on its test split (`optimum`), so a test can
compare what a model reached with what was reachable:

- regression: y = x.w + b + N(0, noise_std^2); the optimum MSE is noise_std^2.
- image_classification: one smooth template per class plus isotropic Gaussian noise;
  the Bayes classifier is "nearest template", and its accuracy on the test split is the
  optimum.
- text_classification: filler tokens with a few marker tokens that belong to the class;
  the markers decide the class, so the optimum accuracy is 1.
- rating_prediction: global mean + user and item biases + a rank-r dot product, plus
  N(0, noise_std^2); the optimum RMSE is noise_std.

The rule is drawn from one random stream and the train and test examples from two
others, so the test split depends only on the seed and its own size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Dataset:
    """Train and test arrays (NumPy, or dicts of them for multi-input tasks)."""

    name: str
    task: str
    x_train: Any
    y_train: np.ndarray
    x_test: Any
    y_test: np.ndarray
    model_kwargs: dict[str, Any]  # hyper-parameters the model must take to fit this data
    optimum: dict[str, float] = field(default_factory=dict)  # best expected test metrics
    params: dict[str, Any] = field(default_factory=dict)  # how to regenerate it (JSON-able)
    truth: dict[str, Any] = field(default_factory=dict)  # the generating rule, for tests

    @property
    def num_train(self) -> int:
        return len(self.y_train)

    @property
    def num_test(self) -> int:
        return len(self.y_test)


def _streams(seed: int):
    return (np.random.default_rng([seed, k]) for k in range(3))


def regression(
    seed: int = 0, samples: int = 4096, num_features: int = 4, noise_std: float = 0.1
) -> Dataset:
    rule, train, test = _streams(seed)
    w = rule.uniform(-2.0, 2.0, size=num_features).astype("float32")
    b = float(rule.uniform(-1.0, 1.0))

    def draw(rng, n):
        x = rng.normal(size=(n, num_features)).astype("float32")
        y = x @ w + b + rng.normal(scale=noise_std, size=n).astype("float32")
        return x, y.astype("float32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 4, 1))
    return Dataset(
        name="synthetic",
        task="regression",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        model_kwargs={"num_features": num_features},
        optimum={"mse": noise_std**2, "mae": noise_std * math.sqrt(2 / math.pi)},
        params={
            "seed": seed,
            "samples": samples,
            "num_features": num_features,
            "noise_std": noise_std,
        },
        truth={"w": w, "b": b},
    )


def _smooth_templates(rng, num_classes, size, channels):
    """Smooth random images in [0, 1]: 7x7 noise upsampled and blurred."""
    coarse = rng.uniform(size=(num_classes, 7, 7, channels))
    reps = math.ceil(size / 7)
    fine = coarse.repeat(reps, axis=1).repeat(reps, axis=2)[:, :size, :size]
    kernel = np.ones(3) / 3  # separable box blur, twice
    for _ in range(2):
        for axis in (1, 2):
            fine = np.apply_along_axis(lambda v: np.convolve(v, kernel, "same"), axis, fine)
    lo = fine.min(axis=(1, 2, 3), keepdims=True)
    hi = fine.max(axis=(1, 2, 3), keepdims=True)
    return ((fine - lo) / (hi - lo)).astype("float32")


def image_classification(
    seed: int = 0,
    samples: int = 10000,
    image_size: int = 28,
    channels: int = 1,
    num_classes: int = 10,
    noise_std: float = 1.25,
) -> Dataset:
    rule, train, test = _streams(seed)
    templates = _smooth_templates(rule, num_classes, image_size, channels)

    def draw(rng, n):
        y = rng.integers(0, num_classes, size=n)
        noise = rng.normal(scale=noise_std, size=(n, image_size, image_size, channels))
        return (templates[y] + noise).astype("float32"), y.astype("int32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    # With equal priors and isotropic Gaussian noise, the Bayes classifier is the nearest
    # template; its accuracy on this test split is the best any model can expect.
    flat = x_test.reshape(len(x_test), -1)
    dists = ((flat[:, None, :] - templates.reshape(num_classes, -1)[None]) ** 2).sum(-1)
    bayes = float((dists.argmin(1) == y_test).mean())
    return Dataset(
        name="synthetic",
        task="image_classification",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        model_kwargs={
            "input_shape": (image_size, image_size, channels),
            "num_classes": num_classes,
        },
        optimum={"accuracy": bayes},
        params={
            "seed": seed,
            "samples": samples,
            "image_size": image_size,
            "channels": channels,
            "num_classes": num_classes,
            "noise_std": noise_std,
        },
        truth={"templates": templates},
    )


def text_classification(
    seed: int = 0,
    samples: int = 4000,
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    markers_per_sequence: int = 3,
) -> Dataset:
    markers_per_class = 4
    first_filler = 1 + num_classes * markers_per_class  # 0 is padding
    if vocab_size <= first_filler + 1:
        raise ValueError(f"vocab_size must exceed {first_filler + 1}; received: {vocab_size}")
    rule, train, test = _streams(seed)
    markers = 1 + rule.permutation(num_classes * markers_per_class).reshape(
        num_classes, markers_per_class
    )

    def draw(rng, n):
        y = rng.integers(0, num_classes, size=n)
        x = rng.integers(first_filler, vocab_size, size=(n, sequence_length))
        for i in range(n):
            pos = rng.choice(sequence_length, size=markers_per_sequence, replace=False)
            x[i, pos] = rng.choice(markers[y[i]], size=markers_per_sequence)
        return x.astype("int32"), y.astype("int32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 4, 1))
    return Dataset(
        name="synthetic",
        task="text_classification",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        model_kwargs={
            "vocab_size": vocab_size,
            "sequence_length": sequence_length,
            "num_classes": num_classes,
        },
        optimum={"accuracy": 1.0},
        params={
            "seed": seed,
            "samples": samples,
            "vocab_size": vocab_size,
            "sequence_length": sequence_length,
            "num_classes": num_classes,
            "markers_per_sequence": markers_per_sequence,
        },
        truth={"markers": markers},
    )


def rating_prediction(
    seed: int = 0,
    samples: int = 40000,
    num_users: int = 300,
    num_items: int = 200,
    rank: int = 4,
    noise_std: float = 0.3,
) -> Dataset:
    if samples + samples // 5 > num_users * num_items:
        raise ValueError(
            f"samples plus the 20% test split must fit in num_users * num_items = "
            f"{num_users * num_items} distinct pairs; received: samples={samples}"
        )
    rule, train, test = _streams(seed)
    user_f = rule.normal(scale=rank**-0.25, size=(num_users, rank))
    item_f = rule.normal(scale=rank**-0.25, size=(num_items, rank))
    user_b = rule.normal(scale=0.3, size=num_users)
    item_b = rule.normal(scale=0.3, size=num_items)
    mean = 3.5
    num_test = max(samples // 5, 1)
    # Distinct (user, item) pairs, shuffled once; the test split takes the first ones.
    pairs = rule.permutation(num_users * num_items)[: samples + num_test]

    def draw(rng, flat):
        u, i = flat // num_items, flat % num_items
        r = mean + user_b[u] + item_b[i] + (user_f[u] * item_f[i]).sum(1)
        r = r + rng.normal(scale=noise_std, size=len(flat))
        x = {"user": u.astype("int32"), "item": i.astype("int32")}
        return x, r.astype("float32")

    x_test, y_test = draw(test, pairs[:num_test])
    x_train, y_train = draw(train, pairs[num_test:])
    return Dataset(
        name="synthetic",
        task="rating_prediction",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        model_kwargs={"num_users": num_users, "num_items": num_items},
        optimum={"rmse": noise_std, "mae": noise_std * math.sqrt(2 / math.pi)},
        params={
            "seed": seed,
            "samples": samples,
            "num_users": num_users,
            "num_items": num_items,
            "rank": rank,
            "noise_std": noise_std,
        },
        truth={"mean": mean, "user_factors": user_f, "item_factors": item_f},
    )


GENERATORS = {
    "regression": regression,
    "image_classification": image_classification,
    "text_classification": text_classification,
    "rating_prediction": rating_prediction,
}
