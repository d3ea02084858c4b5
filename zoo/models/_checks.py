"""Argument checks shared by the factories: each error says what was received and what
is allowed, in the style of keras.applications."""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral
from typing import Any

from zoo.choices import check_positive
from zoo.errors import InvalidArgumentError


def positive_int(name: str, value: Any) -> int:
    # NumPy integers are accepted and turned into Python ints (keras.layers.Embedding
    # rejects them as input_dim); bools are Integral but never a count.
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = int(value)
    check_positive(name, value)
    return value


def non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
    return value


def fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise InvalidArgumentError(
            f"`{name}` must be a number in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidArgumentError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidArgumentError(f"`{name}` must be a finite number. Received: {name}={value!r}")
    return float(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"`{name}` must be true or false. Received: {name}={value!r}")
    return value


def one_of(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    allowed = list(allowed)
    if value not in allowed:
        raise InvalidArgumentError(
            f"`{name}` must be one of {', '.join(map(repr, allowed))}. Received: {name}={value!r}"
        )
    return value


def shape(name: str, value: Any, rank: int | None = None) -> tuple[int, ...]:
    """A tuple of positive ints, of length `rank` when given."""
    what = "(height, width, channels)" if rank == 3 else "a tuple"
    try:
        dims = tuple(value)
        if not dims or (rank is not None and len(dims) != rank):
            raise ValueError
        return tuple(positive_int(name, d) for d in dims)
    except (TypeError, ValueError, InvalidArgumentError):
        raise InvalidArgumentError(
            f"`{name}` must be {what} of positive integers. Received: {name}={value!r}"
        ) from None


def activation(name: str, value: Any) -> str:
    import keras

    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        raise InvalidArgumentError(
            f"`{name}` must be the name of a Keras activation (relu, gelu, sigmoid, tanh, "
            f"silu, ...). Received: {name}={value!r}"
        ) from None
    return value


def divisible(name: str, value: int, by_name: str, by: int) -> None:
    if value % by:
        raise InvalidArgumentError(
            f"`{name}` must be divisible by `{by_name}`. Received: {name}={value}, {by_name}={by}"
        )
