"""`zoo parity NAME`: the same model, weights and batches on each Keras backend, compared.

Parse the options, call zoo.perf.parity, render (the table is laid out in render.py). The
parity suite (`zoo bench --suite parity`) runs through `bench_suite` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import _keras, options, render
from zoo.cli.options import Precision, parse_params
from zoo.cli.views import parity as parity_view

Name = Annotated[str, typer.Argument(metavar="NAME", help="A model name from `zoo list`.")]
Backends = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated, the first is the reference: tensorflow,jax,torch; "
        "BACKEND:DEVICE places one (jax:cpu,jax:gpu compares a GPU with the CPU). "
        "Default: the installed ones among them, in that order."
    ),
]
Steps = Annotated[int, typer.Option(help="Training steps of the loss curve (and timed).")]
PrecisionOption = Annotated[Precision, typer.Option(help="Keras dtype policy.")]
BatchSize = Annotated[int | None, typer.Option(help="Default: the recipe's, at most 32.")]
Small = Annotated[
    bool, typer.Option("--small", help="Build the model with its spec's small overrides.")
]
Params = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A hyper-parameter, KEY=VALUE (repeatable)."),
]


def parity(
    name: Name,
    backends: Backends = None,
    steps: Steps = 20,
    precision: PrecisionOption = Precision.float32,
    batch_size: BatchSize = None,
    small: Small = False,
    param: Params = None,
    as_json: options.Json = False,
) -> None:
    """Compare one model across Keras backends: forward, gradients, loss curve, speed."""
    from zoo.perf import parity as zparity

    listed = [b.strip() for b in backends.split(",") if b.strip()] if backends else None
    with render.errors():
        if param:  # check_request builds the model to check the values: quietly
            _keras.import_quietly()
        req = zparity.check_request(
            name, listed, steps, precision.value, batch_size, parse_params(param or []), small
        )
        _note_missing(zparity, listed)
        report = _run_backends(zparity, req)
    if as_json:
        render.print_json(report)
        return
    render.print_wide(parity_view.parity_table(report))
    render.out.print(parity_view.parity_notes(report), soft_wrap=True)


def _run_backends(zparity, req) -> dict:
    """`zoo parity`'s run, a live line on a terminal naming the backend that runs."""
    from zoo.cli.progress import Steps

    names, total = list(req.backends), len(req.backends)
    with Steps(f"parity of {req.model}") as steps:
        steps.start(1, total, names[0])

        def heard(backend: str, result: dict) -> None:
            parity_view.parity_backend_done(backend, result)
            steps.done()
            done = names.index(backend) + 1
            if done < total:
                steps.start(done + 1, total, names[done])

        return zparity.run_parity(req, on_backend=heard)


def _note_missing(zparity, listed: list[str] | None) -> None:
    """By default only installed backends run: say which were left out, and why."""
    if listed is None:
        for b in zparity.BACKENDS:
            if not zparity.installed(b):
                render.note(f"{zparity.not_installed_reason(b)}; not compared.")


def bench_suite(
    s, output: Path, models: str | None, resume: bool, as_json: bool, shard=None
) -> None:
    """`zoo bench --suite parity`: `zoo parity` per model, a JSON line each, and the
    Markdown table beside the results file."""
    from zoo.cli.progress import Steps

    from zoo.perf import parity as zparity

    with render.errors():
        try:
            with Steps(f"suite {s.name}") as steps:
                records = zparity.run_suite(
                    s,
                    output,
                    models=models,
                    resume=resume,
                    on_start=lambda n, total, req: steps.start(n, total, req.model),
                    on_result=lambda *done: (parity_view.parity_model_done(*done), steps.done()),
                    shard=shard,
                )
        except KeyboardInterrupt:
            render.err.print(
                f"[yellow]Interrupted.[/] Finished models are in {output}; finish with: "
                f"zoo bench --suite {s.name} --output {output} --resume",
                soft_wrap=True,
            )
            raise typer.Exit(130) from None
    if as_json:
        render.print_json(records)
        return
    for record in records:
        if record.get("status") == "ok":
            render.print_wide(parity_view.parity_table(record))
    render.err.print(f"Results: {output} (+ .md)", soft_wrap=True)
