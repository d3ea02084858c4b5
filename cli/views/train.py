"""What `zoo train` shows while it trains: a progress bar per epoch, a line per epoch."""

from __future__ import annotations

from typing import Any

from zoo.cli.render import err, fmt, plural


class TrainProgress:
    """Shows a progress bar during each epoch and a line of metrics when it ends."""

    def __init__(self):
        self._bar = None
        self._task = None
        self.interrupted = False  # a Ctrl-C came (zoo train's handler notes it)

    def _stop_if_interrupted(self) -> None:
        """Raises the noted Ctrl-C again, at a batch or epoch end, where `fit` lets it
        through (the first can be swallowed inside a destructor)."""
        if self.interrupted:
            raise KeyboardInterrupt

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self.info = info
        err.print(
            f"Training [bold]{info['model']}[/] ({info['num_params']:,} parameters) on "
            f"{info['dataset']}: {info['num_train']:,} train, {info['num_val']:,} validation, "
            f"{info['num_test']:,} test examples, {plural(info['epochs'], 'epoch')}.",
            soft_wrap=True,
        )
        if info.get("initial_epoch"):
            err.print(
                f"Resuming after epoch {info['initial_epoch']} of {info['epochs']}.",
                soft_wrap=True,
            )

    def on_batch_end(self, epoch: int, step: int, logs: dict[str, float]) -> None:
        self._stop_if_interrupted()
        if self._bar is None and err.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[logs]}"),
                console=err,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                f"epoch {epoch}/{self.info['epochs']}", total=self.info["steps_per_epoch"], logs=""
            )
        if self._bar is None:
            return
        loss = logs.get("loss")
        self._bar.update(
            self._task, completed=step, logs=f"loss {fmt(float(loss))}" if loss is not None else ""
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._stop_if_interrupted()
        self.close()
        parts = "  ".join(f"{k} {fmt(float(v))}" for k, v in logs.items() if k != "seconds")
        err.print(
            f"epoch {epoch}/{self.info['epochs']}  {parts}  ({logs['seconds']:.1f} s)",
            soft_wrap=True,
        )

    def on_evaluate_begin(self, num_examples: int) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
