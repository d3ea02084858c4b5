"""`zoo daemon start|stop|restart|status`: a warm process for `zoo train`, `evaluate` and
`predict` (`zoo.daemon`)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from zoo.cli import options, render

from zoo.tuning.trial import TRIAL_ENTRY

app = typer.Typer(
    help="A warm process that imports the framework once: `zoo train`, `evaluate` and "
    "`predict` then start in a fraction of a second instead of seconds.",
    no_args_is_help=True,
)

# What the daemon serves: the `zoo` command line, and trial workers.
ENTRIES = {"cli": "zoo.cli.warm:served", **TRIAL_ENTRY}

Idle = Annotated[
    float,
    typer.Option(help="Minutes without a request after which the daemon exits."),
]


@app.command("start")
def start(idle: Idle = 60.0) -> None:
    """Starts the daemon (a no-op where one runs); it serves this shell's environment."""
    from zoo import daemon

    with render.errors():
        running = daemon.info()
        record = running or daemon.start(ENTRIES, idle_s=idle * 60)
    if running is not None:
        why = daemon.mismatch(record["fingerprint"], daemon.fingerprint())
        text = f"The zoo daemon already runs (pid {record['pid']})."
        if why:
            text += f" It cannot serve this shell: {why}; `zoo daemon restart` replaces it."
        render.err.print(text, soft_wrap=True)
        return
    render.err.print(
        f"The zoo daemon runs (pid {record['pid']}, socket in {daemon.directory()}); it "
        f"exits after {idle:g} minutes without a request, or at `zoo daemon stop`.",
        soft_wrap=True,
    )


@app.command("stop")
def stop() -> None:
    """Stops the daemon; runs in progress get SIGTERM first."""
    from zoo import daemon

    record = daemon.stop()
    done = "No zoo daemon runs." if record is None else f"Stopped it (pid {record['pid']})."
    render.err.print(done)


@app.command("restart")
def restart(idle: Idle = 60.0) -> None:
    """Stops the daemon and starts one for this shell's environment and files."""
    from zoo import daemon

    daemon.stop()
    with render.errors():
        record = daemon.start(ENTRIES, idle_s=idle * 60)
    render.err.print(f"The zoo daemon runs (pid {record['pid']}).")


@app.command("status")
def status(as_json: options.Json = False) -> None:
    """Whether a daemon runs, since when, and whether it can serve this shell (exit 1:
    none runs)."""
    from zoo import daemon

    record = daemon.info()
    why = None if record is None else daemon.mismatch(record["fingerprint"], daemon.fingerprint())
    if as_json:
        serves = record is not None and why is None
        render.print_json({"running": record is not None, "serves_this_shell": serves,
                           "why_not": why, "daemon": record})  # fmt: skip
    elif record is None:
        render.err.print("No zoo daemon runs. `zoo daemon start` starts one.")
    else:
        up = time.time() - record["started"]
        serves = "serves this shell" if why is None else f"cannot serve this shell: {why}"
        render.out.print(
            f"The zoo daemon runs: pid {record['pid']}, up {up / 60:.1f} min, {serves}.",
            soft_wrap=True,
        )
    if record is None:
        raise typer.Exit(1)
