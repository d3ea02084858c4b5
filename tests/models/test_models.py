"""Every registered model, tested the moment it is registered (timm-style)."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable

import numpy as np
import pytest

import zoo
from zoo.errors import InvalidArgumentError

_HUB = importlib.util.find_spec("keras_hub") is not None
NAMES = [
    pytest.param(
        n,
        marks=pytest.mark.skipif(
            zoo.get_spec(n).family == "hub" and not _HUB, reason="keras-hub not installed"
        ),
    )
    for n in zoo.list_models()
]


def _kwargs(spec):
    """The hyper-parameters of the model's small instance."""
    return {**spec.defaults, **spec.small}


def _batch(spec, n=32):
    """A small batch of the model's task's synthetic data, shaped for its small instance."""
    from zoo.data import synthetic_params

    if spec.task in ("rating_prediction", "retrieval"):
        n = 400
    data = zoo.load_dataset(spec.task, samples=n, **synthetic_params(spec.task, _kwargs(spec)))
    return data.x_train, data.y_train


def _output_shape(spec, batch):
    k = _kwargs(spec)
    return {
        "image_classification": (k.get("num_classes"),),
        "text_classification": (k.get("num_classes"),),
        "audio_classification": (k.get("num_classes"),),
        "regression": (1,),
        "rating_prediction": (1,),
        "forecasting": (k.get("horizon"),),
        "language_modeling": (k.get("sequence_length"), k.get("vocab_size")),
        "translation": (k.get("target_length"), k.get("vocab_size")),
        "retrieval": (batch,),
        "semantic_segmentation": (*k.get("input_shape", (0, 0))[:2], k.get("num_classes")),
        "video_classification": (k.get("num_classes"),),
        "summarization": (k.get("target_length"), k.get("vocab_size")),
        "speech_recognition": (
            (k.get("input_shape", (0,))[0] + 1) // 2,
            k.get("vocab_size", 0) + 1,
        ),  # fmt: skip
        "object_detection": (
            *(n // 4 for n in k.get("input_shape", (0, 0))[:2]),
            k.get("num_classes", 0) + 4,
        ),  # fmt: skip
    }[spec.task]


def _small_model(name):
    spec = zoo.get_spec(name)
    return zoo.create_model(name, **spec.small)


# In the slow tier (still run in CI, and on JAX by tests/test_backends.py): keras.
# applications' training steps (8-15 s each even eagerly), and the models whose training
# step takes 2.5-8 s to trace here (2-core AVX-512), each of which the slow tier also
# trains to convergence (tests/training/test_learning.py) or, for keras-hub's, runs
# through `zoo bench --suite parity`.
SLOW_STEPS = {"transformer_seq2seq", "resnet20", "gpt_tiny", "transformer_classifier"}
SLOW_STEPS |= {"bert_base", "gpt2_small"}
# keras-hub's architectures of the newer tasks (5-8 s a training step's trace here, 15-30 s
# on JAX): on JAX and PyTorch they are checked by `zoo bench --suite parity`, whose
# committed results (parity-domains-cpu) have every one of them.
SLOW_STEPS |= {"segformer_b0", "bart_summarizer", "centernet_resnet", "whisper_ctc"}


def _slow_where(params, slow: Callable[[str], bool]):
    return [
        pytest.param(
            *p.values, marks=[*p.marks, pytest.mark.slow] if slow(p.values[0]) else p.marks
        )
        for p in params
    ]


def _applications(name: str) -> bool:
    return zoo.get_spec(name).family == "applications"


# keras.applications' ResNet50 and EfficientNetB0 go through the zoo's one wrapper
# (`zoo.models.applications._application`: input, head, logits) as MobileNetV2 does, and
# the rest of their code is Keras' own: MobileNetV2 trains a few steps and round-trips for
# the three (their eager steps took 14 and 37 s of the suite). Every one still builds, at
# its default and small size, in test_builds_with_defaults_output_shape_and_no_nan.
WRAPPER_SEEN = {"resnet50", "efficientnet_b0"}
STEPPED = [p for p in NAMES if p.values[0] not in WRAPPER_SEEN]
FEW_STEPS = _slow_where(STEPPED, lambda n: _applications(n) or n in SLOW_STEPS)
# Building and saving keras.applications' published architectures takes 2-3.5 s each.
HEAVY_BUILDS = _slow_where(STEPPED, _applications)
# So does building keras-hub's at their published sizes (110M and 124M parameters).
DEFAULT_BUILDS = _slow_where(NAMES, lambda n: _applications(n) or zoo.get_spec(n).family == "hub")


@pytest.mark.parametrize("name", NAMES)
def test_spec_defaults_match_factory_signature(name):
    spec = zoo.get_spec(name)
    params = inspect.signature(spec.load_factory()).parameters
    assert {k: p.default for k, p in params.items()} == dict(spec.defaults)


@pytest.mark.parametrize("name", DEFAULT_BUILDS)
def test_builds_with_defaults_output_shape_and_no_nan(name):
    spec = zoo.get_spec(name)
    model = zoo.create_model(name)  # the defaults build
    assert model.name == name
    model = _small_model(name)
    x, labels = _batch(spec)
    y = np.asarray(model(x, training=False))
    assert y.shape == (len(labels), *_output_shape(spec, len(labels)))
    assert np.isfinite(y).all()


@pytest.mark.parametrize("name", FEW_STEPS)
def test_a_few_steps_on_one_batch_lower_the_loss(name):
    import keras

    spec = zoo.get_spec(name)
    task = zoo.tasks.get(spec.task)
    keras.utils.set_random_seed(0)
    model = _small_model(name)
    model.compile(
        # Ten steps on one batch, at once: a recipe's rate above Adam's default is meant to
        # be reached after a warm-up of hundreds of steps (fast_cnn's 4e-3 diverges here).
        optimizer=keras.optimizers.Adam(min(spec.recipe.learning_rate, 1e-3)),
        loss=task.build_loss(),
        # Keras' own architectures: tracing their training step costs 20-30 s here, more
        # than the ten steps themselves; run eagerly they test the same arithmetic.
        run_eagerly=spec.family == "applications",
    )
    x, y = _batch(spec)
    # Training-mode losses (batch normalization's moving averages lag behind at first);
    # keras.applications' eager steps take 1-1.5 s each, so they take 5.
    steps = 5 if spec.family == "applications" else 10
    losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("name", HEAVY_BUILDS)
def test_keras_round_trip_gives_identical_outputs(name, tmp_path):
    spec = zoo.get_spec(name)
    model = _small_model(name)
    x, _ = _batch(spec)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = zoo.load_model(path)  # safe mode, no custom_objects needed
    np.testing.assert_allclose(np.asarray(reloaded(x)), np.asarray(model(x)), rtol=0, atol=1e-6)


def test_seed_cnn_is_a_faithful_port_with_corrected_fc1():
    model = zoo.create_model("seed_cnn")
    assert model.count_params() == 1_625_866
    layers = {layer.name: layer for layer in model.layers}
    assert layers["conv1"].filters == 32 and layers["conv1"].kernel_size == (3, 3)
    assert layers["conv2"].filters == 64 and layers["conv2"].padding == "same"
    assert layers["fc1"].kernel.shape == (64 * 14 * 14, 128)
    assert layers["fc2"].units == 10 and layers["fc2"].activation.__name__ == "linear"


def test_fast_cnn_pools_before_batchnorm_unless_told_not_to():
    def order(model):
        kinds = {"conv": "conv", "pool": "pool", "bn": "bn", "relu": "relu"}
        names = [layer.name for layer in model.layers]
        return [next(k for k in kinds if n.startswith(k)) for n in names if n[:2] in "copobnre"]

    first = zoo.create_model("fast_cnn", widths=(8, 8))
    last = zoo.create_model("fast_cnn", widths=(8, 8), pool_first=False)
    assert order(first) == ["conv", "pool", "bn", "relu"] * 2
    assert order(last) == ["conv", "bn", "relu", "pool"] * 2
    assert first.count_params() == last.count_params()  # the same weights, in another order
    assert first.get_layer("bn1").output.shape == (None, 14, 14, 8)


def test_hyper_parameters_change_the_model():
    small = zoo.create_model("mlp", hidden_units=8, num_layers=1, input_shape=(4, 4, 1))
    assert small.count_params() == 16 * 8 + 8 + 8 * 10 + 10
    deep = zoo.create_model("transformer_classifier", num_layers=2, embed_dim=32, num_heads=2)
    assert (
        sum(
            "attention" in layer.name and "norm" not in layer.name and "add" not in layer.name
            for layer in deep.layers
        )
        == 2
    )


def test_numpy_integers_are_accepted():
    model = zoo.create_model("lstm_classifier", vocab_size=np.int64(50), num_classes=np.int32(3))
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("mlp", {"hidden_units": 0}, "hidden_units=0"),
        ("mlp", {"activation": "nope"}, "activation='nope'"),
        ("mlp", {"dropout": 1.5}, r"\[0, 1\)"),
        ("seed_cnn", {"input_shape": (28, 28)}, r"\(height, width, channels\)"),
        ("transformer_classifier", {"embed_dim": 30, "num_heads": 4}, "divisible"),
        ("matrix_factorization", {"l2": -1.0}, "l2=-1.0"),
        ("lstm_classifier", {"units": "64"}, "units='64'"),
        ("fast_cnn", {"pool_first": 1}, "pool_first=1"),
    ],
)
def test_bad_values_say_what_was_received(name, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        zoo.create_model(name, **kwargs)
