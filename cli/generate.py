"""`zoo generate PATH`: sample text or tokens from a trained language model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from zoo.cli import _keras, options, render


def generate(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="A run folder or .keras file of a language model."),
    ],
    prompt: Annotated[
        str, typer.Option(help="Text for a character model; else token ids separated by spaces.")
    ] = "",
    length: Annotated[int, typer.Option(min=1, help="Tokens to sample.")] = 200,
    temperature: Annotated[float, typer.Option(help="Lower is more conservative.")] = 1.0,
    top_k: Annotated[int | None, typer.Option(min=1, help="Sample among the k likeliest.")] = None,
    seed: Annotated[int, typer.Option(help="Seeds the sampling.")] = 0,
    as_json: options.Json = False,
) -> None:
    """Continue a prompt with a trained language model (e.g. gpt_tiny)."""
    import zoo

    with render.errors():
        options.check_run_path(path)
        _keras.import_quietly()
        model, run = zoo.training.load_run(path)
        vocabulary = run.get("dataset", {}).get("vocabulary")
        tokens = _prompt_tokens(prompt, vocabulary)
        out = zoo.generate(
            model,
            tokens,
            length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            vocabulary=vocabulary,
        )
    # What the terminal shows: the prompt as typed and its continuation, or every token id.
    shown = prompt + out if isinstance(out, str) else [*tokens, *out]
    if as_json:
        settings = {"length": length, "temperature": temperature, "top_k": top_k, "seed": seed}
        render.print_json(
            {
                "path": str(path),
                "prompt": prompt if isinstance(out, str) else tokens,
                "generated": out,
                "output": shown,
                **settings,
            }
        )
    elif isinstance(shown, str):
        render.out.print(escape(shown), highlight=False, soft_wrap=True)
    else:
        render.out.print(" ".join(map(str, shown)), soft_wrap=True)


def _prompt_tokens(prompt: str, vocabulary: list[str] | None) -> str | list[int]:
    """The prompt as the model reads it: text where it has a vocabulary, else token ids."""
    import zoo

    if vocabulary is not None:
        return prompt or "\n"
    try:
        return [int(t) for t in prompt.split()] or [0]
    except ValueError:
        raise zoo.errors.InvalidArgumentError(
            f"This model has no vocabulary, so --prompt takes token ids; received: {prompt!r}.",
            "Example: --prompt '3 14 15'.",
        ) from None
