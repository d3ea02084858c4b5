"""`python -m zoo`: the `zoo` command, for when the console script is not on PATH."""

from zoo.cli.entry import main

if __name__ == "__main__":
    main()
