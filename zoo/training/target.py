"""Time to target: a quality target (`accuracy=0.91`) that stops a training run when the
held-out validation split reaches it, and the record of when it did.

The target is checked on the validation split only (never the training data, never the
test split); the test metrics reported next to it are those of the model that reached it.
Importing this module imports no framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from zoo import daemon, tasks
from zoo.errors import InvalidArgumentError


@dataclass(frozen=True)
class Target:
    """A validation metric and the value that counts as reached."""

    metric: str
    value: float

    @property
    def higher_is_better(self) -> bool:
        return self.metric in tasks.HIGHER_IS_BETTER

    def reached(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return value >= self.value if self.higher_is_better else value <= self.value

    def __str__(self) -> str:
        return f"{self.metric}={self.value:g}"


def parse(text: str | Target | None, task: tasks.Task) -> Target | None:
    """`METRIC=VALUE`, checked against the metrics of `task` (plus `loss`).

    Raises:
        InvalidArgumentError: not METRIC=VALUE, an unknown metric, or a value that is not
            a finite number or outside the metric's range (accuracy above 1, a negative
            mse).
    """
    if text is None or isinstance(text, Target):
        return text
    allowed = (*task.epoch_metrics, "loss")
    metric, sep, raw = str(text).partition("=")
    metric = metric.strip()
    first = task.epoch_headline
    floor = tasks.RANGES.get(first, (0.0, 0.0))[0]  # perplexity's is 1
    example = (
        f"--target {first}={0.9 if first in tasks.HIGHER_IS_BETTER else max(0.1, 2 * floor):g}"
    )
    if not sep or not metric:
        raise InvalidArgumentError(
            f"The target must be METRIC=VALUE; received: {text!r}.", f"For example {example}."
        )
    if metric in task.scores:
        raise InvalidArgumentError(
            f"{metric} is scored once, on decoded outputs after training, so a target "
            f"cannot name it; a target can name {', '.join(allowed)}.",
            f"For example {example}.",
        )
    if metric not in allowed:
        raise InvalidArgumentError(
            f"{task.name} models report {', '.join(allowed)}; received the target metric "
            f"{metric!r}.",
            f"Use one of them, e.g. {example}.",
        )
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidArgumentError(
            f"The target value must be a finite number; received {metric}={raw!r}.",
            f"For example {example}.",
        )
    low, high = tasks.RANGES.get(metric, (-math.inf, math.inf))
    if not low <= value <= high:
        span = f"in [{low:g}, {high:g}]" if math.isfinite(high) else f"of {low:g} or more"
        which = f"the target {metric}={value:g}"
        if (value > high) == (metric in tasks.HIGHER_IS_BETTER):
            outcome = f"no run reaches {which}"
        else:
            outcome = f"every run reaches {which} at its first check"
        raise InvalidArgumentError(
            f"{metric} takes values {span}, so {outcome}.",
            f"Give a value in that range, e.g. {example}.",
        )
    return Target(metric, value)


# Where the time to target went, in the order it is spent (`breakdown`).
PHASES = {
    "start_s": "process start and imports",
    "data_s": "data loading and preparation",
    "build_s": "model build",
    "xla_probe_s": "XLA probe",
    "compile_s": "compilation",
    "train_s": "training",
    "checks_s": "target checks",
    "other_s": "other",
}


def breakdown(total_s: float, marks: dict[str, float], at: dict[str, Any]) -> dict[str, Any]:
    """`total_s` (the time to target, from the command's start) split into PHASES.

    `marks` are seconds from the start: `imported` (the framework imported), `data` (the
    data loaded and split), `built` (the model built and compiled, `xla_probe_s` of it in
    the XLA probe where one ran). `at` is the check that reached the target, with the
    seconds inside training steps (`steps_s`), the first execution's (`first_s`, over
    `first_steps` steps), the steps run (`steps_run`) and the validation passes'
    (`checks_s`).

    Compilation is what the first execution took beyond the steady step time of the
    executions after it, times its steps; with one execution only it cannot be told from
    training (`compile_s` None, inside `train_s`). `other_s` is the rest: inside `fit`
    but outside steps and checks (epoch boundaries, callbacks, checkpoint writes) and the
    zoo's own setup between the phases.
    """
    probe = marks.get("xla_probe_s") or 0.0
    steps_s, first_s = at["steps_s"], at["first_s"]
    compile_s = None
    if first_s is not None and at["steps_run"] > at["first_steps"]:
        steady = (steps_s - first_s) / (at["steps_run"] - at["first_steps"])
        compile_s = max(0.0, first_s - at["first_steps"] * steady)
    out = {
        "start_s": marks["imported"],
        "data_s": marks["data"] - marks["imported"],
        "build_s": marks["built"] - marks["data"] - probe,
        "xla_probe_s": marks.get("xla_probe_s"),
        "compile_s": compile_s,
        "train_s": steps_s - (compile_s or 0.0),
        "checks_s": at["checks_s"],
    }
    out["other_s"] = total_s - sum(v for v in out.values() if v is not None)
    return {k: None if v is None else round(v, 4) for k, v in out.items()}


# Above this standard error of the validation metric at the target, a stop on the
# validation split is mostly chance (a point of accuracy: two standard errors span the
# gap between a model at the target and one 0.02 below it).
NOISY_SE = 0.01


def standard_error(target: Target, examples: int | None, per_example: bool) -> float | None:
    """The standard error of the validation split's accuracy at the target value: a
    binomial proportion over `examples` examples, sqrt(v (1 - v) / n). None where the
    metric is not a proportion of examples (a loss, an RMSE, accuracy over tokens or
    pixels, where neighbouring outcomes are not independent) or the count is unknown."""
    if target.metric != "accuracy" or not per_example or not examples:
        return None
    v = min(max(target.value, 0.0), 1.0)
    return math.sqrt(v * (1.0 - v) / examples)


def record(
    target: Target,
    reached_at: dict[str, Any] | None,
    checks: list[dict[str, Any]],
    test_metrics: dict[str, float] | None,
    marks: dict[str, float] | None = None,
    validation: tuple[int, bool] | None = None,
) -> dict[str, Any]:
    """The `target` entry of result.json. `checks` are the checks made (step, epoch,
    validation value, time_s, train_time_s and what `breakdown` needs); `reached_at` is
    the one that reached the target (None: never reached, and the times are None, not a
    number). With `marks` (see `breakdown`), `phases` says where the time to target went.
    `validation` is the validation split's examples and whether the metric scores each
    example once (one label each); `standard_error` is then the check's noise at the
    target (`standard_error`), None where it cannot be told."""
    examples, per_example = validation or (None, False)
    values = [c["value"] for c in checks if c["value"] is not None]
    best = None
    if values:
        best = max(values) if target.higher_is_better else min(values)
    at = reached_at or {}
    return {
        "metric": target.metric,
        "value": target.value,
        "split": "validation",
        "reached": reached_at is not None,
        "time_to_target_s": at.get("time_s"),
        "train_time_to_target_s": at.get("train_time_s"),
        "steps_to_target": at.get("step"),
        "epochs_to_target": at.get("epoch"),
        "best_validation": best,
        "checks": len(checks),
        # A run the zoo daemon forked found the framework imported (`zoo.daemon`).
        "start": "warm" if daemon.served() else "cold",
        "phases": (
            breakdown(at["time_s"], marks, at) if reached_at and marks is not None else None
        ),
        "test_metric": (test_metrics or {}).get(target.metric) if reached_at else None,
        "validation_examples": examples,
        "standard_error": standard_error(target, examples, per_example),
        "history": checks,
    }
