"""Options shared by several commands, and the options of the settings' fields.

`field_options(Recipe)` builds one option per field of a settings dataclass
(`zoo.Recipe`, `zoo.RunConfig`, `zoo.recipe.Data`) from the field itself: its help
text, its default (shown, never passed: the library applies it) and its check (a bad
value is a usage error naming the option). `given` reads back the fields a command line
set. So a command's defaults and checks cannot differ from the library's.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

from zoo.choices import PRECISIONS
from zoo.errors import InvalidArgumentError


def choice_enum(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of `values` (from zoo.choices) for Typer, which lists enums in --help and
    rejects anything else; its members are named by their values (Precision.float32)."""
    return Enum(name, {v: v for v in values}, type=str)


Precision = choice_enum("Precision", PRECISIONS)


def check_run_path(path: Path) -> None:
    """A saved run (a folder from `zoo train --output`, or a .keras file) is there.

    Raises:
        ModelFileError: nothing at `path`.
    """
    from zoo.errors import ModelFileError

    if not path.exists():
        raise ModelFileError(
            f"{path} does not exist.",
            "Pass a run folder written by `zoo train --output` or a .keras file.",
        )


def parse_params(items: list[str]) -> dict:
    """KEY=VALUE strings to a dict; values are Python literals, else strings."""
    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(
                f"expected KEY=VALUE, e.g. hidden_units=64; got {item!r}.", param_hint="--param"
            )
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        params[key.strip()] = value
    return params


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
Backend = Annotated[
    str | None,
    typer.Option(
        help="Keras backend: tensorflow, jax or torch (default: KERAS_BACKEND, else "
        "tensorflow). tf.data, TFDS and tf.distribute need tensorflow."
    ),
]


# Where the command line spells a field's values its own way: value on the line -> value.
SPELLED = {
    "jit_compile": {"off": False, "on": True, "auto": "auto"},
    "strategy": {
        "none": "none",
        "mirrored": "mirrored",
        "multi-worker": "multi_worker",
        "tpu": "tpu",
        "data-parallel": "data_parallel",
        "model-parallel": "model_parallel",
    },
}


def field_options(cls: type, defaults: str | None = None) -> SimpleNamespace:
    """An `Annotated` option per field of `cls` (model_kwargs is --param), by field name;
    the parameter's default is None ("not given"). `defaults` replaces the default shown
    (a recipe's depends on the model)."""
    hints = typing.get_type_hints(cls)
    return SimpleNamespace(
        **{
            f.name: _option(f, hints[f.name], defaults)
            for f in dataclasses.fields(cls)
            if f.name != "model_kwargs"
        }
    )


def _option(f: dataclasses.Field, hint: Any, defaults: str | None) -> Any:
    kind = _cli_type(f, hint)
    shown = f"[default: {defaults or spelled(f.name, f.default)}]"
    dash = f.name.replace("_", "-")
    decls = (f"--{dash}/--no-{dash}",) if kind is bool else ()
    option = typer.Option(
        *decls, help=f"{f.metadata['help']} {shown}", show_default=False, callback=_checker(f)
    )
    return Annotated[kind | None, option]


def _cli_type(f: dataclasses.Field, hint: Any) -> type:
    """The field's type on the command line: a choice enum, bool, int, float or str."""
    allowed = SPELLED.get(f.name) or getattr(f.metadata["check"], "allowed", None)
    if allowed:
        return choice_enum("".join(w.title() for w in f.name.split("_")), tuple(allowed))
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return next(t for t in (bool, int, float, str) if t in args)


def _checker(f: dataclasses.Field):
    """A Typer callback running the field's own check on the value given."""

    def check(value):
        if value is None or isinstance(value, Enum):  # Typer checked the choice
            return value
        try:
            f.metadata["check"](f.name, value)
        except InvalidArgumentError as e:
            raise typer.BadParameter(str(e)) from None
        return value

    return check


def given(ctx: typer.Context, names: typing.Iterable[str]) -> dict[str, Any]:
    """The parameters among `names` that the command line set (even at their default
    value), as the library's values."""
    out = {}
    for name in names:
        source = ctx.get_parameter_source(name) if name in ctx.params else None
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            value = ctx.params[name]
            value = value.value if isinstance(value, Enum) else value
            out[name] = SPELLED.get(name, {}).get(value, value) if isinstance(value, str) else value
    return out


def spelled(name: str, value: Any) -> str:
    """A library value as the command line spells it."""
    if value is None:
        return "unset"
    table: Mapping = {v: k for k, v in SPELLED.get(name, {}).items()}
    if name in SPELLED and value in table:
        return str(table[value])
    return str(value).lower() if isinstance(value, bool) else str(value)


Track = Annotated[
    str | None,
    typer.Option(
        help="Log to this tracker: mlflow (its default local store, or MLFLOW_TRACKING_URI; "
        "needs keras-zoo[mlflow]). The parameters, metrics and files, and under a suite or "
        "a search one nested run per case or trial.",
    ),
]
TensorBoardDir = Annotated[
    Path | None,
    typer.Option(
        "--tensorboard",
        help="Also write each case or trial as a TensorBoard run with its HParams in this "
        "folder (tensorboard --logdir DIR; needs keras-zoo[tensorboard]).",
    ),
]
