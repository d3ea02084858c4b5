"""`zoo report`: one self-contained HTML page of results files (zoo.report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import options, render

Files = Annotated[
    list[Path],
    typer.Argument(help="Results files (.jsonl) of zoo bench, tune, parity or export."),
]
Output = Annotated[Path, typer.Option(help="The page to write (.html).")]


def report(files: Files, output: Output = Path("report.html"), as_json: options.Json = False):
    """One self-contained HTML page of results files: provenance, sortable tables, charts.

    Works offline (nothing is fetched); open it in any browser.
    """
    from zoo import report as zreport
    from zoo.errors import InvalidArgumentError

    with render.errors():
        for f in files:
            if not f.is_file():
                raise InvalidArgumentError(f"No results file at {f}.", "Check the path.")
        if output.suffix.lower() not in (".html", ".htm"):
            raise InvalidArgumentError(
                f"--output {output} is not an .html file.", "Name the page report.html."
            )
        with render.err.status("Drawing the charts ..."):
            summary = zreport.write(files, output)
    if as_json:
        render.print_json(summary)
        return
    render.err.print(
        f"Wrote {output}: {summary['files']} file(s), {summary['tables']} table(s), "
        f"{summary['charts']} chart(s), {summary['bytes'] / 1e6:.1f} MB.",
        soft_wrap=True,
    )
