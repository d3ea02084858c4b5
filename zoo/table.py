"""A table as data: columns with a kind, rows as dicts, and the emitters that write it.

One description serves every place a table appears: the terminal (`zoo.cli.render.rich`
lays it out with rich), the Markdown beside a results file, docs/results.md
(`benchmarks/report.py`) and the CSV. So they cannot disagree on a column, its precision or
its spread: each is an emitter of the same `Table`.

    t = Table("bench", [Column("model"), Column("train samples/s", "throughput",
              key="rate", spread=("rate_low", "rate_high"))], rows)
    t.markdown(); t.csv(); t.cells()

A number column is printed with one precision, chosen from its smallest value
(`zoo.formatting`). Standard library only.
"""

from __future__ import annotations

import csv as _csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from zoo.formatting import KINDS, decimals, format_number, is_number

TEXT_KINDS = ("name", "text")  # name: never wraps or is cut; text: prose, the column that wraps


@dataclass(frozen=True)
class Column:
    """One column.

    header: its title. kind: "name", "text" or a number kind of `zoo.formatting.KINDS`.
    key: the row's field (default: the header), or a function of the row.
    spread: the row fields of a low and a high bound, shown as `mid (low-high)` at the
        column's one precision (a min-max range; left out where the two are equal: one
        repeat, or repeats that agree).
    verdict: with a spread, a row field (or function of the row) saying what the spread
        decides: the spread is then a confidence interval, written `mid [low-high]
        verdict`, and only where the row has a verdict (the baseline against itself and a
        single repeat show the value alone).
    suffix: after each number (the "x" of a ratio). emphasis: a row field; where it is
        true the cell is emphasized (bold in Markdown, bold green on the terminal).
    csv: the column's name in the CSV (default: the header); the CSV writes the bounds of
        a spread as two more columns, `<csv>_low` and `<csv>_high` (and a verdict as
        `<csv>_verdict`).
    """

    header: str
    kind: str = "name"
    key: str | Callable[[dict], Any] | None = None
    spread: tuple[str, str] | None = None
    suffix: str = ""
    emphasis: str | None = None
    csv: str | None = None
    verdict: str | Callable[[dict], Any] | None = None

    def __post_init__(self):
        if self.kind not in TEXT_KINDS and self.kind not in KINDS:
            allowed = ", ".join((*TEXT_KINDS, *KINDS))
            raise ValueError(f"Unknown column kind {self.kind!r}. Allowed: {allowed}.")

    @property
    def numeric(self) -> bool:
        return self.kind not in TEXT_KINDS

    def value(self, row: dict) -> Any:
        return _field(row, self.header if self.key is None else self.key)

    def judged(self, row: dict) -> str | None:
        """The verdict of the row's interval (None: no verdict, or no verdict field)."""
        return None if self.verdict is None else _field(row, self.verdict)

    def bounds(self, row: dict) -> tuple[Any, Any]:
        """The row's low and high bound (None, None without a spread)."""
        return (row.get(self.spread[0]), row.get(self.spread[1])) if self.spread else (None, None)


def _field(row: dict, key: str | Callable[[dict], Any]) -> Any:
    return key(row) if callable(key) else row.get(key)


@dataclass(frozen=True)
class Cell:
    text: str
    emphasis: bool = False


@dataclass(frozen=True)
class Table:
    """A titled table: columns, rows (dicts) and notes printed under it."""

    title: str | None
    columns: Sequence[Column]
    rows: Sequence[dict]
    notes: Sequence[str] = field(default_factory=tuple)

    def column_cells(self, col: Column, *, grouping: bool = True, missing: str = "-") -> list[Cell]:
        """One column's cells as text, every number at the column's one precision."""
        values = [col.value(r) for r in self.rows]
        if not col.numeric:
            texts = [missing if v is None else str(v) for v in values]
        else:
            bounds = [col.bounds(r) for r in self.rows]
            places = decimals(values + [b for pair in bounds for b in pair], col.kind)

            def text(v: Any) -> str:
                return format_number(v, col.kind, places, grouping=grouping, missing=missing)

            texts = []
            for v, (low, high), row in zip(values, bounds, self.rows, strict=True):
                cell = text(v) + (col.suffix if is_number(v) else "")  # text passes through
                if is_number(v) and low is not None and high is not None:
                    cell += _spread(text(low), text(high), col, row, low == high)
                texts.append(cell)
        flags = [bool(col.emphasis and r.get(col.emphasis)) for r in self.rows]
        return [Cell(t, f) for t, f in zip(texts, flags, strict=True)]

    def cells(self, *, grouping: bool = True, missing: str = "-") -> list[list[Cell]]:
        """The body, row by row."""
        by_column = [self.column_cells(c, grouping=grouping, missing=missing) for c in self.columns]
        return [list(row) for row in zip(*by_column, strict=True)] if by_column else []

    def header(self) -> list[str]:
        return [c.header for c in self.columns]

    def texts(self, emphasized: str = "{}") -> list[list[str]]:
        """The body as text, an emphasized cell formatted with `emphasized`."""
        return [
            [emphasized.format(c.text) if c.emphasis else c.text for c in row]
            for row in self.cells()
        ]

    def markdown(self) -> str:
        """A GitHub Markdown table (title and notes not included), emphasis in bold."""
        return markdown_lines(self.header(), self.texts("**{}**"))

    def html(self) -> str:
        """An HTML <table> (title and notes not included): each number column's cells
        carry their raw value in `data-value`, for a page to sort by; emphasis in <b>."""
        from html import escape

        head = "".join(
            f'<th class="{"num" if c.numeric else "txt"}">{escape(c.header)}</th>'
            for c in self.columns
        )
        body = []
        for row, cells in zip(self.rows, self.cells(), strict=True):
            tds = []
            for col, cell in zip(self.columns, cells, strict=True):
                text = escape(cell.text)
                text = f"<b>{text}</b>" if cell.emphasis else text
                value = col.value(row)
                if col.numeric and is_number(value):
                    tds.append(f'<td class="num" data-value="{float(value)!r}">{text}</td>')
                else:
                    tds.append(f"<td>{text}</td>")
            body.append("<tr>" + "".join(tds) + "</tr>")
        return (
            f'<table class="zoo"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def csv(self) -> str:
        """CSV: raw numbers at the column's precision without separators, a spread's
        bounds as their own columns, empty where missing."""
        head: list[str] = []
        for c in self.columns:
            name = c.csv or c.header
            head += [name, f"{name}_low", f"{name}_high"] if c.spread else [name]
            head += [f"{name}_verdict"] if c.spread and c.verdict else []
        body: list[list[str]] = [[] for _ in self.rows]
        for c in self.columns:
            plain = Column(c.header, c.kind, c.key)  # no suffix, no spread in the cell
            values = [cell.text for cell in self._raw(plain)]
            extra: list[list[str]] = [[] for _ in self.rows]
            if c.spread:
                for side in c.spread:
                    bound = Column(side, c.kind, side)
                    for i, cell in enumerate(self._raw(bound)):
                        extra[i].append(cell.text)
            if c.spread and c.verdict:
                for i, row in enumerate(self.rows):
                    extra[i].append(c.judged(row) or "")
            for i, v in enumerate(values):
                body[i] += [v, *extra[i]]
        buf = StringIO()
        writer = _csv.writer(buf, lineterminator="\r\n")
        writer.writerow(head)
        writer.writerows(body)
        return buf.getvalue()

    def _raw(self, col: Column) -> list[Cell]:
        return self.column_cells(col, grouping=False, missing="")


def _spread(low: str, high: str, col: Column, row: dict, equal: bool) -> str:
    """What follows a number: its interval and verdict, or its range where it has one."""
    if col.verdict is not None:
        verdict = col.judged(row)
        return f" [{low}-{high}] {verdict}" if verdict else ""
    return "" if equal else f" ({low}-{high})"


def markdown_lines(head: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    """A Markdown table from a header and rows of text (a `|` in a cell is escaped)."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(head), "|" + "---|" * len(head), *(line(r) for r in body)]) + "\n"
