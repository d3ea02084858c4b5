"""`zoo profile NAME` and `zoo peak`: measure one model, or the device.

Each command: parse the options, call zoo.perf, render (the views are in render.py).
"""

from __future__ import annotations

from typing import Annotated

import typer
from zoo.cli import _keras, options, render
from zoo.cli.options import Precision, choice_enum, parse_params

from zoo.choices import PROFILE_MODES
from zoo.perf.peak import DTYPES

Mode = choice_enum("Mode", PROFILE_MODES)
DType = choice_enum("DType", DTYPES)

Name = Annotated[str, typer.Argument(metavar="NAME", help="A model name from `zoo list`.")]
BatchSize = Annotated[int | None, typer.Option(min=1, help="Default: the recipe's.")]
JitCompile = Annotated[
    bool | None,
    typer.Option("--jit-compile/--no-jit-compile", help="Shorthand for --mode xla / --mode graph."),
]
ModeOption = Annotated[
    Mode,
    typer.Option(
        help="eager, graph (tf.function), xla, auto (the faster of graph and XLA by a "
        "cached probe), fit (Model.fit, as zoo train runs), pipeline (fit fed by the "
        "tf.data pipeline over --dataset)."
    ),
]
PrecisionOption = Annotated[Precision, typer.Option(help="Keras dtype policy.")]
Device = Annotated[str, typer.Option(help="cpu, gpu, gpu:N or auto.")]
Steps = Annotated[int, typer.Option(min=1, help="Timed training steps.")]
StepsPerExecution = Annotated[
    int, typer.Option(min=1, help="Steps per call of the compiled step (fit, pipeline).")
]
PipelineDataset = Annotated[
    str | None, typer.Option(help="The prepared real dataset --mode pipeline reads.")
]
Params = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A hyper-parameter, KEY=VALUE (repeatable)."),
]
DTypeOption = Annotated[DType, typer.Option(help="Matrix dtype.")]
Size = Annotated[int | None, typer.Option(min=64, help="Matrix side (default 2048 CPU, 8192 GPU).")]


def profile(
    name: Name,
    batch_size: BatchSize = None,
    jit_compile: JitCompile = None,
    mode: ModeOption = Mode.graph,
    precision: PrecisionOption = Precision.float32,
    device: Device = "cpu",
    steps: Steps = 20,
    steps_per_execution: StepsPerExecution = 1,
    dataset: PipelineDataset = None,
    data_dir: options.DataDir = None,
    param: Params = None,
    backend: options.Backend = None,
    as_json: options.Json = False,
) -> None:
    """Measure a model: FLOPs, compile time, step time, latency, memory, MFU."""
    if jit_compile is not None:
        mode = Mode.xla if jit_compile else Mode.graph
    settings = dict(
        batch_size=batch_size,
        mode=mode.value,
        precision=precision.value,
        device=device,
        steps=steps,
        model_kwargs=parse_params(param or []),
        steps_per_execution=steps_per_execution,
        dataset=dataset,
        data_dir=data_dir,
    )
    with render.errors():
        r = _measure(name, backend, settings)
    if as_json:
        render.print_json(r.to_dict())
        return
    render.out.print(render.profile_view(r))
    if r.resolved["uncounted_layers"]:
        render.note("FLOPs leave out layers of type " + ", ".join(r.resolved["uncounted_layers"]))


def _measure(name: str, backend: str | None, settings: dict):
    """Checks the name before the slow import, then profiles on the chosen backend."""
    import zoo

    zoo.get_spec(name)
    _keras.select_backend(backend)
    _keras.import_quietly()
    from zoo.perf import profile as profiling

    with render.err.status(f"Profiling {name} ({settings['mode']}, {settings['precision']}) ..."):
        return profiling.profile(name, **settings)


def peak(
    device: Device = "cpu",
    dtype: DTypeOption = DType.float32,
    size: Size = None,
    as_json: options.Json = False,
) -> None:
    """Measure the device's peak matmul FLOP/s and memory bandwidth; cache them for MFU."""
    with render.errors():
        _keras.import_quietly()
        from zoo.perf import peak

        with render.err.status(f"Measuring {device} {dtype.value} ..."):
            r = peak.measure_peak(device, dtype.value, size=size)
    if as_json:
        render.print_json(r)
        return
    render.out.print(render.peak_view(r))
    render.err.print("Cached for MFU in `zoo profile`.")
