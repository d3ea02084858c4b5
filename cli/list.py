"""`zoo list`: the registered models, as a table, tab-separated lines or JSON.

Imports no framework.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from zoo.cli import render

Pattern = Annotated[
    str, typer.Argument(metavar="PATTERN", help="fnmatch pattern on the name, e.g. '*cnn*'.")
]
Family = Annotated[str | None, typer.Option(help="Only this family, e.g. cnn.")]
Task = Annotated[str | None, typer.Option(help="Only this task, e.g. text_classification.")]
Tag = Annotated[str | None, typer.Option(help="Only models with this tag.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Plain = Annotated[
    bool,
    typer.Option(
        "--plain",
        help="One model per line, tab-separated: name, family, task, summary; no header "
        "(`zoo list --plain | cut -f1` prints the names). The default when stdout is not "
        "a terminal.",
    ),
]
AsTable = Annotated[
    bool, typer.Option("--table", help="A table even when stdout is not a terminal.")
]
Recipes = Annotated[
    bool,
    typer.Option(
        "--recipes",
        help="List the shipped recipes (presets: `zoo train --recipe NAME`) instead of the "
        "models; PATTERN, --family, --task and --tag select by their model.",
    ),
]


def spec_dict(spec) -> dict:
    from zoo.io import to_jsonable

    return to_jsonable(spec)


def list_models(
    pattern: Pattern = "*",
    family: Family = None,
    task: Task = None,
    tag: Tag = None,
    as_json: AsJson = False,
    plain: Plain = False,
    as_table: AsTable = False,
    recipes: Recipes = False,
) -> None:
    """List the models in the zoo (--recipes: its shipped recipes): a table in a terminal,
    tab-separated lines in a pipe."""
    specs = _find(pattern, family, task, tag)
    if recipes:
        return _list_recipes(specs, as_json, plain or not (as_table or render.out.is_terminal))
    if as_json:
        render.print_json([spec_dict(s) for s in specs])
    elif not specs:
        render.note("no model matches; `zoo list` shows them all.")
    elif plain or not (as_table or render.out.is_terminal):
        # The count goes to stderr: stdout stays one model per line for cut, grep, awk.
        render.err.print(render.plural(len(specs), "model"))
        render.print_plain((s.name, s.family, s.task, s.summary) for s in specs)
    else:
        render.show(models_table(render.plural(len(specs), "model"), specs))


def _find(pattern: str, family: str | None, task: str | None, tag: str | None) -> list:
    """The specs that match, in name order; a plugin that failed to load is a note."""
    import zoo

    with render.errors():
        names = zoo.list_models(pattern, family=family, task=task, tag=tag)
        for line in zoo.registry.plugin_errors():
            render.note(f"a plugin failed to load: {line}")
    return [zoo.get_spec(n) for n in names]


def models_table(title: str, specs: Sequence[Any]) -> render.RenderableType:
    """`zoo list`: name, family and task whole; the summary wraps in what is left."""
    return render.table(
        title,
        [
            render.Col("name"),
            render.Col("family"),
            render.Col("task"),
            render.Col("summary", "text"),
        ],
        [(s.name, s.family, s.task, s.summary) for s in specs],
    )


def _list_recipes(specs: Sequence[Any], as_json: bool, plain: bool) -> None:
    """`zoo list --recipes`: the presets of the selected models."""
    from zoo import presets

    wanted = {s.name for s in specs}
    with render.errors():
        found = [p for p in presets.list_presets() if p["model"] in wanted]
    if as_json:
        return render.print_json(found)
    if not found:
        return render.note("no shipped recipe matches; `zoo list --recipes` shows them all.")
    rows = [(p["name"], p["model"], p["dataset"], p["target"] or "-", p["summary"]) for p in found]
    if plain:
        render.err.print(render.plural(len(found), "recipe"))
        return render.print_plain(rows)
    Col = render.Col
    title = render.plural(len(found), "recipe") + ": zoo train --recipe NAME"
    cols = [Col("name"), Col("model"), Col("dataset"), Col("target"), Col("summary", "text")]
    render.show(render.table(title, cols, rows))
    return None
