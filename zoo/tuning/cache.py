"""The tuned recipes found on each machine: ~/.cache/keras-zoo/tuned.json.

An entry is keyed by the machine's fingerprint (CPU model, CPU id, ISA flags, cores and
GPUs: the two kinds of "AMD EPYC" differ in their flags), the Keras backend, the kind of
device (cpu or gpu), the model and the dataset, so a recipe tuned on one machine is never
used on another. Tuned recipes sit beside the model's default recipe; they never replace
it. No framework is imported.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from zoo import io

CACHE = "tuned.json"


def fingerprint() -> dict[str, Any]:
    """What makes this machine's measurements its own: `zoo.io.machine()` but the driver's
    version (kept as cache keys were before it was recorded; [] for no GPU)."""
    m = io.machine()
    return {**{k: m[k] for k in ("cpu", "cpu_id", "cpu_flags", "cores")}, "gpus": _gpus()}


def machine_id(fp: dict[str, Any] | None = None) -> str:
    """A short, stable name for a fingerprint."""
    text = json.dumps(fp if fp is not None else fingerprint(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def backend() -> str:
    """The Keras backend a run here would use (KERAS_BACKEND, else keras.json), without
    importing Keras."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def device_kind(device: str = "auto") -> str:
    """ "gpu" or "cpu": where a run with `device` goes (auto: a GPU where the driver shows
    one), read without importing a framework."""
    if device.startswith("gpu") or (device == "auto" and _gpus()):
        return "gpu"
    return "cpu"


def key(model: str, dataset: str, backend_name: str | None = None, device: str = "auto") -> str:
    return "|".join([machine_id(), backend_name or backend(), device_kind(device), model, dataset])


def store(entry: dict[str, Any]) -> str:
    """Caches a tuned recipe (an entry with model, dataset, backend and device); returns
    its key."""
    k = key(entry["model"], entry["dataset"], entry["backend"], entry.get("device", "auto"))
    io.write_cache(CACHE, k, {**entry, "machine": fingerprint(), "machine_id": machine_id()})
    return k


def lookup(
    model: str, dataset: str, backend_name: str | None = None, device: str = "auto"
) -> dict[str, Any] | None:
    """The recipe tuned for `model` on `dataset` on this machine, for the kind of device
    `device` runs on and `backend_name`, or None. Without a backend: the current
    backend's, else the newest of any backend (its `backend` says which)."""
    found = io.read_cache(CACHE).get(key(model, dataset, backend_name, device))
    if found is not None or backend_name is not None:
        return found
    kind = device_kind(device)
    any_backend = [
        e for e in entries(model) if e.get("dataset") == dataset and e.get("device", "cpu") == kind
    ]
    return any_backend[0] if any_backend else None


def entries(model: str | None = None, this_machine: bool = True) -> list[dict[str, Any]]:
    """Cached tuned recipes (of `model`, where given), newest first; by default only those
    found on this machine."""
    here = machine_id()
    found = [
        e
        for e in io.read_cache(CACHE).values()
        if isinstance(e, dict)
        and (model is None or e.get("model") == model)
        and (not this_machine or e.get("machine_id") == here)
    ]
    return sorted(found, key=lambda e: e.get("created", ""), reverse=True)


def _gpus() -> list[str]:
    """NVIDIA GPUs from the driver's files (no framework import); [] without any."""
    return io.nvidia_gpus()[0] or []


def recipe_of(entry: dict[str, Any]):
    """The tuned recipe of a cache entry, as a `zoo.recipe.RecipeFile`: the one it holds,
    or (an entry cached before entries held recipe files) its settings over the model's
    recipe.

    Raises:
        InvalidArgumentError: the entry names an unknown model or a bad setting.
    """
    from zoo import recipe

    where = f"the tuned recipe of {entry.get('model')} in {io.cache_path(CACHE)}"
    if "recipe" in entry:
        return recipe.from_dict(entry["recipe"], where)
    settings = dict(entry.get("settings") or {})
    settings.setdefault("backend", entry.get("backend"))
    return recipe.from_settings(entry["model"], settings, where)
