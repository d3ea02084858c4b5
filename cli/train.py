"""`zoo train NAME`: train a model, show progress and metrics, save the run.

The command reads: parse the command line -> the run's settings -> train -> render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from zoo.cli import STARTED, _keras, options, render
from zoo.cli.options import Precision, choice_enum, parse_params

from zoo.choices import JIT_MODES, OPTIMIZERS, SCHEDULES, STRATEGIES

Optimizer = choice_enum("Optimizer", OPTIMIZERS)
Schedule = choice_enum("Schedule", SCHEDULES)
Strategy = choice_enum("Strategy", tuple(s.replace("_", "-") for s in STRATEGIES))  # multi-worker
Jit = choice_enum("Jit", JIT_MODES)

# The options, one alias each, in the order of --help.
Name = Annotated[str, typer.Argument(metavar="NAME", help="A model name from `zoo list`.")]
Epochs = Annotated[int | None, typer.Option(min=1, help="Default: the model's recipe.")]
BatchSize = Annotated[int | None, typer.Option(min=1, help="Default: the recipe.")]
LearningRate = Annotated[float | None, typer.Option(help="Default: the recipe.")]
OptimizerOption = Annotated[
    Optimizer | None, typer.Option(help="sgd (momentum 0.9), adam or adamw. Default: the recipe.")
]
ValFraction = Annotated[
    float | None,
    typer.Option(
        help="Part of the training split held out for validation (0: none). Default: "
        "the dataset's own validation split where it has one, else 0.1."
    ),
]
Param = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="A hyper-parameter, KEY=VALUE (repeatable); see `zoo info`."
    ),
]
ScheduleOption = Annotated[
    Schedule,
    typer.Option(
        help="Learning rate: constant, cosine decay, warmup_cosine (10% warm-up from 0, then "
        "cosine) or one_cycle (30% from lr/25 up to lr, then cosine)."
    ),
]
ClipNorm = Annotated[float | None, typer.Option(help="Clip the global gradient norm to this.")]
WeightDecay = Annotated[
    float | None,
    typer.Option(help="Decoupled weight decay. Default: the optimizer's (adamw 0.004, else 0)."),
]
LabelSmoothing = Annotated[
    float | None, typer.Option(help="Smooth the class labels by this, in [0, 1) (classifiers).")
]
StepsPerExecution = Annotated[
    int, typer.Option(min=1, help="Training steps fused into one call of the compiled step.")
]
EarlyStopping = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="PATIENCE",
        help="Stop after PATIENCE epochs without a better validation loss; keep the best.",
    ),
]
Device = Annotated[str, typer.Option(help="auto (a GPU if there is one), cpu, gpu, gpu:N.")]
JitOption = Annotated[
    Jit,
    typer.Option(
        help="XLA: off, on, or auto (the faster by a measured, cached probe); the result "
        "says what ran."
    ),
]
PrecisionOption = Annotated[
    Precision, typer.Option(help="float32, mixed_float16 (loss scaling) or mixed_bfloat16.")
]
Threads = Annotated[
    int | None,
    typer.Option(min=1, help="TensorFlow's intra-op threads (containers often over-report cores)."),
]
Deterministic = Annotated[
    bool,
    typer.Option("--deterministic", help="TensorFlow op determinism: identical reruns, slower."),
]
StrategyOption = Annotated[
    Strategy,
    typer.Option(
        help="tf.distribute: none, mirrored (local GPUs or --cpu-devices), multi-worker "
        "(TF_CONFIG) or tpu. --batch-size is the global batch."
    ),
]
CpuDevices = Annotated[
    int | None,
    typer.Option(min=1, help="Split the CPU into N logical devices (to try --strategy)."),
]
Tpu = Annotated[
    str | None, typer.Option(help="The TPU's name or grpc:// address (--strategy tpu).")
]
Output = Annotated[
    Path | None,
    typer.Option(help="Folder for model.keras (best epoch), last.keras, history.csv, result.json."),
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
        help="Use the settings `zoo tune` found fastest for this model and dataset on this "
        "machine (flags given here still win).",
    ),
]
EvalEvery = Annotated[
    int | None,
    typer.Option(
        min=1, metavar="STEPS", help="Check --target every STEPS steps (default: each epoch)."
    ),
]

# Command-line values that zoo.train takes as they are.
_PASSED = (
    "epochs",
    "batch_size",
    "learning_rate",
    "seed",
    "samples",
    "val_fraction",
    "test_fraction",
    "data_dir",
    "download",
    "output",
    "resume",
    "tensorboard",
    "clip_norm",
    "weight_decay",
    "label_smoothing",
    "steps_per_execution",
    "early_stopping",
    "target",
    "eval_every",
)


def train(
    ctx: typer.Context,
    name: Name,
    dataset: options.Dataset = "synthetic",
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    learning_rate: LearningRate = None,
    optimizer: OptimizerOption = None,
    seed: options.Seed = 0,
    samples: options.Samples = None,
    val_fraction: ValFraction = None,
    test_fraction: options.TestFraction = 0.2,
    data_dir: options.DataDir = None,
    download: options.Download = False,
    param: Param = None,
    schedule: ScheduleOption = Schedule.constant,
    clip_norm: ClipNorm = None,
    weight_decay: WeightDecay = None,
    label_smoothing: LabelSmoothing = None,
    steps_per_execution: StepsPerExecution = 1,
    early_stopping: EarlyStopping = None,
    target: TargetOption = None,
    eval_every: EvalEvery = None,
    tuned: Tuned = False,
    device: Device = "auto",
    jit_compile: JitOption = Jit.off,
    precision: PrecisionOption = Precision.float32,
    threads: Threads = None,
    deterministic: Deterministic = False,
    strategy: StrategyOption = Strategy.none,
    cpu_devices: CpuDevices = None,
    tpu: Tpu = None,
    output: Output = None,
    resume: Resume = False,
    tensorboard: TensorBoard = False,
    backend: options.Backend = None,
    as_json: options.Json = False,
) -> None:
    """Train a model and evaluate it on the test split."""
    args = dict(locals())  # the command line, by parameter name
    with render.errors():
        if tuned:
            given = {k for k in _TUNABLE if ctx.get_parameter_source(k).name == "COMMANDLINE"}
            args = _apply_tuned(args, given)
        kwargs = _train_kwargs(args)
        run = _run_config(args)
        result = _run(name, dataset, run, kwargs)
    if as_json:
        render.print_json(result.to_dict())
    else:
        _show(result)


# The options a tuned recipe sets where the command line does not.
_TUNABLE = (
    "epochs",
    "batch_size",
    "learning_rate",
    "optimizer",
    "schedule",
    "weight_decay",
    "label_smoothing",
    "steps_per_execution",
    "threads",
    "jit_compile",
    "precision",
    "eval_every",
)


def _apply_tuned(args: dict[str, Any], given: set[str]) -> dict[str, Any]:
    """The command line with the cached tuned settings where an option was left unset;
    says where they came from.

    Raises:
        ZooError: nothing was tuned for this model and dataset on this machine.
    """
    from zoo.errors import ZooError
    from zoo.tuning import cache

    name, dataset = args["name"], args["dataset"]
    entry = cache.lookup(name, dataset, args["backend"], args["device"])
    if entry is None:
        flag = "" if dataset == "synthetic" else f" --dataset {dataset}"
        raise ZooError(
            f"No recipe was tuned for {name} on {dataset} on this machine "
            f"({args['backend'] or cache.backend()} backend).",
            f"Run: zoo tune {name}{flag} --target METRIC=VALUE (then --tuned uses it).",
        )
    tuned = {k: v for k, v in entry["settings"].items() if k != "backend"}
    if args["target"] is None:
        tuned.pop("eval_every", None)  # how often a target is checked: none is given
    tuned["jit_compile"] = Jit.on if tuned.get("jit_compile") else Jit.off
    for key, enum in (("optimizer", Optimizer), ("schedule", Schedule), ("precision", Precision)):
        if tuned.get(key) is not None:
            tuned[key] = enum(tuned[key])
    out = dict(args)
    if args["backend"] is None and entry["backend"] != cache.backend():
        out["backend"] = entry["backend"]  # the backend the settings were found on
    for key in _TUNABLE:
        if key in tuned and key not in given:
            out[key] = tuned[key]
    params = [f"{k}={v}" for k, v in (tuned.get("model_kwargs") or {}).items()]
    out["param"] = params + list(args["param"] or [])  # the command line's come last: win
    _say_tuned(entry)
    return out


def _say_tuned(entry: dict[str, Any]) -> None:
    default = entry.get("default_time_to_target_s")
    versus = "" if default is None else f" vs {default:.1f} s with the default recipe"
    on = "" if entry.get("samples") is None else f" on {entry['samples']:,} samples"
    render.err.print(
        f"Using the settings tuned on this machine on {entry['created'][:10]} (zoo tune"
        f"{on}: {entry['target']} in {entry['time_to_target_s']:.1f} s{versus}): "
        f"{render.settings_text(entry['settings'])}.",
        soft_wrap=True,
        highlight=False,
    )


def _train_kwargs(args: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of zoo.train that the command line sets."""
    return {
        **{k: args[k] for k in _PASSED},
        "optimizer": args["optimizer"].value if args["optimizer"] else None,
        "schedule": args["schedule"].value,
        "model_kwargs": parse_params(args["param"] or []),
        "started": STARTED,
    }


def _run_config(args: dict[str, Any]):
    """Checks the name, selects the backend, and returns the RunConfig; Keras is imported
    (quietly) once the runtime is set up."""
    import zoo

    zoo.get_spec(args["name"])  # an unknown name fails before the slow import
    _keras.select_backend(args["backend"])
    from zoo.runtime import RunConfig

    run = RunConfig(
        device=args["device"],
        precision=args["precision"].value,
        threads=args["threads"],
        deterministic=args["deterministic"],
        strategy=args["strategy"].value.replace("-", "_"),
        cpu_devices=args["cpu_devices"],
        tpu=args["tpu"],
        jit_compile={"off": False, "on": True, "auto": "auto"}[args["jit_compile"].value],
    )
    _keras.import_quietly(run=run)
    from zoo.cli.profile import warn_if_emulated

    warn_if_emulated(run.precision, run.device)
    return run


def _run(name: str, dataset: str, run, kwargs: dict[str, Any]):
    """zoo.train with a progress display; Ctrl-C says what was kept (exit 130)."""
    import zoo

    progress = render.TrainProgress()
    try:
        return zoo.train(name, dataset, **kwargs, run=run, progress=progress)
    except KeyboardInterrupt:
        progress.close()
        _interrupted(kwargs["output"], kwargs["resume"])
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
    seconds = sum(h["seconds"] for h in result.history) / len(result.history)
    best = f", best epoch {shown['epoch']}" if shown["epoch"] != result.history[-1]["epoch"] else ""
    title = (
        f"{result.model} on {_short(result.dataset['name'])} after "
        f"{render.plural(len(result.history), 'epoch')} ({seconds:.1f} s per epoch){best}"
    )
    render.out.print(render.metrics_table(title, columns, result.optimum))
    if result.target is not None:
        render.out.print(_target_line(result.target, len(result.history)), soft_wrap=True)
    if result.paths:
        epoch = f" (epoch {result.best_epoch})" if result.best_epoch else ""
        render.err.print(
            f"Saved {result.paths['model']}{epoch}, last.keras, history.csv and result.json "
            f"in {Path(result.paths['model']).parent}",
            soft_wrap=True,
        )


def _target_line(t: dict[str, Any], epochs: int) -> str:
    """Whether the target was reached, and in what time, steps and epochs."""
    goal = f"{t['metric']}={t['value']:g}"
    if not t["reached"]:
        best = "no check" if t["best_validation"] is None else f"best {t['best_validation']:.4g}"
        return (
            f"Target {goal} not reached on the validation split in "
            f"{render.plural(epochs, 'epoch')} ({best}); raise --epochs or try `zoo tune`."
        )
    test = "" if t["test_metric"] is None else f"; test {t['metric']} {t['test_metric']:.4g}"
    return (
        f"Reached {goal} on the validation split in {t['time_to_target_s']:.1f} s from the "
        f"command's start ({t['train_time_to_target_s']:.1f} s training), "
        f"{t['steps_to_target']} steps = {t['epochs_to_target']:g} epochs{test}."
    )


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
