"""`RunConfig`: how a model runs (device, XLA, precision, threads, determinism, strategy).

Pure data and validation: importing this module imports no framework.
"""

from __future__ import annotations

import dataclasses

from zoo.errors import InvalidArgumentError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


STRATEGIES = ("none", "mirrored", "multi_worker", "tpu")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """How a model runs: where, compiled how, in which precision, reproducibly or not."""

    device: str = "auto"  # auto (a GPU if there is one), cpu, gpu, gpu:N
    jit_compile: bool | str = False  # False, True (XLA) or "auto" (the faster, by a probe)
    precision: str = "float32"  # float32, mixed_float16 (with loss scaling), mixed_bfloat16
    threads: int | None = None  # TensorFlow's intra-op pool (None: its default)
    deterministic: bool = False  # TensorFlow op determinism: identical runs, slower
    strategy: str = "none"  # tf.distribute: none, mirrored, multi_worker (TF_CONFIG) or tpu
    cpu_devices: int | None = None  # split the CPU into this many logical devices
    tpu: str | None = None  # the TPU's name or grpc:// address (None: the local TPU VM)

    def __post_init__(self):
        if self.strategy == "multi-worker":
            object.__setattr__(self, "strategy", "multi_worker")
        if self.strategy not in STRATEGIES:
            raise InvalidArgumentError(
                f"Unknown strategy {self.strategy!r}. Allowed: {', '.join(STRATEGIES)}."
            )
        if self.cpu_devices is not None and (
            isinstance(self.cpu_devices, bool)
            or not isinstance(self.cpu_devices, int)
            or self.cpu_devices < 1
        ):
            raise InvalidArgumentError(
                "cpu_devices must be a positive integer; received: "
                f"cpu_devices={self.cpu_devices!r}."
            )
        if self.jit_compile not in (False, True, "auto"):
            raise InvalidArgumentError(
                f"jit_compile must be True, False or 'auto'; received: {self.jit_compile!r}."
            )
        if self.precision not in PRECISIONS:
            raise InvalidArgumentError(
                f"Unknown precision {self.precision!r}. Allowed: {', '.join(PRECISIONS)}."
            )
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise InvalidArgumentError(
                f"threads must be a positive integer; received: threads={self.threads!r}."
            )
