"""Writes docs/results.md, the one place for measured figures, from the committed results.

    python -m benchmarks.report            # regenerate docs/results.md
    python -m benchmarks.report --check    # exit 1 if docs/results.md is out of step

Reads benchmarks/results/*.jsonl (one record per case and repeat) and summarizes them as
`zoo bench` does (`zoo.perf.summary`; a time-to-target suite's `zoo.perf.target`), into the
tables `zoo bench` prints and writes beside its results (`zoo.perf.tables`,
`zoo.perf.target.table`): the figures cannot drift from the files they come
from, nor the page's tables from the terminal's. Regenerating and checking import no
framework (the zoo's summaries and tables are standard library only: they run anywhere).
One path imports Keras: `--add-tune` with a search saved before searches recorded their
environment calls `zoo.io.environment()` to fingerprint this machine instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from benchmarks import examples, figures
from zoo import report as zreport
from zoo.perf import bottleneck, suite, summary, tables
from zoo.perf import target as perf_target

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "results.md"

# The command that produced each committed file (the records do not hold it).
COMMANDS = {
    "quick-cpu": "zoo bench --suite quick --repeat 3 --output benchmarks/results/quick-cpu.jsonl "
    "--plot benchmarks/results/quick-cpu.png",
    "precision-cpu": "zoo bench --suite precision --models seed_cnn,mlp --repeat 3 "
    "--output benchmarks/results/precision-cpu.jsonl",
    "reference-cpu": "zoo bench --suite reference --output benchmarks/results/reference-cpu.jsonl",
    "quantization-cpu": "zoo bench --suite quantization "
    "--output benchmarks/results/quantization-cpu.jsonl",
    "time-to-target-cpu": "zoo bench --suite time-to-target --tuned --repeat 5 "
    "--output benchmarks/results/time-to-target-cpu.jsonl",
    "fast-cpu": "zoo bench --suite fast --output benchmarks/results/fast-cpu.jsonl",
    "fast-warm-cpu-epyc": "zoo bench --suite fast --warm "
    "--output benchmarks/results/fast-warm-cpu-epyc.jsonl",
    "tune-cpu": "zoo tune NAME --dataset D --target T --budget B --output search.json "
    "(each case of the time-to-target suite, its target, 150-180 s; seed_cnn on "
    "fashion_mnist 480 s), then python -m benchmarks.report --add-tune search.json",
    "ab-checks-cpu-epyc": "python -m benchmarks.ab_train --a OLD_PYTHON --b NEW_PYTHON "
    "--seeds 100,101,102,103,104 --output benchmarks/results/ab-checks-cpu-epyc.jsonl -- "
    "ARGS, for three commands (below); OLD_PYTHON runs the checkout before validation passes "
    "read a cached feed in batches sized to the model, NEW_PYTHON the one with it, each from "
    "a clean worktree; on the AVX-512 EPYC with bf16",
    "ab-jax-seed-cpu-epyc": "python -m benchmarks.ab_train --a OLD_PYTHON --b NEW_PYTHON "
    "--seeds 100,101,102,103,104 --output benchmarks/results/ab-jax-seed-cpu-epyc.jsonl -- "
    "mlp --backend jax --target accuracy=0.96 --epochs 3; OLD_PYTHON runs the checkout "
    "before JAX runs stopped importing TensorFlow (571c21a), NEW_PYTHON the one after, each "
    "from a clean worktree (run from another folder, PYTHONPATH=the worktree); on the "
    "AVX-512 EPYC with bf16",
    "tune-real-cpu-epyc": "zoo tune fasttext_classifier --dataset /tmp/real/fortunes --target "
    "accuracy=0.70 --budget 3m --output fortunes.json (on the AVX-512 EPYC with bf16, at 9e75806 "
    "and again at 4d9486d, whose execution stage counts compilation; the second's "
    "winner is benchmarks/recipes/real/fortunes.recipe.toml), then python -m benchmarks.report "
    "--add-tune fortunes.json --to tune-real-cpu-epyc",
    "tune-warm-cpu-epyc": "zoo tune fasttext_classifier --target accuracy=1 --budget 60s "
    "--max-trials 100 --output cold.json, then the same with --warm --output warm.json (one "
    "after the other, on the AVX-512 EPYC with bf16), then python -m benchmarks.report "
    "--add-tune cold.json warm.json --to tune-warm-cpu-epyc",
    "ab-same-cpu": 'zoo bench --suite quick --repeat 5 --against "$(which python)" '
    "--fail-above 5 --output benchmarks/results/ab-same-cpu.jsonl",
    "ab-one-core-cpu": "zoo bench --suite quick --repeat 10 --against "
    "benchmarks/one-core-python --fail-above 10 --output benchmarks/results/ab-one-core-cpu.jsonl",
    "ab-same-cpu-epyc": 'zoo bench --suite quick --repeat 5 --against "$(which python)" '
    "--fail-above 5 --output benchmarks/results/ab-same-cpu-epyc.jsonl",
    "ab-one-core-5-cpu": "zoo bench --suite quick --repeat 5 --against "
    "benchmarks/one-core-python --fail-above 10 "
    "--output benchmarks/results/ab-one-core-5-cpu.jsonl",
    "ab-one-core-windows-cpu": "zoo bench --suite quick --repeat 5 --against "
    "benchmarks/one-core-python --fail-above 10 "
    "--output benchmarks/results/ab-one-core-windows-cpu.jsonl",
    "ab-one-core-windows-10-cpu": "zoo bench --suite quick --repeat 10 --against "
    "benchmarks/one-core-python --fail-above 10 "
    "--output benchmarks/results/ab-one-core-windows-10-cpu.jsonl",
    "ab-same-windows-cpu": 'zoo bench --suite quick --repeat 5 --against "$(which python)" '
    "--fail-above 5 --output benchmarks/results/ab-same-windows-cpu.jsonl",
    "synthetic-domains-cpu": "python -m benchmarks.convergence --models "
    "unet,segformer_b0,convlstm_video,conv2plus1d_video,centernet_tiny,centernet_resnet,"
    "ctc_speech,whisper_ctc,transformer_summarizer,bart_summarizer "
    "--output benchmarks/results/synthetic-domains-cpu.jsonl --resume",
    "parity-domains-cpu": "zoo bench --suite parity --models "
    "unet,segformer_b0,convlstm_video,conv2plus1d_video,centernet_tiny,centernet_resnet,"
    "ctc_speech,whisper_ctc,transformer_summarizer,bart_summarizer "
    "--output benchmarks/results/parity-domains-cpu.jsonl --resume",
    "real-data-cpu": "python -m benchmarks.real_data compare MODEL FILE --recipe "
    "benchmarks/recipes/real/NAME.recipe.toml --repeat 5 --output "
    "benchmarks/results/real-data-cpu.jsonl (keras_convnet on mnist5k.npz, "
    "matrix_factorization on ml100k.csv, fasttext_classifier on fortunes/)",
    "real-data-cpu-epyc": "python -m benchmarks.real_data compare MODEL FILE --recipe "
    "benchmarks/recipes/real/NAME.recipe.toml --repeat 5 --output "
    "benchmarks/results/real-data-cpu-epyc.jsonl (real-data-cpu's MNIST-5k and MovieLens "
    "routes and fortunes' searched again to 0.70, tune-real-cpu-epyc; on the AVX-512 EPYC "
    "with bf16; each seed's fortunes read into the zoo's cache first)",
    "domains-cpu": "zoo bench --suite domains --repeat 3 "
    "--output benchmarks/results/domains-cpu.jsonl --resume",
}
# A/B runs judged against a separate run of the same sides with more repeats: whether the
# fewer repeats flag every case the longer run measured below 0.9x.
AB_JUDGED_BY = {
    "ab-one-core-5-cpu": "ab-one-core-cpu",
    "ab-one-core-windows-cpu": "ab-one-core-windows-10-cpu",
}
# The --fail-above each A/B run was gated at, and the fewer repeats it is also judged on.
AB_GATES = {
    "ab-same-cpu": (5.0, None),
    "ab-one-core-cpu": (10.0, 5),
    "ab-one-core-5-cpu": (10.0, None),
    "ab-same-cpu-epyc": (5.0, None),
    "ab-one-core-windows-cpu": (10.0, None),
    "ab-one-core-windows-10-cpu": (10.0, 5),
    "ab-same-windows-cpu": (5.0, None),
}

HEADER = """\
# Measured results

<!-- Generated by `python -m benchmarks.report` from benchmarks/results/; do not edit. -->

Every figure on this page is computed from the committed result files in
[benchmarks/results/](../benchmarks/results/) by
[benchmarks/report.py](../benchmarks/report.py); `python -m benchmarks.report --check`
(run by the tests) fails when this page and the files disagree. How the suites work and
what the figures mean: [benchmarks.md](benchmarks.md). The machine is shared: compare
settings as ratios within one run (repeats are interleaved), not absolute numbers across
runs. Throughput is the median over repeats with (min-max); a speed-up is the median of
per-repeat ratios against the suite's baseline measured in the same repeat; the fastest
setting of each model is in bold.

To look rather than read: [report.html](report.html) is `zoo report` of every file here
(download it and open it in a browser: charts of each speed-up with its interval, of time
to target and of parity, and tables that sort), made by the same command.
"""


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def fmt_int(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def fmt_fixed(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def baseline_of(records: list[dict]) -> tuple[str, str | None]:
    """The baseline mode (and precision) of the suite the records ran."""
    s = suite.load_suite(records[0]["suite"])
    return s.baseline, s.baseline_precision


def case_table(records: list[dict]) -> str:
    """The per-case table `zoo bench` prints and writes beside its results, one row per
    case in suite order, with each case's bottleneck."""
    baseline, precision = baseline_of(records)
    rows = summary.summarize(records, baseline, precision)
    bottleneck.annotate_rows(rows, records)
    return tables.bench_table(rows, baseline, precision).markdown()


def ratio_table(records: list[dict]) -> str:
    """Ratios against the hand-written references (and the tf.data pipeline against
    memory), each with its paired interval, as `zoo bench` prints them; "" where none."""
    refs = summary.reference_ratios(records, baseline_of(records)[0])
    return tables.reference_table(refs).markdown() if refs else ""


def peaks(records: list[dict]) -> dict[str, float]:
    """The device peak each precision's MFU was taken against (train FLOP/s over MFU)."""
    out: dict[str, list[float]] = {}
    for r in records:
        if r.get("status") == "ok" and r.get("mfu") and r.get("train_flops_per_s"):
            out.setdefault(r["precision"], []).append(r["train_flops_per_s"] / r["mfu"])
    return {precision: statistics.median(values) for precision, values in out.items()}


def environment_table(runs: dict[str, list[dict]]) -> str:
    """Where each file was measured, as its records say (nothing filled in from the
    machine running the report): the CPU and its widest vector extensions, the versions,
    and the git commit of the zoo that measured it ("-": the records do not say)."""
    head = ["file", "records", "CPU", "ISA", "cores", "device", "platform", "Python", "Keras"]
    head += ["backend", "TensorFlow", "NumPy", "oneDNN", "commit"]
    rows = []
    for stem, records in runs.items():
        env = next((r["env"] for r in records if r.get("env")), {})  # a skipped run has none
        prov = next((r["provenance"] for r in records if r.get("provenance")), {})
        cells = [f"{stem}.jsonl", str(len(records)), str(env.get("cpu", "-")), isa(env, prov)]
        keys = ("cpu_count", "device", "platform", "python", "keras", "backend")
        cells += [str(env.get(k, "-")) for k in keys]
        cells += [str(env.get(k, "-")) for k in ("tensorflow", "numpy", "onednn")]
        rows.append([*cells, commit(prov)])
    return table(head, rows)


def isa(env: dict, prov: dict) -> str:
    """The CPU's widest vector and matrix extensions the records name: its AVX-512 and
    AMX flags, else avx2; "-" where the records carry no flags."""
    flags = (prov.get("machine") or {}).get("cpu_flags") or env.get("cpu_flags")
    if not flags:
        return "-"
    wide = [f for f in flags if f.startswith(("avx512", "amx"))]
    return " ".join(wide) if wide else ("avx2" if "avx2" in flags else " ".join(flags))


def commit(prov: dict) -> str:
    """The measuring zoo's git commit, short, with "(dirty)" for uncommitted changes."""
    git = prov.get("git")
    if not git:
        return "-"
    return git["commit"][:7] + (" (dirty)" if git.get("dirty") else "")


def peak_table(runs: dict[str, list[dict]]) -> str:
    rows = []
    for stem, records in runs.items():
        for precision, peak in sorted(peaks(records).items()):
            rows.append([f"{stem}.jsonl", precision, f"{peak / 1e9:.1f} GFLOP/s"])
    return table(["file", "precision", "matmul peak used for MFU"], rows)


def run_section(stem: str, records: list[dict]) -> str:
    suite = records[0].get("suite", stem)
    cases = len({r["case"] for r in records})
    repeats = len({r["repeat"] for r in records})
    command = COMMANDS.get(
        stem, f"zoo bench --suite {suite} --output benchmarks/results/{stem}.jsonl"
    )
    parts = [
        f"## {stem}: the `{suite}` suite\n",
        f"`{command}`: {cases} cases x {repeats} repeats.\n",
    ]
    if (RESULTS / f"{stem}.csv").exists():  # written when the run finished
        parts.append(case_table(records))
    ratios = ratio_table(records)
    if ratios:
        parts.append(ratios)
    plot = RESULTS / f"{stem}.png"
    if plot.exists():
        parts.append(f"![{stem}](../benchmarks/results/{stem}.png)\n")
    return "\n".join(parts)


def ab_section(stem: str, records: list[dict], judged_by: list[dict] | None = None) -> str:
    """An A/B run (`zoo bench --against`): B/A per case with its paired interval, what
    differs between the sides, and which cases the gate flags; where AB_GATES names fewer
    repeats, the same gate on only the first ones, beside; where AB_JUDGED_BY names a
    separate run with more repeats (`judged_by`), whether this run flagged every case
    that one measured below 0.9x."""
    from zoo.perf import compare

    pct, fewer = AB_GATES.get(stem, (None, None))
    result = compare.compare_sides(records, pct)
    repeats = len({r["repeat"] for r in records})
    command = COMMANDS.get(stem, f"zoo bench --against PYTHON --output {stem}.jsonl")
    parts = [f"## {stem}: A/B in one run\n", f"`{command}`: {repeats} repeats a side.\n"]
    table = compare.ab_table(result)
    parts += [table.markdown(), *(f"{n}\n" for n in table.notes)]
    if pct is not None:
        parts.append(_gate_line(result, pct, repeats))
    if fewer:
        early = compare.compare_sides([r for r in records if r["repeat"] < fewer], pct)
        parts.append(_gate_line(early, pct, fewer) + _agreement(result, early))
    spread = _window_spread(records)
    if spread:
        parts.append(spread)
    if judged_by:
        full = compare.compare_sides(judged_by, pct)
        longer = len({r["repeat"] for r in judged_by})
        parts.append(
            f"Against the separate run {AB_JUDGED_BY[stem]} ({longer} repeats a side): "
            + _agreement(full, result).replace("fewer repeats", f"{repeats} repeats here")
        )
    return "\n".join(parts)


def _window_spread(records: list[dict]) -> str | None:
    """How much B/A moved between repeats, on the timed windows and on the same workers'
    own training clocks (whole runs some seconds apart, the method before windows): the
    standard deviation of the per-repeat log-ratios, median and range over the cases."""
    import math
    import statistics

    from zoo.perf.summary import paired_rates

    spreads: dict[str, list[float]] = {"windows": [], "clocks": []}
    for case in sorted({r["case"] for r in records}):
        mine = [r for r in records if r["case"] == case]
        a, b = ([r for r in mine if r.get("side") == s] for s in ("A", "B"))
        # A repeat with windows has a clock too: equal counts are the same repeats.
        windows, clocks = paired_rates(b, a, "windows.samples_per_s"), paired_rates(b, a)
        if len(windows[0]) < 2 or len(windows[0]) != len(clocks[0]):
            continue
        for name, (x, y) in (("windows", windows), ("clocks", clocks)):
            logs = [math.log(q / p) for p, q in zip(x, y, strict=True)]
            spreads[name].append(statistics.stdev(logs))
    if not spreads["windows"]:
        return None
    w, c = sorted(spreads["windows"]), sorted(spreads["clocks"])
    return (
        f"Spread of B/A between repeats (standard deviation of the per-repeat log-ratios, "
        f"median and range over {len(w)} cases): timed windows {statistics.median(w):.3f} "
        f"({w[0]:.3f}-{w[-1]:.3f}); the same workers' own training clocks, whole runs some "
        f"seconds apart as before windows, {statistics.median(c):.3f} ({c[0]:.3f}-{c[-1]:.3f}).\n"
    )


def _names(result: dict, cases: list[str]) -> str:
    """Cases as `model mode`, in the table's words."""
    rows = {r["case"]: r for r in result["rows"]}
    return ", ".join(f"{rows[c]['model']} {rows[c]['mode']}" if c in rows else c for c in cases)


def _gate_line(result: dict, pct: float, repeats: int) -> str:
    flagged = _names(result, result["regressions"]) or "none"
    undecided = len(result["undecided"])
    return (
        f"At --fail-above {pct:g} with {repeats} repeats: {len(result['regressions'])} of "
        f"{len(result['rows'])} cases flagged ({flagged}); {undecided} undecided.\n"
    )


def _agreement(full: dict, early: dict) -> str:
    """Whether the fewer repeats flag every case whose ratio over all repeats is below 0.9."""
    slow = [r["case"] for r in full["rows"] if r["ratio"] < 0.9]
    missed = [c for c in slow if c not in early["regressions"]]
    return (
        f"Cases below 0.9x over all repeats: {len(slow)}; flagged with the fewer repeats: "
        f"{len(slow) - len(missed)}"
        + (f" (missed: {_names(full, missed)})" if missed else "")
        + ".\n"
    )


def render(results: Path = RESULTS) -> str:
    """The whole page, from the result files in `results` (sorted: deterministic)."""
    # The committed runs in the order the docs discuss them, then any others by name.
    paths = sorted(
        results.glob("*.jsonl"),
        key=lambda p: (
            p.stem not in COMMANDS,
            list(COMMANDS).index(p.stem) if p.stem in COMMANDS else 0,
            p.stem,
        ),
    )
    runs = {p.stem: read_jsonl(p) for p in paths}
    runs = {stem: records for stem, records in runs.items() if records}
    # Benchmark suites have one record per case and repeat; other result files have
    # their own section (SECTIONS) or, failing that, the Markdown table written beside them.
    ab = {stem for stem, records in runs.items() if records[0].get("side")}
    bench = {
        stem: records
        for stem, records in runs.items()
        if "case" in records[0] and records[0].get("kind") != "target" and stem not in ab
    }
    parts = [HEADER, "## Environment\n", environment_table(runs)]
    parts += ["## Device peak behind MFU\n", PEAK_NOTE, peak_table(bench)]
    for stem, records in runs.items():
        if stem in bench:
            parts.append(run_section(stem, records))
        elif stem in ab:
            parts.append(ab_section(stem, records, runs.get(AB_JUDGED_BY.get(stem, ""))))
        elif records[0].get("kind") == "target":
            parts.append(target_section(stem, records, results))
        elif stem in SECTIONS:
            parts.append(SECTIONS[stem](stem, records))
        elif (results / f"{stem}.md").exists():
            parts.append(f"## {stem}\n\n" + (results / f"{stem}.md").read_text(encoding="utf-8"))
    return "\n".join(parts)


def metric_cell(metrics: dict[str, float], optimum: dict[str, float]) -> tuple[str, str]:
    """The task's headline metric (the first with a known optimum) and that optimum."""
    name = next((k for k in optimum if k in metrics), None)
    if name is None:
        return "-", "-"
    return f"{name} {metrics[name]:.4f}", f"{optimum[name]:.4f}"


def synthetic_section(stem: str, records: list[dict]) -> str:
    """Every model trained with its default recipe, against its task's known optimum."""
    head = ["model", "family", "task", "parameters", "epochs", "test result", "optimum"]
    head += ["best epoch", "seconds per epoch"]
    rows = []
    for r in sorted(records, key=lambda r: r["model"]):
        if r.get("status") != "ok":
            rows.append([f"`{r['model']}`", "-", "-", "-", "-", r.get("status", "-")] + ["-"] * 3)
            continue
        result, optimum = metric_cell(r["test_metrics"], r["optimum"])
        rows.append(
            [f"`{r['model']}`", r["family"], r["task"], fmt_int(r["params"]), str(r["epochs"])]
            + [result, optimum, str(r.get("best_epoch") or "-")]
            + [fmt_fixed(r.get("seconds_per_epoch"), 1)]
        )
    return "\n".join(
        [
            f"## {stem}: every model on its synthetic task\n",
            f"`{COMMANDS.get(stem, 'python -m benchmarks.convergence')}`: each model trained by"
            " `zoo train NAME` with its"
            " default recipe (seed 0), in its own process; the test result is that of the epoch"
            " with the best validation loss."
            " `keras.applications` and the published-size keras-hub models (BERT-Base, GPT-2"
            " small) are left out: hours per CPU epoch. The test result of a task scored on"
            " decoded outputs (mAP, WER, ROUGE) is its first score. Seconds per epoch include"
            " validation and are rough: the machine is shared.\n",
            table(head, rows),
        ]
    )


EPS32 = 2.0**-23


def _eps(value: float | None) -> str:
    return "-" if value is None else f"{value / EPS32:,.1f}"


def parity_family_rows(records: list[dict]) -> list[list[str]]:
    """Per family and compared backend: the models equal, the largest forward and step-1
    loss differences (in float32 eps), and the models that diverge with what left first."""
    groups: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for r in sorted(records, key=lambda r: (r.get("family", ""), r["model"])):
        for row in r.get("rows", [])[1:]:
            groups.setdefault((r.get("family", "-"), row["backend"]), []).append((r["model"], row))
    out = []
    for (family, backend), rows in sorted(groups.items()):
        ran = [(m, row) for m, row in rows if row.get("status") == "ok"]
        if not ran:
            reason = rows[0][1].get("reason") or rows[0][1].get("detail") or "skipped"
            out.append([family, backend, "-", "-", "-", f"not run: {reason}"])
            continue
        equal = [m for m, row in ran if row["verdict"] == "equal"]
        apart = [f"{m} ({row['detail']})" for m, row in ran if row["verdict"] != "equal"]
        fwd = max((row.get("forward_max_rel") or 0.0) for _, row in ran)
        loss = max((row.get("loss_step1_rel") or 0.0) for _, row in ran)
        out.append(
            [family, backend, ", ".join(equal) or "-", _eps(fwd), _eps(loss)]
            + ["; ".join(apart) or "-"]
        )
    return out


def parity_section(stem: str, records: list[dict]) -> str:
    """`zoo bench --suite parity`: each backend against the first, summarised per family."""
    first = records[0]
    command = COMMANDS.get(
        stem, f"zoo bench --suite parity --output benchmarks/results/{stem}.jsonl"
    )
    head = ["family", "backend", "equal", "forward rel max (eps)", "step-1 loss rel max (eps)"]
    head += ["diverges (what left the tolerance first)"]
    return "\n".join(
        [
            f"## {stem}: the same weights and batches on every backend\n",
            f"`{command}`:"
            f" {len(records)} models, {first['steps']} steps at batch {first['batch_size']},"
            f" {first['precision']}, each backend against {first['backends'][0]}; differences"
            " in multiples of float32 eps (2^-23). The tolerances and what the verdicts mean:"
            f" [parity.md](parity.md); every figure per model: [{stem}.md]"
            f"(../benchmarks/results/{stem}.md).\n",
            table(head, parity_family_rows(records)),
        ]
    )


def tune_record(search: dict) -> dict:
    """A `zoo tune --output` file as one line of tune-cpu.jsonl: the default route, the
    winner, each trial's outcome and how the search went."""
    keep = (
        "settings",
        "status",
        "reason",
        "reached",
        "time_to_target_s",
        "train_time_to_target_s",
        "epochs_to_target",
        "best_validation",
        "test_metric",
    )

    def trial(t: dict | None) -> dict | None:
        return None if t is None else {k: t.get(k) for k in keep}

    return {
        "kind": "tune",
        **{
            k: search.get(k)
            for k in (
                "model",
                "dataset",
                "target",
                "budget_s",
                "spent_s",
                "fastest_execution",
                "speedup",
                "created",
                "seed",
                "start",
            )
        },
        "execution_trials": sum(1 for e in search["execution"] if e["status"] != "left out"),
        # Each execution trial's speed, so a figure quoted from the search has its file.
        "execution": [
            {k: e.get(k) for k in ("settings", "status", "samples_per_s", "compile_s")}
            for e in search["execution"]
            if e["status"] != "left out"
        ],
        "left_out": [e for e in search["execution"] if e["status"] == "left out"],
        "recipe_trials": len(search["trials"]),
        # And each recipe trial's outcome, so a claim about what reached the target has its
        # file (the trials' per-epoch histories stay in the search file).
        "trials": [trial(t) for t in search["trials"]],
        "default": trial(search.get("default")),
        "winner": trial(search.get("winner")),
        # Where the search ran, as it recorded it; never this machine's filled in.
        "env": search.get("env"),
        "schema": search.get("schema"),
        "provenance": search.get("provenance"),
    }


def _trial_cell(t: dict | None) -> str:
    if t is None:
        return "-"
    if not t.get("reached"):
        best = t.get("best_validation")
        return "not reached" + ("" if best is None else f" (best {best:.4g})")
    test = t.get("test_metric")
    return f"{t['time_to_target_s']:.1f} s" + ("" if test is None else f" (test {test:.4g})")


def tune_section(stem: str, records: list[dict]) -> str:
    """`zoo tune` searches: the default route against the winner, one run each."""
    head = ["model", "dataset", "target (validation)", "default route", "winner", "speed-up"]
    head += ["winner's settings", "trials (execution + recipe)", "searched s of budget"]
    head += ["trials start"]
    rows = []
    for r in records:
        w = r["winner"] or {}
        settings = ", ".join(f"{k}={v}" for k, v in (w.get("settings") or {}).items()) or "-"
        rows.append(
            [
                r["model"],
                Path(r["dataset"]).name,
                r["target"],
                _trial_cell(r["default"]),
                _trial_cell(r["winner"]),
                fmt_fixed(r["speedup"], 2, "x"),
                settings,
                f"{r['execution_trials']} + {r['recipe_trials']}",
                f"{r['spent_s']:.0f} of {r['budget_s']:.0f}",
                r.get("start") or "cold",  # searches before `zoo tune --warm` were cold
            ]
        )
    return "\n".join(
        [
            f"## {stem}: `zoo tune` searches\n",
            f"`{COMMANDS.get(stem, COMMANDS['tune-cpu'])}`. Each search on its own; the default"
            " route and the winner are one run each (the time-to-target suite repeats them over"
            " seeds). Times count from the trial's process start (warm: forked from the"
            " search's zoo daemon, without the framework's import; `zoo tune --warm`); the test"
            " metric is the model that reached the target's. How the search works:"
            " [tuning.md](tuning.md#zoo-tune).\n",
            table(head, rows),
        ]
    )


def ab_train_section(stem: str, records: list[dict]) -> str:
    """`python -m benchmarks.ab_train`: training commands each under two checkouts,
    interleaved by seed; A's time over B's per phase, a table per command."""
    commands: dict[tuple, list[dict]] = {}
    for r in records:
        commands.setdefault(tuple(r["train_args"]), []).append(r)
    parts = [
        f"## {stem}: training commands under two checkouts\n",
        f"`{COMMANDS.get(stem, 'python -m benchmarks.ab_train')}`: each run in its own process,"
        " the sides alternating which runs first. Times are medians over the seeds where both"
        " sides reached the target; A / B is A's time over B's, paired by seed, with its 95%"
        " interval (`zoo.stats.paired`), and the verdict is B's.\n",
    ]
    return "\n".join(parts + [_ab_train_table(runs) for runs in commands.values()])


def _ab_train_table(records: list[dict]) -> str:
    from benchmarks import ab_train

    commits = {r["arm"]: r["checkout"] for r in records}
    seeds = sorted({r["seed"] for r in records})
    done = {arm: [r["run"] for r in records if r["arm"] == arm] for arm in "AB"}
    reached = {arm: [r for r in runs if r.get("reached")] for arm, runs in done.items()}
    test = ", ".join(
        f"{arm} {fmt_fixed(statistics.median(r['test_metric'] for r in runs), 5) if runs else '-'}"
        for arm, runs in reached.items()
    )
    side = ", ".join(
        f"{arm} at {c['commit'][:7]}{' (changed)' if c['dirty'] else ''}"
        for arm, c in sorted(commits.items())
    )
    head = ["time", "A s (median)", "B s (median)", "A / B [95%]", "B is", "seeds"]
    rows = []
    for row in ab_train.summarize(records):
        interval = "-"
        if row["ratio"] is not None:
            interval = f"{row['ratio']:.2f}x [{row['ratio_low']:.2f}-{row['ratio_high']:.2f}]"
        verdict = row.get("ratio_verdict") or "-"  # of B: paired with B first
        rows.append(
            [row["time"], fmt_fixed(row["a_s"], 2), fmt_fixed(row["b_s"], 2), interval]
            + [verdict, str(row["pairs"])]
        )
    return "\n".join(
        [
            f"`zoo train {' '.join(records[0]['train_args'])}` on seeds"
            f" {', '.join(map(str, seeds))}, {side}. Reached the target: A"
            f" {len(reached['A'])}/{len(done['A'])}, B {len(reached['B'])}/{len(done['B'])};"
            f" test metric (median): {test}.\n",
            table(head, rows),
        ]
    )


def real_data_section(stem: str, records: list[dict]) -> str:
    """`python -m benchmarks.real_data compare`: a zoo recipe against the plain-Keras
    baseline of the same model, on real files, alternating by seed."""
    from benchmarks import real_data

    head = ["data", "model", "zoo target (validation)", "reached", "zoo s", "baseline s"]
    head += ["baseline / zoo [95%]", "the zoo route is", "test: zoo", "test: baseline"]
    head += [">= baseline"]
    rows = []
    for row in real_data.summarize(records):
        interval = "-"
        if row["ratio"] is not None:
            interval = f"{row['ratio']:.2f}x [{row['ratio_low']:.2f}-{row['ratio_high']:.2f}]"
        rows.append(
            [row["dataset"], f"`{row['model']}`", row["target"] or "-", row["reached"]]
            + [fmt_fixed(row["zoo_s"], 1), fmt_fixed(row["baseline_s"], 1), interval]
            + [row.get("ratio_verdict") or "-"]
            + [f"{row['metric']} {fmt_fixed(row['zoo_test'], 4)}"]
            + [f"{row['metric']} {fmt_fixed(row['baseline_test'], 4)}"]
            + [{True: "yes", False: "no"}.get(row.get("at_least_baseline"), "-")]
        )
    seeds = sorted({r["seed"] for r in records})
    return "\n".join(
        [
            f"## {stem}: the zoo's route against a hand-written Keras baseline, real data\n",
            f"`{COMMANDS.get(stem, 'python -m benchmarks.real_data compare')}`: on seeds"
            f" {', '.join(map(str, seeds))}, alternating which side runs first, each run in its"
            " own process. The zoo side is `zoo train --recipe R --dataset FILE` with the"
            " recipe `zoo tune` chose on the tuning seed 100, timed to its validation target;"
            " the baseline is the same zoo model under plain `compile`/`fit` with hand-picked"
            " settings and early stopping (benchmarks/real_data.py), timed to the end of its"
            " `fit`. Both from their process start. Test metrics are medians on the zoo's"
            " test split, the zoo's of the model that reached the target. The interval is"
            " over the seeds where both finished (`zoo.stats.paired`).\n",
            table(head, rows),
        ]
    )


SECTIONS = {
    "real-data-cpu": real_data_section,
    "real-data-cpu-epyc": real_data_section,
    "synthetic-cpu": synthetic_section,
    "synthetic-domains-cpu": synthetic_section,
    "parity-domains-cpu": parity_section,
    "parity-cpu": parity_section,
    "tune-cpu": tune_section,
    "tune-real-cpu-epyc": tune_section,
    "tune-warm-cpu-epyc": tune_section,
    "ab-checks-cpu-epyc": ab_train_section,
    "ab-jax-seed-cpu-epyc": ab_train_section,
}


def target_table(records: list[dict]) -> str:
    """The time-to-target table `zoo bench` prints and writes beside its results."""
    return perf_target.table(perf_target.summarize(records)).markdown()


def target_section(stem: str, records: list[dict], results: Path = RESULTS) -> str:
    """`zoo bench --suite time-to-target`: each case's median time to its validation target."""
    suite = records[0].get("suite", stem)
    seeds = sorted({r["seed"] for r in records})
    default = f"zoo bench --suite {suite} --output benchmarks/results/{stem}.jsonl"
    command = COMMANDS.get(stem, default)
    summary = results / f"{stem}.csv"  # written when the run finished
    return "\n".join(
        [
            f"## {stem}: time to a quality target\n",
            f"`{command}`: {len({r['case'] for r in records})} cases x seeds"
            f" {', '.join(map(str, seeds))}, each run in its own process, the seeds"
            " interleaved across cases. The target is checked on the validation split; the test"
            " metric is the test split's, of the model that reached it. Time to target counts"
            " from the run's process start (imports, data loading and compilation included);"
            " train s is the training alone. Medians over the seeds, a run that never reached"
            " the target counting as never; the range is over the runs that reached it. How the"
            " targets were chosen: [benchmarks.md](benchmarks.md#time-to-target)."
            + (f" {perf_target.WARM_NOTE}" if _warm(records) else "")
            + "\n",
            target_table(records)
            if summary.exists()
            else f"No summary beside it: the run did not finish (`{command} --resume`).\n",
        ]
    )


def _warm(records: list[dict]) -> bool:
    """Whether a target suite's runs were forked from a zoo daemon (`zoo bench --warm`)."""
    return any((r.get("target") or {}).get("start") == "warm" for r in records)


PEAK_NOTE = """\
MFU is achieved training FLOP/s (per-layer FLOPs x 3 x samples/s) over the device's
matrix-multiply peak as `zoo peak` measured and cached it; this is that peak, read back
from the records (train FLOP/s over MFU).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of step")
    parser.add_argument("--output", type=Path, default=DOC, help="the page to write or check")
    parser.add_argument(
        "--add-tune",
        nargs="+",
        type=Path,
        metavar="SEARCH_JSON",
        help="append `zoo tune --output` files to results/tune-cpu.jsonl (or --to's)",
    )
    parser.add_argument(
        "--to",
        default="tune-cpu",
        choices=[stem for stem, section in SECTIONS.items() if section is tune_section],
        help="the results file --add-tune appends to",
    )
    args = parser.parse_args(argv)
    if args.add_tune:
        with open(RESULTS / f"{args.to}.jsonl", "a", encoding="utf-8") as out:
            for path in args.add_tune:
                out.write(json.dumps(tune_record(json.loads(path.read_text()))) + "\n")
    text = render()
    page = args.output.with_name("report.html")
    if args.check:
        if not _page_current(page):
            return 1
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(
                f"{args.output} is out of step with benchmarks/results/; "
                "regenerate it with: python -m benchmarks.report",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} matches benchmarks/results/")
        # And no page quotes a figure no file holds, or a transcript its record does not.
        return max(figures.main([]), examples.main(["--check"]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    zreport.write(_sources(), page)
    print(f"wrote {page}")
    return 0


def _sources() -> list[Path]:
    """The results files the report page shows (every committed results file)."""
    return sorted(RESULTS.glob("*.jsonl"))


def _page_current(page: Path) -> bool:
    """Whether `page` (`zoo report` of every results file) was made from these files."""
    made = zreport.sources_of(page.read_text(encoding="utf-8")) if page.exists() else None
    if made != zreport.digests(_sources()):
        print(
            f"{page} was not made from the results files as they are; regenerate it with: "
            "python -m benchmarks.report",
            file=sys.stderr,
        )
        return False
    print(f"{page} was made from benchmarks/results/ as it is")
    return True


if __name__ == "__main__":
    sys.exit(main())
