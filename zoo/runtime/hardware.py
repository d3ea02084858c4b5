"""Which precisions this hardware really runs, and what an emulated one costs.

A CPU runs bfloat16 matmuls natively with avx512_bf16 or amx_bf16, and float16 ones with
avx512_fp16 or amx_fp16; without them oneDNN converts to float32 and back around every
op, which is slower than float32 itself. A GPU runs float16 natively from compute
capability 7.0 (tensor cores) and bfloat16 from 8.0. `precision_support` says which, from
the ISA flags of `zoo.io.cpu_info` (or the GPU's capability), with the slowdown to expect:
measured on this machine where `zoo bench` has measured it (cached per CPU model and
flags), else the figure measured on a machine of the same kind (`MEASURED`), else None.
`emulation_warning` is the one line the CLI prints. Importing this module imports no
framework; reading a GPU's capability imports the running backend.
"""

from __future__ import annotations

import time
from typing import Any

from zoo import io
from zoo.choices import PRECISIONS, check_choice

# The CPU flags that run each precision's matmuls natively (any one of them suffices).
NATIVE_CPU_FLAGS = {
    "mixed_bfloat16": ("avx512_bf16", "amx_bf16"),
    "mixed_float16": ("avx512_fp16", "amx_fp16"),
}
# The least GPU compute capability that runs each precision natively.
NATIVE_GPU_CAPABILITY = {"mixed_float16": (7, 0), "mixed_bfloat16": (8, 0)}

# Measured training speed of an emulated precision over float32 (samples/s ratio, seed_cnn,
# graph mode, interleaved repeats of `zoo bench --suite precision`), by the kind of CPU
# that measured it: `has` are flags it had, `lacks` flags it lacked. The AVX2 figures are
# issue 13's (a 2-core AMD EPYC with AVX2, no AVX-512); the AVX-512 one is
# benchmarks/results/precision-cpu.md (a 2-core AMD EPYC with avx512_bf16, no
# avx512_fp16: bf16 ran at 1.75x there, natively). The first that fits this CPU is used;
# the AVX2 figure where none fits.
MEASURED = (
    {
        "precision": "mixed_float16",
        "factor": 0.20,
        "model": "seed_cnn",
        "machine": "an AMD EPYC with AVX-512 and avx512_bf16",
        "has": ("avx512f", "avx512_bf16"),
        "lacks": ("avx512_fp16", "amx_fp16"),
    },
    {
        "precision": "mixed_bfloat16",
        "factor": 0.12,
        "model": "seed_cnn",
        "machine": "an AVX2 AMD EPYC",
        "has": ("avx2",),
        "lacks": ("avx512f",),
    },
    {
        "precision": "mixed_float16",
        "factor": 0.35,
        "model": "seed_cnn",
        "machine": "an AVX2 AMD EPYC",
        "has": ("avx2",),
        "lacks": ("avx512f",),
    },
)
PRECISION_CACHE = "precision.json"  # this machine's own measurements, from `zoo bench`
PREFERRED_MODEL = "seed_cnn"  # the model whose measurement is quoted when there are several


def precision_support(
    precision: str,
    device: str = "cpu",
    cpu_flags: list[str] | None = None,
    gpu_capability: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Whether `device` runs `precision` natively, and why.

    Args:
        precision: a Keras dtype policy of zoo.choices.PRECISIONS.
        device: "cpu", or "gpu"/"gpu:N".
        cpu_flags: the CPU's ISA flags (default: this CPU's, from /proc/cpuinfo).
        gpu_capability: the GPU's compute capability; None: unknown.

    Returns:
        ``{"native": bool | None (None: unknown), "reason": one sentence naming the
        evidence, "slowdown": speed vs float32 or None, "source": where it comes from}``.
    """
    check_choice("precision", precision, PRECISIONS)
    if precision == "float32":
        return _support(True, "float32 runs natively everywhere")
    if device.startswith("gpu"):
        return _gpu_support(precision, gpu_capability)
    if cpu_flags is None:
        cpu_flags = io.cpu_info()["flags"]
    return _cpu_support(precision, cpu_flags)


def _support(native, reason: str, slowdown=None, source=None) -> dict[str, Any]:
    return {"native": native, "reason": reason, "slowdown": slowdown, "source": source}


def _cpu_support(precision: str, flags: list[str] | None) -> dict[str, Any]:
    wanted = NATIVE_CPU_FLAGS[precision]
    names = " and ".join(wanted)
    if flags is None:
        return _support(None, f"this CPU lists no ISA flags: whether it has {names} is unknown")
    found = [f for f in wanted if f in flags]
    if found:
        return _support(True, f"this CPU has {found[0]}")
    factor, source = _cpu_slowdown(precision, flags)
    dtype = "bfloat16" if precision == "mixed_bfloat16" else "float16"
    reason = f"this CPU lacks {names}: {dtype} matmuls are emulated"
    return _support(False, reason, factor, source)


def _gpu_support(precision: str, capability: tuple[int, int] | None) -> dict[str, Any]:
    least = NATIVE_GPU_CAPABILITY[precision]
    if capability is None:
        return _support(None, "the GPU's compute capability is unknown")
    have = ".".join(map(str, capability))
    need = ".".join(map(str, least))
    if tuple(capability) >= least:
        return _support(True, f"this GPU has compute capability {have} (>= {need})")
    reason = f"this GPU has compute capability {have}; {precision} needs {need} to run natively"
    return _support(False, reason)  # no measured slowdown on such a GPU


def _cpu_slowdown(precision: str, flags: list[str]) -> tuple[float | None, str | None]:
    """(speed vs float32, where it comes from): this machine's measurement first."""
    mine = _measured_here(precision, flags)
    if mine:
        what = f"{mine['model']}, measured by zoo bench on this machine, {mine['measured_at']}"
        return mine["factor"], what
    fits = [
        m
        for m in MEASURED
        if m["precision"] == precision
        and all(f in flags for f in m["has"])
        and not any(f in flags for f in m["lacks"])
    ]
    fallback = [m for m in MEASURED if m["precision"] == precision and "avx512f" in m["lacks"]]
    for m in fits or fallback:
        return m["factor"], f"{m['model']}, measured on {m['machine']}"
    return None, None


def _cache_key(cpu: str, flags: list[str], precision: str, model: str) -> str:
    return "|".join([cpu, ",".join(flags), precision, model])


def _measured_here(precision: str, flags: list[str]) -> dict[str, Any] | None:
    """The cached `zoo bench` measurement for this CPU model and flags (seed_cnn first)."""
    cpu = io.cpu_info()["model"]
    prefix = _cache_key(cpu, flags, precision, "")
    found = [e for k, e in io.read_cache(PRECISION_CACHE).items() if k.startswith(prefix)]
    found.sort(key=lambda e: e["model"] != PREFERRED_MODEL)
    return found[0] if found else None


def remember_precision_speeds(
    rows: list[dict], records: list[dict], baseline: str, baseline_precision: str | None
) -> int:
    """Caches the speed over float32 of each non-float32 CPU case of a bench summary whose
    baseline is the same case in float32 (the precision suite: speed-ups from interleaved
    repeats), for this CPU model and flags (read from the records' environment); returns
    how many were cached."""
    if baseline_precision != "float32":
        return 0
    env = next((r["env"] for r in records if r.get("status") == "ok" and r.get("env")), {})
    cpu, flags = env.get("cpu"), env.get("cpu_flags")
    if not cpu or flags is None or cpu != io.cpu_info()["model"]:
        return 0
    count = 0
    for row in rows:
        if not _precision_row(row, baseline):
            continue
        entry = {
            "factor": row["speedup"],
            "model": row["model"],
            "batch_size": row["batch_size"],
            "mode": row["mode"],
            "backend": row["backend"],
            "measured_at": time.strftime("%Y-%m-%d"),
        }
        key = _cache_key(cpu, flags, row["precision"], row["model"])
        io.write_cache(PRECISION_CACHE, key, entry)
        count += 1
    return count


def _precision_row(row: dict, baseline: str) -> bool:
    """A TensorFlow CPU row with its speed-up over the same case in float32."""
    return (
        row.get("status") == "ok"
        and row["mode"] == baseline
        and row["precision"] != "float32"
        and row.get("device", "cpu") == "cpu"
        and row.get("backend", "tensorflow") == "tensorflow"
        and row.get("speedup") is not None
    )


def gpu_capability(device: str = "gpu") -> tuple[int, int] | None:
    """The compute capability of a GPU as the running Keras backend reports it (None
    where it does not say, or there is no such GPU)."""
    import keras

    index = int(device.partition(":")[2] or 0)
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            found = tf.config.list_physical_devices("GPU")
            details = tf.config.experimental.get_device_details(found[index])
            return tuple(details["compute_capability"])
        if backend == "torch":
            import torch

            return tuple(torch.cuda.get_device_capability(index))
        if backend == "jax":
            import jax

            major, _, minor = jax.devices("gpu")[index].compute_capability.partition(".")
            return int(major), int(minor)
    except (IndexError, KeyError, AttributeError, RuntimeError, ValueError):
        return None
    return None


def emulation_warning(precision: str, device: str = "cpu") -> str | None:
    """The one line the CLI prints when `precision` is emulated on `device` (None when it
    runs natively, or that is unknown). A GPU's capability is read from the backend."""
    if device.startswith("gpu") or device == "auto":
        from zoo.runtime.device import gpus

        if device.startswith("gpu") or gpus():
            device = "gpu" if device == "auto" else device
            support = precision_support(precision, device, gpu_capability=gpu_capability(device))
            return _warning(precision, support, "GPU")
        device = "cpu"
    return _warning(precision, precision_support(precision, device), "CPU")


def _warning(precision: str, support: dict[str, Any], kind: str) -> str | None:
    if support["native"] is not False:
        return None
    if kind == "CPU":
        evidence = "no " + " or ".join(NATIVE_CPU_FLAGS[precision])
    else:
        evidence = support["reason"].removeprefix("this GPU has ")
    line = f"{precision} is emulated on this {kind} ({evidence})"
    if support["slowdown"] is not None:
        line += f": expect about {support['slowdown']:.2f}x the float32 speed ({support['source']})"
    others = [p for p in NATIVE_CPU_FLAGS if p != precision]
    native = [p for p in others if kind == "CPU" and precision_support(p)["native"]]
    also = f" (or {native[0]}, native here)" if native else ""
    return f"{line}. Use --precision float32{also}."
