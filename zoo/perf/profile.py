"""Profiling one model under one execution setting -> `ProfileResult`.

What is measured, and how:

- FLOPs per example from `zoo.perf.flops` (forward, and 3x forward for a training step).
- Training: the first step (trace and compile) is timed apart as `compile_s`; after
  `warmup` more steps, each of `steps` steps is timed on its own (the step returns its
  loss to the host, so it is finished when the clock stops); median, p10 and p90 step
  time, and samples/s from the median.
- Inference: latency p50, p90 and p99 at batch 1, and samples/s at the benchmark batch.
- The data is one fixed batch of the task's synthetic data in memory: this measures the
  model and the runtime, not the input pipeline.
- Modes: "eager" (no tf.function), "graph" (compiled, no XLA) and "xla" time each
  `train_on_batch` call; "auto" lets `zoo.perf.autojit` choose graph or XLA from its cached
  probe, then times the choice; "fit" times the path `zoo train` takes, `Model.fit` (with
  `steps_per_execution`), over the batch repeated from memory: whole epochs of `steps`
  steps, each ended by Keras fetching the logs, the first epoch apart as `compile_s`;
  "pipeline" is "fit" fed by the zoo's tf.data pipeline (`zoo.data.pipeline.make`: cache,
  shuffle, batch, prefetch) over the training split of a real `dataset`.
- Peak memory: on GPU, TensorFlow's peak for the device; on CPU, the peak resident set
  of this process (run each case in its own process to measure one model alone).
- MFU: achieved training FLOP/s over the peak `zoo peak` measured on the same device,
  backend and dtype (None until `zoo peak` has run).
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo import data as zdata
from zoo import io, registry, tasks
from zoo.errors import InvalidArgumentError
from zoo.perf import flops as zflops

MODES = ("eager", "graph", "xla", "auto", "fit", "pipeline")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclass
class ProfileResult:
    """One measurement; `to_dict` gives the JSON record (keys carry their units)."""

    model: str
    family: str
    task: str
    backend: str
    device: str
    mode: str  # requested: eager, graph or xla
    precision: str
    batch_size: int
    params: int
    flops: dict[str, int]  # forward_per_sample, train_per_sample
    compile_s: float
    train: dict[str, float]  # step_ms_median, step_ms_p10, step_ms_p90, samples_per_s, steps
    infer: dict[str, float]  # p50_ms, p90_ms, p99_ms (batch 1), samples_per_s (batch)
    peak_memory_mb: float
    train_flops_per_s: float
    mfu: float | None
    resolved: dict[str, Any]  # what really ran: jit_compile, precision policy, threads
    env: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def _percentile(values, q) -> float:
    return float(np.percentile(np.asarray(values), q))


def _batch(spec: registry.ModelSpec, model_kwargs: dict, batch_size: int):
    """One batch of the task's synthetic data, shaped for the model."""
    hints = {**spec.defaults, **model_kwargs}
    if spec.task == "language_modeling" and hints["vocab_size"] > zdata.synthetic.MAX_MARKOV_VOCAB:
        # A published tokenizer's vocabulary (GPT-2: 50,257): timing needs no Markov text.
        rng = np.random.default_rng(0)
        shape = (batch_size, hints["sequence_length"])
        tokens = rng.integers(1, hints["vocab_size"], size=(shape[0], shape[1] + 1))
        data = zdata.Dataset(
            "random tokens",
            spec.task,
            tokens[:, :-1],
            tokens[:, 1:],
            tokens[:1, :-1],
            tokens[:1, 1:],
            model_kwargs={k: hints[k] for k in ("vocab_size", "sequence_length")},
        )
        return data.x_train.astype("int32"), data.y_train.astype("int32"), data
    n = max(batch_size, 512 if spec.task == "rating_prediction" else batch_size)
    if spec.task == "retrieval":
        n = max(n, 1280)
    data = zdata.load(spec.task, samples=n, hints=hints)
    take = np.arange(batch_size) % len(data.y_train)
    x = (
        {k: v[take] for k, v in data.x_train.items()}
        if isinstance(data.x_train, dict)
        else data.x_train[take]
    )
    return x, data.y_train[take], data


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _fit_epochs(model, feed: dict, steps: int, epochs: int) -> tuple[float, list[float]]:
    """`Model.fit` over `feed` (an endless dataset, or arrays of `steps` batches): the
    first epoch's seconds (it traces) and the per-step seconds of each later epoch."""
    import keras

    seconds: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # Keras has fetched the logs: work done
            seconds.append(time.perf_counter() - self.t0)

    model.fit(
        **feed,
        steps_per_epoch=steps,
        epochs=epochs + 1,
        callbacks=[Clock()],
        verbose=0,
        shuffle=False,
    )
    return seconds[0], [s / steps for s in seconds[1:]]


def _backend() -> str:
    import keras

    return keras.backend.backend()


def peak_memory_mb(device: str) -> float:
    """Peak memory of this process (CPU, resident set) or of the GPU (TensorFlow)."""
    if device.startswith("gpu") and _backend() == "jax":
        import jax

        index = int(device.split(":")[1]) if ":" in device else 0
        stats = jax.devices("gpu")[index].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"] / 2**20
    if device.startswith("gpu") and _backend() == "torch":
        import torch

        index = int(device.split(":")[1]) if ":" in device else 0
        return torch.cuda.max_memory_allocated(index) / 2**20
    if device.startswith("gpu"):
        try:
            import tensorflow as tf

            index = device.split(":")[1] if ":" in device else "0"
            return tf.config.experimental.get_memory_info(f"GPU:{index}")["peak"] / 2**20
        except (ImportError, ValueError):
            pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 2**10)


def profile(
    name: str,
    *,
    batch_size: int | None = None,
    mode: str = "graph",
    precision: str = "float32",
    device: str = "cpu",
    steps: int = 20,
    warmup: int = 3,
    model_kwargs: dict[str, Any] | None = None,
    peak_flops: float | None = None,
    steps_per_execution: int = 1,
    dataset: str | None = None,
    data_dir: str | None = None,
) -> ProfileResult:
    """Profiles training and inference of a registry model (see the module docstring).

    Args:
        name: a registry name.
        batch_size: examples per step (default: the model's recipe).
        mode: "eager" (no tf.function), "graph" (compiled, no XLA), "xla", "auto" (the
            faster of graph and XLA by `zoo.perf.autojit`'s probe) or "fit" (`Model.fit`).
        precision: a Keras dtype policy: float32, mixed_float16 or mixed_bfloat16.
        device: "cpu" or "gpu" (on TensorFlow, the ops are placed there).
        steps: timed training steps (and inference repeats).
        warmup: untimed steps after the first.
        model_kwargs: hyper-parameters for the factory.
        peak_flops: the device's peak FLOP/s for MFU (default: the cached `zoo peak`).
        steps_per_execution: training steps per call of the compiled step ("fit" and
            "pipeline").
        dataset, data_dir: the prepared real dataset "pipeline" reads (never downloads).
    """
    spec = registry.get_spec(name)
    task = tasks.get(spec.task)
    if mode not in MODES:
        raise InvalidArgumentError(f"Unknown mode {mode!r}. Allowed: {', '.join(MODES)}.")
    if precision not in PRECISIONS:
        raise InvalidArgumentError(
            f"Unknown precision {precision!r}. Allowed: {', '.join(PRECISIONS)}."
        )
    batch_size = batch_size or spec.recipe.batch_size
    for label, value in (("batch_size", batch_size), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(
                f"{label} must be a positive integer; received: {label}={value!r}."
            )
    model_kwargs = registry.check_overrides(spec, dict(model_kwargs or {}))
    import keras

    backend = keras.backend.backend()
    if mode == "pipeline":
        if backend != "tensorflow":
            raise InvalidArgumentError(
                f'mode "pipeline" feeds tf.data, which needs TensorFlow; the {backend} '
                "backend is running.",
                "Use mode fit, or KERAS_BACKEND=tensorflow.",
            )
        if not dataset or dataset == "synthetic":
            raise InvalidArgumentError(
                'mode "pipeline" reads a real dataset; pass dataset= (e.g. fashion_mnist).'
            )
        real = zdata.load(spec.task, dataset, data_dir=data_dir, hints=spec.defaults)
        model_kwargs = {
            **{k: v for k, v in real.model_kwargs.items() if k in spec.defaults},
            **model_kwargs,
        }
    x, y, data = _batch(spec, model_kwargs, batch_size)
    model_kwargs = {
        **{k: v for k, v in data.model_kwargs.items() if k in spec.defaults},
        **model_kwargs,
    }

    from zoo import runtime
    from zoo.perf import peak
    from zoo.training.compile import build_model, compile_model

    # The same run settings as training: seeds, dtype policy (restored after), device.
    with runtime.apply(runtime.RunConfig(device=device, precision=precision), seed=0):

        def build(jit_compile: bool, spe: int = 1):
            # exactly the graph `zoo train` trains (float32 output under mixed precision)
            return compile_model(
                build_model(name, model_kwargs, precision),
                task,
                keras.optimizers.Adam(1e-4),
                precision=precision,
                jit_compile=jit_compile,
                steps_per_execution=spe,
                run_eagerly=mode == "eager",
                metrics=False,
            )

        # The batch lives on the device as tensors, as a hand-written loop would keep it:
        # NumPy arrays would be copied into a tensor on every step.
        x = keras.tree.map_structure(keras.ops.convert_to_tensor, x)
        y = keras.ops.convert_to_tensor(y)
        probe = None
        jit = mode == "xla"
        if mode == "auto":
            from zoo.perf import autojit

            key = autojit.cache_key(name, model_kwargs, batch_size, device, precision)
            probe = autojit.choose(build, x, y, key=key)
            jit = probe["jit_compile"]
        if mode in ("fit", "pipeline"):
            model = build(False, steps_per_execution)
            if backend == "tensorflow":
                from zoo.data import pipeline

                feed = {
                    "x": pipeline.make(
                        real.x_train, real.y_train, batch_size, shuffle=True
                    ).repeat()
                    if mode == "pipeline"
                    else pipeline.repeated(x, y)
                }
            else:  # the batch repeated as arrays: `steps` batches make an epoch
                tile = np.arange(steps * batch_size) % batch_size
                feed = {
                    "x": keras.tree.map_structure(lambda a: np.asarray(a)[tile], x),
                    "y": np.asarray(y)[tile],
                    "batch_size": batch_size,
                }
            compile_s, step_times = _fit_epochs(model, feed, steps, max(warmup, 2))
        else:
            model = build(jit)
            compile_s = _timed(lambda: model.train_on_batch(x, y), 1)[0]
            for _ in range(warmup):
                model.train_on_batch(x, y)
            step_times = _timed(lambda: model.train_on_batch(x, y), steps)

        one = {k: v[:1] for k, v in x.items()} if isinstance(x, dict) else x[:1]
        model.predict_on_batch(one)
        model.predict_on_batch(x)
        latency = _timed(lambda: model.predict_on_batch(one), max(steps, 20))
        throughput = _timed(lambda: model.predict_on_batch(x), max(steps // 2, 3))
        resolved_xla = bool(getattr(model, "jit_compile", False))

    counted = zflops.count(model, batch_size=batch_size)
    median = statistics.median(step_times)
    samples_per_s = batch_size / median
    train_flops_per_s = counted["train"] * samples_per_s
    if peak_flops is None:
        peak_flops = peak.cached_peak_flops(device, precision)
    return ProfileResult(
        model=spec.name,
        family=spec.family,
        task=spec.task,
        backend=keras.backend.backend(),
        device=device,
        mode=mode,
        precision=precision,
        batch_size=batch_size,
        params=int(model.count_params()),
        flops={"forward_per_sample": counted["forward"], "train_per_sample": counted["train"]},
        compile_s=compile_s,
        train={
            "step_ms_median": 1e3 * median,
            "step_ms_p10": 1e3 * _percentile(step_times, 10),
            "step_ms_p90": 1e3 * _percentile(step_times, 90),
            "samples_per_s": samples_per_s,
            "steps": steps,
        },
        infer={
            "p50_ms": 1e3 * _percentile(latency, 50),
            "p90_ms": 1e3 * _percentile(latency, 90),
            "p99_ms": 1e3 * _percentile(latency, 99),
            "samples_per_s": batch_size / statistics.median(throughput),
        },
        peak_memory_mb=peak_memory_mb(device),
        train_flops_per_s=train_flops_per_s,
        mfu=train_flops_per_s / peak_flops if peak_flops else None,
        resolved={
            "jit_compile": resolved_xla,
            "run_eagerly": mode == "eager",
            "jit_probe": probe,
            "steps_per_execution": steps_per_execution if mode in ("fit", "pipeline") else 1,
            "dataset": dataset if mode == "pipeline" else "one synthetic batch in memory",
            "dtype_policy": precision,
            "threads": runtime.threads(),
            "uncounted_layers": counted["uncounted"],
        },
        env=io.environment(),
    )
