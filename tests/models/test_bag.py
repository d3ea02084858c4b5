"""fastText's classifier and its hashed bigrams."""

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import InvalidArgumentError
from zoo.layers import HashedBigrams


def test_hashed_bigrams_are_in_range_deterministic_and_zero_with_padding():
    tokens = np.array([[5, 7, 5, 7, 0, 0], [999, 1, 2, 3, 4, 0]], dtype="int32")
    ids = np.asarray(keras.ops.convert_to_numpy(HashedBigrams(1000, 64)(tokens)))
    assert ids.shape == (2, 5)
    assert ids[0, 0] == ids[0, 2]  # the same pair, the same bucket
    assert ids[0, 0] != ids[0, 1]  # (5, 7) and (7, 5) differ
    assert list(ids[0, 3:]) == [0, 0] and ids[1, 4] == 0  # a pair with padding is padding
    real = ids[ids > 0]
    assert real.min() >= 1 and real.max() < 64


def test_a_bag_of_words_ignores_order_and_bigrams_do_not():
    keras.utils.set_random_seed(0)
    words = zoo.create_model("fasttext_classifier", sequence_length=6, ngrams=1)
    pairs = zoo.create_model("fasttext_classifier", sequence_length=6, ngrams=2)
    a = np.array([[3, 4, 5, 6, 7, 8]], dtype="int32")
    b = a[:, ::-1].copy()
    assert np.allclose(words.predict_on_batch(a), words.predict_on_batch(b), atol=1e-6)
    assert not np.allclose(pairs.predict_on_batch(a), pairs.predict_on_batch(b), atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "says"), [({"ngrams": 3}, "ngrams"), ({"buckets": 1}, "buckets")]
)
def test_bad_settings_name_the_argument(kwargs, says):
    with pytest.raises(InvalidArgumentError, match=says):
        zoo.create_model("fasttext_classifier", **kwargs)


def test_an_empty_or_one_word_text_gives_finite_logits_and_a_finite_loss():
    # an empty text has no word and a one-word text no bigram: a masked mean over nothing
    # was 0 / 0 = NaN, which made the loss of every batch holding one NaN (fortune cookies)
    keras.utils.set_random_seed(0)
    net = zoo.create_model("fasttext_classifier", sequence_length=6, num_classes=3)
    tokens = np.array([[0, 0, 0, 0, 0, 0], [9, 0, 0, 0, 0, 0], [3, 4, 5, 0, 0, 0]], "int32")
    logits = np.asarray(net.predict_on_batch(tokens))
    assert np.isfinite(logits).all()
    assert np.allclose(logits[0], np.asarray(net.get_layer("logits").bias))  # zeros in
    net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = net.train_on_batch(tokens, np.array([0, 1, 2]))
    assert np.isfinite(loss)
    # the mean over kept positions, as GlobalAveragePooling1D takes it where some are kept
    x = np.arange(12, dtype="float32").reshape(1, 4, 3)
    mask = np.array([[True, True, False, False]])
    mean = keras.ops.convert_to_numpy(zoo.layers.MaskedMean()(x, mask=mask))
    assert np.allclose(mean, x[:, :2].mean(axis=1))
