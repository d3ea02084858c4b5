"""`zoo bench` and `zoo compare`: suites of isolated profiles, and regressions between runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import options, render


def _fmt_rate(row, key="train_samples_per_s") -> str:
    if not row[key]:
        return "-"
    spread = ""
    if row["repeats"] > 1:
        spread = f" ({row[key + '_min']:,.0f}-{row[key + '_max']:,.0f})"
    return f"{row[key]:,.0f}{spread}"


def bench(
    suite: Annotated[
        str,
        typer.Option(help="quick, full, xla, precision, reference, or the path of a suite .toml."),
    ] = "quick",
    models: Annotated[
        str | None,
        typer.Option(help="Only models matching this fnmatch pattern (comma-separated)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Results file (.jsonl); CSV and Markdown are written beside it. "
            "Default: bench/<suite>-<time>.jsonl"
        ),
    ] = None,
    repeat: Annotated[
        int | None,
        typer.Option(min=1, help="Runs of every case, interleaved. Default: the suite's."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Finish an interrupted --output: run only the missing cases."
        ),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw throughput per model and setting to this .png (needs matplotlib)."
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            help="Run every case on these Keras backends, each in its own process "
            "(comma-separated: tensorflow,jax,torch). Default: the suite's (tensorflow)."
        ),
    ] = None,
    as_json: options.Json = False,
) -> None:
    """Run a benchmark suite: every case in its own process; a table of the results."""
    from zoo import perf as zbench

    with render.errors():
        s = zbench.load_suite(suite)
        if backend:
            s.cases = zbench.with_backends(s.cases, [b.strip() for b in backend.split(",")])
        if resume and output is None:
            raise zbench.InvalidArgumentError("--resume needs the --output file to finish.")
        output = output or Path("bench") / f"{s.name}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        cases = zbench.filter_cases(s.cases, models)
        zbench.check_output(output, resume)
        render.err.print(
            f"Suite {s.name}: {len(cases)} cases x {repeat or s.repeat} "
            f"repeat(s), results in {output}",
            soft_wrap=True,
        )

        def show(n, total, case, record):
            status = record["status"]
            if status == "ok":
                what = f"{record['train']['samples_per_s']:,.0f} samples/s"
            else:
                what = f"[yellow]{status}[/]: {render.escape(str(record.get('reason', '')))}"
            render.err.print(
                render.escape(f"[{n}/{total}] {case.label()}: ")
                + what
                + f" ({record.get('wall_s', 0):.0f} s)",
                soft_wrap=True,
            )

        try:
            records = zbench.run_suite(
                s, output, models=models, repeat=repeat, resume=resume, on_result=show
            )
        except KeyboardInterrupt:
            render.err.print(
                f"[yellow]Interrupted.[/] Finished cases are in {output}; "
                f"finish with: zoo bench --suite {suite} --output {output} --resume",
                soft_wrap=True,
            )
            raise typer.Exit(130) from None
    rows = zbench.summarize(records, s.baseline, s.baseline_precision)
    if plot is not None:
        from zoo.cli import plot as charts

        with render.errors():
            charts.bench_chart(rows, plot, f"suite {s.name}")
        render.err.print(f"Chart: {plot}")
    if as_json:
        render.print_json(rows)
        return
    title = f"suite {s.name}" + (f": {s.description}" if s.description else "")
    # Thirteen columns: print at a readable width even where the terminal is narrower.
    baseline = s.baseline + (f" {s.baseline_precision}" if s.baseline_precision else "")
    render.print_wide(bench_table(title, rows, baseline))
    backends, pivot = zbench.by_backend(rows)
    if len(backends) > 1:
        render.print_wide(backend_table(backends, pivot))
    refs = zbench.reference_ratios(records, s.baseline)
    if refs:
        render.print_wide(
            render.table(
                "the zoo against references (one run, interleaved repeats)",
                ["model", "comparison", "ratio", "min-max", "repeats"],
                [
                    [
                        r["model"],
                        r["comparison"],
                        f"{r['ratio']:.2f}x",
                        f"{r['min']:.2f}-{r['max']:.2f}",
                        r["repeats"],
                    ]
                    for r in refs
                ],
                numeric=["ratio", "min-max", "repeats"],
            )
        )
    render.err.print(f"Results: {output} (+ .csv, .md)", soft_wrap=True)


SHORT = {"float32": "f32", "mixed_bfloat16": "bf16", "mixed_float16": "f16"}


def backend_table(backends, pivot):
    """Training samples/s per backend, side by side (XLA/compiled marked with *)."""
    body = []
    for p in pivot:
        cells = [p["model"], f"{p['mode']} {SHORT.get(p['precision'], p['precision'])}"]
        for b in backends:
            rate, status = p.get(b), p.get(f"{b}_status")
            if rate:
                cells.append(f"{rate:,.0f}" + ("*" if p.get(f"{b}_xla") else ""))
            else:
                cells.append(status or "-")
        body.append(cells)
    return render.table(
        "train samples/s by backend (* compiled: XLA on TensorFlow and JAX, torch.compile)",
        ["model", "setting", *backends],
        body,
        numeric=backends,
    )


def bench_table(title, rows, baseline):
    columns = [
        "model",
        "params",
        "FLOPs/sample",
        "setting",
        "batch",
        "train samples/s",
        f"vs {baseline}",
        "infer p50 ms",
        "compile s",
        "peak MB",
        "MFU",
        "status",
    ]
    body = []
    for r in rows:
        rate = _fmt_rate(r)
        up = "-"
        if r["speedup"]:
            up = f"{r['speedup']:.2f}x"
            if r["repeats"] > 1 and r["speedup_min"] != r["speedup_max"]:
                up += f" ({r['speedup_min']:.2f}-{r['speedup_max']:.2f})"
        setting = f"{r['mode']} {SHORT.get(r['precision'], r['precision'])}"
        if r["device"] != "cpu":
            setting += f" {r['device']}"
        if r.get("backend", "tensorflow") != "tensorflow":
            setting += f" {r['backend']}"
        body.append(
            [
                r["model"],
                r["num_params"],
                r["flops_per_sample"],
                setting,
                r["batch_size"],
                f"[bold green]{rate}[/]" if r["fastest"] else rate,
                up,
                r["infer_p50_ms"],
                r["compile_s"],
                round(r["peak_memory_mb"]) if r["peak_memory_mb"] else None,
                f"{r['mfu']:.1%}" if r["mfu"] is not None else "-",
                r["status"]
                + (f": {r['reason']}" if r["reason"] else "")
                + (f" ({r['note']})" if r["note"] else ""),
            ]
        )
    return render.table(
        title,
        columns,
        body,
        numeric=[c for c in columns if c not in ("model", "setting", "status")],
        markup_columns={"train samples/s"},
        no_wrap=set(columns) - {"status"},
    )


def compare(
    base: Annotated[Path, typer.Argument(metavar="BASE", help="Results .jsonl of the base run.")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="Results .jsonl of the new run.")],
    fail_above: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Exit 1 when any case is slower than BASE by more than this percent."
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Also draw NEW/BASE per case to this .png (needs matplotlib)."),
    ] = None,
    as_json: options.Json = False,
) -> None:
    """Compare two benchmark runs case by case (training throughput, NEW / BASE)."""
    from zoo import perf as zbench

    with render.errors():
        result = zbench.compare(zbench.read_records(base), zbench.read_records(new), fail_above)
        if plot is not None and result["rows"]:
            from zoo.cli import plot as charts

            charts.compare_chart(result["rows"], plot, f"{new.name} vs {base.name}")
    if as_json:
        render.print_json(result)
    else:
        body = [
            [
                f"{r['model']} {r['mode']} {r['precision']} b{r['batch_size']}",
                r["base"],
                r["new"],
                f"{r['ratio']:.3f}",
                f"{r['spread']:.1%}",
                "REGRESSION" if r["regressed"] else ("within noise" if r["noisy"] else ""),
            ]
            for r in result["rows"]
        ]
        cols = ["case", "base samples/s", "new samples/s", "new/base", "spread", "verdict"]
        render.out.print(
            render.table(
                f"{new.name} vs {base.name}", cols, body, numeric=cols[1:5], no_wrap={"verdict"}
            )
        )
        if result["geomean"]:
            render.out.print(
                f"geometric mean new/base: {result['geomean']:.3f} over "
                f"{len(result['rows'])} cases"
                + (f"; {result['unmatched']} cases in only one run" if result["unmatched"] else "")
            )
    if not result["rows"]:
        render.err.print("[bold red]Error:[/] the two runs share no successful case.")
        raise typer.Exit(1)
    if result["regressions"]:
        render.err.print(
            f"[bold red]{len(result['regressions'])} case(s) regressed by more "
            f"than {fail_above}%[/]"
        )
        raise typer.Exit(1)
