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
  `train_on_batch` call; "auto" lets `zoo.runtime.autojit` choose graph or XLA from its cached
  probe, then times the choice; "fit" times the path `zoo train` takes, `Model.fit` (with
  `steps_per_execution`), over the batch repeated from memory: whole epochs of `steps`
  steps, each ended by Keras fetching the logs, the first epoch apart as `compile_s`;
  "pipeline" is "fit" fed by the zoo's tf.data pipeline (`zoo.data.pipeline.make`: index
  shuffle, batch, gather, prefetch) over the training split of a real `dataset`, timed in rounds
  interleaved with the same model fed one batch of that data from memory (`memory_fit`),
  each round one `fit` call of an untimed epoch and a timed one.
- The fixed cost of a step (`overhead`): the step of linear_regression (next to no
  arithmetic) in the same mode, device, precision and steps per execution, measured once
  per machine fingerprint (`zoo.perf.peak.measurement_key`) and cached. `bottleneck` is
  `zoo.perf.bottleneck.verdict` of the record: a kind, the figures and thresholds that
  decided it, and `unknown` naming what was not measured.
- Peak memory: on a GPU, the backend's own peak for the device (JAX's `memory_stats`,
  PyTorch's `max_memory_allocated`, TensorFlow's `get_memory_info`), None where the backend
  gives none, never host memory in its place; on CPU, the peak resident set of this
  process (run each case in its own process to measure one model alone).
- Energy (`energy`): on an NVIDIA GPU, the joules NVML counts over the timed steps, their
  mean power and joules per training sample (`zoo.perf.energy`); elsewhere why not.
- MFU: achieved training FLOP/s over the matmul peak of the same machine, backend,
  device, dtype and float32 matmul precision (`zoo.perf.peak.device_peak`: cached, else
  measured in this process after the step, in a second or two); the record's `peak` is
  the entry used, with its fingerprint.
- The record's `manifest` (`zoo.perf.manifest`) holds every setting that changes speed or
  numerics, read back from the process: what `zoo compare` checks before comparing.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo import data as zdata
from zoo import io, registry, tasks
from zoo.choices import FIT_MODES, PRECISIONS, PROFILE_MODES, check_choice, check_positive
from zoo.errors import InvalidArgumentError
from zoo.perf import bottleneck, energy
from zoo.perf import flops as zflops
from zoo.perf import manifest as zmanifest
from zoo.spec import ModelSpec


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
    peak_memory_mb: float | None  # None: a GPU whose backend keeps no statistics
    train_flops_per_s: float
    mfu: float | None
    resolved: dict[str, Any]  # what really ran: jit_compile, precision policy, threads
    env: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)  # zoo.perf.manifest: fairness
    activations_per_sample: int | None = None  # layer output elements (memory estimate)
    memory_fit: dict[str, float] | None = None  # pipeline: the in-memory fit, interleaved
    overhead: dict[str, Any] | None = None  # the fixed per-step cost (see the docstring)
    peak: dict[str, Any] | None = None  # the device peak behind `mfu` (zoo.perf.peak)
    energy: dict[str, Any] | None = None  # GPU joules over the timed steps (zoo.perf.energy)
    bottleneck: dict[str, Any] = field(default_factory=dict)  # zoo.perf.bottleneck.verdict

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def _percentile(values, q) -> float:
    return float(np.percentile(np.asarray(values), q))


def synthetic_batch(spec: ModelSpec, model_kwargs: dict, batch_size: int):
    """One fixed batch of the task's synthetic data, shaped for the model: (x, y, kwargs),
    kwargs being `model_kwargs` completed with the sizes the data implies (vocabulary,
    sequence length...). Profiling and the hand-written references train on it."""
    hints = {**spec.defaults, **model_kwargs}
    if spec.task == "language_modeling" and hints["vocab_size"] > zdata.synthetic.MAX_MARKOV_VOCAB:
        # A published tokenizer's vocabulary (GPT-2: 50,257): timing needs no Markov text.
        rng = np.random.default_rng(0)
        tokens = rng.integers(
            1, hints["vocab_size"], size=(batch_size, hints["sequence_length"] + 1)
        )
        implied = _known(spec, {k: hints[k] for k in ("vocab_size", "sequence_length")})
        x, y = tokens[:, :-1].astype("int32"), tokens[:, 1:].astype("int32")
        return x, y, {**implied, **model_kwargs}
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
    return x, data.y_train[take], {**_known(spec, data.model_kwargs), **model_kwargs}


def _known(spec: ModelSpec, kwargs: dict) -> dict:
    """The entries of `kwargs` that are hyper-parameters of the model."""
    return {k: v for k, v in kwargs.items() if k in spec.defaults}


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def time_calls(step: Callable[[], Any], steps: int, warmup: int) -> tuple[float, list[float]]:
    """Times the first call apart (it traces and compiles), then `steps` calls after
    `warmup` untimed ones; each call must return only once its work is done."""
    first = _timed(step, 1)[0]
    for _ in range(warmup):
        step()
    return first, _timed(step, steps)


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


def peak_memory_mb(device: str) -> float | None:
    """Peak memory of this process (CPU, resident set) or of the GPU (its backend's; None
    where the backend keeps no statistics: never host memory for a GPU's)."""
    index = int(device.split(":")[1]) if ":" in device else 0
    if device.startswith("gpu") and _backend() == "jax":
        import jax

        stats = jax.devices("gpu")[index].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"] / 2**20
    if device.startswith("gpu") and _backend() == "torch":
        import torch

        return torch.cuda.max_memory_allocated(index) / 2**20
    if device.startswith("gpu"):
        try:
            import tensorflow as tf

            return tf.config.experimental.get_memory_info(f"GPU:{index}")["peak"] / 2**20
        except (ImportError, ValueError):
            pass
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 2**10)


@dataclass
class _Run:
    """What one profile run is: the checked request and what it trains on."""

    spec: ModelSpec
    mode: str
    precision: str
    device: str
    batch_size: int
    steps: int = 20
    warmup: int = 3
    steps_per_execution: int = 1
    dataset: str | None = None
    model_kwargs: dict = field(default_factory=dict)
    real: Any = None  # mode pipeline: the real dataset fit reads

    def setting(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("mode", "precision", "device", "batch_size")}


@dataclass
class Timing:
    """The training clock: the first step (trace and compile) apart, then timed steps."""

    compile_s: float
    step_times: list[float]  # seconds per step
    steps: int  # timed steps
    warmup: int = 0  # untimed steps after the first
    memory: dict[str, float] | None = None  # pipeline: the in-memory fit's step, interleaved
    energy: dict[str, Any] | None = None  # GPU energy over the timed steps (zoo.perf.energy)
    # window(n): n more steps timed, their seconds per step (the median; fit: an epoch's
    # mean after an untimed one); None in mode pipeline
    window: Callable[[int], float] | None = None


# serve(window, step_s): a caller's use of the warm model between training and inference
# (`zoo.perf.ab`'s timed windows): window as `Timing.window`, step_s the median step.
Serve = Callable[[Callable[[int], float] | None, float], None]


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
    replicas: int = 1,
    serve: Serve | None = None,
) -> ProfileResult:
    """Profiles training and inference of a registry model (see the module docstring).

    Args:
        name: a registry name.
        batch_size: examples per step (default: the model's recipe).
        mode: "eager" (no tf.function), "graph" (compiled, no XLA), "xla", "auto" (the
            faster of graph and XLA by `zoo.runtime.autojit`'s probe) or "fit" (`Model.fit`).
        precision: a Keras dtype policy: float32, mixed_float16 or mixed_bfloat16.
        device: "cpu" or "gpu" (on TensorFlow, the ops are placed there).
        steps: timed training steps (and inference repeats).
        warmup: untimed steps after the first.
        model_kwargs: hyper-parameters for the factory.
        peak_flops: the device's peak FLOP/s for MFU (default: `zoo.perf.peak.device_peak`,
            cached or measured now).
        steps_per_execution: training steps per call of the compiled step ("fit" and
            "pipeline").
        dataset, data_dir: the prepared real dataset "pipeline" reads (never downloads).
        replicas: devices the global batch is split over (keras.distribution's
            data_parallel on JAX; the process must see that many: on a CPU, XLA's host
            platform split, which `zoo bench` sets for a case).
        serve: `Serve`: timed windows on demand from the warm model (`zoo.perf.ab`).
    """
    from zoo import runtime

    spec, device = registry.get_spec(name), runtime.device.resolve(device)  # never "auto"
    run = _Run(spec, mode, precision, device, batch_size or spec.recipe.batch_size, steps)
    run.warmup, run.steps_per_execution, run.dataset = warmup, steps_per_execution, dataset
    run.model_kwargs = dict(model_kwargs or {})
    _check(run)
    if mode == "pipeline":
        _read_real(run, data_dir)
    x, y, run.model_kwargs = synthetic_batch(spec, run.model_kwargs, run.batch_size)
    model, timing, infer, resolved, overhead = _measure(run, x, y, replicas, serve)
    return make_result(
        spec,
        model,
        run.setting(),
        timing,
        infer=infer,
        resolved=resolved,
        peak_flops=peak_flops,
        overhead=overhead,
    )


def _measure(run: _Run, x, y, replicas: int, serve: Serve | None = None):
    """(model, training clock, inference, what ran, step overhead), under the same run
    settings as training: seeds, dtype policy (restored after), device or devices."""
    from zoo import runtime

    strategy = "data_parallel" if replicas != 1 else "none"
    config = runtime.RunConfig(device=run.device, precision=run.precision, strategy=strategy)
    with runtime.apply(config, seed=0, batch_size=run.batch_size) as placed:
        _check_replicas(placed, replicas)
        x, y = _on_device(x, y)
        model, timing, probe = _time_training(run, _builder(run, (x, y)), x, y)
        if serve is not None:
            serve(timing.window, statistics.median(timing.step_times))
        resolved = _resolved(run, model, probe, runtime.threads())
        if replicas == 1:
            infer = _time_inference(model, x, run.batch_size, run.steps)
            overhead = dispatch_overhead(run, resolved["jit_compile"])
        else:  # a batch of 1 does not split: training alone is timed across devices
            infer, overhead = dict.fromkeys(("p50_ms", "p90_ms", "p99_ms", "samples_per_s")), None
            resolved.update({k: placed[k] for k in ("strategy", "replicas", "replica_devices")})
    return model, timing, infer, resolved, overhead


def _check_replicas(placed: dict[str, Any], replicas: int) -> None:
    """The devices really split over are the ones asked for."""
    found = placed.get("replicas", 1)
    if found != replicas:
        raise InvalidArgumentError(
            f"The case asks for {replicas} devices; data_parallel found {found}.",
            "On a CPU, set XLA_FLAGS=--xla_force_host_platform_device_count=N before "
            "JAX starts (zoo bench does for a case).",
        )


def _resolved(run: _Run, model, probe: dict | None, threads: Any) -> dict[str, Any]:
    """What really ran."""
    mode = run.mode
    return {
        "jit_compile": bool(getattr(model, "jit_compile", False)),
        "run_eagerly": mode == "eager",
        "jit_probe": probe,
        "steps_per_execution": run.steps_per_execution if mode in FIT_MODES else 1,
        "dataset": run.dataset if mode == "pipeline" else "one synthetic batch in memory",
        "data_placement": _placement(mode),
        "dtype_policy": run.precision,
        "threads": threads,
    }


def _placement(mode: str) -> str:
    """Where the training data comes from (see `_fit_feed`)."""
    if mode == "pipeline":
        return "tf.data pipeline (real data)"
    if mode not in FIT_MODES:
        return "memory"
    return "tf.data (batch repeated)" if _backend() == "tensorflow" else "arrays (batch repeated)"


def _check(run: _Run) -> None:
    """The request against the vocabulary and the model; overrides checked in place."""
    check_choice("mode", run.mode, PROFILE_MODES)
    check_choice("precision", run.precision, PRECISIONS)
    check_positive("batch_size", run.batch_size)
    check_positive("steps", run.steps)
    run.model_kwargs = registry.check_overrides(run.spec, run.model_kwargs)


def _read_real(run: _Run, data_dir: str | None) -> None:
    """Mode pipeline: the prepared real dataset (TensorFlow's tf.data feeds it)."""
    backend = _backend()
    if backend != "tensorflow":
        raise InvalidArgumentError(
            f'mode "pipeline" feeds tf.data, which needs TensorFlow; the {backend} '
            "backend is running.",
            "Use mode fit, or KERAS_BACKEND=tensorflow.",
        )
    if not run.dataset or run.dataset == "synthetic":
        raise InvalidArgumentError(
            'mode "pipeline" reads a real dataset; pass dataset= (e.g. fashion_mnist).'
        )
    spec = run.spec
    run.real = zdata.load(spec.task, run.dataset, data_dir=data_dir, hints=spec.defaults)
    run.model_kwargs = {**_known(spec, run.real.model_kwargs), **run.model_kwargs}


def _on_device(x, y):
    """The batch as tensors on the device, as a hand-written loop would keep it: NumPy
    arrays would be copied into a tensor on every step."""
    import keras

    x = keras.tree.map_structure(keras.ops.convert_to_tensor, x)
    return x, keras.ops.convert_to_tensor(y)


def _builder(run: _Run, sample: tuple[Any, Any]) -> Callable[..., Any]:
    """build(jit_compile, steps_per_execution): exactly the graph `zoo train` trains
    (float32 output under mixed precision), through the shared zoo.training.compile, its
    variables built from `sample` (x, y) before the first step as `zoo train` builds them."""
    import keras

    from zoo.training.compile import build_model, compile_model, prebuild

    task = tasks.get(run.spec.task)

    def build(jit_compile: bool, spe: int = 1):
        model = compile_model(
            build_model(run.spec.name, run.model_kwargs, run.precision),
            task,
            keras.optimizers.Adam(1e-4),
            precision=run.precision,
            jit_compile=jit_compile,
            steps_per_execution=spe,
            run_eagerly=run.mode == "eager",
            metrics=False,
        )
        prebuild(model, *sample)
        return model

    return build


def _time_training(run: _Run, build, x, y) -> tuple[Any, Timing, dict | None]:
    """(model, its training clock, the XLA probe of mode auto)."""
    if run.mode == "pipeline":
        return (*_time_pipeline(run, build), None)
    if run.mode in FIT_MODES:
        model = build(False, run.steps_per_execution)
        feed = _fit_feed(run, x, y)
        epochs = max(run.warmup, 2)
        compile_s, step_times = _fit_epochs(model, feed, run.steps, epochs)
        # The first epoch is untimed (it traces); each later one is timed whole.
        timing = Timing(compile_s, step_times, run.steps * epochs, run.steps - 1)
        # A fresh fit call's first epoch makes its iterator: untimed, as in the clock.
        timing.window = lambda n: _fit_epochs(model, _fit_feed(run, x, y, n), n, 1)[1][0]
        return model, timing, None
    probe, jit = None, run.mode == "xla"
    if run.mode == "auto":
        from zoo.runtime import autojit

        key = autojit.cache_key(
            run.spec.name, run.model_kwargs, run.batch_size, run.device, run.precision
        )
        probe = autojit.choose(build, x, y, key=key)
        jit = probe["jit_compile"]
    model = build(jit)

    def step():
        return model.train_on_batch(x, y)

    compile_s = _timed(step, 1)[0]  # as time_calls, with the timed steps metered
    for _ in range(run.warmup):
        step()
    with energy.meter(run.device) as reading:
        step_times = _timed(step, run.steps)
    used = energy.per_sample(reading, run.steps * run.batch_size)
    timing = Timing(compile_s, step_times, run.steps, run.warmup, energy=used)
    timing.window = lambda n: statistics.median(_timed(step, n))
    return model, timing, probe


def _time_pipeline(run: _Run, build) -> tuple[Any, Timing]:
    """Mode pipeline: the tf.data pipeline over the real data, and the same model fed its
    first batch repeated from memory, alternating rounds of one `fit` call each (an
    untimed epoch, then a timed one); the pipeline's clock, the memory fit's in `memory`."""
    from zoo.data import pipeline

    real, n = run.real, run.batch_size
    x = real.x_train
    xb = {k: v[:n] for k, v in x.items()} if isinstance(x, dict) else x[:n]
    feeds = {
        "pipeline": {"x": pipeline.make(x, real.y_train, n, shuffle=True).repeat()},
        "memory": {"x": pipeline.repeated(xb, real.y_train[:n])},
    }
    models = {k: build(False, run.steps_per_execution) for k in feeds}
    first: dict[str, float] = {}
    times: dict[str, list[float]] = {k: [] for k in feeds}
    rounds = max(run.warmup, 2)
    for _ in range(rounds):
        for k, feed in feeds.items():
            warm, timed = _fit_epochs(models[k], feed, run.steps, 1)
            first.setdefault(k, warm)
            times[k] += timed
    step = statistics.median(times["memory"])
    memory = {"step_ms_median": 1e3 * step, "samples_per_s": n / step, "steps": run.steps * rounds}
    clock = Timing(first["pipeline"], times["pipeline"], run.steps * rounds, run.steps * rounds - 1)
    clock.memory = memory
    return models["pipeline"], clock


OVERHEAD_MODEL, OVERHEAD_BATCH = "linear_regression", 8  # next to no arithmetic per step
OVERHEAD_CACHE = "overhead.json"


def dispatch_overhead(run: _Run, jit_compile: bool) -> dict[str, Any]:
    """The fixed cost of one training step in the run's mode (pipeline: fit from memory),
    device, precision and steps per execution: the median step of OVERHEAD_MODEL at batch
    OVERHEAD_BATCH, measured once per machine fingerprint and backend, then cached."""
    from zoo.perf import peak

    mode = "fit" if run.mode in FIT_MODES else run.mode
    if mode == "auto":
        mode = "xla" if jit_compile else "graph"
    spe = run.steps_per_execution if mode == "fit" else 1
    key = peak.measurement_key(run.device, "step overhead", mode, run.precision, spe)
    cached = io.read_cache(OVERHEAD_CACHE).get(key)
    if cached:
        return {**cached, "cached": True}
    probe = _Run(registry.get_spec(OVERHEAD_MODEL), mode, run.precision, run.device, OVERHEAD_BATCH)
    probe.steps_per_execution = spe
    x, y, probe.model_kwargs = synthetic_batch(probe.spec, {}, OVERHEAD_BATCH)
    x, y = _on_device(x, y)
    _, timing, _ = _time_training(probe, _builder(probe, (x, y)), x, y)
    entry = {
        "step_ms": 1e3 * statistics.median(timing.step_times),
        "model": OVERHEAD_MODEL,
        "batch_size": OVERHEAD_BATCH,
        "mode": mode,
        "steps_per_execution": spe,
    }
    io.write_cache(OVERHEAD_CACHE, key, entry)
    return {**entry, "cached": False}


def activations_per_sample(model) -> int:
    """Output elements of every layer call per example (nested models expanded): what a
    step writes and reads back as activations, for the memory-traffic estimate."""
    first = tuple(model.inputs[0].shape) if getattr(model, "inputs", None) else ()
    length = first[1] if len(first) == 2 and isinstance(first[1], int) else None
    return sum(zflops._n(s) for _, _, outs in zflops._calls(model, length=length) for s in outs)


def _fit_feed(run: _Run, x, y, steps: int | None = None) -> dict[str, Any]:
    """What `fit` reads: the batch repeated, through tf.data on TensorFlow, else as arrays
    (`steps`, default the run's, batches make an epoch). Mode pipeline has its own
    (`_time_pipeline`)."""
    if _backend() == "tensorflow":
        from zoo.data import pipeline

        return {"x": pipeline.repeated(x, y)}
    import keras

    tile = np.arange((steps or run.steps) * run.batch_size) % run.batch_size
    return {
        "x": keras.tree.map_structure(lambda a: np.asarray(a)[tile], x),
        "y": np.asarray(y)[tile],
        "batch_size": run.batch_size,
    }


def _time_inference(model, x, batch_size: int, steps: int) -> dict[str, float]:
    """Latency at batch 1 (p50, p90, p99) and throughput at the benchmark batch."""
    one = {k: v[:1] for k, v in x.items()} if isinstance(x, dict) else x[:1]
    model.predict_on_batch(one)
    model.predict_on_batch(x)
    latency = _timed(lambda: model.predict_on_batch(one), max(steps, 20))
    throughput = _timed(lambda: model.predict_on_batch(x), max(steps // 2, 3))
    return {
        "p50_ms": 1e3 * _percentile(latency, 50),
        "p90_ms": 1e3 * _percentile(latency, 90),
        "p99_ms": 1e3 * _percentile(latency, 99),
        "samples_per_s": batch_size / statistics.median(throughput),
    }


def make_result(
    spec: ModelSpec,
    model,
    setting: dict[str, Any],
    timing: Timing,
    *,
    infer: dict[str, float],
    resolved: dict[str, Any],
    peak_flops: float | None = None,
    params: int | None = None,
    framework: str | None = None,
    overhead: dict[str, Any] | None = None,
) -> ProfileResult:
    """The one record of a measurement, the zoo's and the references' alike.

    Args:
        model: a Keras model of the architecture: FLOPs are counted on it (and its
            parameters, unless `params` is given).
        setting: mode, precision, device and batch_size.
        resolved: what really ran: jit_compile, and where they apply steps_per_execution
            and data_placement.
        peak_flops: the peak for MFU (default: `zoo.perf.peak.device_peak` of the
            device and precision: cached, else measured now).
        framework: what ran the step, for the manifest (default: the Keras backend).
        overhead: the fixed per-step cost (`dispatch_overhead`), for the verdict.
    """
    batch_size, device = setting["batch_size"], setting["device"]
    counted = zflops.count(model, batch_size=batch_size)
    median = statistics.median(timing.step_times)
    train_flops_per_s = counted["train"] * batch_size / median
    memory_mb = peak_memory_mb(device)  # before the peak's arrays could add to it
    device_peak = _device_peak(setting, peak_flops, train_flops_per_s)
    peak_flops = device_peak.get("matmul_flops_per_s")
    result = ProfileResult(
        model=spec.name,
        family=spec.family,
        task=spec.task,
        backend=_backend(),
        **setting,
        params=int(model.count_params()) if params is None else params,
        flops={"forward_per_sample": counted["forward"], "train_per_sample": counted["train"]},
        compile_s=timing.compile_s,
        train=_train_figures(timing, batch_size),
        infer=infer,
        peak_memory_mb=memory_mb,
        train_flops_per_s=train_flops_per_s,
        mfu=train_flops_per_s / peak_flops if peak_flops else None,
        resolved={**resolved, "uncounted_layers": counted["uncounted"]},
        env=io.environment(),
        manifest=_manifest(setting, timing, resolved, framework or _backend()),
        activations_per_sample=activations_per_sample(model),
        memory_fit=timing.memory,
        overhead=overhead,
        peak=device_peak,
        energy=timing.energy,
    )
    result.bottleneck = bottleneck.verdict(result.to_dict())
    return result


def _device_peak(setting: dict[str, Any], peak_flops: float | None, achieved: float):
    """The peak behind MFU: the one given, else the device's (cached, measured now, or
    measured again where the cached one is below the `achieved` FLOP/s); a measurement
    that fails (a GPU out of memory) leaves MFU unknown and says why."""
    if peak_flops is not None:
        return {"matmul_flops_per_s": peak_flops, "source": "given"}
    from zoo.perf import peak

    try:
        return peak.device_peak(setting["device"], setting["precision"], at_least=achieved)
    except Exception as e:  # the profile stands; its verdict names the missing peak
        return {"error": f"{type(e).__name__}: {e}".splitlines()[0][:300]}


def _train_figures(timing: Timing, batch_size: int) -> dict[str, float]:
    median = statistics.median(timing.step_times)
    return {
        "step_ms_median": 1e3 * median,
        "step_ms_p10": 1e3 * _percentile(timing.step_times, 10),
        "step_ms_p90": 1e3 * _percentile(timing.step_times, 90),
        "samples_per_s": batch_size / median,
        "steps": timing.steps,
    }


def _manifest(setting: dict, timing: Timing, resolved: dict, framework: str) -> dict[str, Any]:
    """The fairness manifest of this measurement (read back from this process)."""
    return zmanifest.collect(
        backend=framework,
        device=setting["device"],
        mode=setting["mode"],
        precision=setting["precision"],
        batch_size=setting["batch_size"],
        xla=bool(resolved.get("jit_compile")),
        warmup_steps=timing.warmup,
        timed_steps=timing.steps,
        steps_per_execution=resolved.get("steps_per_execution", 1),
        data_placement=resolved.get("data_placement", "memory"),
    )
