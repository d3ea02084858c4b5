"""Recipes as files: `recipe.toml`, what one training run was asked, enough to run it again.

    model = "mlp"            # the registry name
    seed = 3                 # data, split, weights and shuffling
    target = "accuracy=0.9"  # optional: stop when the validation split reaches it
    eval_every = 10          # optional: check the target every N steps
    check_from = 1           # optional: and only after this many epochs

    [recipe]   zoo.spec.Recipe: how the model trains (epochs, batch_size, learning_rate...)
    [run]      zoo.runtime.RunConfig: how it executes (device, jit_compile, precision...)
    [data]     Data: what it trains on (dataset, samples, val_fraction, test_fraction...)

Where each setting belongs, and why: the [recipe] is what a search tunes and what is
judged on many seeds, splits and targets, so the seed, the validation split
(`val_fraction`, a choice about the data) and the target (a goal, not a way to train)
sit outside it; `eval_every` and `check_from` sit beside the target they check, since
they change nothing without one. Keys left out of [recipe] take the model's recipe
(`zoo info NAME --recipe`), keys left out of [run] and [data] their defaults. Every run
folder gets one (`zoo.training.checkpoint`), `zoo train --recipe FILE_OR_RUN_FOLDER` reads
one, and `zoo tune` writes its winner as one. The time-to-target suite's [[case]] entries use the
same keys and tables.

Reading uses tomllib (tomli before Python 3.11); writing is the small emitter below
(tables of scalars, lists and inline tables). No framework is imported.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zoo import io
from zoo.errors import InvalidArgumentError, UsageError
from zoo.runtime.config import RUN_FIELDS, RunConfig
from zoo.spec import (
    RECIPE_FIELDS,
    Recipe,
    Settings,
    epochs_before,
    field_names,
    fraction,
    integer,
    open_fraction,
    positive,
    setting,
    text,
    unknown_setting,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILE = "recipe.toml"


@dataclasses.dataclass(frozen=True)
class Data(Settings):
    """What a run trains on (zoo.train's data options)."""

    dataset: str = setting(
        "synthetic",
        text(optional=False),
        "synthetic (no download), a dataset of the model's task (see `zoo data list`), "
        "or a path: .npz, ratings .csv, or a folder of class folders.",
    )
    samples: int | None = setting(
        None,
        positive(int, optional=True),
        "Synthetic: training examples to generate. Real data: at most this many.",
    )
    val_fraction: float | None = setting(
        None,
        fraction(),
        "Part of the training split held out for validation (0: none; unset: the "
        "dataset's own validation split where it has one, else 0.1).",
    )
    test_fraction: float = setting(
        0.2, open_fraction, "Test part of data without a test split (ratings .csv, folders)."
    )
    data_dir: str | None = setting(None, text(), "Where TFDS keeps datasets (unset: TFDS's own).")


DATA_FIELDS = field_names(Data)
# The settings a tuning trial takes (zoo.tuning.trial): zoo.train's recipe fields and
# the data and target options a search sets, and the execution settings of its RunConfig
# (the backend is the trial process's own).
CHECK_KEYS = ("eval_every", "check_from")  # when a target is checked
TRIAL_TRAIN_KEYS = (*RECIPE_FIELDS, "val_fraction", *CHECK_KEYS)
TRIAL_RUN_KEYS = tuple(k for k in RUN_FIELDS if k != "backend")


@dataclasses.dataclass(frozen=True)
class RecipeFile:
    """One recipe.toml: the model, its recipe, run config and data, the seed, a target."""

    model: str
    recipe: Recipe
    run: RunConfig = RunConfig()
    data: Data = Data()
    seed: int = 0
    target: str | None = None  # METRIC=VALUE on the validation split
    eval_every: int | None = None  # steps between target checks (None: each epoch)
    check_from: int | float | None = None  # epochs before the first check (None: 0)

    def train_kwargs(self) -> dict[str, Any]:
        """zoo.train's keyword arguments (after the model) that run this file."""
        data = {f: getattr(self.data, f) for f in DATA_FIELDS}
        return {
            **data,
            "recipe": self.recipe,
            "run": self.run,
            "seed": self.seed,
            "target": self.target,
            "eval_every": self.eval_every,
            "check_from": self.check_from,
        }

    def settings(self) -> dict[str, Any]:
        """The recipe and execution settings as one flat dict (a tuning trial's)."""
        recipe = io.to_jsonable(self.recipe)
        run = {k: getattr(self.run, k) for k in TRIAL_RUN_KEYS if k != "device"}
        flat = {**recipe, **run}
        for key in CHECK_KEYS:
            if getattr(self, key) is not None:
                flat[key] = getattr(self, key)
        return flat


# The top-level keys: their checks and help.
_TOP = {
    "model": (text(optional=False), "A model name from `zoo list`."),
    "seed": (integer, "Seeds the data, the split, the initial weights and the shuffling."),
    "target": (text(), "METRIC=VALUE: stop when the validation split reaches it."),
    "eval_every": (
        positive(int, optional=True),
        "Steps between target checks (unset: each epoch).",
    ),
    "check_from": (
        epochs_before,
        "Epochs trained before the target is first checked (unset: 0).",
    ),
}
_TABLES = {"recipe": Recipe, "run": RunConfig, "data": Data}


def dumps(file: RecipeFile, comment: str = "", explain: bool = False) -> str:
    """The TOML text of a recipe file; `explain`: each field's help above it, and the
    unset ones as comments (a file to edit)."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    for key, (_, help_text) in _TOP.items():
        lines += _line(key, getattr(file, key), help_text, explain)
    for name, cls in _TABLES.items():
        lines += ["", f"[{name}]"]
        for f in dataclasses.fields(cls):
            lines += _line(
                f.name, getattr(getattr(file, name), f.name), f.metadata["help"], explain
            )
    return "\n".join(lines) + "\n"


def _line(key: str, value: Any, help_text: str, explain: bool) -> list[str]:
    about = [f"# {help_text}"] if explain and help_text else []
    if value is None:
        return [*about, f"# {_key(key)} ="] if explain else []
    return [*about, f"{_key(key)} = {_value(value)}"]


def write(path: str | Path, file: RecipeFile, comment: str = "", explain: bool = False) -> Path:
    """Writes a recipe file atomically; returns its path."""
    path = Path(path)
    with io.atomic_path(path) as tmp:
        tmp.write_text(dumps(file, comment, explain), encoding="utf-8")
    return path


def recipe_path(path: str | Path) -> Path:
    """The recipe file of `path`: the file itself, a run folder's recipe.toml, or the
    file of a shipped preset of that name (`zoo.presets`) where no such path exists.

    Raises:
        InvalidArgumentError: nothing there, and no preset of that name.
    """
    path = Path(path)
    if path.is_dir():
        path = path / FILE
        if not path.is_file():
            raise InvalidArgumentError(
                f"{path.parent} has no {FILE}.",
                "Pass a run folder written by `zoo train --output`, or a recipe file.",
            )
    elif not path.is_file():
        if path.suffix or len(path.parts) > 1:  # a path, not a preset's name
            raise InvalidArgumentError(
                f"No recipe file at {path}.",
                "Pass a recipe .toml file, a run folder, or a preset (`zoo list --recipes`).",
            )
        return preset_path(str(path))
    return path


# Shipped recipes (presets): named recipe files in zoo/recipes/ (`zoo.presets` lists them).
PRESETS_DIR = Path(__file__).resolve().parent / "recipes"


def preset_names() -> list[str]:
    """The shipped presets' names, sorted: the files' names without .toml."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def preset_path(name: str) -> Path:
    """The file of the shipped preset `name`.

    Raises:
        InvalidArgumentError: no such preset (with the close name and the list).
    """
    names = preset_names()
    if name in names:
        return PRESETS_DIR / f"{name}.toml"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    raise InvalidArgumentError(
        f"No recipe file or preset named {name!r}.",
        f"{hint}Pass a recipe .toml file, a run folder, or a preset: {', '.join(names)} "
        "(`zoo list --recipes`).",
    )


def read(path: str | Path, model: str | None = None) -> RecipeFile:
    """Reads a recipe file or a run folder's recipe.toml (`model`: instead of its own).

    Raises:
        InvalidArgumentError: one line naming the file, the key and what is allowed.
    """
    path = recipe_path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidArgumentError(f"Cannot read {path}: {e}.") from None
    return loads(content, str(path), model)


def loads(content: str, source: str = "the recipe", model: str | None = None) -> RecipeFile:
    """A recipe file from its TOML text; `source` names it in errors.

    Raises:
        InvalidArgumentError: not TOML, an unknown table or key, or a bad value.
    """
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as e:
        raise InvalidArgumentError(f"{source}: not valid TOML: {e}.") from None
    return from_dict(data, source, model)


def from_dict(data: Mapping, source: str = "the recipe", model: str | None = None) -> RecipeFile:
    """A recipe file from its tables (as TOML or JSON hold them), checked.

    Raises:
        InvalidArgumentError: one line naming `source`, the key and what is allowed.
    """
    from zoo import registry

    for key in data:
        if key not in _TOP and key not in _TABLES:
            raise _wrap(source, unknown_setting(key, [*_TOP, *_TABLES], "A recipe file"))
    top = {k: _checked(source, k, check, data.get(k)) for k, (check, _) in _TOP.items()}
    name = model or top["model"]
    if name is None:
        raise InvalidArgumentError(f"{source}: no `model`.", 'Add model = "NAME" at the top.')
    try:
        spec = registry.get_spec(name)
    except UsageError as e:
        raise _wrap(source, e, "model") from None
    bases = {"recipe": spec.recipe, "run": RunConfig(), "data": Data()}
    tables = {name: _table(source, name, data.get(name, {}), bases[name]) for name in _TABLES}
    extras = {k: top[k] for k in ("target", *CHECK_KEYS)}
    return RecipeFile(name, seed=top["seed"] or 0, **extras, **tables)


def from_settings(model: str, settings: Mapping, source: str = "the settings") -> RecipeFile:
    """A recipe file from one flat dict of recipe and run settings (and CHECK_KEYS) over
    the model's recipe: a tuning trial's settings, or a tuned-cache entry written before
    the cache held recipe files.

    Raises:
        InvalidArgumentError: a key neither declares, or a bad value.
    """
    tables: dict[str, dict] = {"recipe": {}, "run": {}}
    top = {"model": model}
    for key, value in settings.items():
        if key in RECIPE_FIELDS:
            tables["recipe"][key] = value
        elif key in RUN_FIELDS:
            tables["run"][key] = value
        elif key in CHECK_KEYS:
            top[key] = value
        else:
            raise _wrap(source, unknown_setting(key, [*RECIPE_FIELDS, *RUN_FIELDS], "A trial"))
    tables = {k: {n: v for n, v in t.items() if v is not None} for k, t in tables.items()}
    return from_dict({**top, **tables}, source)


def _table(source: str, name: str, table: Any, base: Any) -> Any:
    """`base` with the table's keys, each checked by its field's own check."""
    if not isinstance(table, Mapping):
        raise InvalidArgumentError(f"{source}: [{name}] must be a table; received {table!r}.")
    fields = {f.name: f for f in dataclasses.fields(base)}
    for key, value in table.items():
        if key not in fields:
            raise _wrap(source, unknown_setting(key, fields, f"[{name}]"))
        _checked(source, f"[{name}] {key}", fields[key].metadata["check"], value, key)
    return dataclasses.replace(base, **table)


def _checked(source: str, where: str, check, value: Any, key: str | None = None) -> Any:
    """`value` checked as `key` (default: `where`); the error names the file and key."""
    if value is None:
        return None
    try:
        return check(key or where, value)
    except InvalidArgumentError as e:
        raise _wrap(source, e, where) from None


def _wrap(source: str, error: Exception, key: str = "") -> InvalidArgumentError:
    """`error` as one line naming the file (`source`, where there is one) and the key."""
    where = "".join(f"{part}: " for part in (source, key) if part)
    return InvalidArgumentError(f"{where}{error}")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _value(value: Any) -> str:
    """One TOML value: a bool, number, string, array or inline table (None is left out)."""
    value = io.to_jsonable(value) if not isinstance(value, float) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    if isinstance(value, Mapping):
        items = [f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"no TOML value for {value!r}")
