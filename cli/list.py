"""`zoo list`: the registered models, as a table or JSON. Imports no framework."""

from __future__ import annotations

from typing import Annotated

import typer
from zoo.cli import render


def spec_dict(spec) -> dict:
    from zoo.io import to_jsonable

    return to_jsonable(spec)


def list_models(
    pattern: Annotated[
        str, typer.Argument(metavar="PATTERN", help="fnmatch pattern on the name, e.g. '*cnn*'.")
    ] = "*",
    family: Annotated[str | None, typer.Option(help="Only this family, e.g. cnn.")] = None,
    task: Annotated[
        str | None, typer.Option(help="Only this task, e.g. text_classification.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only models with this tag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the models in the zoo."""
    import zoo

    with render.errors():
        names = zoo.list_models(pattern, family=family, task=task, tag=tag)
        for line in zoo.registry.plugin_errors():
            render.note(f"a plugin failed to load: {line}")
    specs = [zoo.get_spec(n) for n in names]
    if as_json:
        render.print_json([spec_dict(s) for s in specs])
        return
    if not specs:
        render.note("no model matches; `zoo list` shows them all.")
        return
    render.out.print(
        render.table(
            f"{len(specs)} models",
            ["name", "family", "task", "summary"],
            [(s.name, s.family, s.task, s.summary) for s in specs],
        )
    )
