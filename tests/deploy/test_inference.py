"""zoo.deploy's inference profiles: several targets timed interleaved per batch size."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import InvalidArgumentError


def _tiny():
    import keras

    inputs = keras.Input((3,), name="x")
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def test_compare_profiles_times_each_target_at_each_batch():
    from zoo import deploy

    net = _tiny()
    rows = deploy.compare_profiles(
        {"a": net, "b": deploy.quantize_model(net, "int8")[0]},
        (1, 4),
        example=np.ones((2, 3), "float32"),
        repeats=3,
    )
    assert list(rows) == ["a", "b"]
    for side in rows.values():
        assert [r["batch_size"] for r in side] == [1, 4]
        assert all(r["samples_per_s"] > 0 and r["p99_ms"] >= r["p50_ms"] for r in side)
    single = deploy.inference_profile(net, (2,), repeats=2)
    assert [r["batch_size"] for r in single] == [2]


@pytest.mark.parametrize("sizes", [(0,), (1, -4)])
def test_bad_batch_sizes_are_refused(sizes):
    from zoo import deploy

    with pytest.raises(InvalidArgumentError, match="batch_size must be a positive integer"):
        deploy.compare_profiles({"a": _tiny()}, sizes)
