"""The fairness manifest: every setting of a measurement that changes its speed or numerics.

Each profile and bench record carries one (field "manifest"), read back from the process
that ran the step: what really ran, not what was asked. `zoo compare` refuses two runs
whose manifests differ in a speed-relevant setting (`zoo.choices.SPEED_SETTINGS`) unless
the difference is allowed (docs/benchmarks.md#fair-comparisons).

Collecting is cheap: it imports only the backend that ran (already imported), reads
/proc/cpuinfo and the environment, and asks NVML for the GPU driver only on a GPU.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from importlib import metadata
from typing import Any

from zoo import io
from zoo.choices import MATMUL_PRECISIONS, SPEED_SETTINGS, check_choice
from zoo.errors import UnfairComparisonError

# Recorded, not compared: the case key already holds the mode (`xla` says what it ran
# as), and the machine's CPU count matters only through the CPUs a process may use
# (`threads.cpus`).
RECORDED_ONLY = ("mode", "cpu_count")
FIELDS = SPEED_SETTINGS + RECORDED_ONLY

# Environment variables that size thread pools (OpenMP, MKL, OpenBLAS, TensorFlow's own).
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
XLA_ENV = ("XLA_FLAGS", "TF_XLA_FLAGS")
# The packages a backend's step runs on (beside keras and numpy).
BACKEND_PACKAGES = {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib"), "torch": ("torch",)}
# How `zoo bench` tells its worker processes the matmul precision to pin.
MATMUL_PRECISION_ENV = "ZOO_MATMUL_PRECISION"


def collect(
    *,
    backend: str,
    device: str,
    mode: str,
    precision: str,
    batch_size: int,
    xla: bool,
    warmup_steps: int,
    timed_steps: int,
    steps_per_execution: int = 1,
    data_placement: str = "memory",
    cpuinfo: str | None = None,
) -> dict[str, Any]:
    """The manifest of a measurement that just ran in this process (FIELDS, in order).

    Args:
        backend: the framework that ran the step (a PyTorch reference: "torch").
        xla: whether the step really was XLA-compiled.
        data_placement: "memory" (tensors on the device), "tf.data (batch repeated)",
            "arrays (batch repeated)" or "tf.data pipeline (real data)".
        cpuinfo: /proc/cpuinfo's text (default: read it).
    """
    from zoo.runtime import device as zdevice

    cpu = io.cpu_info(cpuinfo)
    gpu, driver = _gpu(backend, device)
    manifest = {
        "backend": backend,
        "device": device,
        "cpu": cpu["model"] + (f" ({cpu['id']})" if cpu["id"] else ""),
        "cpu_flags": cpu["flags"],
        "gpu": gpu,
        "gpu_driver": driver,
        "versions": versions(backend, data_placement),
        "precision": precision,
        **zdevice.matmul_settings(backend),
        "xla": bool(xla),
        "xla_flags": {k: os.environ[k] for k in XLA_ENV if k in os.environ},
        "threads": threads(backend),
        "onednn": onednn(backend),
        "data_placement": data_placement,
        "batch_size": batch_size,
        "steps_per_execution": steps_per_execution,
        "warmup_steps": warmup_steps,
        "timed_steps": timed_steps,
        "mode": mode,
        "cpu_count": os.cpu_count(),
    }
    return {k: manifest[k] for k in FIELDS}


def versions(backend: str, data_placement: str = "memory") -> dict[str, str | None]:
    """Python's and the packages the step ran on: keras, numpy, the backend's, and
    TensorFlow wherever tf.data fed the data."""
    names = ["keras", "numpy", *BACKEND_PACKAGES.get(backend, ())]
    if data_placement.startswith("tf.data") and "tensorflow" not in names:
        names.append("tensorflow")
    found: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def threads(backend: str) -> dict[str, Any]:
    """The thread pools in force: `intra_op` and `inter_op` as the backend reports them
    (TensorFlow: 0 is its default, one thread per usable CPU; JAX has no setting: None,
    XLA sizes its pool by the usable CPUs), `cpus` (the CPUs this process may use) and
    the pool-sizing variables set in the environment."""
    intra = inter = None
    if backend == "tensorflow":
        import tensorflow as tf

        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
    elif backend == "torch":
        import torch

        intra, inter = torch.get_num_threads(), torch.get_num_interop_threads()
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "intra_op": intra,
        "inter_op": inter,
        "cpus": len(usable) if usable is not None else os.cpu_count(),
        "env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
    }


def onednn(backend: str) -> dict[str, Any] | None:
    """oneDNN: whether the backend uses it (TensorFlow: TF_ENABLE_ONEDNN_OPTS, on by
    default on x86; PyTorch: its mkldnn switch) and oneDNN's float math mode (set, it
    lets float32 run in bf16 or TF32). None for JAX."""
    fpmath = os.environ.get("ONEDNN_DEFAULT_FPMATH_MODE")
    if backend == "tensorflow":
        return {"enabled": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0", "fpmath": fpmath}
    if backend == "torch":
        import torch

        return {"enabled": bool(torch.backends.mkldnn.enabled), "fpmath": fpmath}
    return None


def _gpu(backend: str, device: str) -> tuple[str | None, str | None]:
    """The model of the GPU the step ran on, as the backend names it, and the driver's
    version (from NVML when `pynvml` is importable; else None). (None, None) on a CPU."""
    from zoo.runtime import device as zdevice

    if device == "cpu" or (device == "auto" and not zdevice.gpus()):
        return None, None
    index = int(device.split(":")[1]) if ":" in device else 0
    name = None
    with contextlib.suppress(ImportError, IndexError, RuntimeError, ValueError):
        if backend == "tensorflow":
            import tensorflow as tf

            gpu = tf.config.list_physical_devices("GPU")[index]
            name = tf.config.experimental.get_device_details(gpu).get("device_name")
        elif backend == "jax":
            import jax

            name = jax.devices("gpu")[index].device_kind
        elif backend == "torch":
            import torch

            name = torch.cuda.get_device_name(index)
    return name, _driver()


def _driver() -> str | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        version = pynvml.nvmlSystemGetDriverVersion()
    except pynvml.NVMLError:
        return None
    return version.decode() if isinstance(version, bytes) else str(version)


# --- bench: the matmul precision its workers pin ------------------------------------------


def bench_matmul_precision(requested: str | None, backends: Iterable[str]) -> str:
    """What `zoo bench` pins: the request, else "highest" when the cases run on several
    backends (their defaults differ: TF32 or not) and "default" on one."""
    if requested is not None:
        check_choice("matmul precision", requested, MATMUL_PRECISIONS)
        return requested
    return "highest" if len(set(backends)) > 1 else "default"


@contextlib.contextmanager
def workers_pin(matmul_precision: str) -> Iterator[None]:
    """Worker processes started inside the block pin this matmul precision (the variable
    MATMUL_PRECISION_ENV, read by `zoo.perf.worker`); the environment is restored after."""
    check_choice("matmul precision", matmul_precision, MATMUL_PRECISIONS)
    previous = os.environ.get(MATMUL_PRECISION_ENV)
    os.environ[MATMUL_PRECISION_ENV] = matmul_precision
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MATMUL_PRECISION_ENV, None)
        else:
            os.environ[MATMUL_PRECISION_ENV] = previous


# --- comparing two runs ----------------------------------------------------------------------


def differences(base: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    """The speed-relevant settings whose values differ: {setting: (base's, new's)}."""
    return {k: (base.get(k), new.get(k)) for k in SPEED_SETTINGS if base.get(k) != new.get(k)}


def describe(setting: str, base: Any, new: Any) -> str:
    """A setting and both its values, as one phrase; of a dict only the keys that differ:
    `threads (intra_op=1 in BASE, intra_op=2 in NEW)`."""
    if isinstance(base, dict) and isinstance(new, dict):
        keys = [k for k in {**base, **new} if base.get(k) != new.get(k)]
        a = ", ".join(f"{k}={_text(base.get(k))}" for k in keys)
        b = ", ".join(f"{k}={_text(new.get(k))}" for k in keys)
        return f"{setting} ({a} in BASE, {b} in NEW)"
    return f"{setting} ({_text(base)} in BASE, {_text(new)} in NEW)"


def _text(value: Any) -> str:
    if value is None:
        return "none recorded"
    if isinstance(value, list):
        return " ".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "none set"
    return str(value)


def check(
    pairs: dict[str, tuple[dict | None, dict | None]], allow: Iterable[str] = ()
) -> dict[str, dict[str, tuple[Any, Any]]]:
    """The speed-relevant differences of matched cases, {case: {setting: (base, new)}},
    for the cases whose two records both carry a manifest.

    Raises:
        InvalidArgumentError: `allow` names something that is not a speed setting.
        UnfairComparisonError: a difference that `allow` does not name.
    """
    allow = set(allow)
    for name in sorted(allow):
        check_choice("setting", name, SPEED_SETTINGS)
    found = {
        case: diff
        for case, (a, b) in pairs.items()
        if a is not None and b is not None and (diff := differences(a, b))
    }
    refused = {c: [s for s in d if s not in allow] for c, d in found.items()}
    refused = {c: names for c, names in refused.items() if names}
    if refused:
        raise _unfair(refused, found, len(pairs))
    return found


def _unfair(refused: dict[str, list[str]], found: dict, total: int) -> UnfairComparisonError:
    """One line: the first refused setting with both values, in which case(s)."""
    case = next(iter(refused))
    setting = refused[case][0]
    names = list(dict.fromkeys(s for ss in refused.values() for s in ss))
    what = describe(setting, *found[case][setting])
    if len(refused) < total:
        what += f" in {len(refused)} of {total} cases (first: {case})"
    also = f"; also in {', '.join(names[1:])}" if len(names) > 1 else ""
    return UnfairComparisonError(
        f"BASE and NEW differ in {what}{also}.",
        f"Pass --allow-different {','.join(names)} to compare them anyway.",
    )
