"""The shared vocabulary: every list of allowed values, written once.

The library validates against these tuples and the CLI builds its enums from them, so a
new precision or schedule is added here and nowhere else. Importing this module imports
nothing but the standard library.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import InvalidArgumentError

# Keras dtype policies; the output layer stays float32, float16 gets loss scaling.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# What a profiled or benchmarked step is: eager (no tf.function), graph (compiled, no XLA),
# xla, auto (the faster of the two by a cached probe), fit (Keras' own loop), pipeline
# (fit fed by the tf.data pipeline), and the hand-written references.
PROFILE_MODES = ("eager", "graph", "xla", "auto", "fit", "pipeline")
REFERENCE_MODES = ("ref_tf", "ref_torch")
MODES = PROFILE_MODES + REFERENCE_MODES
# Modes that need TensorFlow whatever the backend.
TENSORFLOW_MODES = ("pipeline", "ref_tf")
# Modes that feed fit(), where steps_per_execution applies.
FIT_MODES = ("fit", "pipeline")
BACKENDS = ("tensorflow", "jax", "torch")
# The pip extra of keras-zoo that installs a backend (pyproject's optional-dependencies);
# None for TensorFlow, a dependency of keras-zoo itself: `pip install tensorflow`.
BACKEND_EXTRA = {"tensorflow": None, "jax": "jax", "torch": "torch"}


def not_installed(backend: str) -> str:
    """Why a backend cannot run, with the install command that fixes it."""
    extra = BACKEND_EXTRA.get(backend)
    how = f"pip install 'keras-zoo[{extra}]'" if extra else f"pip install {backend}"
    return f"the {backend} backend is not installed: {how}"


OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "one_cycle")
# tf.distribute strategies; the CLI spells multi_worker as multi-worker.
STRATEGIES = ("none", "mirrored", "multi_worker", "tpu", "data_parallel", "model_parallel")
JIT_MODES = ("off", "on", "auto")
# What a suite runs per case: a profile (zoo bench), a cross-backend parity run (zoo parity),
# or a training run to a quality target, timed (the time-to-target suite).
SUITE_KINDS = ("profile", "parity", "target")
DEVICES = ("auto", "cpu", "gpu")  # and gpu:N
# `zoo export --format`: the artifact kinds, each loaded back in its own runtime.
EXPORT_FORMATS = ("saved_model", "onnx", "litert", "openvino")
# Keras' `model.quantize` modes the zoo measures (`zoo evaluate/export --quantize`).
QUANTIZE_MODES = ("int8", "int4", "float8")
# What limits a training step (zoo.perf.bottleneck): the tf.data input, the fixed per-step
# dispatch, the arithmetic, memory traffic, or the first step's compile; unknown when the
# measured numbers decide none of them.
BOTTLENECKS = ("input", "dispatch", "compute", "memory", "compile", "unknown")
# Float32 matmul and convolution precision a benchmark pins: "highest" (full float32 on
# every backend: no TF32), or "default" (each backend's own, which differs: TensorFlow and
# JAX allow TF32 on a GPU that has it, PyTorch allows it for convolutions only).
MATMUL_PRECISIONS = ("highest", "default")
# The fields of a measurement's fairness manifest (zoo.perf.manifest) that change speed:
# `zoo compare` refuses two runs whose manifests differ in one of them, unless allowed
# with --allow-different. Library versions are among them: a regression test compares
# code, so an upgrade has to be allowed explicitly (docs/benchmarks.md#fair-comparisons).
SPEED_SETTINGS = (
    "backend",
    "device",
    "cpu",
    "cpu_flags",
    "gpu",
    "gpu_driver",
    "versions",
    "precision",
    "matmul_precision",
    "tf32",
    "xla",
    "xla_flags",
    "threads",
    "onednn",
    "data_placement",
    "batch_size",
    "steps_per_execution",
    "warmup_steps",
    "timed_steps",
)


def check_choice(kind: str, value: Any, allowed: tuple[str, ...]) -> None:
    """Raises InvalidArgumentError unless `value` is one of `allowed`."""
    if value not in allowed:
        raise InvalidArgumentError(f"Unknown {kind} {value!r}. Allowed: {', '.join(allowed)}.")


def check_positive(name: str, value: Any, kind: type = int, optional: bool = False) -> None:
    """The one positive-number check: an int (never a bool) or, with kind=float, any real.

    Raises:
        InvalidArgumentError: naming the argument and the value received.
    """
    if optional and value is None:
        return
    allowed = (int, float) if kind is float else int
    if isinstance(value, bool) or not isinstance(value, allowed) or not value > 0:  # NaN too
        what = "number" if kind is float else "integer"
        raise InvalidArgumentError(f"{name} must be a positive {what}; received: {name}={value!r}.")


def check_seed(value: Any) -> int:
    """A seed as NumPy takes it: an integer from 0 to 2**32 - 1 (never a bool).

    Raises:
        InvalidArgumentError: naming the range and the value received.
    """
    if not hasattr(value, "__index__") or isinstance(value, bool) or not 0 <= value < 2**32:
        raise InvalidArgumentError(
            f"seed must be an integer from 0 to 2**32 - 1 (NumPy's seeds); received: "
            f"seed={value!r}.",
            "For example --seed 0.",
        )
    return int(value)


# How a job run in its own process (zoo.proc) ended: ok; failed (the job reported an error,
# or its process crashed); timeout (no result within its time limit: its whole process group
# was killed); killed (ended by a signal from outside, such as the kernel's out-of-memory
# killer); oom (the framework ran out of device or host memory); skipped (it cannot run
# here: a missing GPU, backend, package or dataset).
RUN_STATUSES = ("ok", "failed", "timeout", "killed", "oom", "skipped")
