"""Options shared by several commands."""

from __future__ import annotations

import ast
from enum import Enum
from typing import Annotated

import typer

from zoo.choices import PRECISIONS


def choice_enum(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of `values` (from zoo.choices) for Typer, which lists enums in --help and
    rejects anything else; its members are named by their values (Precision.float32)."""
    return Enum(name, {v: v for v in values}, type=str)


Precision = choice_enum("Precision", PRECISIONS)


def parse_params(items: list[str]) -> dict:
    """KEY=VALUE strings to a dict; values are Python literals, else strings."""
    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(
                f"expected KEY=VALUE, e.g. hidden_units=64; got {item!r}.", param_hint="--param"
            )
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        params[key.strip()] = value
    return params


Dataset = Annotated[
    str,
    typer.Option(
        help="synthetic (no download), a dataset of the model's task (see `zoo data "
        "list`), or a path: .npz, ratings .csv, or a folder of class folders."
    ),
]
DataDir = Annotated[
    str | None, typer.Option(help="Where TFDS keeps datasets. Default: TFDS's own.")
]
Download = Annotated[
    bool, typer.Option("--download", help="Let TFDS download a dataset that is not prepared.")
]
Samples = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Synthetic: training examples to generate. Real data: at most "
        "this many training examples.",
    ),
]
TestFraction = Annotated[
    float,
    typer.Option(help="Test part of data without a test split (ratings .csv, MovieLens, folders)."),
]
Seed = Annotated[int, typer.Option(help="Seeds data, splits, weights and shuffling.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
Backend = Annotated[
    str | None,
    typer.Option(
        help="Keras backend: tensorflow, jax or torch (default: KERAS_BACKEND, else "
        "tensorflow). tf.data, TFDS and tf.distribute need tensorflow."
    ),
]
