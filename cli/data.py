"""`zoo data list` and `zoo data prepare`: real datasets on this machine."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import _keras, options, render

app = typer.Typer(
    help="Real datasets: what is prepared here, and preparing them offline.", no_args_is_help=True
)

DataDir = Annotated[
    str | None, typer.Option(help="Where TFDS keeps datasets. Default: TFDS's own.")
]


@app.command("list")
def list_datasets(
    data_dir: DataDir = None,
    as_json: options.Json = False,
) -> None:
    """Each real dataset, the tasks it serves, whether it is prepared here, its size."""
    from zoo import tasks

    with render.errors():
        _keras.import_quietly()
        from zoo.data import prepare, tfds_domains

        rows = []
        for name, served in tfds_domains.served().items():
            st = prepare.status(name, data_dir)
            rows.append(
                {
                    "dataset": name,
                    "tasks": list(served),
                    **st,
                    "prepare_from_files": name in prepare.PREPARABLE,
                }
            )
    if as_json:
        render.print_json(rows)
        return
    table_rows = [
        (
            r["dataset"],
            ", ".join(r["tasks"]),
            "yes" if r["prepared"] else "no",
            r["bytes"] / 1e6 if r["prepared"] else None,
            r["path"] if r["prepared"] else "",
        )
        for r in rows
    ]
    Col = render.Col
    render.show(
        render.table(
            "datasets",
            [
                Col("dataset"),
                Col("tasks", "text"),
                Col("prepared"),
                Col("size MB", "MB"),
                Col("path", "text"),
            ],
            table_rows,
        )
    )
    synthetic = ", ".join(sorted(tasks.TASKS))
    render.err.print(
        f"Every task also has `synthetic` data ({synthetic}); "
        "`--dataset PATH` reads your own .npz, ratings .csv, COCO .json or folder.",
        soft_wrap=True,
    )


@app.command("prepare")
def prepare_dataset(
    name: Annotated[str, typer.Argument(metavar="NAME", help="mnist, fashion_mnist or cifar10.")],
    source: Annotated[Path, typer.Option("--from", help="Folder holding the original files.")],
    data_dir: DataDir = None,
    as_json: options.Json = False,
) -> None:
    """Build a TFDS dataset from files you already have, with no network."""
    with render.errors():
        _keras.import_quietly()
        import tensorflow_datasets as tfds
        from zoo.cli.progress import Steps

        from zoo.data import prepare

        tfds.disable_progress_bar()
        with Steps(f"Preparing {name} from {source}") as steps:
            with contextlib.redirect_stdout(io.StringIO()):  # TFDS prints where it wrote
                path = prepare.prepare(name, source, data_dir, on_stage=steps.start)
        st = prepare.status(name, data_dir)
    command = f"zoo train seed_cnn --dataset {name}"
    command += f" --data-dir {data_dir}" if data_dir else ""
    if as_json:
        render.print_json(
            {"dataset": name, "path": str(path), "bytes": st["bytes"], "train": command}
        )
        return
    render.out.print(
        f"Prepared {name} in {path} ({st['bytes'] / 1e6:.1f} MB). Train on it: {command}",
        soft_wrap=True,
    )
