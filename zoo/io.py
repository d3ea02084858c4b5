"""Result records: JSON conversion, atomic writes, and the environment fingerprint.

Every file the zoo writes goes to a temporary file in the destination folder first and
is then renamed over the destination, so a reader never sees half a file and a crash
leaves the previous version intact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from zoo.errors import OutputError

NVIDIA_PROC = Path("/proc/driver/nvidia")


def to_jsonable(obj: Any) -> Any:
    """Converts dataclasses, NumPy values, tuples and paths to plain JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_jsonable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.metadata.get("json", True)
        }
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # NumPy scalars and arrays
        return obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # NaN and infinities are not JSON
    return obj


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ""):
    """Yields a temporary path beside `path`; on success renames it over `path`.

    Args:
        path: the destination.
        suffix: ending the temporary file needs (Keras insists on ``.keras``).

    Raises:
        OutputError: the folder is not writable, or writing failed (e.g. disk full).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise OutputError(
            f"Cannot write in {path.parent}: {e.strerror}.", "Choose another --output folder."
        ) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(
            f"Writing {path} failed: {e.strerror or e}.",
            "Check free space and permissions; the previous file is intact.",
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | Path, obj: Any) -> Path:
    """Writes `obj` as indented JSON, atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def cache_path(name: str) -> Path:
    """A per-user cache file of the zoo (``$XDG_CACHE_HOME/keras-zoo/NAME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras-zoo" / name


def read_cache(name: str) -> dict[str, Any]:
    """The entries of a cache file ({} when it is missing or unreadable)."""
    try:
        return json.loads(cache_path(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_cache(name: str, key: str, entry: Any) -> None:
    """Adds or replaces one entry of a cache file, atomically."""
    entries = read_cache(name)
    entries[key] = entry
    path = cache_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, entries)


def machine_key(*parts: Any) -> str:
    """A cache key for what was measured on this machine (its fingerprint, not its
    hostname: two hosts of one name can differ in CPU flags) and Keras backend."""
    import keras

    return "|".join([machine_fingerprint(), keras.backend.backend(), *map(str, parts)])


def prepare_output_dir(path: str | Path, keep: bool = True) -> Path:
    """Checks that the output folder can be created and written, creating it.

    Args:
        path: the folder.
        keep: False removes again the folders this call created, so that a run that
            fails before writing anything leaves nothing behind (create it with
            ``path.mkdir(parents=True, exist_ok=True)`` when the first file is due).

    Raises:
        OutputError: the path is a file, or the folder cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(
            f"--output {path} is a file, not a folder.",
            "Pass a folder path (it is created if missing).",
        )
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise OutputError(
            f"Cannot write in output folder {path}: {e.strerror}.",
            "Pass a folder you can write to.",
        ) from None
    if not keep and missing:
        import shutil

        shutil.rmtree(missing[-1], ignore_errors=True)
    return path


def dist_version(dist: str) -> str | None:
    """An installed distribution's version (None: not installed), read without importing it."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


# The instruction-set extensions that change what a CPU does per cycle in deep learning
# (vector width, fused multiply-add, int8/bf16/fp16 dot products, matrix tiles), as
# /proc/cpuinfo spells them: x86 "flags", then ARM "Features". Two machines that both say
# "AMD EPYC" can differ 3x in float32 and 15x in bfloat16 by these alone.
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "amx_fp16",
    "asimd",
    "asimdhp",
    "sve",
    "sve2",
    "bf16",
    "i8mm",
)


def _read_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def cpu_info(text: str | None = None) -> dict[str, Any]:
    """The CPU from /proc/cpuinfo (or `text`, in its format): `model` (the model name,
    else the platform's processor string), `id` (vendor, family, model and stepping: what
    tells CPU generations apart where a virtual machine shows only "AMD EPYC"; None where
    not given) and `flags` (those of ISA_FLAGS it has, in that order; None when the text
    lists no flags at all, as on macOS)."""
    fields: dict[str, str] = {}
    for line in (_read_cpuinfo() if text is None else text).splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep:
            if fields:  # the first processor is described; the others repeat it
                break
            continue
        fields.setdefault(key, value.strip())
    listed = fields.get("flags", fields.get("Features"))
    have = set(listed.split()) if listed is not None else set()
    parts = [fields.get(k) for k in ("vendor_id", "cpu family", "model", "stepping")]
    cpu_id = None
    if parts[0] and all(parts[1:]):
        cpu_id = "{} family {} model {} stepping {}".format(*parts)
    return {
        "model": fields.get("model name") or platform.processor() or platform.machine(),
        "id": cpu_id,
        "flags": None if listed is None else [f for f in ISA_FLAGS if f in have],
    }


@functools.cache
def machine() -> dict[str, Any]:
    """This machine as far as speed goes: `cpu` (the model), `cpu_id`, `cpu_flags` (the ISA
    extensions of zoo.io.ISA_FLAGS), `cores`, `gpus` (their models; [] where the NVIDIA
    driver shows none, None where there is no NVIDIA driver) and `gpu_driver`."""
    cpu = cpu_info()
    gpus, driver = nvidia_gpus()
    return {
        "cpu": cpu["model"],
        "cpu_id": cpu["id"],
        "cpu_flags": cpu["flags"],
        "cores": os.cpu_count(),
        "gpus": gpus,
        "gpu_driver": driver,
    }


def nvidia_gpus(root: Path = NVIDIA_PROC) -> tuple[list[str] | None, str | None]:
    """The GPU models and the driver's version from the NVIDIA driver's files (no process,
    no framework); (None, None) without the driver."""
    if not root.is_dir():
        return None, None
    names = []
    for info in sorted((root / "gpus").glob("*/information")):
        for line in _read(info).splitlines():
            if line.startswith("Model:"):
                names.append(line.partition(":")[2].strip())
    # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 ..."
    words = _read(root / "version").partition("Kernel Module")[2].split()
    return names, words[0] if words else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def machine_fingerprint() -> str:
    """The machine as a cache key: CPU model and id, ISA flags and cores, and the GPUs
    and driver where there are any. Measurements cached under it (peaks, probes) are
    never used on a machine that differs in one of them."""
    m = machine()
    cpu = m["cpu"] + (f" ({m['cpu_id']})" if m["cpu_id"] else "")
    flags = " ".join(m["cpu_flags"]) if m["cpu_flags"] is not None else "flags unknown"
    parts = [cpu, flags, f"{m['cores']} cores"]
    if m["gpus"]:
        parts += [" + ".join(m["gpus"]), f"driver {m['gpu_driver']}"]
    return "|".join(parts)


def environment() -> dict[str, Any]:
    """Versions, backend, CPU and accelerators of this process (imports Keras)."""
    import keras

    backend = keras.backend.backend()
    gpus: list[str] = []
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        gpus = [str(d) for d in jax.devices() if d.platform != "cpu"]
    elif backend == "torch":
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    onednn = None
    if backend == "tensorflow":  # on by default on x86 since TF 2.9; off with 0
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    cpu = cpu_info()
    return {
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "backend": backend,
        "tensorflow": dist_version("tensorflow"),
        "numpy": dist_version("numpy"),
        "zoo": dist_version("keras-zoo"),
        "platform": platform.platform(),
        "cpu": cpu["model"],
        "cpu_id": cpu["id"],
        "cpu_flags": cpu["flags"],
        "cpu_count": os.cpu_count(),
        "device": "gpu" if gpus else "cpu",
        "gpus": gpus,
        "onednn": onednn,
        "keras_backend_env": os.environ.get("KERAS_BACKEND"),
    }
