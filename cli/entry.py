"""The `zoo` console script: a command that trains, evaluates or predicts runs in the warm
daemon where one serves this environment (`zoo daemon start`), and here otherwise.

Importing this module imports neither Typer nor a framework: a delegated command costs the
interpreter's start, this check and a fork in the daemon.
"""

from __future__ import annotations

import sys

# The commands that import the framework, and so gain from a warm one.
WARM_COMMANDS = ("train", "evaluate", "predict")


def main() -> None:
    from zoo.cli import STARTED

    if len(sys.argv) > 1 and sys.argv[1] in WARM_COMMANDS:
        from zoo import daemon

        done = daemon.delegate("cli", sys.argv, STARTED)
        if done.code is not None:
            if done.why:  # it started the run, which did not end as a run ends
                sys.stderr.write(f"Error: {done.why}.\n")
            sys.exit(done.code)
        if done.why:
            sys.stderr.write(
                f"Note: the zoo daemon did not take this command ({done.why}); it runs "
                "here, cold. `zoo daemon restart` starts one with this environment.\n"
            )
    from zoo.cli.main import app

    app(prog_name="zoo")


if __name__ == "__main__":
    main()
