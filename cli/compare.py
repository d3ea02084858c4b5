"""`zoo compare BASE NEW`: two benchmark runs, case by case, as a CI gate.

Exit codes like diff's: 0 nothing regressed, 1 a case regressed (slower than BASE beyond
--fail-above with the stated confidence), 2 any error (a missing or unreadable file,
records that are not the zoo's, manifests that differ, no shared case).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.markup import escape
from zoo.cli import options, render
from zoo.cli.views import bench as bench_view

from zoo.choices import SPEED_SETTINGS

Base = Annotated[Path, typer.Argument(metavar="BASE", help="Results .jsonl of the base run.")]
New = Annotated[Path, typer.Argument(metavar="NEW", help="Results .jsonl of the new run.")]
FailAbove = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=99.0,
        help="Exit 1 when any case is slower than BASE by more than this percent with the "
        "stated --confidence (its whole interval below 1 - PCT/100).",
    ),
]
Confidence = Annotated[
    float,
    typer.Option(
        min=0.5,
        max=0.999,
        help="Confidence of each case's interval (a t interval on log throughputs).",
    ),
]
AllowDifferent = Annotated[
    str | None,
    typer.Option(
        metavar="SETTING[,SETTING]",
        help="Compare even where the runs' manifests differ in these settings (the rows are "
        f"marked): {', '.join(SPEED_SETTINGS)}.",
    ),
]
ComparePlot = Annotated[
    Path | None, typer.Option(help="Also draw NEW/BASE per case to this .png (needs matplotlib).")
]

ERROR = 2  # the exit code of every error, as diff's


def compare(
    base: Base,
    new: New,
    fail_above: FailAbove = None,
    confidence: Confidence = 0.95,
    allow_different: AllowDifferent = None,
    plot: ComparePlot = None,
    as_json: options.Json = False,
) -> None:
    """Compare two benchmark runs case by case (training throughput, NEW / BASE, with each
    case's confidence interval), once their manifests agree on every setting that changes
    speed. Exit 0: nothing regressed; 1: a case regressed; 2: an error."""
    from zoo.perf import compare as perf_compare

    allowed = [a.strip() for a in (allow_different or "").split(",") if a.strip()]
    read_notes: list[str] = []  # a torn last line skipped, per file
    with _errors():
        result = perf_compare.compare_runs(
            perf_compare.load_run(base, read_notes),
            perf_compare.load_run(new, read_notes),
            fail_above,
            allow_different=allowed,
            confidence=confidence,
        )
    if not result["rows"]:
        render.err.print("[bold red]Error:[/] the two runs share no successful case.")
        raise typer.Exit(ERROR)
    if plot is not None:
        title = f"{new.name} vs {base.name}"
        with _errors():
            from zoo.cli import plot as charts

            charts.compare_chart(result["rows"], plot, title)
    if as_json:
        render.print_json(result)
    else:
        render.show(compare_table(f"{new.name} vs {base.name}", result))
        render.out.print(geomean_line(result))
    for line in [*read_notes, *fairness_notes(result), *decision_notes(result)]:
        render.note(line)
    _exit_code(result)


def bench_against(s, output: Path, models, repeat, resume: bool, against: tuple, as_json: bool):
    """`zoo bench --against PYTHON [--fail-above PCT]`: every case on A (this interpreter)
    and B, alternating A B B A; then B/A per case with paired intervals, and what differs
    between A and B; exit 1 where B regressed beyond PCT, as `zoo compare`."""
    from zoo.perf import ab
    from zoo.perf import compare as perf_compare

    python, fail_above = against

    render.err.print(f"A: {sys.executable}\nB: {python}", soft_wrap=True)
    try:
        records = ab.run_ab_suite(
            s, output, python, models=models, repeat=repeat, resume=resume,
            on_result=bench_view.case_done,
        )  # fmt: skip
    except KeyboardInterrupt:
        render.err.print(
            f"[yellow]Interrupted.[/] Finished runs are in {output}; finish with: zoo bench "
            f"--suite {s.name} --against {python} --output {output} --resume",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    result = perf_compare.compare_sides(records, fail_above, baseline=s.baseline)
    md = perf_compare.write_ab_tables(output, result)
    if as_json:
        render.print_json(result)
    elif result["rows"]:
        render.show(compare_table(f"suite {s.name}: B vs A, base A, new B", result))
        render.out.print(geomean_line(result))
        for line in decision_notes(result):
            render.note(line)
    else:
        render.note("A and B share no successful case: nothing to compare.")
    if not as_json:
        if result["rows"]:
            render.note(perf_compare.window_note(result))
        render.note(ab_note(result))
        render.err.print(f"Results: {output} (+ {md.name})", soft_wrap=True)
    _exit_code(result)


def ab_note(result: dict) -> str:
    """What differs between A and B, as the manifests and provenance say."""
    if not result["differences"]:
        return "A and B differ in nothing their manifests and provenance record."
    return "A (base) and B (new) differ in: " + "; ".join(result["differences"])


@contextlib.contextmanager
def _errors():
    """A ZooError as one red line, exit 2 whatever its kind (diff's codes)."""
    try:
        with render.errors():
            yield
    except typer.Exit as e:
        raise typer.Exit(ERROR if e.exit_code not in (0, 130) else e.exit_code) from None


def _exit_code(result: dict) -> None:
    """Exit 1 when a case regressed beyond --fail-above with the stated confidence."""
    if result["regressions"]:
        render.err.print(
            f"[bold red]{len(result['regressions'])} case(s) regressed by more than "
            f"{result['fail_above']:g}% ({result['confidence']:.0%} confidence)[/]"
        )
        raise typer.Exit(1)


def _verdict(r: dict, gated: bool) -> str:
    """A case's verdict cell: REGRESSION, undecided (at --fail-above), or NEW against BASE."""
    if r["regressed"]:
        return "REGRESSION"
    if r["verdict"] == "too few repeats":
        return "1 repeat"
    if gated and not r["decided"]:
        return "undecided"
    return "within noise" if r["verdict"] == "no difference detected" else r["verdict"]


def compare_table(title: str, result: dict) -> RenderableType:
    """`zoo compare`: a line per model, then its cases (setting and batch) indented under
    it, so a case is one line and the table fits 80 columns with every name whole."""
    rows: Sequence[dict] = result["rows"]
    base = render.column([r["base"] for r in rows], "throughput")
    new = render.column([r["new"] for r in rows], "throughput")
    ratio = [render.number(r["ratio"], "ratio", 3) for r in rows]  # 0.990, not 0.99
    bounds = render.column([v for r in rows for v in (r["low"], r["high"])], "ratio")
    marked = any(r.get("differs") for r in rows)  # allowed with --allow-different
    width = 6 + marked
    body, model = [], None
    for i, r in enumerate(rows):
        if r["model"] != model:
            model = r["model"]
            body.append([f"[bold]{escape(model)}[/]", *[""] * (width - 1)])
        low, high = bounds[2 * i : 2 * i + 2]
        interval = "-" if r["low"] is None else f"{low}-{high}"
        case = escape(f"  {bench_view.compact_setting(r)} b{r['batch_size']}")
        differs = "≠ " + ", ".join(r["differs"]) if r.get("differs") else ""
        verdict = _verdict(r, result["fail_above"] is not None)
        body.append([case, base[i], new[i], ratio[i], interval, verdict, differs][:width])
    columns = [
        render.Col("model, setting", markup=True),
        render.Col("base", "throughput"),
        render.Col("new", "throughput"),
        render.Col("new/base", "ratio"),
        render.Col(f"{result['confidence']:.0%} CI", "ratio"),
        render.Col("verdict"),
        render.Col("settings"),
    ]
    return render.table(f"{title} (training samples/s)", columns[:width], body)


def geomean_line(result: dict) -> str:
    """The line under `zoo compare`'s table."""
    unmatched = result["unmatched"]
    return f"geometric mean new/base: {result['geomean']:.3f} over {len(result['rows'])} cases" + (
        f"; {unmatched} cases in only one run" if unmatched else ""
    )


def decision_notes(result: dict) -> list[str]:
    """What the repeats could not decide: cases of one repeat (no interval, never flagged)
    and, at --fail-above, cases whose interval reaches both sides of the bound."""
    rows, notes, pct = result["rows"], [], result["fail_above"]
    if pct is None:  # no gate: the verdict column says it all
        return notes
    single = [r for r in rows if r["verdict"] == "too few repeats"]
    if single:
        notes.append(
            f"{render.plural(len(single), 'case')} with one repeat in BASE or NEW: no "
            "interval, so never flagged; run zoo bench with --repeat 5 to decide them."
        )
    undecided = [r for r in rows if not r["decided"] and r["verdict"] != "too few repeats"]
    if not undecided:
        return notes
    bound = 1 - pct / 100
    needed = [r["repeats_needed"] for r in undecided]
    most = max(needed) if None not in needed else None
    estimate = (
        f"about {most} repeats per run would decide them all"
        if most is not None
        else "some would need over 1,000 repeats (their estimate sits near the bound)"
    )
    notes.append(
        f"{len(undecided)} of {len(rows)} cases undecided at --fail-above {pct:g}: their "
        f"{result['confidence']:.0%} intervals reach both sides of {bound:.3g}x, so they are "
        f"not flagged; {estimate}, if the spread stays as measured."
    )
    return notes


def fairness_notes(result: dict) -> list[str]:
    """`zoo compare`'s notes on what it could not check, or was allowed to differ."""
    from zoo.perf.manifest import describe

    notes = []
    unchecked = result.get("unchecked")
    if unchecked:
        notes.append(_unchecked_note(unchecked, len(result["rows"])))
    allowed: dict[str, str] = {}
    for r in result["rows"]:
        for name, (a, b) in r.get("differences", {}).items():
            allowed.setdefault(name, describe(name, a, b))
    if allowed:
        notes.append(
            "compared although these settings differ (≠, --allow-different): "
            + "; ".join(allowed.values())
        )
    return notes


def _unchecked_note(u: dict, total: int) -> str:
    """One line: which run has no manifests, and what the environments say of the CPUs."""
    from zoo.perf.manifest import describe

    sides = " and ".join(u["without_manifest"])
    some = "" if u["cases"] == total else f" for {u['cases']} of {total} cases"
    line = (
        f"the records of {sides} carry no fairness manifest{some} (written before "
        "manifests existed): the settings of the two runs could not be checked"
    )
    (cpu_a, cpu_b), (flags_a, flags_b) = u["cpu"], u["cpu_flags"]
    unknown = [side for side, f in (("BASE", flags_a), ("NEW", flags_b)) if f is None]
    if unknown:
        line += (
            f"; {' and '.join(unknown)} recorded no CPU ISA flags (CPU: {cpu_a or '?'} in "
            f"BASE, {cpu_b or '?'} in NEW), so a different machine cannot be ruled out"
        )
    elif flags_a != flags_b:
        line += f"; the CPUs differ: {describe('cpu_flags', flags_a, flags_b)}"
    return line + "."
