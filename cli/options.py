"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

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
