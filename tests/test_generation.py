"""zoo.generate: sampling from language models, through the API and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo.errors import InvalidArgumentError

SMALL = {
    "embed_dim": 16,
    "num_heads": 2,
    "ff_dim": 32,
    "num_layers": 1,
    "sequence_length": 16,
    "vocab_size": 12,
}


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm")
    result = zoo.train("gpt_tiny", epochs=1, samples=64, model_kwargs=SMALL, output=out)
    return out, result.keras_model


def test_samples_the_requested_number_of_tokens_reproducibly(lm_run):
    _, model = lm_run
    a = zoo.generate(model, [1, 2, 3], 20, seed=5)
    assert len(a) == 20 and all(0 <= t < 12 for t in a)
    assert zoo.generate(model, [1, 2, 3], 20, seed=5) == a
    assert any(zoo.generate(model, [1, 2, 3], 20, seed=s) != a for s in range(6, 10))


def test_top_k_1_is_greedy_decoding_and_contexts_slide(lm_run):
    _, model = lm_run
    out = zoo.generate(model, [4], 30, top_k=1)  # longer than the 16-token window
    tokens = [4]
    for _ in range(30):
        context = tokens[-16:]
        x = np.zeros((1, 16), "int32")
        x[0, : len(context)] = context
        tokens.append(int(np.argmax(np.asarray(model(x))[0, len(context) - 1])))
    assert out == tokens[1:]


def test_a_run_folder_and_a_text_prompt_with_a_vocabulary(lm_run):
    out, model = lm_run
    assert len(zoo.generate(out, [0], 5)) == 5
    vocabulary = list("abcdefghijkl")
    text = zoo.generate(model, "abc", 8, vocabulary=vocabulary)
    assert isinstance(text, str) and len(text) == 8 and set(text) <= set(vocabulary)


@pytest.mark.parametrize(
    "prompt, kwargs, match",
    [
        ([], {}, "empty"),
        ([99], {}, "0..11"),
        ("hello", {}, "needs the model's vocabulary"),
        ("xyz", {"vocabulary": list("abc")}, "outside the vocabulary"),
        ([1], {"length": 0}, "length"),
        ([1], {"temperature": 0}, "temperature"),
        ([1], {"seed": -1}, "seed must be an integer from 0"),
    ],
)
def test_bad_requests(lm_run, prompt, kwargs, match):
    _, model = lm_run
    length = kwargs.pop("length", 5)
    with pytest.raises(InvalidArgumentError, match=match):
        zoo.generate(model, prompt, length, **kwargs)


def test_the_generate_command(lm_run):
    out, _ = lm_run
    r = CliRunner().invoke(app, ["generate", str(out), "--prompt", "1 2", "--length", "6"])
    assert r.exit_code == 0, r.output
    tokens = r.stdout.split()
    assert tokens[:2] == ["1", "2"] and len(tokens) == 8
    r = CliRunner().invoke(app, ["generate", str(out), "--prompt", "to be"])
    assert r.exit_code == 2 and "token ids" in r.output and "Traceback" not in r.output
