"""What export and quantization start from: a run folder or a `.keras` file from
`zoo train` (loaded in Keras safe mode, with the run's test split), or a registry name
(random weights, with a fixed batch of the task's synthetic data)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo import data as zdata
from zoo import registry, tasks
from zoo.errors import UnknownModelError

SYNTHETIC_SAMPLES = 1280  # a registry name is checked on this many examples' test split


@dataclass
class Source:
    """A model, its registry entry and task, and the data it is checked on."""

    net: Any
    spec: registry.ModelSpec
    task: tasks.Task
    data: zdata.Dataset
    dataset: str  # the data's name ("synthetic" for a registry name)
    folder: Path  # where an artifact goes by default
    stem: str  # its default name

    @property
    def vocab_size(self) -> int | None:
        """The token vocabulary of a text model (its first Embedding's input_dim)."""
        if self.task.name not in ("text_classification", "language_modeling", "translation"):
            return None
        for layer in self.net._flatten_layers(include_self=False):
            if hasattr(layer, "input_dim") and type(layer).__name__ == "Embedding":
                return int(layer.input_dim)
        return None


def load_source(
    source: str | Path, dataset: str | None = None, data_dir: str | None = None
) -> Source:
    """The model `source` names, with its test data; the model has been called once (the
    exporters need a model that was called).

    Raises:
        UnknownModelError: neither a path nor a registered model.
        ModelFileError, DataError: as `zoo.evaluate`.
    """
    path = Path(source)
    if path.exists():
        from zoo.training.evaluation import load_with_test_data

        net, spec, data = load_with_test_data(path, dataset, data_dir=data_dir)
        folder, stem = (path, "model") if path.is_dir() else (path.parent, path.stem)
    else:
        spec, data, net = _registry_model(str(source))
        folder, stem = Path.cwd(), spec.name
    call_once(net, data.x_test)
    return Source(net, spec, tasks.get(spec.task), data, data.name, folder, stem)


def _registry_model(name: str):
    from zoo.training.compile import build_model

    try:
        spec = registry.get_spec(name)
    except UnknownModelError as e:
        raise UnknownModelError(
            f"{name} is neither a path nor a model of the zoo. {e.message}",
            "Pass a run folder, a .keras file or a name from `zoo list`.",
        ) from None
    data = zdata.load(
        spec.task, "synthetic", seed=0, samples=SYNTHETIC_SAMPLES, hints=spec.defaults
    )
    kwargs = {k: v for k, v in data.model_kwargs.items() if k in spec.defaults}
    return spec, data, build_model(spec.name, kwargs)


def call_once(net, x) -> None:
    first = {k: np.asarray(v[:1]) for k, v in x.items()} if isinstance(x, dict) else x[:1]
    net(first)
