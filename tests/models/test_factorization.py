"""fast_factorization: matrix_factorization's function in one layer, its mean started at
the data's (`zoo.train` fills in `target_mean` from the training examples)."""

import json

import keras
import numpy as np
import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo.errors import InvalidArgumentError

IDS = {"user": np.array([0, 3, 3, 7], dtype="int32"), "item": np.array([1, 1, 4, 0], "int32")}


def _weights(model, layer):
    return [np.asarray(w) for w in model.get_layer(layer).get_weights()]


def test_it_scores_as_matrix_factorization_with_the_same_weights():
    keras.utils.set_random_seed(0)
    mf = zoo.create_model("matrix_factorization", num_users=8, num_items=5, embedding_dim=3)
    fast = zoo.create_model("fast_factorization", num_users=8, num_items=5, embedding_dim=3)
    rng = np.random.default_rng(0)
    for layer in ("user_bias", "item_bias"):  # zero at the start: give them values
        mf.get_layer(layer).set_weights([rng.normal(size=w.shape) for w in _weights(mf, layer)])
    mf.get_layer("global_bias").set_weights([np.float32(3.5)])
    p, q = _weights(mf, "user_factors")[0], _weights(mf, "item_factors")[0]
    b_u, b_i = _weights(mf, "user_bias")[0], _weights(mf, "item_bias")[0]
    fast.get_layer("factors").set_weights(
        [np.concatenate([p, b_u], 1), np.concatenate([q, b_i], 1), np.float32(3.5)]
    )
    want = mf.predict_on_batch(IDS)
    assert np.allclose(fast.predict_on_batch(IDS), want, atol=1e-5)
    # mu + b_u + b_i + p_u . q_i, by hand
    u, i = IDS["user"], IDS["item"]
    by_hand = 3.5 + b_u[u, 0] + b_i[i, 0] + (p[u] * q[i]).sum(1)
    assert np.allclose(want[:, 0], by_hand, atol=1e-5)


def test_the_penalty_falls_on_the_batch_factors_not_the_biases():
    keras.utils.set_random_seed(1)
    model = zoo.create_model(
        "fast_factorization", num_users=8, num_items=5, embedding_dim=3, l2=0.5
    )
    users, items, _ = _weights(model, "factors")
    users[:, -1], items[:, -1] = 100.0, -100.0  # large biases: not penalized
    model.get_layer("factors").set_weights([users, items, np.float32(0.0)])
    model(IDS)
    penalty = float(keras.ops.convert_to_numpy(model.losses[0]))
    rows = (users[IDS["user"], :3] ** 2).sum(1) + (items[IDS["item"], :3] ** 2).sum(1)
    assert penalty == pytest.approx(0.5 * rows.mean(), rel=1e-5)


def test_the_mean_starts_where_it_is_told_and_saves_with_the_model(tmp_path):
    model = zoo.create_model("fast_factorization", num_users=8, num_items=5, target_mean=3.25)
    assert float(_weights(model, "factors")[2]) == pytest.approx(3.25)
    model.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras")
    assert np.allclose(back.predict_on_batch(IDS), model.predict_on_batch(IDS))


def test_bad_settings_name_the_argument():
    with pytest.raises(InvalidArgumentError, match="l2"):
        zoo.create_model("fast_factorization", l2=-1.0)
    with pytest.raises(InvalidArgumentError, match="embedding_dim"):
        zoo.create_model("fast_factorization", embedding_dim=0)
    for bad in ("abc", float("nan"), True):
        with pytest.raises(InvalidArgumentError, match="target_mean"):
            zoo.create_model("fast_factorization", target_mean=bad)


def test_a_bad_target_mean_on_the_command_line_is_one_line():
    out = CliRunner().invoke(app, ["train", "fast_factorization", "--param", "target_mean=abc"])
    assert out.exit_code != 0 and "Traceback" not in out.output
    assert "target_mean" in out.output and "finite number" in out.output


def _fit_split_mean(seed: int, samples: int) -> float:
    """The mean rating of the examples a run trains on: the training split less the
    validation fraction (`zoo.training.feed.split`'s rule, seed and 0.1)."""
    data = zoo.load_dataset("rating_prediction", seed=seed, samples=samples)
    order = np.random.default_rng([seed, 99]).permutation(data.num_train)
    return float(np.mean(data.y_train[order[round(0.1 * data.num_train) :]]))


def test_train_fills_in_the_training_mean_and_keeps_a_given_one():
    r = zoo.train("fast_factorization", epochs=1, samples=2000, seed=3)
    filled = r.config.model_kwargs["target_mean"]
    assert filled == pytest.approx(_fit_split_mean(3, 2000), abs=1e-5)
    assert abs(filled - 3.5) < 0.3  # the synthetic ratings' mean, not 0
    given = zoo.train(
        "fast_factorization", epochs=1, samples=2000, model_kwargs={"target_mean": 1.0}
    )
    assert given.config.model_kwargs["target_mean"] == 1.0
    # a model without the argument gets none
    plain = zoo.train("matrix_factorization", epochs=1, samples=2000)
    assert "target_mean" not in plain.config.model_kwargs


def test_the_cli_fills_it_in_too():
    out = CliRunner().invoke(
        app,
        [
            "train",
            "fast_factorization",
            "--epochs",
            "1",
            "--samples",
            "2000",
            "--seed",
            "4",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    kwargs = json.loads(out.stdout)["config"]["model_kwargs"]
    assert kwargs["target_mean"] == pytest.approx(_fit_split_mean(4, 2000), abs=1e-5)


def test_its_flops_are_matrix_factorizations():
    from zoo.perf import flops

    mf, fast = (zoo.create_model(n) for n in ("matrix_factorization", "fast_factorization"))
    assert flops.count(fast)["forward"] == flops.count(mf)["forward"] > 0
