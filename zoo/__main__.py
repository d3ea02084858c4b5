"""`python -m zoo`: the `zoo` command, for when the console script is not on PATH."""

from zoo.cli.main import app

if __name__ == "__main__":
    app(prog_name="zoo")
