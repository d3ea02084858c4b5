"""Shipped recipes: named recipe files in zoo/recipes/, run as `zoo train --recipe NAME`.

A preset is an ordinary recipe file (`zoo.recipe`): the model, the data, a target and
the [recipe] and [run] tables. Its leading comment is its description: the first
paragraph is the one-line summary `zoo list --recipes` shows, the rest says what makes it
fast and where it was measured. Listing reads only the files: no framework is imported.
"""

from __future__ import annotations

from typing import Any

from zoo import recipe

FOLDER = recipe.PRESETS_DIR
names = recipe.preset_names  # the presets' names, sorted
path = recipe.preset_path  # the file of one (InvalidArgumentError: no such preset)


def describe(name: str) -> dict[str, Any]:
    """A preset as data: name, model, dataset, target, summary, description (the whole
    leading comment), and the file's path.

    Raises:
        InvalidArgumentError: no such preset, or the file is not a valid recipe.
    """
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
