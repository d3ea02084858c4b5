"""Bags of words: fastText's classifier, built for time to target on text."""

from __future__ import annotations

import keras
from keras import layers

from zoo.errors import InvalidArgumentError
from zoo.layers import HashedBigrams, MaskedMean
from zoo.models import _checks


def fasttext_classifier(
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    embedding_dim: int = 32,
    ngrams: int = 2,
    buckets: int = 4096,
) -> keras.Model:
    """fastText's text classifier (Joulin et al. 2016, "Bag of Tricks for Efficient Text
    Classification"): the mean of the word (and hashed bigram) embeddings, then a linear
    classifier.

    What makes it fast: a step is an embedding lookup, a mean and one small matrix
    product, a few hundred FLOPs per token where an LSTM spends tens of thousands, and
    with nothing recurrent it takes a high learning rate from the first step. Word order
    enters only through the bigrams. Where a class is told by which tokens a text holds
    (topic, sentiment words, the zoo's marker tokens), that is all it needs; where it
    depends on order beyond a pair, the recurrent and attention models are the ones.
    On a few thousand texts the hashed bigrams can overfit where the words alone do not:
    `zoo tune` searches both, and chose `ngrams=1` for docs/tuning.md's fortune cookies.

    Padding (id 0) is masked out of the mean; a text with no word (or no bigram) averages
    to zeros (`zoo.layers.MaskedMean`), not NaN.

    Args:
        vocab_size: token ids are in [0, vocab_size); 0 is padding.
        sequence_length: tokens per example.
        num_classes: number of classes; the model returns logits.
        embedding_dim: size of each word and bigram embedding.
        ngrams: 1 (words) or 2 (words and hashed bigrams).
        buckets: the hashed bigrams' vocabulary (at most 65,536).

    Returns:
        A Functional `keras.Model` mapping (batch, sequence_length) ids to logits.
    """
    vocab_size = _checks.positive_int("vocab_size", vocab_size)
    sequence_length = _checks.positive_int("sequence_length", sequence_length)
    num_classes = _checks.positive_int("num_classes", num_classes)
    embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
    ngrams = _checks.one_of("ngrams", ngrams, (1, 2))
    buckets = _checks.positive_int("buckets", buckets)
    if not 2 <= buckets <= 1 << 16:
        raise InvalidArgumentError(
            f"`buckets` must be between 2 and 65,536. Received: buckets={buckets!r}"
        )

    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    words = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="words")(inputs)
    pooled = MaskedMean(name="mean_words")(words)
    if ngrams == 2 and sequence_length > 1:
        pairs = HashedBigrams(vocab_size, buckets, name="bigrams")(inputs)
        bigrams = layers.Embedding(buckets, embedding_dim, mask_zero=True, name="bigram_vectors")(
            pairs
        )
        pooled = layers.Add(name="words_and_bigrams")(
            [pooled, MaskedMean(name="mean_bigrams")(bigrams)]
        )
    outputs = layers.Dense(num_classes, name="logits")(pooled)
    return keras.Model(inputs, outputs, name="fasttext_classifier")
