"""The model registry: specs as data, factories imported only when a model is built.

A `ModelSpec` names a factory as ``"module:function"``. Listing, filtering and describing
models reads only specs, so `import zoo`, `zoo.list_models()` and `zoo list` never import
Keras or TensorFlow. Third-party packages add models through the entry-point group
``keras_zoo.models`` (see `load_plugins`).
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zoo.choices import OPTIMIZERS
from zoo.errors import InvalidArgumentError, RegistryError, UnknownModelError
from zoo.models import CATALOG
from zoo.spec import ModelSpec, Recipe

__all__ = ["ModelSpec", "Recipe", "OPTIMIZERS"]  # re-exported: zoo.ModelSpec, zoo.Recipe
ENTRY_POINT_GROUP = "keras_zoo.models"

_REGISTRY: dict[str, ModelSpec] = {}
_LOADED = False
_PLUGIN_ERRORS: list[str] = []


def register(spec: ModelSpec) -> ModelSpec:
    """Adds a model to the registry.

    Raises:
        RegistryError: a model of the same name is already registered.
    """
    if not isinstance(spec, ModelSpec):
        raise RegistryError(f"register() takes a ModelSpec; received: {type(spec).__name__}.")
    if spec.name in _REGISTRY:
        raise RegistryError(
            f"Model {spec.name!r} is already registered (factory "
            f"{_REGISTRY[spec.name].factory}); a second registration from {spec.factory} "
            "was refused. Pick another name."
        )
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Removes a model (for tests and for plugins that replace their own models)."""
    _ensure_loaded()
    _REGISTRY.pop(name, None)


def _ensure_loaded() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for spec in CATALOG:  # the built-in catalog: specs only
        register(spec)
    load_plugins()


def load_plugins() -> list[str]:
    """Registers the models of installed plugins; returns the errors of broken ones.

    An entry point in the group ``keras_zoo.models`` may name a `ModelSpec`, an iterable
    of them, or a callable returning either (or registering its models itself and
    returning None). A broken plugin does not break the zoo: its error is recorded and
    returned by `plugin_errors()`.
    """
    from importlib.metadata import entry_points

    errors = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, ModelSpec):
                obj = obj()
            specs = [] if obj is None else [obj] if isinstance(obj, ModelSpec) else list(obj)
            for spec in specs:
                if spec.name in _REGISTRY and _REGISTRY[spec.name] is spec:
                    continue
                register(spec)
        except Exception as e:  # a plugin's bug must not break `zoo list`
            errors.append(f"plugin {ep.name!r} ({ep.value}): {type(e).__name__}: {e}")
    _PLUGIN_ERRORS.extend(errors)
    return errors


def plugin_errors() -> list[str]:
    """The errors met while loading plugins, one line each."""
    _ensure_loaded()
    return list(_PLUGIN_ERRORS)


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _check_choice(kind: str, value: str | None, allowed: Iterable[str]) -> None:
    allowed = sorted(set(allowed))
    if value is not None and value not in allowed:
        raise InvalidArgumentError(
            f"Unknown {kind} {value!r}. Allowed: {', '.join(allowed)}.",
        )


def list_models(
    pattern: str | Sequence[str] = "*",
    family: str | None = None,
    task: str | None = None,
    tag: str | None = None,
    exclude: str | Sequence[str] = (),
) -> list[str]:
    """Names of the registered models that match, in natural sort order.

    Args:
        pattern: fnmatch pattern(s) on the name, e.g. ``"*cnn*"``.
        family: keep only this family (e.g. ``"cnn"``).
        task: keep only models of this task (e.g. ``"image_classification"``).
        tag: keep only models carrying this tag.
        exclude: fnmatch pattern(s) of names to drop.

    Raises:
        InvalidArgumentError: `family` or `task` is not one the registry has.
    """
    _ensure_loaded()
    specs = list(_REGISTRY.values())
    _check_choice("family", family, (s.family for s in specs))
    from zoo.tasks import TASKS

    _check_choice("task", task, TASKS)
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    excludes = [exclude] if isinstance(exclude, str) else list(exclude)
    names = [
        s.name
        for s in specs
        if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)
        and not any(fnmatch.fnmatchcase(s.name, p) for p in excludes)
        and (family is None or s.family == family)
        and (task is None or s.task == task)
        and (tag is None or tag in s.tags)
    ]
    return sorted(names, key=_natural_key)


def families() -> list[str]:
    """The model families present in the registry."""
    _ensure_loaded()
    return sorted({s.family for s in _REGISTRY.values()})


def get_spec(name: str) -> ModelSpec:
    """The spec registered under `name`.

    Raises:
        UnknownModelError: no such model; the message names the closest matches.
    """
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"Did you mean {', '.join(close)}?" if close else "See `zoo list`."
        raise UnknownModelError(f"Unknown model {name!r}.", hint) from None


def check_overrides(spec: ModelSpec, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Drops None values and rejects names the factory does not accept."""
    kwargs = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(kwargs) - set(spec.defaults))
    if unknown:
        accepted = ", ".join(spec.defaults) or "none"
        raise InvalidArgumentError(
            f"Model {spec.name!r} has no hyper-parameter {', '.join(map(repr, unknown))}. "
            f"Accepted: {accepted}."
        )
    return kwargs


def create_model(name: str, **overrides: Any):
    """Builds a registered model; overrides set the factory's hyper-parameters.

    Keyword arguments that are None are dropped, so the factory keeps its default.

    Returns:
        A Functional `keras.Model` named after the registry entry.

    Raises:
        UnknownModelError: no such model.
        InvalidArgumentError: an unknown hyper-parameter, or a value that is not allowed.
    """
    spec = get_spec(name)
    kwargs = check_overrides(spec, overrides)
    model = spec.load_factory()(**kwargs)
    return model
