"""`zoo profile NAME` and `zoo peak`: measure one model, or the device."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from zoo.cli import _keras, options, render
from zoo.cli.options import Precision, parse_params


class Mode(str, Enum):
    eager = "eager"
    graph = "graph"
    xla = "xla"
    auto = "auto"
    fit = "fit"
    pipeline = "pipeline"


class DType(str, Enum):
    float32 = "float32"
    bfloat16 = "bfloat16"
    float16 = "float16"


Device = Annotated[str, typer.Option(help="cpu, gpu, gpu:N or auto.")]


def profile(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A model name from `zoo list`.")],
    batch_size: Annotated[int | None, typer.Option(min=1, help="Default: the recipe's.")] = None,
    jit_compile: Annotated[
        bool | None,
        typer.Option(
            "--jit-compile/--no-jit-compile", help="Shorthand for --mode xla / --mode graph."
        ),
    ] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="eager, graph (tf.function), xla, auto (the faster of graph and XLA by a "
            "cached probe), fit (Model.fit, as zoo train runs), pipeline (fit fed by the "
            "tf.data pipeline over --dataset)."
        ),
    ] = Mode.graph,
    precision: Annotated[Precision, typer.Option(help="Keras dtype policy.")] = Precision.float32,
    device: Device = "cpu",
    steps: Annotated[int, typer.Option(min=1, help="Timed training steps.")] = 20,
    steps_per_execution: Annotated[
        int, typer.Option(min=1, help="Steps per call of the compiled step (fit, pipeline).")
    ] = 1,
    dataset: Annotated[
        str | None, typer.Option(help="The prepared real dataset --mode pipeline reads.")
    ] = None,
    data_dir: options.DataDir = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A hyper-parameter, KEY=VALUE (repeatable)."),
    ] = None,
    backend: options.Backend = None,
    as_json: options.Json = False,
) -> None:
    """Measure a model: FLOPs, compile time, step time, latency, memory, MFU."""
    import zoo

    if jit_compile is not None:
        mode = Mode.xla if jit_compile else Mode.graph
    with render.errors():
        zoo.get_spec(name)
        _keras.select_backend(backend)
        _keras.import_quietly()
        from zoo.perf import profile as profiling

        with render.err.status(f"Profiling {name} ({mode.value}, {precision.value}) ..."):
            r = profiling.profile(
                name,
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
    if as_json:
        render.print_json(r.to_dict())
        return
    t, i = r.train, r.infer
    rows = [
        ("parameters", r.params),
        ("FLOPs / sample (forward)", r.flops["forward_per_sample"]),
        ("FLOPs / sample (train step)", r.flops["train_per_sample"]),
        ("first step: trace + compile", f"{r.compile_s:.2f} s"),
        (
            "train step (median, p10-p90)",
            f"{t['step_ms_median']:.2f} ms ({t['step_ms_p10']:.2f}-{t['step_ms_p90']:.2f})",
        ),
        ("train throughput", f"{t['samples_per_s']:,.0f} samples/s"),
        ("train FLOP/s", f"{r.train_flops_per_s / 1e9:,.2f} GFLOP/s"),
        ("MFU", f"{r.mfu:.1%}" if r.mfu is not None else "- (run `zoo peak` first)"),
        (
            "inference latency, batch 1 (p50/p90/p99)",
            f"{i['p50_ms']:.2f} / {i['p90_ms']:.2f} / {i['p99_ms']:.2f} ms",
        ),
        (f"inference throughput, batch {r.batch_size}", f"{i['samples_per_s']:,.0f} samples/s"),
        ("peak memory", f"{r.peak_memory_mb:,.0f} MB"),
        ("XLA really ran", "yes" if r.resolved["jit_compile"] else "no"),
    ]
    probe = r.resolved.get("jit_probe")
    if probe:
        rows.append(
            (
                "auto: probe step, graph / XLA",
                f"{probe['graph_step_ms']:.2f} / {probe['xla_step_ms']:.2f} ms"
                + (" (cached)" if probe["cached"] else ""),
            )
        )
    render.out.print(
        render.key_values(
            f"{r.model} · {r.backend} · {r.device} · {r.mode} · {r.precision} · "
            f"batch {r.batch_size}",
            rows,
        )
    )
    if r.resolved["uncounted_layers"]:
        render.note("FLOPs leave out layers of type " + ", ".join(r.resolved["uncounted_layers"]))


def peak(
    device: Device = "cpu",
    dtype: Annotated[DType, typer.Option(help="Matrix dtype.")] = DType.float32,
    size: Annotated[
        int | None, typer.Option(min=64, help="Matrix side (default 2048 CPU, 8192 GPU).")
    ] = None,
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
    render.out.print(
        render.key_values(
            f"peak of {r['device']} ({r['backend']}, {r['dtype']})",
            [
                (
                    "matmul",
                    f"{r['matmul_flops_per_s'] / 1e9:,.1f} GFLOP/s ({r['size']}x{r['size']})",
                ),
                ("memory copy", f"{r['copy_bytes_per_s'] / 1e9:,.1f} GB/s"),
            ],
        )
    )
    render.err.print("Cached for MFU in `zoo profile`.")
