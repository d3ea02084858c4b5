"""`zoo export PATH --format ...`: write a deployable artifact, load it in its own runtime
and compare it with the Keras model (outputs, metric, size, speed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import _keras, options, render
from zoo.cli.views import export as export_view

from zoo.choices import EXPORT_FORMATS, QUANTIZE_MODES

ExportFormat = options.choice_enum("ExportFormat", EXPORT_FORMATS)
QuantizeMode = options.choice_enum("QuantizeMode", QUANTIZE_MODES)

Source = Annotated[
    str,
    typer.Argument(
        metavar="PATH",
        help="A run folder from `zoo train --output`, a .keras file, or a model name "
        "(random weights, checked on synthetic data).",
    ),
]
Format = Annotated[ExportFormat, typer.Option("--format", help="The artifact's format.")]
Quantize = Annotated[
    QuantizeMode | None,
    typer.Option(
        help="Quantize the weights first (Keras' model.quantize; LiteRT int8: its converter's)."
    ),
]
Output = Annotated[
    Path | None,
    typer.Option(
        help="The artifact's path (.onnx, .tflite, .xml; a folder for saved_model). "
        "Default: in the run folder, else beside the .keras file or here."
    ),
]
Preprocessing = Annotated[
    bool | None,
    typer.Option(
        "--include-preprocessing/--no-include-preprocessing",
        help="Image models: the artifact takes uint8 pixels and scales them as the zoo's "
        "pipeline does. Default: on where the data are pixels.",
    ),
]


def export(
    source: Source,
    format: Format,
    quantize: Quantize = None,
    output: Output = None,
    include_preprocessing: Preprocessing = None,
    dataset: Annotated[str | None, typer.Option(help="Default: the run's dataset.")] = None,
    data_dir: options.DataDir = None,
    batch_size: Annotated[int, typer.Option(min=1, help="The throughput batch.")] = 128,
    as_json: options.Json = False,
) -> None:
    """Export a model, run it in its own runtime and compare it with Keras."""
    with render.errors():
        _keras.import_quietly()
        from zoo.cli.progress import Steps

        from zoo import deploy

        with Steps(f"zoo export {format.value}") as steps:
            result = deploy.export(
                source,
                format.value,
                quantize=quantize.value if quantize else None,
                output=output,
                include_preprocessing=include_preprocessing,
                dataset=dataset,
                data_dir=data_dir,
                batch_size=batch_size,
                on_stage=steps.start,
            )
    if as_json:
        render.print_json(result.to_dict())
    else:
        render.show(export_view.export_view(result.to_dict()))
    with render.errors():
        result.check()
