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


@pytest.mark.parametrize("name", ["simple_rnn", "gru_classifier", "bilstm_classifier"])
def test_recurrent_text_classifiers_find_the_marker_tokens(name):
    assert zoo.train(name).test_metrics["accuracy"] >= 0.95


def test_keras_convnet_approaches_bayes_accuracy():
    r = zoo.train("keras_convnet")
    assert r.test_metrics["accuracy"] >= min(0.95, r.optimum["accuracy"] - 0.04)


def test_resnet20_learns_cifar_shaped_images():
    r = zoo.train("resnet20", samples=3000, epochs=5)
    assert r.keras_model.input_shape == (None, 32, 32, 3)
    assert r.test_metrics["accuracy"] >= 0.9


def test_kws_cnn_tells_the_keywords_apart():
    assert zoo.train("kws_cnn").test_metrics["accuracy"] >= 0.95


def test_lstm_forecaster_approaches_the_noise_floor():
    r = zoo.train("lstm_forecaster")
    assert r.test_metrics["mse"] <= 1.5 * r.optimum["mse"]


def test_gpt_tiny_approaches_the_entropy_rate_and_samples_the_chain():
    r = zoo.train("gpt_tiny")
    assert r.test_metrics["perplexity"] <= 1.06 * r.optimum["perplexity"]
    chain = zoo.load_dataset("language_modeling").truth["transitions"]
    tokens = zoo.generate(r.keras_model, [0], 300, seed=0)
    pairs = list(zip([0, *tokens[:-1]], tokens, strict=True))
    likely = np.mean([chain[a, b] > 0.01 for a, b in pairs])  # the smoothing mass is 0.01
    assert likely >= 0.9


def test_transformer_seq2seq_learns_to_reverse():
    assert zoo.train("transformer_seq2seq").test_metrics["accuracy"] >= 0.99


@pytest.mark.parametrize("name, factor", [("ncf", 1.1), ("dcn", 1.2)])
def test_neural_recommenders_approach_the_noise_floor(name, factor):
    r = zoo.train(name)
    assert r.test_metrics["rmse"] <= factor * r.optimum["rmse"]


def test_two_tower_approaches_the_best_in_batch_recall():
    r = zoo.train("two_tower")
    assert r.test_metrics["recall_at_10"] >= 0.9 * r.optimum["recall_at_10"]
