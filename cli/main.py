"""The `zoo` command: composes one module per command; nothing heavy at import."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything can import TensorFlow

from typing import Annotated  # noqa: E402

import typer  # noqa: E402
from zoo.cli import (  # noqa: E402
    bench,
    compare,
    daemon,
    data,
    evaluate,
    export,
    generate,
    info,
    list,
    parity,
    predict,
    profile,
    report,
    train,
    tune,
)

app = typer.Typer(
    name="zoo",
    help="A zoo of Keras 3 models: list, describe, train, evaluate, sample, profile and "
    "benchmark them.",
    no_args_is_help=True,
    # --install-completion and --show-completion (bash, zsh, fish, PowerShell).
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: rich's help panels cut option names at 80 columns
    # (`--steps-per-exec…`) and box a usage error over several lines.
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        import zoo  # the package alone: no framework

        typer.echo(f"zoo {zoo.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options that come before the command."""


app.command("list")(list.list_models)
app.command("info")(info.info)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("export")(export.export)
app.command("generate")(generate.generate)
app.command("predict")(predict.predict)
app.command("profile")(profile.profile)
app.command("peak")(profile.peak)
app.add_typer(bench.app, name="bench")  # `zoo bench` runs a suite, `zoo bench merge` shards
app.command("compare")(compare.compare)
app.command("parity")(parity.parity)
app.command("tune")(tune.tune)
app.command("report")(report.report)
app.add_typer(data.app, name="data")
app.add_typer(daemon.app, name="daemon")

if __name__ == "__main__":
    app()
