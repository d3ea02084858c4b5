"""What the zoo knows about a model without building it: `ModelSpec` and its `Recipe`.

Specs are data. This module imports nothing from the zoo but its errors, so the catalog
(`zoo.models`) and plugins can describe models without importing the registry.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from zoo.errors import RegistryError


@dataclass(frozen=True)
class Recipe:
    """The default training recipe of a model on its task's synthetic data."""

    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 1e-3
    optimizer: str = "adam"  # one of OPTIMIZERS


@dataclass(frozen=True)
class ModelSpec:
    """Everything the zoo knows about a model without building it."""

    name: str  # registry name, lower_snake_case
    family: str  # linear, mlp, cnn, rnn, transformer, recommender, applications, ...
    task: str  # a name from zoo.tasks
    summary: str  # one line for `zoo list`
    factory: str  # "package.module:function", imported only by create_model
    reference: str = ""  # the paper or example the model follows
    defaults: Mapping[str, Any] = field(default_factory=dict)  # the factory's keyword defaults
    tags: tuple[str, ...] = ()
    recipe: Recipe = Recipe()
    small: Mapping[str, Any] = field(default_factory=dict)  # overrides for a quick instance

    def __post_init__(self):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise RegistryError(
                f"Model names are lower_snake_case; received: {self.name!r}.",
            )
        if ":" not in self.factory:
            raise RegistryError(
                f"Model {self.name!r}: factory must be 'module:function'; "
                f"received: {self.factory!r}."
            )
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "small", MappingProxyType(dict(self.small)))
        object.__setattr__(self, "tags", tuple(self.tags))

    def load_factory(self) -> Callable[..., Any]:
        """Imports and returns the factory function (this imports Keras)."""
        module_name, _, attr = self.factory.partition(":")
        module = importlib.import_module(module_name)
        try:
            return getattr(module, attr)
        except AttributeError:
            raise RegistryError(
                f"Model {self.name!r}: module {module_name!r} has no factory {attr!r}."
            ) from None
