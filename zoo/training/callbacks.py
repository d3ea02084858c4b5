"""The Keras callbacks of a training run: progress, the NaN stop, checkpoints, the backup.

This module imports Keras; the training loop imports it only when it trains, so that
`import zoo.training` stays framework-free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from zoo import io
from zoo.runtime.imports import tensorflow_left_alone
from zoo.training.checkpoint import (
    HISTORY_FILE,
    LAST_FILE,
    MODEL_FILE,
    STATE_FILE,
    TENSORBOARD_DIR,
    RunFolder,
    write_history,
)
from zoo.training.results import Progress
from zoo.training.target import Target


class KerasProgress(keras.callbacks.Callback):
    """Adapts a `Progress` to a Keras callback, times each epoch and keeps the history."""

    def __init__(self, progress: Progress, history: list[dict[str, float]]):
        super().__init__()
        self.progress = progress
        self.rows = history  # one row per epoch, those of a resumed run first

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._t0 = epoch + 1, time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.progress.on_batch_end(self._epoch, batch + 1, dict(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._t0
        values = {k: float(v) for k, v in (logs or {}).items()}
        self.rows.append({"epoch": epoch + 1, **values, "seconds": seconds})
        self.progress.on_epoch_end(epoch + 1, {**values, "seconds": seconds})


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite batch loss and remembers where (Keras'
    TerminateOnNaN prints)."""

    where: tuple[int, int, float] | None = None  # epoch, step, loss

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)) and self.where is None:
            self.where = (self._epoch, batch + 1, float(loss))
            self.model.stop_training = True


class Checkpoints(keras.callbacks.Callback):
    """Tracks the best epoch by `monitor` (its weights kept in memory) and, where `out_dir`
    is given, writes last.keras every epoch, model.keras when the epoch is the best so
    far, and history.csv, each atomically. An epoch whose loss is not finite is never
    saved, so the files always hold the last good state."""

    def __init__(self, monitor: str, out_dir: Path | None, rows: list, best: float, best_epoch):
        super().__init__()
        self.monitor, self.out_dir, self.rows = monitor, out_dir, rows
        self.best, self.best_epoch, self.best_weights = best, best_epoch, None
        self.target: TargetCheck | None = None  # once it is reached, that model is kept

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not np.isfinite(float(logs.get("loss", np.nan))):
            return
        value = float(logs.get(self.monitor, logs["loss"]))
        improved = np.isfinite(value) and (self.best_epoch is None or value < self.best)
        improved = improved or (self.target is not None and self.target.reached_at is not None)
        if improved:
            self.best, self.best_epoch = value, epoch + 1
            self.best_weights = self.model.get_weights()
        if self.out_dir is not None:
            self._save(improved)

    def _save(self, improved: bool) -> None:
        last = self.out_dir / LAST_FILE
        with io.atomic_path(last, suffix=".keras") as tmp, tensorflow_left_alone():
            self.model.save(tmp)
        if improved:
            with io.atomic_path(self.out_dir / MODEL_FILE, suffix=".keras") as tmp:
                tmp.write_bytes(last.read_bytes())
        write_history(self.out_dir / HISTORY_FILE, self.rows)


class TargetCheck(keras.callbacks.Callback):
    """Checks a `Target` on the validation split each epoch (the validation metrics `fit`
    computes) or every `eval_every` training steps (its own evaluation of `validation`),
    records each check and stops training at the first that reaches it. With
    `check_from`, checks start after that many epochs (as EarlyStopping's
    `start_from_epoch`), then every `eval_every` steps from there (a schedule that cannot
    be at the target yet costs none of those validation passes; without `eval_every`,
    `fit` still validates each epoch, and only the check waits). The end of the run is
    checked in any case, also where it comes sooner (early stopping, a short run).

    Times: `time_to_target_s` counts from `started` (a `time.time()`, the command's start:
    imports, data loading and compilation included); `train_time_to_target_s` counts the
    time inside `fit` without the validation passes. Each check also keeps what the
    breakdown of that time needs (`zoo.training.target.breakdown`): the seconds inside
    training steps (`steps_s`: each execution from `on_train_batch_begin` to `_end`), the
    first execution's (`first_s`, which holds the compilation) and its steps, the steps run
    in this process, and the seconds of validation passes (`checks_s`)."""

    def __init__(
        self,
        target: Target,
        started: float,
        steps_per_epoch: int,
        done_epochs: int,
        eval_every: int | None = None,
        validation: dict | None = None,
        check_from: float | None = None,
    ):
        super().__init__()
        self.target, self.started, self.eval_every = target, started, eval_every
        self.check_step = round((check_from or 0) * steps_per_epoch)  # the first check's
        self.steps_per_epoch, self.validation = steps_per_epoch, validation
        self.step = done_epochs * steps_per_epoch
        self.checks: list[dict[str, Any]] = []
        self.reached_at: dict[str, Any] | None = None
        self._eval_s, self._test_t0 = 0.0, None
        self._first_step = self.step  # where this process started (after a resume)
        self._steps_s, self._batch_t0, self._first = 0.0, None, None
        self._epoch_logs: dict | None = None

    def on_train_begin(self, logs=None):
        self._fit_t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_step0 = epoch * self.steps_per_epoch

    def on_test_begin(self, logs=None):  # fit's own validation pass
        self._test_t0 = time.perf_counter()

    def on_test_end(self, logs=None):
        if self._test_t0 is not None:
            self._eval_s += time.perf_counter() - self._test_t0
            self._test_t0 = None

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # Keras reports the last step of a steps_per_execution chunk as if it were whole,
        # also for the shorter last chunk of an epoch.
        before = self.step
        self.step = self._epoch_step0 + min(batch + 1, self.steps_per_epoch)
        if self._batch_t0 is not None:
            seconds = time.perf_counter() - self._batch_t0
            self._steps_s += seconds
            if self._first is None:  # the first execution: tracing and compilation
                self._first = (seconds, self.step - self._first_step)
        if self.eval_every and self.step >= self.check_step:
            # every eval_every steps from check_step (check_step itself the first)
            since, was = self.step - self.check_step, before - self.check_step
            if since // self.eval_every > was // self.eval_every:
                self._evaluate()

    def on_train_end(self, logs=None):
        checked = self.checks[-1]["step"] if self.checks else None
        if self.reached_at is not None or checked == self.step:
            return
        if self.eval_every:
            self._evaluate()  # the steps after the last full interval
        elif self._epoch_logs is not None:  # an end before check_from: its last epoch
            self._check(self._epoch_logs.get(f"val_{self.target.metric}"))

    def _evaluate(self) -> None:
        """Evaluates the validation split in the middle of `fit`. Keras' evaluate resets
        the metrics (the loss tracker included) that training shares, so their state is
        kept and put back: the epoch's training metrics stay the training batches'."""
        t0 = time.perf_counter()
        state = [v.numpy() for v in self.model.metrics_variables]
        logs = self.model.evaluate(**self.validation, return_dict=True, verbose=0)
        for variable, value in zip(self.model.metrics_variables, state, strict=True):
            variable.assign(value)
        self._eval_s += time.perf_counter() - t0
        self._check(logs.get(self.target.metric))

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_logs = logs or {}
        if not self.eval_every and self.reached_at is None and self.step >= self.check_step:
            self._check(self._epoch_logs.get(f"val_{self.target.metric}"))

    def _check(self, value) -> None:
        value = None if value is None else float(value)
        train_s = time.perf_counter() - self._fit_t0 - self._eval_s
        check = {
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 4),
            "value": value,
            "time_s": time.time() - self.started,
            "train_time_s": train_s,
            "steps_s": self._steps_s,
            "first_s": self._first[0] if self._first else None,
            "first_steps": self._first[1] if self._first else None,
            "steps_run": self.step - self._first_step,
            "checks_s": self._eval_s,
        }
        self.checks.append(check)
        if self.reached_at is None and self.target.reached(value):
            self.reached_at = check
            self.model.stop_training = True


class StopAfter(keras.callbacks.Callback):
    """Ends `fit` after `steps` training steps in all (counted from the first epoch, a
    resumed run's included): a fractional `epochs` stops its last pass there. Keras then
    runs that epoch's validation and epoch-end callbacks as for a whole one. Under
    `steps_per_execution` it stops at the first chunk that reaches `steps`."""

    def __init__(self, steps: int, steps_per_epoch: int):
        super().__init__()
        self.steps, self.steps_per_epoch = steps, steps_per_epoch
        self._epoch_step0 = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_step0 = epoch * self.steps_per_epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch_step0 + batch + 1 >= self.steps:
            self.model.stop_training = True


class Backup(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, made crash-safe: each epoch's weights (with the optimizer
    state) go to a new file, then state.json, written atomically, points at it and holds
    the run's fingerprint, the epoch, the history so far and the best epoch. A kill at any
    moment leaves a state.json that names a complete weights file, so `--resume` restarts
    after the last completed epoch."""

    def __init__(
        self,
        backup_dir: Path,
        fingerprint: dict[str, Any],
        checkpoints: Checkpoints,
        restored: dict[str, Any] | None,
    ):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.state_dir, self.fingerprint = backup_dir, fingerprint  # a Path; Keras' is a str
        self.checkpoints, self.restored = checkpoints, restored

    def on_epoch_end(self, epoch, logs=None):
        if np.isfinite(float((logs or {}).get("loss", np.nan))):  # keep the last good
            super().on_epoch_end(epoch, logs)

    def _state(self) -> dict[str, Any]:
        best_epoch = self.checkpoints.best_epoch
        return {
            **self.fingerprint,
            "history": self.checkpoints.rows,
            "best": self.checkpoints.best if best_epoch else None,
            "best_epoch": best_epoch,
        }

    def _save_model(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        weights = self.state_dir / f"epoch-{self._current_epoch}.weights.h5"
        with io.atomic_path(weights, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        io.write_json(
            self.state_dir / STATE_FILE,
            {**self._state(), "epoch": self._current_epoch, "weights": weights.name},
        )
        for old in self.state_dir.glob("epoch-*.weights.h5"):
            if old != weights:
                old.unlink(missing_ok=True)

    def _load_model(self):  # the state train() has read and checked, if any
        if self.restored is None:
            return
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(self.state_dir / self.restored["weights"])
        self.model._initial_epoch = int(self.restored["epoch"])


@dataclass
class Callbacks:
    """The callbacks of one run; `all` is what `fit` takes."""

    progress: KerasProgress
    stop: StopOnNonFinite
    checkpoints: Checkpoints
    others: list = field(default_factory=list)  # backup, early stopping, TensorBoard
    target: TargetCheck | None = None

    @property
    def all(self) -> list:
        # The target is checked before the checkpoints, which then keep the model that
        # reached it.
        first = [self.target] if self.target is not None else []
        return [self.progress, self.stop, *first, self.checkpoints, *self.others]


def for_run(
    progress: Progress,
    folder: RunFolder,
    *,
    monitor: str,
    fingerprint: dict[str, Any],
    state: dict[str, Any] | None,
    early_stopping: int | None,
    tensorboard: bool,
    stop_after: StopAfter | None = None,
) -> Callbacks:
    """The callbacks of a run, continuing the history and best epoch of a resumed `state`;
    `stop_after` ends a fractional last epoch."""
    done = int(state["epoch"]) if state else 0
    rows = list(state["history"][:done]) if state else []
    best = state["best"] if state and state.get("best_epoch") else float("inf")
    checkpoints = Checkpoints(
        monitor, folder.path, rows, best, state.get("best_epoch") if state else None
    )
    made = Callbacks(KerasProgress(progress, rows), StopOnNonFinite(), checkpoints)
    if folder.backup is not None:
        made.others.append(Backup(folder.backup, fingerprint, checkpoints, state))
    if stop_after is not None:
        made.others.append(stop_after)
    if early_stopping:
        made.others.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=early_stopping))
    if tensorboard:
        made.others.append(
            keras.callbacks.TensorBoard(
                log_dir=str(folder.path / TENSORBOARD_DIR), histogram_freq=0, write_graph=False
            )
        )
    return made
