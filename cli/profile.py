"""`zoo profile NAME` and `zoo peak`: measure one model, or the device.

Each command: parse the options, call zoo.perf, render (the views are in render.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import _keras, options, render
from zoo.cli.options import Precision, choice_enum, parse_params
from zoo.cli.views import profile as profile_view

from zoo.choices import EXPORT_FORMATS, MATMUL_PRECISIONS, PROFILE_MODES, QUANTIZE_MODES
from zoo.errors import InvalidArgumentError
from zoo.perf.peak import DTYPES

Mode = choice_enum("Mode", PROFILE_MODES)
DType = choice_enum("DType", DTYPES)
QuantizeMode = choice_enum("QuantizeMode", QUANTIZE_MODES)
ExportFormat = choice_enum("ExportFormat", EXPORT_FORMATS)
INFERENCE_BATCH_SIZES = "1,8,32,128"

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
Quantize = Annotated[
    QuantizeMode | None,
    typer.Option(
        help="Also quantize a copy (Keras' model.quantize) and time the inference of both "
        "side by side (quantized layers are inference-only: float32 training alone is timed)."
    ),
]
Inference = Annotated[
    bool, typer.Option("--inference", help="Inference only: latency and throughput per batch size.")
]
BatchSizes = Annotated[
    str | None,
    typer.Option(
        help=f"Inference batch sizes, comma-separated (--inference: {INFERENCE_BATCH_SIZES}; "
        "--quantize: 1 and --batch-size)."
    ),
]
Format = Annotated[
    ExportFormat | None,
    typer.Option(
        "--format",
        help="With --inference: also export to this format (a temporary folder) and time it "
        "in its own runtime, interleaved with Keras.",
    ),
]
Plot = Annotated[
    Path | None,
    typer.Option(help="With --inference or --quantize: draw latency and throughput per batch."),
]
DTypeOption = Annotated[DType, typer.Option(help="Matrix dtype.")]
MatmulPrecision = choice_enum("MatmulPrecision", MATMUL_PRECISIONS)
MatmulOption = Annotated[
    MatmulPrecision,
    typer.Option(
        help="Float32 matmul precision to measure under: highest (no TF32, as `zoo bench "
        "--matmul-precision highest` pins) or default (the backend's own)."
    ),
]
Replicas = Annotated[
    int,
    typer.Option(
        min=1,
        help="Split the batch over N devices (keras.distribution's data_parallel, JAX: "
        "--backend jax); on a CPU, the CPU split into N.",
    ),
]
PeakOutput = Annotated[
    Path | None,
    typer.Option(help="Also append the measurement, stamped (commit, machine), to this .jsonl."),
]
Size = Annotated[int | None, typer.Option(min=64, help="Matrix side (default 2048 CPU, 8192 GPU).")]


def profile(
    name: Name,
    batch_size: BatchSize = None,
    jit_compile: JitCompile = None,
    mode: ModeOption = Mode.graph,
    precision: PrecisionOption = Precision.float32,
    device: Device = "auto",  # as zoo train and zoo tune (zoo.RunConfig.device)
    steps: Steps = 20,
    steps_per_execution: StepsPerExecution = 1,
    dataset: PipelineDataset = None,
    data_dir: options.DataDir = None,
    param: Params = None,
    backend: options.Backend = None,
    replicas: Replicas = 1,
    quantize: Quantize = None,
    inference: Inference = False,
    batch_sizes: BatchSizes = None,
    format: Format = None,
    plot: Plot = None,
    as_json: options.Json = False,
) -> None:
    """Measure a model: FLOPs, compile time, step time, latency, memory, MFU; or its
    inference per batch size (--inference, --format), or against its quantized copy."""
    if quantize or inference or format or plot or batch_sizes:
        side = dict(quantize=quantize, fmt=format, plot=plot, sizes=batch_sizes)
        side.update(batch_size=batch_size, steps=steps, precision=precision.value)
        _inference_side(name, backend, side, parse_params(param or []), as_json)
        return
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
        replicas=replicas,
    )
    with render.errors():
        r = _measure(name, backend, settings)
    if as_json:
        render.print_json(r.to_dict())
        return
    render.out.print(profile_view.profile_view(r))
    if r.resolved["uncounted_layers"]:
        render.note("FLOPs leave out layers of type " + ", ".join(r.resolved["uncounted_layers"]))


def _measure(name: str, backend: str | None, settings: dict):
    """Checks the name before the slow import, then profiles on the chosen backend."""
    import zoo

    zoo.get_spec(name)
    _keras.select_backend(backend)
    run = None
    if settings["replicas"] != 1 and settings["device"] in ("cpu", "auto"):
        from zoo.runtime import RunConfig  # the CPU split into N devices, before JAX starts

        run = RunConfig(cpu_devices=settings["replicas"], backend=backend)
    _keras.import_quietly(run=run)
    from zoo.perf import profile as profiling

    warn_if_emulated(settings["precision"], settings["device"])
    with render.err.status(f"Profiling {name} ({settings['mode']}, {settings['precision']}) ..."):
        return profiling.profile(name, **settings)


def warn_if_emulated(precision: str, device: str) -> None:
    """One line on stderr when this hardware emulates the precision (no native bf16/fp16)."""
    from rich.markup import escape

    from zoo.runtime import hardware

    line = hardware.emulation_warning(precision, device)
    if line:
        render.err.print(f"[yellow]Warning:[/] {escape(line)}", soft_wrap=True)


def parse_batch_sizes(text: str) -> list[int]:
    """ "1,8,32" -> [1, 8, 32].

    Raises:
        InvalidArgumentError: an entry that is not a positive integer (exit 2).
    """
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise InvalidArgumentError(
            f"--batch-sizes takes positive integers separated by commas; received {text!r}.",
            f"For example: --batch-sizes {INFERENCE_BATCH_SIZES}",
        )
    return list(dict.fromkeys(int(p) for p in parts))


def _check_side(side: dict) -> None:
    """The combinations --quantize, --inference, --format and --plot allow."""
    if side["quantize"] and side["fmt"]:
        raise InvalidArgumentError(
            "--quantize and --format do not go together here.",
            "Time an exported quantized model with `zoo export PATH --format F --quantize M`.",
        )
    if side["precision"] != "float32":
        raise InvalidArgumentError(
            f"--inference and --quantize profile the float32 model; received "
            f"--precision {side['precision']}.",
            "Leave --precision out.",
        )


def _inference_side(name: str, backend: str | None, side: dict, kwargs: dict, as_json: bool):
    """`--quantize` or `--inference [--format]`: measure, then render (and draw)."""
    import zoo

    with render.errors():
        _check_side(side)
        default = None if side["quantize"] else INFERENCE_BATCH_SIZES
        text = side["sizes"] or default
        sizes = parse_batch_sizes(text) if text else None
        zoo.get_spec(name)
        _keras.select_backend(backend)
        _keras.import_quietly()
        from zoo.perf import inference as measure

        with render.err.status(f"Profiling {name} inference ..."):
            if side["quantize"]:
                mode = side["quantize"].value
                r = measure.profile_quantized(
                    name,
                    mode,
                    batch_size=side["batch_size"],
                    batch_sizes=sizes,
                    steps=side["steps"],
                    model_kwargs=kwargs,
                )
            else:
                fmt = side["fmt"].value if side["fmt"] else None
                r = measure.profile_inference(name, batch_sizes=sizes, fmt=fmt, model_kwargs=kwargs)
        if side["plot"] is not None:
            from zoo.cli import plot as charts

            charts.inference_chart(r.rows, side["plot"], f"{name} inference")
    record = r.to_dict()
    if as_json:
        render.print_json(record)
        return
    view = (
        profile_view.quantized_profile_view
        if side["quantize"]
        else profile_view.inference_profile_view
    )
    render.show(view(record))
    if side["plot"] is not None:
        render.err.print(f"Chart: {side['plot']}")


def peak(
    device: Device = "cpu",
    dtype: DTypeOption = DType.float32,
    size: Size = None,
    matmul_precision: MatmulOption = MatmulPrecision.default,
    output: PeakOutput = None,
    as_json: options.Json = False,
) -> None:
    """Measure the device's peak matmul FLOP/s and memory bandwidth; cache them for MFU
    (profiles measure it themselves on first use: this measures it again)."""
    with render.errors():
        _keras.import_quietly()
        from zoo.perf import peak
        from zoo.record import stamp
        from zoo.results import ResultsFile
        from zoo.runtime.device import set_matmul_precision

        set_matmul_precision(matmul_precision.value)
        with render.err.status(f"Measuring {device} {dtype.value} ..."):
            r = peak.measure_peak(device, dtype.value, size=size)
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            ResultsFile(output).append(stamp({"status": "ok", **r}, "peak"))
    if as_json:
        render.print_json(r)
        return
    render.out.print(profile_view.peak_view(r))
    kept = r.get("kept")
    if kept:
        render.note(
            f"the cache keeps the higher {kept['matmul_flops_per_s'] / 1e9:,.1f} GFLOP/s "
            f"measured {kept['measured_at']}: other work only lowers a measured peak."
        )
    else:
        render.err.print("Cached for MFU on this machine, backend, dtype and matmul precision.")
