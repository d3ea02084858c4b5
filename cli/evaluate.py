"""`zoo evaluate PATH`: load a saved model in safe mode and show its test metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import _keras, options, render
from zoo.cli.views import export as export_view

from zoo.choices import QUANTIZE_MODES

QuantizeMode = options.choice_enum("QuantizeMode", QUANTIZE_MODES)


def evaluate(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="A run folder from `zoo train --output`, or a .keras file."
        ),
    ],
    dataset: Annotated[
        str | None,
        typer.Option(help="Default: the run's dataset (synthetic for a bare .keras file)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Default: the run's.")] = None,
    samples: Annotated[int | None, typer.Option(min=1, help="Default: the run's.")] = None,
    data_dir: options.DataDir = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    quantize: Annotated[
        QuantizeMode | None,
        typer.Option(
            help="Also quantize it (Keras' model.quantize) and compare metric, size "
            "and speed with float32."
        ),
    ] = None,
    as_json: options.Json = False,
) -> None:
    """Evaluate a saved model on the test split of its dataset."""
    import zoo

    with render.errors():
        options.check_run_path(path)
        _keras.import_quietly()
        if quantize is not None:
            return _quantized(path, quantize.value, dataset, data_dir, batch_size, as_json)
        result = zoo.evaluate(
            path, dataset, seed=seed, samples=samples, data_dir=data_dir, batch_size=batch_size
        )
    if as_json:
        render.print_json(result.to_dict())
        return
    render.out.print(
        render.metrics_table(
            f"{result.model} on {result.dataset['name']} test ({result.num_examples:,} examples)",
            {"test": result.metrics},
            result.optimum,
        )
    )


def _quantized(path: Path, mode: str, dataset, data_dir, batch_size: int, as_json: bool) -> None:
    """`--quantize`: the float32 model and its quantized copy side by side."""
    from zoo import deploy

    result = deploy.evaluate_quantized(
        path, mode, dataset=dataset, data_dir=data_dir, batch_size=batch_size
    ).to_dict()
    if as_json:
        render.print_json(result)
    else:
        render.show(export_view.quantized_view(result))
