"""`zoo bench` and `zoo compare`: suites of isolated profiles, and regressions between runs.

Each command reads top to bottom: parse the options, call zoo.perf, render (the tables
are laid out in render.py).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import options, render
from zoo.cli.views import bench as bench_view

from zoo.choices import MATMUL_PRECISIONS

SuiteName = Annotated[
    str,
    typer.Option(
        help="quick, full, xla, precision, reference, quantization, parity, time-to-target, "
        "or the path of a suite .toml."
    ),
]
Models = Annotated[
    str | None, typer.Option(help="Only models matching this fnmatch pattern (comma-separated).")
]
Output = Annotated[
    Path | None,
    typer.Option(
        help="Results file (.jsonl); CSV and Markdown are written beside it. "
        "Default: bench/<suite>-<time>.jsonl"
    ),
]
Repeat = Annotated[
    int | None, typer.Option(min=1, help="Runs of every case, interleaved. Default: the suite's.")
]
Resume = Annotated[
    bool,
    typer.Option("--resume", help="Finish an interrupted --output: run only the missing cases."),
]
BenchPlot = Annotated[
    Path | None,
    typer.Option(
        help="Also draw throughput per model and setting to this .png (needs matplotlib)."
    ),
]
Backends = Annotated[
    str | None,
    typer.Option(
        help="Run every case on these Keras backends, each in its own process "
        "(comma-separated: tensorflow,jax,torch). Default: the suite's (tensorflow)."
    ),
]
MatmulPrecision = options.choice_enum("MatmulPrecision", MATMUL_PRECISIONS)
MatmulOption = Annotated[
    MatmulPrecision | None,
    typer.Option(
        help="Float32 matmul and convolution precision every case pins: highest (no TF32 on "
        "any backend) or default (each backend's own). Default: highest when the cases run "
        "on several backends, else default."
    ),
]
Against = Annotated[
    str | None,
    typer.Option(
        metavar="PYTHON",
        help="A/B: also run every case with this interpreter (another environment's zoo, "
        "Keras or TensorFlow); both workers time short windows in turns (A B B A ...), "
        "and B/A comes with a paired interval.",
    ),
]
FailAbove = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=99.0,
        help="With --against: exit 1 when a case is slower on B than on A by more than this "
        "percent with 95% confidence (its whole interval below 1 - PCT/100), as zoo compare.",
    ),
]
ShardOption = Annotated[
    str | None,
    typer.Option(
        metavar="I/N",
        help="Run only every N-th case from case I (0 <= I < N), into this shard's own results "
        "file; N alone takes I from JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID "
        "(SLURM). Merge the shards with `zoo bench merge`.",
    ),
]
Tuned = Annotated[
    bool,
    typer.Option(
        "--tuned",
        help="time-to-target: also run the recipe `zoo tune` cached on this machine for each "
        "case, interleaved with the default one, and show the speed-up.",
    ),
]
Warm = Annotated[
    bool,
    typer.Option(
        "--warm",
        help="time-to-target: fork every run from a zoo daemon of the suite's own, which "
        "imported the framework once (as `zoo daemon start` does for zoo train), every "
        "route alike; the records say start: warm.",
    ),
]


app = typer.Typer(
    help="Run a benchmark suite: every case in its own process; a table of the results.",
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    suite: SuiteName = "quick",
    models: Models = None,
    output: Output = None,
    repeat: Repeat = None,
    resume: Resume = False,
    plot: BenchPlot = None,
    backend: Backends = None,
    matmul_precision: MatmulOption = None,
    tuned: Tuned = False,
    warm: Warm = False,
    against: Against = None,
    fail_above: FailAbove = None,
    shard: ShardOption = None,
    track: options.Track = None,
    tensorboard: options.TensorBoardDir = None,
    as_json: options.Json = False,
) -> None:
    """Run a benchmark suite: every case in its own process; a table of the results."""
    if ctx.invoked_subcommand is not None:  # `zoo bench merge ...`
        return
    from zoo import track as ztrack
    from zoo.perf import manifest
    from zoo.perf import shard as zshard

    with render.errors():
        ztrack.check_tracker(track)
        part = zshard.parse(shard) if shard is not None else None
        s, output = _load(suite, models, output, repeat, resume, backend, part)
        _check_together(s, part, against, fail_above, {"--tuned": tuned, "--warm": warm})
        if s.kind == "parity":  # `zoo parity` per model: its own runner and table
            from zoo.cli import parity

            return parity.bench_suite(s, output, models, resume, as_json, part)
        if s.kind == "target":  # training runs to a quality target, one per seed
            how = {"tuned": tuned, "warm": warm}
            return _bench_targets(s, output, models, repeat, resume, how, as_json, part)
        pin = _pin(s, models, matmul_precision)
        with manifest.workers_pin(pin):
            if against:  # A/B: this interpreter and another, alternating
                from zoo.cli import compare

                ab = (against, fail_above)
                return compare.bench_against(s, output, models, repeat, resume, ab, as_json)
            records = _run(s, suite, output, models, repeat, resume, part)
        _track(s.name, records, output, track, tensorboard)
    rows = _summarize(s, records)
    if plot is not None:
        _chart(lambda charts: charts.bench_chart(rows, plot, f"suite {s.name}"))
        render.err.print(f"Chart: {plot}")
    if as_json:
        render.print_json(rows)
        return
    _show_bench(s, rows, records)
    render.err.print(f"Results: {output} (+ .csv, .md)", soft_wrap=True)


def _pin(s, models, matmul_precision) -> str:
    """The float32 matmul precision the workers pin (said where it is full float32), after
    a warning line per precision this CPU emulates."""
    from zoo import perf
    from zoo.perf import manifest

    pin = manifest.bench_matmul_precision(
        matmul_precision and matmul_precision.value, (c.backend for c in s.cases)
    )
    if pin == "highest":
        render.err.print("float32 matmuls and convolutions pinned to full float32 (no TF32)")
    _warn_emulated(perf.filter_cases(s.cases, models))
    return pin


def _track(name: str, records: list[dict], output: Path, track, tensorboard) -> None:
    """The suite's cases to MLflow (nested under the suite) and to TensorBoard's HParams."""
    from zoo import track as ztrack

    runs = ztrack.bench_runs(records)
    if tensorboard is not None:
        ztrack.tensorboard_runs(tensorboard, runs)
        render.err.print(f"TensorBoard: {len(runs)} runs in {tensorboard}", soft_wrap=True)
    if track == "mlflow":
        parent = ztrack.Run(f"bench {name}", {"suite": name, "cases": len(runs)})
        parent.artifacts = None
        run_id = ztrack.mlflow_runs(ztrack.experiment(), parent, runs)
        render.err.print(
            f"Logged to MLflow: run {run_id} ({len(runs)} nested) in {ztrack.experiment()}"
        )


def _check_together(
    s, part, against: str | None, fail_above: float | None, target_flags: dict[str, bool]
) -> None:
    """Options that do not go together, refused before anything runs (`target_flags`:
    those of time-to-target suites alone, and whether each was given)."""
    from zoo.errors import InvalidArgumentError

    for flag, given in target_flags.items():
        if given and s.kind != "target":
            raise InvalidArgumentError(
                f"{flag} applies to a time-to-target suite.",
                "Use --suite time-to-target or --suite fast.",
            )
    if part is not None and against:
        raise InvalidArgumentError(
            "--shard splits a suite over machines; --against compares two interpreters on one.",
            "Run the A/B on one machine, without --shard.",
        )
    if against and s.kind in ("parity", "target"):
        raise InvalidArgumentError(f"--against times throughput, not suite {s.name}.")
    if fail_above is not None and not against:
        raise InvalidArgumentError(
            "--fail-above gates an A/B run.",
            "Add --against PYTHON, or compare two finished runs: zoo compare BASE NEW "
            "--fail-above PCT.",
        )


@contextlib.contextmanager
def _runner(s, models, warm: bool):
    """How a target suite's runs start: each in a fresh process, or (`warm`) forked from
    a daemon of the suite's own."""
    from zoo.perf import suite
    from zoo.perf import target as perf_target

    if not warm:
        yield perf_target.run_case
        return
    render.err.print("Starting the suite's zoo daemon (the framework imported once) ...")
    with perf_target.warm(suite.filter_cases(s.cases, models)) as runner:
        yield runner


def _bench_targets(
    s, output: Path, models, repeat, resume, how: dict, as_json: bool, part=None
) -> None:
    """The time-to-target suite: each case trained to its target once per seed (`how`:
    with the tuned recipes, forked from a warm daemon); its table."""
    from zoo.perf import suite
    from zoo.perf import target as perf_target

    if how["tuned"]:
        s.cases, missing = perf_target.with_tuned(suite.filter_cases(s.cases, models))
        for case in missing:
            render.note(
                f"no tuned recipe for {case.model} on {case.dataset} on this machine "
                f"(zoo tune {case.model} --dataset {case.dataset} finds one)."
            )
    from zoo.cli.progress import Steps

    try:
        with _runner(s, models, how["warm"]) as runner, Steps(f"suite {s.name}") as steps:
            records = perf_target.run_suite(
                s,
                output,
                models=models,
                repeat=repeat,
                resume=resume,
                on_start=lambda n, total, case: steps.start(n, total, case.label()),
                on_result=lambda *done: (bench_view.target_done(*done), steps.done()),
                shard=part,
                runner=runner,
            )
    except KeyboardInterrupt:
        render.err.print(
            f"[yellow]Interrupted.[/] Finished runs are in {output}; "
            f"finish with: zoo bench --suite {s.name} --output {output} --resume",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    rows = perf_target.summarize(records)
    if as_json:
        render.print_json(rows)
        return
    title = f"suite {s.name}" + (f": {s.description}" if s.description else "")
    render.print_wide(render.rich(perf_target.table(rows, title)))
    render.note(perf_target.note(rows))
    render.err.print(f"Results: {output} (+ .csv, .md)", soft_wrap=True)


def _warn_emulated(cases) -> None:
    """One line per precision that this CPU emulates among the CPU cases (GPU cases are
    judged in their workers: reading a GPU here would start the framework)."""
    from zoo.cli.profile import warn_if_emulated

    for precision in dict.fromkeys(c.precision for c in cases if c.device == "cpu"):
        warn_if_emulated(precision, "cpu")


def _summarize(s, records: list[dict]) -> list[dict]:
    """The summary rows with each case's bottleneck; a precision suite's speeds over
    float32 are cached for this CPU (what `zoo train/profile` quote when it emulates one)."""
    from zoo import perf
    from zoo.perf import bottleneck
    from zoo.runtime import hardware

    rows = perf.summarize(records, s.baseline, s.baseline_precision)
    bottleneck.annotate_rows(rows, records)
    if hardware.remember_precision_speeds(rows, records, s.baseline, s.baseline_precision):
        render.err.print("Speeds over float32 cached for this CPU's precision warnings.")
    return rows


def _load(suite, models, output, repeat, resume, backend, part=None):
    """The suite with its backends, and the results file, checked before anything runs."""
    from zoo import perf
    from zoo.perf import shard as zshard

    s = perf.load_suite(suite)
    if backend:
        s.cases = perf.with_backends(s.cases, [b.strip() for b in backend.split(",")])
    if resume and output is None:
        raise perf.InvalidArgumentError("--resume needs the --output file to finish.")
    default = Path("bench") / f"{s.name}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    output = output or zshard.output_name(default, part)
    cases = perf.filter_cases(s.cases, models)
    perf.check_output(output, resume)
    of = ""
    if part is not None:
        of = f" (shard {part.index} of {part.count}, from {part.source})"
        cases = part.take(cases) if s.kind != "parity" else cases
    render.err.print(
        f"Suite {s.name}: {len(cases)} cases x {repeat or s.repeat} repeat(s){of}, "
        f"results in {output}",
        soft_wrap=True,
    )
    return s, output


def _run(s, suite: str, output: Path, models, repeat, resume, part=None) -> list[dict]:
    """Every case in its own process, a line per case; Ctrl-C says how to finish."""
    from zoo.cli.progress import Steps

    from zoo import perf

    try:
        with Steps(f"suite {s.name}") as steps:
            return perf.run_suite(
                s,
                output,
                models=models,
                repeat=repeat,
                resume=resume,
                on_start=lambda n, total, case: steps.start(n, total, case.label()),
                on_result=lambda *done: (bench_view.case_done(*done), steps.done()),
                shard=part,
            )
    except KeyboardInterrupt:
        render.err.print(
            f"[yellow]Interrupted.[/] Finished cases are in {output}; "
            f"finish with: zoo bench --suite {suite} --output {output} --resume",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None


def _show_bench(s, rows: list[dict], records: list[dict]) -> None:
    """The suite's table, then by backend and against the references where there are."""
    from zoo import perf
    from zoo.perf import tables

    title = f"suite {s.name}" + (f": {s.description}" if s.description else "")
    # Many columns: print at a readable width even where the terminal is narrower.
    table = tables.bench_table(rows, s.baseline, s.baseline_precision, title=title)
    render.print_wide(render.rich(table))
    backends, pivot = perf.by_backend(rows)
    if len(backends) > 1:
        render.print_wide(bench_view.backend_table(backends, pivot))
    refs = perf.reference_ratios(records, s.baseline)
    if refs:
        title = "the zoo against references (one run, interleaved repeats)"
        render.print_wide(render.rich(tables.reference_table(refs, title=title)))


def _chart(draw) -> None:
    from zoo.cli import plot as charts

    with render.errors():
        draw(charts)


MergeFiles = Annotated[
    list[Path], typer.Argument(help="The shards' results files (.jsonl), one per shard.")
]
MergeOutput = Annotated[
    Path,
    typer.Option(help="The merged results file (.jsonl); its tables are written beside it."),
]


@app.command("merge")
def merge(files: MergeFiles, output: MergeOutput, as_json: options.Json = False) -> None:
    """Merge the results files of a suite's shards (`zoo bench --shard I/N`) into one.

    Refuses a case that two files hold and shards whose suite, zoo, commit, libraries or
    machine differ (exit 2); lists the shards and runs that are missing (exit 1); exit 0
    when every shard is there whole.
    """
    from zoo.perf import shard as zshard
    from zoo.results import ResultsFile, check_output

    with render.errors():
        for f in files:
            if not f.is_file():
                raise zshard.InvalidArgumentError(f"No results file at {f}.", "Check the path.")
        check_output(output, False)
        merged = zshard.merge((str(f), ResultsFile(f).read()) for f in files)
        _write_merged(output, merged.records)
    if as_json:
        render.print_json({**merged.__dict__, "records": len(merged.records)})
    count = len(merged.shards) + len(merged.missing_shards)
    render.err.print(
        f"Merged {len(merged.records)} records of {len(merged.shards)} of {count} shard(s) "
        f"into {output}",
        soft_wrap=True,
    )
    for i in merged.missing_shards:
        render.note(f"shard {i} of {count} is missing: run it with --shard {i}/{count}.")
    for i, n in merged.missing_runs.items():
        render.note(f"shard {i} is missing {n} run(s): finish it with --resume.")
    if merged.missing_shards or merged.missing_runs:
        raise typer.Exit(1)


def _write_merged(output: Path, records: list[dict]) -> None:
    """The records, written at once (atomically), and the tables of their suite's kind."""
    import json

    from zoo import io, perf
    from zoo.perf import parity, summary, target

    output.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(output) as tmp:
        tmp.write_text("".join(json.dumps(r, allow_nan=False) + "\n" for r in records))
    kind = records[0].get("kind")
    if kind == "parity":
        parity.write_markdown(output, records)
    elif kind == "target":
        target.write_tables(output, records)
    else:
        try:
            s = perf.load_suite(records[0]["suite"])
            baseline, precision = s.baseline, s.baseline_precision
        except perf.SuiteError:  # a suite file of the user's that is not at hand
            baseline, precision = "graph", None
        summary.write_tables(output, records, baseline, precision)
