"""Each family's model, trained with its default recipe, gets near its task's optimum.

These train to convergence (about two minutes in all on 2 CPU cores), so they are marked
slow; CI runs them.
"""

from __future__ import annotations

import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.slow


def test_linear_regression_recovers_w_and_b():
    r = zoo.train("linear_regression")
    data = zoo.load_dataset("regression")
    kernel, bias = r.keras_model.get_layer("linear").get_weights()
    np.testing.assert_allclose(kernel[:, 0], data.truth["w"], atol=0.02)
    assert bias[0] == pytest.approx(data.truth["b"], abs=0.02)
    assert r.test_metrics["mse"] <= 1.1 * r.optimum["mse"]


@pytest.mark.parametrize("name", ["mlp", "seed_cnn"])
def test_image_classifiers_approach_bayes_accuracy(name):
    r = zoo.train(name)
    assert r.optimum["accuracy"] > 0.99
    assert r.test_metrics["accuracy"] >= 0.95
    assert r.test_metrics["accuracy"] >= r.optimum["accuracy"] - 0.04


@pytest.mark.parametrize("name", ["lstm_classifier", "transformer_classifier"])
def test_text_classifiers_find_the_marker_tokens(name):
    r = zoo.train(name)
    assert r.optimum["accuracy"] == 1.0
    assert r.test_metrics["accuracy"] >= 0.95


def test_matrix_factorization_reaches_the_noise_floor():
    r = zoo.train("matrix_factorization")
    noise_std = r.optimum["rmse"]
    assert r.test_metrics["rmse"] <= 1.10 * noise_std
