"""`train`: one training run, as a list of named steps.

    prepare: resolve the settings, load and split the data, check the resume state
    fit:     build and compile, callbacks, fit, restore the best epoch, evaluate
    write:   the result record and the run folder's files

Keras is imported inside the steps that train, so importing this module imports no
framework.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from zoo import data as zdata
from zoo import io, registry, runtime, scoring, tasks
from zoo.errors import InvalidArgumentError, TrainingDivergedError
from zoo.recipe import RecipeFile
from zoo.spec import Recipe
from zoo.training import checkpoint, feed
from zoo.training import target as ztarget
from zoo.training.compile import build_model, build_optimizer, compile_model, prebuild
from zoo.training.config import (
    Resolved,
    TrainConfig,
    TrainRequest,
    check_outputs,
    check_target,
    fit_model_kwargs,
    resolve,
)
from zoo.training.results import Progress, TrainResult, dataset_record


def train(
    model: str,
    dataset: str = "synthetic",
    *,
    recipe: Recipe | None = None,
    run: runtime.RunConfig | None = None,
    seed: int = 0,
    samples: int | None = None,
    val_fraction: float | None = None,
    test_fraction: float = 0.2,
    data_dir: str | None = None,
    download: bool = False,
    target: str | None = None,
    eval_every: int | None = None,
    check_from: float | None = None,
    output: str | Path | None = None,
    resume: bool = False,
    tensorboard: bool = False,
    progress: Progress | None = None,
    started: float | None = None,
    **overrides: Any,
) -> TrainResult:
    """Trains a registry model on a dataset of its task and evaluates it on the test split.

    The settings are a `zoo.Recipe` (how to train; default: the model's,
    `zoo.get_spec(name).recipe`) and a `zoo.RunConfig` (how to execute; default:
    `RunConfig()`); keyword `overrides` change their fields by name, so
    `zoo.train("mlp", epochs=1, learning_rate=0.01, steps_per_execution=8)` works (a
    None value keeps the recipe's; `model_kwargs` merge over the recipe's own). The
    fields' docs say what each setting means. The model evaluated, returned and saved as
    model.keras is the epoch with the best validation loss (the training loss without
    validation).

    Args:
        model, dataset: a registry name; a dataset of its task ("synthetic": no download).
        recipe, run: the whole recipe and run config, instead of the defaults.
        seed: seeds the data, the initial weights and the shuffling.
        samples: synthetic training examples (None: the task's default), or at most this
            many examples of a real training split.
        val_fraction: the part of the training split held out for validation (None: the
            dataset's own validation split where it has one, else 0.1; 0: none).
        test_fraction: the test part of data that has no test split (CSV, folders).
        data_dir, download: where TFDS keeps prepared datasets; let TFDS download one.
        target, eval_every, check_from, started: stop when the validation split reaches
            `METRIC=VALUE` (checked each epoch, or every `eval_every` steps; none in the
            first `check_from` epochs); `result.target` records the time from `started`
            (a time.time(); default now), steps and epochs it took.
        output: a folder for model.keras, last.keras (the last epoch), history.csv,
            result.json and recipe.toml (each atomically) and, while it runs, backup/.
        resume: finish the interrupted run in `output` (the same settings are required).
        tensorboard: write TensorBoard logs in `output`/tensorboard.
        progress: receives progress events.
        overrides: fields of `zoo.Recipe` and `zoo.RunConfig`.

    Returns a `TrainResult` (its `keras_model` is the trained model). Raises ZooError for
    a bad name, value or output (an unknown override names the closest field);
    TrainingDivergedError when the loss is no longer finite.
    """
    started = time.time() if started is None else started
    return _train(TrainRequest(**locals()))  # the arguments above, as one record


@dataclasses.dataclass(frozen=True)
class _Job:
    """What a run has settled before it trains."""

    spec: registry.ModelSpec
    task: tasks.Task
    config: TrainConfig
    run: runtime.RunConfig
    data: zdata.Dataset
    split: feed.Split
    folder: checkpoint.RunFolder
    fingerprint: dict[str, Any]  # what --resume must find unchanged
    state: dict[str, Any] | None  # the training state resumed from
    progress: Progress
    request: TrainRequest
    asked: RecipeFile  # the settings as asked, for recipe.toml
    processes: int = 1  # data_parallel over several processes: each feeds its share

    @property
    def done(self) -> int:
        """Epochs completed before this process started."""
        return int(self.state["epoch"]) if self.state else 0

    @property
    def batch(self) -> int:
        """This process's part of the global batch (`config.batch_size`)."""
        return self.config.batch_size // self.processes

    @property
    def eval_batch(self) -> int:
        return (self.task.eval_batch_size or max(self.config.batch_size, 256)) // self.processes


@dataclasses.dataclass(frozen=True)
class _Fitted:
    net: Any
    history: list[dict[str, float]]
    best_epoch: int | None
    test: dict[str, Any]
    seconds: float
    target: dict[str, Any] | None = None


def _train(request: TrainRequest) -> TrainResult:
    # Where the time to a target goes (`zoo.training.target.breakdown`): seconds from the
    # command's start. The framework's import counts with the start.
    import keras  # noqa: F401

    marks = {"imported": time.time() - request.started}
    job = _even_for_replicas(_prepare(request))
    marks["data"] = time.time() - request.started
    with runtime.apply(job.run, job.config.seed, job.config.batch_size) as resolved:
        fitted = _fit(job, resolved, marks)
    result = _result(job, fitted, resolved)
    checkpoint.write_run(job.folder, result, fitted.net, request.tensorboard)
    checkpoint.finish(job.folder)
    return result


def _prepare(request: TrainRequest) -> _Job:
    """Every check that can fail before training, then the data, its split and the state."""
    spec = registry.get_spec(request.model)
    task = tasks.get(spec.task)
    settled = resolve(request, spec)
    config = check_target(request, settled.config, task)
    check_outputs(request)
    run = settled.run
    _check_backend(run)
    # Checked now, created when the first file is due: a run that fails before training
    # leaves nothing behind.
    out_dir = None if request.output is None else io.prepare_output_dir(request.output, keep=False)
    overrides = dict(settled.recipe.model_kwargs)
    data = _load_data(request, spec, task, overrides)
    config = dataclasses.replace(
        config, model_kwargs=fit_model_kwargs(spec, data.model_kwargs, overrides)
    )
    split = feed.split(data, config)
    config = _fill_target_mean(spec, config, split.y, overrides)
    if config.target and split.validation is None:
        raise InvalidArgumentError(
            f"--target is checked on a validation split, and {data.name} has none here.",
            "Use --val-fraction 0.1 (or leave it out).",
        )
    fingerprint = io.to_jsonable(
        {"model": spec.name, "dataset": dataset_record(data), "config": config, "run": run}
    )
    folder = checkpoint.run_folder(out_dir, run)
    state = checkpoint.check_resume(folder, request.resume, fingerprint)
    progress = request.progress or Progress()
    asked = _recipe_file(spec, settled, config)
    return _Job(
        spec, task, config, run, data, split, folder, fingerprint, state, progress, request, asked
    )


def _fill_target_mean(spec, config: TrainConfig, y, overrides: dict) -> TrainConfig:
    """A model that takes `target_mean` (fast_factorization) starts from the mean target
    of the examples it trains on (the validation split left out), unless the recipe or
    the user sets it: a statistic of the training data, as a Normalization layer's
    `adapt`."""
    if "target_mean" not in spec.defaults or overrides.get("target_mean") is not None:
        return config
    mean = round(float(np.mean(y)), 6)
    return dataclasses.replace(config, model_kwargs={**config.model_kwargs, "target_mean": mean})


def _recipe_file(spec, settled: Resolved, config: TrainConfig) -> RecipeFile:
    """What the run was asked, as its recipe.toml will hold it (a dataset that is a path,
    made absolute: the file reruns from any folder)."""
    data = settled.data
    if (
        data.dataset not in ("synthetic", *tasks.get(spec.task).datasets)
        and Path(data.dataset).exists()
    ):
        data = dataclasses.replace(data, dataset=str(Path(data.dataset).resolve()))
    return RecipeFile(
        spec.name,
        settled.recipe,
        settled.run,
        data,
        seed=config.seed,
        target=config.target,
        eval_every=config.eval_every,
        check_from=config.check_from,
    )


def _check_backend(run: runtime.RunConfig) -> None:
    """A run config that names a backend runs on it; Keras runs one per process.

    Raises:
        InvalidArgumentError: Keras runs on another backend here.
    """
    if run.backend is None:
        return
    import keras

    if keras.backend.backend() != run.backend:
        raise InvalidArgumentError(
            f"The run asks for the {run.backend} backend; Keras runs on "
            f"{keras.backend.backend()} in this process.",
            f"Set KERAS_BACKEND={run.backend} before Keras is imported (`zoo train "
            "--backend` does), or leave backend unset.",
        )


def _load_data(request: TrainRequest, spec, task: tasks.Task, overrides: dict) -> zdata.Dataset:
    return zdata.load(
        task.name,
        str(request.dataset),
        seed=request.seed,
        samples=request.samples,
        data_dir=request.data_dir,
        download=request.download,
        test_fraction=request.test_fraction,
        hints={**spec.defaults, **overrides},
    )


def _fit(job: _Job, resolved: dict[str, Any], marks: dict[str, float]) -> _Fitted:
    """Builds, fits and evaluates the model; `resolved` gains what really ran, `marks`
    when the model was built."""
    strategy = resolved.pop("strategy_object", None)
    net = _build_for_run(job, resolved, strategy)
    marks["built"] = time.time() - job.request.started
    if "jit_probe" in resolved:
        marks["xla_probe_s"] = resolved["jit_probe"]["seconds"]
    checkpoint.write_recipe(job.folder, _as_run(job.asked, resolved))
    # Under XLA a last, smaller batch would compile a second program every epoch.
    drop = bool(resolved["jit_compile"]) and len(job.split.y) >= job.batch
    _announce(job, net, drop)
    options = _data_options(job.run)
    validation = _validation_feed(job, net, options)
    callbacks = _callbacks(job, _steps_per_epoch(job, drop), validation)
    seconds = _fit_epochs(job, net, callbacks.all, drop, options, validation)
    if callbacks.stop.where is not None:
        raise _diverged(callbacks.stop.where, job.config, job.folder.path)
    history, best_epoch = callbacks.progress.rows, callbacks.checkpoints.best_epoch
    reached = callbacks.target is not None and callbacks.target.reached_at is not None
    if not reached:  # the model that reached a target is the one kept and tested
        _restore_best(job, net, history, callbacks.checkpoints)
    job.progress.on_evaluate_begin(job.data.num_test * job.processes)
    test = net.evaluate(
        **feed.feed(job.data.x_test, job.data.y_test, job.eval_batch, options=options),
        return_dict=True,
        verbose=0,
    )
    test.update(
        scoring.score(job.task, net, job.data.x_test, job.data.y_test, batch_size=job.eval_batch,
                      vocabulary=job.data.vocabulary)
    )  # fmt: skip
    target = _target_record(callbacks, test, marks, _validation_count(job))
    return _Fitted(net, history, best_epoch, test, seconds, target)


def _as_run(asked: RecipeFile, resolved: dict[str, Any]) -> RecipeFile:
    """The recipe file that reruns this run exactly: the backend and XLA setting that
    really ran in place of unset or "auto"."""
    run = asked.run.replace(backend=resolved["backend"], jit_compile=resolved["jit_compile"])
    return dataclasses.replace(asked, run=run)


def _target_record(callbacks, test: dict[str, Any], marks, counted) -> dict[str, Any] | None:
    check = callbacks.target
    if check is None:
        return None
    metrics = {k: float(v) for k, v in test.items()}
    return ztarget.record(check.target, check.reached_at, check.checks, metrics, marks, counted)


def _validation_count(job: _Job) -> tuple[int, bool] | None:
    """The validation examples the checks score (every process's share) and whether each
    has one label (a classifier's: its accuracy is then a proportion of the examples)."""
    if job.split.validation is None:
        return None
    labels = np.asarray(job.split.validation[1])
    return len(labels) * job.processes, labels.ndim == 1


def _even_for_replicas(job: _Job) -> _Job:
    """Under keras.distribution's data_parallel every batch is split over the devices, the
    last, partial one of an epoch or an evaluation too: each split loses its last examples
    (fewer than the device count) to a multiple of it (with the batch a multiple of it, so
    is every batch), and the record says how many. Over several processes (hosts), each
    then keeps every P-th example of each split from its index on and feeds that share
    of every global batch (Keras assembles the global batch from the processes' shares)."""
    if job.run.strategy != "data_parallel":
        return job
    from zoo.runtime import distribute

    n, (index, count) = distribute.device_count(job.run), distribute.process_of()
    if n == 1:
        return job
    split, data, left = job.split, job.data, {}
    (x, y), left["train"] = feed.even(split.x, split.y, n)
    split = split._replace(x=feed.take(x, slice(index, None, count)), y=y[index::count])
    if split.validation is not None:
        (vx, vy), left["validation"] = feed.even(*split.validation, n)
        vx, vy = feed.take(vx, slice(index, None, count)), vy[index::count]
        split = split._replace(validation=(vx, vy), info={**split.info, "examples": len(vy)})
    (x_test, y_test), left["test"] = feed.even(data.x_test, data.y_test, n)
    x_test, y_test = feed.take(x_test, slice(index, None, count)), y_test[index::count]
    data = dataclasses.replace(data, x_test=x_test, y_test=y_test)
    info = {**split.info, "left_out_for_replicas": left}
    if count > 1:
        info["process"] = {"index": index, "count": count}
    return dataclasses.replace(job, split=split._replace(info=info), data=data, processes=count)


def _steps_per_epoch(job: _Job, drop: bool) -> int:
    num_train, batch_size = len(job.split.y), job.batch
    return num_train // batch_size if drop else -(-num_train // batch_size)


def _build_for_run(job: _Job, resolved: dict[str, Any], strategy):
    """The compiled model; jit_compile="auto" is first resolved by the XLA probe."""
    import keras

    run = job.run
    if run.jit_compile == "auto" and strategy is None and keras.backend.backend() == "tensorflow":
        t0 = time.perf_counter()
        run, probe = _probe_jit(job)
        resolved["jit_probe"] = {**probe, "seconds": round(time.perf_counter() - t0, 4)}
    total_steps = math.ceil(job.config.epochs * -(-len(job.split.y) // job.batch))
    from zoo.runtime import distribute

    with distribute.indivisible_as_error(run):
        net = _build(job.spec, job.task, job.config, run, total_steps)
    sharded = distribute.check_sharded(net, run)  # model_parallel: the weights it split
    if sharded:
        resolved["sharded_weights"] = sharded
    resolved["jit_compile"] = bool(net.jit_compile)  # what Keras really compiled
    resolved["steps_per_execution"] = run.steps_per_execution
    resolved["backend"] = keras.backend.backend()
    if strategy is not None:
        distribute.prepare_model(net, strategy, job.split.x, job.split.y)
    else:
        prebuild(net, job.split.x, job.split.y)
    return net


def _build(spec, task: tasks.Task, config: TrainConfig, run: runtime.RunConfig, total_steps):
    """The compiled model, built exactly as `zoo.perf` builds what it times."""
    net = build_model(spec.name, config.model_kwargs, run.precision)
    optimizer = build_optimizer(
        config.optimizer,
        config.learning_rate,
        schedule=config.schedule,
        total_steps=total_steps,
        clip_norm=config.clip_norm,
        weight_decay=config.weight_decay,
    )
    return compile_model(
        net,
        task,
        optimizer,
        precision=run.precision,
        jit_compile=run.jit_compile,
        steps_per_execution=run.steps_per_execution,
        label_smoothing=config.label_smoothing,
    )


def _probe_jit(job: _Job) -> tuple[runtime.RunConfig, dict[str, Any]]:
    """Resolves jit_compile="auto" to the faster of graph and XLA for this model, batch
    size, device and precision (`zoo.runtime.autojit`: measured once, then cached)."""
    import keras

    from zoo.runtime import autojit

    config, run, split = job.config, job.run, job.split
    take = np.arange(min(config.batch_size, len(split.y)))
    x = keras.tree.map_structure(keras.ops.convert_to_tensor, feed.take(split.x, take))
    y = keras.ops.convert_to_tensor(split.y[take])
    key = autojit.cache_key(
        job.spec.name, config.model_kwargs, config.batch_size, run.device, run.precision
    )

    def build(jit):
        net = _build(job.spec, job.task, config, dataclasses.replace(run, jit_compile=jit), 1)
        prebuild(net, x, y)
        return net

    probe = autojit.choose(build, x, y, key=key)
    runtime.set_seed(config.seed)  # the probe's models drew from the seed
    return dataclasses.replace(run, jit_compile=probe["jit_compile"]), probe


def _announce(job: _Job, net, drop: bool) -> None:
    """Tells `progress` what is about to train."""
    # over several processes, each holds an equal share: the counts are the job's
    num_train, steps, share = len(job.split.y), _steps_per_epoch(job, drop), job.processes
    job.progress.on_train_begin(
        {
            "model": job.spec.name,
            "dataset": job.data.name,
            "num_params": net.count_params(),
            "epochs": job.config.epochs,
            "initial_epoch": job.done,
            "steps_per_epoch": steps,
            "num_train": num_train * share,
            "num_val": job.split.info["examples"] * share,
            "num_test": job.data.num_test * share,
        }
    )


def _validation_feed(job: _Job, net, options) -> dict[str, Any] | None:
    """How the validation split reaches `fit` and the target checks: one feed for both,
    read many times (`feed.feed(repeated=True)`), in batches sized to the model
    (`feed.validation_batch`) unless the task fixes its evaluation batch or the batch is
    split over devices or processes."""
    if job.split.validation is None:
        return None
    batch = job.eval_batch
    if not job.task.eval_batch_size and job.run.strategy == "none" and job.processes == 1:
        batch = feed.validation_batch(net, batch, len(job.split.validation[1]))
    return feed.feed(*job.split.validation, batch, options=options, repeated=True)


def _callbacks(job: _Job, steps_per_epoch: int, validation: dict[str, Any] | None):
    from zoo.training import callbacks  # imports Keras

    made = callbacks.for_run(
        job.progress,
        job.folder,
        monitor="val_loss" if job.split.validation else "loss",
        fingerprint=job.fingerprint,
        state=job.state,
        early_stopping=job.config.early_stopping,
        tensorboard=job.request.tensorboard,
        stop_after=_stop_after(job.config.epochs, steps_per_epoch, callbacks),
    )
    if job.config.target:
        made.target = callbacks.TargetCheck(
            ztarget.parse(job.config.target, job.task),
            job.request.started or time.time(),
            steps_per_epoch,
            job.done,
            eval_every=job.config.eval_every,
            check_from=job.config.check_from,
            validation=validation if job.config.eval_every else None,
        )
        made.checkpoints.target = made.target
    return made


def _stop_after(epochs: float, steps_per_epoch: int, callbacks):
    """A fractional `epochs` (1.5) ends its last pass at that share of its steps."""
    if float(epochs).is_integer():
        return None
    return callbacks.StopAfter(max(1, round(epochs * steps_per_epoch)), steps_per_epoch)


def _data_options(run: runtime.RunConfig):
    """tf.data options for the feeds: under multi-worker, how the data is sharded."""
    if run.strategy != "multi_worker":
        return None
    from zoo.runtime import distribute

    return distribute.shard_data_options()


def _fit_epochs(job: _Job, net, callbacks: list, drop: bool, options, v) -> float:
    """Runs the epochs not done yet, validating through the feed `v`; returns the seconds
    it took."""
    config, split = job.config, job.split
    validation = {}
    if v is not None:
        validation = (
            {"validation_data": v["x"]}
            if "y" not in v
            else {"validation_data": (v["x"], v["y"]), "validation_batch_size": v["batch_size"]}
        )
    if job.folder.path is not None:
        job.folder.path.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if job.done < config.epochs:
        net.fit(
            **feed.feed(
                split.x,
                split.y,
                job.batch,
                shuffle=True,
                seed=config.seed,
                drop_remainder=drop,
                options=options,
            ),
            **validation,
            epochs=math.ceil(config.epochs),
            callbacks=callbacks,
            verbose=0,
        )
    elif job.state is not None:  # every epoch was done: the backup's weights are the model
        net.load_weights(job.folder.backup / job.state["weights"])
    return time.perf_counter() - t0


def _diverged(where, config: TrainConfig, out_dir: Path | None) -> TrainingDivergedError:
    epoch, step, loss = where
    kept = (
        f"The last good checkpoint is {out_dir / checkpoint.LAST_FILE} (epoch {epoch - 1})."
        if out_dir is not None and epoch > 1
        else "Nothing was saved."
    )
    return TrainingDivergedError(
        f"The training loss became {loss} at step {step} of epoch {epoch}; training stopped. "
        + kept,
        f"Likely causes: the learning rate ({config.learning_rate}) is too high (try a "
        "tenth, --clip-norm 1.0, or --schedule warmup_cosine), or float16 overflow "
        "(use --precision mixed_bfloat16 or float32).",
    )


def _restore_best(job: _Job, net, history: list, checkpoints) -> None:
    """Gives `net` the weights of the best epoch, where that is not the last."""
    best_epoch = checkpoints.best_epoch
    if best_epoch is None or best_epoch == history[-1]["epoch"]:
        return
    if checkpoints.best_weights is not None:
        net.set_weights(checkpoints.best_weights)
    else:  # the best epoch came before a resume: its weights are in model.keras
        net.load_weights(job.folder.path / checkpoint.MODEL_FILE)


def _result(job: _Job, fitted: _Fitted, resolved: dict[str, Any]) -> TrainResult:
    return TrainResult(
        model=job.spec.name,
        dataset=dataset_record(job.data),
        config=job.config,
        history=fitted.history,
        test_metrics={k: float(v) for k, v in fitted.test.items()},
        optimum=job.data.optimum,
        num_params=int(fitted.net.count_params()),
        train_seconds=fitted.seconds,
        env=io.environment(),
        run=resolved,
        validation=job.split.info,
        best_epoch=fitted.best_epoch,
        resumed_from=job.done if job.request.resume else None,
        target=fitted.target,
        keras_model=fitted.net,
    )
