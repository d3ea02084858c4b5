"""Training and evaluation of zoo models: `train` and `evaluate` return result records.

The library never prints: progress reaches the caller through a `Progress` object whose
methods are called at the start, after each batch and after each epoch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo import data as zdata
from zoo import io, registry, runtime, tasks
from zoo.errors import (
    DataError,
    InvalidArgumentError,
    ModelFileError,
    TrainingDivergedError,
    ZooError,
)
from zoo.training.compile import build_model, build_optimizer, compile_model

MODEL_FILE = "model.keras"  # the best epoch by the validation loss (else the last)
LAST_FILE = "last.keras"  # the last completed epoch
RESULT_FILE = "result.json"
HISTORY_FILE = "history.csv"
BACKUP_DIR = "backup"  # the training state for --resume, removed when the run finishes
STATE_FILE = "state.json"
TENSORBOARD_DIR = "tensorboard"


class Progress:
    """Receives training progress; subclass it and override what you need."""

    def on_train_begin(self, info: dict[str, Any]) -> None:
        """`info` has model, dataset, num_params, epochs, steps_per_epoch, num_train."""

    def on_batch_end(self, epoch: int, step: int, logs: dict[str, float]) -> None:
        """After each training batch; `epoch` and `step` count from 1."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """After each epoch, with its train and validation metrics and `seconds`."""

    def on_evaluate_begin(self, num_examples: int) -> None:
        """Before the test split is evaluated."""


@dataclass(frozen=True)
class TrainConfig:
    """The resolved settings of one training run."""

    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str  # sgd (momentum 0.9), adam or adamw
    seed: int = 0
    val_fraction: float | None = None  # of the training split (None: the dataset's own
    # validation split where it has one, else 0.1)
    schedule: str = "constant"  # constant, cosine, or warmup_cosine (10% linear warm-up)
    clip_norm: float | None = None  # clip the global gradient norm to this
    steps_per_execution: int = 1  # training steps fused into one call of the compiled step
    early_stopping: int | None = None  # patience in epochs on the validation loss
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # the factory's arguments


@dataclass
class TrainResult:
    """What `train` returns and writes as result.json."""

    model: str
    dataset: dict[str, Any]  # name and the parameters that regenerate it
    config: TrainConfig
    history: list[dict[str, float]]  # one entry per epoch
    test_metrics: dict[str, float]
    optimum: dict[str, float]  # best expected test metrics on this data, where known
    num_params: int
    train_seconds: float
    env: dict[str, Any]
    paths: dict[str, str] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)  # resolved: device, XLA, precision...
    validation: dict[str, Any] = field(default_factory=dict)  # source and examples
    best_epoch: int | None = None  # the epoch whose weights were evaluated and saved
    resumed_from: int | None = None  # the epochs already done when --resume took over
    keras_model: Any = field(default=None, repr=False, metadata={"json": False})

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


@dataclass
class EvalResult:
    """What `evaluate` returns."""

    model: str
    path: str
    dataset: dict[str, Any]
    metrics: dict[str, float]
    optimum: dict[str, float]
    num_examples: int

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def _positive(name: str, value, kind=int):
    allowed = (int, float) if kind is float else int
    if isinstance(value, bool) or not isinstance(value, allowed) or value <= 0:
        what = "number" if kind is float else "integer"
        raise InvalidArgumentError(f"{name} must be a positive {what}; received: {name}={value!r}.")
    return kind(value)


from zoo.choices import SCHEDULES  # noqa: E402  (re-exported; split pending)


def _feed(
    x,
    y,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
    options=None,
) -> dict[str, Any]:
    """The arguments of `fit` / `evaluate` that feed (x, y): through the tf.data pipeline on
    the TensorFlow backend, as arrays (shuffled by Keras) on the others."""
    import keras

    if keras.backend.backend() == "tensorflow":
        from zoo.data import pipeline

        ds = pipeline.make(
            x, y, batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder
        )
        if options is not None:  # tf.data options, e.g. sharding across workers
            ds = ds.with_options(options)
        return {"x": ds, "shuffle": False} if shuffle else {"x": ds}  # the dataset shuffles
    return {"x": x, "y": y, "batch_size": batch_size, **({"shuffle": True} if shuffle else {})}


def _take(x, idx):
    return {k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]


class _KerasProgress:
    """Adapts a `Progress` to a Keras callback and times each epoch."""

    def __new__(cls, progress: Progress):
        import keras

        class Callback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.rows: list[dict[str, float]] = []  # the history, one row per epoch

            def on_epoch_begin(self, epoch, logs=None):
                self._epoch, self._t0 = epoch + 1, time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                progress.on_batch_end(self._epoch, batch + 1, dict(logs or {}))

            def on_epoch_end(self, epoch, logs=None):
                seconds = time.perf_counter() - self._t0
                values = {k: float(v) for k, v in (logs or {}).items()}
                self.rows.append({"epoch": epoch + 1, **values, "seconds": seconds})
                progress.on_epoch_end(epoch + 1, {**values, "seconds": seconds})

        return Callback()


class _StopOnNonFinite:
    """Stops training at the first NaN or infinite batch loss and remembers where."""

    def __new__(cls):
        import keras

        class Callback(keras.callbacks.Callback):  # Keras' TerminateOnNaN prints
            where: tuple[int, int, float] | None = None

            def on_epoch_begin(self, epoch, logs=None):
                self._epoch = epoch + 1

            def on_train_batch_end(self, batch, logs=None):
                loss = (logs or {}).get("loss")
                if loss is not None and not np.isfinite(float(loss)) and self.where is None:
                    self.where = (self._epoch, batch + 1, float(loss))
                    self.model.stop_training = True

        return Callback()


class _Checkpoints:
    """Tracks the best epoch by `monitor` (its weights kept in memory) and, where `out_dir`
    is given, writes last.keras every epoch, model.keras when the epoch is the best so
    far, and history.csv, each atomically. An epoch whose loss is not finite is never
    saved, so the files always hold the last good state."""

    def __new__(cls, monitor: str, out_dir: Path | None, rows: list, best: float, best_epoch):
        import keras

        class Callback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.best, self.best_epoch, self.best_weights = best, best_epoch, None

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                if not np.isfinite(float(logs.get("loss", np.nan))):
                    return
                value = float(logs.get(monitor, logs["loss"]))
                improved = np.isfinite(value) and (self.best_epoch is None or value < self.best)
                if improved:
                    self.best, self.best_epoch = value, epoch + 1
                    self.best_weights = self.model.get_weights()
                if out_dir is None:
                    return
                last = out_dir / LAST_FILE
                with io.atomic_path(last, suffix=".keras") as tmp:
                    self.model.save(tmp)
                if improved:
                    with io.atomic_path(out_dir / MODEL_FILE, suffix=".keras") as tmp:
                        tmp.write_bytes(last.read_bytes())
                _write_history(out_dir / HISTORY_FILE, rows)

        return Callback()


class _Backup:
    """Keras' BackupAndRestore, made crash-safe: each epoch's weights (with the optimizer
    state) go to a new file, then state.json, written atomically, points at it and holds
    the epoch, the history so far and the best epoch. A kill at any moment leaves a
    state.json that names a complete weights file, so `--resume` restarts after the last
    completed epoch."""

    def __new__(cls, backup_dir: Path, state_of, restored: dict[str, Any] | None):
        import keras

        class Callback(keras.callbacks.BackupAndRestore):
            def __init__(self):
                super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)

            def on_epoch_end(self, epoch, logs=None):
                if np.isfinite(float((logs or {}).get("loss", np.nan))):  # keep the last good
                    super().on_epoch_end(epoch, logs)

            def _save_model(self):
                backup_dir.mkdir(parents=True, exist_ok=True)
                weights = backup_dir / f"epoch-{self._current_epoch}.weights.h5"
                with io.atomic_path(weights, suffix=".weights.h5") as tmp:
                    self.model.save_weights(tmp)
                io.write_json(
                    backup_dir / STATE_FILE,
                    {**state_of(), "epoch": self._current_epoch, "weights": weights.name},
                )
                for old in backup_dir.glob("epoch-*.weights.h5"):
                    if old != weights:
                        old.unlink(missing_ok=True)

            def _load_model(self):  # the state train() has read and checked, if any
                state = restored
                if state is None:
                    return
                optimizer = self.model.optimizer
                if optimizer is not None and not optimizer.built:
                    optimizer.build(self.model.trainable_variables)
                self.model.load_weights(backup_dir / state["weights"])
                self.model._initial_epoch = int(state["epoch"])

        return Callback()


def _read_state(backup_dir: Path) -> dict[str, Any] | None:
    path = backup_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not (backup_dir / state["weights"]).is_file():
            raise ValueError("its weights file is missing")
        int(state["epoch"])
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise ModelFileError(
            f"The training state in {path} is unreadable ({e}).",
            f"Delete {backup_dir} to start the run over.",
        ) from None
    return state


def _diverged(where, config: TrainConfig, out_dir: Path | None, best_epoch) -> ZooError:
    epoch, step, loss = where
    kept = (
        f"The last good checkpoint is {out_dir / LAST_FILE} (epoch {epoch - 1})."
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


def _dataset_record(data: zdata.Dataset) -> dict[str, Any]:
    record = {"name": data.name, "task": data.task, "params": data.params}
    if data.vocabulary is not None:
        record["vocabulary"] = data.vocabulary
    return record


def _model_kwargs(spec: registry.ModelSpec, dataset: zdata.Dataset, overrides: dict) -> dict:
    fitted = {k: v for k, v in dataset.model_kwargs.items() if k in spec.defaults}
    for k, v in overrides.items():
        if (
            k in fitted
            and v is not None
            and tuple(np.atleast_1d(v)) != tuple(np.atleast_1d(fitted[k]))
        ):
            raise InvalidArgumentError(
                f"{k}={v!r} does not fit the dataset, which fixes {k}={fitted[k]!r}.",
                f"Drop the {k} override.",
            )
    return registry.check_overrides(spec, {**overrides, **fitted})


def _build(
    spec: registry.ModelSpec,
    task: tasks.Task,
    config: TrainConfig,
    run: runtime.RunConfig,
    total_steps: int,
):
    """The compiled model, built exactly as `zoo.perf` builds what it times."""
    net = build_model(spec.name, config.model_kwargs, run.precision)
    optimizer = build_optimizer(
        config.optimizer,
        config.learning_rate,
        schedule=config.schedule,
        total_steps=total_steps,
        clip_norm=config.clip_norm,
    )
    return compile_model(
        net,
        task,
        optimizer,
        precision=run.precision,
        jit_compile=run.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )


def train(
    model: str,
    dataset: str = "synthetic",
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    optimizer: str | None = None,
    seed: int = 0,
    samples: int | None = None,
    val_fraction: float | None = None,
    test_fraction: float = 0.2,
    data_dir: str | None = None,
    download: bool = False,
    output: str | Path | None = None,
    resume: bool = False,
    tensorboard: bool = False,
    schedule: str = "constant",
    clip_norm: float | None = None,
    steps_per_execution: int = 1,
    early_stopping: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    run: runtime.RunConfig | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Trains a registry model on a dataset of its task and evaluates it on the test split.

    Settings left as None take the model's recipe (`zoo.get_spec(name).recipe`). The model
    evaluated, returned and saved as model.keras is the epoch with the best validation
    loss (the training loss without validation); last.keras is the last epoch.

    Args:
        model: a registry name.
        dataset: a dataset of the model's task (``"synthetic"`` needs no download).
        epochs, batch_size, learning_rate, optimizer: the training recipe; `batch_size`
            is the global batch, split across the replicas of a distribution strategy.
        seed: seeds the data, the initial weights and the shuffling.
        samples: number of synthetic training examples (None: the task's default), or at
            most this many examples of a real training split.
        val_fraction: part of the training split held out for validation (0 for none).
            None: the dataset's own validation split where it has one, else 0.1.
        test_fraction: the test part of data that has no test split (ratings CSV,
            MovieLens, folders).
        data_dir: where TFDS keeps prepared datasets (None: TFDS's default).
        download: let TFDS download a real dataset that is not prepared.
        output: a folder for model.keras, last.keras, history.csv and result.json (each
            written atomically) and, while the run lasts, its training state in backup/.
        resume: continue the interrupted run in `output` after its last completed epoch
            (the same settings are required); it finishes the planned epochs.
        tensorboard: write TensorBoard logs in `output`/tensorboard.
        schedule: learning-rate schedule: constant, cosine, or warmup_cosine.
        clip_norm: clip the global gradient norm (None: no clipping).
        steps_per_execution: training steps per call of the compiled step.
        early_stopping: stop after this many epochs without a better validation loss
            (None: train all epochs).
        model_kwargs: hyper-parameters passed to the factory.
        run: device, XLA, precision, threads, determinism and distribution strategy
            (default: RunConfig()).
        progress: receives progress events.

    Returns:
        A `TrainResult`; its `keras_model` is the trained model.

    Raises:
        ZooError: for an unknown model or dataset, a bad value, or an unwritable output;
            TrainingDivergedError when the loss becomes NaN or infinite.
    """
    spec = registry.get_spec(model)
    task = tasks.get(spec.task)
    recipe = spec.recipe
    optimizer = optimizer if optimizer is not None else recipe.optimizer
    if optimizer not in registry.OPTIMIZERS:
        build_optimizer(optimizer, 0.0)  # raises the error listing the allowed ones
    if val_fraction is not None and (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not 0 <= val_fraction < 1
    ):
        raise InvalidArgumentError(
            f"val_fraction must be in [0, 1); received: val_fraction={val_fraction!r}."
        )
    config_kwargs = dict(
        epochs=_positive("epochs", epochs if epochs is not None else recipe.epochs),
        batch_size=_positive(
            "batch_size", batch_size if batch_size is not None else recipe.batch_size
        ),
        learning_rate=_positive(
            "learning_rate",
            learning_rate if learning_rate is not None else recipe.learning_rate,
            float,
        ),
        optimizer=optimizer,
        seed=int(seed),
        val_fraction=None if val_fraction is None else float(val_fraction),
        schedule=schedule,
        clip_norm=None if clip_norm is None else _positive("clip_norm", clip_norm, float),
        steps_per_execution=_positive("steps_per_execution", steps_per_execution),
        early_stopping=None
        if early_stopping is None
        else _positive("early_stopping", early_stopping),
    )
    if schedule not in SCHEDULES:
        build_optimizer(optimizer, 1.0, schedule=schedule)  # raises, listing the schedules
    if (resume or tensorboard) and output is None:
        flag = "--resume" if resume else "--tensorboard"
        raise InvalidArgumentError(
            f"{flag} needs an output folder.", "Pass --output DIR (output= in Python)."
        )
    if tensorboard:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise InvalidArgumentError(
                "--tensorboard needs the tensorboard package, which is not installed.",
                "pip install 'keras-zoo[tensorboard]' (or tensorboard).",
            )
    run = run or runtime.RunConfig()
    # Checked now, created when the first file is due: a run that fails before training
    # leaves nothing behind.
    out_dir = io.prepare_output_dir(output, keep=False) if output is not None else None
    model_kwargs = dict(model_kwargs or {})
    data = zdata.load(
        task.name,
        str(dataset),
        seed=seed,
        samples=samples,
        data_dir=data_dir,
        download=download,
        test_fraction=test_fraction,
        hints={**spec.defaults, **model_kwargs},
    )
    config = TrainConfig(**config_kwargs, model_kwargs=_model_kwargs(spec, data, model_kwargs))
    x_fit, y_fit, validation, val_info = _split(data, config)
    fingerprint = io.to_jsonable(
        {"model": spec.name, "dataset": _dataset_record(data), "config": config, "run": run}
    )
    # Under multi-worker, every worker saves the same checkpoints (saving reads distributed
    # variables collectively); the chief in `output`, the others in a folder of their own
    # that they delete at the end.
    chief, run_dir = True, out_dir
    if run.strategy == "multi_worker" and out_dir is not None:
        from zoo.runtime import distribute

        chief = distribute.is_chief(run)
        if not chief:
            run_dir = out_dir / f".worker-{distribute.task_index(run)}"
    backup_dir = run_dir / BACKUP_DIR if run_dir is not None else None
    state = _check_resume(backup_dir, run_dir, resume, fingerprint)

    with runtime.apply(run, config.seed) as resolved:
        strategy = resolved.pop("strategy_object", None)
        total_steps = config.epochs * -(-len(y_fit) // config.batch_size)
        if (
            run.jit_compile == "auto"
            and strategy is None
            and _keras().backend.backend() == ("tensorflow")
        ):
            run, resolved["jit_probe"] = _probe_jit(spec, task, config, run, x_fit, y_fit)
        net = _build(spec, task, config, run, total_steps)
        resolved["jit_compile"] = bool(net.jit_compile)  # what Keras really compiled
        if strategy is not None:
            from zoo.runtime import distribute

            distribute.prepare_model(net, strategy, x_fit, y_fit)
        eval_batch = task.eval_batch_size or max(config.batch_size, 256)
        progress = progress or Progress()
        # Under XLA a last, smaller batch would compile a second program every epoch.
        drop = bool(resolved["jit_compile"]) and len(y_fit) >= config.batch_size
        steps = len(y_fit) // config.batch_size if drop else -(-len(y_fit) // config.batch_size)
        done = int(state["epoch"]) if state else 0
        progress.on_train_begin(
            {
                "model": spec.name,
                "dataset": data.name,
                "num_params": net.count_params(),
                "epochs": config.epochs,
                "initial_epoch": done,
                "steps_per_epoch": steps,
                "num_train": len(y_fit),
                "num_val": val_info["examples"],
                "num_test": data.num_test,
            }
        )
        callback = _KerasProgress(progress)
        if state:
            callback.rows.extend(state["history"][:done])
        monitor = "val_loss" if validation else "loss"
        checkpoints = _Checkpoints(
            monitor,
            run_dir,
            callback.rows,
            state["best"] if state and state.get("best_epoch") else float("inf"),
            state.get("best_epoch") if state else None,
        )
        stop = _StopOnNonFinite()
        callbacks = [callback, stop, checkpoints]
        if backup_dir is not None:
            callbacks.append(
                _Backup(
                    backup_dir,
                    lambda: {
                        **fingerprint,
                        "history": callback.rows,
                        "best": checkpoints.best if checkpoints.best_epoch else None,
                        "best_epoch": checkpoints.best_epoch,
                    },
                    state,
                )
            )
        if config.early_stopping:
            callbacks.append(
                _keras().callbacks.EarlyStopping(monitor=monitor, patience=config.early_stopping)
            )
        if tensorboard:
            callbacks.append(
                _keras().callbacks.TensorBoard(
                    log_dir=str(run_dir / TENSORBOARD_DIR), histogram_freq=0, write_graph=False
                )
            )
        options = None
        if run.strategy == "multi_worker":
            from zoo.runtime import distribute

            options = distribute.shard_data_options()
        val_kwargs = {}
        if validation:
            v = _feed(*validation, eval_batch, options=options)
            val_kwargs = (
                {"validation_data": v["x"]}
                if "y" not in v
                else {"validation_data": (v["x"], v["y"]), "validation_batch_size": eval_batch}
            )
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if done < config.epochs:
            net.fit(
                **_feed(
                    x_fit,
                    y_fit,
                    config.batch_size,
                    shuffle=True,
                    seed=config.seed,
                    drop_remainder=drop,
                    options=options,
                ),
                **val_kwargs,
                epochs=config.epochs,
                callbacks=callbacks,
                verbose=0,
            )
        train_seconds = time.perf_counter() - t0
        if stop.where is not None:
            raise _diverged(stop.where, config, run_dir, checkpoints.best_epoch)

        history = callback.rows
        best_epoch = checkpoints.best_epoch
        if best_epoch is not None and best_epoch != history[-1]["epoch"]:
            if checkpoints.best_weights is not None:
                net.set_weights(checkpoints.best_weights)
            else:  # the best epoch came before a resume: its weights are in model.keras
                net.load_weights(run_dir / MODEL_FILE)
        progress.on_evaluate_begin(data.num_test)
        test = net.evaluate(
            **_feed(data.x_test, data.y_test, eval_batch, options=options),
            return_dict=True,
            verbose=0,
        )
    result = TrainResult(
        model=spec.name,
        dataset=_dataset_record(data),
        config=config,
        history=history,
        test_metrics={k: float(v) for k, v in test.items()},
        optimum=data.optimum,
        num_params=int(net.count_params()),
        train_seconds=train_seconds,
        env=io.environment(),
        run=resolved,
        validation=val_info,
        best_epoch=best_epoch,
        resumed_from=done if resume else None,
        keras_model=net,
    )
    if out_dir is not None and chief:
        paths = {
            "model": out_dir / MODEL_FILE,
            "last": out_dir / LAST_FILE,
            "result": out_dir / RESULT_FILE,
            "history": out_dir / HISTORY_FILE,
        }
        if tensorboard:
            paths["tensorboard"] = out_dir / TENSORBOARD_DIR
        result.paths = {k: str(v) for k, v in paths.items()}
        if not paths["model"].is_file():  # no epoch ran here (a resume of a finished run)
            with io.atomic_path(paths["model"], suffix=".keras") as tmp:
                net.save(tmp)
        _write_history(paths["history"], history)
        io.write_json(paths["result"], result)
    if backup_dir is not None:  # the run is complete: drop its training state
        _discard(backup_dir if chief else run_dir)
    return result


def _probe_jit(spec, task, config: TrainConfig, run: runtime.RunConfig, x_fit, y_fit):
    """Resolves jit_compile="auto" to the faster of graph and XLA for this model, batch
    size, device and precision (`zoo.autojit`: measured once, then cached)."""
    import dataclasses

    from zoo.perf import autojit

    keras = _keras()
    take = np.arange(min(config.batch_size, len(y_fit)))
    x = keras.tree.map_structure(keras.ops.convert_to_tensor, _take(x_fit, take))
    y = keras.ops.convert_to_tensor(y_fit[take])
    key = autojit.cache_key(
        spec.name, config.model_kwargs, config.batch_size, run.device, run.precision
    )
    probe = autojit.choose(
        lambda jit: _build(spec, task, config, dataclasses.replace(run, jit_compile=jit), 1),
        x,
        y,
        key=key,
    )
    keras.utils.set_random_seed(config.seed)  # the probe's models drew from the seed
    return dataclasses.replace(run, jit_compile=probe["jit_compile"]), probe


def _discard(folder: Path) -> None:
    """Removes a folder so that a kill midway never leaves half of it: it is first renamed
    (atomically) out of the way, then deleted."""
    if not folder.exists():
        return
    trash = folder.with_name(f".discarded-{folder.name}")
    shutil.rmtree(trash, ignore_errors=True)
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _keras():
    import keras

    return keras


def _split(data: zdata.Dataset, config: TrainConfig):
    """The training arrays, the validation pair (or None) and where validation came from."""
    if config.val_fraction is None and data.y_val is not None:
        info = {"source": "the dataset's validation split", "examples": len(data.y_val)}
        return data.x_train, data.y_train, (data.x_val, data.y_val), info
    fraction = 0.1 if config.val_fraction is None else config.val_fraction
    order = np.random.default_rng([config.seed, 99]).permutation(data.num_train)
    num_val = int(round(fraction * data.num_train))
    if fraction and not 0 < num_val < data.num_train:
        raise DataError(
            f"val_fraction={fraction} of {data.num_train} training examples leaves an empty split.",
            "Use more samples or val_fraction=0.",
        )
    x_fit, y_fit = _take(data.x_train, order[num_val:]), data.y_train[order[num_val:]]
    validation = (
        (_take(data.x_train, order[:num_val]), data.y_train[order[:num_val]]) if num_val else None
    )
    source = f"{fraction:g} of the training split" if num_val else "none"
    return x_fit, y_fit, validation, {"source": source, "examples": num_val}


def _check_resume(
    backup_dir: Path | None, out_dir: Path | None, resume: bool, fingerprint: dict
) -> dict[str, Any] | None:
    """The saved training state to resume from (None: start afresh).

    Raises:
        InvalidArgumentError: an interrupted run is in the way without --resume, --resume
            names a finished run, or the settings differ from the interrupted run's.
    """
    if backup_dir is None:
        return None
    state = _read_state(backup_dir)
    if state is None:
        if resume and (out_dir / RESULT_FILE).is_file():
            raise InvalidArgumentError(
                f"The run in {out_dir} already finished; there is nothing to resume.",
                "Drop --resume and choose a new --output to train again.",
            )
        return None
    if not resume:
        raise InvalidArgumentError(
            f"{out_dir} holds an interrupted run (epoch {state['epoch']} of "
            f"{state['config']['epochs']} done).",
            f"Add --resume to continue it, or choose another --output (or delete {backup_dir}).",
        )
    differ = _differences(state, fingerprint)
    if differ:
        raise InvalidArgumentError(
            f"--resume needs the interrupted run's settings; these differ: {', '.join(differ)}.",
            "Repeat the original command with --resume.",
        )
    return state


def _differences(saved: dict, now: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(saved) | set(now)):
        if key in ("history", "best", "best_epoch", "epoch", "weights", "threads"):
            continue
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} (was {a!r}, now {b!r})")
    return out


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    import csv
    from io import StringIO

    buf = StringIO()
    columns = list(dict.fromkeys(k for row in history for k in row))
    writer = csv.DictWriter(buf, columns)
    writer.writeheader()
    writer.writerows(history)
    with io.atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")


def load_model(path: str | Path):
    """Loads a `.keras` file in Keras safe mode, without its optimizer.

    Raises:
        ModelFileError: the file is missing, not a Keras archive, corrupt, or unsafe
            (a Lambda layer or a class that is not registered).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"No model file at {path}.",
            "Pass a run folder written by `zoo train --output` or a .keras file.",
        )
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a .keras file (it is not a zip archive).",
            "Pass a file saved by `zoo train --output` or model.save().",
        )
    import keras

    import zoo.layers  # noqa: F401  (registers the zoo's custom layers)

    with contextlib.suppress(ImportError):  # registers keras-hub's classes (bert, gpt2)
        import keras_hub  # noqa: F401

    try:
        with warnings.catch_warnings():  # Keras' notes on nested compile configs
            warnings.simplefilter("ignore", UserWarning)
            return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for bad archives
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(
            f"Cannot load {path}: {first[:300]}",
            "The file is corrupt, unsafe or not a Keras 3 model.",
        ) from None


def load_run(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Loads the model of a run folder (with its result.json) or of a `.keras` file.

    Returns:
        The model, and the run record ({} for a bare `.keras` file).

    Raises:
        ModelFileError: no loadable model there, or an unreadable result.json.
    """
    path = Path(path)
    run: dict[str, Any] = {}
    if path.is_dir():
        if (path / RESULT_FILE).is_file():
            try:
                run = json.loads((path / RESULT_FILE).read_text(encoding="utf-8"))
            except (ValueError, OSError) as e:
                raise ModelFileError(f"Cannot read {path / RESULT_FILE}: {e}.") from None
        path = path / MODEL_FILE
    return load_model(path), run


def _check_inputs(net, x) -> None:
    """Raises DataError when the data's shapes do not fit the model's inputs."""
    expected = {t.name: tuple(t.shape[1:]) for t in net.inputs}
    if isinstance(x, dict):
        given = {k: tuple(v.shape[1:]) for k, v in x.items()}
    else:
        given = {t.name: tuple(x.shape[1:]) for t in net.inputs[:1]}

    def fits(e, g):
        return len(e) == len(g) and all(a is None or a == b for a, b in zip(e, g, strict=True))

    if expected.keys() != given.keys() or not all(fits(expected[k], given[k]) for k in given):
        raise DataError(
            f"The dataset does not fit the model: the model takes inputs {expected}, "
            f"the data has {given}.",
            "Evaluate on the dataset the model was trained on.",
        )


def evaluate(
    path: str | Path,
    dataset: str | None = None,
    *,
    seed: int | None = None,
    samples: int | None = None,
    data_dir: str | None = None,
    batch_size: int = 256,
) -> EvalResult:
    """Evaluates a saved model on the test split of a dataset of its task.

    Args:
        path: a run folder written by `train(output=...)`, or a `.keras` file saved from a
            zoo model.
        dataset: the dataset (default: the one the run was trained on, else synthetic).
        seed, samples: regenerate synthetic data with these (default: the run's).
        data_dir: where TFDS keeps prepared datasets (default: the run's).
        batch_size: evaluation batch size.

    Raises:
        ModelFileError: the path holds no loadable zoo model.
        DataError: the dataset does not fit the model.
    """
    net, run = load_run(path)
    model_path = Path(path) / MODEL_FILE if Path(path).is_dir() else Path(path)
    name = run.get("model") or net.name
    try:
        spec = registry.get_spec(name)
    except registry.UnknownModelError:
        raise ModelFileError(
            f"{model_path} holds a model named {name!r}, which is not in the zoo, so its "
            "task is unknown.",
            "Evaluate a model saved by `zoo train --output`.",
        ) from None
    task = tasks.get(spec.task)
    batch_size = _positive("batch_size", batch_size)
    run_data = run.get("dataset", {})
    params = dict(run_data.get("params", {}))
    dataset = dataset or run_data.get("name", "synthetic")
    if dataset != run_data.get("name"):
        params = {}
    params["seed"] = seed if seed is not None else params.get("seed", 0)
    if samples is not None:
        params["samples"] = samples
    if data_dir is not None and dataset != "synthetic":
        params["data_dir"] = data_dir
    data = zdata.load(
        task.name, dataset, hints={**spec.defaults, **_shape_hints(task, net)}, **params
    )
    _check_inputs(net, data.x_test)
    _check_labels(task, net, data.y_test)

    net.compile(loss=task.build_loss(), metrics=task.build_metrics())
    eval_batch = task.eval_batch_size or batch_size
    metrics = net.evaluate(
        **_feed(data.x_test, data.y_test, eval_batch), return_dict=True, verbose=0
    )
    return EvalResult(
        model=spec.name,
        path=str(model_path),
        dataset=_dataset_record(data),
        metrics={k: float(v) for k, v in metrics.items()},
        optimum=data.optimum,
        num_examples=data.num_test,
    )


def _shape_hints(task: tasks.Task, net) -> dict[str, Any]:
    """What a bare model file tells about the data it takes (for synthetic data)."""
    shape, out = tuple(net.inputs[0].shape[1:]), net.outputs[0].shape
    if task.name == "image_classification":
        return {"input_shape": shape, "num_classes": out[-1]}
    if task.name == "text_classification":
        return {"sequence_length": shape[0], "num_classes": out[-1]}
    if task.name == "language_modeling":
        return {"sequence_length": shape[0], "vocab_size": out[-1]}
    return {}


def _check_labels(task: tasks.Task, net, y) -> None:
    if task.loss != "sparse_categorical_crossentropy":
        return
    num_classes = net.outputs[0].shape[-1]
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(
            f"Labels range over {int(y.min())}..{int(y.max())} but the model has "
            f"{num_classes} classes.",
            "Evaluate on the dataset the model was trained on.",
        )
