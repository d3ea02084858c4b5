"""The CLI's toolkit for output: one-line errors, print helpers, and the table layout.

Results go to stdout; progress, notes and errors go to stderr, so `--json` or `--plain`
output can be piped. A table never wraps or cuts a name (a name is what the user types
next); only a prose column wraps, and each number column is printed with one precision.
`rich` lays out a `zoo.table.Table`, the library's description of a table that is also
written as Markdown and CSV. Each command's own views are beside it in `zoo.cli.views`.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from zoo.formatting import KINDS, decimals, format_column  # noqa: F401
from zoo.formatting import format_number as number
from zoo.table import Table as ZooTable

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def refresh_consoles() -> None:
    """Makes `out` and `err` detect their terminal again (colors, width): a run the zoo
    daemon forked has its caller's streams, while the consoles were made when the daemon's
    were /dev/null. In place, as the views hold them by name."""
    out.__init__(highlight=False)
    err.__init__(stderr=True, highlight=False)


@contextlib.contextmanager
def errors():
    """Turns a ZooError into one red line and its exit code; Ctrl-C into exit 130."""
    from zoo.errors import ZooError

    try:
        yield
    except ZooError as e:
        err.print(f"[bold red]Error:[/] {escape(str(e))}", soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/] Nothing was written for the unfinished step.")
        raise typer.Exit(130) from None


def print_wide(renderable: RenderableType) -> None:
    """Prints to stdout at the renderable's natural width when the terminal is narrower
    (a wide table stays whole in a log or a pipe; a terminal wraps its lines instead of
    the table squeezing its cells)."""
    from rich.measure import Measurement

    probe = Console(width=1000)
    natural = Measurement.get(probe, probe.options, renderable).maximum
    Console(width=max(out.width, natural), highlight=False).print(renderable)


def show(renderable: RenderableType) -> None:
    """Prints to stdout; where the terminal is narrower than the renderable's narrowest
    layout (every name whole), prints at that width for the terminal to wrap: never crops."""
    from rich.measure import Measurement

    narrowest = getattr(renderable, "narrowest", None)
    if narrowest is None:
        narrowest = Measurement.get(out, out.options.update_width(10_000), renderable).minimum
    console = out if narrowest <= out.width else Console(width=narrowest, highlight=False)
    console.print(renderable)


def note(text: str) -> None:
    err.print(f"[yellow]Note:[/] {escape(text)}", soft_wrap=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def print_plain(rows: Iterable[Sequence[Any]]) -> None:
    """One line per row, fields separated by tabs (for `cut -f`, `grep`, `awk -F'\\t'`);
    whitespace inside a field becomes one space so a field never splits a line."""
    for row in rows:
        fields = (re.sub(r"\s+", " ", "" if v is None else str(v)).strip() for v in row)
        sys.stdout.write("\t".join(fields) + "\n")


def plural(n: float, word: str) -> str:
    """'1 epoch', '12,000 steps', '1.5 epochs'."""
    count = f"{int(n):,}" if float(n).is_integer() else f"{n:g}"
    return f"{count} {word}{'' if n == 1 else 's'}"


def column(values: Sequence[Any], kind: str) -> list[str]:
    """A column's values as text, all numbers with the one precision its kind gives."""
    return format_column(values, kind)


def fmt(value: Any) -> str:
    """One value on its own: 4 significant digits, thousands separators, no exponent."""
    return number(value, "value", decimals([value], "value"))


TEXT_MIN_WIDTH = 12  # the narrowest a prose column is squeezed to before a table widens


@dataclass(frozen=True)
class Col:
    """A table column. kind: "name" (never wraps, never cut), "text" (prose: the column
    that wraps), or a number kind of KINDS (right-aligned, one precision). markup: the
    cells carry rich markup (highlighting) and are not escaped."""

    header: str
    kind: str = "name"
    markup: bool = False


def _cells(col: Col, values: Sequence[Any]) -> list[str]:
    if col.kind in ("name", "text"):
        strings = ["-" if v is None else str(v) for v in values]
    else:
        strings = column(values, col.kind)
    return strings if col.markup else [escape(s) for s in strings]


def _titled(title: str | None, body: Table) -> RenderableType:
    """A bold title line above a table (a Table title would wrap at the table's width)."""
    return Group(Text(title, style="bold"), body) if title else body


def _widest(header: str, cells: Sequence[str]) -> int:
    return max([len(header), *(Text.from_markup(c).cell_len for c in cells)])


def table(
    title: str | None, columns: Sequence[Col | str], rows: Iterable[Sequence[Any]]
) -> RenderableType:
    """A table: names and numbers keep their full width (min_width is their longest
    cell, so even rich's last-resort squeeze cannot cut them); only "text" columns wrap."""
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    rows = [list(r) for r in rows]
    cells = [_cells(col, [r[i] for r in rows]) for i, col in enumerate(cols)]
    t = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    narrowest = 0
    for col, strings in zip(cols, cells, strict=True):
        fixed = col.kind != "text"
        width = _widest(col.header, strings) if fixed else TEXT_MIN_WIDTH
        narrowest += width + 2  # the gutter: padding and divider
        t.add_column(
            col.header,
            justify="left" if col.kind in ("name", "text") else "right",
            no_wrap=fixed,
            overflow="ellipsis" if fixed else "fold",  # min_width keeps fixed ones whole
            min_width=width if fixed else None,
        )
    for row in zip(*cells, strict=True):
        t.add_row(*row)
    shown = _titled(title, t)
    # What `show` needs: rich measures a prose column at its longest word, but it folds.
    shown.narrowest = narrowest
    return shown


def rich(t: ZooTable) -> RenderableType:
    """Lays out a `zoo.table.Table` (its title above, its notes below): the cells its
    Markdown and CSV have, an emphasized one in bold green."""
    cols = [Col(c.header, c.kind, markup=True) for c in t.columns]
    body = [
        [f"[bold green]{escape(c.text)}[/]" if c.emphasis else escape(c.text) for c in row]
        for row in t.cells()
    ]
    shown = table(t.title, cols, body)
    if not t.notes:
        return shown
    return Group(shown, *(Text(note, style="dim") for note in t.notes))


def key_values(title: str, items: Iterable[tuple[str, Any]]) -> RenderableType:
    t = Table(show_header=False, box=None, padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    for k, v in items:
        t.add_row(k, escape(fmt(v)))
    return _titled(title, t)


def metrics_table(
    title: str, columns: dict[str, dict[str, float]], optimum: dict[str, float]
) -> RenderableType:
    """One row per metric, one column per split, and the best value the data allows; a
    metric is read across its row, so each row has one precision."""
    names = sorted({m for split in columns.values() for m in split}, key=lambda m: (m != "loss", m))
    head = ["metric", *columns, *(["optimum"] if optimum else [])]
    rows = []
    for m in names:
        values = [*(split.get(m) for split in columns.values())]
        values += [optimum.get(m)] if optimum else []
        rows.append([m, *column(values, "number")])
    return table(title, [Col("metric"), *(Col(h, "number") for h in head[1:])], rows)
