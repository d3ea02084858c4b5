"""Progress on long work: a live line on stderr, on a terminal only.

`Steps` is for work of a known number of items (a suite's cases, a parity run's backends):
what runs now, how many are done, the time so far and an estimate of the time left from
the items already timed. `Budget` is for work that ends when its time budget is spent (a
search): the time so far against the budget. Each finished item's own line is printed as
before (`render.err.print`): rich prints it above the live line, so it stays in view. Piped,
or with `--json`, nothing but those lines is written: the live line needs a terminal.
"""

from __future__ import annotations

import time
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from zoo.cli import render


def _live() -> bool:
    return bool(render.err.is_terminal)


class Steps:
    """`with Steps("bench") as steps: ... steps.start(n, total, label) ... steps.done()`."""

    def __init__(self, what: str, enabled: bool = True):
        self.what, self.enabled = what, enabled and _live()
        self.progress: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> Steps:
        if self.enabled:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("left about"),
                TimeRemainingColumn(),
                console=render.err,
                transient=True,  # the finished items' lines stay; the live line goes
            )
            self.progress.start()
            self.task = self.progress.add_task(self.what, total=None)
        return self

    def start(self, n: int, total: int, label: str) -> None:
        """Item `n` of `total` (from 1) starts."""
        if self.progress is not None:
            self.progress.update(
                self.task, total=total, completed=n - 1, description=f"{self.what}: {label}"
            )

    def done(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


class Budget:
    """A search's live line: the time spent against its budget, and what runs now."""

    def __init__(self, what: str, budget_s: float):
        self.what, self.budget_s = what, budget_s
        self.progress: Progress | None = None
        self.t0 = time.monotonic()

    def __enter__(self) -> Budget:
        if _live():
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                TimeElapsedColumn(),
                TextColumn(f"of a {self.budget_s:,.0f} s budget; {{task.fields[trials]}} trials"),
                console=render.err,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.what, total=self.budget_s, trials=0)
        return self

    def trial_done(self, label: str = "") -> None:
        if self.progress is not None:
            spent = min(self.budget_s, time.monotonic() - self.t0)
            trials = self.progress.tasks[0].fields["trials"] + 1
            text = f"{self.what}: {label}" if label else self.what
            self.progress.update(self.task, completed=spent, trials=trials, description=text)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
