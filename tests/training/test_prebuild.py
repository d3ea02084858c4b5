"""zoo.training.compile.prebuild: the train step is traced once, with the same result."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo import tasks
from zoo.training import compile as zcompile


def _compiled(seed: int):
    keras.utils.set_random_seed(seed)
    net = zcompile.build_model("mlp", {"input_shape": (8,), "num_classes": 3, "hidden_units": 16})
    optimizer = zcompile.build_optimizer("adam", 0.01)
    return zcompile.compile_model(net, tasks.get("image_classification"), optimizer)


def _traces_and_weights(prebuilt: bool):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 8)).astype("float32"), rng.integers(0, 3, size=16)
    net = _compiled(1)
    traced = []
    step = net.train_step
    net.train_step = lambda data: (traced.append(1), step(data))[1]  # runs when traced
    if prebuilt:
        zcompile.prebuild(net, x, y)
        assert net.optimizer.built and net.optimizer.iterations is not None
    for _ in range(3):
        net.train_on_batch(x, y)
    return len(traced), [w.numpy() for w in net.weights]


def test_a_prebuilt_model_traces_its_train_step_once_and_trains_the_same():
    deferred, weights_deferred = _traces_and_weights(prebuilt=False)
    once, weights_once = _traces_and_weights(prebuilt=True)
    assert deferred == 2  # Keras' own path: a trace creating the variables, then another
    assert once == 1
    assert len(weights_once) == len(weights_deferred)
    for a, b in zip(weights_once, weights_deferred, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_zoo_train_prebuilds_the_model_it_fits(monkeypatch):
    from zoo.training import loop

    built = []
    original = loop.prebuild
    monkeypatch.setattr(
        loop, "prebuild", lambda net, x, y: (built.append(net.name), original(net, x, y))
    )
    zoo.train("mlp", epochs=1, samples=64, batch_size=32)
    assert built == ["mlp"]


def test_a_failing_private_build_leaves_the_build_to_keras():
    net = _compiled(1)

    def broken(**kwargs):
        raise TypeError("a Keras whose _symbolic_build changed")

    net._symbolic_build = broken
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 8)).astype("float32"), rng.integers(0, 3, size=16)
    zcompile.prebuild(net, x, y)
    assert not net.optimizer.built
    assert np.isfinite(net.train_on_batch(x, y)[0])  # Keras builds in the first trace


@pytest.mark.slow  # a process that XLA-compiles ctc_speech: 16.6 s, the fast tier's longest
def test_the_batch_size_stays_open_for_ops_traced_per_shape():
    """A batch of 2 built in would clash with the real batch of 8 in TensorFlow's CTC
    loop under XLA: its graph optimizer logged a type error (seen with TensorFlow's C++
    logs on, as a user runs; this process turns them off, so a fresh one runs it)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = (
        "import zoo; zoo.train('ctc_speech', epochs=1, samples=64, batch_size=8, "
        "jit_compile=True); print('trained')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and "trained" in done.stdout, done.stderr[-2000:]
    assert "MLIR Graph Optimizer failed" not in done.stderr
