"""Sampling from trained language models (`gpt_tiny` and any model of the
language_modeling task): `generate` continues a prompt token by token."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InvalidArgumentError, ModelFileError


def _vocabulary_of(run: dict[str, Any]) -> list[str] | None:
    return run.get("dataset", {}).get("vocabulary")


def generate(
    model: Any,
    prompt: Sequence[int] | str,
    length: int = 100,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    vocabulary: Sequence[str] | None = None,
) -> list[int] | str:
    """Continues `prompt` with `length` tokens sampled from a language model.

    The model reads a fixed window of `sequence_length` tokens; a shorter context is
    padded on the right, which causal attention never looks at, and a longer one keeps
    its last `sequence_length` tokens.

    Args:
        model: a Keras language model, or a run folder / `.keras` file holding one.
        prompt: token ids, or text when the model has a vocabulary (a character model
            trained on text, or `vocabulary` given).
        length: number of tokens to sample.
        temperature: divides the logits; lower is more conservative.
        top_k: sample only among the k likeliest tokens (None: all).
        seed: seeds the sampling.
        vocabulary: token strings by id, to read and write text.

    Returns:
        The sampled token ids, or the sampled text when the prompt was text.
    """
    if isinstance(model, (str, Path)):
        from zoo.training import load_run

        model, run = load_run(model)
        vocabulary = vocabulary or _vocabulary_of(run)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise InvalidArgumentError(f"length must be a positive integer; received: {length!r}.")
    if not temperature > 0:
        raise InvalidArgumentError(f"temperature must be > 0; received: {temperature!r}.")
    as_text = isinstance(prompt, str)
    if as_text:
        if vocabulary is None:
            raise InvalidArgumentError(
                "A text prompt needs the model's vocabulary; this model has none.",
                "Pass token ids, e.g. --prompt '3 14 15'.",
            )
        index = {token: i for i, token in enumerate(vocabulary)}
        unknown = sorted({c for c in prompt if c not in index})
        if unknown:
            raise InvalidArgumentError(
                f"The prompt has characters outside the vocabulary: {''.join(unknown)!r}."
            )
        tokens = [index[c] for c in prompt]
    else:
        tokens = [int(t) for t in prompt]
    if (
        len(model.inputs) != 1
        or len(model.inputs[0].shape) != 2
        or len(model.outputs[0].shape) != 3
    ):
        raise ModelFileError(
            f"{model.name} is not a language model (it maps {model.inputs[0].shape} to "
            f"{model.outputs[0].shape}); generate needs token ids -> next-token logits.",
            "Train one first, e.g. zoo train gpt_tiny --output runs/gpt.",
        )
    window = model.inputs[0].shape[1]
    vocab_size = model.outputs[0].shape[-1]
    if not tokens:
        raise InvalidArgumentError("The prompt is empty; give at least one token.")
    if min(tokens) < 0 or max(tokens) >= vocab_size:
        raise InvalidArgumentError(
            f"Prompt token ids must be in 0..{vocab_size - 1}; received: {tokens}."
        )

    rng = np.random.default_rng(seed)
    out = list(tokens)
    for _ in range(length):
        context = out[-window:]
        x = np.zeros((1, window), dtype="int32")
        x[0, : len(context)] = context
        logits = np.asarray(model(x, training=False), dtype="float64")[0, len(context) - 1]
        logits = logits / temperature
        if top_k is not None and top_k < vocab_size:
            logits[np.argsort(logits)[:-top_k]] = -np.inf
        p = np.exp(logits - logits.max())
        out.append(int(rng.choice(vocab_size, p=p / p.sum())))
    new = out[len(tokens) :]
    return "".join(vocabulary[t] for t in new) if as_text else new
