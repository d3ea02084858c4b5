"""The CLI's entry in the zoo daemon (`zoo.daemon`): a forked run of a `zoo` command line.

Imported by the daemon before it listens, so the commands' modules are imported once.
"""

from __future__ import annotations

import zoo.cli
from zoo.cli import _keras, render
from zoo.cli.main import app


def served(argv: list[str], started: float) -> int:
    """Runs the `zoo` command line `argv` as the console script would, timed from
    `started` (the client's start); its exit code."""
    zoo.cli.STARTED = started
    _keras.fresh_runtime()
    render.refresh_consoles()
    try:
        app(args=argv[1:], prog_name="zoo")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    return 0
