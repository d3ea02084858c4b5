"""Shipped recipes: named recipe files in zoo/recipes/, run as `zoo train --recipe NAME`.

A preset is an ordinary recipe file (`zoo.recipe`): the model, the data, a target and
the [recipe] and [run] tables. Its leading comment is its description: the first
paragraph is the one-line summary `zoo list --recipes` shows, the rest says what makes it
fast and where it was measured. Listing reads only the files: no framework is imported.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from zoo.errors import InvalidArgumentError

FOLDER = Path(__file__).resolve().parent / "recipes"


def names() -> list[str]:
    """The presets' names, sorted: the files' names without .toml."""
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


def path(name: str) -> Path:
    """The file of preset `name`.

    Raises:
        InvalidArgumentError: no such preset (with the close names and the list).
    """
    found = FOLDER / f"{name}.toml"
    if name in names():
        return found
    close = difflib.get_close_matches(name, names(), n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    raise InvalidArgumentError(
        f"No recipe file or preset named {name!r}.",
        f"{hint}Pass a recipe .toml file, a run folder, or a preset: {', '.join(names())} "
        "(`zoo list --recipes`).",
    )


def describe(name: str) -> dict[str, Any]:
    """A preset as data: name, model, dataset, target, summary, description (the whole
    leading comment), and the file's path.

    Raises:
        InvalidArgumentError: no such preset, or the file is not a valid recipe.
    """
    from zoo import recipe

    file = path(name)
    parsed = recipe.read(file)
    text = file.read_text(encoding="utf-8")
    comment: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line[1:].strip())
    summary = " ".join(_first_paragraph(comment))
    return {
        "name": name,
        "model": parsed.model,
        "dataset": parsed.data.dataset,
        "target": parsed.target,
        "summary": summary,
        "description": "\n".join(comment).strip(),
        "path": str(file),
    }


def list_presets(model: str | None = None) -> list[dict[str, Any]]:
    """Every preset (`describe`), in name order; `model`: only that model's."""
    found = [describe(n) for n in names()]
    return [p for p in found if model is None or p["model"] == model]


def _first_paragraph(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line and out:
            break
        if line:
            out.append(line)
    return out
