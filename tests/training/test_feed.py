"""How the validation split reaches `fit` and the target checks: in batches sized to the
model's outputs, and kept in memory between passes."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest

import zoo
from zoo.data import pipeline
from zoo.training import feed, loop


def _dense(width: int) -> keras.Model:
    inputs = keras.Input((10,))
    hidden = keras.layers.Dense(width)(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(hidden))


def _cached(ds) -> bool:
    """Whether a tf.data pipeline holds a memory cache (its stages, outermost first)."""
    while ds is not None:
        if type(ds).__name__ == "CacheDataset":
            return True
        ds = getattr(ds, "_input_dataset", None)
    return False


def test_output_elements_count_every_layer_and_nested_models_layers():
    assert feed.output_elements(_dense(20)) == 10 + 20 + 3
    inputs = keras.Input((10,))
    outer = keras.Model(inputs, keras.layers.Dense(2)(_dense(20)(inputs)))
    assert feed.output_elements(outer) == 10 + (10 + 20 + 3) + 2
    ragged = keras.Input((None,), dtype="int32")
    words = keras.layers.Embedding(50, 4)(ragged)
    assert feed.output_elements(keras.Model(ragged, words)) is None  # length unknown


def test_the_validation_batch_grows_only_for_small_outputs_and_never_past_the_split():
    small = _dense(20)  # 33 values an example
    assert feed.validation_batch(small, 256, 4000) == 4000
    assert feed.validation_batch(small, 256, 100) == 256  # never below the evaluation batch
    wide = _dense(feed.CHECK_ELEMENTS // 1000)  # about 1,000 examples fill the budget
    assert 256 < feed.validation_batch(wide, 256, 4000) <= 1000
    convnet = zoo.create_model("seed_cnn")  # tens of thousands of values an example
    assert feed.validation_batch(convnet, 256, 6000) == 256


def test_a_repeated_feed_reads_the_same_batches_from_memory_and_a_shuffled_one_is_not_kept():
    x, y = np.arange(20, dtype="float32").reshape(10, 2), np.arange(10)
    kept = pipeline.make(x, y, 4, cache=True)
    first = [b[1].numpy().tolist() for b in kept]
    assert first == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b[1].numpy().tolist() for b in kept] == first
    assert _cached(kept)
    shuffled = pipeline.make(x, y, 4, shuffle=True, seed=1, cache=True)
    assert not _cached(shuffled)  # else every epoch would repeat the first one's order
    assert not _cached(pipeline.make(x, y, 4))
    assert "x" in feed.feed(x, y, 4, repeated=True)


def test_a_run_checks_a_small_models_validation_split_in_one_batch(monkeypatch):
    made = []
    plain = feed.feed

    def spy(x, y, batch_size, **kw):
        made.append((len(y), batch_size, kw.get("repeated", False)))
        return plain(x, y, batch_size, **kw)

    monkeypatch.setattr(feed, "feed", spy)
    r = zoo.train("matrix_factorization", samples=6000, epochs=1, target="rmse=0", eval_every=10)
    validation = [m for m in made if m[2]]
    assert len(validation) == 1  # one feed, for fit and the checks alike
    examples, batch, _ = validation[0]
    assert batch == examples == r.validation["examples"] and batch > 256
    assert r.target["checks"] >= 3


@pytest.mark.parametrize(
    "fixed, strategy, processes",
    [(64, "none", 1), (None, "mirrored", 1), (None, "data_parallel", 2), (None, "none", 1)],
)
def test_a_batch_the_task_fixes_or_splits_over_devices_stays_the_evaluation_batch(
    fixed, strategy, processes
):
    x, y = np.zeros((3000, 10), "float32"), np.zeros(3000, "int64")
    job = SimpleNamespace(
        split=SimpleNamespace(validation=(x, y)),
        eval_batch=256,
        task=SimpleNamespace(eval_batch_size=fixed),
        run=SimpleNamespace(strategy=strategy),
        processes=processes,
    )
    first = next(iter(loop._validation_feed(job, _dense(20), None)["x"]))
    grown = fixed is None and strategy == "none"
    assert first[1].shape[0] == (3000 if grown else 256)
