"""keras-zoo: a registry of Keras 3 model factories, with training and evaluation.

    import zoo
    zoo.list_models()                 # names, no framework imported
    model = zoo.create_model("seed_cnn")
    result = zoo.train("seed_cnn", epochs=1)  # overrides of zoo.Recipe / zoo.RunConfig
    result = zoo.train("mlp", recipe=zoo.Recipe(epochs=2), run=zoo.RunConfig(jit_compile=True))

Names are resolved lazily, so importing `zoo` imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "ModelSpec": "zoo.spec",
    "Recipe": "zoo.spec",
    "RunConfig": "zoo.runtime",
    "register": "zoo.registry",
    "list_models": "zoo.registry",
    "list_presets": "zoo.presets",
    "families": "zoo.registry",
    "get_spec": "zoo.registry",
    "create_model": "zoo.registry",
    "Task": "zoo.tasks",
    "Progress": "zoo.training",
    "TrainResult": "zoo.training",
    "EvalResult": "zoo.training",
    "train": "zoo.training",
    "evaluate": "zoo.training",
    "load_model": "zoo.training",
    "load_dataset": ("zoo.data", "load"),
    "generate": "zoo.generation",
    "predict": "zoo.prediction",
    "ZooError": "zoo.errors",
}
_SUBMODULES = {
    "registry",
    "tasks",
    "data",
    "training",
    "io",
    "errors",
    "models",
    "layers",
    "metrics",
    "generation",
    "prediction",
    "perf",
    "recipe",
    "presets",
    "runtime",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from zoo.data import load as load_dataset  # noqa: F401
    from zoo.errors import ZooError  # noqa: F401
    from zoo.generation import generate  # noqa: F401
    from zoo.presets import list_presets  # noqa: F401
    from zoo.registry import (  # noqa: F401
        ModelSpec,
        Recipe,
        create_model,
        families,
        get_spec,
        list_models,
        register,
    )
    from zoo.runtime import RunConfig  # noqa: F401
    from zoo.tasks import Task  # noqa: F401
    from zoo.training import (  # noqa: F401
        EvalResult,
        Progress,
        TrainResult,
        evaluate,
        load_model,
        train,
    )


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"zoo.{name}")
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)
