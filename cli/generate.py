"""`zoo generate PATH`: sample text or tokens from a trained language model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from zoo.cli import _keras, render


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
) -> None:
    """Continue a prompt with a trained language model (e.g. gpt_tiny)."""
    import zoo

    with render.errors():
        if not path.exists():
            raise zoo.errors.ModelFileError(
                f"{path} does not exist.", "Pass a run folder from `zoo train --output`."
            )
        _keras.import_quietly()
        model, run = zoo.training.load_run(path)
        vocabulary = run.get("dataset", {}).get("vocabulary")
        if vocabulary is not None:
            tokens = prompt or "\n"
        else:
            try:
                tokens = [int(t) for t in prompt.split()] or [0]
            except ValueError:
                raise zoo.errors.InvalidArgumentError(
                    f"This model has no vocabulary, so --prompt takes token ids; "
                    f"received: {prompt!r}.",
                    "Example: --prompt '3 14 15'.",
                ) from None
        out = zoo.generate(
            model,
            tokens,
            length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            vocabulary=vocabulary,
        )
    if isinstance(out, str):
        render.out.print(escape(prompt + out), highlight=False, soft_wrap=True)
    else:
        render.out.print(" ".join(map(str, [*tokens, *out])), soft_wrap=True)
