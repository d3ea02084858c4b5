"""Checking an artifact against the Keras model it came from, in one process: outputs
(max abs difference against a tolerance derived from the dtype), the task metric of both,
and batch-1 latency and batch throughput of both, measured interleaved (A B, B A...), so
that a change in the machine's load hits both alike, and the speed of one over the other
from those paired turns with its confidence interval and verdict (`speedup`).

Tolerances (docs/export.md): a float32 artifact computes the same arithmetic in another
kernel library, which reorders sums; the bound is FLOAT32_ULPS float32 epsilons relative
to the output's scale. A quantized model rounds its activations to the grid of its dtype
as well, so a runtime that rounds one value differently moves an output by up to a step
of that grid: the bound is one step of the dtype's grid, relative to the output's scale.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo import io, stats

FLOAT32_EPS = float(np.finfo(np.float32).eps)  # 2^-23
FLOAT32_ULPS = 2**10  # sqrt of 2^20 terms: the typical growth of a reordered sum's error
QUANTIZED_STEP = {"int8": 1 / 127, "int4": 1 / 7, "float8": 2.0**-3}  # e4m3: 3 mantissa bits


def tolerance(quantize: str | None) -> float:
    """The relative tolerance of an artifact of this dtype (times max(1, |output|))."""
    return QUANTIZED_STEP[quantize] if quantize else FLOAT32_ULPS * FLOAT32_EPS


@dataclass
class Timing:
    """Batch-1 latency percentiles and throughput at `batch_size`, with the samples they
    come from: `latency_s` (one batch-1 call each) and `batch_s` (one call at `batch_size`
    each), in the order they ran, so that two Timings of one `interleaved_timing` pair up by
    position (`speedup`). The samples stay out of the JSON."""

    p50_ms: float
    p99_ms: float
    samples_per_s: float
    batch_size: int
    latency_s: list[float] = field(default_factory=list, repr=False, metadata={"json": False})
    batch_s: list[float] = field(default_factory=list, repr=False, metadata={"json": False})

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


@dataclass
class Parity:
    """Per output: the max abs difference, the scale it is relative to, the bound."""

    max_abs_diff: list[float]
    scale: list[float]
    # relative: output i passes if diff <= tolerance * max(1, scale); None: not checked
    # (no Keras model computes what the artifact does: LiteRT's own int8 quantization)
    tolerance: float | None

    @property
    def failing(self) -> list[int]:
        if self.tolerance is None:
            return []
        return [
            i
            for i, (d, s) in enumerate(zip(self.max_abs_diff, self.scale, strict=True))
            if not d <= self.tolerance * max(1.0, s)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {**io.to_jsonable(self.__dict__), "failing": self.failing}


def slice_inputs(x: Any, start: int, stop: int) -> Any:
    return {k: v[start:stop] for k, v in x.items()} if isinstance(x, dict) else x[start:stop]


def num_rows(x: Any) -> int:
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def predict(call: Callable[[Any], list[np.ndarray]], x: Any, batch_size: int) -> list[np.ndarray]:
    """All outputs of `call` over `x`, batch by batch, concatenated."""
    parts = [call(slice_inputs(x, i, i + batch_size)) for i in range(0, num_rows(x), batch_size)]
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


def parity(
    reference: list[np.ndarray], candidate: list[np.ndarray], quantize: str | None
) -> Parity:
    diffs, scales = [], []
    for ref, got in zip(reference, candidate, strict=True):
        got = np.asarray(got, dtype=np.float64).reshape(ref.shape)
        diffs.append(float(np.max(np.abs(ref.astype(np.float64) - got))) if ref.size else 0.0)
        scales.append(float(np.max(np.abs(ref))) if ref.size else 0.0)
    return Parity(diffs, scales, tolerance(quantize))


def task_metrics(
    task, y: np.ndarray, outputs: list[np.ndarray], batch_size: int
) -> dict[str, float]:
    """The task's metrics of predictions `outputs[0]` against labels `y`, batch by batch
    (in-batch metrics need the evaluation batch), its decoded scores first where one call
    gives them (`zoo.scoring.from_outputs`)."""
    from zoo import scoring

    metrics = task.build_metrics(outputs[0].shape[-1])
    for i in range(0, len(y), batch_size):
        for m in metrics:
            m.update_state(y[i : i + batch_size], outputs[0][i : i + batch_size])
    scores = scoring.from_outputs(task, outputs[0], y)  # decoded: mAP, WER
    return {**scores, **{m.name: float(m.result()) for m in metrics}}


def interleaved_timing(
    calls: dict[str, Callable[[Any], Any]], x: Any, batch_size: int, repeats: int = 50
) -> dict[str, Timing]:
    """Batch-1 latency (p50, p99) and throughput at `batch_size` of each call, after one
    warm-up call each, timed in turns whose order alternates (A B, B A, A B...), so that a
    drift in the machine's speed hits every call alike and each turn pairs its calls."""
    one, batch = slice_inputs(x, 0, 1), slice_inputs(x, 0, batch_size)
    batch_size = num_rows(batch)
    for call in calls.values():
        call(one), call(batch)
    latency = _turns(calls, one, repeats)
    through = _turns(calls, batch, max(repeats // 5, 3))
    return {
        k: Timing(
            p50_ms=1e3 * float(np.percentile(latency[k], 50)),
            p99_ms=1e3 * float(np.percentile(latency[k], 99)),
            samples_per_s=batch_size / statistics.median(through[k]),
            batch_size=batch_size,
            latency_s=latency[k],
            batch_s=through[k],
        )
        for k in calls
    }


def _turns(calls: dict[str, Callable[[Any], Any]], x: Any, turns: int) -> dict[str, list[float]]:
    """`turns` timed calls of each on `x`, the order reversed every other turn."""
    seconds: dict[str, list[float]] = {k: [] for k in calls}
    order = list(calls)
    for i in range(turns):
        for k in order if i % 2 == 0 else order[::-1]:
            seconds[k].append(_seconds(calls[k], x))
    return seconds


def speedup(
    a: Timing, b: Timing, confidence: float = stats.CONFIDENCE
) -> dict[str, dict[str, Any]]:
    """B's speed over A's from one `interleaved_timing`: `latency` (A's batch-1 time over
    B's, above 1 where B answers sooner) and `throughput` (at the batch size), each the
    geometric mean of the per-turn ratios with its interval, verdict, the turns it rests
    on and, where undecided, the turns that would decide it (`zoo.stats.paired`)."""

    def ratio(ta: list[float], tb: list[float]) -> dict[str, Any]:
        r = stats.paired([1 / t for t in ta], [1 / t for t in tb], confidence)
        return {
            "ratio": r.ratio,
            **{k[1:]: v for k, v in r.fields("").items()},
            "repeats": r.repeats,
            "confidence": confidence,
        }

    return {"latency": ratio(a.latency_s, b.latency_s), "throughput": ratio(a.batch_s, b.batch_s)}


def _seconds(call, x) -> float:
    start = time.perf_counter()
    call(x)
    return time.perf_counter() - start


def keras_call(net) -> Callable[[Any], list[np.ndarray]]:
    """The Keras model as a user runs it for inference (`predict_on_batch`)."""

    def call(x):
        out = net.predict_on_batch(x)
        return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]

    return call


def runner_call(runner, names: list[str]) -> Callable[[Any], list[np.ndarray]]:
    """An artifact's runner called like a Keras model (a dict, or one array)."""

    def call(x):
        return runner(dict(x) if isinstance(x, dict) else {names[0]: x})

    return call


def artifact_bytes(path: Path) -> int:
    """The artifact's size on disk: a folder's files, or an .xml with its .bin."""
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    extra = path.with_suffix(".bin") if path.suffix == ".xml" else None
    return path.stat().st_size + (extra.stat().st_size if extra and extra.is_file() else 0)


def keras_bytes(net) -> int:
    """The size of `net` saved as a .keras file (weights and config, no optimizer)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        net.save(path)
        return path.stat().st_size
