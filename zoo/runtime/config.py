"""`RunConfig`: how a model runs (device, XLA, precision, steps per execution, threads,
determinism, strategy, backend), every setting declared once with its check beside it
(`zoo.spec.setting`), the allowed values from `zoo.choices`.

Pure data and validation: importing this module imports no framework.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from zoo.choices import BACKENDS, DEVICES, PRECISIONS, STRATEGIES
from zoo.errors import InvalidArgumentError
from zoo.spec import (
    Scale,
    Settings,
    Values,
    field_names,
    flag,
    one_of,
    positive,
    setting,
    text,
)


def _device(name: str, value: Any) -> str:
    if not isinstance(value, str) or not (value in DEVICES or re.fullmatch(r"gpu:\d+", value)):
        raise InvalidArgumentError(
            f"Unknown device {value!r}. Allowed: {', '.join(DEVICES)}, gpu:N.",
            "For example --device gpu:0.",
        )
    return value


def _jit(name: str, value: Any) -> bool | str:
    if value != "auto" and not isinstance(value, bool):
        raise InvalidArgumentError(
            f"jit_compile must be True, False or 'auto'; received: {value!r}."
        )
    return value


@dataclasses.dataclass(frozen=True)
class RunConfig(Settings):
    """How a model runs: where, compiled how, in which precision, reproducibly or not."""

    device: str = setting("auto", _device, "auto (a GPU if there is one), cpu, gpu or gpu:N.")
    jit_compile: bool | str = setting(
        False,
        _jit,
        "XLA: off, on, or auto (the faster, by a measured and cached probe).",
        tune=Values((False, True)),
    )
    precision: str = setting(
        "float32",
        one_of(PRECISIONS),
        "float32, mixed_float16 (with loss scaling) or mixed_bfloat16.",
        tune=Values(("mixed_bfloat16", "mixed_float16")),  # those the hardware runs natively
    )
    steps_per_execution: int = setting(
        1,
        positive(int),
        "Training steps fused into one call of the compiled step.",
        tune=Values((1, 8)),
    )
    threads: int | None = setting(
        None,
        positive(int, optional=True),
        "TensorFlow's intra-op threads (unset: its default; containers often over-report cores).",
        tune=Scale((0.5,)),  # of the cores
    )
    deterministic: bool = setting(
        False, flag, "TensorFlow op determinism: identical reruns, slower."
    )
    strategy: str = setting(
        "none",
        one_of(
            STRATEGIES,
            aliases={
                "multi-worker": "multi_worker",
                "data-parallel": "data_parallel",
                "model-parallel": "model_parallel",
            },
        ),
        "none; tf.distribute: mirrored (local GPUs or --cpu-devices), multi_worker (TF_CONFIG) "
        "or tpu; keras.distribution on JAX: data_parallel (every visible device; several "
        "processes through KERAS_DISTRIBUTION_*), model_parallel (a transformer's attention "
        "heads, feed-forward and embedding weights sharded over every visible device). The "
        "batch size is the global batch.",
    )
    cpu_devices: int | None = setting(
        None,
        positive(int, optional=True),
        "Split the CPU into this many logical devices (to try a strategy).",
    )
    tpu: str | None = setting(
        None, text(), "The TPU's name or grpc:// address (unset: the local TPU VM)."
    )
    backend: str | None = setting(
        None,
        one_of(BACKENDS, optional=True),
        "The Keras backend: tensorflow, jax or torch (unset: KERAS_BACKEND, else "
        "tensorflow). A process runs one; the CLI selects it before Keras starts.",
    )


RUN_FIELDS = field_names(RunConfig)
