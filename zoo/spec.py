"""What the zoo knows about a model without building it: `ModelSpec` and its `Recipe`.

Specs are data. This module imports nothing from the zoo but its errors and vocabulary,
so the catalog (`zoo.models`) and plugins can describe models without importing the
registry.

A setting is declared once, as a field made by `setting`: its default, its check and its
help text sit together, and everything else reads them: `__post_init__` runs the checks,
`zoo.train` validates its keyword overrides against the field names, the CLI builds its
options (help, checks, defaults) from them, and `zoo tune` draws from each field's `tune`
space. `Recipe` here holds the training settings; `zoo.runtime.RunConfig` the execution
settings, declared the same way.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from zoo.choices import OPTIMIZERS, SCHEDULES, check_choice, check_positive
from zoo.errors import InvalidArgumentError, RegistryError

Check = Callable[[str, Any], Any]  # (name, value) -> the value, checked (and converted)


@dataclass(frozen=True)
class Values:
    """A search space: these values (`with_current`: and the recipe's own, first)."""

    values: tuple
    with_current: bool = False


@dataclass(frozen=True)
class Scale:
    """A search space: the recipe's own value times each factor."""

    factors: tuple


def setting(
    default: Any,
    check: Check,
    help: str,
    *,
    tune: Values | Scale | Mapping | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A dataclass field that carries its check, its help text and (where `zoo tune`
    searches it) its search space."""
    metadata = {"check": check, "help": help, "tune": tune}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def check_fields(obj: Any) -> None:
    """Runs each field's check on a (frozen) dataclass instance, keeping what it returns.

    Raises:
        InvalidArgumentError: naming the first bad field and what it allows.
    """
    for f in dataclasses.fields(obj):
        check = f.metadata.get("check")
        if check is not None:
            object.__setattr__(obj, f.name, check(f.name, getattr(obj, f.name)))


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def field_of(cls: type, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(cls) if f.name == name)


def default_of(cls: type, name: str) -> Any:
    """A field's default value (its factory's value for a mutable default)."""
    f = field_of(cls, name)
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def unknown_setting(name: str, known: Iterable[str], what: str) -> InvalidArgumentError:
    """The one-line error for a setting nobody declared, with a did-you-mean."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]}?" if close else f"Allowed: {', '.join(known)}."
    return InvalidArgumentError(f"{what} has no setting {name!r}.", hint)


# The checks a field can carry; each returns the value it accepts, converted.


def positive(kind: type = int, optional: bool = False) -> Check:
    def check(name: str, value: Any) -> Any:
        check_positive(name, value, kind, optional=optional)
        return None if value is None else kind(value)

    return check


def epoch_count(name: str, value: Any) -> int | float:
    """A positive number of passes: an int, or a fraction (1.5: the last pass stops
    halfway), kept an int where it is whole so that recipes and records say 3, not 3.0."""
    check_positive(name, value, float)
    return whole(float(value))


def whole(value: float) -> int | float:
    """An int where the number of passes is whole, so records say 3, not 3.0."""
    return int(value) if value.is_integer() else value


def epochs_before(name: str, value: Any) -> int | float | None:
    """A finite number of passes >= 0 (None: none), an int where it is whole."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidArgumentError(
                f"{name} must be a finite number of epochs >= 0; received: {name}={value!r}.",
                "Try 1.",
            )
    value = non_negative(name, value)
    return None if value is None else whole(value)


def non_negative(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidArgumentError(
            f"{name} must be a number >= 0; received: {name}={value!r}.", "Try 0.0001."
        )
    return float(value)


def fraction(optional: bool = True) -> Check:
    """A number in [0, 1)."""

    def check(name: str, value: Any) -> float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise InvalidArgumentError(
                f"{name} must be in [0, 1); received: {name}={value!r}.", "Try 0.1."
            )
        return float(value)

    return check


def open_fraction(name: str, value: Any) -> float:
    """A number in (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InvalidArgumentError(
            f"{name} must be in (0, 1); received: {name}={value!r}.", "Try 0.2."
        )
    return float(value)


def integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an integer; received: {name}={value!r}.")
    return value


def one_of(
    allowed: tuple, aliases: Mapping[str, str] | None = None, optional: bool = False
) -> Check:
    """One of `allowed` (a zoo.choices tuple); `aliases` map other spellings to it."""

    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        value = (aliases or {}).get(value, value) if isinstance(value, str) else value
        check_choice(name, value, allowed)
        return value

    check.allowed = allowed  # the CLI lists them
    return check


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be true or false; received: {name}={value!r}.")
    return value


def text(optional: bool = True) -> Check:
    def check(name: str, value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise InvalidArgumentError(f"{name} must be a string; received: {name}={value!r}.")
        return value

    return check


def keywords(name: str, value: Any) -> dict[str, Any]:
    """Keyword arguments: a mapping with string keys (copied; lists become tuples, as
    the factories' defaults are)."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidArgumentError(
            f"{name} must be a mapping of names to values; received: {name}={value!r}.",
            "For example {'dropout': 0.1}.",
        )
    return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}


class Settings:
    """What a settings dataclass shares: the checks run as it is made, and `replace`."""

    def __post_init__(self):
        check_fields(self)

    def replace(self, **changes: Any):
        """A copy with `changes`, checked.

        Raises:
            InvalidArgumentError: a name that is not a field (with a did-you-mean), or a
                value its check refuses.
        """
        names = field_names(type(self))
        for name in changes:
            if name not in names:
                raise unknown_setting(name, names, type(self).__name__)
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Recipe(Settings):
    """How a model is trained: every training setting, each with its check.

    The catalog gives each model its own (`zoo.get_spec(name).recipe`); `zoo.train` takes
    one (`recipe=`) and keyword overrides of its fields. What it trains on (the data, the
    validation split, the seed) and what it stops at (a target) are not part of it: one
    recipe is judged on many seeds, splits and targets (`zoo.recipe.RecipeFile` holds
    them beside it).
    """

    epochs: float = setting(
        3,
        epoch_count,
        "Passes over the training split, fractional allowed (1.5 stops halfway through the "
        "second; the schedule spans it); with --target, the most it may take.",
        tune=Scale((0.5, 1, 2, 4)),
    )
    batch_size: int = setting(
        64,
        positive(int),
        "Examples per step: the global batch, split across a strategy's replicas.",
        tune=Scale((1, 2, 4, 8)),  # zoo tune keeps those that raise the throughput
    )
    learning_rate: float = setting(
        1e-3,
        positive(float),
        "The peak learning rate.",
        tune=Scale((0.5, 1.0, 2.0, 3.0)),  # zoo tune also scales it with the batch
    )
    optimizer: str = setting(
        "adam",
        one_of(OPTIMIZERS),
        "sgd (momentum 0.9), adam or adamw.",
        tune=Values(("adamw",), with_current=True),
    )
    schedule: str = setting(
        "constant",
        one_of(SCHEDULES),
        "Learning rate over the run: constant, cosine decay, warmup_cosine (10% warm-up "
        "from 0, then cosine) or one_cycle (30% from lr/25 up to lr, then cosine).",
        tune=Values(("constant", "warmup_cosine", "one_cycle")),
    )
    clip_norm: float | None = setting(
        None, positive(float, optional=True), "Clip the global gradient norm to this."
    )
    weight_decay: float | None = setting(
        None,
        non_negative,
        "Decoupled weight decay (unset: the optimizer's, adamw 0.004, else 0).",
        tune=Values((None, 1e-4, 5e-4)),
    )
    label_smoothing: float | None = setting(
        None,
        fraction(),
        "Smooth the class labels by this, in [0, 1) (classifiers only).",
        tune=Values((None, 0.1)),  # where the task's loss takes it
    )
    early_stopping: int | None = setting(
        None,
        positive(int, optional=True),
        "Stop after this many epochs without a better validation loss; keep the best.",
    )
    model_kwargs: dict[str, Any] = setting(
        None,
        keywords,
        "The factory's hyper-parameters over its defaults (see `zoo info NAME`).",
        # models that have one: dropout; fastText's bigrams, which overfit a few thousand
        # texts (docs/tuning.md, real data)
        tune={"dropout": Scale((1.0, 0.5, 0.0)), "ngrams": Values((1, 2), with_current=True)},
        factory=dict,
    )

    def replace(self, **changes: Any) -> Recipe:
        """A copy with `changes` (checked); `model_kwargs` merge over the recipe's own.

        Raises:
            InvalidArgumentError: a name that is not a field (with a did-you-mean), or a
                value its check refuses.
        """
        if changes.get("model_kwargs") is not None:
            kwargs = keywords("model_kwargs", changes["model_kwargs"])
            changes = {**changes, "model_kwargs": {**self.model_kwargs, **kwargs}}
        return super().replace(**changes)


RECIPE_FIELDS = field_names(Recipe)


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
