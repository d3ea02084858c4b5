"""`zoo train [NAME]`: train a model, show progress and metrics, save the run.

The command reads: parse the command line -> the run's settings (a recipe file or the
tuned recipe, with the options given on top) -> train -> render. The options of the
recipe, run and data settings are built from their fields (`options.field_options`), so
their help, checks and defaults are the library's.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
import zoo.cli as _cli  # STARTED: read at the run, as the zoo daemon sets it
from zoo.cli import _keras, options, render
from zoo.cli.options import parse_params
from zoo.cli.views import train as train_view
from zoo.cli.views import tune as tune_view

from zoo.errors import InvalidArgumentError
from zoo.recipe import DATA_FIELDS, Data, RecipeFile
from zoo.runtime.config import RUN_FIELDS, RunConfig
from zoo.spec import RECIPE_FIELDS, Recipe

R = options.field_options(Recipe, "the model's recipe, `zoo info NAME --recipe`")
X = options.field_options(RunConfig)  # execution
D = options.field_options(Data)

Name = Annotated[
    str | None,
    typer.Argument(metavar="NAME", help="A model name from `zoo list` (default: --recipe's)."),
]
RecipeOption = Annotated[
    Path | None,
    typer.Option(
        "--recipe",
        metavar="FILE_RUN_OR_PRESET",
        help="Run a recipe: a run folder (its recipe.toml), `zoo info NAME --recipe`'s "
        "TOML, `zoo tune`'s winner, or a shipped preset by name (`zoo list --recipes`). "
        "Options given here go on top.",
    ),
]
Param = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="A hyper-parameter, KEY=VALUE (repeatable); see `zoo info`."
    ),
]
Output = Annotated[
    Path | None,
    typer.Option(
        help="Folder for recipe.toml, model.keras (best epoch), last.keras, history.csv, "
        "result.json."
    ),
]
Resume = Annotated[
    bool,
    typer.Option("--resume", help="Continue the interrupted run in --output after its last epoch."),
]
TensorBoard = Annotated[
    bool, typer.Option("--tensorboard", help="Write TensorBoard logs in --output.")
]
TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        metavar="METRIC=VALUE",
        help="Stop when the validation split reaches it (e.g. accuracy=0.91, rmse=0.9, "
        "perplexity=3.5) and record the time to target; --epochs is then the limit.",
    ),
]
Tuned = Annotated[
    bool,
    typer.Option(
        "--tuned",
        help="Use the recipe `zoo tune` found fastest for this model and dataset on this "
        "machine (options given here still win).",
    ),
]
EvalEvery = Annotated[
    int | None,
    typer.Option(
        min=1, metavar="STEPS", help="Check --target every STEPS steps (default: each epoch)."
    ),
]
CheckFrom = Annotated[
    float | None,
    typer.Option(
        min=0,
        metavar="EPOCHS",
        help="Check --target only after EPOCHS epochs (default 0; 1.5 allowed).",
    ),
]
# zoo.train's options that are neither recipe, run nor data settings.
_GOAL = ("seed", "target", "eval_every", "check_from")


def train(
    ctx: typer.Context,
    name: Name = None,
    recipe: RecipeOption = None,
    dataset: D.dataset = None,
    epochs: R.epochs = None,
    batch_size: R.batch_size = None,
    learning_rate: R.learning_rate = None,
    optimizer: R.optimizer = None,
    seed: options.Seed = 0,
    samples: D.samples = None,
    val_fraction: D.val_fraction = None,
    test_fraction: D.test_fraction = None,
    data_dir: D.data_dir = None,
    download: options.Download = False,
    param: Param = None,
    schedule: R.schedule = None,
    clip_norm: R.clip_norm = None,
    weight_decay: R.weight_decay = None,
    label_smoothing: R.label_smoothing = None,
    early_stopping: R.early_stopping = None,
    steps_per_execution: X.steps_per_execution = None,
    target: TargetOption = None,
    eval_every: EvalEvery = None,
    check_from: CheckFrom = None,
    tuned: Tuned = False,
    device: X.device = None,
    jit_compile: X.jit_compile = None,
    precision: X.precision = None,
    threads: X.threads = None,
    deterministic: X.deterministic = None,
    strategy: X.strategy = None,
    cpu_devices: X.cpu_devices = None,
    tpu: X.tpu = None,
    output: Output = None,
    resume: Resume = False,
    tensorboard: TensorBoard = False,
    backend: X.backend = None,
    track: options.Track = None,
    as_json: options.Json = False,
) -> None:
    """Train a model (or run a --recipe again) and evaluate it on the test split."""
    from zoo import track as ztrack

    with render.errors():
        ztrack.check_tracker(track)
        plan, tuned_from = _plan(ctx, name, recipe, tuned, parse_params(param or []))
        run = _run_config(plan.run)
        if tuned_from is not None:  # said here: a served run may yet go cold at the line above
            _say_tuned(tuned_from)
        outputs = {"output": output, "resume": resume, "tensorboard": tensorboard}
        result = _run(plan, run, {**outputs, "download": download})
        if track == "mlflow":
            run_id = ztrack.mlflow_runs(ztrack.experiment(), ztrack.train_run(result, output))
            render.err.print(f"Logged to MLflow: run {run_id} in {ztrack.experiment()}")
    if as_json:
        render.print_json(result.to_dict())
    else:
        _show(result)


def _plan(ctx: typer.Context, name, path, tuned: bool, params: dict):
    """What to run: the recipe file (or tuned recipe, or the model's defaults) with the
    settings given on the command line on top, and the cache entry of a tuned recipe
    (None for any other).

    Raises:
        ZooError: no model named, an unknown one, a bad recipe file, or nothing tuned.
    """
    import dataclasses

    import zoo

    if path is not None and tuned:
        raise InvalidArgumentError("--recipe and --tuned both name a recipe.", "Use one.")
    given = options.given(ctx, (*RECIPE_FIELDS, *RUN_FIELDS, *DATA_FIELDS, *_GOAL))
    entry = None
    if path is not None:
        from zoo import recipe as zrecipe

        base = zrecipe.read(path, model=name)
    else:
        if name is None:
            raise InvalidArgumentError(
                "zoo train needs a model name, or a --recipe that names one.",
                "For example: zoo train mlp, or zoo train --recipe runs/mlp",
            )
        spec = zoo.get_spec(name)  # an unknown name fails before the slow import
        base = RecipeFile(spec.name, spec.recipe)
        if tuned:
            base, entry = _tuned(base, given)
    changes = {k: v for k, v in given.items() if k in RECIPE_FIELDS}
    if params:
        changes["model_kwargs"] = params  # over the recipe's own
    plan = dataclasses.replace(
        base,
        recipe=base.recipe.replace(**changes),
        run=base.run.replace(**{k: v for k, v in given.items() if k in RUN_FIELDS}),
        data=dataclasses.replace(base.data, **{k: v for k, v in given.items() if k in DATA_FIELDS}),
        **{k: v for k, v in given.items() if k in _GOAL},
    )
    return plan, entry


def _tuned(base: RecipeFile, given: dict[str, Any]) -> tuple[RecipeFile, dict[str, Any]]:
    """The model's recipe file with the recipe and run config `zoo tune` cached for this
    model and dataset on this device kind and backend, and the cache entry they came from.

    Raises:
        ZooError: nothing was tuned for this model and dataset on this machine.
    """
    import dataclasses

    from zoo.errors import ZooError
    from zoo.tuning import cache

    name, dataset = base.model, given.get("dataset", base.data.dataset)
    entry = cache.lookup(name, dataset, given.get("backend"), given.get("device", "auto"))
    if entry is None:
        flag = "" if dataset == "synthetic" else f" --dataset {dataset}"
        raise ZooError(
            f"No recipe was tuned for {name} on {dataset} on this machine "
            f"({given.get('backend') or cache.backend()} backend).",
            f"Run: zoo tune {name}{flag} --target METRIC=VALUE (then --tuned uses it).",
        )
    found = cache.recipe_of(entry)
    # The eval_every it was tuned with checks a target: only where one is given.
    every = found.eval_every if "target" in given else None
    return dataclasses.replace(base, recipe=found.recipe, run=found.run, eval_every=every), entry


def _say_tuned(entry: dict[str, Any]) -> None:
    default = entry.get("default_time_to_target_s")
    versus = "" if default is None else f" vs {default:.1f} s with the default recipe"
    on = "" if entry.get("samples") is None else f" on {entry['samples']:,} samples"
    render.err.print(
        f"Using the settings tuned on this machine on {entry['created'][:10]} (zoo tune"
        f"{on}: {entry['target']} in {entry['time_to_target_s']:.1f} s{versus}): "
        f"{tune_view.settings_text(tune_view.tuned_settings(entry))}.",
        soft_wrap=True,
        highlight=False,
    )


def _run_config(run: RunConfig) -> RunConfig:
    """Selects the run's backend and imports Keras (quietly) once the runtime is set up."""
    _keras.select_backend(run.backend)
    _keras.import_quietly(run=run)
    from zoo.cli.profile import warn_if_emulated

    warn_if_emulated(run.precision, run.device)
    return run


@contextlib.contextmanager
def _interrupts_noted(progress: train_view.TrainProgress):
    """Ctrl-C raises KeyboardInterrupt as Python's own handler does, and is noted in
    `progress`, whose next batch or epoch end raises it again: one raised while Python
    runs a destructor (tf.data drops an iterator at every epoch's end) is printed and
    swallowed there, and the run would train on. Only over Python's default handler, in
    the main thread (a host application's own handling is left alone)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def noted(signum, frame):
        progress.interrupted = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, noted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _run(plan: RecipeFile, run: RunConfig, outputs: dict[str, Any]):
    """zoo.train with a progress display; Ctrl-C says what was kept (exit 130)."""
    import zoo

    progress = train_view.TrainProgress()
    kwargs = {**plan.train_kwargs(), "run": run, **outputs}
    try:
        with _interrupts_noted(progress):
            return zoo.train(plan.model, **kwargs, progress=progress, started=_cli.STARTED)
    except (KeyboardInterrupt, Exception) as e:
        # Ctrl-C raises KeyboardInterrupt in whatever Python frame runs, and where that
        # frame was called from TensorFlow's C++ the error that comes out may be another
        # ("SystemError: ... bad argument to internal function", seen in a test's run):
        # after Ctrl-C it is the interruption all the same.
        if not (isinstance(e, KeyboardInterrupt) or progress.interrupted):
            raise
        progress.close()
        _interrupted(outputs["output"], outputs["resume"])
    finally:
        progress.close()


def _show(result) -> None:
    """The metrics of the tested epoch (train, validation, test) and where the run is."""
    shown = result.history[(result.best_epoch or len(result.history)) - 1]  # what was tested
    train_m = {
        k: v for k, v in shown.items() if k not in ("epoch", "seconds") and not k.startswith("val_")
    }
    val_m = {k[4:]: v for k, v in shown.items() if k.startswith("val_")}
    columns = {
        "train": train_m,
        **({"validation": val_m} if val_m else {}),
        "test": result.test_metrics,
    }
    ran = result.epochs_run  # a last partial pass (a target reached mid-epoch) as a fraction
    seconds = sum(h["seconds"] for h in result.history) / ran
    best = f", best epoch {shown['epoch']}" if shown["epoch"] != result.history[-1]["epoch"] else ""
    title = (
        f"{result.model} on {_short(result.dataset['name'])} after "
        f"{render.plural(ran, 'epoch')} ({seconds:.1f} s per epoch){best}"
    )
    render.out.print(render.metrics_table(title, columns, result.optimum))
    if result.target is not None:
        checks = result.target.get("history") or [{"epoch": len(result.history)}]
        render.out.print(_target_line(result.target, checks[-1]["epoch"]), soft_wrap=True)
    if result.paths:
        epoch = f" (epoch {result.best_epoch})" if result.best_epoch else ""
        render.err.print(
            f"Saved {result.paths['model']}{epoch}, last.keras, history.csv, result.json "
            f"and recipe.toml in {Path(result.paths['model']).parent}",
            soft_wrap=True,
        )


def _target_line(t: dict[str, Any], epochs: float) -> str:
    """Whether the target was reached, and in what time, steps and epochs; how noisy the
    check is where that can be told, with what to do when chance decides it."""
    goal = f"{t['metric']}={t['value']:g}"
    se = t.get("standard_error")
    split = "the validation split"
    if se is not None:
        split += f" ({t['validation_examples']:,} examples, standard error {se:.3f})"
    if not t["reached"]:
        best = "no check" if t["best_validation"] is None else f"best {t['best_validation']:.4g}"
        line = (
            f"Target {goal} not reached on {split} in "
            f"{render.plural(epochs, 'epoch')} ({best}); raise --epochs or try `zoo tune`."
        )
        return line + _noise_note(t)
    test = "" if t["test_metric"] is None else f"; test {t['metric']} {t['test_metric']:.4g}"
    line = (
        f"Reached {goal} on {split} in {t['time_to_target_s']:.1f} s from the "
        f"command's start ({t['train_time_to_target_s']:.1f} s training), "
        f"{t['steps_to_target']} steps = {t['epochs_to_target']:g} epochs{test}."
    )
    line += _noise_note(t)
    if not t.get("phases"):
        return line
    return f"{line}\n{phases_line(t['phases'], warm=t.get('start') == 'warm')}"


def _noise_note(t: dict[str, Any]) -> str:
    """Advice where the validation split is too small for the target to decide the stop."""
    from zoo.training.target import NOISY_SE

    se = t.get("standard_error")
    if se is None or se <= NOISY_SE:
        return ""
    return (
        f"\nNote: at {t['metric']} {t['value']:g} a check on {t['validation_examples']:,} "
        f"validation examples is within {se:.3f} of the truth only about two times in three, "
        "and the run stops at the first check that passes, a lucky one as well: hold out "
        "more (--val-fraction), or check fewer times (--check-from near --epochs)."
    )


def phases_line(phases: dict[str, float | None], warm: bool = False) -> str:
    """Where the time to target went: each phase of `zoo.training.target.PHASES` that
    was measured, in seconds (compilation inside training where it could not be told);
    `warm`: the run was forked from the zoo daemon, the framework already imported."""
    from zoo.training.target import PHASES

    parts = [f"{PHASES[k]} {v:.1f} s" for k, v in phases.items() if v is not None]
    if warm and parts:
        parts[0] += " (warm: the zoo daemon had imported the framework)"
    if phases.get("compile_s") is None:
        parts.append("(compilation inside training: one execution)")
    return "Where the time went: " + ", ".join(parts) + "."


def _interrupted(output: Path | None, resume: bool) -> None:
    """Ctrl-C: say what is kept and how to continue; exit 130."""
    import json
    import shlex
    import sys

    from zoo.training import BACKUP_DIR, STATE_FILE

    state = output / BACKUP_DIR / STATE_FILE if output is not None else None
    if state is None or not state.is_file():
        what = "no epoch had finished" if output is not None else "there was no --output"
        render.err.print(f"[yellow]Interrupted[/] before anything was saved ({what}).")
        raise typer.Exit(130)
    try:
        done = json.loads(state.read_text(encoding="utf-8"))
        epochs = f"{done['epoch']} of {done['config']['epochs']} epochs"
    except (OSError, ValueError, KeyError):
        epochs = "the last completed epoch"
    command = shlex.join(["zoo", *sys.argv[1:]] + ([] if resume else ["--resume"]))
    render.err.print(
        f"[yellow]Interrupted.[/] {output} holds {epochs} (last.keras, model.keras and the "
        f"training state in {output / BACKUP_DIR}). Continue with: {command}",
        soft_wrap=True,
    )
    raise typer.Exit(130)


def _short(dataset: str) -> str:
    return Path(dataset).name if "/" in dataset and Path(dataset).exists() else dataset
