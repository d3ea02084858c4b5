"""`zoo tune NAME --target METRIC=VALUE`: find the settings that reach a target fastest on
this machine (`zoo.tuning`), show the search, cache the winner; `zoo tune --show` lists
the cached winners.

The command reads: parse the options -> zoo.tuning.tune (each trial in its own process)
-> render.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from zoo.cli import _keras, options, render
from zoo.cli.views import tune as tune_view

from zoo.errors import InvalidArgumentError
from zoo.runtime.config import RunConfig
from zoo.tuning import TUNING_SEED

X = options.field_options(RunConfig)  # the run settings' options, as `zoo train` has them

Name = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="NAME",
        help="A model name from `zoo list`; or `merge FILE...` with --output: the shards of a "
        "sharded search (--shard) merged into one, its winner the fastest of any shard.",
    ),
]
Target = Annotated[
    str | None,
    typer.Option(
        metavar="METRIC=VALUE",
        help="The validation target to race to, e.g. accuracy=0.91, rmse=0.9.",
    ),
]
Budget = Annotated[str, typer.Option(help="Time for the whole search: 90s, 10m, 1h (or seconds).")]
MaxTrials = Annotated[int, typer.Option(min=2, help="Recipe trials at most.")]
Backends = Annotated[
    str | None,
    typer.Option(
        help="Keras backends to measure, comma-separated (e.g. tensorflow,jax; each needs "
        "its extra). Default: the current one."
    ),
]
Show = Annotated[
    bool, typer.Option("--show", help="List the tuned recipes cached on this machine.")
]
Output = Annotated[
    Path | None,
    typer.Option(
        help="Write each trial as it ends to a results file beside this one "
        "(search.json: search.trials.jsonl), then the whole search as JSON here and the "
        "winner as a recipe file (search.recipe.toml; `zoo train --recipe` runs it)."
    ),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Go on with the search in --output's trials file (after a kill or Ctrl-C): "
        "the trials it holds are not run again.",
    ),
]
Warm = Annotated[
    bool,
    typer.Option(
        "--warm",
        help="Fork every trial from a zoo daemon of the search's own, which imports the "
        "framework once, so the budget buys trials, not imports (one backend).",
    ),
]
Seed = Annotated[
    int,
    typer.Option(
        help="Seeds the search's data, splits, weights and shuffling; the default is held "
        "out of the seeds (0, 1, 2...) the time-to-target suite judges tuned recipes on."
    ),
]

ShardOption = Annotated[
    str | None,
    typer.Option(
        metavar="I/N",
        help="Run only every N-th recipe trial of the search from trial I (the execution "
        "stage runs whole: each shard measures its machine), into --output with "
        "-shard-I-of-N; N alone takes I from JOB_COMPLETION_INDEX (Kubernetes) or "
        "SLURM_ARRAY_TASK_ID (SLURM). Merge the shards with `zoo tune merge`.",
    ),
]
Task = Annotated[
    str | None,
    typer.Option(
        help="Race the zoo's models of this task (those not tagged large) instead of "
        "tuning one: each is searched in turn, and the fastest to the target wins."
    ),
]
Models = Annotated[
    str | None,
    typer.Option(help="Race these models (comma-separated, one task) instead of tuning one."),
]

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """'90s', '10m', '1h' or a number of seconds, as seconds.

    Raises:
        InvalidArgumentError: anything else.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not match or float(match.group(1)) <= 0:
        raise InvalidArgumentError(
            f"The budget must be a positive time like 90s, 10m or 1h; received {text!r}.",
            "For example --budget 10m.",
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def tune(
    name: Name = None,
    dataset: options.Dataset = "synthetic",
    target: Target = None,
    budget: Budget = "10m",
    max_trials: MaxTrials = 20,
    seed: Seed = TUNING_SEED,
    samples: options.Samples = None,
    data_dir: options.DataDir = None,
    device: X.device = None,
    backends: Backends = None,
    task: Task = None,
    models: Models = None,
    show: Show = False,
    output: Output = None,
    resume: Resume = False,
    shard: ShardOption = None,
    warm: Warm = False,
    track: options.Track = None,
    tensorboard: options.TensorBoardDir = None,
    as_json: options.Json = False,
) -> None:
    """Find the execution settings and recipe that reach a target fastest on this machine
    (with --task or --models: the model too)."""
    from zoo import track as ztrack

    with render.errors():
        ztrack.check_tracker(track)
        if name and name[0] == "merge":
            return _merge(name[1:], output, as_json)
        name = _one_name(name)
        if show:
            return _show_cached(name, as_json)
        search = dict(
            target=target,
            budget=budget,
            dataset=dataset,
            max_trials=max_trials,
            seed=seed,
            samples=samples,
            data_dir=data_dir,
            device=device,
            warm=warm,
        )
        if task is not None or models is not None:
            _not_in_a_race(
                ((name, "model NAME"), (backends, "--backends"), (resume, "--resume"),
                 (shard, "--shard"))
            )  # fmt: skip
            return _race(task, models, search, output, as_json)
        output, search["shard"] = _shard_output(shard, output)
        result = _search(name, search, backends, output, resume)
        _track(result, track, tensorboard)
    if as_json:
        render.print_json(result)
    else:
        _show(result, dataset, output)


@contextlib.contextmanager
def _trials(warm: bool, backends: list[str] | None):
    """Where the trials start: None (each a fresh process), or with `warm` the folder of a
    zoo daemon of the search's own, started before the budget's clock and stopped after."""
    if not warm:
        yield None
        return
    from zoo.tuning import cache
    from zoo.tuning.trial import warm_trials

    render.err.print("Starting the search's zoo daemon (the framework imported once) ...")
    with warm_trials(backends or [cache.backend()], "the search's backends") as folder:
        yield folder


def _not_in_a_race(options_given) -> None:
    for given, flag in options_given:
        if given:
            raise InvalidArgumentError(
                f"A race of models (--task, --models) takes no {flag}.",
                "Leave it out, or tune one model with `zoo tune NAME`.",
            )


def _one_name(names: list[str] | None) -> str | None:
    if names and len(names) > 1:
        raise InvalidArgumentError(
            f"zoo tune takes one model name; received {' '.join(names)}.",
            "Tune one model, race several with --models a,b, or merge shards with "
            "`zoo tune merge FILE... --output F`.",
        )
    return names[0] if names else None


def _shard_output(shard: str | None, output: Path | None):
    """(the shard's own output file, the Shard) of --shard; (output, None) without it."""
    if shard is None:
        return output, None
    from zoo.perf import shard as zshard

    parsed = zshard.parse(shard)
    if output is None:
        raise InvalidArgumentError(
            "A shard of a search is merged from its --output file, and none was given.",
            "Pass --output search.json (each shard writes search-shard-I-of-N.json).",
        )
    return zshard.output_name(output, parsed), parsed


def _merge(files: list[str], output: Path | None, as_json: bool) -> None:
    """`zoo tune merge FILE... --output F`: the shards' searches as one (zoo.tuning.merge),
    written as `zoo tune --output` writes a search; exit 1 when a shard is missing."""
    from zoo import io
    from zoo.results import check_output
    from zoo.tuning import merge as zmerge

    if not files or output is None:
        raise InvalidArgumentError(
            "zoo tune merge needs the shards' files and --output.",
            "For example: zoo tune merge s-shard-0-of-2.json s-shard-1-of-2.json --output s.json",
        )
    loaded = []
    for f in map(Path, files):
        try:
            loaded.append((str(f), json.loads(f.read_text())))
        except (OSError, ValueError) as e:
            raise InvalidArgumentError(
                f"Cannot read {f} as a search's JSON ({type(e).__name__}).",
                "Pass the files that `zoo tune NAME --shard I/N --output F` wrote.",
            ) from None
    check_output(output, False)
    merged = zmerge.merge(loaded)
    result = io.to_jsonable(merged.result)
    if result.get("winner"):
        from zoo.tuning.search import winner_recipe

        result["recipe"] = io.to_jsonable(winner_recipe(result, result["device"]))
    _write(output, result)
    if as_json:
        render.print_json(result)
    else:
        _show(result, result["dataset"], output, cache=False)
    count = len(merged.shards) + len(merged.missing_shards)
    render.err.print(f"Merged {len(merged.shards)} of {count} shard(s) into {output}")
    for i in merged.missing_shards:
        render.note(f"shard {i} of {count} is missing: run it with --shard {i}/{count}.")
    if merged.missing_shards:
        raise typer.Exit(1)


def _track(result: dict[str, Any], track: str | None, tensorboard) -> None:
    """The search to MLflow (its trials nested under it) and its trials to TensorBoard."""
    from zoo import track as ztrack

    parent, trials = ztrack.tune_runs(result)
    if tensorboard is not None:
        ztrack.tensorboard_runs(tensorboard, trials)
        render.err.print(f"TensorBoard: {len(trials)} trials in {tensorboard}", soft_wrap=True)
    if track == "mlflow":
        run_id = ztrack.mlflow_runs(ztrack.experiment(), parent, trials)
        render.err.print(
            f"Logged to MLflow: run {run_id} ({len(trials)} trials nested) in "
            f"{ztrack.experiment()}",
            soft_wrap=True,
        )


def _search(name, search: dict, backends, output, resume) -> dict[str, Any]:
    """`zoo tune NAME`: one model's search (`zoo.tuning.search`), written to `output`."""
    target = search["target"]
    _check(name, target)
    if resume and output is None:
        raise InvalidArgumentError(
            "--resume goes on with the search in --output's trials file; none was given.",
            "Repeat the search's command, --output included, with --resume.",
        )
    budget_s = parse_budget(search["budget"])
    _keras.import_quietly()  # the search loads the data here first: TensorFlow's logs
    from zoo.cli.progress import Budget

    from zoo.tuning.search import tune as run_search

    measured = [b.strip() for b in backends.split(",") if b.strip()] if backends else None
    with (
        _trials(search["warm"], measured) as daemon_dir,
        Budget(f"zoo tune {name}", budget_s) as live,
    ):

        def heard(stage: str, row: dict[str, Any]) -> None:
            tune_view.tune_trial_done(stage, row)
            live.trial_done(stage)

        search = {**search, "daemon_dir": daemon_dir}
        result = _run_search(run_search, name, search, budget_s, measured, output, resume, heard)
    if output is not None:
        _write(output, result)
    return result


def _run_search(run_search, name, search, budget_s, backends, output, resume, heard):
    device = search["device"]
    return run_search(
        name,
        search["dataset"],
        target=search["target"],
        budget_s=budget_s,
        max_trials=search["max_trials"],
        seed=search["seed"],
        samples=search["samples"],
        data_dir=search["data_dir"],
        **({} if device is None else {"device": device}),  # else the library's default
        backends=backends,
        on_trial=heard,
        trials=None if output is None else beside(output, ".trials.jsonl"),
        resume=resume,
        shard=search["shard"],
        daemon_dir=search["daemon_dir"],
    )


def _race(task, models, search: dict, output, as_json) -> None:
    """`zoo tune --task T` / `--models a,b`: the race of models (`zoo.tuning.race`);
    `search` holds the search options shared with one model's search."""
    from zoo.tuning import race as zrace

    names = zrace.race_models(task, models.split(",") if models is not None else None)
    target, dataset, seed, device = (search[k] for k in ("target", "dataset", "seed", "device"))
    if target is None:
        raise InvalidArgumentError(
            "A race of models runs to a target, and none was given.",
            "Pass --target METRIC=VALUE, e.g. --target accuracy=0.9",
        )
    budget_s = parse_budget(search["budget"])
    _keras.import_quietly()
    from zoo.cli.progress import Budget

    with (
        _trials(search["warm"], None) as daemon_dir,
        Budget(f"race of {len(names)} models", budget_s) as live,
    ):

        def heard(model: str, stage: str, row: dict[str, Any]) -> None:
            tune_view.race_trial_done(model, stage, row)
            live.trial_done(model)

        result = zrace.race(
            target=target,
            models=names,
            dataset=dataset,
            budget_s=budget_s,
            max_trials=search["max_trials"],
            seed=seed,
            samples=search["samples"],
            data_dir=search["data_dir"],
            **({} if device is None else {"device": device}),
            on_trial=heard,
            daemon_dir=daemon_dir,
        )
    if output is not None:
        _write(output, result)
    if as_json:
        return render.print_json(result)
    render.show(tune_view.race_table(result))
    winner = result.get("winner")
    if winner is None:
        render.err.print("No model reached the target. Raise --budget or lower the target.")
        return None
    flag = "" if dataset == "synthetic" else f" --dataset {dataset}"
    again = f"zoo train {winner['model']}{flag} --tuned --target {target}"
    if output is not None:
        again += f", or zoo train --recipe {winner_path(output)}"
    render.err.print(
        f"{winner['model']} reached {target} fastest, in {winner['time_to_target_s']:.1f} s "
        f"(one run, on the search seed {seed}; `zoo bench --suite time-to-target --tuned` "
        f"judges it on other seeds). Train with it: {again}",
        soft_wrap=True,
        highlight=False,
    )
    return None


def beside(output: Path, suffix: str) -> Path:
    """A file beside the search's JSON: search.json -> search.recipe.toml, ..."""
    return output.with_name(output.stem + suffix)


def winner_path(output: Path) -> Path:
    """Where the winner's recipe file goes."""
    return beside(output, ".recipe.toml")


def _write(output: Path, result: dict[str, Any]) -> None:
    """The search as JSON and, where a trial reached the target, the winner's recipe."""
    from zoo import io, recipe

    io.write_json(output, result)
    if result.get("recipe"):
        found = recipe.from_dict(result["recipe"], "the winner")
        comment = (
            f"The fastest recipe `zoo tune` found for {found.model} to {found.target} "
            f"on this machine. Run it: zoo train --recipe {winner_path(output)}"
        )
        recipe.write(winner_path(output), found, comment)


def _check(name: str | None, target: str | None) -> None:
    import zoo

    if name is None:
        raise InvalidArgumentError(
            "zoo tune needs a model name.", "For example: zoo tune mlp --target accuracy=0.9"
        )
    zoo.get_spec(name)  # an unknown name fails before anything runs
    if target is None:
        raise InvalidArgumentError(
            "zoo tune races trials to a target, and none was given.",
            f"Pass --target METRIC=VALUE, e.g. zoo tune {name} --target accuracy=0.9",
        )


def _show(
    result: dict[str, Any], dataset: str, output: Path | None = None, cache: bool = True
) -> None:
    render.show(tune_view.tune_table(result))
    for note in tune_view.tune_notes(result):
        render.err.print(note, soft_wrap=True, highlight=False)
    if result.get("winner") and not cache:  # a merge: not this machine's to cache
        render.err.print(
            f"Not cached here (the shards measured their machines). Train with it: "
            f"zoo train --recipe {winner_path(output)}",
            soft_wrap=True,
            highlight=False,
        )
    elif result.get("winner") and result.get("shard"):
        render.err.print(
            "This shard's best, not cached: merge the shards with `zoo tune merge`.",
            soft_wrap=True,
        )
    elif result.get("winner"):
        flag = "" if dataset == "synthetic" else f" --dataset {dataset}"
        kept = result.get("cached") == "kept the earlier, faster winner"
        what = "An earlier search here was faster: kept" if kept else "Cached for this machine"
        again = "" if output is None else f", or zoo train --recipe {winner_path(output)}"
        render.err.print(
            f"{what}. Train with it: zoo train {result['model']}{flag} "
            f"--tuned --target {result['target']}{again}",
            soft_wrap=True,
            highlight=False,
        )


def _show_cached(name: str | None, as_json: bool) -> None:
    from zoo.tuning import cache

    found = cache.entries(name)
    if as_json:
        render.print_json(found)
    elif not found:
        what = f" for {name}" if name else ""
        render.note(f"No tuned recipes{what} on this machine yet. Run: zoo tune NAME --target M=V")
    else:
        render.show(tune_view.tuned_table(found))
