"""The trackers users already run: TensorBoard's HParams dashboard and MLflow.

Both are written from the zoo's own records once the work is done, explicitly, never by
patching the framework (no autologging):

- `tensorboard_runs(logdir, runs)`: each run (a bench case, a tune trial) is a folder of
  `logdir` with its settings as HParams and its figures as scalars, written with
  TensorBoard's own event writer and HParams summaries (the `tensorboard` extra; no
  TensorFlow needed), so `tensorboard --logdir DIR` shows them side by side.
- `mlflow_runs(experiment, parent, children)`: one MLflow run with its parameters, its
  metrics (per step where there are steps, e.g. per epoch) and artifacts (a run folder),
  and nested runs under it (a suite's cases, a search's trials). It uses MLflow's client
  and its default local store, or `MLFLOW_TRACKING_URI` where set (the `mlflow` extra).

`Run` is what both take. The functions that turn the zoo's results into runs are here too:
`train_run`, `bench_runs`, `tune_runs`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from zoo.errors import InvalidArgumentError

TRACKERS = ("mlflow",)


@dataclasses.dataclass
class Run:
    """One run for a tracker: its name, settings, final figures, figures per step
    ({name: [(step, value), ...]}) and a folder to keep as artifacts."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    series: dict[str, list[tuple[int, float]]] = dataclasses.field(default_factory=dict)
    artifacts: Path | None = None


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as `a.b` keys; lists as text; None left out."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, f"{key}."))
        elif v is not None:
            out[key] = v if isinstance(v, (int, float, str, bool)) else str(v)
    return out


def _numbers(d: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in _flat(d).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


# --- from the zoo's results -------------------------------------------------------------


def train_run(result: Any, folder: Path | None) -> Run:
    """A `zoo.train` result (TrainResult) as a run: recipe and run settings, metrics per
    epoch, test metrics, the run folder."""
    from zoo import io

    config = io.to_jsonable(result.config) if result.config is not None else {}
    params = {"model": result.model, **_flat(config), **_flat(result.run or {})}
    series: dict[str, list[tuple[int, float]]] = {}
    for epoch, row in enumerate(result.history, 1):
        for k, v in row.items():
            if isinstance(v, (int, float)) and k != "epoch":
                series.setdefault(k, []).append((epoch, float(v)))
    metrics = {f"test_{k}": float(v) for k, v in (result.test_metrics or {}).items()}
    return Run(result.model, params, metrics, series, folder)


BENCH_SETTINGS = ("model", "mode", "precision", "batch_size", "device", "backend", "repeat")


def bench_runs(records: Iterable[dict]) -> list[Run]:
    """A bench suite's records as runs: a case's setting as parameters, its figures."""
    runs = []
    for r in records:
        params = {k: r.get(k) for k in BENCH_SETTINGS if r.get(k) is not None}
        params["status"] = r.get("status")
        figures = {
            "train_samples_per_s": (r.get("train") or {}).get("samples_per_s"),
            "step_ms_median": (r.get("train") or {}).get("step_ms_median"),
            "compile_s": r.get("compile_s"),
            "infer_p50_ms": (r.get("infer") or {}).get("p50_ms"),
            "peak_memory_mb": r.get("peak_memory_mb"),
            "mfu": r.get("mfu"),
        }
        name = f"{r.get('case', r.get('model'))} #{r.get('repeat', 0)}"
        runs.append(Run(name, params, {k: float(v) for k, v in figures.items() if v is not None}))
    return runs


def tune_runs(result: dict) -> tuple[Run, list[Run]]:
    """A `zoo tune` search: the search as the parent run, each trial a run under it."""
    winner = result.get("winner") or {}
    parent = Run(
        f"tune {result.get('model')}",
        {
            "model": result.get("model"),
            "dataset": result.get("dataset"),
            "target": result.get("target"),
            "seed": result.get("seed"),
            "budget_s": result.get("budget_s"),
            **_flat(winner.get("settings") or {}, "winner."),
        },
        _numbers({"speedup": result.get("speedup"), "spent_s": result.get("spent_s")}),
    )
    children = []
    trials = [("execution", t) for t in _listed(result, "execution", "execution_trials")]
    trials += [("recipe", t) for t in _listed(result, "trials", "recipe_trials")]
    for n, (stage, t) in enumerate(trials, 1):
        figures = {k: t.get(k) for k in ("time_to_target_s", "samples_per_s", "epochs_to_target")}
        params = {"stage": stage, "status": t.get("status"), **_flat(t.get("settings") or {})}
        children.append(Run(f"{stage} trial {n}", params, _numbers(figures)))
    return parent, children


def _listed(result: dict, *keys: str) -> list[dict]:
    """The first of `keys` that holds a list of trials (a search's own result, or the
    record benchmarks/report.py keeps of it)."""
    for key in keys:
        if isinstance(result.get(key), list):
            return result[key]
    return []


# --- TensorBoard --------------------------------------------------------------------------


def tensorboard_runs(logdir: str | Path, runs: Sequence[Run]) -> Path:
    """Each run a subfolder of `logdir` with its HParams and its scalars.

    Raises:
        InvalidArgumentError: the tensorboard package is not installed.
    """
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import summary_v2 as hp
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise InvalidArgumentError(
            "--tensorboard needs the tensorboard package.",
            "pip install 'keras-zoo[tensorboard]'",
        ) from None
    logdir = Path(logdir)
    for n, run in enumerate(runs):
        folder = logdir / f"{n:03d}-{_safe(run.name)}"
        writer = EventFileWriter(str(folder))
        now = time.time()
        hparams = {k: v for k, v in run.params.items() if isinstance(v, (int, float, str, bool))}
        writer.add_event(event_pb2.Event(wall_time=now, summary=hp.hparams_pb(hparams)))
        points = [(0, k, v) for k, v in run.metrics.items()]
        points += [(step, k, v) for k, values in run.series.items() for step, v in values]
        for step, tag, value in points:
            value_pb = summary_pb2.Summary.Value(tag=tag, simple_value=value)
            summary = summary_pb2.Summary(value=[value_pb])
            writer.add_event(event_pb2.Event(wall_time=now, step=step, summary=summary))
        writer.close()
    return logdir


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]


# --- MLflow -------------------------------------------------------------------------------


def _mlflow():
    try:
        import mlflow
    except ImportError:
        raise InvalidArgumentError(
            "--track mlflow needs MLflow's client.", "pip install 'keras-zoo[mlflow]'"
        ) from None
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # its store's set-up chatter
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return mlflow


def mlflow_runs(experiment: str, parent: Run, children: Sequence[Run] = ()) -> str:
    """Logs `parent` and, nested under it, `children` to MLflow; the parent's run id.

    Raises:
        InvalidArgumentError: MLflow is not installed.
    """
    mlflow = _mlflow()
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=parent.name) as top:
        _log(mlflow, parent)
        for child in children:
            with mlflow.start_run(run_name=child.name, nested=True):
                _log(mlflow, child)
    return top.info.run_id


def _log(mlflow, run: Run) -> None:
    params = {k: v for k, v in run.params.items() if v is not None}
    if params:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
    if run.metrics:
        mlflow.log_metrics(run.metrics)
    for name, values in run.series.items():
        for step, value in values:
            mlflow.log_metric(name, value, step=step)
    if run.artifacts is not None and Path(run.artifacts).is_dir():
        mlflow.log_artifacts(str(run.artifacts))


def check_tracker(name: str | None) -> None:
    """Raises InvalidArgumentError for a tracker the zoo does not know."""
    if name is not None and name not in TRACKERS:
        raise InvalidArgumentError(
            f"Unknown tracker {name!r}. Allowed: {', '.join(TRACKERS)}.",
            "Pass --track mlflow (TensorBoard: --tensorboard DIR).",
        )


def experiment() -> str:
    """The MLflow experiment the zoo logs to: MLFLOW_EXPERIMENT_NAME, else keras-zoo."""
    import os

    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or "keras-zoo"
