"""`zoo train NAME`: train a model, show progress and metrics, save the run."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import _keras, options, render
from zoo.cli.options import Precision, parse_params


class Jit(str, Enum):
    off = "off"
    on = "on"
    auto = "auto"


class Schedule(str, Enum):
    constant = "constant"
    cosine = "cosine"
    warmup_cosine = "warmup_cosine"


class Strategy(str, Enum):
    none = "none"
    mirrored = "mirrored"
    multi_worker = "multi-worker"
    tpu = "tpu"


class Optimizer(str, Enum):
    sgd = "sgd"
    adam = "adam"
    adamw = "adamw"


def train(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A model name from `zoo list`.")],
    dataset: options.Dataset = "synthetic",
    epochs: Annotated[int | None, typer.Option(min=1, help="Default: the model's recipe.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Default: the recipe.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Default: the recipe.")] = None,
    optimizer: Annotated[
        Optimizer | None,
        typer.Option(help="sgd (momentum 0.9), adam or adamw. Default: the recipe."),
    ] = None,
    seed: options.Seed = 0,
    samples: options.Samples = None,
    val_fraction: Annotated[
        float | None,
        typer.Option(
            help="Part of the training split held out for validation (0: none). Default: "
            "the dataset's own validation split where it has one, else 0.1."
        ),
    ] = None,
    test_fraction: options.TestFraction = 0.2,
    data_dir: options.DataDir = None,
    download: options.Download = False,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="A hyper-parameter, KEY=VALUE (repeatable); see `zoo info`."
        ),
    ] = None,
    schedule: Annotated[
        Schedule,
        typer.Option(help="Learning rate: constant, cosine decay, or 10% warm-up then cosine."),
    ] = Schedule.constant,
    clip_norm: Annotated[
        float | None, typer.Option(help="Clip the global gradient norm to this.")
    ] = None,
    steps_per_execution: Annotated[
        int, typer.Option(min=1, help="Training steps fused into one call of the compiled step.")
    ] = 1,
    early_stopping: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="PATIENCE",
            help="Stop after PATIENCE epochs without a better validation loss; keep the best.",
        ),
    ] = None,
    device: Annotated[
        str, typer.Option(help="auto (a GPU if there is one), cpu, gpu, gpu:N.")
    ] = "auto",
    jit_compile: Annotated[
        Jit,
        typer.Option(
            help="XLA: off, on, or auto (the faster by a measured, cached probe); the result "
            "says what ran."
        ),
    ] = Jit.off,
    precision: Annotated[
        Precision, typer.Option(help="float32, mixed_float16 (loss scaling) or mixed_bfloat16.")
    ] = Precision.float32,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1, help="TensorFlow's intra-op threads (containers often over-report cores)."
        ),
    ] = None,
    deterministic: Annotated[
        bool,
        typer.Option(
            "--deterministic", help="TensorFlow op determinism: identical reruns, slower."
        ),
    ] = False,
    strategy: Annotated[
        Strategy,
        typer.Option(
            help="tf.distribute: none, mirrored (local GPUs or --cpu-devices), multi-worker "
            "(TF_CONFIG) or tpu. --batch-size is the global batch."
        ),
    ] = Strategy.none,
    cpu_devices: Annotated[
        int | None,
        typer.Option(min=1, help="Split the CPU into N logical devices (to try --strategy)."),
    ] = None,
    tpu: Annotated[
        str | None, typer.Option(help="The TPU's name or grpc:// address (--strategy tpu).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Folder for model.keras (best epoch), last.keras, history.csv, result.json."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the interrupted run in --output after its last epoch."
        ),
    ] = False,
    tensorboard: Annotated[
        bool, typer.Option("--tensorboard", help="Write TensorBoard logs in --output.")
    ] = False,
    backend: options.Backend = None,
    as_json: options.Json = False,
) -> None:
    """Train a model and evaluate it on the test split."""
    import zoo

    model_kwargs = parse_params(param or [])
    progress = render.TrainProgress()
    with render.errors():
        zoo.get_spec(name)  # an unknown name fails before the slow import
        _keras.select_backend(backend)
        from zoo.runtime import RunConfig

        run = RunConfig(
            device=device,
            precision=precision.value,
            threads=threads,
            deterministic=deterministic,
            strategy=strategy.value.replace("-", "_"),
            cpu_devices=cpu_devices,
            tpu=tpu,
            jit_compile={"off": False, "on": True, "auto": "auto"}[jit_compile.value],
        )
        _keras.import_quietly(run=run)
        try:
            result = zoo.train(
                name,
                dataset,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                optimizer=optimizer.value if optimizer else None,
                seed=seed,
                samples=samples,
                val_fraction=val_fraction,
                test_fraction=test_fraction,
                data_dir=data_dir,
                download=download,
                output=output,
                resume=resume,
                tensorboard=tensorboard,
                schedule=schedule.value,
                clip_norm=clip_norm,
                steps_per_execution=steps_per_execution,
                early_stopping=early_stopping,
                model_kwargs=model_kwargs,
                run=run,
                progress=progress,
            )
        except KeyboardInterrupt:
            progress.close()
            _interrupted(output, resume)
        finally:
            progress.close()
    if as_json:
        render.print_json(result.to_dict())
        return
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
    render.out.print(
        render.metrics_table(
            f"{result.model} on {_short(result.dataset['name'])} after "
            f"{render.plural(len(result.history), 'epoch')} ({seconds:.1f} s per epoch)"
            + (
                f", best epoch {shown['epoch']}"
                if shown["epoch"] != result.history[-1]["epoch"]
                else ""
            ),
            columns,
            result.optimum,
        )
    )
    if result.paths:
        best = f" (epoch {result.best_epoch})" if result.best_epoch else ""
        render.err.print(
            f"Saved {result.paths['model']}{best}, last.keras, history.csv and result.json "
            f"in {Path(result.paths['model']).parent}",
            soft_wrap=True,
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
