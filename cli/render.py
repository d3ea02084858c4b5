"""Everything the CLI shows: rich tables, progress and one-line errors.

The only module that knows rich. Results go to stdout; progress, notes and errors go to
stderr, so `--json` output can be piped.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


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


def note(text: str) -> None:
    err.print(f"[yellow]Note:[/] {escape(text)}", soft_wrap=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def fmt(value: Any) -> str:
    """Numbers to 4 significant digits (integers with thousands separators)."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _titled(title: str | None, body: Table) -> RenderableType:
    """A bold title line above a table (a Table title would wrap at the table's width)."""
    return Group(Text(title, style="bold"), body) if title else body


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Sequence[str] = (),
    markup_columns: set[str] = frozenset(),
    no_wrap: set[str] = frozenset(),
) -> RenderableType:
    """A table; values are escaped except in `markup_columns` (for highlighting)."""
    t = Table(header_style="bold")
    for c in columns:
        t.add_column(
            c, justify="right" if c in numeric else "left", no_wrap=c in numeric or c in no_wrap
        )
    for row in rows:
        t.add_row(
            *(
                fmt(v) if c in markup_columns else escape(fmt(v))
                for c, v in zip(columns, row, strict=True)
            )
        )
    return _titled(title, t)


def key_values(title: str, items: Iterable[tuple[str, Any]]) -> RenderableType:
    t = Table(show_header=False, box=None, padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    for k, v in items:
        t.add_row(k, escape(fmt(v)))
    return _titled(title, t)


def metrics_table(
    title: str, columns: dict[str, dict[str, float]], optimum: dict[str, float]
) -> RenderableType:
    """One row per metric, one column per split, and the best value the data allows."""
    names = sorted({m for split in columns.values() for m in split}, key=lambda m: (m != "loss", m))
    head = ["metric", *columns, *(["optimum"] if optimum else [])]
    rows = [
        [m, *(split.get(m) for split in columns.values()), *([optimum.get(m)] if optimum else [])]
        for m in names
    ]
    return table(title, head, rows, numeric=head[1:])


class TrainProgress:
    """Shows a progress bar during each epoch and a line of metrics when it ends."""

    def __init__(self):
        self._bar = None
        self._task = None

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self.info = info
        err.print(
            f"Training [bold]{info['model']}[/] ({info['num_params']:,} parameters) on "
            f"{info['dataset']}: {info['num_train']:,} train, {info['num_val']:,} validation, "
            f"{info['num_test']:,} test examples, {plural(info['epochs'], 'epoch')}.",
            soft_wrap=True,
        )
        if info.get("initial_epoch"):
            err.print(
                f"Resuming after epoch {info['initial_epoch']} of {info['epochs']}.",
                soft_wrap=True,
            )

    def on_batch_end(self, epoch: int, step: int, logs: dict[str, float]) -> None:
        if self._bar is None and err.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[logs]}"),
                console=err,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                f"epoch {epoch}/{self.info['epochs']}", total=self.info["steps_per_epoch"], logs=""
            )
        if self._bar is None:
            return
        loss = logs.get("loss")
        self._bar.update(
            self._task, completed=step, logs=f"loss {fmt(float(loss))}" if loss is not None else ""
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.close()
        parts = "  ".join(f"{k} {fmt(float(v))}" for k, v in logs.items() if k != "seconds")
        err.print(
            f"epoch {epoch}/{self.info['epochs']}  {parts}  ({logs['seconds']:.1f} s)",
            soft_wrap=True,
        )

    def on_evaluate_begin(self, num_examples: int) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
